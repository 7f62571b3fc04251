//! The scripts' side: [`KvService`] over the store, with counts of
//! operations for `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use picloud_shared::BoxFuture;
use picloud_shared::kv::{KvListOptions, KvPage, KvService, SdkCallCx};
use serde_json::Value;

use crate::error::{Error, Result};

use super::cache::Known;
use super::store::{Engine, GET_NOW, KvStore};
use super::write::{Place, WriteOp, delete_op, parse_stored, set_op};

// ----- the scripts' side -----

pub(super) fn to_shared(e: Error) -> picloud_shared::Error {
    e.into_shared("the KV store")
}

/// A script's write as it sees it: withdrawn at its deadline, or done.
pub(super) fn written(outcome: Option<Result<bool>>) -> picloud_shared::Result<bool> {
    match outcome {
        Some(result) => result.map_err(to_shared),
        None => Err(picloud_shared::Error::Backend(
            "the execution's time ran out before the write was made".into(),
        )),
    }
}

impl KvStore {
    /// Scripts' KV calls since start, by operation (`get`, `set`, `has`,
    /// `delete`, `list`); the admin view's are not counted.
    pub(crate) fn op_counts(&self) -> [(&'static str, u64); 5] {
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
    pub(super) fn stored_now(&self, cx: &SdkCallCx, collection: &str, key: &str) -> Option<Known> {
        use rusqlite::OptionalExtension as _;
        let Engine::Sqlite { readers, cache, .. } = &self.engine else {
            return None;
        };
        // Only checked keys are ever cached: bad input misses, and is
        // refused below.
        let miss = match cache.get(cx.app_id, collection, key) {
            Ok(known) => return Some(known),
            Err(miss) => miss,
        };
        if Place::parse(collection, key).is_err() {
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
        cache.fill(miss, cx.app_id, collection, key, known.clone());
        Some(known)
    }
}

impl KvStore {
    /// A script's write through the SQLite writer on this thread, counted
    /// in `count`; `None` on PostgreSQL (the async path).
    pub(super) fn write_now(
        &self,
        count: &AtomicU64,
        op: impl FnOnce() -> Result<WriteOp>,
        deadline: Instant,
    ) -> Option<picloud_shared::Result<bool>> {
        let Engine::Sqlite { writer, cache, .. } = &self.engine else {
            return None;
        };
        count.fetch_add(1, Ordering::Relaxed);
        Some(match op() {
            Ok(op) => written(
                writer
                    .write(self.change(cache, op), Some(deadline))
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

    fn get_json_now(
        &self,
        cx: &SdkCallCx,
        collection: &str,
        key: &str,
    ) -> Option<picloud_shared::Result<Option<Arc<str>>>> {
        let known = self.stored_now(cx, collection, key)?;
        self.ops.get.fetch_add(1, Ordering::Relaxed);
        Some(Ok(known))
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
        let op = || set_op(cx.app_id, Place::parse(collection, key)?, value, cx.depth);
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
        let op = || delete_op(cx.app_id, Place::parse(collection, key)?, cx.depth);
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
