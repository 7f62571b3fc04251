//! PiCloud's orchestrator: the data plane's ingress. It turns an HTTP
//! request into an `ExecRequest`, applies the concurrency cap, hands the work
//! to an `ExecutorClient`, turns the outcome into an HTTP response by the
//! response convention, and queues the execution record.
//!
//! Architecture Invariant: this crate depends on the `ExecutorClient`,
//! `ScriptResolver` and `ExecutionSink` traits, never on the executor or
//! manager crates. It holds no state that cannot be rebuilt.

pub mod events;
pub mod request;
pub mod response;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::routing::RequestPath;
use picloud_shared::web::AdminHost;
use picloud_shared::{
    ExecOutcome, ExecRequest, ExecStatus, ExecutionId, ExecutionRecord, ExecutionSink,
    ExecutorClient, HttpRequest, Invocation, InvocationType, RecordRequests, RecordedRequest,
    RequestId, SandboxCeilings, Script, ScriptId, ScriptResolver,
};
use tokio::sync::Semaphore;

/// The orchestrator's settings.
#[derive(Clone, Debug)]
pub struct OrchestratorConfig {
    /// Scripts running at once, at most; more answer 503 at once.
    pub max_concurrent: usize,
    /// Request bodies larger than this answer 413.
    pub max_body_bytes: usize,
    /// To know each script's timeout for the watchdog.
    pub ceilings: SandboxCeilings,
    /// Which hosts serve the dashboard: script answers there are sandboxed,
    /// and user routes never answer on a host kept for it.
    pub admin_host: AdminHost,
    /// Headers taken out of every kept request (lower case), besides
    /// `picloud_shared::ALWAYS_REDACTED` and each app's own list
    /// (`PICLOUD_RECORD_REDACT_HEADERS`).
    pub record_redact: Vec<String>,
    /// A kept request's body over this many bytes is not kept
    /// (`PICLOUD_RECORD_MAX_BODY_BYTES`).
    pub record_max_body: usize,
}

/// A replay's answer: its record and, for an HTTP request, the response
/// the script's value converts to.
#[derive(Debug)]
pub struct Replayed {
    pub record: ExecutionRecord,
    pub response: Option<Response>,
}

/// The response header that carries a data-plane request's id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("picloud-request-id");
/// The header that names the execution an HTTP request ran: the `id` of its
/// record in `GET /scripts/{id}/executions`.
pub const EXECUTION_ID_HEADER: HeaderName = HeaderName::from_static("picloud-execution-id");

/// How long past a script's own timeout the orchestrator waits before it
/// answers 504 itself (a single Rhai operation on huge data can overrun).
pub const WATCHDOG_GRACE: Duration = Duration::from_millis(1000);

pub struct Orchestrator {
    executor: Arc<dyn ExecutorClient>,
    resolver: Arc<dyn ScriptResolver>,
    sink: Arc<dyn ExecutionSink>,
    permits: Arc<Semaphore>,
    /// Request bodies being read, all together.
    bodies: request::BodyBudget,
    config: OrchestratorConfig,
    /// Requests answered 503 `overloaded` (for `/metrics`).
    rejected: AtomicU64,
}

impl Orchestrator {
    pub fn new(
        executor: Arc<dyn ExecutorClient>,
        resolver: Arc<dyn ScriptResolver>,
        sink: Arc<dyn ExecutionSink>,
        config: OrchestratorConfig,
    ) -> Self {
        Orchestrator {
            executor,
            resolver,
            sink,
            permits: Arc::new(Semaphore::new(config.max_concurrent)),
            bodies: request::BodyBudget::for_limit(config.max_body_bytes),
            config,
            rejected: AtomicU64::new(0),
        }
    }

    /// Requests answered 503 `overloaded` since start.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Executions running now.
    pub fn in_flight(&self) -> usize {
        self.config.max_concurrent - self.permits.available_permits()
    }

    /// Waits until every running execution has ended, or `timeout` passes.
    /// Returns whether all ended. New executions are refused meanwhile.
    pub async fn drain(&self, timeout: Duration) -> bool {
        let all = u32::try_from(self.config.max_concurrent).unwrap_or(u32::MAX);
        matches!(
            tokio::time::timeout(timeout, self.permits.acquire_many(all)).await,
            Ok(Ok(_))
        )
    }

