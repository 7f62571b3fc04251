//! App memberships: who holds which role in an app (the table is
//! `repo/members.rs`).

use picloud_shared::UserId;
use serde_json::json;
use uuid::Uuid;

use crate::app_ref::AppRef;
use crate::authz::{AppRole, Capability, Principal};
use crate::error::{Error, Result};
use crate::repo::{self, Member, User};
use crate::service::Manager;

impl Manager {
    /// A user named by id or username.
    async fn resolve_user(&self, user: &str) -> Result<User> {
        let found = match user.parse::<Uuid>() {
            Ok(id) => self.db.user_by_id(UserId(id)).await?,
            Err(_) if user.len() <= 64 => self.db.user_by_name(user).await?,
            Err(_) => None,
        };
        found.ok_or(Error::NotFound("user"))
    }

    pub async fn members(&self, p: &Principal, app: &AppRef) -> Result<Vec<Member>> {
        let app = self.app_for(p, app, Capability::ReadMembers).await?;
        self.db.members_of(app.id).await
    }

    /// Gives `user` (id or username) `role` in `app`, or changes the role
    /// they have. Returns the membership and whether it is new. An app
    /// that has owners keeps at least one.
    pub async fn set_member(
        &self,
        p: &Principal,
        app: &AppRef,
        user: &str,
        role: AppRole,
    ) -> Result<(Member, bool)> {
        let app = self.app_for(p, app, Capability::ManageMembers).await?;
        let user = self.resolve_user(user).await?;
        let _write = self.write_lock.lock().await;
        let members = self.db.members_of(app.id).await?;
        let previous = members.iter().find(|m| m.user_id == user.id);
        if previous.is_some_and(|m| m.role == AppRole::Owner) && role != AppRole::Owner {
            last_owner_check(&members)?;
        }
        let previous_role = previous.map(|m| m.role);
        let created_at = previous.map_or_else(repo::now, |m| m.created_at);
        self.db
            .set_membership(app.id, user.id, role, created_at)
            .await?;
        self.audit(
            p,
            Some(app.id),
            "member.set",
            Some(user.id.to_string()),
            json!({
                "user_id": user.id, "username": user.username,
                "role": role, "previous_role": previous_role,
            }),
        )
        .await;
        let member = Member {
            app_id: app.id,
            user_id: user.id,
            username: user.username,
            role,
            created_at,
        };
        Ok((member, previous_role.is_none()))
    }

    /// Takes `user`'s role in `app` away, effective for their next request.
    pub async fn remove_member(&self, p: &Principal, app: &AppRef, user: UserId) -> Result<()> {
        let app = self.app_for(p, app, Capability::ManageMembers).await?;
        let _write = self.write_lock.lock().await;
        let members = self.db.members_of(app.id).await?;
        let member = members
            .iter()
            .find(|m| m.user_id == user)
            .ok_or(Error::NotFound("member"))?;
        if member.role == AppRole::Owner {
            last_owner_check(&members)?;
        }
        self.db.delete_membership(app.id, user).await?;
        self.audit(
            p,
            Some(app.id),
            "member.remove",
            Some(user.to_string()),
            json!({ "user_id": user, "username": member.username, "role": member.role }),
        )
        .await;
        Ok(())
    }
}

/// Refuses to take the role of an app's only owner.
fn last_owner_check(members: &[Member]) -> Result<()> {
    let owners = members.iter().filter(|m| m.role == AppRole::Owner).count();
    if owners <= 1 {
        return Err(Error::Conflict(
            "this is the app's last owner: make someone else owner first".into(),
        ));
    }
    Ok(())
}
