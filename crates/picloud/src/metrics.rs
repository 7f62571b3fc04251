//! `GET /metrics`: what the server did, in the Prometheus text format.
//!
//! Collecting adds no wake-ups: every metric is an atomic bumped on the
//! path that does the work (a response, an execution record) or read when
//! scraped (slots in use, 503s, KV calls, the event backlog). Histograms
//! have fixed buckets, so nothing grows between scrapes and nothing needs
//! an upkeep task.
//!
//! Label cardinality is bounded: executions are labelled by app and script
//! name for the first [`MAX_SCRIPT_SERIES`] scripts that run; later ones
//! share the series `app="_other", script="_other"`.

use std::sync::{Arc, RwLock};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use picloud_manager_core::Manager;
use picloud_orchestrator_core::Orchestrator;
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::web::ClientIp;
use picloud_shared::{
    BoxFuture, ExecStatus, ExecutionRecord, ExecutionSink, InvocationType, OutboundOutcome,
    ScriptId,
};
use prometheus::core::Collector;
use prometheus::{
    Counter, CounterVec, Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter,
    IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use subtle::ConstantTimeEq;

/// One script's series: executions by status, operations, CPU time, and
/// its app's name.
struct Series {
    executions: [IntCounter; 4],
    operations: Histogram,
    cpu: Counter,
    app: String,
}

/// Scripts with series of their own; the rest roll up into `_other`.
pub const MAX_SCRIPT_SERIES: usize = 500;

/// The label value of the roll-up series.
pub const OTHER: &str = "_other";

/// Execution durations, in seconds: 0.5 ms to 30 s.
const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Rhai operations an execution spent: 10 to a billion, by powers of ten
/// (the default ceiling is a million).
const OPERATION_BUCKETS: &[f64] = &[10.0, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

const STATUSES: [ExecStatus; 4] = [
    ExecStatus::Ok,
    ExecStatus::Error,
    ExecStatus::Timeout,
    ExecStatus::LimitExceeded,
];

/// The metrics bumped as work happens.
pub struct Metrics {
    registry: Registry,
    /// Responses by status class, `1xx` to `5xx`.
    http: [IntCounter; 5],
    executions: IntCounterVec,
    operations: HistogramVec,
    cpu: CounterVec,
    /// Execution durations by [`InvocationType`] (in the order of
    /// `InvocationType::ALL`), looked up once.
    by_type: [Histogram; 4],
    /// Each admitted script's counters, one per status (in `STATUSES` order).
    series: RwLock<foldhash::HashMap<ScriptId, Arc<Series>>>,
    other: Arc<Series>,
    /// Scripts' outbound HTTP calls, by app and outcome.
    outbound: IntCounterVec,
    /// Scripts admitted to series of their own at most.
    limit: usize,
}

impl Metrics {
    pub fn new() -> prometheus::Result<Metrics> {
        Self::with_limit(MAX_SCRIPT_SERIES)
    }

    /// With room for `limit` scripts' series.
    pub fn with_limit(limit: usize) -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        let http_vec = IntCounterVec::new(
            Opts::new(
                "picloud_http_requests_total",
                "HTTP responses, by status class.",
            ),
            &["class"],
        )?;
        registry.register(Box::new(http_vec.clone()))?;
        let http = ["1xx", "2xx", "3xx", "4xx", "5xx"].map(|c| http_vec.with_label_values(&[c]));
        let executions = IntCounterVec::new(
            Opts::new(
                "picloud_executions_total",
                "Executions recorded, by app, script and status.",
            ),
            &["app", "script", "status"],
        )?;
        registry.register(Box::new(executions.clone()))?;
        let operations = HistogramVec::new(
            HistogramOpts::new(
                "picloud_script_operations",
                "Rhai operations an execution spent, the scripts it invoked included, by app and script.",
            )
            .buckets(OPERATION_BUCKETS.to_vec()),
            &["app", "script"],
        )?;
        registry.register(Box::new(operations.clone()))?;
        let cpu = CounterVec::new(
            Opts::new(
                "picloud_script_cpu_seconds_total",
                "CPU time of the threads that ran a script's executions, by app and script.",
            ),
            &["app", "script"],
        )?;
        registry.register(Box::new(cpu.clone()))?;
        let durations = HistogramVec::new(
            HistogramOpts::new(
                "picloud_execution_duration_seconds",
                "How long executions ran, by invocation type.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["type"],
        )?;
        registry.register(Box::new(durations.clone()))?;
        let by_type = InvocationType::ALL.map(|t| durations.with_label_values(&[t.as_str()]));
        let other = Arc::new(Series {
            executions: STATUSES.map(|s| executions.with_label_values(&[OTHER, OTHER, s.as_str()])),
            operations: operations.with_label_values(&[OTHER, OTHER]),
            cpu: cpu.with_label_values(&[OTHER, OTHER]),
            app: OTHER.to_owned(),
        });
        let outbound = IntCounterVec::new(
            Opts::new(
                "picloud_outbound_requests_total",
                "Scripts' outbound HTTP calls, by app and outcome (ok, refused, failed, timeout).",
            ),
            &["app", "outcome"],
        )?;
        registry.register(Box::new(outbound.clone()))?;
        Ok(Metrics {
            registry,
            http,
            executions,
            operations,
            cpu,
            by_type,
            series: RwLock::new(foldhash::HashMap::default()),
            other,
            outbound,
            limit,
        })
    }

    /// Counts a response.
    pub fn response(&self, status: StatusCode) {
        let class = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        self.http[class].inc();
    }

    /// The counters of a script seen before, if it was.
    fn known(&self, script: ScriptId) -> Option<Arc<Series>> {
        self.series
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&script)
            .cloned()
    }

    /// Admits a script with these labels, or rolls it up when the series
    /// are full.
    fn admit(&self, script: ScriptId, app: &str, name: &str) -> Arc<Series> {
        let mut series = self.series.write().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = series.get(&script) {
            return Arc::clone(found);
        }
        if series.len() >= self.limit {
            return Arc::clone(&self.other);
        }
        let counters = Arc::new(Series {
            executions: STATUSES
                .map(|s| self.executions.with_label_values(&[app, name, s.as_str()])),
            operations: self.operations.with_label_values(&[app, name]),
            cpu: self.cpu.with_label_values(&[app, name]),
            app: app.to_owned(),
        });
        series.insert(script, Arc::clone(&counters));
        counters
    }

    fn count(&self, counters: &Series, record: &ExecutionRecord) {
        let i = STATUSES
            .iter()
            .position(|s| *s == record.status)
            .unwrap_or(1);
        counters.executions[i].inc();
        if let Some(operations) = record.operations {
            // As f64: exact below 2^53, far past any ceiling.
            counters.operations.observe(operations as f64);
        }
        if let Some(cpu_ms) = record.cpu_ms {
            counters.cpu.inc_by(cpu_ms.max(0.0) / 1000.0);
        }
        // A dry run's calls were not made: not counted.
        for call in record
            .outbound
            .iter()
            .filter(|c| c.outcome != OutboundOutcome::NotSent)
        {
            self.outbound
                .with_label_values(&[counters.app.as_str(), call.outcome.as_str()])
                .inc();
        }
        self.by_type[record.invocation_type as usize].observe(record.duration_ms / 1000.0);
    }
}

/// Counts each execution record on its way to the writer.
pub struct MeteredSink {
    pub inner: Arc<dyn ExecutionSink>,
    pub metrics: Arc<Metrics>,
    /// Where the script's and app's names are read (once per script).
    pub cache: Arc<picloud_manager_core::DataCache>,
}

impl ExecutionSink for MeteredSink {
    fn record(&self, record: ExecutionRecord) -> BoxFuture<'_, ()> {
        // A script seen before: counted here, and the record goes straight
        // on (no future of our own on the request path).
        if let Some(counters) = self.metrics.known(record.script_id) {
            self.metrics.count(&counters, &record);
            return self.inner.record(record);
        }
        Box::pin(async move {
            // A script's first record in this process: its names, once (the
            // script is in the data plane's cache: it ran).
            let script = self.cache.script(record.script_id).await;
            let app = self.cache.app_name(record.app_id).await;
            let counters = match (script, app) {
                (Ok(Some(script)), Ok(Some(app))) => {
                    self.metrics
                        .admit(record.script_id, &app, script.name.as_str())
                }
                // Deleted meanwhile, or the database failed: not worth a
                // series of its own.
                _ => Arc::clone(&self.metrics.other),
            };
            self.metrics.count(&counters, &record);
            self.inner.record(record).await;
        })
    }
}

