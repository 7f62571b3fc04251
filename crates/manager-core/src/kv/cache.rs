//! SQLite: the values scripts read and write most, kept in memory, so a
//! `get` of a recent key answers without a read transaction.
//!
//! A read transaction on the file costs more than the lookup in it: the
//! shared lock on the WAL index (an `fcntl` each), the WAL header check,
//! and, after any commit by the writer, the connection's page cache read
//! again (docs/performance.md). This cache holds each key's stored JSON, or
//! the fact that the key is absent.
//!
//! It is exact, not eventual, because one process owns an SQLite file (the
//! lock file, `db.rs`) and every write to its `kv` table in that process
//! goes through the writer:
//!
//! - inside its transaction, before the commit, a KV write marks its key
//!   pending ([`KvCache::writing`]): a pending key is read from the file,
//!   and nothing fills it;
//! - after the commit the writer reports the write, in commit order and
//!   before the write is answered ([`KvCache::wrote`]): once a `set`
//!   returns, every read sees it; a transaction that fails takes its marks
//!   back ([`KvCache::aborted`]);
//! - a read that missed fills the cache only if nothing was marked or
//!   reported between its lookup and its fill (the `epoch`), so a value
//!   read from the file just before a commit is never put back after it;
//! - the one other way rows leave the table, an app's deletion (foreign
//!   keys cascade), drops the app's entries ([`KvCache::forget_app`]).
//!
//! So a value the cache holds is the file's last committed value of its
//! key, with no commit of that key under way: reading the cache is reading
//! the file at that moment, and a script never sees a key go back (a key
//! reported only after its commit could: a read that missed the cache
//! could find the new value in the file, and the next one the old value
//! still cached).
//!
//! Bounded: entries up to [`MAX_ENTRY_BYTES`] of JSON, and at most
//! [`BUDGET_BYTES`] in all, counted as key, collection and JSON lengths
//! plus a fixed overhead; when full it is emptied (but for pending marks)
//! and fills again with what is read next (no recency bookkeeping on the
//! hot path). Empty at start, and never touched by a timer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use picloud_shared::AppId;

/// The largest value (as JSON) kept: a larger one is read from the file.
pub(crate) const MAX_ENTRY_BYTES: usize = 16 << 10;

/// The most the cache holds, by its own count ([`weight`]).
pub(crate) const BUDGET_BYTES: usize = 8 << 20;

/// What the cache knows of a key: its stored JSON, or `None` when absent.
pub(crate) type Known = Option<Arc<str>>;

/// A key's entry.
#[derive(Clone)]
enum Entry {
    Known(Known),
    /// A write of it is in a transaction not committed yet.
    Pending,
}

/// See the module's documentation.
#[derive(Default)]
pub(crate) struct KvCache(Mutex<Inner>);

#[derive(Default)]
struct Inner {
    /// Counts the writes marked and reported (and apps forgotten, and
    /// clears): a read fills only when none came since its lookup.
    epoch: u64,
    /// The entries' [`weight`]s.
    bytes: usize,
    /// App → collection → key → what is known.
    apps: HashMap<AppId, HashMap<String, HashMap<String, Entry>>>,
}

/// A lookup that found nothing: fill with what the file says, then.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Miss {
    epoch: u64,
}

/// An entry's share of the budget: its strings and a fixed overhead for
/// the maps' nodes.
fn weight(collection: &str, key: &str, entry: &Entry) -> usize {
    let json = match entry {
        Entry::Known(Some(json)) => json.len(),
        Entry::Known(None) | Entry::Pending => 0,
    };
    collection.len() + key.len() + json + 96
}

impl KvCache {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What is known of `key`, or the [`Miss`] to fill it with.
    pub(crate) fn get(&self, app: AppId, collection: &str, key: &str) -> Result<Known, Miss> {
        let inner = self.inner();
        match inner.entry(app, collection, key) {
            Some(Entry::Known(known)) => Ok(known.clone()),
            Some(Entry::Pending) | None => Err(Miss { epoch: inner.epoch }),
        }
    }

    /// Keeps what the file said after `miss`, unless a write came since
    /// (a key still pending had its mark's epoch before the lookup).
    pub(crate) fn fill(&self, miss: Miss, app: AppId, collection: &str, key: &str, known: Known) {
        let mut inner = self.inner();
        if inner.epoch == miss.epoch && !inner.pending(app, collection, key) {
            inner.put(app, collection, key, Entry::Known(known));
        }
    }

