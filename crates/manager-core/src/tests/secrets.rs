//! The secret store as scripts reach it (`SecretService`): on SQLite its
//! values are cached in memory (secrets/cache.rs), and a script never reads
//! a value older than the last one set, once setting it has answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::common::cx;
use crate::repo::DEFAULT_APP_ID;
use crate::secrets::{SecretKey, SecretStore};
use crate::testing::fresh_postgres_url;
use crate::{Db, DbTarget};
use picloud_shared::SdkCallCx;
use picloud_shared::secrets::SecretService;

/// A store on a fresh SQLite file in `dir`.
async fn sqlite_store(dir: &tempfile::TempDir) -> Arc<SecretStore> {
    let db = Db::connect(&DbTarget::Sqlite(dir.path().join("t.db")))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    SecretStore::new(db, Some(SecretKey::generate()))
}

/// What a script reads: the answer from memory, else `get`'s.
async fn read(store: &SecretStore, cx: &SdkCallCx, name: &str) -> Option<String> {
    match store.get_now(cx, name) {
        Some(answer) => answer.unwrap(),
        None => store.get(cx, name).await.unwrap(),
    }
}

/// `get_now` answers only what `get` would, and only on SQLite (after a
/// `get` filled the cache); every change is seen by the next read.
async fn reads_on_the_calling_thread_answer_as_get(db: Db) {
    let sqlite = matches!(db, Db::Sqlite(..));
    let store = SecretStore::new(db, Some(SecretKey::generate()));
    let mine = cx(DEFAULT_APP_ID);
    assert!(store.get_now(&mine, "K").is_none(), "nothing read yet");
    assert_eq!(store.get(&mine, "K").await.unwrap(), None);
    let now = |store: &SecretStore| store.get_now(&mine, "K").map(|a| a.unwrap());
    assert_eq!(now(&store), sqlite.then_some(None), "unset, cached as such");
    store.put(DEFAULT_APP_ID, "K", "one", "t").await.unwrap();
    assert_eq!(now(&store), None, "a change drops the entry");
    assert_eq!(store.get(&mine, "K").await.unwrap().as_deref(), Some("one"));
    assert_eq!(now(&store), sqlite.then(|| Some("one".to_owned())));
    store.put(DEFAULT_APP_ID, "K", "two", "t").await.unwrap();
    assert_eq!(store.get(&mine, "K").await.unwrap().as_deref(), Some("two"));
    assert!(store.remove(DEFAULT_APP_ID, "K").await.unwrap());
    assert_eq!(store.get(&mine, "K").await.unwrap(), None);
    assert_eq!(now(&store), sqlite.then_some(None));
    // A malformed name is refused by `get`, never answered from memory.
    assert!(store.get(&mine, "not a name").await.is_err());
    assert!(store.get_now(&mine, "not a name").is_none());
}
both_backends!(reads_now, reads_on_the_calling_thread_answer_as_get);

/// Readers on their own threads (the cache first, `get` when it misses)
/// while values are set and deleted: no reader ever sees a value go back,
/// and once a `put` or `remove` has answered, the next read sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_reads_never_go_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let mine = cx(DEFAULT_APP_ID);
    const WRITES: u64 = 200;
    let done = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Handle::current();
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (store, done, runtime) = (Arc::clone(&store), Arc::clone(&done), runtime.clone());
            let cx = mine.clone();
            std::thread::spawn(move || {
                let (mut last, mut reads) = (0, 0u64);
                while !done.load(Ordering::Acquire) {
                    // Deleted between two sets: unset reads as the last seen.
                    let seen = runtime.block_on(read(&store, &cx, "COUNTER"));
                    if let Some(n) = seen.map(|v| v.parse::<u64>().unwrap()) {
                        assert!(n >= last, "read {n} after {last}");
                        last = n;
                    }
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for n in 1..=WRITES {
        store
            .put(DEFAULT_APP_ID, "COUNTER", &n.to_string(), "t")
            .await
            .unwrap();
        let seen = read(&store, &mine, "COUNTER").await;
        assert_eq!(seen, Some(n.to_string()), "the value just set");
        if n % 10 == 0 {
            assert!(store.remove(DEFAULT_APP_ID, "COUNTER").await.unwrap());
            assert_eq!(store.get(&mine, "COUNTER").await.unwrap(), None);
        }
    }
    done.store(true, Ordering::Release);
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
    }
}

/// A `put` whose caller goes away (its future dropped after its first
/// poll, as when an admin's connection closes mid-request) still tells the
/// cache once it commits: scripts read the new value, not the cached one.
#[tokio::test]
async fn a_change_whose_caller_goes_away_is_still_seen() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    let mine = cx(DEFAULT_APP_ID);
    for (name, was) in [("SET", Some("old")), ("UNSET", None)] {
        if let Some(was) = was {
            store.put(DEFAULT_APP_ID, name, was, "t").await.unwrap();
        }
        assert_eq!(store.get(&mine, name).await.unwrap().as_deref(), was);
        let cached = store.get_now(&mine, name).map(|a| a.unwrap());
        assert_eq!(cached, Some(was.map(str::to_owned)), "cached");
        // Polled exactly once, then dropped (at the end of the block).
        let first = {
            let mut put = std::pin::pin!(store.put(DEFAULT_APP_ID, name, "new", "t"));
            std::future::poll_fn(|cx| std::task::Poll::Ready(put.as_mut().poll(cx))).await
        };
        assert!(
            first.is_pending(),
            "the put was still under way when dropped: {first:?}"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = read(&store, &mine, name).await;
            if now.as_deref() == Some("new") {
                break;
            }
            assert!(Instant::now() < deadline, "{name}: still {now:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
