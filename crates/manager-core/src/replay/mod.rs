//! Replay: an app keeps its requests with their execution records (off by
//! default; failed ones or all, [`RecordRequests`]), and an editor runs a
//! kept request (or a trigger's or cron run's event) again, against the
//! live version of its script or a chosen one, as a dry run unless told
//! otherwise (docs/releases.md).
//!
//! The manager finds the record and the version and decides who may; the
//! data plane runs it ([`Replayer`], the orchestrator's, attached by the
//! composition), so a replay takes a slot like any execution and is
//! recorded like one, naming the execution it replayed.
//!
//! This file is the seam and its types; `service.rs` the manager's side.

mod service;

use std::collections::BTreeMap;
use std::sync::Arc;

use picloud_shared::api_error::ApiError;
use picloud_shared::{BoxFuture, ExecutionId, ExecutionRecord, Invocation, Script};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Runs a replay on the data plane (the orchestrator, in every process
/// that has a manager).
pub trait Replayer: Send + Sync + 'static {
    fn replay(
        &self,
        script: Arc<Script>,
        invocation: Invocation,
        dry_run: bool,
        of: ExecutionId,
    ) -> BoxFuture<'_, std::result::Result<Replay, ApiError>>;
}

/// A replay's answer (`POST /executions/{id}/replay`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Replay {
    /// The replay's own execution record (`replay_of` names the original).
    pub execution: ExecutionRecord,
    /// For an HTTP request: the response the script's answer made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ReplayResponse>,
}

/// The HTTP response a replayed request got.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReplayResponse {
    pub status: u16,
    /// Lower-case names; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The body as text; absent when it is not UTF-8 (then `body_base64`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

/// `POST /executions/{id}/replay`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayOptions {
    /// The version of the script to run (one its history keeps); absent:
    /// the live one.
    #[serde(default)]
    pub version: Option<i64>,
    /// true (the default): KV writes go to an overlay dropped at the end
    /// (so they fire no triggers) and outbound HTTP calls are not sent.
    /// false: the replay acts for real, as the original did.
    #[serde(default)]
    pub dry_run: Option<bool>,
}