    /// A write to `key` is in a transaction, not committed yet: from now
    /// until it is reported, the key is read from the file.
    pub(crate) fn writing(&self, app: AppId, collection: &str, key: &str) {
        let mut inner = self.inner();
        inner.epoch += 1;
        inner.put(app, collection, key, Entry::Pending);
    }

    /// A write to `key`, committed: its JSON (`None` for a delete). Called
    /// by the writer in commit order, before the write is answered.
    pub(crate) fn wrote(&self, app: AppId, collection: &str, key: &str, json: Option<&str>) {
        let mut inner = self.inner();
        inner.epoch += 1;
        match json {
            Some(json) if json.len() > MAX_ENTRY_BYTES => inner.remove(app, collection, key),
            json => inner.put(app, collection, key, Entry::Known(json.map(Arc::from))),
        }
    }

    /// A write to `key` marked [`writing`](Self::writing) was rolled back.
    pub(crate) fn aborted(&self, app: AppId, collection: &str, key: &str) {
        let mut inner = self.inner();
        inner.epoch += 1;
        inner.remove(app, collection, key);
    }

    /// An app was deleted, with its keys.
    pub(crate) fn forget_app(&self, app: AppId) {
        let mut inner = self.inner();
        inner.epoch += 1;
        if let Some(collections) = inner.apps.remove(&app) {
            let freed: usize = collections
                .iter()
                .flat_map(|(c, keys)| keys.iter().map(move |(k, v)| weight(c, k, v)))
                .sum();
            inner.bytes -= freed;
        }
    }

    /// The cache's own count of what it holds.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.inner().bytes
    }
}

impl Inner {
    fn entry(&self, app: AppId, collection: &str, key: &str) -> Option<&Entry> {
        self.apps.get(&app)?.get(collection)?.get(key)
    }

    fn pending(&self, app: AppId, collection: &str, key: &str) -> bool {
        matches!(self.entry(app, collection, key), Some(Entry::Pending))
    }

    fn put(&mut self, app: AppId, collection: &str, key: &str, entry: Entry) {
        if matches!(&entry, Entry::Known(Some(json)) if json.len() > MAX_ENTRY_BYTES) {
            return;
        }
        let added = weight(collection, key, &entry);
        if self.bytes + added > BUDGET_BYTES {
            self.clear();
        }
        let keys = self
            .apps
            .entry(app)
            .or_default()
            .entry(collection.to_owned())
            .or_default();
        let replaced = keys.insert(key.to_owned(), entry);
        if let Some(old) = replaced {
            self.bytes -= weight(collection, key, &old);
        }
        self.bytes += added;
    }

    /// Empties the cache but for the pending marks (a write under way).
    fn clear(&mut self) {
        self.epoch += 1;
        let mut bytes = 0;
        self.apps.retain(|_, collections| {
            collections.retain(|c, keys| {
                keys.retain(|k, e| {
                    let keep = matches!(e, Entry::Pending);
                    if keep {
                        bytes += weight(c, k, e);
                    }
                    keep
                });
                !keys.is_empty()
            });
            !collections.is_empty()
        });
        if self.apps.is_empty() {
            // Give the tables' memory back.
            self.apps = HashMap::new();
        }
        self.bytes = bytes;
    }

