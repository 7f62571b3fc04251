//! Triggers, the event outbox and dead letters (contract.md, "Triggers";
//! docs/events.md).
//!
//! A KV write and the events it fires are written in one transaction
//! ([`fire_kv_sqlite`] / [`set_kv_postgres`], called by the KV store), so an
//! acknowledged write always yields its events and a failed one none.
//! [`EventStore`] is the durable queue the dispatcher (orchestrator) claims
//! events from and settles them into: delivered, retried with backoff, or
//! dead-lettered, with an event for the trigger's dead-letter handler.

use std::sync::Arc;
use std::time::Duration;

use picloud_shared::api_error::ErrorCode;
use picloud_shared::events::{DEFAULT_MAX_ATTEMPTS, MAX_ATTEMPTS_RANGE, MAX_EVENT_DEPTH};
use picloud_shared::{
    AppId, BoxFuture, DeadLetterId, Delivery, EventKind, EventQueue, PendingEvent, ScriptId,
    TriggerId,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json;
use sqlx::{PgPool, Row};
use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::authz::{self, Capability, Principal};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::repo;
use crate::service::Manager;
use crate::with_db;

// ----- triggers -----

/// A trigger as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Trigger {
    pub id: TriggerId,
    pub app_id: AppId,
    /// `kv` or `cron`.
    #[schema(value_type = String, pattern = "^(kv|cron)$")]
    pub kind: &'static str,
    pub script_id: ScriptId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// A KV trigger's events: `set`, `delete`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>)]
    pub events: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_script_id: Option<ScriptId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// A cron trigger's next tick (UTC).
    #[serde(
        with = "picloud_shared::timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_run_at: Option<OffsetDateTime>,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
    /// What the dispatcher did with this trigger's events.
    pub stats: TriggerStats,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TriggerStats {
    pub delivered: i64,
    pub retried: i64,
    pub dead_lettered: i64,
}

/// `POST /apps/{app}/triggers`.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NewTrigger {
    Kv {
        #[schema(pattern = "^[A-Za-z0-9_.-]{1,64}$")]
        collection: String,
        /// `set`, `delete` or both.
        #[schema(min_items = 1)]
        events: Vec<String>,
        script_id: ScriptId,
        /// Attempts before the event becomes a dead letter (default 3).
        #[schema(minimum = 1, maximum = 20)]
        max_attempts: Option<u32>,
        /// A script of the app that handles the dead letters.
        dead_letter_script_id: Option<ScriptId>,
    },
    Cron {
        /// 5-field cron, or 6 with seconds first, in UTC.
        schedule: String,
        script_id: ScriptId,
    },
}

const TRIGGER_COLUMNS: &str = "id, app_id, kind, script_id, collection, on_set, on_delete, \
     max_attempts, dead_letter_script_id, schedule, next_due, created_at, delivered, retried, \
     dead_lettered";

#[derive(sqlx::FromRow)]
struct TriggerRow {
    id: Uuid,
    app_id: Uuid,
    kind: String,
    script_id: Uuid,
    collection: Option<String>,
    on_set: bool,
    on_delete: bool,
    max_attempts: i32,
    dead_letter_script_id: Option<Uuid>,
    schedule: Option<String>,
    next_due: Option<i64>,
    created_at: OffsetDateTime,
    delivered: i64,
    retried: i64,
    dead_lettered: i64,
}

impl From<TriggerRow> for Trigger {
    fn from(r: TriggerRow) -> Self {
        let kv = r.kind == "kv";
        let mut events = Vec::new();
        if r.on_set {
            events.push("set");
        }
        if r.on_delete {
            events.push("delete");
        }
        Trigger {
            id: TriggerId(r.id),
            app_id: AppId(r.app_id),
            kind: if kv { "kv" } else { "cron" },
            script_id: ScriptId(r.script_id),
            collection: r.collection,
            events: kv.then_some(events),
            max_attempts: kv.then(|| u32::try_from(r.max_attempts).unwrap_or(1)),
            dead_letter_script_id: r.dead_letter_script_id.map(ScriptId),
            schedule: r.schedule,
            next_run_at: r.next_due.and_then(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
            }),
            created_at: r.created_at,
            stats: TriggerStats {
                delivered: r.delivered,
                retried: r.retried,
                dead_lettered: r.dead_lettered,
            },
        }
    }
}

