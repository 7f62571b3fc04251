//! A dry run's key-value store: the app's store as the execution found it,
//! with the execution's own writes on top, kept in memory and dropped with
//! the execution. Nothing it writes reaches the store, so it fires no
//! event either. Reads see its writes, `list` included (merged with the
//! store's pages, in key order).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use picloud_shared::kv::{
    DEFAULT_LIST_LIMIT, KvEntry, KvListOptions, KvPage, KvService, SdkCallCx, check_key,
    check_value_size,
};
use picloud_shared::{BoxFuture, Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The marker of the cursors this store makes.
const CURSOR_PREFIX: &str = "dry:";

/// The most a dry run may write (keys and values, as JSON, overwrites
/// counted again): its writes are held in memory, where a store would have
/// taken them to disk, so without a bound a script could fill the server's
/// memory in its time.
pub(crate) const MAX_DRY_RUN_BYTES: usize = 64 << 20;

/// Writes of one dry run: `None` is a delete.
type Writes = BTreeMap<(String, String), Option<Value>>;

pub(crate) struct DryRunKv {
    inner: Arc<dyn KvService>,
    writes: Mutex<Writes>,
    /// Bytes written so far, against [`MAX_DRY_RUN_BYTES`].
    held: AtomicUsize,
}

/// Where the next page of a merged listing starts.
#[derive(Serialize, Deserialize)]
struct Resume {
    /// The store's cursor of a page that holds every key after `after`
    /// (`None`: its first page).
    inner: Option<String>,
    /// The last key listed.
    after: String,
    /// The store has no key after `after` left.
    done: bool,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::Invalid(message.into())
}

impl DryRunKv {
    pub(crate) fn new(inner: Arc<dyn KvService>) -> Self {
        DryRunKv {
            inner,
            writes: Mutex::new(BTreeMap::new()),
            held: AtomicUsize::new(0),
        }
    }

    fn written(&self, collection: &str, key: &str) -> Option<Option<Value>> {
        self.writes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(collection.to_owned(), key.to_owned()))
            .cloned()
    }

    fn write(&self, collection: &str, key: &str, value: Option<Value>) {
        self.writes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((collection.to_owned(), key.to_owned()), value);
    }

    /// Counts `bytes` more against the dry run's bound.
    fn reserve(&self, bytes: usize) -> Result<()> {
        let before = self.held.fetch_add(bytes, Ordering::Relaxed);
        if before.saturating_add(bytes) > MAX_DRY_RUN_BYTES {
            return Err(invalid(format!(
                "a dry run keeps its writes in memory, at most {} MiB of them; this one wrote more",
                MAX_DRY_RUN_BYTES >> 20
            )));
        }
        Ok(())
    }

    fn check_set(&self, key: &str, value: &Value) -> Result<()> {
        check_key(key).map_err(invalid)?;
        let len = serde_json::to_vec(value).map_or(usize::MAX, |j| j.len());
        check_value_size(len).map_err(invalid)?;
        self.reserve(key.len() + len)
    }

    /// This execution's writes to `collection` under `prefix`, after
    /// `after`.
    fn writes_in(
        &self,
        collection: &str,
        prefix: &str,
        after: Option<&str>,
    ) -> BTreeMap<String, Option<Value>> {
        self.writes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|((c, k), _)| {
                c == collection && k.starts_with(prefix) && after.is_none_or(|a| k.as_str() > a)
            })
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect()
    }

    async fn merged_list(
        &self,
        cx: &SdkCallCx,
        collection: &str,
        options: KvListOptions,
    ) -> Result<KvPage> {
        let prefix = options.prefix.clone().unwrap_or_default();
        let limit = options.limit.unwrap_or(DEFAULT_LIST_LIMIT) as usize;
        let resume = match options.cursor.as_deref() {
            Some(c) if c.starts_with(CURSOR_PREFIX) => Some(
                serde_json::from_str::<Resume>(&c[CURSOR_PREFIX.len()..]).map_err(|_| {
                    invalid(
                        "the cursor is not valid: pass back a cursor exactly as list returned it",
                    )
                })?,
            ),
            _ => None,
        };
        let after = resume.as_ref().map(|r| r.after.clone());
        let writes = self.writes_in(collection, &prefix, after.as_deref());
        // None of this execution's writes are in the way: the store's own
        // page (a cursor of the store's passes through).
        if writes.is_empty() && resume.is_none() {
            return self.inner.list(cx, collection, options).await;
        }
        let (mut cursor, mut done) = match resume {
            Some(r) => (r.inner, r.done),
            None => (options.cursor.clone(), false),
        };
        // The store's keys after `after` that no write replaced, with the
        // cursor of the page each came from; until there are more than a
        // page's worth or the store has no more.
        let mut stored: Vec<(KvEntry, Option<String>)> = Vec::new();
        let mut last_fetched: Option<String> = None;
        while !done && stored.len() <= limit {
            let page = self
                .inner
                .list(
                    cx,
                    collection,
                    KvListOptions {
                        cursor: cursor.clone(),
                        limit: Some(limit as u32),
                        prefix: options.prefix.clone(),
                    },
                )
                .await?;
            if let Some(last) = page.items.last() {
                last_fetched = Some(last.key.clone());
            }
            for entry in page.items {
                if after.as_deref().is_none_or(|a| entry.key.as_str() > a)
                    && !writes.contains_key(&entry.key)
                {
                    stored.push((entry, cursor.clone()));
                }
            }
            done = page.cursor.is_none();
            cursor = page.cursor;
        }
        // Written keys count up to the last key read from the store (past
        // it, the store's next keys are not known yet), or all of them once
        // the store has no more.
        let mut merged: Vec<(KvEntry, Option<Option<String>>)> = stored
            .into_iter()
            .map(|(entry, from)| (entry, Some(from)))
            .collect();
        for (key, value) in writes {
            let known = done || last_fetched.as_deref().is_some_and(|l| key.as_str() <= l);
            if let (Some(value), true) = (value, known) {
                merged.push((KvEntry { key, value }, None));
            }
        }
        merged.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        let more = merged.len() > limit || !done;
        // The next page resumes at the page of the first stored key left
        // out; when none was read, at the store's next page.
        let left_out = merged.iter().skip(limit).find_map(|(_, from)| from.clone());
        merged.truncate(limit);
        let next = if more {
            let after = merged
                .last()
                .map(|(entry, _)| entry.key.clone())
                .or(after)
                .unwrap_or_default();
            let resume = match left_out {
                Some(inner) => Resume {
                    inner,
                    after,
                    done: false,
                },
                None => Resume {
                    inner: cursor,
                    after,
                    done,
                },
            };
            let json = serde_json::to_string(&resume).map_err(|e| Error::Backend(e.to_string()))?;
            Some(format!("{CURSOR_PREFIX}{json}"))
        } else {
            None
        };
        Ok(KvPage {
            items: merged.into_iter().map(|(entry, _)| entry).collect(),
            cursor: next,
        })
    }
}

