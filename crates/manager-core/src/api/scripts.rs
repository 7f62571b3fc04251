//! Scripts, their history, executions (one by one, and replay) and usage.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::{
    ExecStatus, ExecutionId, ExecutionRecord, RequestId, SandboxOverrides, Script, ScriptId,
    ScriptName,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::responses::{BadRequest, Conflict, JsonBodyErrors, ReadErrors, WriteErrors};
use crate::app_ref::AppRef;
use crate::extract::{ApiJson, ApiJsonOrDefault, ApiPath, ApiQuery, empty_is_absent};
use crate::history;
use crate::replay::{Replay, ReplayOptions};
use crate::repo::{ExecutionFilter, ScriptStats, ScriptVersion, ScriptVersionSummary};
use crate::service::{Manager, NewScript, ScriptChange};
use crate::usage::{UsageSeries, Window};

use super::common::{ApiResult, AppQuery, Caller, Items, items};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateScriptBody {
    #[schema(value_type = ScriptName)]
    name: String,
    source: String,
    /// An app id or name; absent: `default`.
    #[schema(value_type = Option<String>)]
    app: Option<AppRef>,
    description: Option<String>,
    sandbox: Option<SandboxOverrides>,
    /// Kept with version 1 in the script's history (at most 1 KiB).
    message: Option<String>,
}

pub(super) fn parse_name(name: &str) -> ApiResult<ScriptName> {
    ScriptName::parse(name).map_err(|e| ApiError::new(ErrorCode::InvalidName, e.to_string()))
}

/// Compiles and stores a new script (version 1).
#[utoipa::path(
    post,
    path = "/admin/scripts",
    tag = "scripts",
    request_body = CreateScriptBody,
    responses(
        (status = 201, description = "Created", body = Script),
        WriteErrors,
        JsonBodyErrors,
        (status = 409, response = Conflict),
    )
)]
pub(super) async fn create_script(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateScriptBody>,
) -> ApiResult<(StatusCode, Json<Script>)> {
    let name = parse_name(&body.name)?;
    let script = m
        .create_script(
            &caller.principal,
            NewScript {
                name,
                source: body.source,
                app: body.app,
                description: body.description,
                sandbox: body.sandbox,
                message: body.message,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(script)))
}

/// The scripts, each with what its executions add up to.
#[utoipa::path(
    get,
    path = "/admin/scripts",
    tag = "scripts",
    params(AppQuery),
    responses(
        (status = 200, body = Items<ScriptSummary>),
        ReadErrors,
        (status = 400, response = BadRequest),
    )
)]
pub(super) async fn list_scripts(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AppQuery>,
) -> ApiResult<Json<Items<ScriptSummary>>> {
    let list = m.scripts(&caller.principal, q.app.as_ref()).await?;
    Ok(items(
        list.into_iter()
            .map(|(script, stats)| ScriptSummary { script, stats })
            .collect(),
    ))
}

/// An item of `GET /scripts`: the script and what its executions add up to.
#[derive(Serialize, ToSchema)]
pub(super) struct ScriptSummary {
    #[serde(flatten)]
    script: Script,
    stats: ScriptStats,
}

#[utoipa::path(
    get,
    path = "/admin/scripts/{id}",
    tag = "scripts",
    params(("id" = ScriptId, Path, description = "The script's id")),
    responses(
        (status = 200, body = Script),
        ReadErrors,
        (status = 400, response = BadRequest),
    )
)]
pub(super) async fn get_script(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
) -> ApiResult<Json<Script>> {
    Ok(Json(m.script(&caller.principal, id).await?))
}

/// At least one of the fields (`minProperties: 1` is set in
/// [`crate::openapi::document`]: utoipa 5's `min_properties` writes
/// `maxProperties`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateScriptBody {
    source: Option<String>,
    description: Option<String>,
    sandbox: Option<SandboxOverrides>,
    /// Kept with the new version in the script's history (at most 1 KiB).
    message: Option<String>,
}

/// Changes a script: a new version, live for the next request.
#[utoipa::path(
    put,
    path = "/admin/scripts/{id}",
    tag = "scripts",
    params(("id" = ScriptId, Path, description = "The script's id")),
    request_body = UpdateScriptBody,
    responses(
        (status = 200, description = "The new version", body = Script),
        WriteErrors,
        JsonBodyErrors,
        (status = 409, response = Conflict),
    )
)]
pub(super) async fn update_script(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
    ApiJson(body): ApiJson<UpdateScriptBody>,
) -> ApiResult<Json<Script>> {
    if body.source.is_none() && body.description.is_none() && body.sandbox.is_none() {
        return Err(ApiError::bad_request(
            "nothing to change: send any of source, description, sandbox",
        ));
    }
    let script = m
        .update_script(
            &caller.principal,
            id,
            ScriptChange {
                source: body.source,
                description: body.description,
                sandbox: body.sandbox,
                message: body.message,
            },
        )
        .await?;
    Ok(Json(script))
}

/// A script's saved versions, newest first, without their sources: up to
/// `PICLOUD_SCRIPT_HISTORY` of them, the live one always.
#[utoipa::path(
    get,
    path = "/admin/scripts/{id}/versions",
    tag = "scripts",
    params(("id" = ScriptId, Path, description = "The script's id")),
    responses(
        (status = 200, body = Items<ScriptVersionSummary>),
        ReadErrors,
        (status = 400, response = BadRequest),
    )
)]
pub(super) async fn list_script_versions(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
) -> ApiResult<Json<Items<ScriptVersionSummary>>> {
    Ok(items(m.script_versions(&caller.principal, id).await?))
}

