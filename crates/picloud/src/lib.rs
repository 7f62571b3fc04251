//! The all-in-one `picloud` server: wires the manager, orchestrator and
//! executor into one process and one router. Thin on purpose: everything
//! with behaviour lives in the service crates.

pub mod backup;
pub mod cli;
pub mod config;
pub mod conn;
#[cfg(feature = "dashboard")]
pub mod dashboard;
pub mod metrics;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use picloud_executor_core::sdk::SdkServices;
use picloud_executor_core::{ExecutorConfig, LocalExecutor};
use picloud_manager_core::{
    Db, DbTarget, EventStore, ExecutionWriter, KvStore, Manager, ManagerConfig, Resolver,
};
use picloud_orchestrator_core::{Orchestrator, OrchestratorConfig};
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::version;
use picloud_shared::web::{AdminHost, TrustedProxies};
use serde_json::json;

use crate::config::ServeArgs;
use crate::conn::{ConnectionLimits, ConnectionStats};
use crate::metrics::{MeteredSink, Metrics, Scrape};

/// A built server, ready to serve on a listener.
pub struct Server {
    router: Router,
    pub manager: Arc<Manager>,
    pub orchestrator: Arc<Orchestrator>,
    writer: ExecutionWriter,
    limits: ConnectionLimits,
    proxies: Arc<TrustedProxies>,
    connections: Arc<ConnectionStats>,
    shutdown_timeout: Duration,
    /// Released when the server has stopped.
    _data_lock: Option<backup::DataLock>,
}

#[derive(Clone)]
struct Surface {
    public_base_url: Option<String>,
    schema: i64,
}

/// Connects and migrates the database, creates the bootstrap admin, and
/// composes the services.
pub async fn build(args: &ServeArgs) -> anyhow::Result<Server> {
    let target =
        DbTarget::from_settings(args.storage.database_url.as_deref(), &args.storage.data_dir)
            .map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?;
    // One process owns an SQLite database (a restore waits for it to stop).
    let data_lock = match &target {
        DbTarget::Sqlite(path) => Some(backup::lock(path)?),
        DbTarget::Postgres(_) => None,
    };
    let node = node_name("all-in-one");
    let db = Db::connect_as(&target, &node).await?;
    db.migrate().await?;
    let schema = db.applied_schema_version().await?;
    tracing::info!(database = %target.describe(), schema, "database ready");

    let ceilings = args.sandbox.ceilings();
    let admin_host = args.admin_host.clone().unwrap_or_default();
    let max_concurrent = args.max_concurrent_executions as usize;
    let executor = LocalExecutor::new(ExecutorConfig {
        threads: max_concurrent + 1,
        ceilings,
    });
    // A claimed event whose process died is delivered again once its claim
    // lapses: the longest a handler may run, and a margin.
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
            ceilings,
            secure_cookies: args
                .public_base_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
            public_base_url: args.public_base_url.clone(),
            admin_host: admin_host.clone(),
        },
        Arc::new(executor.clone()),
        kv,
        events,
    ));
    executor.connect(SdkServices {
        kv: manager.kv.clone(),
        scripts: Arc::new(Resolver(manager.cache())),
    })?;
    // Other processes on the same PostgreSQL announce their changes: listen
    // before loading, so none made meanwhile goes unseen.
    picloud_manager_core::bus::listen(
        &db,
        &format!("{node} listen"),
        Arc::clone(&manager) as Arc<dyn picloud_manager_core::bus::Subscriber>,
    )
    .await?;
    // Routes and domain claims survive restarts: load them before serving.
    manager.reload_routing().await?;

    match (&args.admin_user, &args.admin_password) {
        (Some(user), Some(password)) => {
            if manager
                .bootstrap_admin(user, password)
                .await
                .map_err(|e| anyhow::anyhow!("PICLOUD_ADMIN_USER/PICLOUD_ADMIN_PASSWORD: {e}"))?
            {
                tracing::info!("created the first instance admin from PICLOUD_ADMIN_USER");
            }
        }
        (Some(_), None) => {
            anyhow::bail!("PICLOUD_ADMIN_USER is set but PICLOUD_ADMIN_PASSWORD is not")
        }
        (None, Some(_)) => {
            anyhow::bail!("PICLOUD_ADMIN_PASSWORD is set but PICLOUD_ADMIN_USER is not")
        }
        (None, None) => {
            if db.count_users().await? == 0 {
                tracing::warn!(
                    "no admin user exists: set PICLOUD_ADMIN_USER and PICLOUD_ADMIN_PASSWORD, or run `picloud admin create-user`"
                );
            }
        }
    }

    let writer = ExecutionWriter::spawn(db.clone(), args.execution_retention);
    manager.attach_records_writer(writer.clone());
    let connections = Arc::new(ConnectionStats::default());
    let metrics = Arc::new(Metrics::new().context("setting up /metrics")?);
    let orchestrator = Arc::new(Orchestrator::new(
        Arc::new(executor),
        Arc::new(Resolver(manager.cache())),
        Arc::new(MeteredSink {
            inner: Arc::new(writer.clone()),
            metrics: Arc::clone(&metrics),
            manager: Arc::clone(&manager),
        }),
        OrchestratorConfig {
            max_concurrent,
            max_body_bytes: args.max_body_bytes as usize,
            ceilings,
            admin_host: admin_host.clone(),
        },
    ));

    orchestrator.spawn_dispatcher(manager.events.clone());
    manager.cron.spawn();

    let surface = Surface {
        public_base_url: args.public_base_url.clone(),
        schema,
    };
    let prefix = version::api_prefix();
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/version", get(version_info).with_state(surface))
        .route(
            "/metrics",
            get(metrics::handler).with_state(Scrape {
                metrics: Arc::clone(&metrics),
                orchestrator: Arc::clone(&orchestrator),
                manager: Arc::clone(&manager),
                writer: writer.clone(),
                connections: Arc::clone(&connections),
                token: args.metrics_token.as_deref().map(Arc::from),
            }),
        )
        .nest(
            &prefix,
            picloud_manager_core::api::admin_router(Arc::clone(&manager)),
        )
        .merge(Arc::clone(&orchestrator).api_router(&prefix))
        .merge(dashboard_routes(admin_host.clone()))
        .route("/api", axum::routing::any(api_not_found))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .fallback_service(
            picloud_orchestrator_core::user_routes(Arc::clone(&orchestrator)).layer(
                axum::middleware::from_fn(move |req: axum::extract::Request, next| {
                    front_door(admin_host.clone(), req, next)
                }),
            ),
        )
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies are limited by PICLOUD_MAX_BODY_BYTES everywhere.
        .layer(axum::extract::DefaultBodyLimit::max(
            args.max_body_bytes as usize,
        ))
        // Every response counts in /metrics (an atomic add, no allocation).
        // A body over the limit (or stalled) is answered unread, so the
        // connection cannot carry another request: say so (as nginx does), or
        // a client may send its next request on a connection that is closing.
        // The close lingers (conn.rs), so the client reads this answer.
        .layer(tower::util::MapResponseLayer::new(
            move |mut response: axum::response::Response| {
                metrics.response(response.status());
                if matches!(
                    response.status(),
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE
                        | axum::http::StatusCode::REQUEST_TIMEOUT
                ) {
                    response.headers_mut().insert(
                        header::CONNECTION,
                        header::HeaderValue::from_static("close"),
                    );
                }
                response
            },
        ));

    Ok(Server {
        router,
        manager,
        orchestrator,
        writer,
        limits: ConnectionLimits {
            max_connections: args.max_connections as usize,
            header_timeout: Duration::from_secs(u64::from(args.header_timeout_secs)),
            body_timeout: Duration::from_secs(u64::from(args.body_timeout_secs)),
            keepalive_timeout: Duration::from_secs(u64::from(args.keepalive_timeout_secs)),
        },
        proxies: Arc::new(args.trusted_proxies.clone().unwrap_or_default()),
        connections,
        shutdown_timeout: Duration::from_secs(u64::from(args.shutdown_timeout_secs)),
        _data_lock: data_lock,
    })
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
    // PostgreSQL keeps 63 bytes of it.
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

