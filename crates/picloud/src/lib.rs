//! The all-in-one `picloud` server: wires the manager, orchestrator and
//! executor into one process and one router. Thin on purpose: everything
//! with behaviour lives in the service crates.

pub mod backup;
pub use picloud_cli as cli;
pub mod config;
pub mod conn;
#[cfg(feature = "dashboard")]
pub mod dashboard;
mod edge;
pub mod keys;
pub mod metrics;
mod replays;
pub mod roles;
pub mod wire;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;
use picloud_executor_core::sdk::SdkServices;
use picloud_executor_core::{ExecutorConfig, LocalExecutor};
use picloud_manager_core::{
    DataCache, Db, DbTarget, EventStore, ExecutionWriter, KvStore, Manager, ManagerConfig, Resolver,
};
use picloud_orchestrator_core::{Orchestrator, OrchestratorConfig};
use picloud_shared::ExecutorClient;
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::version;
use picloud_shared::web::TrustedProxies;

use crate::config::ServeArgs;
use crate::conn::{ConnectionLimits, ConnectionStats};
use crate::edge::{
    Edge, Surface, UserRoutes, api_not_found, dashboard_routes, finish_response, healthz,
    manager_fallback, method_not_allowed, version_info,
};
use crate::metrics::{MeteredSink, Metrics, Scrape};
use crate::replays::Replays;
use crate::wire::{GrantKey, RemoteExecutors, RemoteServices};

/// A built server, ready to serve on a listener.
pub struct Server {
    edge: Edge,
    /// The control plane (all-in-one and manager).
    pub manager: Option<Arc<Manager>>,
    /// The data plane, or the event dispatcher (not on an executor).
    pub orchestrator: Option<Arc<Orchestrator>>,
    writer: Option<ExecutionWriter>,
    db: Option<Db>,
    limits: ConnectionLimits,
    proxies: Arc<TrustedProxies>,
    connections: Arc<ConnectionStats>,
    shutdown_timeout: Duration,
    /// Released when the server has stopped.
    _data_lock: Option<backup::DataLock>,
}

/// Which of PiCloud's processes this is.
#[derive(Clone, Debug)]
pub enum Role {
    /// `picloud`: the three services in one process.
    AllInOne,
    /// `picloud-manager`: the control plane; event handlers and cron runs
    /// go to the executors.
    Manager(ClusterLink),
    /// `picloud-orchestrator`: the data plane; scripts run on the
    /// executors.
    Orchestrator(ClusterLink),
}

/// How a manager or orchestrator reaches the executors.
#[derive(Clone, Debug)]
pub struct ClusterLink {
    pub secret: Arc<str>,
    pub executors: Vec<String>,
}

impl Role {
    /// As `/version` and `pg_stat_activity` show it.
    pub fn name(&self) -> &'static str {
        match self {
            Role::AllInOne => "all-in-one",
            Role::Manager(_) => "manager",
            Role::Orchestrator(_) => "orchestrator",
        }
    }

    fn link(&self) -> Option<&ClusterLink> {
        match self {
            Role::AllInOne => None,
            Role::Manager(link) | Role::Orchestrator(link) => Some(link),
        }
    }
}

/// Connects and migrates the database, creates the bootstrap admin, and
/// composes the services in one process.
pub async fn build(args: &ServeArgs) -> anyhow::Result<Server> {
    build_as(args, Role::AllInOne).await
}