impl KvService for DryRunKv {
    fn get<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<Value>>> {
        Box::pin(async move {
            match self.written(collection, key) {
                Some(value) => Ok(value),
                None => self.inner.get(cx, collection, key).await,
            }
        })
    }

    fn get_now(
        &self,
        cx: &SdkCallCx,
        collection: &str,
        key: &str,
    ) -> Option<Result<Option<Value>>> {
        match self.written(collection, key) {
            Some(value) => Some(Ok(value)),
            None => self.inner.get_now(cx, collection, key),
        }
    }

    fn has_now(&self, cx: &SdkCallCx, collection: &str, key: &str) -> Option<Result<bool>> {
        match self.written(collection, key) {
            Some(value) => Some(Ok(value.is_some())),
            None => self.inner.has_now(cx, collection, key),
        }
    }

    fn set_now(
        &self,
        _cx: &SdkCallCx,
        collection: &str,
        key: &str,
        value: &Value,
        _deadline: std::time::Instant,
    ) -> Option<Result<()>> {
        Some(
            self.check_set(key, value)
                .map(|()| self.write(collection, key, Some(value.clone()))),
        )
    }

    fn delete_now(
        &self,
        cx: &SdkCallCx,
        collection: &str,
        key: &str,
        _deadline: std::time::Instant,
    ) -> Option<Result<bool>> {
        if let Err(e) = self.reserve(key.len()) {
            return Some(Err(e));
        }
        let existed = match self.written(collection, key) {
            Some(value) => Ok(value.is_some()),
            None => self.inner.has_now(cx, collection, key)?,
        };
        Some(existed.inspect(|_| self.write(collection, key, None)))
    }

