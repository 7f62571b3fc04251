//! The repository suite, one body run on SQLite and on PostgreSQL.

use std::sync::Arc;

use crate::history::VersionNote;
use crate::repo::{App, DEFAULT_APP_ID, Domain, Route, UserRole, now};
use crate::testing::fresh_postgres_url;
use crate::{Db, DbTarget, Error, with_db};
use picloud_shared::{
    AppId, DomainId, ExecStatus, ExecutionId, ExecutionRecord, LogEntry, LogLevel, RequestId,
    RouteId, SandboxOverrides, Script, ScriptId, ScriptName,
};

fn script(name: &str) -> Script {
    let now = now();
    Script {
        id: ScriptId::new(),
        app_id: DEFAULT_APP_ID,
        name: ScriptName::parse(name).unwrap(),
        source: "1 + 1".into(),
        version: 1,
        description: "d".into(),
        sandbox: SandboxOverrides {
            timeout_ms: Some(100),
            ..Default::default()
        },
        created_at: now,
        updated_at: now,
    }
}

fn record(s: &Script, status: ExecStatus) -> ExecutionRecord {
    ExecutionRecord {
        id: ExecutionId::new(),
        app_id: s.app_id,
        script_id: s.id,
        request_id: RequestId::new(),
        invocation_type: picloud_shared::InvocationType::Http,
        status,
        status_code: Some(200),
        started_at: now(),
        duration_ms: 1.25,
        error: None,
        logs: vec![LogEntry {
            level: LogLevel::Warn,
            message: "m".into(),
            data: Some(serde_json::json!({"n": 1, "f": 1.5})),
            at: now(),
        }],
        // Trigger executions keep their event (and it round-trips).
        event: (status == ExecStatus::Ok)
            .then(|| serde_json::json!({"kind": "kv", "value": {"f": 2.0, "i": 3}})),
        // Outbound calls round-trip too.
        outbound: vec![picloud_shared::OutboundCall {
            method: "POST".into(),
            host: "api.example.com".into(),
            status: (status == ExecStatus::Ok).then_some(201),
            outcome: picloud_shared::OutboundOutcome::Ok,
            duration_ms: 12.5,
        }],
        // What it used round-trips; an older record's nulls too.
        script_version: (status == ExecStatus::Ok).then_some(s.version),
        operations: (status == ExecStatus::Ok).then_some(1_234_567_890_123),
        cpu_ms: (status == ExecStatus::Ok).then_some(0.375),
        // A kept request and a replay's link round-trip.
        request: (status == ExecStatus::Ok).then(|| {
            picloud_shared::RecordedRequest::keep(
                picloud_shared::HttpRequest {
                    method: "POST".into(),
                    path: "/orders".into(),
                    headers: [("authorization".into(), "Bearer x".into())].into(),
                    body: picloud_shared::RequestBody::Bytes(vec![0, 255]),
                    ..Default::default()
                },
                [],
                1024,
            )
        }),
        replay_of: (status == ExecStatus::Ok).then(ExecutionId::new),
        dry_run: status == ExecStatus::Ok,
    }
}

async fn users_and_sessions(db: Db) {
    assert_eq!(db.count_users().await.unwrap(), 0);
    let u = db
        .insert_user("alice", "hash", UserRole::Admin)
        .await
        .unwrap();
    assert!(matches!(
        db.insert_user("alice", "h2", UserRole::Member).await,
        Err(Error::Conflict(_))
    ));
    let (found, hash) = db.user_credentials("alice").await.unwrap().unwrap();
    assert_eq!((found.id, hash.as_str()), (u.id, "hash"));
    assert!(db.user_credentials("bob").await.unwrap().is_none());

    let t = now();
    db.insert_session(u.id, b"tokenhash", t + time::Duration::hours(1))
        .await
        .unwrap();
    let (su, last, _) = db.session_user(b"tokenhash", t).await.unwrap().unwrap();
    assert_eq!(su.username, "alice");
    assert!(last >= t, "the session was created after t");
    // Expired at a later time.
    assert!(
        db.session_user(b"tokenhash", t + time::Duration::hours(2))
            .await
            .unwrap()
            .is_none()
    );
    // Sliding: touch extends it.
    db.touch_session(b"tokenhash", t, t + time::Duration::hours(3))
        .await
        .unwrap();
    assert!(
        db.session_user(b"tokenhash", t + time::Duration::hours(2))
            .await
            .unwrap()
            .is_some()
    );
    db.purge_expired_sessions(t + time::Duration::hours(4))
        .await
        .unwrap();
    assert!(db.session_user(b"tokenhash", t).await.unwrap().is_none());
    db.insert_session(u.id, b"other", t + time::Duration::hours(1))
        .await
        .unwrap();
    assert!(db.delete_session(b"other").await.unwrap());
    assert!(!db.delete_session(b"other").await.unwrap());
}
both_backends!(users_and_sessions_suite, users_and_sessions);