/// One saved version of a script, with its source.
#[utoipa::path(
    get,
    path = "/admin/scripts/{id}/versions/{version}",
    tag = "scripts",
    params(
        ("id" = ScriptId, Path, description = "The script's id"),
        ("version" = i64, Path, minimum = 1, description = "The version's number"),
    ),
    responses(
        (status = 200, body = ScriptVersion),
        ReadErrors,
        (status = 400, response = BadRequest),
    )
)]
pub(super) async fn get_script_version(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((id, version)): ApiPath<(ScriptId, String)>,
) -> ApiResult<Json<ScriptVersion>> {
    let version = history::parse_version(&version)?;
    Ok(Json(
        m.script_version(&caller.principal, id, version).await?,
    ))
}

/// Deletes a script, its routes and its triggers.
#[utoipa::path(
    delete,
    path = "/admin/scripts/{id}",
    tag = "scripts",
    params(("id" = ScriptId, Path, description = "The script's id")),
    responses(
        (status = 204, description = "Deleted"),
        WriteErrors,
    )
)]
pub(super) async fn delete_script(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
) -> ApiResult<StatusCode> {
    m.delete_script(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct ExecutionsQuery {
    /// How many, newest first (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Only executions that ended so (`ok`, `error`, `timeout`, `limit_exceeded`).
    #[param(value_type = Option<ExecStatus>)]
    status: Option<String>,
    /// Only the executions of one request: the `picloud-request-id` header
    /// of a data-plane answer.
    #[param(value_type = Option<RequestId>)]
    request_id: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct UsageQuery {
    /// `hour` (60 points, a minute each; the default) or `day` (96 points,
    /// a quarter of an hour each).
    #[serde(default, deserialize_with = "empty_is_absent")]
    window: Option<Window>,
}

/// What a script's executions used over the last hour or day, point by
/// point: executions, errors, and percentiles of duration and Rhai
/// operations. Every step of the window has a point.
#[utoipa::path(
    get,
    path = "/admin/scripts/{id}/usage",
    tag = "scripts",
    params(("id" = ScriptId, Path, description = "The script's id"), UsageQuery),
    responses(
        (status = 200, body = UsageSeries),
        ReadErrors,
        (status = 400, response = BadRequest),
    )
)]
pub(super) async fn script_usage(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> ApiResult<Json<UsageSeries>> {
    let window = q.window.unwrap_or_default();
    Ok(Json(m.usage(&caller.principal, id, window).await?))
}

/// One execution record.
#[utoipa::path(
    get,
    path = "/admin/executions/{id}",
    tag = "executions",
    params(("id" = String, Path, description = "The execution's id")),
    responses(
        (status = 200, body = ExecutionRecord),
        ReadErrors,
        (status = 400, response = BadRequest),
    )
)]
pub(super) async fn get_execution(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ExecutionId>,
) -> ApiResult<Json<ExecutionRecord>> {
    Ok(Json(m.execution(&caller.principal, id).await?))
}

/// Runs an execution again with the request (or event) it was given,
/// against the live version of its script or `version`; a dry run unless
/// `"dry_run": false` (KV writes discarded, no triggers fired, outbound
/// calls not sent). The replay is recorded, naming the original. The
/// body may be left out.
#[utoipa::path(
    post,
    path = "/admin/executions/{id}/replay",
    tag = "executions",
    params(("id" = String, Path, description = "The execution's id")),
    request_body = ReplayOptions,
    responses(
        (status = 200, body = Replay),
        WriteErrors,
        JsonBodyErrors,
        (status = 409, response = Conflict),
    )
)]
pub(super) async fn replay_execution(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ExecutionId>,
    ApiJsonOrDefault(options): ApiJsonOrDefault<ReplayOptions>,
) -> ApiResult<Json<Replay>> {
    Ok(Json(m.replay(&caller.principal, id, options).await?))
}

/// Executions listed per page at most.
pub const MAX_EXECUTIONS_LIMIT: u32 = 1000;

/// A script's recent executions, newest first, with their logs.
#[utoipa::path(
    get,
    path = "/admin/scripts/{id}/executions",
    tag = "scripts",
    params(("id" = ScriptId, Path, description = "The script's id"), ExecutionsQuery),
    responses(
        (status = 200, body = Items<ExecutionRecord>),
        ReadErrors,
        (status = 400, response = BadRequest),
    )
)]
pub(super) async fn list_executions(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
    ApiQuery(q): ApiQuery<ExecutionsQuery>,
) -> ApiResult<Json<Items<ExecutionRecord>>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_EXECUTIONS_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_EXECUTIONS_LIMIT}"
        )));
    }
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(ExecStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status must be one of ok, error, timeout, limit_exceeded, not {s:?}"
            ))
        })?),
    };
    let request_id = match q.request_id.as_deref() {
        None | Some("") => None,
        Some(r) => Some(RequestId(uuid::Uuid::parse_str(r).map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidId,
                format!("request_id {r:?} is not a UUID"),
            )
        })?)),
    };
    let filter = ExecutionFilter { status, request_id };
    Ok(items(
        m.executions(&caller.principal, id, limit, &filter).await?,
    ))
}
