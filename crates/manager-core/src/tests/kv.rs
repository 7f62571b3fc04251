//! The KV store suite, one body run on SQLite and on PostgreSQL: what
//! scripts see through `KvService`, held to contract.md's KV rules.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::common::cx;
use crate::repo::{App, DEFAULT_APP_ID, now};
use crate::testing::fresh_postgres_url;
use crate::{Db, DbTarget, KvStore};
use picloud_shared::kv::{KvListOptions, KvService, MAX_VALUE_BYTES, SdkCallCx};
use picloud_shared::{AppId, Error};
use serde_json::{Value, json};

async fn app(db: &Db, name: &str) -> AppId {
    db.insert_app(&App {
        id: AppId::new(),
        name: name.into(),
        description: String::new(),
        created_at: now(),
        record_requests: Default::default(),
        redact_headers: Vec::new(),
    })
    .await
    .unwrap()
    .id
}

fn invalid(e: Error) -> String {
    match e {
        Error::Invalid(message) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn opts(cursor: Option<&str>, limit: Option<u32>, prefix: Option<&str>) -> KvListOptions {
    KvListOptions {
        cursor: cursor.map(str::to_owned),
        limit,
        prefix: prefix.map(str::to_owned),
    }
}

async fn set_get_has_delete_with_json_fidelity(db: Db) {
    let kv = KvStore::open(db, Default::default()).await.unwrap();
    let cx = cx(DEFAULT_APP_ID);
    let value = json!({"int": 1, "float": 1.5, "whole": 2.0, "null": null, "s": "é",
                       "nested": [1, [2, {"deep": true}]], "big": -9007199254740993i64});
    assert_eq!(kv.get(&cx, "c", "k").await.unwrap(), None);
    assert!(!kv.has(&cx, "c", "k").await.unwrap());
    kv.set(&cx, "c", "k", value.clone()).await.unwrap();
    let back = kv.get(&cx, "c", "k").await.unwrap().unwrap();
    assert_eq!(back, value);
    assert!(back["int"].is_i64() && back["whole"].is_f64() && back["big"].is_i64());
    assert!(kv.has(&cx, "c", "k").await.unwrap());
    // Replace, with a scalar.
    kv.set(&cx, "c", "k", json!(null)).await.unwrap();
    assert_eq!(kv.get(&cx, "c", "k").await.unwrap(), Some(Value::Null));
    assert!(kv.delete(&cx, "c", "k").await.unwrap());
    assert!(!kv.delete(&cx, "c", "k").await.unwrap());
    assert_eq!(kv.get(&cx, "c", "k").await.unwrap(), None);
}
both_backends!(basics, set_get_has_delete_with_json_fidelity);

async fn bad_input_is_refused_and_changes_nothing(db: Db) {
    let kv = KvStore::open(db, Default::default()).await.unwrap();
    let cx = cx(DEFAULT_APP_ID);
    for name in ["", "a/b", "spaces here", "ünï", &"c".repeat(65)] {
        let e = invalid(kv.set(&cx, name, "k", json!(1)).await.unwrap_err());
        assert!(e.contains("collection name"), "{e}");
        invalid(kv.get(&cx, name, "k").await.unwrap_err());
        invalid(
            kv.list(&cx, name, opts(None, None, None))
                .await
                .unwrap_err(),
        );
    }
    let long_key = "k".repeat(513);
    for key in ["", long_key.as_str()] {
        let e = invalid(kv.set(&cx, "c", key, json!(1)).await.unwrap_err());
        assert!(e.contains("key"), "{e}");
        invalid(kv.delete(&cx, "c", key).await.unwrap_err());
        invalid(kv.has(&cx, "c", key).await.unwrap_err());
    }
    kv.set(&cx, "c", &"k".repeat(512), json!(1)).await.unwrap();
    let huge = Value::String("x".repeat(MAX_VALUE_BYTES));
    let e = invalid(kv.set(&cx, "c", "huge", huge).await.unwrap_err());
    assert!(e.contains("at most 1048576 bytes"), "{e}");
    assert_eq!(kv.get(&cx, "c", "huge").await.unwrap(), None);
    for limit in [0, 1001] {
        let e = invalid(
            kv.list(&cx, "c", opts(None, Some(limit), None))
                .await
                .unwrap_err(),
        );
        assert!(e.contains("limit"), "{e}");
    }
}
both_backends!(bad_input, bad_input_is_refused_and_changes_nothing);

async fn list_pages_in_key_order_with_prefixes(db: Db) {
    let kv = KvStore::open(db, Default::default()).await.unwrap();
    let cx = cx(DEFAULT_APP_ID);
    // Byte order of UTF-8, whatever the database's locale: "B" < "a" < "é".
    let keys = [
        "a", "a:1", "a:2", "a:3", "a;", "B", "b", "é", "user:1", "user:10", "user:2", "user;x",
    ];
    for (i, k) in keys.iter().enumerate() {
        kv.set(&cx, "c", k, json!(i)).await.unwrap();
    }
    kv.set(&cx, "other", "a:0", json!("elsewhere"))
        .await
        .unwrap();
    let mut sorted = keys.to_vec();
    sorted.sort();

    // Pages of 5: every key once, in order, then no cursor.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = kv
            .list(&cx, "c", opts(cursor.as_deref(), Some(5), None))
            .await
            .unwrap();
        assert!(page.items.len() <= 5);
        seen.extend(page.items.iter().map(|e| e.key.clone()));
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, sorted);
    // A page that ends exactly at the last key has no cursor.
    let all = kv.list(&cx, "c", opts(None, Some(12), None)).await.unwrap();
    assert_eq!((all.items.len(), all.cursor), (12, None));
    assert_eq!(all.items[0].value, json!(5), "values come with their keys");

    // Prefixes, paged too.
    let page = kv
        .list(&cx, "c", opts(None, Some(2), Some("a:")))
        .await
        .unwrap();
    let keys_of =
        |p: &picloud_shared::KvPage| p.items.iter().map(|e| e.key.clone()).collect::<Vec<_>>();
    assert_eq!(keys_of(&page), ["a:1", "a:2"]);
    let rest = kv
        .list(&cx, "c", opts(page.cursor.as_deref(), Some(2), Some("a:")))
        .await
        .unwrap();
    assert_eq!(
        (keys_of(&rest), rest.cursor),
        (vec!["a:3".to_owned()], None)
    );
    let users = kv
        .list(&cx, "c", opts(None, None, Some("user:")))
        .await
        .unwrap();
    assert_eq!(keys_of(&users), ["user:1", "user:10", "user:2"]);
    let none = kv
        .list(&cx, "c", opts(None, None, Some("zz")))
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.cursor.is_none());
    let empty = kv
        .list(&cx, "nothing-here", opts(None, None, None))
        .await
        .unwrap();
    assert!(empty.items.is_empty() && empty.cursor.is_none());
}
both_backends!(listing, list_pages_in_key_order_with_prefixes);

