//! Apps: creating, listing, changing (description, what is kept of their
//! requests) and deleting them.

use picloud_shared::api_error::ErrorCode;
use picloud_shared::{AppId, RecordRequests, ScriptName};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app_ref::AppRef;
use crate::authz::{self, Capability, Principal};
use crate::error::{Error, Result};
use crate::repo::{self, App, DEFAULT_APP_ID};

use super::{MAX_DESCRIPTION_LEN, Manager};

/// Most headers an app may list to take out of kept requests.
pub const MAX_REDACTED_HEADERS: usize = 64;

/// `PATCH /apps/{app}`: what changes (absent fields stay as they are).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppUpdate {
    #[serde(default)]
    pub description: Option<String>,
    /// Which requests are kept with their execution records for replay.
    #[serde(default)]
    pub record_requests: Option<RecordRequests>,
    /// Headers to take out of kept requests besides the built-in ones
    /// (names, any case; stored lower case). Replaces the list.
    #[serde(default)]
    pub redact_headers: Option<Vec<String>>,
}

impl Manager {
    pub async fn create_app(
        &self,
        p: &Principal,
        name: &str,
        description: Option<String>,
    ) -> Result<App> {
        authz::require_instance(p, Capability::CreateApp)?;
        let name = ScriptName::parse(name).map_err(|_| {
            Error::invalid(
                ErrorCode::InvalidName,
                format!("app names are 1 to 64 characters of a-z, 0-9, '_' and '-'; got {name:?}"),
            )
        })?;
        let description = description.unwrap_or_default();
        if description.len() > MAX_DESCRIPTION_LEN {
            return Err(Error::invalid(
                ErrorCode::BadRequest,
                format!("the description is longer than {MAX_DESCRIPTION_LEN} bytes"),
            ));
        }
        let app = App {
            id: AppId::new(),
            name: name.as_str().to_owned(),
            description,
            created_at: repo::now(),
            record_requests: Default::default(),
            redact_headers: Vec::new(),
        };
        let _write = self.write_lock.lock().await;
        let app = self.db.insert_app(&app).await?;
        self.audit(
            p,
            Some(app.id),
            "app.create",
            Some(app.id.to_string()),
            json!({ "name": app.name }),
        )
        .await;
        Ok(app)
    }

    /// The apps `p` has a role in (every app for an instance admin).
    pub async fn apps(&self, p: &Principal) -> Result<Vec<App>> {
        let mut apps = self.db.apps().await?;
        apps.retain(|a| authz::can(p, Capability::ReadApp, a.id));
        Ok(apps)
    }

    /// An app `p` may see, by id or name.
    pub async fn app(&self, p: &Principal, app: &AppRef) -> Result<App> {
        let app = self.app_for(p, app, Capability::ReadApp).await?;
        Ok(app)
    }

    /// Deletes an app with everything it owns; `default` cannot go.
    pub async fn delete_app(&self, p: &Principal, app: &AppRef) -> Result<()> {
        let app = self.app_for(p, app, Capability::DeleteApp).await?;
        if app.id == DEFAULT_APP_ID {
            return Err(Error::Conflict("the default app cannot be deleted".into()));
        }
        let _write = self.write_lock.lock().await;
        let scripts = self.db.scripts_in_app(app.id).await?;
        let deleted = self.db.delete_app(app.id).await?;
        self.kv.forget_app(app.id);
        self.secrets.forget_app(app.id);
        for s in scripts {
            self.forget_script(s.id);
        }
        self.reload_routing().await?;
        if !deleted {
            return Err(Error::NotFound("app"));
        }
        self.audit(
            p,
            Some(app.id),
            "app.delete",
            Some(app.id.to_string()),
            json!({ "name": app.name }),
        )
        .await;
        Ok(())
    }

    /// Changes an app's description and what it keeps of its requests.
    /// An editor's: they can change what the scripts log anyway.
    pub async fn update_app(&self, p: &Principal, app: &AppRef, update: AppUpdate) -> Result<App> {
        let app = self.app_for(p, app, Capability::WriteScripts).await?;
        let description = update.description.unwrap_or(app.description);
        if description.len() > MAX_DESCRIPTION_LEN {
            return Err(Error::invalid(
                ErrorCode::BadRequest,
                format!("the description is longer than {MAX_DESCRIPTION_LEN} bytes"),
            ));
        }
        let redact = match update.redact_headers {
            None => app.redact_headers,
            Some(names) => {
                if names.len() > MAX_REDACTED_HEADERS {
                    return Err(Error::invalid(
                        ErrorCode::BadRequest,
                        format!("redact_headers lists at most {MAX_REDACTED_HEADERS} headers"),
                    ));
                }
                let mut out = Vec::with_capacity(names.len());
                for name in names {
                    let name = picloud_shared::exec::redacted_header_name(&name)
                        .map_err(|e| Error::invalid(ErrorCode::BadRequest, e))?;
                    if !out.contains(&name) {
                        out.push(name);
                    }
                }
                out
            }
        };
        let record = update.record_requests.unwrap_or(app.record_requests);
        let _write = self.write_lock.lock().await;
        let updated = self
            .db
            .update_app(app.id, &description, record, &redact)
            .await?
            .ok_or(Error::NotFound("app"))?;
        // The data plane reads what apps keep with routing.
        self.reload_routing().await?;
        self.audit(
            p,
            Some(app.id),
            "app.update",
            Some(app.id.to_string()),
            json!({
                "record_requests": record.as_str(),
                "redact_headers": redact,
            }),
        )
        .await;
        Ok(updated)
    }
}
