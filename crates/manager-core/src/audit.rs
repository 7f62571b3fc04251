//! The audit log: who changed what, and when. Every change made through
//! the admin API (scripts, routes, domains, apps, members, tokens, users)
//! writes one entry after it succeeds. Entries never hold a secret.

use picloud_shared::AppId;
use picloud_shared::api_error::ErrorCode;
use uuid::Uuid;

use crate::app_ref::AppRef;
use crate::authz::{self, AppRole, Capability, Principal};
use crate::error::{Error, Result};
use crate::repo::{self, AuditEntry, AuditScope};
use crate::service::Manager;

/// Entries listed per page at most.
pub const MAX_AUDIT_LIMIT: u32 = 1000;

impl Manager {
    /// Records a change `p` made. A failure to write the entry is logged,
    /// not returned: the change itself has been made.
    pub(crate) async fn audit(
        &self,
        p: &Principal,
        app: Option<AppId>,
        action: &str,
        target_id: Option<String>,
        detail: serde_json::Value,
    ) {
        let entry = AuditEntry {
            id: Uuid::now_v7(),
            at: repo::now(),
            actor_id: Some(p.user.id),
            actor: p.user.username.clone(),
            app_id: app,
            action: action.to_owned(),
            target_id,
            detail,
        };
        if let Err(e) = self.db.insert_audit(&entry).await {
            tracing::error!(action, error = %e, "failed to write an audit entry");
        }
    }

    /// `GET /audit?app=`: an app's entries for its owners (and instance
    /// admins); without `app`, everything for an instance admin and the
    /// entries of the apps they own for anyone else.
    pub async fn audit_log(
        &self,
        p: &Principal,
        app: Option<&AppRef>,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        if !(1..=MAX_AUDIT_LIMIT).contains(&limit) {
            return Err(Error::invalid(
                ErrorCode::BadRequest,
                format!("limit must be between 1 and {MAX_AUDIT_LIMIT}"),
            ));
        }
        let scope = match app {
            Some(app) => {
                let app = self.app_for(p, app, Capability::ReadAudit).await?;
                AuditScope::Apps(vec![app.id])
            }
            None if authz::can_instance(p, Capability::ReadInstanceAudit) => AuditScope::Everything,
            None => AuditScope::Apps(
                p.grants
                    .iter()
                    .filter(|g| g.role >= AppRole::Owner)
                    .map(|g| g.app_id)
                    .collect(),
            ),
        };
        self.db.audit_entries(&scope, before, limit).await
    }
}
