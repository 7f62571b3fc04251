//! The control plane's domain logic, free of HTTP: scripts (with their
//! compile check and the in-memory catalog the data plane reads), users,
//! sessions.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use picloud_shared::api_error::ErrorCode;
use picloud_shared::secrets::SecretService;
use picloud_shared::web::AdminHost;
use picloud_shared::{
    AppId, BoxFuture, ExecutionRecord, SandboxCeilings, SandboxOverrides, Script, ScriptCompiler,
    ScriptId, ScriptName, UserId,
};
use picloud_shared::{EventQueue, KvService};
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::app_ref::AppRef;
use crate::auth;
use crate::authz::{self, Capability, Principal};
use crate::cache::DataCache;
use crate::cron::CronScheduler;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::events::EventStore;
use crate::history::{self, ScriptVersion, ScriptVersionSummary, VersionNote};
use crate::kv::KvStore;
use crate::repo::{self, ApiToken, App, ExecutionFilter, ScriptStats, User, UserRole};
use crate::usage;

/// The manager's settings.
#[derive(Clone, Debug)]
pub struct ManagerConfig {
    pub session_ttl: Duration,
    pub max_script_bytes: usize,
    /// Execution records kept per script.
    pub execution_retention: u32,
    /// Saved versions kept per script (`PICLOUD_SCRIPT_HISTORY`).
    pub script_history: u32,
    pub ceilings: SandboxCeilings,
    /// Mark the session cookie `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// `PICLOUD_PUBLIC_BASE_URL`: an `Origin` equal to it is same-site for
    /// cookie-authenticated writes (besides the request's own Host).
    pub public_base_url: Option<String>,
    /// `PICLOUD_ADMIN_HOST`: where the session cookie is set and accepted;
    /// no app may claim that host.
    pub admin_host: AdminHost,
    /// The key secrets are sealed with; `None` turns secrets off
    /// (PostgreSQL without `PICLOUD_SECRETS_KEY`).
    pub secrets_key: Option<crate::secrets::SecretKey>,
}

/// Longest description accepted.
pub const MAX_DESCRIPTION_LEN: usize = 4096;

/// The manager service.
pub struct Manager {
    pub(crate) db: Db,
    pub(crate) config: ManagerConfig,
    pub(crate) compiler: Arc<dyn ScriptCompiler>,
    /// The scripts' KV store, also behind the admin KV view.
    pub(crate) kv: Arc<KvStore>,
    /// Triggers' events: the queue the dispatcher takes them from.
    pub(crate) events: Arc<EventStore>,
    /// Cron triggers' scheduler (started with [`Manager::start_cron`]).
    pub(crate) cron: Arc<CronScheduler>,
    /// Apps' secrets (what scripts read through `secrets::get`).
    pub(crate) secrets: Arc<crate::secrets::SecretStore>,
    /// Scripts and the routing snapshot, as the data plane reads them.
    cache: Arc<DataCache>,
    /// Script writes are serialised: the compile-then-store sequence relies
    /// on knowing the next version. Writes are rare; reads never take it.
    pub(crate) write_lock: Mutex<()>,
    throttle: crate::throttle::LoginThrottle,
    /// This process's execution-record writer, flushed before records are
    /// listed (read-your-writes; set by the composition).
    records: std::sync::OnceLock<crate::executions::ExecutionWriter>,
    /// Runs replays (the data plane of this process; set by the
    /// composition).
    replayer: std::sync::OnceLock<Arc<dyn crate::replay::Replayer>>,
}

/// How long listing records waits for the ones still queued in this
/// process (the writer gathers for 50 ms; a writer far behind is not
/// waited for past this).
pub const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(2);

/// What a new script is made of (already parsed at the edge).
pub struct NewScript {
    pub name: ScriptName,
    pub source: String,
    pub app: Option<AppRef>,
    pub description: Option<String>,
    pub sandbox: Option<SandboxOverrides>,
    /// Kept with the first version in the script's history.
    pub message: Option<String>,
}

