//! The durable event queue the dispatcher claims events from and settles
//! them into.

use std::sync::Arc;
use std::time::Duration;

use picloud_shared::events::MAX_EVENT_DEPTH;
use picloud_shared::{
    AppId, BoxFuture, DeadLetterId, Delivery, EventKind, EventQueue, PendingEvent, ScriptId,
    TriggerId,
};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::types::Json;
use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::db::Db;
use crate::dialect::{Announce as _, Dialect as _};
use crate::error::{Error, Result};
use crate::repo;
use crate::with_db;

use super::*;

/// The durable event queue, on the database.
pub struct EventStore {
    db: Db,
    /// Woken when events are added (by a KV write, a retry, a dead letter).
    pub notify: Arc<Notify>,
    /// The first retry waits about this long; each next one twice as long.
    retry_base: Duration,
    /// How long a claim holds: the longest a handler may run, and a margin.
    /// A claim of a process that died lapses after it.
    lease: Duration,
}

/// Retries wait at most this long.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// A store alone (without a manager) can listen for other processes'
/// events itself.
impl crate::bus::Subscriber for EventStore {
    fn changed(&self, change: crate::bus::Change) -> BoxFuture<'_, ()> {
        if change == crate::bus::Change::Events {
            self.notify.notify_one();
        }
        Box::pin(std::future::ready(()))
    }
    fn untrusted(&self) {}
    fn resync(&self) -> BoxFuture<'_, ()> {
        // Events announced while the connection was down: look now.
        self.notify.notify_one();
        Box::pin(std::future::ready(()))
    }
}

impl EventStore {
    /// Events waiting for delivery (or being delivered) and dead letters,
    /// over every app (for `/metrics`).
    pub(crate) async fn backlog(&self) -> Result<(i64, i64)> {
        const SQL: &str =
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM dead_letters)";
        Ok(with_db!(&self.db, pool => sqlx::query_as(SQL).fetch_one(pool).await)?)
    }

    pub async fn open(db: Db, retry_base: Duration, lease: Duration) -> Result<Arc<EventStore>> {
        // One process owns an SQLite file: claims left by a previous run of
        // it (killed mid-delivery) are void at once.
        let notify = Arc::new(Notify::new());
        match &db {
            Db::Sqlite(pool, _) => {
                sqlx::query("UPDATE events SET lease_until = NULL WHERE lease_until IS NOT NULL")
                    .execute(pool)
                    .await?;
            }
            // Other processes sharing the database add events too: their
            // announcements reach `notify` through the process's LISTEN
            // connection (`bus::listen` with this store or the manager).
            Db::Postgres(_) => {}
        }
        Ok(Arc::new(EventStore {
            db,
            notify,
            retry_base,
            lease,
        }))
    }

    /// The wait before attempt `attempt + 1` (`attempt` ≥ 1 failed so far):
    /// exponential, capped, with ±25% jitter so retries of many events do
    /// not fall due together.
    fn backoff(&self, attempt: u32) -> Duration {
        use rand::Rng as _;
        let exp = self
            .retry_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(MAX_BACKOFF);
        exp.mul_f64(rand::rng().random_range(0.75..=1.25))
    }

    async fn claim(&self, max: usize) -> Result<Vec<PendingEvent>> {
        const CLAIM: &str = "UPDATE events SET lease_until = $1 WHERE seq IN (\
             SELECT e.seq FROM events e WHERE e.due_at <= $2 \
             AND (e.lease_until IS NULL OR e.lease_until <= $2) \
             AND NOT EXISTS (SELECT 1 FROM events p WHERE p.trigger_id = e.trigger_id \
             AND p.collection = e.collection AND p.key = e.key AND p.seq < e.seq) \
             ORDER BY e.seq LIMIT $3 {LOCK}) \
             RETURNING seq, app_id, trigger_id, kind, script_id, event, depth, attempts, max_attempts";
        let now = now_ms();
        let until = now.saturating_add(ms(self.lease));
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let mut events = with_db!(&self.db, pool => {
            let rows = sqlx::query(&CLAIM.replace("{LOCK}", pool.skip_locked()))
                .bind(until)
                .bind(now)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| pending(r, r.try_get::<Json<Value>, _>("event")?.0))
                .collect::<Result<Vec<_>>>()?
        });
        events.sort_by_key(|e| e.seq);
        Ok(events)
    }

    async fn next(&self) -> Result<Option<OffsetDateTime>> {
        const SQL: &str = "SELECT MIN(CASE WHEN e.lease_until IS NULL THEN e.due_at \
             ELSE e.lease_until END) FROM events e \
             WHERE NOT EXISTS (SELECT 1 FROM events p WHERE p.trigger_id = e.trigger_id \
             AND p.collection = e.collection AND p.key = e.key AND p.seq < e.seq)";
        let next: Option<i64> =
            with_db!(&self.db, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)?;
        Ok(next.and_then(|ms| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
        }))
    }

    async fn settle_event(&self, ev: &PendingEvent, outcome: Delivery) -> Result<()> {
        const DELETE: &str = "DELETE FROM events WHERE seq = $1";
        const DELIVERED: &str = "UPDATE triggers SET delivered = delivered + 1 WHERE id = $1";
        const RETRY: &str = "UPDATE events SET attempts = $2, last_error = $3, due_at = $4, \
             lease_until = NULL WHERE seq = $1";
        const RETRIED: &str = "UPDATE triggers SET retried = retried + 1 WHERE id = $1";
        let attempts = ev.attempts + 1;
        let error = match outcome {
            Delivery::Delivered => {
                with_db!(&self.db, pool => {
                    let mut tx = pool.begin().await?;
                    sqlx::query(DELETE).bind(ev.seq).execute(&mut *tx).await?;
                    if ev.kind != EventKind::DeadLetter {
                        sqlx::query(DELIVERED).bind(ev.trigger_id.0).execute(&mut *tx).await?;
                    }
                    tx.commit().await
                })?;
                return Ok(());
            }
            Delivery::Failed(error)
                if attempts < ev.max_attempts && ev.depth <= MAX_EVENT_DEPTH =>
            {
                let due = now_ms().saturating_add(ms(self.backoff(attempts)));
                with_db!(&self.db, pool => {
                    let mut tx = pool.begin().await?;
                    sqlx::query(RETRY).bind(ev.seq).bind(i32::try_from(attempts).unwrap_or(i32::MAX))
                        .bind(&error).bind(due).execute(&mut *tx).await?;
                    if ev.kind == EventKind::Kv {
                        sqlx::query(RETRIED).bind(ev.trigger_id.0).execute(&mut *tx).await?;
                    }
                    tx.commit().await
                })?;
                // The dispatcher learns the new due time when it next asks.
                self.notify.notify_one();
                return Ok(());
            }
            // Out of attempts (or cut off): a dead letter.
            Delivery::Failed(error) => error,
        };
        if ev.kind != EventKind::Kv {
            // A dead-letter handler that keeps failing is not dead-lettered
            // again, nor is a cron run (its execution record has the error):
            // say so and let the event go.
            tracing::warn!(trigger = %ev.trigger_id, kind = ev.kind.as_str(), error = %error,
                attempts, "a handler failed every attempt");
            with_db!(&self.db, pool => sqlx::query(DELETE).bind(ev.seq).execute(pool).await.map(drop))?;
            return Ok(());
        }
        self.dead_letter(ev, &error, attempts).await
    }

    /// Moves an event to the dead letters, counts it, and queues an event
    /// for the trigger's dead-letter handler, in one transaction.
    async fn dead_letter(&self, ev: &PendingEvent, error: &str, attempts: u32) -> Result<()> {
        const INSERT: &str = "INSERT INTO dead_letters (id, app_id, trigger_id, collection, key, \
             event, depth, error, attempts, created_at) \
             SELECT $2, app_id, trigger_id, collection, key, event, depth, $3, $4, $5 \
             FROM events WHERE seq = $1";
        const DELETE: &str = "DELETE FROM events WHERE seq = $1";
        const COUNT: &str = "UPDATE triggers SET dead_lettered = dead_lettered + 1 WHERE id = $1";
        const HANDLER: &str = "INSERT INTO events (app_id, trigger_id, kind, script_id, collection, \
             key, event, depth, max_attempts, due_at) \
             SELECT t.app_id, t.id, 'dead_letter', t.dead_letter_script_id, '', $2, {EVENT}, $4, \
             t.max_attempts, $5 FROM triggers t \
             WHERE t.id = $1 AND t.dead_letter_script_id IS NOT NULL";
        let id = DeadLetterId::new();
        let attempts_i = i32::try_from(attempts).unwrap_or(i32::MAX);
        let handler_event = json!({
            "kind": "dead_letter", "event": ev.event, "error": error, "attempts": attempts,
        })
        .to_string();
        let depth = i32::try_from(ev.depth).unwrap_or(i32::MAX);
        let queued = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(INSERT)
                .bind(ev.seq)
                .bind(id.0)
                .bind(error)
                .bind(attempts_i)
                .bind(repo::now())
                .execute(&mut *tx)
                .await?;
            sqlx::query(DELETE).bind(ev.seq).execute(&mut *tx).await?;
            sqlx::query(COUNT)
                .bind(ev.trigger_id.0)
                .execute(&mut *tx)
                .await?;
            let n = sqlx::query(&HANDLER.replace("{EVENT}", &pool.json_param(3)))
                .bind(ev.trigger_id.0)
                .bind(id.0.to_string())
                .bind(&handler_event)
                .bind(depth)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n > 0 {
                tx.announce_events().await?;
            }
            tx.commit().await?;
            n
        });
        if queued > 0 {
            self.notify.notify_one();
        }
        Ok(())
    }
}

