//! The manager's side of replay: reading an execution's record, and
//! replaying it.

use std::sync::Arc;

use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::{
    ExecutionId, ExecutionRecord, Invocation, InvocationType, Script, ScriptName,
};
use serde_json::json;

use crate::authz::{self, Capability, Principal};
use crate::error::{Error, Result};
use crate::service::Manager;

use super::*;

impl Manager {
    /// One execution record, for those who may read its app's.
    pub async fn execution(&self, p: &Principal, id: ExecutionId) -> Result<ExecutionRecord> {
        // One that answered just now may still be queued in the writer.
        if let Some(writer) = self.records() {
            let _ =
                tokio::time::timeout(crate::service::READ_YOUR_WRITES_WAIT, writer.flush()).await;
        }
        let record = self
            .db
            .execution(id)
            .await?
            .ok_or(Error::NotFound("execution"))?;
        authz::require(p, Capability::ReadExecutions, record.app_id, "execution")?;
        Ok(record)
    }

    /// Runs an execution again (see the module's doc). An editor's: it
    /// runs the app's code, and, not dry, writes its data.
    pub async fn replay(
        &self,
        p: &Principal,
        id: ExecutionId,
        options: ReplayOptions,
    ) -> std::result::Result<Replay, ApiError> {
        let original = self.execution(p, id).await?;
        authz::require(p, Capability::WriteScripts, original.app_id, "execution")?;
        let invocation = match (original.invocation_type, &original.request, &original.event) {
            (InvocationType::Http, Some(kept), _) => {
                if let Some(bytes) = kept.body_dropped {
                    return Err(ApiError::new(
                        ErrorCode::Conflict,
                        format!(
                            "this request's body ({bytes} bytes) was over PICLOUD_RECORD_MAX_BODY_BYTES and was not kept: it cannot be replayed"
                        ),
                    ));
                }
                Invocation::Http(kept.request.clone())
            }
            (InvocationType::Http, None, _) => {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    "this execution's request was not kept: set the app's record_requests to \"failed\" or \"all\" (PATCH /apps/{app}) to keep the next ones",
                ));
            }
            (InvocationType::Trigger, _, Some(event)) => Invocation::Trigger {
                event: event.clone(),
                // Its writes' events start a chain of their own.
                depth: 1,
            },
            (InvocationType::Scheduled, _, Some(event)) => Invocation::Scheduled {
                event: event.clone(),
            },
            (InvocationType::Trigger | InvocationType::Scheduled, _, None) => {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    "this execution's event was not kept: it cannot be replayed",
                ));
            }
            (InvocationType::Function, _, _) => {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    "a function execution cannot be replayed: replay the execution that invoked it",
                ));
            }
        };
        let live = self
            .current_script(original.script_id)
            .await?
            .ok_or(Error::NotFound("script"))?;
        let script = match options.version {
            None => live,
            Some(v) if v == live.version => live,
            Some(v) => {
                let kept = self
                    .db
                    .script_version(live.id, v)
                    .await?
                    .ok_or(Error::NotFound("version"))?;
                let name: ScriptName = live.name.clone();
                Arc::new(Script {
                    id: live.id,
                    app_id: live.app_id,
                    name,
                    source: kept.source,
                    version: kept.version,
                    description: kept.description,
                    sandbox: kept.sandbox,
                    created_at: live.created_at,
                    updated_at: kept.created_at,
                })
            }
        };
        let dry_run = options.dry_run.unwrap_or(true);
        let replayer = self.replayer().ok_or_else(|| {
            ApiError::new(
                ErrorCode::Overloaded,
                "this process runs no scripts: replay from a manager or all-in-one picloud",
            )
        })?;
        let version = script.version;
        let replay = replayer.replay(script, invocation, dry_run, id).await?;
        self.audit(
            p,
            Some(original.app_id),
            "execution.replay",
            Some(id.to_string()),
            json!({
                "replay": replay.execution.id.to_string(),
                "version": version,
                "dry_run": dry_run,
            }),
        )
        .await;
        Ok(replay)
    }
}
