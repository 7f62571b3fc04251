//! Instance users (instance admins).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use picloud_shared::UserId;
use serde::Deserialize;
use utoipa::ToSchema;

use super::responses::{Conflict, Forbidden, JsonBodyErrors, Unauthorized, WriteErrors};
use crate::extract::{ApiJson, ApiPath};
use crate::repo::{User, UserRole};
use crate::service::Manager;

use super::common::{ApiResult, Caller, Items, items};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateUserBody {
    #[schema(pattern = "^[A-Za-z0-9_.@-]{1,64}$")]
    username: String,
    /// 8 characters to 1024 bytes.
    #[schema(min_length = 8)]
    password: String,
    role: UserRole,
}

/// Creates a user (instance admins only).
#[utoipa::path(
    post,
    path = "/admin/users",
    tag = "users",
    request_body = CreateUserBody,
    responses(
        (status = 201, description = "Created", body = User),
        JsonBodyErrors,
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
    )
)]
pub(super) async fn create_user(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateUserBody>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let user = m
        .create_user(&caller.principal, &body.username, &body.password, body.role)
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Every user (instance admins only).
#[utoipa::path(
    get,
    path = "/admin/users",
    tag = "users",
    responses(
        (status = 200, body = Items<User>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub(super) async fn list_users(
    State(m): State<Arc<Manager>>,
    caller: Caller,
) -> ApiResult<Json<Items<User>>> {
    Ok(items(m.users(&caller.principal).await?))
}

/// Deletes a user (instance admins only; not the last admin).
#[utoipa::path(
    delete,
    path = "/admin/users/{id}",
    tag = "users",
    params(("id" = UserId, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted"),
        WriteErrors,
        (status = 409, response = Conflict),
    )
)]
pub(super) async fn delete_user(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    m.delete_user(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