/// What `/metrics` reads besides the registry.
#[derive(Clone)]
pub struct Scrape {
    pub metrics: Arc<Metrics>,
    pub orchestrator: Arc<Orchestrator>,
    /// The control plane's counters (not on an orchestrator).
    pub manager: Option<Arc<Manager>>,
    pub writer: picloud_manager_core::executions::ExecutionWriter,
    /// The data plane's script cache.
    pub cache: Arc<picloud_manager_core::cache::DataCache>,
    pub connections: Arc<crate::conn::ConnectionStats>,
    /// `PICLOUD_METRICS_TOKEN`.
    pub token: Option<Arc<str>>,
}

/// Whether a request may read `/metrics`: it names the metrics token, or
/// it comes from this machine (the client is loopback) and no proxy
/// forwarded it. App and script names are in there: not for the Internet.
fn may_read(s: &Scrape, req: &Request) -> bool {
    let headers = req.headers();
    if let Some(token) = &s.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
            return true;
        }
    }
    let local = req
        .extensions()
        .get::<ClientIp>()
        .is_some_and(|c| c.0.is_loopback());
    let forwarded = ["x-forwarded-for", "forwarded", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h));
    local && !forwarded
}

/// `GET /metrics`.
pub async fn handler(State(s): State<Scrape>, req: Request) -> Response {
    if !may_read(&s, &req) {
        return ApiError::new(
            ErrorCode::Unauthorized,
            "/metrics needs Authorization: Bearer <PICLOUD_METRICS_TOKEN>, \
             or a request from this machine that no proxy forwarded",
        )
        .into_response();
    }
    match render(&s).await {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "could not render /metrics");
            ApiError::internal(e).into_response()
        }
    }
}