fn pending<R: Row>(r: &R, event: Value) -> Result<PendingEvent>
where
    Uuid: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i32: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
{
    let kind: String = r.try_get("kind")?;
    let u = |v: i32| u32::try_from(v).unwrap_or(0);
    Ok(PendingEvent {
        seq: r.try_get("seq")?,
        app_id: AppId(r.try_get("app_id")?),
        trigger_id: TriggerId(r.try_get("trigger_id")?),
        kind: EventKind::parse(&kind)
            .ok_or_else(|| Error::Internal(format!("unknown event kind {kind:?}")))?,
        script_id: ScriptId(r.try_get("script_id")?),
        event,
        depth: u(r.try_get("depth")?),
        attempts: u(r.try_get("attempts")?),
        max_attempts: u(r.try_get("max_attempts")?),
    })
}

fn shared_err(e: Error) -> picloud_shared::Error {
    e.into_shared("the event queue")
}

impl EventQueue for EventStore {
    fn claim_due(&self, max: usize) -> BoxFuture<'_, picloud_shared::Result<Vec<PendingEvent>>> {
        Box::pin(async move { self.claim(max).await.map_err(shared_err) })
    }

    fn next_due(&self) -> BoxFuture<'_, picloud_shared::Result<Option<OffsetDateTime>>> {
        Box::pin(async move { self.next().await.map_err(shared_err) })
    }

    fn settle<'a>(
        &'a self,
        event: &'a PendingEvent,
        outcome: Delivery,
    ) -> BoxFuture<'a, picloud_shared::Result<()>> {
        Box::pin(async move { self.settle_event(event, outcome).await.map_err(shared_err) })
    }

    fn changed(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.notify.notified())
    }
}
