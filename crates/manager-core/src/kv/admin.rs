//! The admin view: the KV operations of the admin API, each checked
//! against the caller's rights in the app.

use picloud_shared::kv::{KvListOptions, KvPage};
use serde_json::Value;

use crate::app_ref::AppRef;
use crate::authz::{Capability, Principal};
use crate::error::{Error, Result};

use super::store::{KvCollection, KvItem};
use crate::service::Manager;

// ----- the admin view -----

impl Manager {
    pub async fn kv_collections(&self, p: &Principal, app: &AppRef) -> Result<Vec<KvCollection>> {
        let app = self.app_for(p, app, Capability::ReadKv).await?;
        self.kv.collections(app.id).await
    }

    pub async fn kv_page(
        &self,
        p: &Principal,
        app: &AppRef,
        collection: &str,
        options: &KvListOptions,
    ) -> Result<KvPage> {
        let app = self.app_for(p, app, Capability::ReadKv).await?;
        self.kv.page(app.id, collection, options).await
    }

    pub async fn kv_get(
        &self,
        p: &Principal,
        app: &AppRef,
        collection: &str,
        key: &str,
    ) -> Result<KvItem> {
        let app = self.app_for(p, app, Capability::ReadKv).await?;
        self.kv
            .item(app.id, collection, key)
            .await?
            .ok_or(Error::NotFound("key"))
    }

    /// Creates or replaces a key; `true` when it was created.
    pub async fn kv_put(
        &self,
        p: &Principal,
        app: &AppRef,
        collection: &str,
        key: &str,
        value: Value,
    ) -> Result<(KvItem, bool)> {
        let app = self.app_for(p, app, Capability::WriteKv).await?;
        let existed = self.kv.contains(app.id, collection, key).await?;
        let updated_at = self.kv.put(app.id, collection, key, &value, 0).await?;
        self.audit(
            p,
            Some(app.id),
            "kv.put",
            Some(format!("{collection}/{key}")),
            serde_json::json!({ "collection": collection, "key": key }),
        )
        .await;
        Ok((
            KvItem {
                key: key.to_owned(),
                value,
                updated_at,
            },
            !existed,
        ))
    }

    pub async fn kv_delete(
        &self,
        p: &Principal,
        app: &AppRef,
        collection: &str,
        key: &str,
    ) -> Result<()> {
        let app = self.app_for(p, app, Capability::WriteKv).await?;
        if !self.kv.remove(app.id, collection, key, 0).await? {
            return Err(Error::NotFound("key"));
        }
        self.audit(
            p,
            Some(app.id),
            "kv.delete",
            Some(format!("{collection}/{key}")),
            serde_json::json!({ "collection": collection, "key": key }),
        )
        .await;
        Ok(())
    }
}