/// A dead letter as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    pub id: DeadLetterId,
    pub app_id: AppId,
    pub trigger_id: TriggerId,
    /// The event that failed (`ctx.event` of its attempts).
    pub event: Value,
    /// The last attempt's error.
    pub error: String,
    pub attempts: u32,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid(ErrorCode::BadRequest, message)
}

impl Manager {
    /// A script of `app`, for a trigger: another app's script, or none, is
    /// the caller's mistake (400), named by `field`.
    async fn trigger_script(&self, app: AppId, id: ScriptId, field: &str) -> Result<()> {
        // The data plane's catalog: a cached read, as the dispatcher's.
        match self.current_script(id).await? {
            Some(s) if s.app_id == app => Ok(()),
            _ => Err(invalid(format!("{field}: no script {id} in this app"))),
        }
    }

    pub async fn create_trigger(
        &self,
        p: &Principal,
        app: &str,
        new: NewTrigger,
    ) -> Result<Trigger> {
        let app = self.resolve_app(Some(app)).await?;
        authz::require(p, Capability::WriteTriggers, app.id, "app")?;
        let id = TriggerId::new();
        let at = repo::now();
        let row = match new {
            NewTrigger::Kv {
                collection,
                events,
                script_id,
                max_attempts,
                dead_letter_script_id,
            } => {
                picloud_shared::kv::check_collection(&collection)
                    .map_err(|e| invalid(format!("collection: {e}")))?;
                if events.is_empty() {
                    return Err(invalid(
                        "events: name at least one of \"set\" and \"delete\"",
                    ));
                }
                let mut on_set = false;
                let mut on_delete = false;
                for e in &events {
                    match e.as_str() {
                        "set" => on_set = true,
                        "delete" => on_delete = true,
                        other => {
                            return Err(invalid(format!(
                                "events: {other:?} is not an event; use \"set\" and \"delete\""
                            )));
                        }
                    }
                }
                let max_attempts = max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
                if !MAX_ATTEMPTS_RANGE.contains(&max_attempts) {
                    return Err(invalid(format!(
                        "max_attempts is {} to {}; got {max_attempts}",
                        MAX_ATTEMPTS_RANGE.start(),
                        MAX_ATTEMPTS_RANGE.end()
                    )));
                }
                self.trigger_script(app.id, script_id, "script_id").await?;
                if let Some(dl) = dead_letter_script_id {
                    self.trigger_script(app.id, dl, "dead_letter_script_id")
                        .await?;
                }
                // Before the trigger exists, writes to the collection start
                // writing their events.
                self.kv.watch(app.id, &collection);
                const SQL: &str = "INSERT INTO triggers (id, app_id, kind, script_id, collection, \
                     on_set, on_delete, max_attempts, dead_letter_script_id, created_at) \
                     VALUES ($1, $2, 'kv', $3, $4, $5, $6, $7, $8, $9)";
                let max = i32::try_from(max_attempts).unwrap_or(1);
                with_db!(&self.db, pool => sqlx::query(SQL).bind(id.0).bind(app.id.0)
                    .bind(script_id.0).bind(&collection).bind(on_set).bind(on_delete)
                    .bind(max).bind(dead_letter_script_id.map(|s| s.0)).bind(at)
                    .execute(pool).await.map(drop))?;
                id
            }
            NewTrigger::Cron {
                schedule,
                script_id,
            } => {
                let cron =
                    crate::cron::parse(&schedule).map_err(|e| invalid(format!("schedule: {e}")))?;
                self.trigger_script(app.id, script_id, "script_id").await?;
                let next_due = crate::cron::next_after(&cron, now_ms());
                const SQL: &str = "INSERT INTO triggers (id, app_id, kind, script_id, schedule, \
                     max_attempts, next_due, created_at) VALUES ($1, $2, 'cron', $3, $4, 1, $5, $6)";
                with_db!(&self.db, pool => sqlx::query(SQL).bind(id.0).bind(app.id.0)
                    .bind(script_id.0).bind(&schedule).bind(next_due).bind(at)
                    .execute(pool).await.map(drop))?;
                self.cron.changed.notify_one();
                id
            }
        };
        let trigger = self
            .trigger_by_id(row)
            .await?
            .ok_or(Error::NotFound("trigger"))?;
        self.audit(
            p,
            Some(app.id),
            "trigger.create",
            Some(trigger.id.to_string()),
            json!({ "kind": trigger.kind, "script_id": trigger.script_id,
                    "collection": trigger.collection, "schedule": trigger.schedule }),
        )
        .await;
        Ok(trigger)
    }

