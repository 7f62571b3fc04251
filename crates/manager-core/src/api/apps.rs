//! Apps, what they keep of their requests, and their domain claims.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use picloud_shared::{DomainId, ScriptName};
use serde::Deserialize;
use utoipa::ToSchema;

use super::responses::{
    Conflict, Forbidden, JsonBodyErrors, ReadErrors, Unauthorized, WriteErrors,
};
use crate::app_ref::AppRef;
use crate::extract::{ApiJson, ApiPath};
use crate::repo::{App, Domain};
use crate::service::AppUpdate;
use crate::service::Manager;

use super::common::{ApiResult, AppPath, Caller, Items, items};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateAppBody {
    /// The same rules as script names.
    #[schema(value_type = ScriptName)]
    name: String,
    description: Option<String>,
}

/// Creates an app (instance admins only).
#[utoipa::path(
    post,
    path = "/admin/apps",
    tag = "apps",
    request_body = CreateAppBody,
    responses(
        (status = 201, description = "Created", body = App),
        JsonBodyErrors,
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
    )
)]
pub(super) async fn create_app(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateAppBody>,
) -> ApiResult<(StatusCode, Json<App>)> {
    let app = m
        .create_app(&caller.principal, &body.name, body.description)
        .await?;
    Ok((StatusCode::CREATED, Json(app)))
}

/// The apps the caller has a role in (every app, for an instance admin).
#[utoipa::path(
    get,
    path = "/admin/apps",
    tag = "apps",
    responses(
        (status = 200, body = Items<App>),
        (status = 401, response = Unauthorized),
    )
)]
pub(super) async fn list_apps(
    State(m): State<Arc<Manager>>,
    caller: Caller,
) -> ApiResult<Json<Items<App>>> {
    Ok(items(m.apps(&caller.principal).await?))
}

#[utoipa::path(
    get,
    path = "/admin/apps/{app}",
    tag = "apps",
    params(AppPath),
    responses(
        (status = 200, body = App),
        ReadErrors,
    )
)]
pub(super) async fn get_app(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<AppRef>,
) -> ApiResult<Json<App>> {
    Ok(Json(m.app(&caller.principal, &app).await?))
}

/// Changes an app's description and which of its requests are kept with
/// their execution records for replay (editors; fields left out stay).
#[utoipa::path(
    patch,
    path = "/admin/apps/{app}",
    tag = "apps",
    params(AppPath),
    request_body = AppUpdate,
    responses(
        (status = 200, body = App),
        WriteErrors,
        JsonBodyErrors,
    )
)]
pub(super) async fn update_app(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<AppRef>,
    ApiJson(body): ApiJson<AppUpdate>,
) -> ApiResult<Json<App>> {
    Ok(Json(m.update_app(&caller.principal, &app, body).await?))
}

/// Deletes an app and everything it owns (not `default`).
#[utoipa::path(
    delete,
    path = "/admin/apps/{app}",
    tag = "apps",
    params(AppPath),
    responses(
        (status = 204, description = "Deleted"),
        ReadErrors,
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
    )
)]
pub(super) async fn delete_app(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<AppRef>,
) -> ApiResult<StatusCode> {
    m.delete_app(&caller.principal, &app).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- domains -----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ClaimBody {
    /// `api.example.com` or `{tenant}.example.com`.
    pattern: String,
}

/// Claims a domain pattern for the app.
#[utoipa::path(
    post,
    path = "/admin/apps/{app}/domains",
    tag = "apps",
    params(AppPath),
    request_body = ClaimBody,
    responses(
        (status = 201, description = "Claimed", body = Domain),
        WriteErrors,
        JsonBodyErrors,
        (status = 409, response = Conflict),
    )
)]
pub(super) async fn claim_domain(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<AppRef>,
    ApiJson(body): ApiJson<ClaimBody>,
) -> ApiResult<(StatusCode, Json<Domain>)> {
    let domain = m
        .claim_domain(&caller.principal, &app, &body.pattern)
        .await?;
    Ok((StatusCode::CREATED, Json(domain)))
}

#[utoipa::path(
    get,
    path = "/admin/apps/{app}/domains",
    tag = "apps",
    params(AppPath),
    responses(
        (status = 200, body = Items<Domain>),
        ReadErrors,
    )
)]
pub(super) async fn list_domains(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<AppRef>,
) -> ApiResult<Json<Items<Domain>>> {
    Ok(items(m.domains(&caller.principal, &app).await?))
}

/// Releases a domain claim.
#[utoipa::path(
    delete,
    path = "/admin/apps/{app}/domains/{id}",
    tag = "apps",
    params(AppPath, ("id" = DomainId, Path, description = "The claim's id")),
    responses(
        (status = 204, description = "Released"),
        WriteErrors,
    )
)]
pub(super) async fn release_domain(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, id)): ApiPath<(AppRef, DomainId)>,
) -> ApiResult<StatusCode> {
    m.release_domain(&caller.principal, &app, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
