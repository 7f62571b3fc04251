//! The control plane's domain logic, free of HTTP. This file is the
//! `Manager` itself (its parts, how the composition reaches the data plane,
//! resolving an app once per call); `scripts.rs` is scripts (with their
//! compile check and the in-memory catalog the data plane reads),
//! `users.rs` users, sessions and API tokens. Other resources' calls live
//! with their capability (kv/, events/, secrets/, replay/, releases/,
//! routes.rs, members.rs, audit.rs).

mod apps;
mod scripts;
mod users;

use std::sync::Arc;
use std::time::Duration;

use picloud_shared::secrets::SecretService;
use picloud_shared::web::AdminHost;
use picloud_shared::{AppId, BoxFuture, SandboxCeilings, Script, ScriptCompiler, ScriptId};
use picloud_shared::{EventQueue, KvService};
use tokio::sync::Mutex;

use crate::app_ref::AppRef;
use crate::authz::{self, Capability, Principal};
use crate::cache::DataCache;
use crate::cron::CronScheduler;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::events::EventStore;
use crate::kv::KvStore;
use crate::repo::App;

pub use apps::{AppUpdate, MAX_REDACTED_HEADERS};
pub use scripts::{NewScript, ScriptChange};
pub use users::{Prehashed, check_username, create_user_in, prehash};

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
    /// `PICLOUD_MAX_BODY_BYTES`: what the admin API's budget for bodies
    /// being received is made from (`BodyBudget::for_limit`).
    pub max_body_bytes: usize,
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
    /// Where sign-ins' password checks run, a bounded few at once.
    password_checks: crate::auth::PasswordChecks,
    /// This process's execution-record writer, flushed before records are
    /// listed (read-your-writes; set by the composition).
    records: std::sync::OnceLock<crate::executions::ExecutionWriter>,
    /// Runs replays (the data plane of this process; set by the
    /// composition).
    replayer: std::sync::OnceLock<Arc<dyn crate::replay::Replayer>>,
    /// Held for writing while the first instance admin is being created in
    /// the background ([`Manager::begin_bootstrap_admin`]); see
    /// [`Manager::bootstrapped`].
    bootstrapping: Arc<tokio::sync::RwLock<()>>,
    /// The turns of admin calls running on after their callers left
    /// (`api::to_completion`); the shutdown waits for them.
    pub(crate) admin_calls: Arc<tokio::sync::Semaphore>,
    /// The admin API's JSON bodies being received, all together
    /// (`extract::ApiJson`); the data plane has a budget of its own.
    pub(crate) admin_bodies: Arc<picloud_shared::body_budget::BodyBudget>,
}

/// Admin calls running on after their callers left, at most, at once (see
/// `api::to_completion`).
pub(crate) const DETACHED_CALLS: usize = 64;

/// How long listing records waits for the ones still queued in this
/// process (the writer gathers for 50 ms; a writer far behind is not
/// waited for past this).
pub const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(2);

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
        let admin_bodies = Arc::new(picloud_shared::body_budget::BodyBudget::for_limit(
            config.max_body_bytes,
        ));
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
            password_checks: crate::auth::PasswordChecks::per_core(),
            records: std::sync::OnceLock::new(),
            replayer: std::sync::OnceLock::new(),
            bootstrapping: Arc::default(),
            admin_calls: Arc::new(tokio::sync::Semaphore::new(DETACHED_CALLS)),
            admin_bodies,
        }
    }

    /// Waits, at most `timeout`, for the admin calls running on after their
    /// callers left: the shutdown's, before it closes the database (a call
    /// whose caller waits is waited for with its connection). Whether they
    /// all ended.
    pub async fn drain_admin_calls(&self, timeout: Duration) -> bool {
        let all = u32::try_from(DETACHED_CALLS).unwrap_or(u32::MAX);
        matches!(
            tokio::time::timeout(timeout, self.admin_calls.acquire_many(all)).await,
            Ok(Ok(_))
        )
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