async fn scripts_crud(db: Db) {
    let s = script("hello");
    let stored = db.insert_script(&s, &Default::default()).await.unwrap();
    assert_eq!(stored, s, "what is read back is what was written");
    assert!(matches!(
        db.insert_script(&script("hello"), &Default::default())
            .await,
        Err(Error::Conflict(_))
    ));

    let mut next = stored.clone();
    next.version = 2;
    next.source = "2".into();
    let updated = db
        .update_script(&next, &Default::default(), 100)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.source, "2");
    // Writing version 2 again (stored is no longer 1) is refused.
    assert!(
        db.update_script(&next, &Default::default(), 100)
            .await
            .unwrap()
            .is_none()
    );

    db.insert_script(&script("another"), &Default::default())
        .await
        .unwrap();
    let names: Vec<String> = db
        .scripts_in_app(DEFAULT_APP_ID)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["another", "hello"]);
    assert!(db.delete_script(s.id).await.unwrap());
    assert!(!db.delete_script(s.id).await.unwrap());
    assert!(db.script_by_id(s.id).await.unwrap().is_none());
}
both_backends!(scripts_suite, scripts_crud);

/// Every saved version is kept with who saved it and why, up to the bound
/// (the newest, live one always); a refused change keeps none; deleting
/// the script deletes its history.
async fn script_history(db: Db) {
    let s = script("kept");
    let by = |who: &str, message: &str| VersionNote {
        by: who.into(),
        message: message.into(),
    };
    db.insert_script(&s, &by("ann", "first")).await.unwrap();
    let first = db.script_versions(s.id).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].version, 1);
    assert_eq!(first[0].created_by.as_deref(), Some("ann"));
    assert_eq!(first[0].message, "first");
    assert!(first[0].live);

    let mut current = s.clone();
    for v in 2..=5 {
        current.version = v;
        current.source = format!("{v} + 0");
        db.update_script(&current, &by("bob", ""), 3)
            .await
            .unwrap()
            .expect("the update");
    }
    let list = db.script_versions(s.id).await.unwrap();
    let versions: Vec<i64> = list.iter().map(|v| v.version).collect();
    assert_eq!(versions, [5, 4, 3], "the newest three, newest first");
    assert!(list[0].live && !list[1].live && !list[2].live);
    assert_eq!(list[0].created_by.as_deref(), Some("bob"));
    assert_eq!(list[0].source_bytes, 5);
    assert!(
        db.script_version(s.id, 2).await.unwrap().is_none(),
        "trimmed"
    );
    let three = db.script_version(s.id, 3).await.unwrap().unwrap();
    assert_eq!(three.source, "3 + 0");
    assert!(!three.live);
    assert!(db.script_version(s.id, 5).await.unwrap().unwrap().live);

    // A stale update is refused and leaves the history as it was.
    assert!(
        db.update_script(&current, &by("eve", ""), 3)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(db.script_versions(s.id).await.unwrap(), list);

    assert!(db.delete_script(s.id).await.unwrap());
    assert!(db.script_versions(s.id).await.unwrap().is_empty());
}
both_backends!(history_suite, script_history);

