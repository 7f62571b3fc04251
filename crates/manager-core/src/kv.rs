//! The KV store: per-app collections of JSON values (contract.md, "KV"),
//! on both backends, reached by scripts through [`KvService`] and by the
//! admin API through [`Manager`]'s KV view.
//!
//! Every operation takes the app it acts on from its caller's context (the
//! execution's `SdkCallCx`, or the admin's resolved app): nothing a script
//! passes can name another app.
//!
//! Reads go through the pool, concurrently; on SQLite scripts' `get` and
//! `has` read the file on their own thread ([`Readers`]), through an exact
//! in-memory cache of recent keys ([`cache`]). On SQLite writes
//! share commits (`sqlite_writer.rs`, with the execution records): whatever
//! writes wait while one commits share the next transaction (one WAL sync),
//! made on the writers' own threads, so throughput does not collapse into
//! one fsync per write. On PostgreSQL reads and sets go in batches, one
//! statement each ([`pg_batch`]); deletes, listings and the admin's
//! `has` go straight to the pool.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use picloud_shared::api_error::ErrorCode;
use picloud_shared::kv::{self as rules, KvEntry, KvListOptions, KvPage, KvService, SdkCallCx};
use picloud_shared::{AppId, BoxFuture};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;
use sqlx::Row;
use sqlx::types::Json;
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::authz::{self, Capability, Principal};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::events::delete_kv_postgres;
use crate::repo;
use crate::service::Manager;

use crate::events::{KvWrite, fire_kv_sqlite};
use crate::sqlite_writer::{Applied, Change, SqliteWriter, is_foreign_key_violation};

mod cache;
mod pg_batch;

use cache::{Known, KvCache};
use pg_batch::PgBatch;

/// The store.
pub struct KvStore {
    db: Db,
    /// Signs list cursors, so a changed cursor is refused, not followed.
    cursor_key: Vec<u8>,
    /// SQLite's group-commit writer; `None` on PostgreSQL.
    writer: Option<Arc<SqliteWriter>>,
    /// Wakes the event dispatcher when a write fired events.
    events: Arc<Notify>,
    /// SQLite: the collections KV triggers watch, per app, so writes
    /// elsewhere skip the outbox statement (one process owns an SQLite
    /// file, and every trigger is created through it). PostgreSQL, shared by
    /// processes, always runs it.
    watched: Arc<Watched>,
    /// Scripts' calls by operation, since start (for `/metrics`).
    ops: KvOps,
    /// SQLite: scripts' `get` and `has` on the calling thread; `None` on
    /// PostgreSQL.
    readers: Option<Readers>,
    /// SQLite: what scripts' reads and writes left known, kept exact by the
    /// writer (see [`cache`]); unused on PostgreSQL.
    cache: Arc<KvCache>,
    /// PostgreSQL: reads and sets in batches; `None` on SQLite.
    batch: Option<PgBatch>,
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
struct Readers {
    path: std::path::PathBuf,
    idle: std::sync::Mutex<Vec<rusqlite::Connection>>,
}

impl Readers {
    /// Idle connections kept: as many as threads may read at once (the
    /// runtime's and the script threads), so none is opened under load
    /// (an open reads the schema: milliseconds).
    const KEEP: usize = 64;