/// A change to a script; absent fields stay as they are.
pub struct ScriptChange {
    pub source: Option<String>,
    pub description: Option<String>,
    pub sandbox: Option<SandboxOverrides>,
    /// Kept with the new version in the script's history.
    pub message: Option<String>,
}

impl Manager {
    pub fn new(
        db: Db,
        config: ManagerConfig,
        compiler: Arc<dyn ScriptCompiler>,
        kv: Arc<KvStore>,
        events: Arc<EventStore>,
    ) -> Self {
        let cron = CronScheduler::new(db.clone(), Arc::clone(&events.notify));
        let cache = Arc::new(DataCache::new(db.clone()));
        let throttle = crate::throttle::LoginThrottle::new(db.clone());
        let secrets = crate::secrets::SecretStore::new(db.clone(), config.secrets_key.clone());
        Manager {
            cron,
            secrets,
            db,
            config,
            compiler,
            kv,
            events,
            cache,
            write_lock: Mutex::new(()),
            throttle,
            records: std::sync::OnceLock::new(),
            replayer: std::sync::OnceLock::new(),
        }
    }

    // ----- the composition's view -----

    /// The KV store as scripts reach it: every call acts on the app of the
    /// call's `SdkCallCx`.
    pub fn kv_service(&self) -> Arc<dyn KvService> {
        self.kv.clone()
    }

    /// Apps' secrets as scripts reach them (`secrets::get`).
    pub fn secret_service(&self) -> Arc<dyn SecretService> {
        self.secrets.clone()
    }

    /// The event queue the dispatcher claims triggers' events from.
    pub fn event_queue(&self) -> Arc<dyn EventQueue> {
        self.events.clone()
    }

    /// Starts the cron scheduler (once, with the dispatcher).
    pub fn start_cron(&self) {
        self.cron.spawn();
    }

