//! The `memberships` table: who holds which role in an app.

use picloud_shared::{AppId, UserId};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::authz::{AppRole, Grant};
use crate::db::Db;
use crate::error::{Error, Result};
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
