//! Scripts: creating (compile first), changing, deleting, reading, their
//! usage and records.

use std::sync::Arc;

use picloud_shared::api_error::ErrorCode;
use picloud_shared::{ExecutionRecord, SandboxOverrides, Script, ScriptId, ScriptName};
use serde_json::json;
use time::OffsetDateTime;

use crate::app_ref::AppRef;
use crate::authz::{self, Capability, Principal};
use crate::error::{Error, Result};
use crate::history::{self, VersionNote};
use crate::repo::{self, ExecutionFilter, ScriptStats, ScriptVersion, ScriptVersionSummary};

use crate::usage;

use super::*;

/// What a new script is made of (already parsed at the edge).
pub struct NewScript {
    pub name: ScriptName,
    pub source: String,
    pub app: Option<AppRef>,
    pub description: Option<String>,
    pub sandbox: Option<SandboxOverrides>,
    /// Kept with the first version in the script's history.
    pub message: Option<String>,
}

/// A change to a script; absent fields stay as they are.
pub struct ScriptChange {
    pub source: Option<String>,
    pub description: Option<String>,
    pub sandbox: Option<SandboxOverrides>,
    /// Kept with the new version in the script's history.
    pub message: Option<String>,
}

impl Manager {
    fn check_parts(
        &self,
        source: &str,
        description: &str,
        sandbox: &SandboxOverrides,
    ) -> Result<()> {
        if source.len() > self.config.max_script_bytes {
            return Err(Error::invalid(
                ErrorCode::SourceTooLarge,
                format!(
                    "the source is {} bytes; the limit is {} (PICLOUD_MAX_SCRIPT_BYTES)",
                    source.len(),
                    self.config.max_script_bytes
                ),
            ));
        }
        if description.len() > MAX_DESCRIPTION_LEN {
            return Err(Error::invalid(
                ErrorCode::BadRequest,
                format!("the description is longer than {MAX_DESCRIPTION_LEN} bytes"),
            ));
        }
        self.config.ceilings.validate(sandbox).map_err(|e| match e {
            picloud_shared::sandbox::SandboxError::Zero { .. } => {
                Error::invalid(ErrorCode::BadRequest, e.to_string())
            }
            _ => Error::invalid(ErrorCode::SandboxCeiling, e.to_string()),
        })
    }

    /// A script `p` may do `cap` to (404 if it does not exist or lies in
    /// an app `p` has no role in).
    async fn script_for(&self, p: &Principal, id: ScriptId, cap: Capability) -> Result<Script> {
        let script = self
            .db
            .script_by_id(id)
            .await?
            .ok_or(Error::NotFound("script"))?;
        authz::require(p, cap, script.app_id, "script")?;
        Ok(script)
    }

    pub async fn create_script(&self, p: &Principal, new: NewScript) -> Result<Script> {
        let app = self
            .app_for(
                p,
                new.app.as_ref().unwrap_or(&AppRef::DEFAULT),
                Capability::WriteScripts,
            )
            .await?;
        let description = new.description.unwrap_or_default();
        let sandbox = new.sandbox.unwrap_or_default();
        self.check_parts(&new.source, &description, &sandbox)?;
        let now = repo::now();
        let script = Arc::new(Script {
            id: ScriptId::new(),
            app_id: app.id,
            name: new.name,
            source: new.source,
            version: 1,
            description,
            sandbox,
            created_at: now,
            updated_at: now,
        });
        let note = version_note(p, new.message)?;
        let _write = self.write_lock.lock().await;
        self.compiler
            .compile(Arc::clone(&script))
            .await
            .map_err(Error::Compile)?;
        let stored = Arc::new(self.db.insert_script(&script, &note).await?);
        self.cache.put(Arc::clone(&stored));
        self.audit(
            p,
            Some(stored.app_id),
            "script.create",
            Some(stored.id.to_string()),
            json!({ "name": stored.name, "version": stored.version }),
        )
        .await;
        Ok(Arc::unwrap_or_clone(stored))
    }

