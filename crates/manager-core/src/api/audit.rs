//! The audit log.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::responses::WriteErrors;
use crate::app_ref::AppRef;
use crate::extract::ApiQuery;
use crate::repo::AuditEntry;
use crate::service::Manager;

use super::common::{ApiResult, Caller, Items, items};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditQuery {
    /// An app id or name; absent: every app the caller owns (everything,
    /// for an instance admin).
    #[param(value_type = Option<String>)]
    app: Option<AppRef>,
    /// Only entries older than this entry id (the next page).
    before: Option<uuid::Uuid>,
    /// How many, newest first (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Who changed what, newest first.
#[utoipa::path(
    get,
    path = "/admin/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, body = Items<AuditEntry>),
        WriteErrors,
    )
)]
pub(super) async fn audit_log(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Items<AuditEntry>>> {
    let list: Vec<AuditEntry> = m
        .audit_log(
            &caller.principal,
            q.app.as_ref(),
            q.before,
            q.limit.unwrap_or(100),
        )
        .await?;
    Ok(items(list))
}
