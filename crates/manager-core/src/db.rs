//! The database: embedded SQLite (default) or PostgreSQL, both through sqlx,
//! with one numbered migrations folder per backend holding the same steps.
//!
//! Queries are written once, with `$N` placeholders, which both backends
//! accept; [`with_db!`] expands a query body for each pool type so it is
//! type-checked against both.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{Error, Result};
use crate::sqlite_writer::{SQLITE_BUSY_TIMEOUT, SqliteWriter};

pub static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
pub static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// The schema version this build expects: the latest migration step. Equal
/// on both backends (tests/migrations.rs checks it).
pub fn schema_version() -> i64 {
    SQLITE_MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// A PostgreSQL connection idle this long is checked with a round trip
/// before it is used again; one in use more recently is not (see
/// [`Db::connect_as`]).
const PG_CHECK_IDLE_AFTER: Duration = Duration::from_secs(10);

/// Where the data lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbTarget {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DbTarget {
    /// From `DATABASE_URL` (if set) and the data directory.
    pub fn from_settings(database_url: Option<&str>, data_dir: &Path) -> Result<Self, String> {
        match database_url {
            None | Some("") => Ok(DbTarget::Sqlite(data_dir.join("picloud.db"))),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(DbTarget::Postgres(url.to_owned()))
            }
            Some(url) if url.starts_with("sqlite://") => {
                let path = url.trim_start_matches("sqlite://");
                let path = path.split('?').next().unwrap_or(path);
                if path.is_empty() {
                    return Err("DATABASE_URL sqlite:// needs a file path".into());
                }
                Ok(DbTarget::Sqlite(PathBuf::from(path)))
            }
            Some(_) => {
                Err("DATABASE_URL must start with postgres://, postgresql:// or sqlite://".into())
            }
        }
    }

    /// Says where, without a password.
    pub fn describe(&self) -> String {
        match self {
            DbTarget::Sqlite(p) => format!("SQLite at {}", p.display()),
            DbTarget::Postgres(url) => match PgConnectOptions::from_str(url) {
                Ok(o) => format!(
                    "PostgreSQL at {}:{}/{}",
                    o.get_host(),
                    o.get_port(),
                    o.get_database().unwrap_or("")
                ),
                Err(_) => "PostgreSQL".to_owned(),
            },
        }
    }
}

/// A connection pool to one of the two backends. On SQLite, beside the
/// pool, the one connection that makes the frequent writes (scripts' KV
/// writes, execution records) in shared commits: [`SqliteWriter`].
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool, Arc<SqliteWriter>),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to whichever pool `$db` holds. The body is
/// compiled once per backend.
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool, _) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_db;

impl Db {
    /// Connects, creating the SQLite file (and its directory) if needed.
    /// Pools have no idle or lifetime reapers: an idle server makes no
    /// wake-ups.
    pub async fn connect(target: &DbTarget) -> Result<Db> {
        Self::connect_as(target, "picloud").await
    }

    /// The same; on PostgreSQL the connections are named `application_name`
    /// (`pg_stat_activity` shows which process holds which).
    pub async fn connect_as(target: &DbTarget, application_name: &str) -> Result<Db> {
        match target {
            DbTarget::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        Error::Startup(format!(
                            "failed to create the data directory {}: {e}",
                            dir.display()
                        ))
                    })?;
                }
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: an acknowledged write survives a power cut too.
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT);
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .min_connections(0)
                    // A connection to a file in this process cannot drop:
                    // no round trip to the connection's worker to check.
                    .test_before_acquire(false)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(options)
                    .await
                    .map_err(|e| {
                        Error::Startup(format!(
                            "failed to open the SQLite database {}: {e}",
                            path.display()
                        ))
                    })?;
                let writer = SqliteWriter::open(path)?;
                Ok(Db::Sqlite(pool, Arc::new(writer)))
            }
            DbTarget::Postgres(url) => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(|e| Error::Startup(format!("DATABASE_URL is not valid: {e}")))?
                    .application_name(application_name);
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .min_connections(0)
                    // sqlx checks a connection with a round trip each time
                    // it is taken from the pool by default, which doubles
                    // the round trips of a one-statement query: only one
                    // left idle long enough to have been dropped (by the
                    // server's restart, a firewall) is checked now.
                    .test_before_acquire(false)
                    // Every query here is a short one over keys, whose best
                    // plan does not depend on its parameters' values; with
                    // custom plans PostgreSQL planned each run of the
                    // batched KV statements again (an array's length changes
                    // the estimate): a fifth of its CPU under load.
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            sqlx::Executor::execute(
                                conn,
                                "SET plan_cache_mode = force_generic_plan",
                            )
                            .await
                            .map(drop)
                        })
                    })
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= PG_CHECK_IDLE_AFTER {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(|e| {
                        Error::Startup(format!("failed to connect to {}: {e}", target.describe()))
                    })?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    /// Applies the migrations this build knows. A database written by a
    /// newer PiCloud (a step this build lacks) is refused.
    pub async fn migrate(&self) -> Result<()> {
        let result = match self {
            Db::Sqlite(pool, _) => Self::migrate_sqlite(pool).await,
            Db::Postgres(pool) => POSTGRES_MIGRATOR.run(pool).await,
        };
        result.map_err(|e| match e {
            sqlx::migrate::MigrateError::VersionMissing(v) => Error::Startup(format!(
                "the database has schema step {v}, which this PiCloud (schema {}) does not know: it was written by a newer version",
                schema_version()
            )),
            other => Error::Startup(format!("failed to migrate the database: {other}")),
        })
    }

    /// SQLite's schema steps, on a connection of their own with
    /// `synchronous = NORMAL`: in WAL mode each step still commits
    /// atomically, only not synced one by one (two `fsync`s per step, 30
    /// of a first start's 44: docs/performance.md). A power cut
    /// meanwhile can only undo the last steps, which run again at the next
    /// start. The next commit of a pool's connection (which syncs every
    /// commit: the first start's own writes follow at once) syncs the
    /// write-ahead log with them. The connection is closed, never handed to
    /// the pool.
    async fn migrate_sqlite(pool: &sqlx::SqlitePool) -> Result<(), sqlx::migrate::MigrateError> {
        let mut conn = pool.acquire().await?;
        conn.close_on_drop();
        sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(&mut *conn)
            .await?;
        SQLITE_MIGRATOR.run_direct(&mut *conn).await
    }

    /// The latest schema step applied to this database.
    pub async fn applied_schema_version(&self) -> Result<i64> {
        const SQL: &str = "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";
        let v: i64 = with_db!(self, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)?;
        Ok(v)
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(..) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p, _) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}

impl Db {
    /// A random secret of 32 bytes made on first use and kept in the
    /// database, so every process that shares it agrees (cluster mode) and
    /// restarts keep it.
    pub async fn instance_secret(&self, name: &str) -> Result<Vec<u8>> {
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD;
        use rand::RngCore as _;
        const INSERT: &str =
            "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
        const SELECT: &str = "SELECT value FROM settings WHERE name = $1";
        let mut fresh = [0u8; 32];
        rand::rng().fill_bytes(&mut fresh);
        let fresh = STANDARD.encode(fresh);
        with_db!(self, pool => sqlx::query(INSERT).bind(name).bind(&fresh).execute(pool).await.map(drop))?;
        let stored: String =
            with_db!(self, pool => sqlx::query_scalar(SELECT).bind(name).fetch_one(pool).await)?;
        STANDARD
            .decode(stored)
            .map_err(|e| Error::Internal(format!("the stored secret {name} is damaged: {e}")))
    }
}