async fn cursors_cannot_be_changed_or_moved(db: Db) {
    let other_app = app(&db, "other").await;
    let kv = KvStore::open(db, Default::default()).await.unwrap();
    let cx_of = cx;
    let cx = cx(DEFAULT_APP_ID);
    for k in ["a", "b", "c"] {
        kv.set(&cx, "one", k, json!(k)).await.unwrap();
        kv.set(&cx, "two", k, json!(k)).await.unwrap();
    }
    let page = kv
        .list(&cx, "one", opts(None, Some(1), None))
        .await
        .unwrap();
    let cursor = page.cursor.unwrap();

    // Another collection, another prefix, another app.
    let e = invalid(
        kv.list(&cx, "two", opts(Some(&cursor), None, None))
            .await
            .unwrap_err(),
    );
    assert!(e.contains("belongs to collection \"one\""), "{e}");
    let e = invalid(
        kv.list(&cx, "one", opts(Some(&cursor), None, Some("a")))
            .await
            .unwrap_err(),
    );
    assert!(e.contains("prefix"), "{e}");
    let e = invalid(
        kv.list(&cx_of(other_app), "one", opts(Some(&cursor), None, None))
            .await
            .unwrap_err(),
    );
    assert!(e.contains("not valid"), "{e}");

    // Any change to the cursor: each character replaced, a cut, garbage.
    let mut changed: Vec<String> = (0..cursor.len())
        .map(|i| {
            let mut bytes = cursor.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            String::from_utf8(bytes).unwrap()
        })
        .collect();
    changed.push(cursor[..cursor.len() - 1].to_owned());
    changed.push("not a cursor".into());
    changed.push(".".into());
    for c in changed.iter().filter(|c| **c != cursor) {
        let e = invalid(
            kv.list(&cx, "one", opts(Some(c), None, None))
                .await
                .unwrap_err(),
        );
        assert!(e.contains("cursor"), "{c}: {e}");
    }
    // The real one still works.
    let next = kv
        .list(&cx, "one", opts(Some(&cursor), None, None))
        .await
        .unwrap();
    assert_eq!(next.items.len(), 2);
}
both_backends!(cursors, cursors_cannot_be_changed_or_moved);

