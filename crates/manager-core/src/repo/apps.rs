//! Apps: their rows and queries.

use picloud_shared::{AppId, RecordRequests};
use serde::Serialize;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Db;
use crate::error::{Error, Result, is_unique_violation};
use crate::with_db;

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct App {
    pub id: AppId,
    pub name: String,
    pub description: String,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
    /// Which requests are kept with their execution records, for replay.
    pub record_requests: RecordRequests,
    /// Headers taken out of kept requests besides `authorization`,
    /// `proxy-authorization`, `cookie` and `PICLOUD_RECORD_REDACT_HEADERS`
    /// (lower-case names).
    pub redact_headers: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct AppRow {
    id: Uuid,
    name: String,
    description: String,
    created_at: OffsetDateTime,
    record_requests: String,
    redact_headers: Json<Vec<String>>,
}

impl From<AppRow> for App {
    fn from(r: AppRow) -> Self {
        App {
            id: AppId(r.id),
            name: r.name,
            description: r.description,
            created_at: r.created_at,
            record_requests: RecordRequests::parse(&r.record_requests).unwrap_or_default(),
            redact_headers: r.redact_headers.0,
        }
    }
}

const APP_COLUMNS: &str = "id, name, description, created_at, record_requests, redact_headers";

impl Db {
    // ----- apps -----

    pub(crate) async fn app_by_id(&self, id: AppId) -> Result<Option<App>> {
        let sql = format!("SELECT {APP_COLUMNS} FROM apps WHERE id = $1");
        let row: Option<AppRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(id.0).fetch_optional(pool).await)?;
        Ok(row.map(App::from))
    }

    pub(crate) async fn app_by_name(&self, name: &str) -> Result<Option<App>> {
        let sql = format!("SELECT {APP_COLUMNS} FROM apps WHERE name = $1");
        let row: Option<AppRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(name).fetch_optional(pool).await)?;
        Ok(row.map(App::from))
    }

    pub(crate) async fn apps(&self) -> Result<Vec<App>> {
        let sql = format!("SELECT {APP_COLUMNS} FROM apps ORDER BY name");
        let rows: Vec<AppRow> = with_db!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(App::from).collect())
    }

    pub(crate) async fn insert_app(&self, app: &App) -> Result<App> {
        let sql = format!(
            "INSERT INTO apps (id, name, description, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING {APP_COLUMNS}"
        );
        let row: std::result::Result<AppRow, sqlx::Error> = with_db!(self, pool => sqlx::query_as(&sql)
            .bind(app.id.0).bind(&app.name).bind(&app.description).bind(app.created_at)
            .fetch_one(pool).await);
        match row {
            Ok(r) => Ok(r.into()),
            Err(e) if is_unique_violation(&e) => Err(Error::Conflict(format!(
                "an app named {:?} already exists",
                app.name
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// What the apps that keep requests keep (for the data plane's routing
    /// snapshot).
    pub(crate) async fn app_recordings(&self) -> Result<Vec<(AppId, picloud_shared::Recording)>> {
        let sql = format!("SELECT {APP_COLUMNS} FROM apps WHERE record_requests <> 'off'");
        let rows: Vec<AppRow> = with_db!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(App::from)
            .map(|a| {
                let recording = picloud_shared::Recording {
                    mode: a.record_requests,
                    redact: a.redact_headers,
                };
                (a.id, recording)
            })
            .collect())
    }

    /// Sets what an app keeps of its requests and its description; the app
    /// as it is now, `None` when it is gone.
    pub(crate) async fn update_app(
        &self,
        id: AppId,
        description: &str,
        record_requests: RecordRequests,
        redact_headers: &[String],
    ) -> Result<Option<App>> {
        let sql = format!(
            "UPDATE apps SET description = $2, record_requests = $3, redact_headers = $4 \
             WHERE id = $1 RETURNING {APP_COLUMNS}"
        );
        let row: Option<AppRow> = with_db!(self, pool => sqlx::query_as(&sql)
            .bind(id.0)
            .bind(description)
            .bind(record_requests.as_str())
            .bind(Json(redact_headers))
            .fetch_optional(pool)
            .await)?;
        Ok(row.map(App::from))
    }

    /// Runs a `DELETE ... WHERE id = $1`; whether a row went.
    pub(super) async fn delete_by_id(&self, sql: &'static str, id: Uuid) -> Result<bool> {
        let n = with_db!(self, pool => sqlx::query(sql).bind(id).execute(pool).await
            .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Deletes an app and, by cascade, everything it owns.
    pub(crate) async fn delete_app(&self, id: AppId) -> Result<bool> {
        self.delete_by_id("DELETE FROM apps WHERE id = $1", id.0)
            .await
    }
}