    /// Runs `read` on an idle connection (or a new one). `None` when SQLite
    /// says anything but an answer (busy, an I/O error, ...): the caller
    /// then takes the async path, which reports errors as it always has.
    fn read<T>(
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

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
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

const GET_NOW: &str = "SELECT value FROM kv WHERE app_id = ?1 AND collection = ?2 AND key = ?3";

/// Collections with KV triggers, per app. It may name more than exist (a
/// trigger deleted since): that only costs an outbox statement that finds
/// nothing. It never names fewer: a collection is added before its trigger
/// is stored.
#[derive(Default)]
struct Watched(std::sync::RwLock<HashMap<AppId, HashSet<String>>>);

impl Watched {
    fn contains(&self, app: AppId, collection: &str) -> bool {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&app)
            .is_some_and(|c| c.contains(collection))
    }

    fn add(&self, app: AppId, collection: &str) {
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(app)
            .or_default()
            .insert(collection.to_owned());
    }
}

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

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid(ErrorCode::BadRequest, message)
}

fn check_collection(c: &str) -> Result<()> {
    rules::check_collection(c).map_err(invalid)
}

fn check_key(k: &str) -> Result<()> {
    rules::check_key(k).map_err(invalid)
}

impl KvStore {
    /// Opens the store on `db`.
    /// `events` is woken whenever a write fires events (triggers).
    pub async fn open(db: Db, events: Arc<Notify>) -> Result<Arc<KvStore>> {
        let cursor_key = db.instance_secret("kv_cursor_key").await?;
        let watched = Arc::new(Watched::default());
        let writer = match &db {
            Db::Sqlite(pool, writer) => {
                const SQL: &str = "SELECT app_id, collection FROM triggers WHERE kind = 'kv' AND collection IS NOT NULL";
                let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(SQL).fetch_all(pool).await?;
                for (app, collection) in rows {
                    watched.add(AppId(app), &collection);
                }
                Some(Arc::clone(writer))
            }
            Db::Postgres(_) => None,
        };
        let readers = match &db {
            Db::Sqlite(pool, _) => Some(Readers {
                path: sqlite_path(pool),
                idle: std::sync::Mutex::new(Vec::new()),
            }),
            Db::Postgres(_) => None,
        };
        let batch = match &db {
            Db::Sqlite(..) => None,
            Db::Postgres(pool) => Some(PgBatch::start(pool.clone(), Arc::clone(&events))),
        };
        Ok(Arc::new(KvStore {
            db,
            cursor_key,
            writer,
            events,
            watched,
            ops: KvOps::default(),
            readers,
            cache: Arc::default(),
            batch,
        }))
    }

    /// `app` was deleted, and its keys with it (SQLite's foreign keys
    /// cascade outside the writer): the cache forgets them.
    pub(crate) fn forget_app(&self, app: AppId) {
        self.cache.forget_app(app);
    }

    /// A KV trigger is about to be stored on `collection`: writes to it must
    /// run the outbox statement from now on.
    pub fn watch(&self, app: AppId, collection: &str) {
        self.watched.add(app, collection);
    }

    pub async fn value(&self, app: AppId, collection: &str, key: &str) -> Result<Option<Value>> {
        Ok(self.item(app, collection, key).await?.map(|i| i.value))
    }

    /// A key with its last write time.
    pub async fn item(&self, app: AppId, collection: &str, key: &str) -> Result<Option<KvItem>> {
        check_collection(collection)?;
        check_key(key)?;
        const SQL: &str = "SELECT value, updated_at FROM kv \
                           WHERE app_id = $1 AND collection = $2 AND key = $3";
        let value = match &self.db {
            Db::Sqlite(pool, _) => {
                let row: Option<(String, OffsetDateTime)> = sqlx::query_as(SQL)
                    .bind(app.0)
                    .bind(collection)
                    .bind(key)
                    .fetch_optional(pool)
                    .await?;
                row.map(|(v, at)| Ok::<_, Error>((parse_stored(&v)?, at)))
                    .transpose()?
            }
            Db::Postgres(_) => self.pg_batch()?.read(app, collection, key).await?,
        };
        Ok(value.map(|(value, updated_at)| KvItem {
            key: key.to_owned(),
            value,
            updated_at,
        }))
    }

    pub async fn contains(&self, app: AppId, collection: &str, key: &str) -> Result<bool> {
        check_collection(collection)?;
        check_key(key)?;
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM kv \
                           WHERE app_id = $1 AND collection = $2 AND key = $3)";
        let found: bool = crate::with_db!(&self.db, pool => sqlx::query_scalar(SQL)
            .bind(app.0).bind(collection).bind(key).fetch_one(pool).await)?;
        Ok(found)
    }

    /// Creates or replaces a key, firing the triggers on it in the same
    /// transaction; returns the time written. `depth` is the writer's
    /// trigger depth (0 for a request or the admin API).
    pub async fn put(
        &self,
        app: AppId,
        collection: &str,
        key: &str,
        value: &Value,
        depth: u32,
    ) -> Result<OffsetDateTime> {
        let op = set_op(app, collection, key, value, depth)?;
        let at = op.at;
        match &self.db {
            Db::Sqlite(..) => {
                self.write_blocking(op).await?;
            }
            Db::Postgres(_) => self.pg_batch()?.set(op).await?,
        }
        Ok(at)
    }