    /// Runs a script for an HTTP request and answers by the response
    /// convention.
    pub async fn run_http(
        self: &Arc<Self>,
        script_id: ScriptId,
        req: Request<Body>,
        matched: request::Matched,
    ) -> Result<Response, ApiError> {
        let http = request::read(req, self.config.max_body_bytes, &self.bodies, matched)
            .await
            .inspect_err(|e| {
                if e.code == ErrorCode::Overloaded {
                    self.rejected.fetch_add(1, Ordering::Relaxed);
                }
            })?;
        let dashboard_here = self.config.admin_host.serves_dashboard(&http.host);
        // The body is read before a slot is taken, so slow uploads cannot
        // hold slots.
        let permit = Arc::clone(&self.permits).try_acquire_owned().map_err(|_| {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            ApiError::new(
                ErrorCode::Overloaded,
                "every execution slot is busy; retry in a second",
            )
        })?;
        let script = self
            .resolver
            .resolve(script_id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::not_found("script"))?;
        let timeout =
            Duration::from_millis(self.config.ceilings.resolve(&script.sandbox).timeout_ms);
        let request_id = RequestId::new();
        let execution_id = ExecutionId::new();
        // An app that keeps requests for replay: a copy, kept if the
        // execution is one the app keeps.
        let keep = self
            .resolver
            .routing()
            .recording(script.app_id)
            .map(|r| (Arc::clone(r), http.clone()));
        let exec = ExecRequest {
            execution_id,
            request_id,
            script,
            invocation: Invocation::Http(http),
            grant: None,
            dry_run: false,
        };

        // The execution holds the slot until the script really ends and
        // records it, even if the watchdog answers first or the caller goes:
        // then the rest of it is detached into its own task (see `Detached`).
        let this = Arc::clone(self);
        let mut work = Detached::new(async move {
            let _permit = permit;
            let (execution_id, request_id, script) =
                (exec.execution_id, exec.request_id, Arc::clone(&exec.script));
            let invocation_type = exec.invocation.invocation_type();
            match this.executor.execute(exec).await {
                Ok(mut outcome) => {
                    // The scripts it invoked first: they ended first.
                    for call in std::mem::take(&mut outcome.calls) {
                        this.sink.record(call).await;
                    }
                    let converted = response::convert(&mut outcome);
                    let mut record = http_record(
                        &script,
                        (execution_id, request_id, invocation_type),
                        outcome,
                        converted.error,
                        converted.status_code,
                    );
                    if let Some((recording, http)) = keep
                        && this.keeps(&recording, &record)
                    {
                        record.request = Some(this.kept(&recording, http));
                    }
                    this.sink.record(record).await;
                    converted.response
                }
                // No executor could take it (cluster mode): busy, try again.
                Err(picloud_shared::Error::ExecutorUnavailable(why)) => {
                    ApiError::new(ErrorCode::Overloaded, why).into_response()
                }
                Err(e) => ApiError::internal(e).into_response(),
            }
        });
        let mut response = match tokio::time::timeout(timeout + WATCHDOG_GRACE, &mut work).await {
            Ok(response) => response,
            Err(_) => ApiError::new(
                ErrorCode::Timeout,
                format!("the script ran longer than {} ms", timeout.as_millis()),
            )
            .into_response(),
        };
        // Names the execution's record (and those of the scripts it
        // invoked): `GET /scripts/{id}/executions?request_id=`.
        let mut buf = uuid::Uuid::encode_buffer();
        let id = request_id.0.hyphenated().encode_lower(&mut buf);
        if let Ok(value) = HeaderValue::from_str(id) {
            response.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
        let id = execution_id.0.hyphenated().encode_lower(&mut buf);
        if let Ok(value) = HeaderValue::from_str(id) {
            response.headers_mut().insert(EXECUTION_ID_HEADER, value);
        }
        if dashboard_here {
            response::sandbox(&mut response);
        }
        Ok(response)
    }

    /// Whether an app that keeps `recording` keeps the request of
    /// `record`: every one, or those that failed (not `ok`, or a 5xx).
    fn keeps(&self, recording: &picloud_shared::Recording, record: &ExecutionRecord) -> bool {
        match recording.mode {
            RecordRequests::Off => false,
            RecordRequests::All => true,
            RecordRequests::Failed => {
                record.status != ExecStatus::Ok || record.status_code.is_some_and(|c| c >= 500)
            }
        }
    }

    fn kept(&self, recording: &picloud_shared::Recording, http: HttpRequest) -> RecordedRequest {
        RecordedRequest::keep(
            http,
            [
                recording.redact.as_slice(),
                self.config.record_redact.as_slice(),
            ],
            self.config.record_max_body,
        )
    }

    /// Runs `script` again with what an earlier execution (`of`) was given:
    /// its recorded request or event. A dry run (`dry_run`) keeps its KV
    /// writes to itself and sends no outbound call. Waits for a slot.
    /// The replay is recorded like any execution, naming `of`.
    pub async fn replay(
        self: &Arc<Self>,
        script: Arc<Script>,
        invocation: Invocation,
        dry_run: bool,
        of: ExecutionId,
    ) -> Result<Replayed, ApiError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::new(ErrorCode::Overloaded, "the server is shutting down"))?;
        let timeout =
            Duration::from_millis(self.config.ceilings.resolve(&script.sandbox).timeout_ms);
        let exec = ExecRequest {
            execution_id: ExecutionId::new(),
            request_id: RequestId::new(),
            script: Arc::clone(&script),
            invocation,
            grant: None,
            dry_run,
        };
        let ids = (
            exec.execution_id,
            exec.request_id,
            exec.invocation.invocation_type(),
        );
        let event = exec.invocation.event().cloned();
        let http = matches!(exec.invocation, Invocation::Http(_));
        let this = Arc::clone(self);
        // As for a request: the record is written even if the caller goes.
        let work = Detached::new(async move {
            let _permit = permit;
            let mut outcome = this.executor.execute(exec).await?;
            for mut call in std::mem::take(&mut outcome.calls) {
                call.dry_run = dry_run;
                this.sink.record(call).await;
            }
            let (mut record, response) = if http {
                let converted = response::convert(&mut outcome);
                let status_code = converted.status_code;
                let record = http_record(&script, ids, outcome, converted.error, status_code);
                (record, Some(converted.response))
            } else {
                let error = outcome.error.as_ref().map(|e| e.describe());
                let mut record = http_record(&script, ids, outcome, error, 0);
                record.status_code = None;
                record.event = event;
                (record, None)
            };
            record.replay_of = Some(of);
            record.dry_run = dry_run;
            this.sink.record(record.clone()).await;
            Ok::<_, picloud_shared::Error>(Replayed { record, response })
        });
        match tokio::time::timeout(timeout + WATCHDOG_GRACE, work).await {
            Ok(Ok(replayed)) => Ok(replayed),
            Ok(Err(picloud_shared::Error::ExecutorUnavailable(why))) => {
                Err(ApiError::new(ErrorCode::Overloaded, why))
            }
            Ok(Err(e)) => Err(ApiError::internal(e)),
            Err(_) => Err(ApiError::new(
                ErrorCode::Timeout,
                format!(
                    "the replay ran longer than {} ms; its record is written when it ends",
                    timeout.as_millis()
                ),
            )),
        }
    }

    /// The data-plane routes under the API prefix (e.g. `/api/v1`). They
    /// take full paths rather than being nested: a nested route rebuilds
    /// each request's URI, which is measurable on the hot path.
    pub fn api_router(self: Arc<Self>, prefix: &str) -> Router {
        Router::new()
            .route(&format!("{prefix}/execute/{{id}}"), any(execute))
            .route(&format!("{prefix}/execute/{{id}}/"), any(execute))
            .route(
                &format!("{prefix}/execute/{{id}}/{{*rest}}"),
                any(execute_rest),
            )
            .with_state(self)
    }
}