/// The same for any role but the executor's ([`build_executor`]).
pub async fn build_as(args: &ServeArgs, role: Role) -> anyhow::Result<Server> {
    let target =
        DbTarget::from_settings(args.storage.database_url.as_deref(), &args.storage.data_dir)
            .map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?;
    if role.link().is_some() && !matches!(target, DbTarget::Postgres(_)) {
        anyhow::bail!(
            "DATABASE_URL: picloud-{} shares one PostgreSQL with the other processes of a cluster; set DATABASE_URL=postgres://...",
            role.name()
        );
    }
    // One process owns an SQLite database (a restore waits for it to stop).
    let data_lock = match &target {
        DbTarget::Sqlite(path) => Some(backup::lock(path)?),
        DbTarget::Postgres(_) => None,
    };
    // A first start (no SQLite file yet) creates the bootstrap admin:
    // hash the password while the database is created.
    let hashing = match (&target, &args.admin_user, &args.admin_password) {
        (DbTarget::Sqlite(path), Some(_), Some(password))
            if matches!(role, Role::AllInOne) && !path.exists() =>
        {
            Some(picloud_manager_core::service::prehash(password))
        }
        _ => None,
    };
    let node = node_name(role.name());
    let db = Db::connect_as(&target, &node).await?;
    let schema = if matches!(role, Role::Orchestrator(_)) {
        // The manager migrates; an orchestrator serves only the schema it
        // was built for.
        let applied = db.applied_schema_version().await?;
        let known = picloud_manager_core::schema_version();
        if applied != known {
            anyhow::bail!(
                "the database has schema {applied}; this picloud-orchestrator needs schema {known}: {}",
                if applied < known {
                    "start (or upgrade) the manager first, which migrates it"
                } else {
                    "it was written by a newer PiCloud: upgrade this orchestrator"
                }
            );
        }
        applied
    } else {
        db.migrate().await?;
        db.applied_schema_version().await?
    };
    tracing::info!(database = %target.describe(), schema, role = role.name(), "database ready");

    let ceilings = args.sandbox.ceilings();
    let admin_host = args.admin_host.clone().unwrap_or_default();
    let max_concurrent = args.max_concurrent_executions as usize;
    let listen = |subscriber: Arc<dyn picloud_manager_core::bus::Subscriber>| {
        let db = db.clone();
        let name = format!("{node} listen");
        async move { picloud_manager_core::bus::listen(&db, &name, subscriber).await }
    };

    // The control plane, or (an orchestrator) only the cache it reads.
    let (manager, local) = if matches!(role, Role::Orchestrator(_)) {
        (None, None)
    } else {
        // Scripts run here only all-in-one; a manager compiles them to
        // check an upload.
        let local = LocalExecutor::new(ExecutorConfig {
            threads: if role.link().is_none() {
                max_concurrent + 1
            } else {
                1
            },
            ceilings,
        });
        // A claimed event whose process died is delivered again once its
        // claim lapses: the longest a handler may run, and a margin.
        let events = EventStore::open(
            db.clone(),
            Duration::from_millis(u64::from(args.event_retry_base_ms)),
            Duration::from_millis(ceilings.ceilings().timeout_ms) + Duration::from_secs(5),
        )
        .await?;
        let kv = KvStore::open(db.clone(), Arc::clone(&events.notify)).await?;
        let manager = Arc::new(Manager::new(
            db.clone(),
            ManagerConfig {
                session_ttl: Duration::from_secs(u64::from(args.session_ttl_hours) * 3600),
                max_script_bytes: args.max_script_bytes as usize,
                execution_retention: args.execution_retention,
                script_history: args.script_history,
                ceilings,
                secure_cookies: args
                    .public_base_url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://")),
                public_base_url: args.public_base_url.clone(),
                admin_host: admin_host.clone(),
                secrets_key: keys::for_server(args, &target)?,
                max_body_bytes: args.max_body_bytes as usize,
            },
            Arc::new(local.clone()),
            kv,
            events,
        ));
        (Some(manager), Some(local))
    };
    let cache = match &manager {
        Some(manager) => manager.cache(),
        None => Arc::new(DataCache::new(db.clone())),
    };
    // Other processes on the same PostgreSQL announce their changes: listen
    // before loading, so none made meanwhile goes unseen.
    match &manager {
        Some(manager) => listen(Arc::clone(manager) as _).await?,
        None => listen(Arc::clone(&cache) as _).await?,
    }
    // Routes and domain claims survive restarts: load them before serving.
    cache.reload_routing().await?;

    if let Some(manager) = &manager {
        bootstrap(manager, args, hashing).await?;
    }

    // The key executions' grants are signed and checked with (cluster
    // roles), read once.
    let grants = match role.link() {
        Some(_) => Some(GrantKey::of(&db).await?),
        None => None,
    };
    let executor: Arc<dyn ExecutorClient> = match (&role, local) {
        (Role::AllInOne, Some(local)) => {
            let manager = manager.as_ref().expect("all-in-one has a manager");
            local.connect(SdkServices {
                kv: manager.kv_service(),
                scripts: Arc::new(Resolver(manager.cache())),
                secrets: Some(manager.secret_service()),
                http: Some(Arc::new(picloud_executor_core::outbound::Outbound::new(
                    args.outbound(),
                ))),
            })?;
            Arc::new(local)
        }
        _ => {
            let link = role.link().expect("a cluster role has a link");
            let remote = RemoteExecutors::new(
                &link.executors,
                Arc::clone(&link.secret),
                grants.clone().expect("a cluster role has a grant key"),
                ceilings,
            );
            remote.check().await;
            Arc::new(remote)
        }
    };

    let writer = ExecutionWriter::spawn(db.clone(), args.execution_retention);
    if let Some(manager) = &manager {
        manager.attach_records_writer(writer.clone());
    }
    let connections = Arc::new(ConnectionStats::default());
    let metrics = Arc::new(Metrics::new().context("setting up /metrics")?);
    let orchestrator = Arc::new(Orchestrator::new(
        executor,
        Arc::new(Resolver(Arc::clone(&cache))),
        Arc::new(MeteredSink {
            inner: Arc::new(writer.clone()),
            metrics: Arc::clone(&metrics),
            cache: Arc::clone(&cache),
        }),
        OrchestratorConfig {
            max_concurrent,
            max_body_bytes: args.max_body_bytes as usize,
            ceilings,
            admin_host: admin_host.clone(),
            record_redact: args.record_redact_headers.clone(),
            record_max_body: args.record_max_body_bytes as usize,
        },
    ));

    if let Some(manager) = &manager {
        manager.attach_replayer(Arc::new(Replays(Arc::clone(&orchestrator))));
        orchestrator.spawn_dispatcher(manager.event_queue());
        manager.start_cron();
    }

    let surface = Surface {
        public_base_url: args.public_base_url.clone(),
        schema: Some(schema),
        role: role.name(),
    };
    let prefix = version::api_prefix();
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/version", get(version_info).with_state(surface))
        .route(
            "/metrics",
            get(metrics::handler).with_state(Scrape {
                metrics: Arc::clone(&metrics),
                orchestrator: Arc::clone(&orchestrator),
                manager: manager.clone(),
                writer: writer.clone(),
                cache: Arc::clone(&cache),
                connections: Arc::clone(&connections),
                token: args.metrics_token.as_deref().map(Arc::from),
            }),
        );
    if let Some(manager) = &manager {
        router = router
            .nest(
                &prefix,
                picloud_manager_core::api::admin_router(Arc::clone(manager)),
            )
            .merge(dashboard_routes(admin_host.clone()));
    }
    if let Role::Manager(link) = &role {
        let manager = manager.as_ref().expect("a manager");
        router = router.merge(wire::manager_router(
            manager.kv_service(),
            manager.secret_service(),
            Arc::clone(&cache),
            grants.expect("a cluster role has a grant key"),
            Arc::clone(&link.secret),
        ));
    }
    router = router
        .route("/api", axum::routing::any(api_not_found))
        .route("/api/{*rest}", axum::routing::any(api_not_found));
    let user_routes = (!matches!(role, Role::Manager(_))).then(|| {
        Arc::new(UserRoutes {
            orchestrator: Arc::clone(&orchestrator),
            admin_host,
        })
    });
    router = match &user_routes {
        None => router.fallback(manager_fallback),
        Some(user_routes) => {
            let user_routes = Arc::clone(user_routes);
            router
                .merge(Arc::clone(&orchestrator).api_router(&prefix))
                .fallback(move |req: axum::extract::Request| {
                    let user_routes = Arc::clone(&user_routes);
                    async move { user_routes.serve(req).await }
                })
        }
    };
    let edge = Edge {
        router: finish(router, args, Arc::clone(&metrics)),
        user_routes: user_routes.map(|u| (u, metrics)),
    };

    Ok(Server {
        edge,
        manager,
        orchestrator: Some(orchestrator),
        writer: Some(writer),
        db: Some(db),
        limits: connection_limits(args),
        proxies: Arc::new(args.trusted_proxies.clone().unwrap_or_default()),
        connections,
        shutdown_timeout: Duration::from_secs(u64::from(args.shutdown_timeout_secs)),
        _data_lock: data_lock,
    })
}

