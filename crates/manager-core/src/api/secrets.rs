//! An app's secrets: names and metadata out, values only in.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::responses::{Conflict, JsonBodyErrors, ReadErrors, WriteErrors};
use crate::app_ref::AppRef;
use crate::extract::{ApiJson, ApiPath};
use crate::service::Manager;

use super::common::{ApiResult, AppPath, Caller, Items, items};

/// A secret's new value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretValue {
    /// At most 64 KiB of UTF-8. Never shown again by the API.
    pub value: String,
}

/// The names of an app's secrets, who set each and when: never the values.
#[utoipa::path(
    get,
    path = "/admin/apps/{app}/secrets",
    tag = "secrets",
    params(AppPath),
    responses(
        (status = 200, description = "The app's secrets, by name (no values)", body = Items<crate::secrets::SecretInfo>),
        ReadErrors,
    )
)]
pub(super) async fn secret_list(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<AppRef>,
) -> ApiResult<Json<Items<crate::secrets::SecretInfo>>> {
    Ok(items(m.secret_list(&caller.principal, &app).await?))
}

/// Sets a secret (editors and owners). The answer never holds the value.
#[utoipa::path(
    put,
    path = "/admin/apps/{app}/secrets/{name}",
    tag = "secrets",
    params(AppPath, ("name" = String, Path, description = "A secret name", pattern = "^[A-Z_][A-Z0-9_]{0,63}$")),
    request_body = SecretValue,
    responses(
        (status = 200, description = "Replaced", body = crate::secrets::SecretInfo),
        (status = 201, description = "Created", body = crate::secrets::SecretInfo),
        WriteErrors,
        JsonBodyErrors,
        (status = 409, response = Conflict),
    )
)]
pub(super) async fn secret_put(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, name)): ApiPath<(AppRef, String)>,
    ApiJson(body): ApiJson<SecretValue>,
) -> ApiResult<(StatusCode, Json<crate::secrets::SecretInfo>)> {
    let (info, created) = m
        .secret_put(&caller.principal, &app, &name, &body.value)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(info)))
}

/// Deletes a secret (editors and owners).
#[utoipa::path(
    delete,
    path = "/admin/apps/{app}/secrets/{name}",
    tag = "secrets",
    params(AppPath, ("name" = String, Path, description = "A secret name", pattern = "^[A-Z_][A-Z0-9_]{0,63}$")),
    responses(
        (status = 204, description = "Deleted"),
        WriteErrors,
    )
)]
pub(super) async fn secret_delete(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, name)): ApiPath<(AppRef, String)>,
) -> ApiResult<StatusCode> {
    m.secret_delete(&caller.principal, &app, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
