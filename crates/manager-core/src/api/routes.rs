//! User routes: create, list, check, match, delete.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::{RouteId, ScriptId};
use serde::Deserialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::responses::{BadRequest, Conflict, JsonBodyErrors, ReadErrors, WriteErrors};
use crate::app_ref::AppRef;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::repo::Route;
use crate::routes::{RouteCheck, RouteConflict, RouteError, RouteLookup};
use crate::service::Manager;

use super::common::{ApiResult, AppQuery, Caller, Items, items};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateRouteBody {
    /// `/users/:id`, `/files/*rest`, ...
    #[schema(pattern = "^/")]
    path: String,
    /// HTTP methods; absent: any method.
    methods: Option<Vec<String>>,
}

pub(super) fn route_error(e: RouteError) -> ApiError {
    match e {
        RouteError::Conflict(RouteConflict(conflicts)) => {
            let list = conflicts
                .iter()
                .map(|c| match &c.methods {
                    Some(m) => format!("{} {}", m.join(","), c.path),
                    None => format!("any {}", c.path),
                })
                .collect::<Vec<_>>()
                .join("; ");
            ApiError::new(
                ErrorCode::RouteConflict,
                format!("a route of the same shape answers an overlapping method: {list}"),
            )
            .with("conflicts", json!(conflicts))
        }
        RouteError::Other(e) => e.into(),
    }
}

/// Routes a path pattern of the script's app to the script.
#[utoipa::path(
    post,
    path = "/admin/scripts/{id}/routes",
    tag = "routes",
    params(("id" = ScriptId, Path, description = "The script's id")),
    request_body = CreateRouteBody,
    responses(
        (status = 201, description = "Created", body = Route),
        WriteErrors,
        JsonBodyErrors,
        (status = 409, response = Conflict),
    )
)]
pub(super) async fn create_route(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
    ApiJson(body): ApiJson<CreateRouteBody>,
) -> ApiResult<(StatusCode, Json<Route>)> {
    let route = m
        .create_route(&caller.principal, id, &body.path, body.methods)
        .await
        .map_err(route_error)?;
    Ok((StatusCode::CREATED, Json(route)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckRouteBody {
    /// An app id or name; absent: `default`.
    #[schema(value_type = Option<String>)]
    app: Option<AppRef>,
    path: String,
    methods: Option<Vec<String>>,
}

/// Whether a route could be added: its conflicts, or why the path is refused.
#[utoipa::path(
    post,
    path = "/admin/routes/check",
    tag = "routes",
    request_body = CheckRouteBody,
    responses(
        (status = 200, body = RouteCheck),
        WriteErrors,
        JsonBodyErrors,
    )
)]
pub(super) async fn check_route(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiJson(body): ApiJson<CheckRouteBody>,
) -> ApiResult<Json<RouteCheck>> {
    Ok(Json(
        m.check_route(
            &caller.principal,
            body.app.as_ref(),
            &body.path,
            body.methods,
        )
        .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/admin/routes",
    tag = "routes",
    params(AppQuery),
    responses(
        (status = 200, body = Items<Route>),
        ReadErrors,
        (status = 400, response = BadRequest),
    )
)]
pub(super) async fn list_routes(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AppQuery>,
) -> ApiResult<Json<Items<Route>>> {
    Ok(items(m.routes(&caller.principal, q.app.as_ref()).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct MatchQuery {
    /// The request's Host; absent: the `default` app.
    host: Option<String>,
    /// Absent: `GET`.
    method: Option<String>,
    path: String,
}

/// Where a request would go.
#[utoipa::path(
    get,
    path = "/admin/routes/match",
    tag = "routes",
    params(MatchQuery),
    responses(
        (status = 200, body = RouteLookup),
        ReadErrors,
        (status = 400, response = BadRequest),
    )
)]
pub(super) async fn match_route(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<MatchQuery>,
) -> ApiResult<Json<RouteLookup>> {
    Ok(Json(m.match_route(
        &caller.principal,
        q.host.as_deref().unwrap_or(""),
        q.method.as_deref().unwrap_or("GET"),
        &q.path,
    )?))
}

#[utoipa::path(
    delete,
    path = "/admin/routes/{id}",
    tag = "routes",
    params(("id" = RouteId, Path, description = "The route's id")),
    responses(
        (status = 204, description = "Deleted"),
        WriteErrors,
    )
)]
pub(super) async fn delete_route(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<RouteId>,
) -> ApiResult<StatusCode> {
    m.delete_route(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
