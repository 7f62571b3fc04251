//! The admin API's side: names, never values.

use picloud_shared::api_error::ErrorCode;
use picloud_shared::secrets::{check_secret_name, check_secret_value};

use crate::app_ref::AppRef;
use crate::authz::{Capability, Principal};
use crate::error::{Error, Result};
use crate::service::Manager;

use super::store::*;

fn parse_name(name: &str) -> Result<()> {
    check_secret_name(name).map_err(|why| Error::invalid(ErrorCode::BadRequest, why))
}

impl Manager {
    /// Sets a secret; `true` when it is new. Editors and owners.
    pub async fn secret_put(
        &self,
        p: &Principal,
        app: &AppRef,
        name: &str,
        value: &str,
    ) -> Result<(SecretInfo, bool)> {
        let app = self.app_for(p, app, Capability::WriteSecrets).await?;
        parse_name(name)?;
        check_secret_value(value).map_err(|why| Error::invalid(ErrorCode::BadRequest, why))?;
        let (info, created) = self
            .secrets
            .put(app.id, name, value, &p.user.username)
            .await?;
        self.audit(
            p,
            Some(app.id),
            if created {
                "secret.create"
            } else {
                "secret.update"
            },
            Some(name.to_owned()),
            serde_json::json!({ "name": name }),
        )
        .await;
        Ok((info, created))
    }

    /// The names of an app's secrets. Viewers and up.
    pub async fn secret_list(&self, p: &Principal, app: &AppRef) -> Result<Vec<SecretInfo>> {
        let app = self.app_for(p, app, Capability::ReadSecrets).await?;
        self.secrets.list(app.id).await
    }

    /// Deletes a secret. Editors and owners.
    pub async fn secret_delete(&self, p: &Principal, app: &AppRef, name: &str) -> Result<()> {
        let app = self.app_for(p, app, Capability::WriteSecrets).await?;
        parse_name(name)?;
        if !self.secrets.remove(app.id, name).await? {
            return Err(Error::NotFound("secret"));
        }
        self.audit(
            p,
            Some(app.id),
            "secret.delete",
            Some(name.to_owned()),
            serde_json::json!({ "name": name }),
        )
        .await;
        Ok(())
    }
}
