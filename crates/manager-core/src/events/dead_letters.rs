//! Dead letters: the events whose trigger ran out of attempts, and the
//! admin API's operations on them.

use picloud_shared::{AppId, DeadLetterId, TriggerId};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::app_ref::AppRef;
use crate::authz::{self, Capability, Principal};
use crate::dialect::Announce as _;
use crate::error::{Error, Result};
use crate::service::Manager;
use crate::with_db;

use super::*;

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

impl Manager {
    pub async fn dead_letters(&self, p: &Principal, app: &AppRef) -> Result<Vec<DeadLetter>> {
        let app = self.app_for(p, app, Capability::ReadTriggers).await?;
        let sql = format!("SELECT {COLUMNS} FROM dead_letters WHERE app_id = $1 ORDER BY id");
        let rows: Vec<DeadLetterRow> = with_db!(&self.db, pool =>
            sqlx::query_as(&sql).bind(app.id.0).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(DeadLetter::from).collect())
    }

    async fn dead_letter_by_id(&self, id: DeadLetterId) -> Result<Option<(DeadLetter, u32)>> {
        let sql = format!("SELECT {COLUMNS} FROM dead_letters WHERE id = $1");
        let row: Option<DeadLetterRow> = with_db!(&self.db, pool =>
            sqlx::query_as(&sql).bind(id.0).fetch_optional(pool).await)?;
        Ok(row.map(|r| {
            let depth = u32::try_from(r.depth).unwrap_or(1);
            (DeadLetter::from(r), depth)
        }))
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
        let requeued = with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(REQUEUE)
                .bind(id.0)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query(DELETE).bind(id.0).execute(&mut *tx).await?;
            if n > 0 {
                tx.announce_events().await?;
            }
            tx.commit().await?;
            n
        });
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

const COLUMNS: &str = "id, app_id, trigger_id, event, error, attempts, created_at, depth";

#[derive(sqlx::FromRow)]
struct DeadLetterRow {
    id: Uuid,
    app_id: Uuid,
    trigger_id: Uuid,
    event: Json<Value>,
    error: String,
    attempts: i32,
    created_at: OffsetDateTime,
    /// The trigger depth of its event, for a retry.
    depth: i32,
}

impl From<DeadLetterRow> for DeadLetter {
    fn from(r: DeadLetterRow) -> Self {
        DeadLetter {
            id: DeadLetterId(r.id),
            app_id: AppId(r.app_id),
            trigger_id: TriggerId(r.trigger_id),
            event: r.event.0,
            error: r.error,
            attempts: u32::try_from(r.attempts).unwrap_or(0),
            created_at: r.created_at,
        }
    }
}
