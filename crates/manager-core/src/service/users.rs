//! Users, sessions and API tokens.

use std::net::IpAddr;
use std::time::Duration;

use picloud_shared::UserId;
use picloud_shared::api_error::ErrorCode;
use serde_json::json;
use time::OffsetDateTime;

use crate::auth;
use crate::authz::{self, Capability, Principal};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::repo::{self, ApiToken, User, UserRole};

use super::*;

impl Manager {
    /// Creates a user (argon2id on a blocking thread).
    pub async fn create_user(
        &self,
        p: &Principal,
        username: &str,
        password: &str,
        role: UserRole,
    ) -> Result<User> {
        authz::require_instance(p, Capability::ManageUsers)?;
        let user = create_user_in(&self.db, username, password, role).await?;
        self.audit(
            p,
            None,
            "user.create",
            Some(user.id.to_string()),
            json!({ "username": user.username, "role": user.role }),
        )
        .await;
        Ok(user)
    }

    pub async fn users(&self, p: &Principal) -> Result<Vec<User>> {
        authz::require_instance(p, Capability::ManageUsers)?;
        self.db.users().await
    }

    /// Deletes a user, and with them their sessions, tokens and roles, at
    /// once. The last instance admin cannot be deleted.
    pub async fn delete_user(&self, p: &Principal, id: UserId) -> Result<()> {
        authz::require_instance(p, Capability::ManageUsers)?;
        let _write = self.write_lock.lock().await;
        let user = self
            .db
            .user_by_id(id)
            .await?
            .ok_or(Error::NotFound("user"))?;
        if user.role == UserRole::Admin && self.db.count_admins().await? <= 1 {
            return Err(Error::Conflict(
                "the last instance admin cannot be deleted; create another admin first".into(),
            ));
        }
        self.db.delete_user(id).await?;
        self.audit(
            p,
            None,
            "user.delete",
            Some(id.to_string()),
            json!({ "username": user.username, "role": user.role }),
        )
        .await;
        Ok(())
    }

    /// Starts creating the first instance admin if no user exists yet: the
    /// name and password are checked now (a bad one is this call's error),
    /// the hash (`hashing` if the caller began one, [`prehash`]) and the
    /// insert go on in a task, so the server can listen meanwhile (argon2
    /// is most of a first start). Sign-ins wait for that task. `None` when
    /// a user exists already; else the task, which says whether it created
    /// the admin.
    pub async fn begin_bootstrap_admin(
        &self,
        username: &str,
        password: &str,
        hashing: Option<Prehashed>,
    ) -> Result<Option<tokio::task::JoinHandle<Result<bool>>>> {
        if self.db.count_users().await? > 0 {
            return Ok(None);
        }
        check_username(username)?;
        auth::check_password_rules(password)?;
        let hashing = hashing.unwrap_or_else(|| prehash(password));
        let gate = Arc::clone(&self.bootstrapping).write_owned().await;
        let (db, username) = (self.db.clone(), username.to_owned());
        Ok(Some(tokio::spawn(async move {
            let _gate = gate;
            match store_user(&db, &username, UserRole::Admin, hashing).await {
                Ok(_) => Ok(true),
                // Another process bootstrapped at the same moment.
                Err(Error::Conflict(_)) => Ok(false),
                Err(e) => Err(e),
            }
        })))
    }

    /// Waits until the first admin a start began creating
    /// ([`Manager::begin_bootstrap_admin`]) is stored, or failed to be: a
    /// sign-in right after a first start finds it, and a server stopped
    /// right after does not close the database under it. At once otherwise
    /// (one uncontended lock).
    pub async fn bootstrapped(&self) {
        drop(self.bootstrapping.read().await);
    }