    async fn trigger_by_id(&self, id: TriggerId) -> Result<Option<Trigger>> {
        let sql = format!("SELECT {TRIGGER_COLUMNS} FROM triggers WHERE id = $1");
        let row: Option<TriggerRow> = with_db!(&self.db, pool => sqlx::query_as(&sql)
            .bind(id.0).fetch_optional(pool).await)?;
        Ok(row.map(Trigger::from))
    }

    pub async fn triggers(&self, p: &Principal, app: &str) -> Result<Vec<Trigger>> {
        let app = self.resolve_app(Some(app)).await?;
        authz::require(p, Capability::ReadTriggers, app.id, "app")?;
        let sql = format!(
            "SELECT {TRIGGER_COLUMNS} FROM triggers WHERE app_id = $1 ORDER BY created_at, id"
        );
        let rows: Vec<TriggerRow> = with_db!(&self.db, pool => sqlx::query_as(&sql)
            .bind(app.id.0).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(Trigger::from).collect())
    }

    pub async fn delete_trigger(&self, p: &Principal, id: TriggerId) -> Result<()> {
        let trigger = self
            .trigger_by_id(id)
            .await?
            .ok_or(Error::NotFound("trigger"))?;
        authz::require(p, Capability::WriteTriggers, trigger.app_id, "trigger")?;
        const SQL: &str = "DELETE FROM triggers WHERE id = $1";
        let n = with_db!(&self.db, pool => sqlx::query(SQL).bind(id.0).execute(pool).await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(Error::NotFound("trigger"));
        }
        self.audit(
            p,
            Some(trigger.app_id),
            "trigger.delete",
            Some(id.to_string()),
            json!({ "kind": trigger.kind, "script_id": trigger.script_id }),
        )
        .await;
        Ok(())
    }

    // ----- dead letters -----

    pub async fn dead_letters(&self, p: &Principal, app: &str) -> Result<Vec<DeadLetter>> {
        let app = self.resolve_app(Some(app)).await?;
        authz::require(p, Capability::ReadTriggers, app.id, "app")?;
        const SQL: &str = "SELECT id, app_id, trigger_id, event, error, attempts, created_at \
             FROM dead_letters WHERE app_id = $1 ORDER BY id";
        with_db!(&self.db, pool => {
            let rows = sqlx::query(SQL).bind(app.id.0).fetch_all(pool).await?;
            rows.iter().map(|r| dead_letter_of(&self.db, r)).collect()
        })
    }

    async fn dead_letter_by_id(&self, id: DeadLetterId) -> Result<Option<(DeadLetter, u32)>> {
        const SQL: &str = "SELECT id, app_id, trigger_id, event, error, attempts, created_at, depth \
             FROM dead_letters WHERE id = $1";
        with_db!(&self.db, pool => {
            let row = sqlx::query(SQL).bind(id.0).fetch_optional(pool).await?;
            let Some(row) = row else { return Ok(None) };
            let depth: i32 = row.try_get("depth")?;
            Ok(Some((
                dead_letter_of(&self.db, &row)?,
                u32::try_from(depth).unwrap_or(1),
            )))
        })
    }

