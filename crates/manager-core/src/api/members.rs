//! Per-app roles.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use picloud_shared::UserId;
use serde::Deserialize;
use utoipa::ToSchema;

use super::responses::{Conflict, JsonBodyErrors, ReadErrors, WriteErrors};
use crate::app_ref::AppRef;
use crate::authz::AppRole;
use crate::extract::{ApiJson, ApiPath};
use crate::repo::Member;
use crate::service::Manager;

use super::common::{ApiResult, AppPath, Caller, Items, items};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MemberBody {
    /// A user id or username.
    user_id: String,
    role: AppRole,
}

/// Adds a member (201) or changes a member's role (200).
#[utoipa::path(
    post,
    path = "/admin/apps/{app}/members",
    tag = "members",
    params(AppPath),
    request_body = MemberBody,
    responses(
        (status = 200, description = "The member's role changed", body = Member),
        (status = 201, description = "Added", body = Member),
        WriteErrors,
        JsonBodyErrors,
        (status = 409, response = Conflict),
    )
)]
pub(super) async fn set_member(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<AppRef>,
    ApiJson(body): ApiJson<MemberBody>,
) -> ApiResult<(StatusCode, Json<Member>)> {
    let (member, created) = m
        .set_member(&caller.principal, &app, &body.user_id, body.role)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(member)))
}

#[utoipa::path(
    get,
    path = "/admin/apps/{app}/members",
    tag = "members",
    params(AppPath),
    responses(
        (status = 200, body = Items<Member>),
        ReadErrors,
    )
)]
pub(super) async fn list_members(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<AppRef>,
) -> ApiResult<Json<Items<Member>>> {
    Ok(items(m.members(&caller.principal, &app).await?))
}

/// Removes a member (not the app's last owner).
#[utoipa::path(
    delete,
    path = "/admin/apps/{app}/members/{user}",
    tag = "members",
    params(AppPath, ("user" = UserId, Path, description = "The member's user id")),
    responses(
        (status = 204, description = "Removed"),
        WriteErrors,
        (status = 409, response = Conflict),
    )
)]
pub(super) async fn remove_member(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, user)): ApiPath<(AppRef, UserId)>,
) -> ApiResult<StatusCode> {
    m.remove_member(&caller.principal, &app, user).await?;
    Ok(StatusCode::NO_CONTENT)
}
