//! The outbox and the queue's wake-ups, on both backends: a KV write and
//! its events commit together (a failed write fires none), and on
//! PostgreSQL a write in one process wakes the dispatcher of another.

use std::sync::Arc;
use std::time::Duration;

use crate::repo::{App, DEFAULT_APP_ID, now};
use crate::testing::fresh_postgres_url;
use crate::{Db, DbTarget, EventStore, KvStore, with_db};
use picloud_shared::{
    AppId, EventQueue, SandboxOverrides, Script, ScriptId, ScriptName, TriggerId,
};
use serde_json::json;

async fn kv_trigger(db: &Db, app: AppId, collection: &str) -> TriggerId {
    let script = db
        .insert_script(
            &Script {
                id: ScriptId::new(),
                app_id: app,
                name: ScriptName::parse(&format!("on-{collection}")).unwrap(),
                source: "()".into(),
                version: 1,
                description: String::new(),
                sandbox: SandboxOverrides::default(),
                created_at: now(),
                updated_at: now(),
            },
            &Default::default(),
        )
        .await
        .unwrap();
    let id = TriggerId::new();
    const SQL: &str = "INSERT INTO triggers (id, app_id, kind, script_id, collection, on_set, \
         on_delete, max_attempts, created_at) VALUES ($1, $2, 'kv', $3, $4, $5, $6, 3, $7)";
    with_db!(db, pool => sqlx::query(SQL).bind(id.0).bind(app.0).bind(script.id.0)
        .bind(collection).bind(true).bind(true).bind(now()).execute(pool).await.map(drop))
    .unwrap();
    id
}

/// The event store of the tests: retries after 10 ms, claims of 5 s.
async fn store(db: &Db) -> Arc<EventStore> {
    EventStore::open(
        db.clone(),
        Duration::from_millis(10),
        Duration::from_secs(5),
    )
    .await
    .unwrap()
}

async fn new_app(db: &Db, name: &str) -> AppId {
    let app = App {
        id: AppId::new(),
        name: name.into(),
        description: String::new(),
        created_at: now(),
        record_requests: Default::default(),
        redact_headers: Vec::new(),
    };
    db.insert_app(&app).await.unwrap().id
}

async fn events(db: &Db) -> i64 {
    with_db!(db, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM events")
        .fetch_one(pool).await)
    .unwrap()
}

async fn writes_and_their_events_commit_together(db: Db) {
    let store = store(&db).await;
    // Triggers stored before the store opens are known to it (SQLite skips
    // the outbox statement for collections no trigger watches).
    kv_trigger(&db, DEFAULT_APP_ID, "watched").await;
    let kv = KvStore::open(db.clone(), Arc::clone(&store.notify))
        .await
        .unwrap();

    kv.put(DEFAULT_APP_ID, "watched", "k", &json!(1), 0)
        .await
        .unwrap();
    kv.put(DEFAULT_APP_ID, "elsewhere", "k", &json!(1), 0)
        .await
        .unwrap();
    assert_eq!(events(&db).await, 1);
    // A delete of a missing key changes nothing and fires nothing.
    assert!(
        !kv.remove(DEFAULT_APP_ID, "watched", "nope", 0)
            .await
            .unwrap()
    );
    assert!(kv.remove(DEFAULT_APP_ID, "watched", "k", 0).await.unwrap());
    assert_eq!(events(&db).await, 2);

    // A write that fails (its app is gone) fires nothing.
    let app = new_app(&db, "doomed").await;
    kv_trigger(&db, app, "watched").await;
    assert!(db.delete_app(app).await.unwrap());
    assert!(kv.put(app, "watched", "k", &json!(1), 0).await.is_err());
    assert_eq!(events(&db).await, 2);

    // The queue hands them out oldest first, one per key at a time.
    let claimed = store.claim_due(10).await.unwrap();
    assert_eq!(
        claimed.len(),
        1,
        "the delete waits for the set of the same key"
    );
    assert_eq!(claimed[0].event["op"], "set");
    assert_eq!(claimed[0].depth, 1);
    assert!(store.claim_due(10).await.unwrap().is_empty());
}
both_backends!(outbox_suite, writes_and_their_events_commit_together);

/// `(key, value)` of the events queued on `collection`, oldest first.
async fn queued(db: &Db, collection: &str) -> Vec<(String, serde_json::Value)> {
    let sql = match db {
        Db::Sqlite(..) => "SELECT key, event FROM events WHERE collection = $1 ORDER BY seq",
        Db::Postgres(_) => "SELECT key, event::text FROM events WHERE collection = $1 ORDER BY seq",
    };
    let rows: Vec<(String, String)> =
        with_db!(db, pool => sqlx::query_as(sql).bind(collection).fetch_all(pool).await).unwrap();
    rows.into_iter()
        .map(|(key, event)| {
            let event: serde_json::Value = serde_json::from_str(&event).unwrap();
            (key, event["value"].clone())
        })
        .collect()
}

