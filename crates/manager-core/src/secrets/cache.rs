//! SQLite: the secrets scripts read, kept in memory, so `secrets::get`
//! answers on the script's thread instead of querying the file through the
//! pool and decrypting at every call (a script that reads one secret per
//! request ran at a third of the hello-world's rate; docs/performance.md,
//! 2026-12-06 "secrets read from memory").
//!
//! It is exact, as the KV cache is (kv/cache.rs), because one process owns
//! an SQLite file (the lock file, `db.rs`) and in that process the
//! `secrets` table changes in three ways only:
//!
//! - a value set or deleted through [`SecretStore`](super::SecretStore):
//!   the name is marked pending before the statement
//!   ([`SecretCache::writing`]; a pending name is read from the file, and
//!   nothing fills it) and told after it, committed or not, before the
//!   caller is answered ([`SecretCache::changed`]); the statement and the
//!   telling run as one task, so an admin whose connection closes
//!   mid-request cannot leave a mark or a committed change untold;
//! - an app's deletion, which cascades to its secrets
//!   ([`SecretCache::forget_app`]);
//! - re-keying seals the same values again, and runs with the server
//!   stopped (it takes the lock file).
//!
//! A read that missed fills the cache only if nothing was marked or told
//! between its lookup and its fill (the `epoch`). So a value read from the
//! file before a commit is never put in after it, even while another
//! reader already read the new value from the file; no script sees a value
//! go back, and once a `PUT` or `DELETE` of a secret is answered, every
//! script reads the new value.
//!
//! Bounded: at most [`BUDGET_BYTES`], counted as name and value lengths
//! plus a fixed overhead; when full it is emptied (but for pending marks)
//! and fills again with what is read next. Empty at start, and never
//! touched by a timer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use picloud_shared::AppId;

/// The most the cache holds, by its own count ([`weight`]).
pub(crate) const BUDGET_BYTES: usize = 1 << 20;

/// What the cache knows of a name: its value, or `None` when it is unset.
pub(crate) type Known = Option<Arc<str>>;

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    Hit(Known),
    /// Fill with what the file says, then ([`SecretCache::fill`]).
    Miss(u64),
}

/// A name's entry.
#[derive(Clone, Debug)]
enum Entry {
    Known(Known),
    /// This many writes of it are under way (between
    /// [`SecretCache::writing`] and [`SecretCache::changed`]): read from
    /// the file, and nothing fills it.
    Pending(u32),
}

/// See the module's documentation.
#[derive(Default)]
pub(crate) struct SecretCache(Mutex<Inner>);

#[derive(Default)]
struct Inner {
    /// Moves at every write begun and told, every app forgotten and every
    /// clear: a read fills only when it has not moved since its lookup.
    epoch: u64,
    /// The known entries' [`weight`]s (pending marks are as many as the
    /// writes under way, and not counted).
    bytes: usize,
    /// App → name → what is known.
    apps: HashMap<AppId, HashMap<String, Entry>>,
}

/// An entry's count against the budget.
fn weight(name: &str, entry: &Entry) -> usize {
    match entry {
        Entry::Known(known) => 64 + name.len() + known.as_ref().map_or(0, |v| v.len()),
        Entry::Pending(_) => 0,
    }
}

impl SecretCache {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn lookup(&self, app: AppId, name: &str) -> Lookup {
        let inner = self.inner();
        match inner.apps.get(&app).and_then(|names| names.get(name)) {
            Some(Entry::Known(known)) => Lookup::Hit(known.clone()),
            Some(Entry::Pending(_)) | None => Lookup::Miss(inner.epoch),
        }
    }

    /// What the file said after a lookup that missed at `epoch`: kept
    /// unless something changed since (then a write began or was told, and
    /// the value read may be older than one a reader has seen).
    pub(crate) fn fill(&self, epoch: u64, app: AppId, name: &str, known: Known) {
        let mut inner = self.inner();
        if inner.epoch != epoch {
            return;
        }
        let entry = Entry::Known(known);
        let weight = weight(name, &entry);
        if weight > BUDGET_BYTES {
            return;
        }
        if inner.bytes + weight > BUDGET_BYTES {
            // Emptied but for the pending marks.
            for names in inner.apps.values_mut() {
                names.retain(|_, e| matches!(e, Entry::Pending(_)));
            }
            inner.apps.retain(|_, names| !names.is_empty());
            inner.bytes = 0;
            inner.epoch += 1;
        }
        let names = inner.apps.entry(app).or_default();
        if matches!(names.get(name), Some(Entry::Pending(_))) {
            return;
        }
        let old = names.insert(name.to_owned(), entry);
        let old = old.map_or(0, |old| self::weight(name, &old));
        inner.bytes = inner.bytes + weight - old;
    }

    /// A write of `name` in `app` begins (before its statement): until it
    /// is told ([`changed`](Self::changed)), the name is read from the
    /// file and nothing fills it.
    pub(crate) fn writing(&self, app: AppId, name: &str) {
        let mut inner = self.inner();
        inner.epoch += 1;
        let names = inner.apps.entry(app).or_default();
        let freed = match names.get_mut(name) {
            Some(Entry::Pending(n)) => {
                *n += 1;
                0
            }
            Some(known) => weight(name, &std::mem::replace(known, Entry::Pending(1))),
            None => {
                names.insert(name.to_owned(), Entry::Pending(1));
                0
            }
        };
        inner.bytes -= freed;
    }