    /// Puts a dead letter's event back in the queue, with fresh attempts.
    pub async fn retry_dead_letter(&self, p: &Principal, id: DeadLetterId) -> Result<()> {
        let (dl, depth) = self
            .dead_letter_by_id(id)
            .await?
            .ok_or(Error::NotFound("dead letter"))?;
        authz::require(p, Capability::WriteTriggers, dl.app_id, "dead letter")?;
        const REQUEUE: &str = "INSERT INTO events (app_id, trigger_id, kind, script_id, \
             collection, key, event, depth, max_attempts, due_at) \
             SELECT d.app_id, d.trigger_id, 'kv', t.script_id, d.collection, d.key, d.event, d.depth, \
             t.max_attempts, $2 FROM dead_letters d JOIN triggers t ON t.id = d.trigger_id \
             WHERE d.id = $1";
        const DELETE: &str = "DELETE FROM dead_letters WHERE id = $1";
        let now = now_ms();
        let requeued = match &self.db {
            Db::Sqlite(pool, _) => {
                let mut tx = pool.begin().await?;
                let n = sqlx::query(REQUEUE)
                    .bind(id.0)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query(DELETE).bind(id.0).execute(&mut *tx).await?;
                tx.commit().await?;
                n
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let n = sqlx::query(REQUEUE)
                    .bind(id.0)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                sqlx::query(DELETE).bind(id.0).execute(&mut *tx).await?;
                if n > 0 {
                    notify_postgres(&mut *tx).await?;
                }
                tx.commit().await?;
                n
            }
        };
        if requeued == 0 {
            return Err(Error::NotFound("dead letter"));
        }
        self.events.notify.notify_one();
        self.audit(
            p,
            Some(dl.app_id),
            "dead_letter.retry",
            Some(id.to_string()),
            json!({ "trigger_id": dl.trigger_id, "depth": depth }),
        )
        .await;
        Ok(())
    }

    pub async fn delete_dead_letter(&self, p: &Principal, id: DeadLetterId) -> Result<()> {
        let (dl, _) = self
            .dead_letter_by_id(id)
            .await?
            .ok_or(Error::NotFound("dead letter"))?;
        authz::require(p, Capability::WriteTriggers, dl.app_id, "dead letter")?;
        const SQL: &str = "DELETE FROM dead_letters WHERE id = $1";
        let n = with_db!(&self.db, pool => sqlx::query(SQL).bind(id.0).execute(pool).await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(Error::NotFound("dead letter"));
        }
        self.audit(
            p,
            Some(dl.app_id),
            "dead_letter.delete",
            Some(id.to_string()),
            json!({ "trigger_id": dl.trigger_id }),
        )
        .await;
        Ok(())
    }
}

fn dead_letter_of<R: Row>(db: &Db, r: &R) -> Result<DeadLetter>
where
    Uuid: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i32: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    OffsetDateTime: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Json<Value>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
{
    let event = match db {
        Db::Sqlite(..) => parse_json(&r.try_get::<String, _>("event")?)?,
        Db::Postgres(_) => r.try_get::<Json<Value>, _>("event")?.0,
    };
    Ok(DeadLetter {
        id: DeadLetterId(r.try_get("id")?),
        app_id: AppId(r.try_get("app_id")?),
        trigger_id: TriggerId(r.try_get("trigger_id")?),
        event,
        error: r.try_get("error")?,
        attempts: u32::try_from(r.try_get::<i32, _>("attempts")?).unwrap_or(0),
        created_at: r.try_get("created_at")?,
    })
}

fn parse_json(s: &str) -> Result<Value> {
    serde_json::from_str(s).map_err(|e| Error::Internal(format!("stored JSON is damaged: {e}")))
}

fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

// ----- the outbox, written with KV writes -----

/// SQLite's outbox statement, bound by position (`?N`: rusqlite binds by
/// index, and SQLite numbers `$N` parameters in order of appearance).
const FIRE_SQLITE: &str = "INSERT INTO events (app_id, trigger_id, kind, script_id, collection, \
     key, event, depth, max_attempts, due_at) \
     SELECT t.app_id, t.id, 'kv', t.script_id, ?2, ?3, \
     json_object('kind', 'kv', 'op', ?4, 'collection', ?2, 'key', ?3, 'value', json(?5), 'at', ?6), \
     ?7, t.max_attempts, ?8 FROM triggers t \
     WHERE t.app_id = ?1 AND t.kind = 'kv' AND t.collection = ?2 \
     AND (CASE ?4 WHEN 'set' THEN t.on_set ELSE t.on_delete END)";

