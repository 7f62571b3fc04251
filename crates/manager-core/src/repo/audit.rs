//! The `audit_log` table: its entries and the queries that write and read
//! them.

use picloud_shared::{AppId, UserId};
use serde::Serialize;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Db;
use crate::error::Result;
use crate::with_db;

/// One audit entry.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// UUIDv7: entries sort by id in time order; `?before=` pages with it.
    pub id: Uuid,
    #[serde(with = "picloud_shared::timestamp")]
    pub at: OffsetDateTime,
    /// The user who made the change (`None` once they are deleted).
    pub actor_id: Option<UserId>,
    pub actor: String,
    pub app_id: Option<AppId>,
    /// `script.create`, `member.set`, ...
    pub action: String,
    /// The id of what was changed.
    pub target_id: Option<String>,
    pub detail: serde_json::Value,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: Uuid,
    at: OffsetDateTime,
    actor_id: Option<Uuid>,
    actor_name: String,
    app_id: Option<Uuid>,
    action: String,
    target_id: Option<String>,
    detail: Json<serde_json::Value>,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            id: r.id,
            at: r.at,
            actor_id: r.actor_id.map(UserId),
            actor: r.actor_name,
            app_id: r.app_id.map(AppId),
            action: r.action,
            target_id: r.target_id,
            detail: r.detail.0,
        }
    }
}

/// Which entries to list.
pub enum AuditScope {
    Everything,
    /// Entries of these apps only.
    Apps(Vec<AppId>),
}

const AUDIT_COLUMNS: &str = "id, at, actor_id, actor_name, app_id, action, target_id, detail";

impl Db {
    pub(crate) async fn insert_audit(&self, e: &AuditEntry) -> Result<()> {
        let sql = format!(
            "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        with_db!(self, pool => sqlx::query(&sql).bind(e.id).bind(e.at).bind(e.actor_id.map(|u| u.0))
            .bind(&e.actor).bind(e.app_id.map(|a| a.0)).bind(&e.action).bind(&e.target_id)
            .bind(Json(&e.detail)).execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Newest first, older than `before` if given.
    pub(crate) async fn audit_entries(
        &self,
        scope: &AuditScope,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE id < $1");
        let apps: &[AppId] = match scope {
            AuditScope::Everything => &[],
            AuditScope::Apps(apps) if apps.is_empty() => return Ok(Vec::new()),
            AuditScope::Apps(apps) => {
                let list = (0..apps.len())
                    .map(|i| format!("${}", i + 3))
                    .collect::<Vec<_>>()
                    .join(", ");
                sql.push_str(&format!(" AND app_id IN ({list})"));
                apps
            }
        };
        sql.push_str(" ORDER BY id DESC LIMIT $2");
        let before = before.unwrap_or(Uuid::max());
        let rows: Vec<AuditRow> = with_db!(self, pool => {
            let mut q = sqlx::query_as(&sql).bind(before).bind(i64::from(limit));
            for app in apps {
                q = q.bind(app.0);
            }
            q.fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }
}