async fn apps_are_isolated_and_their_keys_go_with_them(db: Db) {
    let a = app(&db, "a").await;
    let b = app(&db, "b").await;
    let kv = KvStore::open(db.clone(), Default::default()).await.unwrap();
    let (ca, cb) = (cx(a), cx(b));
    kv.set(&ca, "shared", "k", json!("from a")).await.unwrap();
    kv.set(&cb, "shared", "k", json!("from b")).await.unwrap();
    assert_eq!(
        kv.get(&ca, "shared", "k").await.unwrap(),
        Some(json!("from a"))
    );
    assert_eq!(
        kv.get(&cb, "shared", "k").await.unwrap(),
        Some(json!("from b"))
    );
    assert!(kv.delete(&cb, "shared", "k").await.unwrap());
    assert_eq!(
        kv.get(&ca, "shared", "k").await.unwrap(),
        Some(json!("from a"))
    );
    let page = kv
        .list(&cb, "shared", opts(None, None, None))
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(kv.collections(a).await.unwrap().len(), 1);
    assert!(kv.collections(b).await.unwrap().is_empty());

    // Deleting an app deletes its keys; writing to a deleted app fails.
    assert!(db.delete_app(a).await.unwrap());
    assert!(kv.collections(a).await.unwrap().is_empty());
    assert!(kv.get(&ca, "shared", "k").await.unwrap().is_none());
    let e = invalid(kv.set(&ca, "shared", "k", json!(1)).await.unwrap_err());
    assert!(e.contains("gone"), "{e}");
}
both_backends!(isolation, apps_are_isolated_and_their_keys_go_with_them);