/// `picloud-executor`: runs the scripts it is sent, reaching the manager at
/// `manager_url` for KV and `invoke`. It opens no database.
pub async fn build_executor(
    args: &ServeArgs,
    secret: Arc<str>,
    manager_url: &str,
) -> anyhow::Result<Server> {
    if args.storage.database_url.is_some() {
        anyhow::bail!(
            "DATABASE_URL: picloud-executor runs other people's code and holds no database credentials; unset it"
        );
    }
    let services = Arc::new(RemoteServices::new(manager_url, Arc::clone(&secret)));
    match wire::check_peer(&wire::client(), manager_url).await {
        Ok(role) if role == "manager" => tracing::info!(manager = %manager_url, "manager reached"),
        Ok(role) => {
            anyhow::bail!("PICLOUD_MANAGER_URL: {manager_url} is a PiCloud {role}, not the manager")
        }
        // Another wire version: refused, with the one line that says why.
        Err(e) if e.contains("speaks wire") => anyhow::bail!("PICLOUD_MANAGER_URL: {e}"),
        // Not up yet: scripts' KV calls fail until it is.
        Err(e) => tracing::warn!("{e}; scripts' KV and invoke calls fail until it is up"),
    }
    let local = LocalExecutor::new(ExecutorConfig {
        threads: args.max_concurrent_executions as usize + 1,
        ceilings: args.sandbox.ceilings(),
    });
    local.connect(SdkServices {
        kv: Arc::clone(&services) as _,
        secrets: Some(Arc::clone(&services) as _),
        scripts: services,
        http: Some(Arc::new(picloud_executor_core::outbound::Outbound::new(
            args.outbound(),
        ))),
    })?;
    let metrics = Arc::new(Metrics::new().context("setting up /metrics")?);
    // A call carries the request body (base64 when it is binary) and the
    // script, besides a little JSON.
    let max_body = (args.max_body_bytes as usize)
        .saturating_mul(2)
        .saturating_add(args.max_script_bytes as usize)
        .saturating_add(1 << 20);
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/version",
            get(version_info).with_state(Surface {
                public_base_url: None,
                schema: None,
                role: "executor",
            }),
        )
        .merge(wire::executor_router(Arc::new(local), secret, max_body))
        .fallback(|| async {
            ApiError::new(
                ErrorCode::NotFound,
                "this is a picloud-executor: it runs scripts for orchestrators, over the wire",
            )
        });
    let edge = Edge {
        router: finish(router, args, metrics),
        user_routes: None,
    };
    Ok(Server {
        edge,
        manager: None,
        orchestrator: None,
        writer: None,
        db: None,
        limits: connection_limits(args),
        proxies: Arc::new(TrustedProxies::default()),
        connections: Arc::new(ConnectionStats::default()),
        shutdown_timeout: Duration::from_secs(u64::from(args.shutdown_timeout_secs)),
        _data_lock: None,
    })
}

