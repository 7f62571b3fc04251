//! Triggers: what they are, and the admin API's operations on them.

use picloud_shared::api_error::ErrorCode;
use picloud_shared::events::{DEFAULT_MAX_ATTEMPTS, KvEvent, MAX_ATTEMPTS_RANGE};
use picloud_shared::{AppId, ScriptId, TriggerId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::app_ref::AppRef;
use crate::authz::{self, Capability, Principal};
use crate::error::{Error, Result};
use crate::repo;
use crate::service::Manager;
use crate::with_db;

use super::*;

// ----- triggers -----

/// A trigger as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Trigger {
    pub id: TriggerId,
    pub app_id: AppId,
    pub kind: TriggerKind,
    pub script_id: ScriptId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// A KV trigger's events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<KvEvent>>,
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

/// What fires a trigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// Writes to a KV collection.
    Kv,
    /// A schedule.
    Cron,
}

impl TriggerKind {
    /// The `triggers.kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Kv => "kv",
            TriggerKind::Cron => "cron",
        }
    }

    /// A `triggers.kind` column: `cron`, else a KV trigger (the only other
    /// kind there is).
    pub(crate) fn of_column(kind: &str) -> TriggerKind {
        match kind {
            "cron" => TriggerKind::Cron,
            _ => TriggerKind::Kv,
        }
    }
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
        events: Vec<KvEvent>,
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
        let kind = TriggerKind::of_column(&r.kind);
        let kv = kind == TriggerKind::Kv;
        Trigger {
            id: TriggerId(r.id),
            app_id: AppId(r.app_id),
            kind,
            script_id: ScriptId(r.script_id),
            collection: r.collection,
            events: kv.then(|| KvEvent::of_flags(r.on_set, r.on_delete)),
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
        app: &AppRef,
        new: NewTrigger,
    ) -> Result<Trigger> {
        let app = self.app_for(p, app, Capability::WriteTriggers).await?;
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
                picloud_shared::kv::CollectionName::parse(&collection)
                    .map_err(|e| invalid(format!("collection: {e}")))?;
                if events.is_empty() {
                    return Err(invalid(
                        "events: name at least one of \"set\" and \"delete\"",
                    ));
                }
                let on_set = events.contains(&KvEvent::Set);
                let on_delete = events.contains(&KvEvent::Delete);
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

    pub async fn triggers(&self, p: &Principal, app: &AppRef) -> Result<Vec<Trigger>> {
        let app = self.app_for(p, app, Capability::ReadTriggers).await?;
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
}