    /// Checks credentials and opens a session: the token (shown once) and
    /// its expiry.
    /// Signs in from `addr`. Repeated failures for this username from this
    /// address are refused for a growing while (see [`crate::throttle`]),
    /// before the password is even checked; every attempt counts as one
    /// until it succeeds.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        addr: IpAddr,
    ) -> Result<(String, OffsetDateTime, User)> {
        self.bootstrapped().await;
        // Counted now, as a failure until it succeeds: attempts sent at
        // once cannot all be checked before any is counted.
        self.throttle
            .attempt(username, addr, repo::now())
            .await?
            .map_err(Error::TooManyAttempts)?;
        let found = if username.len() <= 64 {
            self.db.user_credentials(username).await?
        } else {
            None
        };
        let (user, hash) = match found {
            Some((u, h)) => (Some(u), Some(h)),
            None => (None, None),
        };
        let password = password.to_owned();
        let ok = self
            .password_checks
            .run(move || auth::verify_password(hash.as_deref(), &password))
            .await?;
        let user = match (ok, user) {
            (true, Some(user)) => user,
            _ => return Err(Error::InvalidCredentials),
        };
        self.throttle.succeeded(username, addr).await?;
        let now = repo::now();
        self.db.purge_expired_sessions(now).await?;
        let (token, hash) = auth::new_session_token();
        let expires_at = now + self.config.session_ttl;
        self.db.insert_session(user.id, &hash, expires_at).await?;
        Ok((token, expires_at, user))
    }

    /// The user behind a session or API token, with their roles as of now.
    /// A session's expiry slides forward.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Principal>> {
        let Some(user) = self.token_user(token).await? else {
            return Ok(None);
        };
        let grants = self.db.grants_of(user.id).await?;
        Ok(Some(Principal { user, grants }))
    }

    async fn token_user(&self, token: &str) -> Result<Option<User>> {
        let hash = auth::token_hash(token);
        let now = repo::now();
        if token.starts_with(auth::API_TOKEN_PREFIX) {
            let Some((user, last_used)) = self.db.api_token_user(&hash, now).await? else {
                return Ok(None);
            };
            // Record use at most once a minute.
            if last_used.is_none_or(|at| now - at > Duration::from_secs(60)) {
                self.db.touch_api_token(&hash, now).await?;
            }
            return Ok(Some(user));
        }
        let Some((user, last_used, _)) = self.db.session_user(&hash, now).await? else {
            return Ok(None);
        };
        // Slide at most once a minute: a burst of requests is one write.
        if now - last_used > Duration::from_secs(60) {
            self.db
                .touch_session(&hash, now, now + self.config.session_ttl)
                .await?;
        }
        Ok(Some(user))
    }

    // ----- API tokens -----

    /// Creates an API token for `user`; the secret is returned this once.
    pub async fn create_api_token(
        &self,
        p: &Principal,
        name: &str,
        expires_in_days: Option<u32>,
    ) -> Result<(ApiToken, String)> {
        if name.trim().is_empty() || name.len() > 64 {
            return Err(Error::invalid(
                ErrorCode::BadRequest,
                "a token name is 1 to 64 characters",
            ));
        }
        if expires_in_days.is_some_and(|d| !(1..=3650).contains(&d)) {
            return Err(Error::invalid(
                ErrorCode::BadRequest,
                "expires_in_days is between 1 and 3650 (leave it out for no expiry)",
            ));
        }
        let now = repo::now();
        let token = ApiToken {
            id: uuid::Uuid::now_v7(),
            user_id: p.user.id,
            name: name.to_owned(),
            created_at: now,
            last_used_at: None,
            expires_at: expires_in_days.map(|d| now + Duration::from_secs(u64::from(d) * 86_400)),
        };
        let (secret, hash) = auth::new_api_token();
        self.db.insert_api_token(&token, &hash).await?;
        self.audit(
            p,
            None,
            "token.create",
            Some(token.id.to_string()),
            json!({ "name": token.name, "expires_at": token.expires_at.map(repo::rfc3339) }),
        )
        .await;
        Ok((token, secret))
    }

    /// The caller's own tokens.
    pub async fn api_tokens(&self, p: &Principal) -> Result<Vec<ApiToken>> {
        self.db.api_tokens_of(p.user.id).await
    }

    /// Revokes one of the caller's tokens, effective for the next request.
    pub async fn revoke_api_token(&self, p: &Principal, id: uuid::Uuid) -> Result<()> {
        if !self.db.delete_api_token(p.user.id, id).await? {
            return Err(Error::NotFound("token"));
        }
        self.audit(p, None, "token.revoke", Some(id.to_string()), json!({}))
            .await;
        Ok(())
    }

    pub async fn logout(&self, token: &str) -> Result<()> {
        self.db.delete_session(&auth::token_hash(token)).await?;
        Ok(())
    }
}

/// Creates a user in a database: the rules of the API, for the API and for
/// `picloud admin create-user`.
pub async fn create_user_in(
    db: &Db,
    username: &str,
    password: &str,
    role: UserRole,
) -> Result<User> {
    check_username(username)?;
    auth::check_password_rules(password)?;
    store_user(db, username, role, prehash(password)).await
}

/// A password's argon2 hash, being made on a blocking thread.
pub struct Prehashed(pub(crate) tokio::task::JoinHandle<Result<String>>);

/// Starts hashing `password` now, for a user created later: a first start
/// hashes the bootstrap admin's password while it creates the database
/// (argon2 takes about as long as the rest of a first start).
pub fn prehash(password: &str) -> Prehashed {
    let password = password.to_owned();
    Prehashed(tokio::task::spawn_blocking(move || {
        auth::hash_password(&password)
    }))
}

/// Stores a user whose name and password were checked, once `hashing`
/// has made the password's hash.
async fn store_user(db: &Db, username: &str, role: UserRole, hashing: Prehashed) -> Result<User> {
    let hash = hashing
        .0
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
    db.insert_user(username, &hash, role).await
}

/// Usernames: 1–64 characters of `[A-Za-z0-9_.@-]`.
pub fn check_username(username: &str) -> Result<()> {
    let ok = !username.is_empty()
        && username.len() <= 64
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            ErrorCode::InvalidName,
            "usernames are 1 to 64 characters of A-Z, a-z, 0-9, '_', '.', '@' and '-'",
        ))
    }
}