/// The record of an execution that answered an HTTP request (or, with its
/// status code taken out, any other).
fn http_record(
    script: &Script,
    (id, request_id, invocation_type): (ExecutionId, RequestId, InvocationType),
    outcome: ExecOutcome,
    error: Option<String>,
    status_code: u16,
) -> ExecutionRecord {
    ExecutionRecord {
        id,
        app_id: script.app_id,
        script_id: script.id,
        request_id,
        invocation_type,
        // A value that cannot be a response is the script's error; a
        // status the script chose (even a 5xx) is not.
        status: if outcome.status == ExecStatus::Ok && error.is_some() {
            ExecStatus::Error
        } else {
            outcome.status
        },
        status_code: Some(status_code),
        started_at: outcome.started_at,
        duration_ms: outcome.duration.as_secs_f64() * 1000.0,
        error,
        logs: outcome.logs,
        event: None,
        outbound: outcome.outbound,
        script_version: Some(script.version),
        operations: Some(outcome.operations),
        cpu_ms: Some(outcome.cpu.as_secs_f64() * 1000.0),
        request: None,
        replay_of: None,
        dry_run: false,
    }
}

/// A future that, if dropped before it finishes, carries on in a task of its
/// own. The request path awaits the execution in place (no task per
/// request); only an abandoned one (watchdog, caller gone) is spawned.
struct Detached<T: Send + 'static>(Option<Pin<Box<dyn Future<Output = T> + Send>>>);