    /// Scripts' KV calls since start, by operation (for `/metrics`).
    pub fn kv_op_counts(&self) -> [(&'static str, u64); 5] {
        self.kv.op_counts()
    }

    /// Events waiting (or being delivered) and dead letters, over every app
    /// (for `/metrics`).
    pub async fn event_backlog(&self) -> Result<(i64, i64)> {
        self.events.backlog().await
    }

    /// How many users exist (start-up warns when there are none).
    pub async fn user_count(&self) -> Result<i64> {
        self.db.count_users().await
    }

    // ----- apps -----

    /// The app `app` names, if the caller may `cap` in it: resolved and
    /// checked once, at the start of every call on an app (no such app, or
    /// no role in it: 404; too small a role: 403).
    pub async fn app_for(&self, p: &Principal, app: &AppRef, cap: Capability) -> Result<App> {
        let found = match app {
            AppRef::Id(id) => self.db.app_by_id(*id).await?,
            AppRef::Name(name) => self.db.app_by_name(name).await?,
        };
        let app = found.ok_or(Error::NotFound("app"))?;
        authz::require(p, cap, app.id, "app")?;
        Ok(app)
    }

    // ----- scripts -----

    fn check_parts(
        &self,
        source: &str,
        description: &str,
        sandbox: &SandboxOverrides,
    ) -> Result<()> {
        if source.len() > self.config.max_script_bytes {
            return Err(Error::invalid(
                ErrorCode::SourceTooLarge,
                format!(
                    "the source is {} bytes; the limit is {} (PICLOUD_MAX_SCRIPT_BYTES)",
                    source.len(),
                    self.config.max_script_bytes
                ),
            ));
        }
        if description.len() > MAX_DESCRIPTION_LEN {
            return Err(Error::invalid(
                ErrorCode::BadRequest,
                format!("the description is longer than {MAX_DESCRIPTION_LEN} bytes"),
            ));
        }
        self.config.ceilings.validate(sandbox).map_err(|e| match e {
            picloud_shared::sandbox::SandboxError::Zero { .. } => {
                Error::invalid(ErrorCode::BadRequest, e.to_string())
            }
            _ => Error::invalid(ErrorCode::SandboxCeiling, e.to_string()),
        })
    }

    /// A script `p` may do `cap` to (404 if it does not exist or lies in
    /// an app `p` has no role in).
    async fn script_for(&self, p: &Principal, id: ScriptId, cap: Capability) -> Result<Script> {
        let script = self
            .db
            .script_by_id(id)
            .await?
            .ok_or(Error::NotFound("script"))?;
        authz::require(p, cap, script.app_id, "script")?;
        Ok(script)
    }

    pub async fn create_script(&self, p: &Principal, new: NewScript) -> Result<Script> {
        let app = self
            .app_for(
                p,
                new.app.as_ref().unwrap_or(&AppRef::DEFAULT),
                Capability::WriteScripts,
            )
            .await?;
        let description = new.description.unwrap_or_default();
        let sandbox = new.sandbox.unwrap_or_default();
        self.check_parts(&new.source, &description, &sandbox)?;
        let now = repo::now();
        let script = Arc::new(Script {
            id: ScriptId::new(),
            app_id: app.id,
            name: new.name,
            source: new.source,
            version: 1,
            description,
            sandbox,
            created_at: now,
            updated_at: now,
        });
        let note = version_note(p, new.message)?;
        let _write = self.write_lock.lock().await;
        self.compiler
            .compile(Arc::clone(&script))
            .await
            .map_err(Error::Compile)?;
        let stored = Arc::new(self.db.insert_script(&script, &note).await?);
        self.cache.put(Arc::clone(&stored));
        self.audit(
            p,
            Some(stored.app_id),
            "script.create",
            Some(stored.id.to_string()),
            json!({ "name": stored.name, "version": stored.version }),
        )
        .await;
        Ok(Arc::unwrap_or_clone(stored))
    }

    pub async fn update_script(
        &self,
        p: &Principal,
        id: ScriptId,
        change: ScriptChange,
    ) -> Result<Script> {
        let note = version_note(p, change.message)?;
        let _write = self.write_lock.lock().await;
        let current = self.script_for(p, id, Capability::WriteScripts).await?;
        let changed: Vec<&str> = [
            ("source", change.source.is_some()),
            ("description", change.description.is_some()),
            ("sandbox", change.sandbox.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        let next = Arc::new(Script {
            source: change.source.unwrap_or(current.source),
            description: change.description.unwrap_or(current.description),
            sandbox: change.sandbox.unwrap_or(current.sandbox),
            version: current.version + 1,
            updated_at: repo::now(),
            ..current
        });
        self.check_parts(&next.source, &next.description, &next.sandbox)?;
        self.compiler
            .compile(Arc::clone(&next))
            .await
            .map_err(Error::Compile)?;
        let stored = self
            .db
            .update_script(&next, &note, self.config.script_history)
            .await?
            .ok_or_else(|| {
                Error::Conflict("the script was changed or deleted meanwhile; try again".into())
            })?;
        self.cache.put(Arc::new(stored.clone()));
        self.audit(
            p,
            Some(stored.app_id),
            "script.update",
            Some(stored.id.to_string()),
            json!({ "name": stored.name, "version": stored.version, "changed": changed }),
        )
        .await;
        Ok(stored)
    }

    pub async fn delete_script(&self, p: &Principal, id: ScriptId) -> Result<()> {
        let _write = self.write_lock.lock().await;
        let script = self.script_for(p, id, Capability::WriteScripts).await?;
        let deleted = self.db.delete_script(id).await?;
        self.cache.remove(id);
        self.compiler.forget(id);
        // Its routes went with it.
        self.reload_routing().await?;
        if !deleted {
            return Err(Error::NotFound("script"));
        }
        self.audit(
            p,
            Some(script.app_id),
            "script.delete",
            Some(id.to_string()),
            json!({ "name": script.name, "version": script.version }),
        )
        .await;
        Ok(())
    }

    /// Drops a deleted script from the caches (its app was deleted).
    pub(crate) fn forget_script(&self, id: ScriptId) {
        self.cache.remove(id);
        self.compiler.forget(id);
    }

    pub async fn script(&self, p: &Principal, id: ScriptId) -> Result<Script> {
        self.script_for(p, id, Capability::ReadScripts).await
    }

    /// A script's kept versions, newest first (sources left out).
    pub async fn script_versions(
        &self,
        p: &Principal,
        id: ScriptId,
    ) -> Result<Vec<ScriptVersionSummary>> {
        self.script_for(p, id, Capability::ReadScripts).await?;
        self.db.script_versions(id).await
    }

    /// One kept version of a script, with its source.
    pub async fn script_version(
        &self,
        p: &Principal,
        id: ScriptId,
        version: i64,
    ) -> Result<ScriptVersion> {
        self.script_for(p, id, Capability::ReadScripts).await?;
        self.db
            .script_version(id, version)
            .await?
            .ok_or(Error::NotFound("version"))
    }

    /// The scripts of an app (id or name; `None` = default), by name, each
    /// with its counters (zero for a script that never ran).
    pub async fn scripts(
        &self,
        p: &Principal,
        app: Option<&AppRef>,
    ) -> Result<Vec<(Script, ScriptStats)>> {
        let app = self
            .app_for(p, app.unwrap_or(&AppRef::DEFAULT), Capability::ReadScripts)
            .await?;
        let scripts = self.db.scripts_in_app(app.id).await?;
        let mut stats = self.db.script_stats(app.id).await?;
        let mut day = self.db.day_usage(app.id, OffsetDateTime::now_utc()).await?;
        Ok(scripts
            .into_iter()
            .map(|s| {
                let mut counted = stats.remove(&s.id).unwrap_or_default();
                counted.last_day = day.remove(&s.id).unwrap_or_default();
                (s, counted)
            })
            .collect())
    }

    /// What a script's executions used over the last hour or day, point by
    /// point (usage.rs).
    pub async fn usage(
        &self,
        p: &Principal,
        id: ScriptId,
        window: usage::Window,
    ) -> Result<usage::UsageSeries> {
        self.script_for(p, id, Capability::ReadExecutions).await?;
        // An execution that answered before this call is counted.
        if let Some(writer) = self.records.get() {
            let _ = tokio::time::timeout(READ_YOUR_WRITES_WAIT, writer.flush()).await;
        }
        self.db
            .usage_series(id, window, OffsetDateTime::now_utc())
            .await
    }

    pub async fn executions(
        &self,
        p: &Principal,
        id: ScriptId,
        limit: u32,
        filter: &ExecutionFilter,
    ) -> Result<Vec<ExecutionRecord>> {
        self.script_for(p, id, Capability::ReadExecutions).await?;
        // An execution that answered before this call is listed: its record
        // may still be queued in the writer.
        if let Some(writer) = self.records.get() {
            let _ = tokio::time::timeout(READ_YOUR_WRITES_WAIT, writer.flush()).await;
        }
        self.db.executions_of(id, limit, filter).await
    }

    /// Gives the manager this process's record writer, which listing
    /// records flushes first. Set once; later calls change nothing.
    pub fn attach_records_writer(&self, writer: crate::executions::ExecutionWriter) {
        let _ = self.records.set(writer);
    }

    pub(crate) fn records(&self) -> Option<&crate::executions::ExecutionWriter> {
        self.records.get()
    }

    /// Gives the manager what runs replays. Set once.
    pub fn attach_replayer(&self, replayer: Arc<dyn crate::replay::Replayer>) {
        let _ = self.replayer.set(replayer);
    }

    pub(crate) fn replayer(&self) -> Option<&Arc<dyn crate::replay::Replayer>> {
        self.replayer.get()
    }

    /// The current version for the data plane (see [`DataCache`]).
    pub async fn current_script(&self, id: ScriptId) -> Result<Option<Arc<Script>>> {
        self.cache.script(id).await
    }

    /// The current version of the script named `name` in `app` (`invoke`).
    pub async fn current_script_named(
        &self,
        app: AppId,
        name: &str,
    ) -> Result<Option<Arc<Script>>> {
        self.cache.script_named(app, name).await
    }

    /// The cache the data plane reads through.
    pub fn cache(&self) -> Arc<DataCache> {
        Arc::clone(&self.cache)
    }

    // ----- users and sessions -----

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

    /// Creates the first instance admin if no user exists yet. Returns
    /// whether it did.
    /// `hashing` is the password's hash begun ahead of time ([`prehash`]),
    /// if the caller started one.
    pub async fn bootstrap_admin(
        &self,
        username: &str,
        password: &str,
        hashing: Option<Prehashed>,
    ) -> Result<bool> {
        if self.db.count_users().await? > 0 {
            return Ok(false);
        }
        match create_user_hashed(&self.db, username, password, UserRole::Admin, hashing).await {
            Ok(_) => Ok(true),
            // Another process bootstrapped at the same moment.
            Err(Error::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Checks credentials and opens a session: the token (shown once) and
    /// its expiry.
    /// Signs in from `addr`. Repeated failures for this username from this
    /// address are refused for a growing while (see [`crate::throttle`]),
    /// before the password is even checked.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        addr: IpAddr,
    ) -> Result<(String, OffsetDateTime, User)> {
        self.throttle
            .check(username, addr, repo::now())
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
        let ok =
            tokio::task::spawn_blocking(move || auth::verify_password(hash.as_deref(), &password))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?;
        let user = match (ok, user) {
            (true, Some(user)) => user,
            _ => {
                self.throttle.failed(username, addr, repo::now()).await?;
                return Err(Error::InvalidCredentials);
            }
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
    create_user_hashed(db, username, password, role, None).await
}

/// A password's argon2 hash, being made on a blocking thread.
pub struct Prehashed(tokio::task::JoinHandle<Result<String>>);

/// Starts hashing `password` now, for a user created later: a first start
/// hashes the bootstrap admin's password while it creates the database
/// (argon2 takes about as long as the rest of a first start).
pub fn prehash(password: &str) -> Prehashed {
    let password = password.to_owned();
    Prehashed(tokio::task::spawn_blocking(move || {
        auth::hash_password(&password)
    }))
}

async fn create_user_hashed(
    db: &Db,
    username: &str,
    password: &str,
    role: UserRole,
    hashing: Option<Prehashed>,
) -> Result<User> {
    check_username(username)?;
    auth::check_password_rules(password)?;
    let hashing = hashing.unwrap_or_else(|| prehash(password));
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

/// Other processes' changes, announced by the database (cluster mode; see
/// [`crate::bus`]): the data plane's cache, cron and the dispatcher.
impl crate::bus::Subscriber for Manager {
    fn changed(&self, change: crate::bus::Change) -> BoxFuture<'_, ()> {
        use crate::bus::Change;
        Box::pin(async move {
            match change {
                Change::Script { id, version: None } => {
                    self.cache.changed(change).await;
                    self.compiler.forget(id);
                }
                Change::Script { .. } | Change::Routing => self.cache.changed(change).await,
                Change::Triggers => self.cron.changed.notify_one(),
                Change::Events => self.events.notify.notify_one(),
            }
        })
    }

    fn untrusted(&self) {
        self.cache.untrusted();
    }

    fn resync(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.cache.resync().await;
            self.cron.changed.notify_one();
            self.events.notify.notify_one();
        })
    }
}

/// Who saves a version (`p`) and their message, checked.
fn version_note(p: &Principal, message: Option<String>) -> Result<VersionNote> {
    let message = message.unwrap_or_default();
    history::check_message(&message).map_err(|e| Error::invalid(ErrorCode::BadRequest, e))?;
    Ok(VersionNote {
        by: p.user.username.clone(),
        message,
    })
}