async fn render(s: &Scrape) -> anyhow::Result<String> {
    let mut families = s.metrics.registry.gather();

    families.extend(gauge(
        "picloud_executions_in_flight",
        "Executions running now (they hold a slot).",
        i64::try_from(s.orchestrator.in_flight()).unwrap_or(i64::MAX),
    )?);
    families.extend(counter(
        "picloud_overloaded_total",
        "Requests answered 503 overloaded: every slot was busy.",
        s.orchestrator.rejected(),
    )?);
    families.extend(counter(
        "picloud_execution_records_dropped_total",
        "Execution records lost: the database refused their batch on every try.",
        s.writer.dropped(),
    )?);

    families.extend(counter(
        "picloud_script_cache_misses_total",
        "Script lookups the cache could not answer: read from the database (a hit never reads it).",
        s.cache.misses(),
    )?);

    families.extend(gauge(
        "picloud_connections_open",
        "HTTP connections open now.",
        i64::try_from(s.connections.open()).unwrap_or(i64::MAX),
    )?);
    families.extend(counter(
        "picloud_connections_refused_total",
        "Connections refused at once: PICLOUD_MAX_CONNECTIONS were open.",
        s.connections.refused(),
    )?);

    if let Some(manager) = &s.manager {
        let kv = IntCounterVec::new(
            Opts::new(
                "picloud_kv_operations_total",
                "Scripts' KV calls, by operation.",
            ),
            &["op"],
        )?;
        for (op, n) in manager.kv_op_counts() {
            kv.with_label_values(&[op]).inc_by(n);
        }
        families.extend(kv.collect());

        let (pending, dead) = manager.event_backlog().await?;
        families.extend(gauge(
            "picloud_events_pending",
            "Trigger events waiting for delivery or being delivered.",
            pending,
        )?);
        families.extend(gauge(
            "picloud_dead_letters",
            "Events whose handler failed every attempt, kept for a retry.",
            dead,
        )?);
    }

    families.sort_by(|a, b| a.name().cmp(b.name()));
    let mut out = Vec::new();
    TextEncoder::new().encode(&families, &mut out)?;
    Ok(String::from_utf8(out)?)
}

