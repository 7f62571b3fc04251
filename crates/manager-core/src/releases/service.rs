//! The admin API's side of releases: making one, listing them, rolling back (who may, and keeping the caches true).

use std::collections::BTreeSet;

use super::{NewRelease, Release, ReleaseKind, Snapshot, changes, same_state};
use crate::app_ref::AppRef;
use crate::error::{Error, Result};

impl crate::service::Manager {
    /// Makes a release of the app as it is now, unless it is the same as
    /// the app's newest release: then that one, and `false`. Editors and
    /// owners (they change what a release holds).
    pub async fn create_release(
        &self,
        p: &crate::authz::Principal,
        app: &AppRef,
        kind: ReleaseKind,
        message: Option<String>,
    ) -> Result<(Release, bool)> {
        let app = self
            .app_for(p, app, crate::authz::Capability::WriteScripts)
            .await?;
        let message = message.unwrap_or_default();
        crate::history::check_message(&message)
            .map_err(|e| Error::invalid(picloud_shared::api_error::ErrorCode::BadRequest, e))?;
        let _write = self.write_lock.lock().await;
        let snapshot = self.db.app_snapshot(app.id).await?;
        let previous = self.db.latest_release(app.id).await?;
        if let Some(latest) = previous
            .as_ref()
            .filter(|l| same_state(&l.snapshot, &snapshot))
        {
            return Ok((latest.clone(), false));
        }
        let changes = changes(
            previous
                .as_ref()
                .map_or(&Snapshot::default(), |l| &l.snapshot),
            &snapshot,
        );
        let release = self
            .db
            .insert_release(
                &NewRelease {
                    app: app.id,
                    kind,
                    message: &message,
                    created_by: &p.user.username,
                    rollback_of: None,
                },
                &snapshot,
                &changes,
                previous.as_ref(),
            )
            .await?;
        self.audit(
            p,
            Some(app.id),
            "release.create",
            Some(release.id.to_string()),
            serde_json::json!({ "number": release.number, "kind": release.kind }),
        )
        .await;
        Ok((release, true))
    }

    /// Makes the app match one of its releases (by id or number), in one
    /// transaction, and switches the data plane to it between two lookups
    /// (see `DataCache::close_gate`); records the rollback as a new
    /// release and answers it. When the app already matches the release,
    /// changes nothing and answers the newest release, and `false`.
    /// Editors and owners.
    pub async fn rollback(
        &self,
        p: &crate::authz::Principal,
        app: &AppRef,
        which: &str,
    ) -> Result<(Release, bool)> {
        let app = self
            .app_for(p, app, crate::authz::Capability::WriteScripts)
            .await?;
        let _write = self.write_lock.lock().await;
        let target = self
            .db
            .release_of(app.id, which)
            .await?
            .ok_or(Error::NotFound("release"))?;
        let previous = self
            .db
            .latest_release(app.id)
            .await?
            .ok_or(Error::NotFound("release"))?;
        // Already there: the app is as the release holds it, or as the
        // newest release, a rollback to it, left it.
        let now = self.db.app_snapshot(app.id).await?;
        if same_state(&now, &target.snapshot)
            || (previous.rollback_of == Some(target.id) && same_state(&now, &previous.snapshot))
        {
            return Ok((previous, false));
        }
        // Domain claims are the owner's to make and release: a rollback
        // that would change them needs that right, not an editor's.
        let patterns = |s: &Snapshot| {
            s.domains
                .iter()
                .map(|d| d.pattern.clone())
                .collect::<BTreeSet<_>>()
        };
        if patterns(&now) != patterns(&target.snapshot) {
            crate::authz::require(p, crate::authz::Capability::ManageDomains, app.id, "app")?;
        }
        // What comes back must compile under today's ceilings.
        for s in self.db.restored_sources(&target).await? {
            let name = picloud_shared::ScriptName::parse(&s.name)
                .map_err(|e| Error::Internal(format!("stored script name: {e}")))?;
            let now = crate::repo::now();
            let script = std::sync::Arc::new(picloud_shared::Script {
                id: s.id,
                app_id: app.id,
                name,
                source: s.source,
                version: s.version,
                description: String::new(),
                sandbox: s.sandbox,
                created_at: now,
                updated_at: now,
            });
            self.compiler
                .compile(script)
                .await
                .map_err(Error::Compile)?;
        }
        let cache = self.cache();
        let gate = cache.close_gate().await;
        let done = self
            .db
            .rollback_to(&target, &p.user.username, &previous)
            .await?;
        for id in &done.deleted {
            cache.remove(*id);
            self.compiler.forget(*id);
        }
        for id in &done.saved {
            if let Some(script) = self.db.script_by_id(*id).await? {
                cache.put(std::sync::Arc::new(script));
            }
        }
        cache.reload_routing().await?;
        drop(gate);
        self.cron.changed.notify_one();
        self.audit(
            p,
            Some(app.id),
            "release.rollback",
            Some(done.release.id.to_string()),
            serde_json::json!({ "number": done.release.number, "to": target.number }),
        )
        .await;
        Ok((done.release, true))
    }

    /// An app's releases, newest first. Viewers and up.
    pub async fn releases(
        &self,
        p: &crate::authz::Principal,
        app: &AppRef,
    ) -> Result<Vec<Release>> {
        let app = self
            .app_for(p, app, crate::authz::Capability::ReadScripts)
            .await?;
        self.db.releases(app.id).await
    }
}
