//! Users, their sessions and API tokens.

use picloud_shared::UserId;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::now;
use crate::db::Db;
use crate::error::{Error, Result, is_unique_violation};
use crate::with_db;

/// An API token as listed (never with its secret).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: Uuid,
    #[serde(skip)]
    pub user_id: UserId,
    pub name: String,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
    #[serde(with = "picloud_shared::timestamp::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "picloud_shared::timestamp::option")]
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
struct ApiTokenRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    created_at: OffsetDateTime,
    last_used_at: Option<OffsetDateTime>,
    expires_at: Option<OffsetDateTime>,
}

impl From<ApiTokenRow> for ApiToken {
    fn from(r: ApiTokenRow) -> Self {
        ApiToken {
            id: r.id,
            user_id: UserId(r.user_id),
            name: r.name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            expires_at: r.expires_at,
        }
    }
}

/// Instance role of a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    Admin,
    Member,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Admin => "admin",
            UserRole::Member => "member",
        }
    }
    fn parse(s: &str) -> Self {
        if s == "admin" {
            UserRole::Admin
        } else {
            UserRole::Member
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub role: UserRole,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    username: String,
    role: String,
    created_at: OffsetDateTime,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId(r.id),
            username: r.username,
            role: UserRole::parse(&r.role),
            created_at: r.created_at,
        }
    }
}

impl Db {
    // ----- users and sessions -----