/// PostgreSQL: a KV delete and the events it fires, in one statement: $1
/// app, $2 collection, $3 key, $4 the time (text), $5 the events' depth,
/// $6 their due time (ms). Answers whether the key was there, and the
/// events fired.
const DELETE_AND_FIRE_POSTGRES: &str = "WITH gone AS (\
     DELETE FROM kv WHERE app_id = $1 AND collection = $2 AND key = $3 RETURNING 1), \
     fired AS (INSERT INTO events (app_id, trigger_id, kind, script_id, collection, \
     key, event, depth, max_attempts, due_at) \
     SELECT t.app_id, t.id, 'kv', t.script_id, $2, $3, \
     jsonb_build_object('kind', 'kv', 'op', 'delete', 'collection', $2::text, 'key', $3::text, \
     'value', NULL::jsonb, 'at', $4::text), \
     $5, t.max_attempts, $6 FROM triggers t \
     WHERE t.app_id = $1 AND t.kind = 'kv' AND t.collection = $2 AND t.on_delete \
     AND EXISTS (SELECT 1 FROM gone) RETURNING 1) \
     SELECT (SELECT count(*) FROM gone) > 0, (SELECT count(*) FROM fired)";

/// A KV write to fire events for, inside its own transaction.
pub(crate) struct KvWrite<'a> {
    pub app: AppId,
    pub collection: &'a str,
    pub key: &'a str,
    /// The new value's JSON, or `None` for a delete.
    pub value: Option<&'a str>,
    pub at: OffsetDateTime,
    /// The writer's trigger depth; its events are one deeper.
    pub depth: u32,
}

impl KvWrite<'_> {
    fn op(&self) -> &'static str {
        if self.value.is_some() {
            "set"
        } else {
            "delete"
        }
    }
}

/// Writes the events `w` fires, in the caller's SQLite transaction (the
/// KV store's writer connection); returns how many.
pub(crate) fn fire_kv_sqlite(
    conn: &rusqlite::Connection,
    w: &KvWrite<'_>,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(FIRE_SQLITE)?.execute((
        w.app.0.as_bytes().as_slice(),
        w.collection,
        w.key,
        w.op(),
        w.value,
        repo::rfc3339(w.at),
        i32::try_from(w.depth + 1).unwrap_or(i32::MAX),
        now_ms(),
    ))
}

/// The PostgreSQL channel that says events were added, for the dispatchers
/// of every process sharing the database.
pub const EVENTS_CHANNEL: &str = "picloud_events";

/// Tells every process's dispatcher that events were added, when the
/// caller's transaction commits (at once on a pool).
pub(crate) async fn notify_postgres<'c>(conn: impl sqlx::PgExecutor<'c>) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(EVENTS_CHANNEL)
        .execute(conn)
        .await
        .map(drop)
}

/// PostgreSQL: KV sets and the events they fire, in one statement (one
/// round trip, one commit): $1 apps, $2 collections, $3 keys, $4 values (JSON text),
/// $5 times, $6 the times as text, $7 the events' depths (arrays, one
/// element per write, no key twice), $8 the events' due time (ms). The rows
/// are written, and their events queued, in the arrays' order.
const SET_AND_FIRE_POSTGRES: &str = "WITH input AS (\
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], \
     $6::text[], $7::integer[]) WITH ORDINALITY \
     AS i(app_id, collection, key, value, updated_at, at_text, depth, ord)), \
     written AS (\
     INSERT INTO kv (app_id, collection, key, value, updated_at) \
     SELECT app_id, collection, key, value::jsonb, updated_at FROM input ORDER BY ord \
     ON CONFLICT (app_id, collection, key) \
     DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at RETURNING 1), \
     fired AS (INSERT INTO events (app_id, trigger_id, kind, script_id, collection, \
     key, event, depth, max_attempts, due_at) \
     SELECT t.app_id, t.id, 'kv', t.script_id, i.collection, i.key, \
     jsonb_build_object('kind', 'kv', 'op', 'set', 'collection', i.collection, 'key', i.key, \
     'value', i.value::jsonb, 'at', i.at_text), \
     i.depth, t.max_attempts, $8 FROM input i JOIN triggers t \
     ON t.app_id = i.app_id AND t.kind = 'kv' AND t.collection = i.collection COLLATE \"C\" \
     AND t.on_set \
     WHERE EXISTS (SELECT 1 FROM written) ORDER BY i.ord, t.id RETURNING 1) \
     SELECT count(*) FROM fired";