    /// Deletes a key, firing the triggers on it in the same transaction if
    /// it was there; returns whether it was.
    pub async fn remove(
        &self,
        app: AppId,
        collection: &str,
        key: &str,
        depth: u32,
    ) -> Result<bool> {
        let op = delete_op(app, collection, key, depth)?;
        match &self.db {
            Db::Sqlite(..) => self.write_blocking(op).await,
            Db::Postgres(pool) => {
                let (removed, fired) = delete_kv_postgres(pool, &op.event()).await?;
                if fired > 0 {
                    self.events.notify_one();
                }
                Ok(removed)
            }
        }
    }

    fn pg_batch(&self) -> Result<&PgBatch> {
        self.batch
            .as_ref()
            .ok_or_else(|| Error::Internal("the KV store's PostgreSQL queue is missing".into()))
    }

    /// SQLite: `op` through the writer, from async code.
    async fn write_blocking(&self, op: WriteOp) -> Result<bool> {
        let writer = self
            .writer
            .as_ref()
            .ok_or_else(|| Error::Internal("the KV writer is missing".into()))?;
        self.committed(writer.write_from_async(self.change(op)).await)
    }

    /// `op` as the SQLite writer applies it.
    fn change(&self, op: WriteOp) -> Box<dyn Change> {
        Box::new(KvChange {
            op,
            watched: Arc::clone(&self.watched),
            cache: Arc::clone(&self.cache),
        })
    }

    /// A committed write's answer; wakes the dispatcher when it fired events.
    fn committed(&self, applied: Result<Applied>) -> Result<bool> {
        let applied = applied?;
        if applied.fired > 0 {
            self.events.notify_one();
        }
        Ok(applied.changed)
    }

    /// A page of a collection, keys ascending.
    pub async fn page(
        &self,
        app: AppId,
        collection: &str,
        options: &KvListOptions,
    ) -> Result<KvPage> {
        check_collection(collection)?;
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
        let mut items = match &self.db {
            Db::Sqlite(pool, _) => {
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
                            value: parse_stored(r.try_get::<&str, _>("value")?)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?
            }
            Db::Postgres(pool) => {
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
            }
        };
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
    pub async fn collections(&self, app: AppId) -> Result<Vec<KvCollection>> {
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

    fn mac(&self, app: AppId, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.cursor_key).expect("HMAC takes keys of any size");
        mac.update(app.0.as_bytes());
        mac.update(payload);
        mac
    }

    fn make_cursor(&self, app: AppId, collection: &str, prefix: &str, last: &str) -> String {
        let payload = serde_json::to_vec(&(collection, prefix, last)).unwrap_or_default();
        let tag = self.mac(app, &payload).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(&tag[..16])
        )
    }

