//! API tokens: each user's own.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::responses::{Forbidden, JsonBodyErrors, Unauthorized, WriteErrors};
use crate::extract::{ApiJson, ApiPath};
use crate::repo::ApiToken;
use crate::service::Manager;

use super::common::{ApiResult, Caller, Items, items};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateTokenBody {
    #[schema(min_length = 1, max_length = 64)]
    name: String,
    /// Absent: the token does not expire.
    #[schema(minimum = 1, maximum = 3650)]
    expires_in_days: Option<u32>,
}

/// A new API token, with its secret (shown this once).
#[derive(Serialize, ToSchema)]
pub(super) struct CreatedToken {
    #[serde(flatten)]
    info: ApiToken,
    /// The secret (`pct_...`), for `Authorization: Bearer`. Only its hash
    /// is kept: it is never shown again.
    token: String,
}

/// Creates an API token acting as the caller.
#[utoipa::path(
    post,
    path = "/admin/tokens",
    tag = "tokens",
    request_body = CreateTokenBody,
    responses(
        (status = 201, description = "Created", body = CreatedToken),
        JsonBodyErrors,
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
pub(super) async fn create_token(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateTokenBody>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let (info, token) = m
        .create_api_token(&caller.principal, &body.name, body.expires_in_days)
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { info, token })))
}

/// The caller's API tokens (never their secrets).
#[utoipa::path(
    get,
    path = "/admin/tokens",
    tag = "tokens",
    responses(
        (status = 200, body = Items<ApiToken>),
        (status = 401, response = Unauthorized),
    )
)]
pub(super) async fn list_tokens(
    State(m): State<Arc<Manager>>,
    caller: Caller,
) -> ApiResult<Json<Items<ApiToken>>> {
    Ok(items(m.api_tokens(&caller.principal).await?))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(
    delete,
    path = "/admin/tokens/{id}",
    tag = "tokens",
    params(("id" = uuid::Uuid, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Revoked"),
        WriteErrors,
    )
)]
pub(super) async fn revoke_token(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> ApiResult<StatusCode> {
    m.revoke_api_token(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
