//! User routes as stored.

use picloud_shared::{AppId, RouteId, ScriptId};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::with_db;

/// A user route as stored.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Route {
    pub id: RouteId,
    pub app_id: AppId,
    pub script_id: ScriptId,
    /// The normalised pattern text.
    pub path: String,
    /// Upper-case methods; `None` for any method.
    pub methods: Option<Vec<String>>,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct RouteRow {
    id: Uuid,
    app_id: Uuid,
    script_id: Uuid,
    path: String,
    methods: Option<String>,
    created_at: OffsetDateTime,
}

impl TryFrom<RouteRow> for Route {
    type Error = Error;
    fn try_from(r: RouteRow) -> Result<Self> {
        let methods = stored_methods(r.id, r.methods)?;
        Ok(Route {
            id: RouteId(r.id),
            app_id: AppId(r.app_id),
            script_id: ScriptId(r.script_id),
            path: r.path,
            methods,
            created_at: r.created_at,
        })
    }
}

/// A route's methods as the `methods` column holds them: a JSON array of
/// upper-case methods, NULL for any method (TEXT on both backends).
pub(crate) fn methods_column(methods: Option<&Vec<String>>) -> Option<String> {
    methods.map(|m| serde_json::to_string(m).unwrap_or_else(|_| "[]".into()))
}

/// The methods of the `methods` column of route `id`.
pub(crate) fn stored_methods(id: Uuid, text: Option<String>) -> Result<Option<Vec<String>>> {
    text.map(|m| serde_json::from_str(&m))
        .transpose()
        .map_err(|e| Error::Internal(format!("route {id}: bad methods: {e}")))
}

const ROUTE_COLUMNS: &str = "id, app_id, script_id, path, methods, created_at";

impl Db {
    // ----- routes -----

    pub(crate) async fn insert_route(&self, r: &Route) -> Result<Route> {
        let sql = format!(
            "INSERT INTO routes ({ROUTE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ROUTE_COLUMNS}"
        );
        let methods = methods_column(r.methods.as_ref());
        let row: RouteRow = with_db!(self, pool => sqlx::query_as(&sql)
            .bind(r.id.0).bind(r.app_id.0).bind(r.script_id.0).bind(&r.path).bind(methods)
            .bind(r.created_at).fetch_one(pool).await)?;
        row.try_into()
    }

    /// Every route of every app, oldest first.
    pub(crate) async fn routes(&self) -> Result<Vec<Route>> {
        let sql = format!("SELECT {ROUTE_COLUMNS} FROM routes ORDER BY id");
        let rows: Vec<RouteRow> =
            with_db!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
        rows.into_iter().map(Route::try_from).collect()
    }

    pub(crate) async fn routes_in_app(&self, app: AppId) -> Result<Vec<Route>> {
        let sql = format!("SELECT {ROUTE_COLUMNS} FROM routes WHERE app_id = $1 ORDER BY path, id");
        let rows: Vec<RouteRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(app.0).fetch_all(pool).await)?;
        rows.into_iter().map(Route::try_from).collect()
    }

    pub(crate) async fn route_by_id(&self, id: RouteId) -> Result<Option<Route>> {
        let sql = format!("SELECT {ROUTE_COLUMNS} FROM routes WHERE id = $1");
        let row: Option<RouteRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(id.0).fetch_optional(pool).await)?;
        row.map(Route::try_from).transpose()
    }

    pub(crate) async fn delete_route(&self, id: RouteId) -> Result<bool> {
        self.delete_by_id("DELETE FROM routes WHERE id = $1", id.0)
            .await
    }
}