    fn open_cursor(
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

/// The file an SQLite pool opens (for the store's own connections).
fn sqlite_path(pool: &sqlx::SqlitePool) -> std::path::PathBuf {
    pool.connect_options().get_filename().to_owned()
}

enum WriteKind {
    /// The value's JSON.
    Set(String),
    Delete,
}

/// One write, checked.
struct WriteOp {
    app: AppId,
    collection: String,
    key: String,
    kind: WriteKind,
    at: OffsetDateTime,
    /// The writer's trigger depth.
    depth: u32,
}

impl WriteOp {
    /// The key it writes, with its app and collection.
    fn id(&self) -> (AppId, &str, &str) {
        (self.app, &self.collection, &self.key)
    }

    /// About how many bytes it carries: its key and value.
    fn size(&self) -> usize {
        let value = match &self.kind {
            WriteKind::Set(json) => json.len(),
            WriteKind::Delete => 0,
        };
        self.collection.len() + self.key.len() + value
    }

    /// The write as the events it fires see it.
    fn event(&self) -> KvWrite<'_> {
        KvWrite {
            app: self.app,
            collection: &self.collection,
            key: &self.key,
            value: match &self.kind {
                WriteKind::Set(json) => Some(json),
                WriteKind::Delete => None,
            },
            at: self.at,
            depth: self.depth,
        }
    }
}

/// A write on SQLite, as the writer applies it: the row, and the events
/// it fires (when a trigger watches its collection) in the same
/// transaction.
struct KvChange {
    op: WriteOp,
    watched: Arc<Watched>,
    cache: Arc<KvCache>,
}

impl Change for KvChange {
    fn apply(&self, conn: &rusqlite::Connection) -> rusqlite::Result<Result<Applied>> {
        const UPSERT: &str = "INSERT INTO kv (app_id, collection, key, value, updated_at) \
                              VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (app_id, collection, key) \
                              DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
        const DELETE: &str = "DELETE FROM kv WHERE app_id = ?1 AND collection = ?2 AND key = ?3";
        let op = &self.op;
        let app = op.app.0.as_bytes().as_slice();
        let result = match &op.kind {
            WriteKind::Set(json) => conn
                .prepare_cached(UPSERT)?
                .execute((app, &op.collection, &op.key, json, repo::rfc3339(op.at)))
                .map(|_| true),
            WriteKind::Delete => conn
                .prepare_cached(DELETE)?
                .execute((app, &op.collection, &op.key))
                .map(|n| n > 0),
        };
        let changed = match result {
            Ok(changed) => {
                // Read from the file until committed (kv/cache.rs).
                self.cache.writing(op.app, &op.collection, &op.key);
                changed
            }
            // Its app was deleted meanwhile: this write fails alone.
            Err(e) if is_foreign_key_violation(&e) => return Ok(Err(Error::NotFound("app"))),
            // Anything else may have ended the transaction: fail the batch.
            Err(e) => return Err(e),
        };
        let fired = if changed && self.watched.contains(op.app, &op.collection) {
            fire_kv_sqlite(conn, &op.event())?
        } else {
            0
        };
        Ok(Ok(Applied { changed, fired }))
    }

    fn committed(&self) {
        let op = &self.op;
        let json = match &op.kind {
            WriteKind::Set(json) => Some(json.as_str()),
            WriteKind::Delete => None,
        };
        self.cache.wrote(op.app, &op.collection, &op.key, json);
    }