/// PostgreSQL: the sets `ws` (no key twice; one or a batch) and the events
/// they fire, in one statement, telling every process's dispatcher when
/// they fired any; returns how many. All or none are made.
pub(crate) async fn set_kv_postgres(pool: &PgPool, ws: &[KvWrite<'_>]) -> sqlx::Result<u64> {
    let depth = |w: &KvWrite<'_>| i32::try_from(w.depth + 1).unwrap_or(i32::MAX);
    let fired: i64 = sqlx::query_scalar(SET_AND_FIRE_POSTGRES)
        .bind(ws.iter().map(|w| w.app.0).collect::<Vec<_>>())
        .bind(ws.iter().map(|w| w.collection).collect::<Vec<_>>())
        .bind(ws.iter().map(|w| w.key).collect::<Vec<_>>())
        .bind(
            ws.iter()
                .map(|w| w.value.unwrap_or("null"))
                .collect::<Vec<_>>(),
        )
        .bind(ws.iter().map(|w| w.at).collect::<Vec<_>>())
        .bind(ws.iter().map(|w| repo::rfc3339(w.at)).collect::<Vec<_>>())
        .bind(ws.iter().map(depth).collect::<Vec<_>>())
        .bind(now_ms())
        .fetch_one(pool)
        .await?;
    notify_fired(pool, fired).await
}

/// PostgreSQL: deletes `w.key` and writes the events it fires, in one
/// statement, as [`set_kv_postgres`] does for sets; returns whether the key was there,
/// and how many events it fired.
pub(crate) async fn delete_kv_postgres(
    pool: &PgPool,
    w: &KvWrite<'_>,
) -> sqlx::Result<(bool, u64)> {
    let (removed, fired): (bool, i64) = sqlx::query_as(DELETE_AND_FIRE_POSTGRES)
        .bind(w.app.0)
        .bind(w.collection)
        .bind(w.key)
        .bind(repo::rfc3339(w.at))
        .bind(i32::try_from(w.depth + 1).unwrap_or(i32::MAX))
        .bind(now_ms())
        .fetch_one(pool)
        .await?;
    Ok((removed, notify_fired(pool, fired).await?))
}

/// After a commit that fired `fired` events, tells every process's
/// dispatcher (rarely: only writes that KV triggers watch fire any).
async fn notify_fired(pool: &PgPool, fired: i64) -> sqlx::Result<u64> {
    if fired > 0 {
        notify_postgres(pool).await?;
    }
    Ok(u64::try_from(fired).unwrap_or(0))
}

// ----- the queue -----

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
    pub async fn backlog(&self) -> Result<(i64, i64)> {
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
        let mut events = match &self.db {
            Db::Sqlite(pool, _) => {
                let rows = sqlx::query(&CLAIM.replace("{LOCK}", ""))
                    .bind(until)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|r| pending(r, parse_json(&r.try_get::<String, _>("event")?)?))
                    .collect::<Result<Vec<_>>>()?
            }
            Db::Postgres(pool) => {
                let rows = sqlx::query(&CLAIM.replace("{LOCK}", "FOR UPDATE SKIP LOCKED"))
                    .bind(until)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|r| pending(r, r.try_get::<Json<Value>, _>("event")?.0))
                    .collect::<Result<Vec<_>>>()?
            }
        };
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
        let queued = match &self.db {
            Db::Sqlite(pool, _) => {
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
                let n = sqlx::query(&HANDLER.replace("{EVENT}", "json($3)"))
                    .bind(ev.trigger_id.0)
                    .bind(id.0.to_string())
                    .bind(&handler_event)
                    .bind(depth)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                n
            }
            Db::Postgres(pool) => {
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
                let n = sqlx::query(&HANDLER.replace("{EVENT}", "$3::jsonb"))
                    .bind(ev.trigger_id.0)
                    .bind(id.0.to_string())
                    .bind(&handler_event)
                    .bind(depth)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n > 0 {
                    notify_postgres(&mut *tx).await?;
                }
                tx.commit().await?;
                n
            }
        };
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
    tracing::error!(error = %e, "the event queue failed");
    picloud_shared::Error::Backend(e.to_string())
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
