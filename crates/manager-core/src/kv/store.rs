//! The store itself: opening it, reads, writes, listings and the
//! collections of an app.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use picloud_shared::AppId;
use picloud_shared::kv::{self as rules, CollectionName, KvEntry, KvListOptions, KvPage};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;
use sqlx::Row;
use sqlx::types::Json;
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::events::delete_kv_postgres;

use super::cache::KvCache;
use super::pg_batch::PgBatch;
use super::write::{
    KvChange, Place, Watched, WriteOp, delete_op, invalid, parse_stored, prefix_end, set_op,
    sqlite_path,
};
use crate::sqlite_writer::{Applied, Change, SqliteWriter};

pub struct KvStore {
    pub(super) db: Db,
    /// Signs list cursors, so a changed cursor is refused, not followed.
    pub(super) cursor_key: Vec<u8>,
    /// Wakes the event dispatcher when a write fired events.
    pub(super) events: Arc<Notify>,
    /// SQLite: the collections KV triggers watch, per app, so writes
    /// elsewhere skip the outbox statement (one process owns an SQLite
    /// file, and every trigger is created through it). PostgreSQL, shared by
    /// processes, always runs it.
    pub(super) watched: Arc<Watched>,
    /// Scripts' calls by operation, since start (for `/metrics`).
    pub(super) ops: KvOps,
    /// What the store keeps for its backend.
    pub(super) engine: Engine,
}

/// The parts of the store that exist on one backend only.
pub(super) enum Engine {
    Sqlite {
        pool: sqlx::SqlitePool,
        /// The group-commit writer (shared with the execution records).
        writer: Arc<SqliteWriter>,
        /// Scripts' `get` and `has` on the calling thread.
        readers: Readers,
        /// What scripts' reads and writes left known, kept exact by the
        /// writer (see [`cache`]).
        cache: Arc<KvCache>,
    },
    Postgres {
        pool: sqlx::PgPool,
        /// Reads and sets in batches.
        batch: PgBatch,
    },
}

/// Read-only connections to the SQLite file for scripts' `get` and `has`,
/// answered on the thread that runs the script (rusqlite, prepared
/// statements cached per connection). Through sqlx a read goes to the
/// connection's worker thread and back, and the script to a script thread
/// and back: four cross-thread wake-ups, most of a KV read's cost
/// (docs/performance.md). In WAL mode readers never wait for the writer
/// and see every committed write, so a `set` (answered once committed)
/// followed by a `get` reads what was set. Connections are opened as
/// threads need them and kept (a few), never closed on a timer.
pub(super) struct Readers {
    pub(super) path: std::path::PathBuf,
    pub(super) idle: std::sync::Mutex<Vec<rusqlite::Connection>>,
}

impl Readers {
    /// Idle connections kept: as many as threads may read at once (the
    /// runtime's and the script threads), so none is opened under load
    /// (an open reads the schema: milliseconds).
    const KEEP: usize = 64;

    /// Runs `read` on an idle connection (or a new one). `None` when SQLite
    /// says anything but an answer (busy, an I/O error, ...): the caller
    /// then takes the async path, which reports errors as it always has.
    pub(super) fn read<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Option<T> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => match self.open() {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "could not open a SQLite reader");
                    return None;
                }
            },
        };
        match read(&conn) {
            Ok(answer) => {
                let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
                if idle.len() < Self::KEEP {
                    idle.push(conn);
                }
                Some(answer)
            }
            Err(e) => {
                tracing::debug!(error = %e, "a SQLite read on the calling thread failed; taking the pool");
                None
            }
        }
    }

    pub(super) fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // No busy wait on the calling thread (a runtime thread, maybe): a
        // busy file sends the read down the async path instead. No memory
        // map of the file: SQLite unmaps it and maps it again at the first
        // read after any commit, and under writes that (with its TLB
        // shootdowns) cost more than the reads it saved
        // (docs/performance.md). Pages come from the OS's page cache, so
        // each connection keeps a small cache of its own.
        conn.busy_timeout(std::time::Duration::ZERO)?;
        conn.pragma_update(None, "cache_size", -256)?;
        Ok(conn)
    }
}

pub(super) const GET_NOW: &str =
    "SELECT value FROM kv WHERE app_id = ?1 AND collection = ?2 AND key = ?3";

/// A key as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct KvItem {
    pub key: String,
    pub value: Value,
    #[serde(with = "picloud_shared::timestamp")]
    pub updated_at: OffsetDateTime,
}

/// A collection as the admin API lists it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct KvCollection {
    pub name: String,
    pub keys: i64,
}

/// Scripts' KV calls by operation.
#[derive(Default)]
pub(super) struct KvOps {
    pub(super) get: AtomicU64,
    pub(super) set: AtomicU64,
    pub(super) has: AtomicU64,
    pub(super) delete: AtomicU64,
    pub(super) list: AtomicU64,
}