    fn remove(&mut self, app: AppId, collection: &str, key: &str) {
        let removed = self
            .apps
            .get_mut(&app)
            .and_then(|c| c.get_mut(collection))
            .and_then(|k| k.remove(key));
        if let Some(old) = removed {
            self.bytes -= weight(collection, key, &old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(n: u128) -> AppId {
        AppId(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn a_fill_after_a_write_is_dropped() {
        let cache = KvCache::default();
        let miss = cache.get(app(1), "c", "k").unwrap_err();
        // The writer commits and reports before the reader's fill: the
        // value the reader read from the file may be the old one.
        cache.wrote(app(1), "c", "k", Some("2"));
        cache.fill(miss, app(1), "c", "k", Some(Arc::from("1")));
        assert_eq!(cache.get(app(1), "c", "k").unwrap().as_deref(), Some("2"));
        // A fill with no write since its lookup is kept, absence included.
        let miss = cache.get(app(1), "c", "gone").unwrap_err();
        cache.fill(miss, app(1), "c", "gone", None);
        assert_eq!(cache.get(app(1), "c", "gone").unwrap(), None);
    }

    #[test]
    fn a_pending_key_is_read_from_the_file_and_never_filled() {
        let cache = KvCache::default();
        cache.wrote(app(1), "c", "k", Some("1"));
        // A reader that missed earlier finds 2 in the file once committed:
        // the cache must not answer 1 after that.
        cache.writing(app(1), "c", "k");
        let miss = cache.get(app(1), "c", "k").unwrap_err();
        cache.fill(miss, app(1), "c", "k", Some(Arc::from("1")));
        assert!(cache.get(app(1), "c", "k").is_err());
        cache.wrote(app(1), "c", "k", Some("2"));
        assert_eq!(cache.get(app(1), "c", "k").unwrap().as_deref(), Some("2"));
        // A rolled-back write takes its mark back; the key fills again.
        cache.writing(app(1), "c", "k");
        cache.aborted(app(1), "c", "k");
        let miss = cache.get(app(1), "c", "k").unwrap_err();
        cache.fill(miss, app(1), "c", "k", Some(Arc::from("2")));
        assert_eq!(cache.get(app(1), "c", "k").unwrap().as_deref(), Some("2"));
    }

    #[test]
    fn emptying_a_full_cache_keeps_the_pending_marks() {
        let cache = KvCache::default();
        cache.writing(app(1), "c", "pending");
        let value = "v".repeat(MAX_ENTRY_BYTES);
        for i in 0..(2 * BUDGET_BYTES / MAX_ENTRY_BYTES) {
            cache.wrote(app(1), "c", &format!("k{i}"), Some(&value));
        }
        let miss = cache.get(app(1), "c", "pending").unwrap_err();
        cache.fill(miss, app(1), "c", "pending", Some(Arc::from("old")));
        assert!(cache.get(app(1), "c", "pending").is_err());
        cache.wrote(app(1), "c", "pending", Some("new"));
        assert_eq!(
            cache.get(app(1), "c", "pending").unwrap().as_deref(),
            Some("new")
        );
    }

    #[test]
    fn writes_and_deletes_replace_what_is_known() {
        let cache = KvCache::default();
        cache.wrote(app(1), "c", "k", Some("1"));
        cache.wrote(app(2), "c", "k", Some("other app"));
        cache.wrote(app(1), "c", "k", None);
        assert_eq!(cache.get(app(1), "c", "k").unwrap(), None);
        assert_eq!(
            cache.get(app(2), "c", "k").unwrap().as_deref(),
            Some("other app")
        );
        assert!(cache.get(app(1), "other", "k").is_err());
    }

    #[test]
    fn forgetting_an_app_drops_its_keys_only_and_their_weight() {
        let cache = KvCache::default();
        cache.wrote(app(1), "c", "k", Some("1"));
        cache.wrote(app(2), "c", "k", Some("2"));
        let one = cache.bytes() / 2;
        let miss = cache.get(app(1), "c", "k2").unwrap_err();
        cache.forget_app(app(1));
        // A read that began before the deletion does not bring a key back.
        cache.fill(miss, app(1), "c", "k2", Some(Arc::from("stale")));
        assert!(cache.get(app(1), "c", "k").is_err());
        assert!(cache.get(app(1), "c", "k2").is_err());
        assert_eq!(cache.get(app(2), "c", "k").unwrap().as_deref(), Some("2"));
        assert_eq!(cache.bytes(), one);
    }

    #[test]
    fn large_values_are_not_kept_and_the_budget_holds() {
        let cache = KvCache::default();
        cache.wrote(app(1), "c", "big", Some("1"));
        let big = "x".repeat(MAX_ENTRY_BYTES + 1);
        // A large value replaces a small one: the small one must go.
        cache.wrote(app(1), "c", "big", Some(&big));
        assert!(cache.get(app(1), "c", "big").is_err());
        let value = "v".repeat(MAX_ENTRY_BYTES);
        for i in 0..(2 * BUDGET_BYTES / MAX_ENTRY_BYTES) {
            cache.wrote(app(1), "c", &format!("k{i}"), Some(&value));
            assert!(cache.bytes() <= BUDGET_BYTES, "{}", cache.bytes());
        }
        let last = format!("k{}", 2 * BUDGET_BYTES / MAX_ENTRY_BYTES - 1);
        assert!(cache.get(app(1), "c", &last).is_ok());
    }
}
