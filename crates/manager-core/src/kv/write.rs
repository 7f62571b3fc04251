//! A write as the writers see it: what it does, the events it fires, and
//! how its failures read.

use std::collections::{HashMap, HashSet};

use picloud_shared::api_error::ErrorCode;
use std::sync::Arc;

use picloud_shared::AppId;
use picloud_shared::kv::{self as rules, CollectionName, KvKey};
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::events::{KvWrite, fire_kv_sqlite};
use crate::repo;

use super::cache::KvCache;
use crate::sqlite_writer::{Applied, Change, is_foreign_key_violation};

/// Collections with KV triggers, per app. It may name more than exist (a
/// trigger deleted since): that only costs an outbox statement that finds
/// nothing. It never names fewer: a collection is added before its trigger
/// is stored.
#[derive(Default)]
pub(super) struct Watched(std::sync::RwLock<HashMap<AppId, HashSet<String>>>);

impl Watched {
    pub(super) fn contains(&self, app: AppId, collection: &str) -> bool {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&app)
            .is_some_and(|c| c.contains(collection))
    }

    pub(super) fn add(&self, app: AppId, collection: &str) {
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(app)
            .or_default()
            .insert(collection.to_owned());
    }
}

pub(super) fn invalid(message: impl Into<String>) -> Error {
    Error::invalid(ErrorCode::BadRequest, message)
}

/// A collection and a key, checked once, where a call comes into the
/// store: what takes a `Place` checks nothing again.
pub(super) struct Place {
    pub(super) collection: CollectionName,
    pub(super) key: KvKey,
}

impl Place {
    pub(super) fn parse(collection: &str, key: &str) -> Result<Place> {
        Ok(Place {
            collection: CollectionName::parse(collection).map_err(invalid)?,
            key: KvKey::parse(key).map_err(invalid)?,
        })
    }
}

/// The file an SQLite pool opens (for the store's own connections).
pub(super) fn sqlite_path(pool: &sqlx::SqlitePool) -> std::path::PathBuf {
    pool.connect_options().get_filename().to_owned()
}

pub(super) enum WriteKind {
    /// The value's JSON.
    Set(String),
    Delete,
}

/// One write, checked.
pub(super) struct WriteOp {
    pub(super) app: AppId,
    pub(super) collection: String,
    pub(super) key: String,
    pub(super) kind: WriteKind,
    pub(super) at: OffsetDateTime,
    /// The writer's trigger depth.
    pub(super) depth: u32,
}

impl WriteOp {
    /// The key it writes, with its app and collection.
    pub(super) fn id(&self) -> (AppId, &str, &str) {
        (self.app, &self.collection, &self.key)
    }

    /// About how many bytes it carries: its key and value.
    pub(super) fn size(&self) -> usize {
        let value = match &self.kind {
            WriteKind::Set(json) => json.len(),
            WriteKind::Delete => 0,
        };
        self.collection.len() + self.key.len() + value
    }

    /// The write as the events it fires see it.
    pub(super) fn event(&self) -> KvWrite<'_> {
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
pub(super) struct KvChange {
    pub(super) op: WriteOp,
    pub(super) watched: Arc<Watched>,
    pub(super) cache: Arc<KvCache>,
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

/// A set of `key` to `value`, the value checked.
pub(super) fn set_op(app: AppId, place: Place, value: &Value, depth: u32) -> Result<WriteOp> {
    let json = serde_json::to_string(value)
        .map_err(|e| invalid(format!("the value cannot be stored as JSON: {e}")))?;
    rules::check_value_size(json.len()).map_err(invalid)?;
    Ok(WriteOp {
        app,
        collection: place.collection.into(),
        key: place.key.into(),
        kind: WriteKind::Set(json),
        at: repo::now(),
        depth,
    })
}

/// A delete of `key`, checked.
pub(super) fn delete_op(app: AppId, place: Place, depth: u32) -> Result<WriteOp> {
    Ok(WriteOp {
        app,
        collection: place.collection.into(),
        key: place.key.into(),
        kind: WriteKind::Delete,
        at: repo::now(),
        depth,
    })
}

/// The least string above every string that starts with `prefix` (UTF-8
/// byte order is code-point order), or `None` when there is none.
pub(super) fn prefix_end(prefix: &str) -> Option<String> {
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

pub(super) fn parse_stored(json: &str) -> Result<Value> {
    serde_json::from_str(json)
        .map_err(|e| Error::Internal(format!("a stored KV value is not JSON: {e}")))
}

/// A write that failed because its app was deleted meanwhile.
pub(super) fn gone_app(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => Error::NotFound("app"),
        _ => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    pub(super) fn prefix_ends_bound_exactly_the_keys_with_the_prefix() {
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