/// A counter read at scrape time from a value kept elsewhere.
fn counter(
    name: &str,
    help: &str,
    value: u64,
) -> prometheus::Result<Vec<prometheus::proto::MetricFamily>> {
    let c = IntCounter::new(name, help)?;
    c.inc_by(value);
    Ok(c.collect())
}

/// A gauge read at scrape time.
fn gauge(
    name: &str,
    help: &str,
    value: i64,
) -> prometheus::Result<Vec<prometheus::proto::MetricFamily>> {
    let g = IntGauge::new(name, help)?;
    g.set(value);
    Ok(g.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(m: &Metrics) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&m.registry.gather(), &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn scripts_past_the_limit_share_one_series() {
        let m = Metrics::with_limit(2).unwrap();
        let ids: Vec<ScriptId> = (0..4).map(|_| ScriptId::new()).collect();
        for (i, id) in ids.iter().enumerate() {
            let c = m.admit(*id, "shop", &format!("s{i}"));
            c.executions[0].inc();
        }
        // Seen again: the same series, not a new admission.
        m.admit(ids[0], "shop", "s0").executions[1].inc();
        let t = text(&m);
        assert!(
            t.contains(r#"picloud_executions_total{app="shop",script="s0",status="ok"} 1"#),
            "{t}"
        );
        assert!(
            t.contains(r#"picloud_executions_total{app="shop",script="s0",status="error"} 1"#),
            "{t}"
        );
        assert!(
            t.contains(r#"picloud_executions_total{app="shop",script="s1",status="ok"} 1"#),
            "{t}"
        );
        assert!(!t.contains(r#"script="s2""#), "{t}");
        assert!(
            t.contains(r#"picloud_executions_total{app="_other",script="_other",status="ok"} 2"#),
            "{t}"
        );
    }

    #[test]
    fn responses_count_by_status_class() {
        let m = Metrics::new().unwrap();
        for code in [200, 204, 404, 503, 101, 302] {
            m.response(StatusCode::from_u16(code).unwrap());
        }
        let t = text(&m);
        for (class, n) in [("1xx", 1), ("2xx", 2), ("3xx", 1), ("4xx", 1), ("5xx", 1)] {
            assert!(
                t.contains(&format!(
                    r#"picloud_http_requests_total{{class="{class}"}} {n}"#
                )),
                "{t}"
            );
        }
    }

    #[test]
    fn calls_count_by_outcome_and_durations_by_invocation_type() {
        use picloud_shared::{AppId, ExecutionId, OutboundCall, RequestId};
        let m = Metrics::new().unwrap();
        let script = ScriptId::new();
        let call = |outcome| OutboundCall {
            method: "GET".into(),
            host: "api.example.com".into(),
            status: None,
            outcome,
            duration_ms: 1.0,
        };
        let record = ExecutionRecord {
            id: ExecutionId::new(),
            app_id: AppId::new(),
            script_id: script,
            request_id: RequestId::new(),
            invocation_type: InvocationType::Scheduled,
            status: ExecStatus::Ok,
            status_code: None,
            started_at: time::OffsetDateTime::now_utc(),
            duration_ms: 2.0,
            error: None,
            logs: Vec::new(),
            event: None,
            outbound: vec![
                call(OutboundOutcome::Ok),
                call(OutboundOutcome::Refused),
                call(OutboundOutcome::Ok),
                // A dry run's call was not made: not counted.
                call(OutboundOutcome::NotSent),
            ],
            script_version: None,
            operations: None,
            cpu_ms: None,
            request: None,
            replay_of: None,
            dry_run: true,
        };
        m.count(&m.admit(script, "shop", "tick"), &record);
        let t = text(&m);
        for line in [
            r#"picloud_outbound_requests_total{app="shop",outcome="ok"} 2"#,
            r#"picloud_outbound_requests_total{app="shop",outcome="refused"} 1"#,
            r#"picloud_execution_duration_seconds_count{type="scheduled"} 1"#,
            r#"picloud_execution_duration_seconds_count{type="http"} 0"#,
        ] {
            assert!(t.contains(line), "{line} in {t}");
        }
        assert!(!t.contains("not_sent"), "{t}");
    }
}