/// Creates the first admin from the settings, or says how to. A bad name
/// or password stops the start; the hash and the insert go on while the
/// server starts listening (sign-ins wait for them).
async fn bootstrap(
    manager: &Manager,
    args: &ServeArgs,
    hashing: Option<picloud_manager_core::service::Prehashed>,
) -> anyhow::Result<()> {
    match (&args.admin_user, &args.admin_password) {
        (Some(user), Some(password)) => {
            let creating = manager
                .begin_bootstrap_admin(user, password, hashing)
                .await
                .map_err(|e| anyhow::anyhow!("PICLOUD_ADMIN_USER/PICLOUD_ADMIN_PASSWORD: {e}"))?;
            if let Some(creating) = creating {
                tokio::spawn(async move {
                    match creating.await {
                        Ok(Ok(true)) => tracing::info!(
                            "created the first instance admin from PICLOUD_ADMIN_USER"
                        ),
                        Ok(Ok(false)) => {}
                        Ok(Err(e)) => tracing::error!(
                            error = %e,
                            "could not create the first instance admin from PICLOUD_ADMIN_USER"
                        ),
                        Err(e) => tracing::error!(
                            error = %e,
                            "creating the first instance admin from PICLOUD_ADMIN_USER failed"
                        ),
                    }
                });
            }
        }
        (Some(_), None) => {
            anyhow::bail!("PICLOUD_ADMIN_USER is set but PICLOUD_ADMIN_PASSWORD is not")
        }
        (None, Some(_)) => {
            anyhow::bail!("PICLOUD_ADMIN_PASSWORD is set but PICLOUD_ADMIN_USER is not")
        }
        (None, None) => {
            if manager.user_count().await? == 0 {
                tracing::warn!(
                    "no admin user exists: set PICLOUD_ADMIN_USER and PICLOUD_ADMIN_PASSWORD, or run `picloud admin create-user`"
                );
            }
        }
    }
    Ok(())
}