    pub async fn update_script(
        &self,
        p: &Principal,
        id: ScriptId,
        change: ScriptChange,
    ) -> Result<Script> {
        let note = version_note(p, change.message)?;
        let _write = self.write_lock.lock().await;
        let current = self.script_for(p, id, Capability::WriteScripts).await?;
        let changed: Vec<&str> = [
            ("source", change.source.is_some()),
            ("description", change.description.is_some()),
            ("sandbox", change.sandbox.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        let next = Arc::new(Script {
            source: change.source.unwrap_or(current.source),
            description: change.description.unwrap_or(current.description),
            sandbox: change.sandbox.unwrap_or(current.sandbox),
            version: current.version + 1,
            updated_at: repo::now(),
            ..current
        });
        self.check_parts(&next.source, &next.description, &next.sandbox)?;
        self.compiler
            .compile(Arc::clone(&next))
            .await
            .map_err(Error::Compile)?;
        let stored = self
            .db
            .update_script(&next, &note, self.config.script_history)
            .await?
            .ok_or_else(|| {
                Error::Conflict("the script was changed or deleted meanwhile; try again".into())
            })?;
        self.cache.put(Arc::new(stored.clone()));
        self.audit(
            p,
            Some(stored.app_id),
            "script.update",
            Some(stored.id.to_string()),
            json!({ "name": stored.name, "version": stored.version, "changed": changed }),
        )
        .await;
        Ok(stored)
    }

    pub async fn delete_script(&self, p: &Principal, id: ScriptId) -> Result<()> {
        let _write = self.write_lock.lock().await;
        let script = self.script_for(p, id, Capability::WriteScripts).await?;
        let deleted = self.db.delete_script(id).await?;
        self.cache.remove(id);
        self.compiler.forget(id);
        // Its routes went with it.
        self.reload_routing().await?;
        if !deleted {
            return Err(Error::NotFound("script"));
        }
        self.audit(
            p,
            Some(script.app_id),
            "script.delete",
            Some(id.to_string()),
            json!({ "name": script.name, "version": script.version }),
        )
        .await;
        Ok(())
    }

    /// Drops a deleted script from the caches (its app was deleted).
    pub(crate) fn forget_script(&self, id: ScriptId) {
        self.cache.remove(id);
        self.compiler.forget(id);
    }

    pub async fn script(&self, p: &Principal, id: ScriptId) -> Result<Script> {
        self.script_for(p, id, Capability::ReadScripts).await
    }

    /// A script's kept versions, newest first (sources left out).
    pub async fn script_versions(
        &self,
        p: &Principal,
        id: ScriptId,
    ) -> Result<Vec<ScriptVersionSummary>> {
        self.script_for(p, id, Capability::ReadScripts).await?;
        self.db.script_versions(id).await
    }

    /// One kept version of a script, with its source.
    pub async fn script_version(
        &self,
        p: &Principal,
        id: ScriptId,
        version: i64,
    ) -> Result<ScriptVersion> {
        self.script_for(p, id, Capability::ReadScripts).await?;
        self.db
            .script_version(id, version)
            .await?
            .ok_or(Error::NotFound("version"))
    }

    /// The scripts of an app (id or name; `None` = default), by name, each
    /// with its counters (zero for a script that never ran).
    pub async fn scripts(
        &self,
        p: &Principal,
        app: Option<&AppRef>,
    ) -> Result<Vec<(Script, ScriptStats)>> {
        let app = self
            .app_for(p, app.unwrap_or(&AppRef::DEFAULT), Capability::ReadScripts)
            .await?;
        let scripts = self.db.scripts_in_app(app.id).await?;
        let mut stats = self.db.script_stats(app.id).await?;
        let mut day = self.db.day_usage(app.id, OffsetDateTime::now_utc()).await?;
        Ok(scripts
            .into_iter()
            .map(|s| {
                let mut counted = stats.remove(&s.id).unwrap_or_default();
                counted.last_day = day.remove(&s.id).unwrap_or_default();
                (s, counted)
            })
            .collect())
    }

    /// What a script's executions used over the last hour or day, point by
    /// point (usage.rs).
    pub async fn usage(
        &self,
        p: &Principal,
        id: ScriptId,
        window: usage::Window,
    ) -> Result<usage::UsageSeries> {
        self.script_for(p, id, Capability::ReadExecutions).await?;
        // An execution that answered before this call is counted.
        if let Some(writer) = self.records.get() {
            let _ = tokio::time::timeout(READ_YOUR_WRITES_WAIT, writer.flush()).await;
        }
        self.db
            .usage_series(id, window, OffsetDateTime::now_utc())
            .await
    }

    pub async fn executions(
        &self,
        p: &Principal,
        id: ScriptId,
        limit: u32,
        filter: &ExecutionFilter,
    ) -> Result<Vec<ExecutionRecord>> {
        self.script_for(p, id, Capability::ReadExecutions).await?;
        // An execution that answered before this call is listed: its record
        // may still be queued in the writer.
        if let Some(writer) = self.records.get() {
            let _ = tokio::time::timeout(READ_YOUR_WRITES_WAIT, writer.flush()).await;
        }
        self.db.executions_of(id, limit, filter).await
    }
}

/// Who saves a version (`p`) and their message, checked.
fn version_note(p: &Principal, message: Option<String>) -> Result<VersionNote> {
    let message = message.unwrap_or_default();
    history::check_message(&message).map_err(|e| Error::invalid(ErrorCode::BadRequest, e))?;
    Ok(VersionNote {
        by: p.user.username.clone(),
        message,
    })
}