/// `GET /` where no user route answers it: a browser is sent to the
/// dashboard, anything else gets the 404 with where to look. A user's own
/// `/` route (even one answering 404) is left alone: only the orchestrator's
/// no-route answer carries `NoRoute`.
async fn front_door(
    admin_host: AdminHost,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let root = req.uri().path() == "/"
        && matches!(
            *req.method(),
            axum::http::Method::GET | axum::http::Method::HEAD
        );
    if !root {
        return next.run(req).await;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(picloud_shared::routing::normalise_host)
        .unwrap_or_default();
    let browser = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let response = next.run(req).await;
    let dashboard = cfg!(feature = "dashboard") && admin_host.serves_dashboard(&host);
    if response
        .extensions()
        .get::<picloud_orchestrator_core::NoRoute>()
        .is_none()
        || !dashboard
    {
        return response;
    }
    if browser {
        return axum::response::Redirect::to("/admin/").into_response();
    }
    ApiError::new(
        ErrorCode::NotFound,
        format!(
            "no route matches GET /: this is PiCloud; the dashboard is at /admin/, \
             the admin API is described at {}/openapi.json",
            version::api_prefix()
        ),
    )
    .into_response()
}

#[cfg(feature = "dashboard")]
fn dashboard_routes(admin_host: AdminHost) -> Router {
    dashboard::router(admin_host)
}

/// Built without the dashboard: `/admin` is not served.
#[cfg(not(feature = "dashboard"))]
fn dashboard_routes(_: AdminHost) -> Router {
    Router::new()
}

async fn healthz() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok")
}

async fn version_info(State(s): State<Surface>) -> axum::Json<serde_json::Value> {
    axum::Json(json!({
        "product": version::PRODUCT_VERSION,
        "sdk": version::SDK_VERSION,
        "api": version::API_VERSION,
        "schema": s.schema,
        "wire": version::WIRE_VERSION,
        "public_base_url": s.public_base_url,
    }))
}

async fn api_not_found(req: axum::extract::Request) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!(
            "no API route {} {}; this server speaks {}",
            req.method(),
            req.uri().path(),
            version::api_prefix()
        ),
    )
}

async fn method_not_allowed(req: axum::extract::Request) -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}

impl Server {
    /// Serves until `shutdown` resolves, then stops accepting, lets running
    /// scripts finish (bounded), and flushes queued execution records.
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
            self.router,
            limits,
            self.proxies,
            self.connections,
            shutdown,
            self.shutdown_timeout,
        )
        .await;
        // Scripts still running (their callers gone) share what is left of
        // the shutdown timeout.
        let left = self.shutdown_timeout.saturating_sub(began.elapsed());
        if !self.orchestrator.drain(left).await {
            tracing::warn!("some scripts were still running at shutdown");
        }
        self.writer.flush().await;
        self.manager.db.close().await;
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