    /// A write begun with [`writing`](Self::writing) ended (committed or
    /// not).
    pub(crate) fn changed(&self, app: AppId, name: &str) {
        let mut inner = self.inner();
        inner.epoch += 1;
        let Some(names) = inner.apps.get_mut(&app) else {
            return;
        };
        match names.get_mut(name) {
            Some(Entry::Pending(n)) if *n > 1 => *n -= 1,
            Some(Entry::Pending(_)) => {
                names.remove(name);
                if names.is_empty() {
                    inner.apps.remove(&app);
                }
            }
            // Not marked: a `changed` without its `writing` (marks outlive
            // an app's forgetting and the budget's clears).
            _ => {}
        }
    }

    /// `app` was deleted, its secrets with it.
    pub(crate) fn forget_app(&self, app: AppId) {
        let mut inner = self.inner();
        inner.epoch += 1;
        if let Some(names) = inner.apps.get_mut(&app) {
            let freed: usize = names.iter().map(|(n, e)| weight(n, e)).sum();
            // Writes under way keep their marks until they are told.
            names.retain(|_, e| matches!(e, Entry::Pending(_)));
            if names.is_empty() {
                inner.apps.remove(&app);
            }
            inner.bytes -= freed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(n: u128) -> AppId {
        AppId(uuid::Uuid::from_u128(n))
    }

    fn hit(cache: &SecretCache, app: AppId, name: &str) -> Option<Known> {
        match cache.lookup(app, name) {
            Lookup::Hit(known) => Some(known),
            Lookup::Miss(_) => None,
        }
    }

    fn miss(cache: &SecretCache, app: AppId, name: &str) -> u64 {
        match cache.lookup(app, name) {
            Lookup::Miss(epoch) => epoch,
            Lookup::Hit(known) => panic!("{name}: a hit, {known:?}"),
        }
    }

    #[test]
    fn it_keeps_what_the_file_said_per_app() {
        let cache = SecretCache::default();
        let epoch = miss(&cache, app(1), "K");
        cache.fill(epoch, app(1), "K", Some("one".into()));
        let epoch = miss(&cache, app(1), "UNSET");
        cache.fill(epoch, app(1), "UNSET", None);
        assert_eq!(hit(&cache, app(1), "K"), Some(Some("one".into())));
        assert_eq!(hit(&cache, app(1), "UNSET"), Some(None));
        // Another app's secret of the same name is its own.
        miss(&cache, app(2), "K");
    }

    #[test]
    fn a_read_from_before_a_change_is_not_put_back() {
        let cache = SecretCache::default();
        let before = miss(&cache, app(1), "K");
        // Set meanwhile (begun, committed, then told).
        cache.writing(app(1), "K");
        cache.fill(before, app(1), "K", Some("old".into()));
        miss(&cache, app(1), "K");
        // A read while the write is under way (it may read the old value
        // or the new one) does not fill either.
        let during = miss(&cache, app(1), "K");
        cache.fill(during, app(1), "K", Some("old".into()));
        let during = miss(&cache, app(1), "K");
        cache.changed(app(1), "K");
        cache.fill(during, app(1), "K", Some("new".into()));
        miss(&cache, app(1), "K");
        // Two writes at once: pending until both are told.
        cache.writing(app(1), "K");
        cache.writing(app(1), "K");
        cache.changed(app(1), "K");
        let epoch = miss(&cache, app(1), "K");
        cache.fill(epoch, app(1), "K", Some("newer".into()));
        miss(&cache, app(1), "K");
        cache.changed(app(1), "K");
        let epoch = miss(&cache, app(1), "K");
        cache.fill(epoch, app(1), "K", Some("newest".into()));
        assert_eq!(hit(&cache, app(1), "K"), Some(Some("newest".into())));
        // Deleting an app also moves the epoch.
        let before = miss(&cache, app(1), "L");
        cache.forget_app(app(3));
        cache.fill(before, app(1), "L", Some("old".into()));
        miss(&cache, app(1), "L");
    }

    #[test]
    fn changes_and_deleted_apps_drop_their_entries() {
        let cache = SecretCache::default();
        for (a, name) in [(1, "A"), (1, "B"), (2, "A")] {
            let epoch = miss(&cache, app(a), name);
            cache.fill(epoch, app(a), name, Some("v".into()));
        }
        cache.writing(app(1), "A");
        miss(&cache, app(1), "A");
        cache.changed(app(1), "A");
        miss(&cache, app(1), "A");
        assert!(hit(&cache, app(1), "B").is_some());
        cache.forget_app(app(1));
        miss(&cache, app(1), "B");
        assert!(hit(&cache, app(2), "A").is_some());
        assert_eq!(
            cache.inner().bytes,
            weight("A", &Entry::Known(Some("v".into())))
        );
        // A write told for an app with nothing else cached leaves no map.
        cache.writing(app(3), "C");
        cache.changed(app(3), "C");
        assert_eq!(cache.inner().apps.len(), 1, "only app 2's entries");
    }

    #[test]
    fn it_stays_within_its_budget() {
        let cache = SecretCache::default();
        let value: Arc<str> = "x".repeat(60 << 10).into();
        cache.writing(app(2), "P");
        for n in 0..100 {
            let name = format!("K{n}");
            let epoch = miss(&cache, app(1), &name);
            cache.fill(epoch, app(1), &name, Some(value.clone()));
            let inner = cache.inner();
            assert!(inner.bytes <= BUDGET_BYTES, "{} bytes", inner.bytes);
            let counted: usize = inner
                .apps
                .values()
                .flatten()
                .map(|(n, k)| weight(n, k))
                .sum();
            assert_eq!(inner.bytes, counted);
        }
        // The newest is there; the first went when it filled up.
        assert!(hit(&cache, app(1), "K99").is_some());
        miss(&cache, app(1), "K0");
        // The write under way kept its mark through every clear.
        let epoch = miss(&cache, app(2), "P");
        cache.fill(epoch, app(2), "P", Some("maybe stale".into()));
        miss(&cache, app(2), "P");
    }
}
