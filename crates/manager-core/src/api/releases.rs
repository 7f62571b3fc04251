//! Releases of an app, and rollback.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use picloud_shared::api_error::ApiError;
use serde::Deserialize;
use utoipa::ToSchema;

use super::responses::{Conflict, JsonBodyErrors, ReadErrors, WriteErrors};
use crate::app_ref::AppRef;
use crate::extract::{ApiJson, ApiPath};
use crate::releases::{Release, ReleaseKind};
use crate::service::Manager;

use super::common::{ApiResult, AppPath, Caller, Items, items};

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewReleaseBody {
    /// Why (at most 1 KiB).
    message: Option<String>,
    /// `manual` (the default) or `deploy` (what `picloud deploy` sends).
    kind: Option<String>,
}

/// An app's releases, newest first, each with what it holds and what
/// changed since the one before.
#[utoipa::path(
    get,
    path = "/admin/apps/{app}/releases",
    tag = "releases",
    params(AppPath),
    responses(
        (status = 200, body = Items<Release>),
        ReadErrors,
    )
)]
pub(super) async fn list_releases(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<AppRef>,
) -> ApiResult<Json<Items<Release>>> {
    Ok(items(m.releases(&caller.principal, &app).await?))
}

/// Makes a release of the app as it is now: 201. When the app is as its
/// newest release holds it, that release, 200.
#[utoipa::path(
    post,
    path = "/admin/apps/{app}/releases",
    tag = "releases",
    params(AppPath),
    request_body = NewReleaseBody,
    responses(
        (status = 201, description = "A new release", body = Release),
        (status = 200, description = "Nothing changed since the newest release: it", body = Release),
        WriteErrors,
        JsonBodyErrors,
        (status = 409, response = Conflict),
    )
)]
pub(super) async fn create_release(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<AppRef>,
    ApiJson(body): ApiJson<NewReleaseBody>,
) -> ApiResult<(StatusCode, Json<Release>)> {
    let kind = match body.kind.as_deref() {
        None | Some("manual") => ReleaseKind::Manual,
        Some("deploy") => ReleaseKind::Deploy,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "kind must be manual or deploy, not {other:?}"
            )));
        }
    };
    let (release, created) = m
        .create_release(&caller.principal, &app, kind, body.message)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(release)))
}

/// Makes the app match one of its releases (by id or number): its scripts
/// at the release's versions (each saved again as a new version), its
/// routes, domain claims and triggers, in one transaction; requests see
/// the app before or after, never a mix. Recorded as a new release (201).
/// When the app already matches the release: 200 and the newest release.
/// KV data and secrets are left as they are.
#[utoipa::path(
    post,
    path = "/admin/apps/{app}/releases/{release}/rollback",
    tag = "releases",
    params(
        AppPath,
        ("release" = String, Path, description = "The release's id or number"),
    ),
    responses(
        (status = 201, description = "Rolled back: the release that records it", body = Release),
        (status = 200, description = "The app already matches the release: the newest release", body = Release),
        WriteErrors,
        (status = 409, response = Conflict),
    )
)]
pub(super) async fn rollback_release(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, release)): ApiPath<(AppRef, String)>,
) -> ApiResult<(StatusCode, Json<Release>)> {
    let (release, done) = m.rollback(&caller.principal, &app, &release).await?;
    let status = if done {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(release)))
}