impl<T: Send + 'static> Detached<T> {
    fn new(f: impl Future<Output = T> + Send + 'static) -> Self {
        Detached(Some(Box::pin(f)))
    }
}

impl<T: Send + 'static> Future for Detached<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let Some(f) = self.0.as_mut() else {
            return Poll::Pending; // polled after completion: never again
        };
        let out = std::task::ready!(f.as_mut().poll(cx));
        self.0 = None;
        Poll::Ready(out)
    }
}

impl<T: Send + 'static> Drop for Detached<T> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                f.await;
            });
        }
    }
}

fn parse_script_id(raw: &str) -> Result<ScriptId, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidId,
            format!("{raw:?} is not a script id (a UUID)"),
        )
    })
}

async fn execute(
    State(o): State<Arc<Orchestrator>>,
    Path(id): Path<String>,
    req: Request<Body>,
) -> Result<Response, ApiError> {
    let id = parse_script_id(&id)?;
    o.run_http(id, req, request::Matched::default()).await
}

async fn execute_rest(
    State(o): State<Arc<Orchestrator>>,
    Path((id, rest)): Path<(String, String)>,
    req: Request<Body>,
) -> Result<Response, ApiError> {
    let id = parse_script_id(&id)?;
    let matched = request::Matched {
        rest,
        ..Default::default()
    };
    o.run_http(id, req, matched).await
}

impl Orchestrator {
    /// Answers a request for a user route: everything no built-in route
    /// takes. Host → the claiming app → that app's routes only; no match is
    /// a JSON 404 marked [`NoRoute`].
    pub async fn user_route(self: &Arc<Self>, req: Request<Body>) -> Response {
        match dispatch(self, req).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        }
    }
}

async fn dispatch(o: &Arc<Orchestrator>, req: Request<Body>) -> Result<Response, ApiError> {
    let path =
        RequestPath::parse(req.uri().path()).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let host = picloud_shared::web::request_host(req.headers(), req.uri());
    // The dashboard's own host answers no user route (PICLOUD_ADMIN_HOST).
    if o.config.admin_host.reserves(&host) {
        return Ok(no_route(&req));
    }
    let routing = o.resolver.routing();
    let dispatch = routing.dispatch(&host, req.method().as_str(), &path);
    let Some(found) = dispatch.route else {
        return Ok(no_route(&req));
    };
    let script_id = found.value.script_id;
    let matched = request::Matched {
        params: found.params.into_iter().collect(),
        rest: found.rest,
        host_params: dispatch.host_params.into_iter().collect(),
        host: Some(host),
    };
    drop(routing);
    o.run_http(script_id, req, matched).await
}

/// Marks the 404 of a request that no user route matched (a script's own
/// 404 has no such mark), so the binary can point a visitor of `/` to the
/// dashboard without shadowing a user's `/` route.
#[derive(Clone, Copy, Debug)]
pub struct NoRoute;

fn no_route(req: &Request<Body>) -> Response {
    let mut response = ApiError::new(
        ErrorCode::NotFound,
        format!("no route matches {} {}", req.method(), req.uri().path()),
    )
    .into_response();
    response.extensions_mut().insert(NoRoute);
    response
}