    fn aborted(&self) {
        let op = &self.op;
        self.cache.aborted(op.app, &op.collection, &op.key);
    }
}

/// A set of `key` to `value`, checked.
fn set_op(app: AppId, collection: &str, key: &str, value: &Value, depth: u32) -> Result<WriteOp> {
    check_collection(collection)?;
    check_key(key)?;
    let json = serde_json::to_string(value)
        .map_err(|e| invalid(format!("the value cannot be stored as JSON: {e}")))?;
    rules::check_value_size(json.len()).map_err(invalid)?;
    Ok(WriteOp {
        app,
        collection: collection.to_owned(),
        key: key.to_owned(),
        kind: WriteKind::Set(json),
        at: repo::now(),
        depth,
    })
}

/// A delete of `key`, checked.
fn delete_op(app: AppId, collection: &str, key: &str, depth: u32) -> Result<WriteOp> {
    check_collection(collection)?;
    check_key(key)?;
    Ok(WriteOp {
        app,
        collection: collection.to_owned(),
        key: key.to_owned(),
        kind: WriteKind::Delete,
        at: repo::now(),
        depth,
    })
}

/// The least string above every string that starts with `prefix` (UTF-8
/// byte order is code-point order), or `None` when there is none.
fn prefix_end(prefix: &str) -> Option<String> {
    if prefix.is_empty() {
        return None;
    }
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match u32::from(last) + 1 {
            0xD800 => 0xE000,
            n => n,
        };
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn parse_stored(json: &str) -> Result<Value> {
    serde_json::from_str(json)
        .map_err(|e| Error::Internal(format!("a stored KV value is not JSON: {e}")))
}

/// A write that failed because its app was deleted meanwhile.
fn gone_app(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => Error::NotFound("app"),
        _ => e.into(),
    }
}

// ----- the scripts' side -----

fn to_shared(e: Error) -> picloud_shared::Error {
    match e {
        Error::Invalid { message, .. } => picloud_shared::Error::Invalid(message),
        Error::NotFound(what) => picloud_shared::Error::Invalid(format!("the {what} is gone")),
        other => {
            tracing::error!(error = %other, "a KV call failed");
            picloud_shared::Error::Backend("the KV store failed; see the server log".into())
        }
    }
}

/// A script's write as it sees it: withdrawn at its deadline, or done.
fn written(outcome: Option<Result<bool>>) -> picloud_shared::Result<bool> {
    match outcome {
        Some(result) => result.map_err(to_shared),
        None => Err(picloud_shared::Error::Backend(
            "the execution's time ran out before the write was made".into(),
        )),
    }
}

/// Scripts' KV calls by operation.
#[derive(Default)]
struct KvOps {
    get: AtomicU64,
    set: AtomicU64,
    has: AtomicU64,
    delete: AtomicU64,
    list: AtomicU64,
}

impl KvStore {
    /// Scripts' KV calls since start, by operation (`get`, `set`, `has`,
    /// `delete`, `list`); the admin view's are not counted.
    pub fn op_counts(&self) -> [(&'static str, u64); 5] {
        let o = &self.ops;
        [
            ("get", o.get.load(Ordering::Relaxed)),
            ("set", o.set.load(Ordering::Relaxed)),
            ("has", o.has.load(Ordering::Relaxed)),
            ("delete", o.delete.load(Ordering::Relaxed)),
            ("list", o.list.load(Ordering::Relaxed)),
        ]
    }
}

impl KvStore {
    /// The stored JSON of the app's `key` in `collection` (`None`: absent),
    /// answered on this thread on SQLite: from the cache, or else read from
    /// the file and kept there. `None` to take the async path (PostgreSQL,
    /// bad input, which it reports, or a read that did not succeed at once).
    fn stored_now(&self, cx: &SdkCallCx, collection: &str, key: &str) -> Option<Known> {
        use rusqlite::OptionalExtension as _;
        let readers = self.readers.as_ref()?;
        // Only checked keys are ever cached: bad input misses, and is
        // refused below.
        let miss = match self.cache.get(cx.app_id, collection, key) {
            Ok(known) => return Some(known),
            Err(miss) => miss,
        };
        if check_collection(collection).is_err() || check_key(key).is_err() {
            return None;
        }
        let app = cx.app_id.0.as_bytes().as_slice();
        let known: Known = readers.read(|conn| {
            conn.prepare_cached(GET_NOW)?
                .query_row((app, collection, key), |row| {
                    Ok(Arc::from(row.get_ref(0)?.as_str()?))
                })
                .optional()
        })?;
        self.cache
            .fill(miss, cx.app_id, collection, key, known.clone());
        Some(known)
    }
}

impl KvStore {
    /// A script's write through the SQLite writer on this thread, counted
    /// in `count`; `None` on PostgreSQL (the async path).
    fn write_now(
        &self,
        count: &AtomicU64,
        op: impl FnOnce() -> Result<WriteOp>,
        deadline: Instant,
    ) -> Option<picloud_shared::Result<bool>> {
        let writer = self.writer.as_ref()?;
        count.fetch_add(1, Ordering::Relaxed);
        Some(match op() {
            Ok(op) => written(
                writer
                    .write(self.change(op), Some(deadline))
                    .map(|applied| self.committed(applied)),
            ),
            Err(e) => Err(to_shared(e)),
        })
    }
}

impl KvService for KvStore {
    fn get_now(
        &self,
        cx: &SdkCallCx,
        collection: &str,
        key: &str,
    ) -> Option<picloud_shared::Result<Option<Value>>> {
        let known = self.stored_now(cx, collection, key)?;
        self.ops.get.fetch_add(1, Ordering::Relaxed);
        Some(
            known
                .map(|json| parse_stored(&json))
                .transpose()
                .map_err(to_shared),
        )
    }

    fn has_now(
        &self,
        cx: &SdkCallCx,
        collection: &str,
        key: &str,
    ) -> Option<picloud_shared::Result<bool>> {
        let found = self.stored_now(cx, collection, key)?.is_some();
        self.ops.has.fetch_add(1, Ordering::Relaxed);
        Some(Ok(found))
    }

    fn set_now(
        &self,
        cx: &SdkCallCx,
        collection: &str,
        key: &str,
        value: &Value,
        deadline: Instant,
    ) -> Option<picloud_shared::Result<()>> {
        let op = || set_op(cx.app_id, collection, key, value, cx.depth);
        self.write_now(&self.ops.set, op, deadline)
            .map(|r| r.map(drop))
    }

    fn delete_now(
        &self,
        cx: &SdkCallCx,
        collection: &str,
        key: &str,
        deadline: Instant,
    ) -> Option<picloud_shared::Result<bool>> {
        let op = || delete_op(cx.app_id, collection, key, cx.depth);
        self.write_now(&self.ops.delete, op, deadline)
    }