/// Starts every `(app, key, value)` set on `collection` at once (writes
/// that wait for one commit share the next: SQLite's group commit,
/// PostgreSQL's batches), and answers their results in the same order.
async fn all_at_once(
    kv: &Arc<KvStore>,
    collection: &str,
    sets: &[(AppId, String, serde_json::Value)],
) -> Vec<Result<(), String>> {
    let tasks: Vec<_> = sets
        .iter()
        .cloned()
        .map(|(app, key, value)| {
            let (kv, collection) = (Arc::clone(kv), collection.to_owned());
            tokio::spawn(async move {
                kv.put(app, &collection, &key, &value, 0)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

async fn writes_made_together_land_fire_and_fail_alone(db: Db) {
    let store = store(&db).await;
    kv_trigger(&db, DEFAULT_APP_ID, "watched").await;
    let doomed = new_app(&db, "doomed").await;
    kv_trigger(&db, doomed, "watched").await;
    assert!(db.delete_app(doomed).await.unwrap());
    let kv = KvStore::open(db.clone(), Arc::clone(&store.notify))
        .await
        .unwrap();

    // Several sets of the same keys at once: every one lands and fires one
    // event, and each key's events end with the value it was left with.
    let mut sets = Vec::new();
    for i in 0..8 {
        for key in ["a", "b", "c"] {
            sets.push((DEFAULT_APP_ID, key.to_owned(), json!(i)));
        }
        sets.push((DEFAULT_APP_ID, format!("alone-{i}"), json!(i)));
    }
    for result in all_at_once(&kv, "watched", &sets).await {
        result.unwrap();
    }
    let fired = queued(&db, "watched").await;
    assert_eq!(fired.len(), sets.len(), "one event per set");
    for key in ["a", "b", "c"] {
        let mut values: Vec<i64> = fired
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_i64().unwrap())
            .collect();
        let last = *values.last().unwrap();
        assert_eq!(
            kv.value(DEFAULT_APP_ID, "watched", key).await.unwrap(),
            Some(json!(last))
        );
        values.sort_unstable();
        assert_eq!(values, (0..8).collect::<Vec<_>>(), "key {key}");
    }

    // Sets that fail (an app deleted meanwhile; on PostgreSQL a NUL
    // character, which it cannot store) among good ones: each fails alone,
    // and fires nothing.
    let mut sets = vec![
        (DEFAULT_APP_ID, "good-1".to_owned(), json!(1)),
        (doomed, "x".to_owned(), json!("gone")),
        (DEFAULT_APP_ID, "good-2".to_owned(), json!(2)),
        (DEFAULT_APP_ID, "nul".to_owned(), json!("a\u{0}b")),
        (DEFAULT_APP_ID, "good-3".to_owned(), json!(3)),
    ];
    sets.extend((4..12).map(|i| (DEFAULT_APP_ID, format!("good-{i}"), json!(i))));
    let results = all_at_once(&kv, "watched", &sets).await;
    let nul_refused = matches!(db, Db::Postgres(_));
    for ((app, key, _), result) in sets.iter().zip(&results) {
        match (key.as_str(), result) {
            ("x", Err(e)) => assert!(e.contains("not found"), "{e}"),
            ("nul", Err(e)) if nul_refused => assert!(e.contains("NUL"), "{e}"),
            ("nul", Ok(())) if !nul_refused => {}
            (_, Ok(())) if *app == DEFAULT_APP_ID && key.starts_with("good-") => {}
            other => panic!("unexpected result for {other:?}"),
        }
    }
    for i in 1..12 {
        let key = format!("good-{i}");
        assert_eq!(
            kv.value(DEFAULT_APP_ID, "watched", &key).await.unwrap(),
            Some(json!(i))
        );
    }
    let fired = queued(&db, "watched").await;
    let expected = 32 + 11 + usize::from(!nul_refused);
    assert_eq!(fired.len(), expected, "{fired:?}");
    assert!(fired.iter().all(|(key, _)| key != "x"));
}
both_backends!(
    writes_together,
    writes_made_together_land_fire_and_fail_alone
);

#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn a_write_in_one_process_wakes_the_dispatcher_of_another() {
    let url = fresh_postgres_url("events::listen").await;
    let db_a = Db::connect(&DbTarget::Postgres(url.clone())).await.unwrap();
    db_a.migrate().await.unwrap();
    let db_b = Db::connect(&DbTarget::Postgres(url)).await.unwrap();
    let a = store(&db_a).await;
    let b = store(&db_b).await;
    crate::bus::listen(&db_b, "picloud test b", b.clone())
        .await
        .unwrap();
    kv_trigger(&db_a, DEFAULT_APP_ID, "watched").await;
    let kv_a = KvStore::open(db_a, Arc::clone(&a.notify)).await.unwrap();

    let woken = tokio::spawn(async move { b.changed().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    kv_a.put(DEFAULT_APP_ID, "watched", "k", &json!(1), 0)
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), woken)
        .await
        .expect("the other process's queue was woken")
        .unwrap();
}
