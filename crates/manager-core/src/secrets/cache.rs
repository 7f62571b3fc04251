//! SQLite: the secrets scripts read, kept in memory, so `secrets::get`
//! answers on the script's thread instead of querying the file through the
//! pool and decrypting at every call (a script that reads one secret per
//! request ran at a third of the hello-world's rate; docs/performance.md,
//! 2026-12-06 "secrets read from memory").
//!
//! It is exact, as the KV cache is (kv/cache.rs), because one process owns
//! an SQLite file (the lock file, `db.rs`) and in that process the
//! `secrets` table changes in three ways only, each of which tells the
//! cache after its commit and before it is answered:
//!
//! - a value set or deleted through [`SecretStore`](super::SecretStore)
//!   ([`SecretCache::changed`]; the statements and the telling run as one
//!   task, so an admin whose connection closes mid-request cannot leave a
//!   committed change untold);
//! - an app's deletion, which cascades to its secrets
//!   ([`SecretCache::forget_app`]);
//! - re-keying seals the same values again, and runs with the server
//!   stopped (it takes the lock file).
//!
//! A read that missed fills the cache only if nothing was told between its
//! lookup and its fill (the `epoch`), so a value read just before a commit
//! is never put back after it: once a `PUT` or `DELETE` of a secret is
//! answered, every script reads the new value.
//!
//! Bounded: at most [`BUDGET_BYTES`], counted as name and value lengths
//! plus a fixed overhead; when full it is emptied and fills again with what
//! is read next. Empty at start, and never touched by a timer.

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

/// See the module's documentation.
#[derive(Default)]
pub(crate) struct SecretCache(Mutex<Inner>);

#[derive(Default)]
struct Inner {
    /// Moves at every change told and every clear: a read fills only when
    /// it has not moved since its lookup.
    epoch: u64,
    /// The entries' [`weight`]s.
    bytes: usize,
    /// App → name → what is known.
    apps: HashMap<AppId, HashMap<String, Known>>,
}

/// An entry's count against the budget.
fn weight(name: &str, known: &Known) -> usize {
    64 + name.len() + known.as_ref().map_or(0, |v| v.len())
}

impl SecretCache {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn lookup(&self, app: AppId, name: &str) -> Lookup {
        let inner = self.inner();
        match inner.apps.get(&app).and_then(|names| names.get(name)) {
            Some(known) => Lookup::Hit(known.clone()),
            None => Lookup::Miss(inner.epoch),
        }
    }

    /// What the file said after a lookup that missed at `epoch`: kept
    /// unless something changed since.
    pub(crate) fn fill(&self, epoch: u64, app: AppId, name: &str, known: Known) {
        let mut inner = self.inner();
        if inner.epoch != epoch {
            return;
        }
        let weight = weight(name, &known);
        if weight > BUDGET_BYTES {
            return;
        }
        if inner.bytes + weight > BUDGET_BYTES {
            inner.apps.clear();
            inner.bytes = 0;
            inner.epoch += 1;
        }
        let names = inner.apps.entry(app).or_default();
        let old = names.insert(name.to_owned(), known);
        let old = old.map_or(0, |old| self::weight(name, &old));
        inner.bytes = inner.bytes + weight - old;
    }

    /// `name` of `app` was set or deleted (committed).
    pub(crate) fn changed(&self, app: AppId, name: &str) {
        let mut inner = self.inner();
        inner.epoch += 1;
        let removed = inner
            .apps
            .get_mut(&app)
            .and_then(|names| names.remove(name));
        if let Some(known) = removed {
            inner.bytes -= weight(name, &known);
        }
    }

    /// `app` was deleted, its secrets with it.
    pub(crate) fn forget_app(&self, app: AppId) {
        let mut inner = self.inner();
        inner.epoch += 1;
        if let Some(names) = inner.apps.remove(&app) {
            let freed: usize = names.iter().map(|(n, k)| weight(n, k)).sum();
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
        // Set meanwhile (committed, then told).
        cache.changed(app(1), "K");
        cache.fill(before, app(1), "K", Some("old".into()));
        miss(&cache, app(1), "K");
        // Deleting an app also moves the epoch.
        let before = miss(&cache, app(1), "K");
        cache.forget_app(app(3));
        cache.fill(before, app(1), "K", Some("old".into()));
        miss(&cache, app(1), "K");
    }

    #[test]
    fn changes_and_deleted_apps_drop_their_entries() {
        let cache = SecretCache::default();
        for (a, name) in [(1, "A"), (1, "B"), (2, "A")] {
            let epoch = miss(&cache, app(a), name);
            cache.fill(epoch, app(a), name, Some("v".into()));
        }
        cache.changed(app(1), "A");
        miss(&cache, app(1), "A");
        assert!(hit(&cache, app(1), "B").is_some());
        cache.forget_app(app(1));
        miss(&cache, app(1), "B");
        assert!(hit(&cache, app(2), "A").is_some());
        assert_eq!(cache.inner().bytes, weight("A", &Some("v".into())));
    }

    #[test]
    fn it_stays_within_its_budget() {
        let cache = SecretCache::default();
        let value: Arc<str> = "x".repeat(60 << 10).into();
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
    }
}
