//! KV and cron triggers, and dead letters.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use picloud_shared::{DeadLetterId, TriggerId};

use super::responses::{JsonBodyErrors, ReadErrors, WriteErrors};
use crate::app_ref::AppRef;
use crate::events::{DeadLetter, NewTrigger, Trigger};
use crate::extract::{ApiJson, ApiPath};
use crate::service::Manager;

use super::common::{ApiResult, AppPath, Caller, Items, items};

/// Creates a KV or cron trigger.
#[utoipa::path(
    post,
    path = "/admin/apps/{app}/triggers",
    tag = "triggers",
    params(AppPath),
    request_body = NewTrigger,
    responses(
        (status = 201, description = "Created", body = Trigger),
        WriteErrors,
        JsonBodyErrors,
    )
)]
pub(super) async fn create_trigger(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<AppRef>,
    ApiJson(body): ApiJson<NewTrigger>,
) -> ApiResult<(StatusCode, Json<Trigger>)> {
    let trigger = m.create_trigger(&caller.principal, &app, body).await?;
    Ok((StatusCode::CREATED, Json(trigger)))
}

#[utoipa::path(
    get,
    path = "/admin/apps/{app}/triggers",
    tag = "triggers",
    params(AppPath),
    responses(
        (status = 200, body = Items<Trigger>),
        ReadErrors,
    )
)]
pub(super) async fn list_triggers(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<AppRef>,
) -> ApiResult<Json<Items<Trigger>>> {
    Ok(items(m.triggers(&caller.principal, &app).await?))
}

#[utoipa::path(
    delete,
    path = "/admin/triggers/{id}",
    tag = "triggers",
    params(("id" = TriggerId, Path, description = "The trigger's id")),
    responses(
        (status = 204, description = "Deleted"),
        WriteErrors,
    )
)]
pub(super) async fn delete_trigger(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<TriggerId>,
) -> ApiResult<StatusCode> {
    m.delete_trigger(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Events that failed every attempt.
#[utoipa::path(
    get,
    path = "/admin/apps/{app}/dead-letters",
    tag = "triggers",
    params(AppPath),
    responses(
        (status = 200, body = Items<DeadLetter>),
        ReadErrors,
    )
)]
pub(super) async fn list_dead_letters(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<AppRef>,
) -> ApiResult<Json<Items<DeadLetter>>> {
    Ok(items(m.dead_letters(&caller.principal, &app).await?))
}

/// Puts the event back in the queue (202: it is delivered in the background).
#[utoipa::path(
    post,
    path = "/admin/dead-letters/{id}/retry",
    tag = "triggers",
    params(("id" = DeadLetterId, Path, description = "The dead letter's id")),
    responses(
        (status = 202, description = "Queued again"),
        WriteErrors,
    )
)]
pub(super) async fn retry_dead_letter(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<DeadLetterId>,
) -> ApiResult<StatusCode> {
    m.retry_dead_letter(&caller.principal, id).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(
    delete,
    path = "/admin/dead-letters/{id}",
    tag = "triggers",
    params(("id" = DeadLetterId, Path, description = "The dead letter's id")),
    responses(
        (status = 204, description = "Deleted"),
        WriteErrors,
    )
)]
pub(super) async fn delete_dead_letter(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<DeadLetterId>,
) -> ApiResult<StatusCode> {
    m.delete_dead_letter(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