async fn executions_retention_and_cascade(db: Db) {
    let s = db
        .insert_script(&script("runner"), &Default::default())
        .await
        .unwrap();
    let gone = script("gone"); // never stored: its records must be skipped
    let mut batch: Vec<ExecutionRecord> = (0..7).map(|_| record(&s, ExecStatus::Ok)).collect();
    batch.push(record(&gone, ExecStatus::Error));
    db.insert_executions(batch.clone().into(), 5).await.unwrap();
    let kept = db
        .executions_of(s.id, 100, &Default::default())
        .await
        .unwrap();
    assert_eq!(kept.len(), 5, "retention keeps the newest 5");
    let newest: Vec<ExecutionId> = batch[2..7].iter().rev().map(|r| r.id).collect();
    assert_eq!(kept.iter().map(|r| r.id).collect::<Vec<_>>(), newest);
    assert_eq!(kept[0], batch[6], "a record reads back exactly");
    assert_eq!(
        db.execution(batch[6].id).await.unwrap().as_ref(),
        Some(&batch[6])
    );
    assert_eq!(db.execution(batch[0].id).await.unwrap(), None, "trimmed");
    assert!(kept[0].logs[0].data.as_ref().unwrap()["n"].is_i64());
    assert_eq!(
        db.executions_of(s.id, 2, &Default::default())
            .await
            .unwrap()
            .len(),
        2
    );

    // Deleting the script deletes its records.
    assert!(db.delete_script(s.id).await.unwrap());
    assert!(
        db.executions_of(s.id, 100, &Default::default())
            .await
            .unwrap()
            .is_empty()
    );
}
both_backends!(executions_suite, executions_retention_and_cascade);

async fn large_batches_are_written_whole(db: Db) {
    // More records than one insert statement takes on SQLite, from two
    // scripts, one of them deleted before the write.
    let a = db
        .insert_script(&script("a"), &Default::default())
        .await
        .unwrap();
    let b = db
        .insert_script(&script("b"), &Default::default())
        .await
        .unwrap();
    let gone = script("gone");
    let batch: Vec<ExecutionRecord> = (0..301)
        .map(|i| match i % 3 {
            0 => record(&a, ExecStatus::Ok),
            1 => record(&b, ExecStatus::Timeout),
            _ => record(&gone, ExecStatus::Ok),
        })
        .collect();
    db.insert_executions(batch.clone().into(), 1000)
        .await
        .unwrap();
    let of_a = db
        .executions_of(a.id, 1000, &Default::default())
        .await
        .unwrap();
    let of_b = db
        .executions_of(b.id, 1000, &Default::default())
        .await
        .unwrap();
    assert_eq!((of_a.len(), of_b.len()), (101, 100));
    let expected: Vec<&ExecutionRecord> =
        batch.iter().filter(|r| r.script_id == b.id).rev().collect();
    assert_eq!(of_b.iter().collect::<Vec<_>>(), expected);
    assert!(
        db.executions_of(gone.id, 10, &Default::default())
            .await
            .unwrap()
            .is_empty()
    );
}
both_backends!(large_batch_suite, large_batches_are_written_whole);

async fn stats_add_up_across_batches(db: Db) {
    let a = db
        .insert_script(&script("a"), &Default::default())
        .await
        .unwrap();
    let b = db
        .insert_script(&script("b"), &Default::default())
        .await
        .unwrap();
    let gone = script("gone");
    // Retention keeps 2, the counters count all.
    let first = vec![
        record(&a, ExecStatus::Ok),
        record(&a, ExecStatus::Error),
        record(&gone, ExecStatus::Ok),
        record(&a, ExecStatus::Timeout),
    ];
    db.insert_executions(first.clone().into(), 2).await.unwrap();
    let stats = db.script_stats(DEFAULT_APP_ID).await.unwrap();
    let of_a = &stats[&a.id];
    assert_eq!((of_a.invocations, of_a.errors), (3, 2));
    assert_eq!(of_a.last_status, Some(ExecStatus::Timeout));
    assert!(!stats.contains_key(&b.id), "b never ran");
    assert!(
        !stats.contains_key(&gone.id),
        "a deleted script gets no counters"
    );

    let second = vec![record(&b, ExecStatus::Ok), record(&a, ExecStatus::Ok)];
    db.insert_executions(second.clone().into(), 2)
        .await
        .unwrap();
    let stats = db.script_stats(DEFAULT_APP_ID).await.unwrap();
    assert_eq!((stats[&a.id].invocations, stats[&a.id].errors), (4, 2));
    assert_eq!(stats[&a.id].last_status, Some(ExecStatus::Ok));
    assert_eq!(stats[&b.id].invocations, 1);
    assert!(stats[&a.id].last_run_at.is_some());

    // A later batch holding an older record does not turn the last status back.
    let mut late = record(&a, ExecStatus::Error);
    late.started_at -= time::Duration::hours(1);
    db.insert_executions(vec![late].into(), 2).await.unwrap();
    let stats = db.script_stats(DEFAULT_APP_ID).await.unwrap();
    assert_eq!((stats[&a.id].invocations, stats[&a.id].errors), (5, 3));
    assert_eq!(stats[&a.id].last_status, Some(ExecStatus::Ok));

    assert!(db.delete_script(a.id).await.unwrap());
    assert!(
        !db.script_stats(DEFAULT_APP_ID)
            .await
            .unwrap()
            .contains_key(&a.id)
    );
}
both_backends!(stats_suite, stats_add_up_across_batches);

