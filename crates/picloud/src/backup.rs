//! `picloud backup FILE` and `picloud restore FILE`: the embedded SQLite
//! database, copied out while the server runs and put back while it does
//! not. (A PostgreSQL database is backed up with `pg_dump`.)
//!
//! - A backup is `VACUUM INTO`: SQLite writes a consistent snapshot of the
//!   database as one transaction sees it, while the server goes on reading
//!   and writing, then the copy is checked (`PRAGMA integrity_check`).
//! - A serving process holds an exclusive lock on `<database>.lock`
//!   ([`DataLock`]); a restore takes the same lock, so it refuses to replace
//!   the database under a running server, and a second server refuses to
//!   share one.
//! - A restore checks the file (an intact PiCloud database of a schema this
//!   build knows), copies it next to the database, syncs it, and renames it
//!   into place; the database it replaces is kept as `<database>.pre-restore`.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use picloud_manager_core::{DbTarget, schema_version};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, SqliteConnection};

/// Held while a server uses an SQLite database: an exclusive lock on
/// `<database>.lock`, released when dropped (or when the process dies).
#[derive(Debug)]
pub struct DataLock {
    _file: File,
}

/// The lock file of an SQLite database.
fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the database's lock, or says who holds it. Creates the directory
/// if needed.
pub fn lock(db: &Path) -> anyhow::Result<DataLock> {
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let path = lock_path(db);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(DataLock { _file: file }),
        Err(TryLockError::WouldBlock) => bail!(
            "{} is in use by a running picloud (it holds {})",
            db.display(),
            path.display()
        ),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// The SQLite file of a target, or why there is none to copy.
fn sqlite_file(target: &DbTarget) -> anyhow::Result<&Path> {
    match target {
        DbTarget::Sqlite(path) => Ok(path),
        DbTarget::Postgres(_) => bail!(
            "DATABASE_URL points at PostgreSQL: back it up with pg_dump and restore it with \
             pg_restore (docs/operations.md); picloud backup and restore are for the embedded \
             SQLite database"
        ),
    }
}

async fn open(path: &Path, read_only: bool) -> anyhow::Result<SqliteConnection> {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .create_if_missing(false)
        .connect()
        .await
        .with_context(|| format!("opening {}", path.display()))
}

/// What a checked database file holds.
#[derive(Debug)]
pub struct Checked {
    pub schema: i64,
    pub bytes: u64,
}

/// Checks that `path` is an intact PiCloud database whose schema this build
/// knows.
pub async fn check(path: &Path) -> anyhow::Result<Checked> {
    let bytes = fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    let mut conn = open(path, true).await?;
    let checked = async {
        let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .context("not an SQLite database")?;
        if integrity != "ok" {
            bail!("the database is damaged: {integrity}");
        }
        let schema: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&mut conn)
                .await
                .context("not a PiCloud database (no migrations table)")?;
        let schema = schema.context("not a PiCloud database (no migration applied)")?;
        let has_scripts: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'scripts'",
        )
        .fetch_one(&mut conn)
        .await?;
        if has_scripts == 0 {
            bail!("not a PiCloud database (no scripts table)");
        }
        if schema > schema_version() {
            bail!(
                "its schema version is {schema}, newer than this picloud's {}: restore it with \
                 the picloud that made it",
                schema_version()
            );
        }
        Ok(Checked { schema, bytes })
    }
    .await;
    let _ = conn.close().await;
    checked.with_context(|| path.display().to_string())
}

/// Writes a consistent copy of the database to `to`, which must not exist.
/// Safe while the server runs.
pub async fn backup(target: &DbTarget, to: &Path) -> anyhow::Result<Checked> {
    let db = sqlite_file(target)?;
    if !db.exists() {
        bail!("there is no database at {} to back up", db.display());
    }
    if to.exists() {
        bail!("{} exists already: choose a new file name", to.display());
    }
    let to_text = to
        .to_str()
        .with_context(|| format!("{} is not a UTF-8 path", to.display()))?;
    // Read-write, so the snapshot includes what is still in the WAL.
    let mut conn = open(db, false).await?;
    let copied = sqlx::query("VACUUM INTO ?")
        .bind(to_text)
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    copied.with_context(|| format!("writing {}", to.display()))?;
    check(to).await
}

/// Replaces the database with the checked copy at `from`. Refused while a
/// server uses the database.
pub async fn restore(target: &DbTarget, from: &Path) -> anyhow::Result<Checked> {
    let db = sqlite_file(target)?;
    if !from.is_file() {
        bail!("{} is not a file", from.display());
    }
    let checked = check(from).await?;
    let _lock = lock(db).context("stop the server before a restore")?;

    let sibling = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    // The copy goes next to the database first, so the last step is one
    // rename on the same file system.
    let incoming = sibling(".restoring");
    fs::copy(from, &incoming)
        .with_context(|| format!("copying {} to {}", from.display(), incoming.display()))?;
    File::open(&incoming)?.sync_all()?;
    // The database it replaces, with its WAL, is kept aside (in place of
    // what an earlier restore kept).
    for suffix in ["", "-wal", "-shm"] {
        let old = sibling(&format!(".pre-restore{suffix}"));
        if old.exists() {
            fs::remove_file(&old).with_context(|| format!("removing {}", old.display()))?;
        }
    }
    if db.exists() {
        for suffix in ["", "-wal", "-shm"] {
            let from = sibling(suffix);
            if from.exists() {
                let kept = sibling(&format!(".pre-restore{suffix}"));
                fs::rename(&from, &kept)
                    .with_context(|| format!("moving {} aside", from.display()))?;
            }
        }
    }
    fs::rename(&incoming, db).with_context(|| format!("putting {} in place", db.display()))?;
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    Ok(checked)
}
