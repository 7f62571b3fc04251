//! The cron scheduler driven by a clock of the test's own (`fire_due(now)`),
//! on both backends: ticks fire when due and not before, a run missed while
//! the server was down fires once, and a run is never started twice.

use std::sync::Arc;

use crate::cron::CronScheduler;
use crate::repo::{DEFAULT_APP_ID, now};
use crate::testing::fresh_postgres_url;
use crate::{Db, DbTarget, with_db};
use picloud_shared::{SandboxOverrides, Script, ScriptId, ScriptName, TriggerId};
use serde_json::Value;
use time::OffsetDateTime;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const MINUTE: i64 = 60_000;

fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap()
}

async fn cron_trigger(db: &Db, schedule: &str, next_due: i64) -> TriggerId {
    let script = db
        .insert_script(
            &Script {
                id: ScriptId::new(),
                app_id: DEFAULT_APP_ID,
                name: ScriptName::parse(&format!("tick-{}", next_due % 1_000_000)).unwrap(),
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
    const SQL: &str = "INSERT INTO triggers (id, app_id, kind, script_id, schedule, max_attempts, \
         next_due, created_at) VALUES ($1, $2, 'cron', $3, $4, 1, $5, $6)";
    with_db!(db, pool => sqlx::query(SQL).bind(id.0).bind(DEFAULT_APP_ID.0).bind(script.id.0)
        .bind(schedule).bind(next_due).bind(now()).execute(pool).await.map(drop))
    .unwrap();
    id
}

/// The queued runs: their `ctx.event`.
async fn queued(db: &Db) -> Vec<Value> {
    const SQL: &str = "SELECT event FROM events WHERE kind = 'cron' ORDER BY seq";
    match db {
        Db::Sqlite(pool, _) => sqlx::query_scalar::<_, String>(SQL)
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|s| serde_json::from_str(s).unwrap())
            .collect(),
        Db::Postgres(pool) => sqlx::query_scalar::<_, sqlx::types::Json<Value>>(SQL)
            .fetch_all(pool)
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.0)
            .collect(),
    }
}

async fn next_due(db: &Db, id: TriggerId) -> i64 {
    const SQL: &str = "SELECT next_due FROM triggers WHERE id = $1";
    with_db!(db, pool => sqlx::query_scalar::<_, i64>(SQL).bind(id.0).fetch_one(pool).await)
        .unwrap()
}

async fn run_ends(db: &Db) {
    with_db!(db, pool => sqlx::query("DELETE FROM events").execute(pool).await.map(drop)).unwrap();
}

async fn ticks_fire_when_due_once_and_never_twice(db: Db) {
    let scheduler = CronScheduler::new(db.clone(), Arc::default());
    let id = cron_trigger(&db, "*/5 * * * *", T0 + 5 * MINUTE).await;

    // Before the tick: nothing, and the scheduler wants to wake at it.
    let wake = scheduler.fire_due(at(T0 + MINUTE)).await.unwrap();
    assert_eq!(wake, Some(at(T0 + 5 * MINUTE)));
    assert!(queued(&db).await.is_empty());

    // At the tick: one run, scheduled_at the tick; the next tick is 5 min on.
    let wake = scheduler.fire_due(at(T0 + 5 * MINUTE)).await.unwrap();
    let runs = queued(&db).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["kind"], "cron");
    assert_eq!(runs[0]["schedule"], "*/5 * * * *");
    assert_eq!(runs[0]["scheduled_at"], "2026-01-01T00:05:00.000000Z");
    assert_eq!(wake, Some(at(T0 + 10 * MINUTE)));
    assert_eq!(next_due(&db, id).await, T0 + 10 * MINUTE);

    // The next tick while that run has not ended: skipped, not queued twice.
    scheduler.fire_due(at(T0 + 10 * MINUTE)).await.unwrap();
    assert_eq!(queued(&db).await.len(), 1);
    assert_eq!(next_due(&db, id).await, T0 + 15 * MINUTE);

    // The server was down for an hour: the missed ticks fire once, at start.
    run_ends(&db).await;
    let wake = scheduler
        .fire_due(at(T0 + 75 * MINUTE + 30_000))
        .await
        .unwrap();
    let runs = queued(&db).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["scheduled_at"], "2026-01-01T00:15:00.000000Z");
    assert_eq!(wake, Some(at(T0 + 80 * MINUTE)));

    // Seconds, when the schedule has 6 fields.
    run_ends(&db).await;
    let fast = cron_trigger(&db, "*/2 * * * * *", T0 + 2_000).await;
    scheduler.fire_due(at(T0 + 2_000)).await.unwrap();
    assert_eq!(next_due(&db, fast).await, T0 + 4_000);

    // A second scheduler on the same database (another process) does not
    // fire a tick the first one fired.
    run_ends(&db).await;
    let other = CronScheduler::new(db.clone(), Arc::default());
    scheduler.fire_due(at(T0 + 4_000)).await.unwrap();
    other.fire_due(at(T0 + 4_000)).await.unwrap();
    assert_eq!(queued(&db).await.len(), 1);
}
both_backends!(cron_suite, ticks_fire_when_due_once_and_never_twice);
