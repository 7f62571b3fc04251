//! Cron triggers: the schedule syntax, and the scheduler that turns each
//! due tick into an event for the dispatcher (invocation type
//! `scheduled`, `ctx.event = #{kind: "cron", schedule, scheduled_at}`).
//!
//! Each cron trigger keeps its next tick (`triggers.next_due`). The
//! scheduler sleeps until the earliest one (no per-second tick), fires
//! what is due, and computes the next tick from the time it fired, so a
//! tick missed while the server was down fires once at start, not once
//! per missed tick. A tick is skipped while the trigger's previous run is
//! still queued or running: a run is never started twice. Advancing
//! `next_due` is a compare-and-set, so processes sharing one database fire
//! each tick once.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::Cron;
use picloud_shared::TriggerId;
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::db::Db;
use crate::dialect::{Announce as _, Dialect as _};
use crate::error::Result;
use crate::repo;
use crate::with_db;

pub use picloud_shared::cron::parse;

/// The first tick strictly after `after` (milliseconds since the epoch).
pub fn next_after(cron: &Cron, after_ms: i64) -> Option<i64> {
    let after = DateTime::<Utc>::from_timestamp_millis(after_ms)?;
    cron.find_next_occurrence(&after, false)
        .ok()
        .map(|t| t.timestamp_millis())
}