async fn concurrent_writes_all_land(db: Db) {
    // Many writers at once (SQLite groups them into shared commits): every
    // acknowledged write is there, and each delete reports truthfully.
    let kv = KvStore::open(db, Default::default()).await.unwrap();
    let tasks: Vec<_> = (0..64)
        .map(|t| {
            let kv = Arc::clone(&kv);
            tokio::spawn(async move {
                let cx = cx(DEFAULT_APP_ID);
                for i in 0..20 {
                    kv.set(&cx, "burst", &format!("{t:02}:{i:02}"), json!([t, i]))
                        .await
                        .unwrap();
                }
                assert!(
                    kv.delete(&cx, "burst", &format!("{t:02}:00"))
                        .await
                        .unwrap()
                );
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let collections = kv.collections(DEFAULT_APP_ID).await.unwrap();
    assert_eq!(collections[0].keys, 64 * 19);
    let cx = cx(DEFAULT_APP_ID);
    assert_eq!(
        kv.get(&cx, "burst", "63:19").await.unwrap(),
        Some(json!([63, 19]))
    );
}
both_backends!(concurrency, concurrent_writes_all_land);

async fn reads_made_together_answer_each_their_own(db: Db) {
    // Reads that wait together share one query on PostgreSQL: each still
    // gets its own app's value of its own key, or nothing.
    let (a, b) = (app(&db, "a").await, app(&db, "b").await);
    let postgres = matches!(db, Db::Postgres(_));
    let kv = KvStore::open(db, Default::default()).await.unwrap();
    for i in 0..10 {
        kv.set(&cx(a), "c", &format!("k{i}"), json!(["a", i]))
            .await
            .unwrap();
        if i % 2 == 0 {
            kv.set(&cx(b), "c", &format!("k{i}"), json!(["b", i]))
                .await
                .unwrap();
        }
    }
    kv.set(&cx(b), "other", "k1", json!("b's other"))
        .await
        .unwrap();
    let mut reads = Vec::new();
    let mut nul = None;
    for round in 0..3 {
        for i in 0..12 {
            if round == 0 && i == 6 {
                // A key PostgreSQL cannot take, among the others.
                let kv = Arc::clone(&kv);
                nul = Some(tokio::spawn(
                    async move { kv.get(&cx(a), "c", "k\u{0}1").await },
                ));
            }
            for (app, name, collection) in [(a, "a", "c"), (b, "b", "c"), (b, "b", "other")] {
                let expected = match (name, collection) {
                    (_, "other") if i == 1 => Some(json!("b's other")),
                    (_, "other") => None,
                    ("a", _) if i < 10 => Some(json!(["a", i])),
                    ("b", _) if i < 10 && i % 2 == 0 => Some(json!(["b", i])),
                    _ => None,
                };
                let kv = Arc::clone(&kv);
                let key = format!("k{i}");
                let read = tokio::spawn(async move {
                    if round == 1 {
                        kv.has(&cx(app), collection, &key)
                            .await
                            .map(|found| found.then(|| json!("present")))
                    } else {
                        kv.get(&cx(app), collection, &key).await
                    }
                });
                let expected = if round == 1 {
                    expected.map(|_| json!("present"))
                } else {
                    expected
                };
                reads.push((read, expected, name, collection, i));
            }
        }
    }
    for (read, expected, name, collection, i) in reads {
        assert_eq!(
            read.await.unwrap().unwrap(),
            expected,
            "app {name}, {collection}/k{i}"
        );
    }
    // It fails alone, as the caller's mistake (SQLite stores NUL).
    let nul = nul.unwrap().await.unwrap();
    if postgres {
        assert!(invalid(nul.unwrap_err()).contains("NUL"));
    } else {
        assert_eq!(nul.unwrap(), None);
    }
}
both_backends!(reads_together, reads_made_together_answer_each_their_own);

async fn cursors_survive_a_restart(db: Db) {
    // The key that signs cursors is kept in the database.
    let kv = KvStore::open(db.clone(), Default::default()).await.unwrap();
    let cx = cx(DEFAULT_APP_ID);
    for k in ["a", "b"] {
        kv.set(&cx, "c", k, json!(1)).await.unwrap();
    }
    let cursor = kv
        .list(&cx, "c", opts(None, Some(1), None))
        .await
        .unwrap()
        .cursor;
    let reopened = KvStore::open(db, Default::default()).await.unwrap();
    let page = reopened
        .list(&cx, "c", opts(cursor.as_deref(), None, None))
        .await
        .unwrap();
    assert_eq!(page.items[0].key, "b");
}
both_backends!(restart, cursors_survive_a_restart);

/// `get_now`'s answer, checked against `get_json_now`'s (the same value,
/// as the stored JSON text).
fn read_now(kv: &KvStore, cx: &SdkCallCx, collection: &str, key: &str) -> Option<Value> {
    let value = kv.get_now(cx, collection, key).unwrap().unwrap();
    let text = kv.get_json_now(cx, collection, key).unwrap().unwrap();
    let parsed = text.map(|t| serde_json::from_str::<Value>(&t).unwrap());
    assert_eq!(parsed, value, "get_json_now against get_now");
    value
}

/// On SQLite, scripts' `get` and `has` are answered on the calling thread
/// (`get_now`, `get_json_now`, `has_now`), and answer exactly as `get` and
/// `has`: every committed write, the app's own keys only, bad input left
/// to the async path. PostgreSQL has no such path.
async fn reads_on_the_calling_thread_answer_as_the_async_path(db: Db) {
    let sqlite = matches!(db, Db::Sqlite(..));
    let other = app(&db, "other").await;
    let kv = KvStore::open(db, Default::default()).await.unwrap();
    let (mine, theirs) = (cx(DEFAULT_APP_ID), cx(other));
    if !sqlite {
        assert!(kv.get_now(&mine, "c", "k").is_none());
        assert!(kv.get_json_now(&mine, "c", "k").is_none());
        assert!(kv.has_now(&mine, "c", "k").is_none());
        return;
    }
    assert_eq!(read_now(&kv, &mine, "c", "k"), None);
    assert!(!kv.has_now(&mine, "c", "k").unwrap().unwrap());
    let value =
        json!({"n": 1, "s": "é", "nested": [1, {"deep": true}], "big": -9007199254740993i64});
    kv.set(&mine, "c", "k", value.clone()).await.unwrap();
    kv.set(&theirs, "c", "k", json!("theirs")).await.unwrap();
    for _ in 0..3 {
        assert_eq!(read_now(&kv, &mine, "c", "k"), Some(value.clone()));
        assert_eq!(read_now(&kv, &theirs, "c", "k"), Some(json!("theirs")));
        assert!(kv.has_now(&mine, "c", "k").unwrap().unwrap());
        assert_eq!(read_now(&kv, &mine, "c", "other"), None);
    }
    // Each write is seen by the next read.
    for n in 0..20 {
        kv.set(&mine, "c", "k", json!(n)).await.unwrap();
        assert_eq!(read_now(&kv, &mine, "c", "k"), Some(json!(n)));
    }
    kv.delete(&mine, "c", "k").await.unwrap();
    assert_eq!(read_now(&kv, &mine, "c", "k"), None);
    assert!(!kv.has_now(&mine, "c", "k").unwrap().unwrap());
    assert_eq!(read_now(&kv, &theirs, "c", "k"), Some(json!("theirs")));
    // Bad input takes the async path, which refuses it.
    assert!(kv.get_now(&mine, "", "k").is_none());
    assert!(kv.get_now(&mine, "c", "").is_none());
    assert!(kv.get_json_now(&mine, "", "k").is_none());
    assert!(kv.get_json_now(&mine, "c", "").is_none());
    assert!(kv.has_now(&mine, "c", "").is_none());
}
both_backends!(
    reads_now,
    reads_on_the_calling_thread_answer_as_the_async_path
);

/// A store on a fresh SQLite database in `dir`, for what only SQLite has.
async fn sqlite_kv(dir: &tempfile::TempDir) -> Arc<KvStore> {
    let db = Db::connect(&DbTarget::Sqlite(dir.path().join("t.db")))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    KvStore::open(db, Default::default()).await.unwrap()
}

/// SQLite's scripts' reads go through an in-memory cache of what was read
/// and written (kv/cache.rs). While one thread writes 1, 2, 3, ... to a
/// key, readers on other threads never see the value go back (a value read
/// from the file just before a commit and cached after it would), and once
/// the last write is answered every reader sees it.
#[tokio::test]
async fn cached_reads_never_go_back() {
    let dir = tempfile::tempdir().unwrap();
    let kv = sqlite_kv(&dir).await;
    let mine = cx(DEFAULT_APP_ID);
    const WRITES: i64 = 400;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (kv, cx, done) = (Arc::clone(&kv), mine.clone(), Arc::clone(&done));
            std::thread::spawn(move || {
                let (mut last, mut reads) = (0, 0u64);
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    let seen = kv.get_now(&cx, "c", "counter").unwrap().unwrap();
                    let n = seen.map_or(0, |v| v["n"].as_i64().unwrap());
                    assert!(n >= last, "read {n} after {last}");
                    last = n;
                    reads += 1;
                }
                let end = kv.get_now(&cx, "c", "counter").unwrap().unwrap();
                assert_eq!(end.unwrap()["n"], json!(WRITES));
                reads
            })
        })
        .collect();
    let writer = {
        let (kv, cx) = (Arc::clone(&kv), mine.clone());
        std::thread::spawn(move || {
            let later = Instant::now() + Duration::from_secs(60);
            // Every other value is too large to cache: its write drops the
            // key from the cache, and the readers' next reads miss and fill.
            let pad = "x".repeat(20 << 10);
            for n in 1..=WRITES {
                let value = if n % 2 == 0 {
                    json!({"n": n})
                } else {
                    json!({"n": n, "pad": pad})
                };
                kv.set_now(&cx, "c", "counter", &value, later)
                    .unwrap()
                    .unwrap();
                // Other keys' writes move the cache's epoch too.
                kv.set_now(&cx, "c", &format!("other{}", n % 7), &json!(n), later)
                    .unwrap()
                    .unwrap();
            }
        })
    };
    writer.join().unwrap();
    done.store(true, std::sync::atomic::Ordering::Release);
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
    }
    // The admin API's view (the pool, not the cache) agrees.
    assert_eq!(
        kv.value(DEFAULT_APP_ID, "c", "counter").await.unwrap(),
        Some(json!({"n": WRITES}))
    );
}