fn connection_limits(args: &ServeArgs) -> ConnectionLimits {
    ConnectionLimits {
        max_connections: args.max_connections as usize,
        header_timeout: Duration::from_secs(u64::from(args.header_timeout_secs)),
        body_timeout: Duration::from_secs(u64::from(args.body_timeout_secs)),
        keepalive_timeout: Duration::from_secs(u64::from(args.keepalive_timeout_secs)),
    }
}

/// What every router ends with: JSON 405, the body limit, and the response
/// counter.
fn finish(router: Router, args: &ServeArgs, metrics: Arc<Metrics>) -> Router {
    router
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies are limited by PICLOUD_MAX_BODY_BYTES everywhere (the wire
        // routes set their own).
        .layer(axum::extract::DefaultBodyLimit::max(
            args.max_body_bytes as usize,
        ))
        // Every response counts in /metrics; one that leaves the body
        // unread closes the connection (edge::finish_response).
        .layer(tower::util::MapResponseLayer::new(
            move |response: axum::response::Response| finish_response(&metrics, response),
        ))
}

/// How this process names itself to PostgreSQL (`application_name`, shown
/// in `pg_stat_activity`): its role, host and process id, so an operator
/// sees which nodes are connected without any heartbeat of ours.
pub fn node_name(role: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    // PostgreSQL keeps 63 bytes of it; " listen" is added to one.
    let mut name = format!("picloud {role} {host} {}", std::process::id());
    if name.len() > 56 {
        let mut cut = 56;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    name
}

impl Server {
    /// Serves until `shutdown` resolves, then stops accepting, lets running
    /// scripts finish (bounded), flushes queued execution records, and
    /// waits for the first admin if a first start is still creating it.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // Each connection is a descriptor: serve as many as the open-file
        // limit allows, keeping some for the database and files.
        let mut limits = self.limits;
        if let Some(files) = conn::raise_open_file_limit() {
            let most = usize::try_from(files.saturating_sub(conn::RESERVED_DESCRIPTORS))
                .unwrap_or(usize::MAX)
                .max(1);
            if most < limits.max_connections {
                tracing::warn!(
                    "PICLOUD_MAX_CONNECTIONS={} is more than the open-file limit ({files}) allows: \
                     serving at most {most} connections (raise LimitNOFILE or ulimit -n)",
                    limits.max_connections
                );
                limits.max_connections = most;
            }
        }
        let began = conn::serve(
            listener,
            self.edge,
            limits,
            self.proxies,
            self.connections,
            shutdown,
            self.shutdown_timeout,
        )
        .await;
        // Admin calls and scripts still running (their callers gone) share
        // what is left of the shutdown timeout.
        let left = || self.shutdown_timeout.saturating_sub(began.elapsed());
        if let Some(manager) = &self.manager
            && !manager.drain_admin_calls(left()).await
        {
            tracing::warn!("some admin calls were still running at shutdown");
        }
        if let Some(orchestrator) = &self.orchestrator
            && !orchestrator.drain(left()).await
        {
            tracing::warn!("some scripts were still running at shutdown");
        }
        if let Some(writer) = &self.writer {
            writer.flush().await;
        }
        // A first start stopped at once still leaves its first admin.
        if let Some(manager) = &self.manager {
            manager.bootstrapped().await;
        }
        if let Some(db) = &self.db {
            db.close().await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