fn ms_of(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn time_of(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Turns due ticks into events.
pub struct CronScheduler {
    db: Db,
    /// Poked when cron triggers change, so the scheduler looks again.
    pub changed: Notify,
    /// The event dispatcher's wake-up.
    events: Arc<Notify>,
}

impl CronScheduler {
    pub(crate) fn new(db: Db, events: Arc<Notify>) -> Arc<CronScheduler> {
        Arc::new(CronScheduler {
            db,
            changed: Notify::new(),
            events,
        })
    }

    /// Starts the scheduler task: it sleeps until the next tick, or until
    /// cron triggers change.
    pub(crate) fn spawn(self: &Arc<Self>) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let wait = match this.fire_due(OffsetDateTime::now_utc()).await {
                    Ok(Some(next)) => Some(
                        (next - OffsetDateTime::now_utc())
                            .max(time::Duration::ZERO)
                            .unsigned_abs(),
                    ),
                    Ok(None) => None,
                    Err(e) => {
                        tracing::error!(error = %e, "the cron scheduler failed; trying again in 5 s");
                        Some(Duration::from_secs(5))
                    }
                };
                let sleep = async {
                    match wait {
                        Some(d) => tokio::time::sleep(d).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = this.changed.notified() => {}
                    () = sleep => {}
                }
            }
        });
    }

    /// Fires every cron trigger due at `now` (once each, however many ticks
    /// it missed), and returns when the next tick is due. Public so tests
    /// can drive it with a clock of their own.
    pub(crate) async fn fire_due(&self, now: OffsetDateTime) -> Result<Option<OffsetDateTime>> {
        const LIST: &str = "SELECT id, schedule, next_due FROM triggers WHERE kind = 'cron'";
        let rows: Vec<(Uuid, Option<String>, Option<i64>)> =
            with_db!(&self.db, pool => sqlx::query_as(LIST).fetch_all(pool).await)?;
        let now_ms = ms_of(now);
        let mut wake: Option<i64> = None;
        let mut fired = false;
        for (id, schedule, due) in rows {
            let schedule = schedule.unwrap_or_default();
            let cron = match parse(&schedule) {
                Ok(cron) => cron,
                Err(e) => {
                    tracing::error!(trigger = %id, error = %e, "a stored schedule does not parse");
                    continue;
                }
            };
            let next = next_after(&cron, now_ms);
            match due {
                Some(due) if due <= now_ms => {
                    if self.fire(TriggerId(id), &schedule, due, next).await? {
                        fired = true;
                    }
                }
                Some(due) => {
                    wake = Some(wake.map_or(due, |w| w.min(due)));
                    continue;
                }
                None => {
                    self.advance(TriggerId(id), None, next).await?;
                }
            }
            if let Some(next) = next {
                wake = Some(wake.map_or(next, |w| w.min(next)));
            }
        }
        if fired {
            self.events.notify_one();
        }
        Ok(wake.map(time_of))
    }

    /// Moves a trigger's next tick from `from` to `to`; false if another
    /// process (or a change to the trigger) moved it first.
    async fn advance(&self, id: TriggerId, from: Option<i64>, to: Option<i64>) -> Result<bool> {
        const SQL: &str = "UPDATE triggers SET next_due = $2 WHERE id = $1 \
             AND (next_due = $3 OR (next_due IS NULL AND $3 IS NULL))";
        let n = with_db!(&self.db, pool => sqlx::query(SQL).bind(id.0).bind(to).bind(from)
            .execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Fires the tick due at `due`: advances the trigger to `next` and, unless
    /// its previous run is still queued or running, queues a run, in one
    /// transaction. Returns whether a run was queued.
    async fn fire(
        &self,
        id: TriggerId,
        schedule: &str,
        due: i64,
        next: Option<i64>,
    ) -> Result<bool> {
        const ADVANCE: &str = "UPDATE triggers SET next_due = $2 WHERE id = $1 AND next_due = $3";
        const QUEUE: &str = "INSERT INTO events (app_id, trigger_id, kind, script_id, collection, \
             key, event, depth, max_attempts, due_at) \
             SELECT t.app_id, t.id, 'cron', t.script_id, '', '', {EVENT}, 0, 1, $3 \
             FROM triggers t WHERE t.id = $1 \
             AND NOT EXISTS (SELECT 1 FROM events e WHERE e.trigger_id = t.id)";
        let event = json!({
            "kind": "cron",
            "schedule": schedule,
            "scheduled_at": repo::rfc3339(time_of(due)),
        });
        let now = ms_of(OffsetDateTime::now_utc());
        let queued = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let moved = sqlx::query(ADVANCE)
                .bind(id.0)
                .bind(next)
                .bind(due)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if moved == 0 {
                return Ok(false);
            }
            let n = sqlx::query(&QUEUE.replace("{EVENT}", &pool.json_param(2)))
                .bind(id.0)
                .bind(event.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n > 0 {
                tx.announce_events().await?;
            }
            tx.commit().await?;
            n
        });
        if queued == 0 {
            tracing::info!(trigger = %id, "a cron tick was skipped: the previous run has not ended");
        }
        Ok(queued > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_have_5_or_6_fields_in_utc() {
        // 2026-01-01T00:00:00Z
        let t0 = 1_767_225_600_000;
        let every_5_min = parse("*/5 * * * *").unwrap();
        assert_eq!(next_after(&every_5_min, t0), Some(t0 + 5 * 60_000));
        assert_eq!(next_after(&every_5_min, t0 + 1), Some(t0 + 5 * 60_000));
        let every_2_s = parse("*/2 * * * * *").unwrap();
        assert_eq!(next_after(&every_2_s, t0), Some(t0 + 2_000));
        let nine_on_mondays = parse("0 9 * * MON").unwrap();
        // 2026-01-05 is a Monday.
        assert_eq!(
            next_after(&nine_on_mondays, t0),
            Some(t0 + 4 * 86_400_000 + 9 * 3_600_000)
        );
        // Every example in docs/events.md parses.
        for good in [
            "*/5 * * * *",
            "0 * * * *",
            "30 2 * * *",
            "0 9 * * MON-FRI",
            "0 0 1 * *",
            "0 0 L * *",
            "*/10 * * * * *",
            "0 0 12 * * SAT",
            "0 0 * * 7",
            "0 9 * * FRI#2",
            "0 9 15W * *",
            "0 9-17/2 1,15 * *",
        ] {
            assert!(parse(good).is_ok(), "{good:?}: {:?}", parse(good).err());
        }
        // Day of month and day of week both restricted: either matches.
        let first_or_monday = parse("0 0 1 * MON").unwrap();
        assert_eq!(next_after(&first_or_monday, t0), Some(t0 + 4 * 86_400_000));
        // Sunday is 0 and 7: 2026-01-04 is a Sunday.
        for sunday in ["0 0 * * 0", "0 0 * * 7", "0 0 * * SUN"] {
            let s = parse(sunday).unwrap();
            assert_eq!(next_after(&s, t0), Some(t0 + 3 * 86_400_000), "{sunday}");
        }
        for bad in [
            "",
            "* * * *",
            "* * * * * * *",
            "61 * * * *",
            "* * * * FOO",
            "every day",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