/// Values too large to cache are read from the file, and replacing a
/// cached value with such a value (or deleting it) is seen at once.
#[tokio::test]
async fn large_values_replace_cached_ones() {
    let dir = tempfile::tempdir().unwrap();
    let kv = sqlite_kv(&dir).await;
    let mine = cx(DEFAULT_APP_ID);
    kv.set(&mine, "c", "k", json!("small")).await.unwrap();
    assert_eq!(
        kv.get_now(&mine, "c", "k").unwrap().unwrap(),
        Some(json!("small"))
    );
    let big = json!("b".repeat(64 << 10));
    kv.set(&mine, "c", "k", big.clone()).await.unwrap();
    for _ in 0..2 {
        assert_eq!(
            kv.get_now(&mine, "c", "k").unwrap().unwrap(),
            Some(big.clone())
        );
        assert!(kv.has_now(&mine, "c", "k").unwrap().unwrap());
    }
    // An absent key read once (cached as absent), then written.
    assert!(!kv.has_now(&mine, "c", "late").unwrap().unwrap());
    kv.set(&mine, "c", "late", json!(1)).await.unwrap();
    assert!(kv.has_now(&mine, "c", "late").unwrap().unwrap());
    kv.delete(&mine, "c", "k").await.unwrap();
    assert_eq!(kv.get_now(&mine, "c", "k").unwrap().unwrap(), None);
}