    fn get<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, picloud_shared::Result<Option<Value>>> {
        self.ops.get.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            KvStore::value(self, cx.app_id, collection, key)
                .await
                .map_err(to_shared)
        })
    }

    fn set<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
        value: Value,
    ) -> BoxFuture<'a, picloud_shared::Result<()>> {
        self.ops.set.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            KvStore::put(self, cx.app_id, collection, key, &value, cx.depth)
                .await
                .map(drop)
                .map_err(to_shared)
        })
    }

    fn has<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, picloud_shared::Result<bool>> {
        self.ops.has.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            KvStore::contains(self, cx.app_id, collection, key)
                .await
                .map_err(to_shared)
        })
    }

    fn delete<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, picloud_shared::Result<bool>> {
        self.ops.delete.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            KvStore::remove(self, cx.app_id, collection, key, cx.depth)
                .await
                .map_err(to_shared)
        })
    }

    fn list<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        options: KvListOptions,
    ) -> BoxFuture<'a, picloud_shared::Result<KvPage>> {
        self.ops.list.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            KvStore::page(self, cx.app_id, collection, &options)
                .await
                .map_err(to_shared)
        })
    }
}

// ----- the admin view -----

impl Manager {
    pub async fn kv_collections(&self, p: &Principal, app: &str) -> Result<Vec<KvCollection>> {
        let app = self.resolve_app(Some(app)).await?;
        authz::require(p, Capability::ReadKv, app.id, "app")?;
        self.kv.collections(app.id).await
    }

    pub async fn kv_page(
        &self,
        p: &Principal,
        app: &str,
        collection: &str,
        options: &KvListOptions,
    ) -> Result<KvPage> {
        let app = self.resolve_app(Some(app)).await?;
        authz::require(p, Capability::ReadKv, app.id, "app")?;
        self.kv.page(app.id, collection, options).await
    }

    pub async fn kv_get(
        &self,
        p: &Principal,
        app: &str,
        collection: &str,
        key: &str,
    ) -> Result<KvItem> {
        let app = self.resolve_app(Some(app)).await?;
        authz::require(p, Capability::ReadKv, app.id, "app")?;
        self.kv
            .item(app.id, collection, key)
            .await?
            .ok_or(Error::NotFound("key"))
    }

    /// Creates or replaces a key; `true` when it was created.
    pub async fn kv_put(
        &self,
        p: &Principal,
        app: &str,
        collection: &str,
        key: &str,
        value: Value,
    ) -> Result<(KvItem, bool)> {
        let app = self.resolve_app(Some(app)).await?;
        authz::require(p, Capability::WriteKv, app.id, "app")?;
        let existed = self.kv.contains(app.id, collection, key).await?;
        let updated_at = self.kv.put(app.id, collection, key, &value, 0).await?;
        self.audit(
            p,
            Some(app.id),
            "kv.put",
            Some(format!("{collection}/{key}")),
            serde_json::json!({ "collection": collection, "key": key }),
        )
        .await;
        Ok((
            KvItem {
                key: key.to_owned(),
                value,
                updated_at,
            },
            !existed,
        ))
    }

    pub async fn kv_delete(
        &self,
        p: &Principal,
        app: &str,
        collection: &str,
        key: &str,
    ) -> Result<()> {
        let app = self.resolve_app(Some(app)).await?;
        authz::require(p, Capability::WriteKv, app.id, "app")?;
        if !self.kv.remove(app.id, collection, key, 0).await? {
            return Err(Error::NotFound("key"));
        }
        self.audit(
            p,
            Some(app.id),
            "kv.delete",
            Some(format!("{collection}/{key}")),
            serde_json::json!({ "collection": collection, "key": key }),
        )
        .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_ends_bound_exactly_the_keys_with_the_prefix() {
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("a").as_deref(), Some("b"));
        assert_eq!(prefix_end("user:").as_deref(), Some("user;"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        for key in ["a", "a\u{10FFFF}\u{10FFFF}", "az", "a~"] {
            assert!(key >= "a" && key < prefix_end("a").unwrap().as_str());
        }
        assert!("b" >= prefix_end("a").unwrap().as_str());
    }
}