async fn the_writer_never_drops_records_under_a_burst(db: Db) {
    use crate::executions::{ExecutionWriter, QUEUE_CAPACITY};
    use picloud_shared::ExecutionSink;
    // More records than the queue holds, sent at once from many tasks: the
    // senders wait for room instead of losing any. The writer's complaints,
    // if any, go to the test's output (it runs on this thread).
    let _log =
        tracing::subscriber::set_default(tracing_subscriber::fmt().with_test_writer().finish());
    let s = db
        .insert_script(&script("burst"), &Default::default())
        .await
        .unwrap();
    let total = QUEUE_CAPACITY + QUEUE_CAPACITY / 2;
    let writer = ExecutionWriter::spawn(db.clone(), u32::try_from(total).unwrap());
    let senders: Vec<_> = (0..16)
        .map(|_| {
            let (writer, s) = (writer.clone(), s.clone());
            tokio::spawn(async move {
                for _ in 0..total / 16 {
                    writer.record(record(&s, ExecStatus::Ok)).await;
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    writer.flush().await;
    let written = db
        .executions_of(s.id, u32::MAX, &Default::default())
        .await
        .unwrap();
    assert_eq!(written.len(), total / 16 * 16);
}
both_backends!(writer_suite, the_writer_never_drops_records_under_a_burst);

async fn records_the_database_refuses_are_counted(db: Db) {
    use crate::executions::ExecutionWriter;
    use picloud_shared::ExecutionSink;
    let s = db
        .insert_script(&script("counted"), &Default::default())
        .await
        .unwrap();
    let writer = ExecutionWriter::spawn(db.clone(), 100);
    writer.record(record(&s, ExecStatus::Ok)).await;
    writer.flush().await;
    assert_eq!(writer.dropped(), 0);
    // A database that refuses every write (here: its table is gone). The
    // writer tries each batch three times, then counts what it lost.
    with_db!(&db, pool => sqlx::query("DROP TABLE executions").execute(pool).await.map(drop))
        .unwrap();
    for _ in 0..3 {
        writer.record(record(&s, ExecStatus::Ok)).await;
    }
    writer.flush().await;
    assert_eq!(writer.dropped(), 3);
}
both_backends!(
    dropped_records_suite,
    records_the_database_refuses_are_counted
);

/// A script deleted while the writer writes its records costs only its own
/// records, not the batch's. PostgreSQL only: there the delete can commit
/// between the insert's check that the script exists and its foreign-key
/// check, which fails the whole statement. (SQLite runs one write
/// transaction at a time, so the two cannot interleave.) The delete is held
/// open in another connection until the writer's insert waits on it.
#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn a_script_deleted_while_its_records_are_written_costs_only_its_own() {
    use crate::executions::ExecutionWriter;
    use picloud_shared::ExecutionSink;
    use sqlx::{Connection, PgConnection};
    let url = fresh_postgres_url("a_script_deleted_while_its_records_are_written").await;
    let db = Db::connect(&DbTarget::Postgres(url.clone())).await.unwrap();
    db.migrate().await.unwrap();
    let doomed = db
        .insert_script(&script("doomed"), &Default::default())
        .await
        .unwrap();
    let other = db
        .insert_script(&script("other"), &Default::default())
        .await
        .unwrap();

    let mut deleter = PgConnection::connect(&url).await.unwrap();
    let mut tx = deleter.begin().await.unwrap();
    sqlx::query("DELETE FROM scripts WHERE id = $1")
        .bind(doomed.id.0)
        .execute(&mut *tx)
        .await
        .unwrap();

    let writer = ExecutionWriter::spawn(db.clone(), 100);
    for _ in 0..5 {
        writer.record(record(&doomed, ExecStatus::Ok)).await;
        writer.record(record(&other, ExecStatus::Ok)).await;
    }
    let flushed = tokio::spawn({
        let writer = writer.clone();
        async move { writer.flush().await }
    });
    // Until the writer's insert waits for the delete's lock on the script.
    let mut watcher = PgConnection::connect(&url).await.unwrap();
    let waiting = "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'";
    let mut tries = 0;
    while sqlx::query_scalar::<_, i64>(waiting)
        .fetch_one(&mut watcher)
        .await
        .unwrap()
        == 0
    {
        tries += 1;
        assert!(
            tries < 1000,
            "the writer's insert never waited on the delete"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    tx.commit().await.unwrap();

    tokio::time::timeout(std::time::Duration::from_secs(30), flushed)
        .await
        .expect("the writer answers the flush")
        .unwrap();
    let kept = db
        .executions_of(other.id, 100, &Default::default())
        .await
        .unwrap();
    assert_eq!(kept.len(), 5, "the other script's records were lost");
    let gone = db
        .executions_of(doomed.id, 100, &Default::default())
        .await
        .unwrap();
    assert!(gone.is_empty());
}

async fn deleting_an_app_cascades(db: Db) {
    let app = db
        .insert_app(&App {
            id: AppId::new(),
            name: "shop".into(),
            description: String::new(),
            created_at: now(),
            record_requests: Default::default(),
            redact_headers: Vec::new(),
        })
        .await
        .unwrap();
    let taken = App {
        id: AppId::new(),
        ..app.clone()
    };
    assert!(matches!(
        db.insert_app(&taken).await,
        Err(Error::Conflict(_))
    ));
    let mut s = script("in-shop");
    s.app_id = app.id;
    let s = Arc::new(db.insert_script(&s, &Default::default()).await.unwrap());
    db.insert_executions(vec![record(&s, ExecStatus::Ok)].into(), 10)
        .await
        .unwrap();
    let route = db
        .insert_route(&Route {
            id: RouteId::new(),
            app_id: app.id,
            script_id: s.id,
            path: "/a/:b".into(),
            methods: Some(vec!["GET".into()]),
            created_at: now(),
        })
        .await
        .unwrap();
    assert_eq!(db.routes_in_app(app.id).await.unwrap(), vec![route.clone()]);
    assert_eq!(db.routes().await.unwrap(), vec![route]);
    let domain = Domain {
        id: DomainId::new(),
        app_id: app.id,
        pattern: "{t}.shop.test".into(),
        created_at: now(),
    };
    assert_eq!(db.insert_domain(&domain).await.unwrap(), domain);
    let again = Domain {
        id: DomainId::new(),
        app_id: DEFAULT_APP_ID,
        ..domain.clone()
    };
    assert!(matches!(
        db.insert_domain(&again).await,
        Err(Error::Conflict(_))
    ));
    assert!(
        db.delete_domain(DEFAULT_APP_ID, domain.id)
            .await
            .unwrap()
            .is_none(),
        "not default's claim"
    );
    assert_eq!(db.domains_of_app(app.id).await.unwrap(), vec![domain]);

    assert!(db.delete_app(app.id).await.unwrap());
    assert!(!db.delete_app(app.id).await.unwrap());
    assert!(db.app_by_id(app.id).await.unwrap().is_none());
    assert!(db.script_by_id(s.id).await.unwrap().is_none());
    assert!(
        db.executions_of(s.id, 10, &Default::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(db.routes().await.unwrap().is_empty());
    assert!(db.domains().await.unwrap().is_empty());
    assert_eq!(db.apps().await.unwrap().len(), 1, "default stays");
}
both_backends!(app_cascade_suite, deleting_an_app_cascades);