/// On SQLite, scripts' `set` and `delete` are made on the calling thread
/// (`set_now`, `delete_now`: group commit among the writing threads) and
/// answer exactly as `set` and `delete`. PostgreSQL has no such path.
async fn writes_on_the_calling_thread_answer_as_the_async_path(db: Db) {
    let sqlite = matches!(db, Db::Sqlite(..));
    let other = app(&db, "other").await;
    let kv = KvStore::open(db.clone(), Default::default()).await.unwrap();
    let (mine, theirs) = (cx(DEFAULT_APP_ID), cx(other));
    let later = Instant::now() + Duration::from_secs(30);
    if !sqlite {
        assert!(kv.set_now(&mine, "c", "k", &json!(1), later).is_none());
        assert!(kv.delete_now(&mine, "c", "k", later).is_none());
        return;
    }
    let value = json!({"n": 1, "s": "é", "nested": [1, {"deep": true}]});
    let set = |cx: &SdkCallCx, key: &str, value: &Value| {
        let (kv, cx, key, value) = (Arc::clone(&kv), cx.clone(), key.to_owned(), value.clone());
        std::thread::spawn(move || kv.set_now(&cx, "c", &key, &value, later).unwrap())
            .join()
            .unwrap()
    };
    set(&mine, "k", &value).unwrap();
    set(&theirs, "k", &json!("theirs")).unwrap();
    assert_eq!(kv.get(&mine, "c", "k").await.unwrap(), Some(value));
    assert_eq!(
        kv.get(&theirs, "c", "k").await.unwrap(),
        Some(json!("theirs"))
    );
    // Bad input is refused with the async path's words, and changes nothing.
    let e = invalid(set(&mine, "", &json!(1)).unwrap_err());
    assert!(e.contains("key"), "{e}");
    let e = invalid(
        kv.set_now(&mine, "", "k", &json!(1), later)
            .unwrap()
            .unwrap_err(),
    );
    assert!(e.contains("collection"), "{e}");
    let big = json!("x".repeat(MAX_VALUE_BYTES));
    let e = invalid(set(&mine, "big", &big).unwrap_err());
    assert!(e.contains("value"), "{e}");
    assert!(kv.get(&mine, "c", "big").await.unwrap().is_none());

    // Many threads at once: every acknowledged write is there, each delete
    // reports truthfully, and the other app's key is untouched.
    let threads: Vec<_> = (0..32)
        .map(|t| {
            let (kv, cx) = (Arc::clone(&kv), mine.clone());
            std::thread::spawn(move || {
                for i in 0..20 {
                    kv.set_now(
                        &cx,
                        "burst",
                        &format!("{t:02}:{i:02}"),
                        &json!([t, i]),
                        later,
                    )
                    .unwrap()
                    .unwrap();
                }
                let first = format!("{t:02}:00");
                assert!(kv.delete_now(&cx, "burst", &first, later).unwrap().unwrap());
                assert!(!kv.delete_now(&cx, "burst", &first, later).unwrap().unwrap());
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let page = kv
        .list(&mine, "burst", opts(None, Some(1000), None))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 32 * 19);
    assert_eq!(
        kv.get(&mine, "burst", "31:19").await.unwrap(),
        Some(json!([31, 19]))
    );
    assert_eq!(
        kv.get(&theirs, "c", "k").await.unwrap(),
        Some(json!("theirs"))
    );

    // A write to an app deleted meanwhile fails alone.
    assert!(db.delete_app(other).await.unwrap());
    let e = invalid(set(&theirs, "k", &json!(2)).unwrap_err());
    assert!(e.contains("gone"), "{e}");
    set(&mine, "after", &json!(true)).unwrap();
    assert_eq!(
        kv.get(&mine, "c", "after").await.unwrap(),
        Some(json!(true))
    );
}
both_backends!(
    writes_now,
    writes_on_the_calling_thread_answer_as_the_async_path
);

/// A script's write still waiting for its turn when the execution's
/// deadline passes is withdrawn: answered with an error, and never made,
/// while the write ahead of it (already in its transaction) is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_waiting_past_its_deadline_is_withdrawn() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&DbTarget::Sqlite(dir.path().join("t.db")))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let kv = KvStore::open(db.clone(), Default::default()).await.unwrap();
    let Db::Sqlite(pool, _) = &db else {
        unreachable!()
    };
    // Another writer holds SQLite's write lock.
    let mut holder = pool.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let mine = cx(DEFAULT_APP_ID);
    let later = Instant::now() + Duration::from_secs(30);
    // The first write leads, and waits for the lock in its transaction.
    let first = {
        let (kv, cx) = (Arc::clone(&kv), mine.clone());
        std::thread::spawn(move || kv.set_now(&cx, "c", "first", &json!(1), later).unwrap())
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The second waits behind it, past its deadline.
    let started = Instant::now();
    let second = {
        let (kv, cx) = (Arc::clone(&kv), mine.clone());
        let soon = Instant::now() + Duration::from_millis(300);
        std::thread::spawn(move || kv.set_now(&cx, "c", "second", &json!(2), soon).unwrap())
    }
    .join()
    .unwrap();
    let waited = started.elapsed();
    assert!(second.is_err(), "{second:?}");
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(!first.is_finished());
    sqlx::query("COMMIT").execute(&mut *holder).await.unwrap();
    drop(holder);
    first.join().unwrap().unwrap();
    assert_eq!(kv.get(&mine, "c", "first").await.unwrap(), Some(json!(1)));
    assert_eq!(kv.get(&mine, "c", "second").await.unwrap(), None);
    // The writer carries on.
    let third = {
        let (kv, cx) = (Arc::clone(&kv), mine.clone());
        std::thread::spawn(move || kv.set_now(&cx, "c", "third", &json!(3), later).unwrap())
    };
    third.join().unwrap().unwrap();
    assert_eq!(kv.get(&mine, "c", "third").await.unwrap(), Some(json!(3)));
}

#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn postgres_connections_keep_generic_plans() {
    // Custom plans would plan each batched KV statement again on every run
    // (db.rs): every pooled connection asks for generic ones.
    let url = fresh_postgres_url("kv::generic_plans").await;
    let db = Db::connect(&DbTarget::Postgres(url)).await.unwrap();
    let Db::Postgres(pool) = &db else {
        unreachable!("connected to PostgreSQL")
    };
    let held: Vec<_> = three_connections(pool).await;
    for mut conn in held {
        let mode: String = sqlx::query_scalar("SHOW plan_cache_mode")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(mode, "force_generic_plan");
    }
}

/// Three connections of `pool` at once (so not all the same one).
async fn three_connections(pool: &sqlx::PgPool) -> Vec<sqlx::pool::PoolConnection<sqlx::Postgres>> {
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(pool.acquire().await.unwrap());
    }
    held
}
