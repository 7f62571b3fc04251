//! App memberships: who holds which role in an app.

use picloud_shared::{AppId, UserId};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::app_ref::AppRef;
use crate::authz::{AppRole, Capability, Grant, Principal};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::repo::{self, User};
use crate::service::Manager;
use crate::with_db;

/// A member of an app, as listed.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub app_id: AppId,
    pub user_id: UserId,
    pub username: String,
    pub role: AppRole,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    app_id: Uuid,
    user_id: Uuid,
    username: String,
    role: String,
    created_at: OffsetDateTime,
}

fn role_of(s: &str) -> Result<AppRole> {
    AppRole::parse(s).ok_or_else(|| Error::Internal(format!("a stored role is unknown: {s:?}")))
}

impl TryFrom<MemberRow> for Member {
    type Error = Error;
    fn try_from(r: MemberRow) -> Result<Self> {
        Ok(Member {
            app_id: AppId(r.app_id),
            user_id: UserId(r.user_id),
            username: r.username,
            role: role_of(&r.role)?,
            created_at: r.created_at,
        })
    }
}

impl Db {
    /// The roles a user holds, with the apps' names.
    pub(crate) async fn grants_of(&self, user: UserId) -> Result<Vec<Grant>> {
        const SQL: &str = "SELECT m.app_id, a.name, m.role FROM memberships m \
                           JOIN apps a ON a.id = m.app_id WHERE m.user_id = $1 ORDER BY a.name";
        let rows: Vec<(Uuid, String, String)> =
            with_db!(self, pool => sqlx::query_as(SQL).bind(user.0).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(app_id, app, role)| {
                Ok(Grant {
                    app_id: AppId(app_id),
                    app,
                    role: role_of(&role)?,
                })
            })
            .collect()
    }

    /// An app's members, by username.
    pub(crate) async fn members_of(&self, app: AppId) -> Result<Vec<Member>> {
        const SQL: &str = "SELECT m.app_id, m.user_id, u.username, m.role, m.created_at \
                           FROM memberships m JOIN users u ON u.id = m.user_id \
                           WHERE m.app_id = $1 ORDER BY u.username";
        let rows: Vec<MemberRow> =
            with_db!(self, pool => sqlx::query_as(SQL).bind(app.0).fetch_all(pool).await)?;
        rows.into_iter().map(Member::try_from).collect()
    }

    /// Sets a user's role in an app (adding them if needed).
    pub(crate) async fn set_membership(
        &self,
        app: AppId,
        user: UserId,
        role: AppRole,
        at: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO memberships (app_id, user_id, role, created_at) \
                           VALUES ($1, $2, $3, $4) \
                           ON CONFLICT (app_id, user_id) DO UPDATE SET role = excluded.role";
        with_db!(self, pool => sqlx::query(SQL).bind(app.0).bind(user.0).bind(role.as_str())
            .bind(at).execute(pool).await.map(drop))?;
        Ok(())
    }

    pub(crate) async fn delete_membership(&self, app: AppId, user: UserId) -> Result<bool> {
        const SQL: &str = "DELETE FROM memberships WHERE app_id = $1 AND user_id = $2";
        let n = with_db!(self, pool => sqlx::query(SQL).bind(app.0).bind(user.0).execute(pool)
            .await.map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}

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