    fn set<'a>(
        &'a self,
        _cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
        value: Value,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.check_set(key, &value)?;
            self.write(collection, key, Some(value));
            Ok(())
        })
    }

    fn has<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            match self.written(collection, key) {
                Some(value) => Ok(value.is_some()),
                None => self.inner.has(cx, collection, key).await,
            }
        })
    }

    fn delete<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            self.reserve(key.len())?;
            let existed = match self.written(collection, key) {
                Some(value) => value.is_some(),
                None => self.inner.has(cx, collection, key).await?,
            };
            self.write(collection, key, None);
            Ok(existed)
        })
    }

    fn list<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        collection: &'a str,
        options: KvListOptions,
    ) -> BoxFuture<'a, Result<KvPage>> {
        Box::pin(self.merged_list(cx, collection, options))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use picloud_shared::{AppId, ExecutionId, RequestId, ScriptId};

    use super::*;

    /// A store that refuses every call: a dry run's writes never reach it.
    struct Refusing;

    impl KvService for Refusing {
        fn get<'a>(
            &'a self,
            _: &'a SdkCallCx,
            _: &'a str,
            _: &'a str,
        ) -> BoxFuture<'a, Result<Option<Value>>> {
            Box::pin(async { Err(Error::Backend("reached".into())) })
        }
        fn set<'a>(
            &'a self,
            _: &'a SdkCallCx,
            _: &'a str,
            _: &'a str,
            _: Value,
        ) -> BoxFuture<'a, Result<()>> {
            Box::pin(async { Err(Error::Backend("reached".into())) })
        }
        fn has<'a>(
            &'a self,
            _: &'a SdkCallCx,
            _: &'a str,
            _: &'a str,
        ) -> BoxFuture<'a, Result<bool>> {
            Box::pin(async { Err(Error::Backend("reached".into())) })
        }
        fn delete<'a>(
            &'a self,
            _: &'a SdkCallCx,
            _: &'a str,
            _: &'a str,
        ) -> BoxFuture<'a, Result<bool>> {
            Box::pin(async { Err(Error::Backend("reached".into())) })
        }
        fn list<'a>(
            &'a self,
            _: &'a SdkCallCx,
            _: &'a str,
            _: KvListOptions,
        ) -> BoxFuture<'a, Result<KvPage>> {
            Box::pin(async { Err(Error::Backend("reached".into())) })
        }
    }

    #[test]
    fn a_dry_run_holds_a_bounded_amount_of_writes() {
        let kv = DryRunKv::new(Arc::new(Refusing));
        let cx = SdkCallCx {
            app_id: AppId::new(),
            script_id: ScriptId::new(),
            execution_id: ExecutionId::new(),
            request_id: RequestId::new(),
            depth: 0,
            grant: None,
        };
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        // Just under 1 MiB as JSON; the same value written again still counts.
        let big = Value::String("x".repeat((1 << 20) - 16));
        let per_write = serde_json::to_vec(&big).unwrap().len() + "k".len();
        let fits = MAX_DRY_RUN_BYTES / per_write;
        for _ in 0..fits {
            let answer = kv.set_now(&cx, "c", "k", &big, deadline).unwrap();
            assert!(answer.is_ok(), "{answer:?}");
        }
        let over = kv.set_now(&cx, "c", "k", &big, deadline).unwrap();
        match over {
            Err(Error::Invalid(message)) => assert!(message.contains("64 MiB"), "{message}"),
            other => panic!("not refused: {other:?}"),
        }
        // What was written reads back, from the overlay alone.
        assert_eq!(kv.get_now(&cx, "c", "k").unwrap().unwrap(), Some(big));
    }
}