    pub(crate) async fn count_users(&self) -> Result<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM users";
        Ok(with_db!(self, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)?)
    }

    /// Every user, by username.
    pub(crate) async fn users(&self) -> Result<Vec<User>> {
        const SQL: &str = "SELECT id, username, role, created_at FROM users ORDER BY username";
        let rows: Vec<UserRow> = with_db!(self, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    pub(crate) async fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
        const SQL: &str = "SELECT id, username, role, created_at FROM users WHERE id = $1";
        let row: Option<UserRow> =
            with_db!(self, pool => sqlx::query_as(SQL).bind(id.0).fetch_optional(pool).await)?;
        Ok(row.map(User::from))
    }

    pub(crate) async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        const SQL: &str = "SELECT id, username, role, created_at FROM users WHERE username = $1";
        let row: Option<UserRow> =
            with_db!(self, pool => sqlx::query_as(SQL).bind(username).fetch_optional(pool).await)?;
        Ok(row.map(User::from))
    }

    pub(crate) async fn count_admins(&self) -> Result<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM users WHERE role = 'admin'";
        Ok(with_db!(self, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)?)
    }

    /// Deletes a user; their sessions go with them (cascade).
    pub(crate) async fn delete_user(&self, id: UserId) -> Result<bool> {
        self.delete_by_id("DELETE FROM users WHERE id = $1", id.0)
            .await
    }

    /// Creates a user; a taken username is a conflict.
    pub(crate) async fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
        role: UserRole,
    ) -> Result<User> {
        const SQL: &str = "INSERT INTO users (id, username, password_hash, role, created_at) \
                           VALUES ($1, $2, $3, $4, $5) RETURNING id, username, role, created_at";
        let id = UserId::new();
        let row: std::result::Result<UserRow, sqlx::Error> = with_db!(self, pool => sqlx::query_as(SQL)
            .bind(id.0).bind(username).bind(password_hash).bind(role.as_str()).bind(now())
            .fetch_one(pool).await);
        match row {
            Ok(r) => Ok(r.into()),
            Err(e) if is_unique_violation(&e) => Err(Error::Conflict(format!(
                "the username {username:?} is taken"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// The user and their password hash, by username.
    pub(crate) async fn user_credentials(&self, username: &str) -> Result<Option<(User, String)>> {
        const SQL: &str =
            "SELECT id, username, role, created_at, password_hash FROM users WHERE username = $1";
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            password_hash: String,
        }
        let row: Option<Row> =
            with_db!(self, pool => sqlx::query_as(SQL).bind(username).fetch_optional(pool).await)?;
        Ok(row.map(|r| (r.user.into(), r.password_hash)))
    }

    pub(crate) async fn insert_session(
        &self,
        user: UserId,
        token_hash: &[u8],
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "INSERT INTO sessions (id, user_id, token_hash, created_at, last_used_at, expires_at) \
                           VALUES ($1, $2, $3, $4, $4, $5)";
        let now = now();
        with_db!(self, pool => sqlx::query(SQL).bind(Uuid::now_v7()).bind(user.0).bind(token_hash)
            .bind(now).bind(expires_at).execute(pool).await.map(drop))?;
        Ok(())
    }

    /// The session's user, its last use and expiry, if the token hash is
    /// known and the session has not expired.
    pub(crate) async fn session_user(
        &self,
        token_hash: &[u8],
        at: OffsetDateTime,
    ) -> Result<Option<(User, OffsetDateTime, OffsetDateTime)>> {
        const SQL: &str = "SELECT u.id, u.username, u.role, u.created_at, s.last_used_at, s.expires_at \
                           FROM sessions s JOIN users u ON u.id = s.user_id \
                           WHERE s.token_hash = $1 AND s.expires_at > $2";
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            last_used_at: OffsetDateTime,
            expires_at: OffsetDateTime,
        }
        let row: Option<Row> = with_db!(self, pool => sqlx::query_as(SQL)
            .bind(token_hash).bind(at).fetch_optional(pool).await)?;
        Ok(row.map(|r| (r.user.into(), r.last_used_at, r.expires_at)))
    }

    /// Slides a session's expiry.
    pub(crate) async fn touch_session(
        &self,
        token_hash: &[u8],
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str =
            "UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE token_hash = $1";
        with_db!(self, pool => sqlx::query(SQL).bind(token_hash).bind(at).bind(expires_at)
            .execute(pool).await.map(drop))?;
        Ok(())
    }

    pub(crate) async fn delete_session(&self, token_hash: &[u8]) -> Result<bool> {
        const SQL: &str = "DELETE FROM sessions WHERE token_hash = $1";
        let done = with_db!(self, pool => sqlx::query(SQL).bind(token_hash).execute(pool).await
            .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    // ----- API tokens -----

    pub(crate) async fn insert_api_token(&self, t: &ApiToken, token_hash: &[u8]) -> Result<()> {
        const SQL: &str = "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at) \
                           VALUES ($1, $2, $3, $4, $5, $6)";
        with_db!(self, pool => sqlx::query(SQL).bind(t.id).bind(t.user_id.0).bind(&t.name)
            .bind(token_hash).bind(t.created_at).bind(t.expires_at).execute(pool).await.map(drop))?;
        Ok(())
    }

    /// A user's tokens, newest first.
    pub(crate) async fn api_tokens_of(&self, user: UserId) -> Result<Vec<ApiToken>> {
        const SQL: &str = "SELECT id, user_id, name, created_at, last_used_at, expires_at \
                           FROM api_tokens WHERE user_id = $1 ORDER BY id DESC";
        let rows: Vec<ApiTokenRow> =
            with_db!(self, pool => sqlx::query_as(SQL).bind(user.0).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(ApiToken::from).collect())
    }

    /// The token's user and its last use, if it is known and not expired.
    pub(crate) async fn api_token_user(
        &self,
        token_hash: &[u8],
        at: OffsetDateTime,
    ) -> Result<Option<(User, Option<OffsetDateTime>)>> {
        const SQL: &str = "SELECT u.id, u.username, u.role, u.created_at, t.last_used_at \
                           FROM api_tokens t JOIN users u ON u.id = t.user_id \
                           WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > $2)";
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            last_used_at: Option<OffsetDateTime>,
        }
        let row: Option<Row> = with_db!(self, pool => sqlx::query_as(SQL)
            .bind(token_hash).bind(at).fetch_optional(pool).await)?;
        Ok(row.map(|r| (r.user.into(), r.last_used_at)))
    }

    pub(crate) async fn touch_api_token(
        &self,
        token_hash: &[u8],
        at: OffsetDateTime,
    ) -> Result<()> {
        const SQL: &str = "UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1";
        with_db!(self, pool => sqlx::query(SQL).bind(token_hash).bind(at)
            .execute(pool).await.map(drop))?;
        Ok(())
    }

    /// Revokes one of `user`'s tokens (another user's is not touched).
    pub(crate) async fn delete_api_token(&self, user: UserId, id: Uuid) -> Result<bool> {
        const SQL: &str = "DELETE FROM api_tokens WHERE id = $1 AND user_id = $2";
        let n = with_db!(self, pool => sqlx::query(SQL).bind(id).bind(user.0).execute(pool).await
            .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Removes every expired session (done at each sign-in, so they never
    /// pile up and no timer is needed; an expired token is refused anyway).
    pub(crate) async fn purge_expired_sessions(&self, at: OffsetDateTime) -> Result<()> {
        const SQL: &str = "DELETE FROM sessions WHERE expires_at <= $1";
        with_db!(self, pool => sqlx::query(SQL).bind(at).execute(pool).await.map(drop))?;
        Ok(())
    }
}