impl KvStore {
    /// Opens the store on `db`.
    /// `events` is woken whenever a write fires events (triggers).
    pub async fn open(db: Db, events: Arc<Notify>) -> Result<Arc<KvStore>> {
        let cursor_key = db.instance_secret("kv_cursor_key").await?;
        let watched = Arc::new(Watched::default());
        let engine = match &db {
            Db::Sqlite(pool, writer) => {
                const SQL: &str = "SELECT app_id, collection FROM triggers WHERE kind = 'kv' AND collection IS NOT NULL";
                let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(SQL).fetch_all(pool).await?;
                for (app, collection) in rows {
                    watched.add(AppId(app), &collection);
                }
                Engine::Sqlite {
                    pool: pool.clone(),
                    writer: Arc::clone(writer),
                    readers: Readers {
                        path: sqlite_path(pool),
                        idle: std::sync::Mutex::new(Vec::new()),
                    },
                    cache: Arc::default(),
                }
            }
            Db::Postgres(pool) => Engine::Postgres {
                pool: pool.clone(),
                batch: PgBatch::start(pool.clone(), Arc::clone(&events)),
            },
        };
        Ok(Arc::new(KvStore {
            db,
            cursor_key,
            events,
            watched,
            ops: KvOps::default(),
            engine,
        }))
    }

    /// `app` was deleted, and its keys with it (SQLite's foreign keys
    /// cascade outside the writer): the cache forgets them.
    pub(crate) fn forget_app(&self, app: AppId) {
        if let Engine::Sqlite { cache, .. } = &self.engine {
            cache.forget_app(app);
        }
    }

    /// A KV trigger is about to be stored on `collection`: writes to it must
    /// run the outbox statement from now on.
    pub(crate) fn watch(&self, app: AppId, collection: &str) {
        self.watched.add(app, collection);
    }

    pub(crate) async fn value(
        &self,
        app: AppId,
        collection: &str,
        key: &str,
    ) -> Result<Option<Value>> {
        Ok(self.item(app, collection, key).await?.map(|i| i.value))
    }

    /// A key with its last write time.
    pub(crate) async fn item(
        &self,
        app: AppId,
        collection: &str,
        key: &str,
    ) -> Result<Option<KvItem>> {
        Place::parse(collection, key)?;
        const SQL: &str = "SELECT value, updated_at FROM kv \
                           WHERE app_id = $1 AND collection = $2 AND key = $3";
        let value = match &self.engine {
            Engine::Sqlite { pool, .. } => {
                let row: Option<(String, OffsetDateTime)> = sqlx::query_as(SQL)
                    .bind(app.0)
                    .bind(collection)
                    .bind(key)
                    .fetch_optional(pool)
                    .await?;
                row.map(|(v, at)| Ok::<_, Error>((parse_stored(&v)?, at)))
                    .transpose()?
            }
            Engine::Postgres { batch, .. } => batch.read(app, collection, key).await?,
        };
        Ok(value.map(|(value, updated_at)| KvItem {
            key: key.to_owned(),
            value,
            updated_at,
        }))
    }

    pub(crate) async fn contains(&self, app: AppId, collection: &str, key: &str) -> Result<bool> {
        Place::parse(collection, key)?;
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM kv \
                           WHERE app_id = $1 AND collection = $2 AND key = $3)";
        let found: bool = crate::with_db!(&self.db, pool => sqlx::query_scalar(SQL)
            .bind(app.0).bind(collection).bind(key).fetch_one(pool).await)?;
        Ok(found)
    }

    /// Creates or replaces a key, firing the triggers on it in the same
    /// transaction; returns the time written. `depth` is the writer's
    /// trigger depth (0 for a request or the admin API).
    pub(crate) async fn put(
        &self,
        app: AppId,
        collection: &str,
        key: &str,
        value: &Value,
        depth: u32,
    ) -> Result<OffsetDateTime> {
        let op = set_op(app, Place::parse(collection, key)?, value, depth)?;
        let at = op.at;
        match &self.engine {
            Engine::Sqlite { writer, cache, .. } => {
                self.write_blocking(writer, cache, op).await?;
            }
            Engine::Postgres { batch, .. } => batch.set(op).await?,
        }
        Ok(at)
    }

    /// Deletes a key, firing the triggers on it in the same transaction if
    /// it was there; returns whether it was.
    pub(crate) async fn remove(
        &self,
        app: AppId,
        collection: &str,
        key: &str,
        depth: u32,
    ) -> Result<bool> {
        let op = delete_op(app, Place::parse(collection, key)?, depth)?;
        match &self.engine {
            Engine::Sqlite { writer, cache, .. } => self.write_blocking(writer, cache, op).await,
            Engine::Postgres { pool, .. } => {
                let (removed, fired) = delete_kv_postgres(pool, &op.event()).await?;
                if fired > 0 {
                    self.events.notify_one();
                }
                Ok(removed)
            }
        }
    }

    /// SQLite: `op` through the writer, from async code.
    async fn write_blocking(
        &self,
        writer: &Arc<SqliteWriter>,
        cache: &Arc<KvCache>,
        op: WriteOp,
    ) -> Result<bool> {
        self.committed(writer.write_from_async(self.change(cache, op)).await)
    }

    /// `op` as the SQLite writer applies it, keeping `cache` exact.
    pub(super) fn change(&self, cache: &Arc<KvCache>, op: WriteOp) -> Box<dyn Change> {
        Box::new(KvChange {
            op,
            watched: Arc::clone(&self.watched),
            cache: Arc::clone(cache),
        })
    }

    /// A committed write's answer; wakes the dispatcher when it fired events.
    pub(super) fn committed(&self, applied: Result<Applied>) -> Result<bool> {
        let applied = applied?;
        if applied.fired > 0 {
            self.events.notify_one();
        }
        Ok(applied.changed)
    }

    /// A page of a collection, keys ascending.
    pub(crate) async fn page(
        &self,
        app: AppId,
        collection: &str,
        options: &KvListOptions,
    ) -> Result<KvPage> {
        CollectionName::parse(collection).map_err(invalid)?;
        let limit = rules::check_limit(options.limit.map(i64::from)).map_err(invalid)?;
        let prefix = options.prefix.as_deref().unwrap_or("");
        if prefix.len() > rules::MAX_KEY_BYTES {
            return Err(invalid(format!(
                "a prefix is at most {} bytes; got {}",
                rules::MAX_KEY_BYTES,
                prefix.len()
            )));
        }
        let after = match options.cursor.as_deref() {
            None | Some("") => String::new(),
            Some(cursor) => self.open_cursor(app, collection, prefix, cursor)?,
        };
        let end = prefix_end(prefix);
        // One row more than asked says whether there is a next page.
        let fetch = i64::from(limit) + 1;
        let sql = if end.is_some() {
            "SELECT key, value FROM kv WHERE app_id = $1 AND collection = $2 \
             AND key > $3 AND key >= $4 AND key < $5 ORDER BY key LIMIT $6"
        } else {
            "SELECT key, value FROM kv WHERE app_id = $1 AND collection = $2 \
             AND key > $3 AND key >= $4 AND $5 IS NULL ORDER BY key LIMIT $6"
        };
        let mut items = crate::with_db!(&self.db, pool => {
            let rows = sqlx::query(sql)
                .bind(app.0)
                .bind(collection)
                .bind(&after)
                .bind(prefix)
                .bind(end.as_deref())
                .bind(fetch)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(KvEntry {
                        key: r.try_get("key")?,
                        value: r.try_get::<Json<Value>, _>("value")?.0,
                    })
                })
                .collect::<Result<Vec<_>>>()?
        });
        let cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items
                .last()
                .map(|last| self.make_cursor(app, collection, prefix, &last.key))
        } else {
            None
        };
        Ok(KvPage { items, cursor })
    }

    /// An app's collections with their number of keys, by name.
    pub(crate) async fn collections(&self, app: AppId) -> Result<Vec<KvCollection>> {
        const SQL: &str = "SELECT collection, COUNT(*) FROM kv WHERE app_id = $1 \
                           GROUP BY collection ORDER BY collection";
        let rows: Vec<(String, i64)> = crate::with_db!(&self.db, pool => sqlx::query_as(SQL)
            .bind(app.0).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|(name, keys)| KvCollection { name, keys })
            .collect())
    }

    // ----- cursors -----
    //
    // A cursor is `payload.mac`: the payload names the collection, the
    // prefix and the last key of the page; the MAC (HMAC-SHA-256 over the app
    // and the payload, cut to 128 bits) makes any change to it detectable.
    // A cursor only ever moves the start of a listing the caller could make
    // anyway, so even a forged one could not widen what it reads; the MAC
    // turns a changed cursor into a clear error instead of a silent skip.

    pub(super) fn mac(&self, app: AppId, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.cursor_key).expect("HMAC takes keys of any size");
        mac.update(app.0.as_bytes());
        mac.update(payload);
        mac
    }

    pub(super) fn make_cursor(
        &self,
        app: AppId,
        collection: &str,
        prefix: &str,
        last: &str,
    ) -> String {
        let payload = serde_json::to_vec(&(collection, prefix, last)).unwrap_or_default();
        let tag = self.mac(app, &payload).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(&tag[..16])
        )
    }

    pub(super) fn open_cursor(
        &self,
        app: AppId,
        collection: &str,
        prefix: &str,
        cursor: &str,
    ) -> Result<String> {
        let refused =
            || invalid("the cursor is not valid: pass back a cursor exactly as list returned it");
        let (payload, tag) = cursor.split_once('.').ok_or_else(refused)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| refused())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| refused())?;
        self.mac(app, &payload)
            .verify_truncated_left(&tag)
            .map_err(|_| refused())?;
        let (c, p, last): (String, String, String) =
            serde_json::from_slice(&payload).map_err(|_| refused())?;
        if c != collection {
            return Err(invalid(format!(
                "the cursor belongs to collection {c:?}, not {collection:?}"
            )));
        }
        if p != prefix {
            return Err(invalid(format!(
                "the cursor was made for prefix {p:?}; list with the same prefix to go on"
            )));
        }
        Ok(last)
    }
}
