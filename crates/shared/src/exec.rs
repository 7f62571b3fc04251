//! An execution: what the orchestrator asks the executor to run, what comes
//! back, and the record the manager keeps of it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{AppId, ExecutionId, RequestId, Script, ScriptId};

/// Run one script once.
#[derive(Clone, Debug)]
pub struct ExecRequest {
    pub execution_id: ExecutionId,
    pub request_id: RequestId,
    pub script: Arc<Script>,
    pub invocation: Invocation,
    /// Proof, for services reached over the wire, that this execution acts
    /// for its script's app at its depth (signed by whoever sent the
    /// execution; see the `wire` module). `None` within one process.
    pub grant: Option<String>,
    /// A dry run (a replay's default): KV writes go to an overlay the
    /// execution alone sees and that is dropped when it ends (so they fire
    /// no events), and outbound HTTP calls are not sent.
    pub dry_run: bool,
}

/// Why the script runs, with what it is given. (`function`, the fourth
/// invocation type of SDK 1.0, never crosses a seam: `invoke` runs inside
/// the executor.)
// `Http` is the large variant and the common one: boxing it would cost an
// allocation on every request, while an `Invocation` is built once and
// moved a few times.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Invocation {
    Http(HttpRequest),
    /// A KV trigger's event, or a dead letter for a dead-letter handler:
    /// `event` is `ctx.event`, `depth` the event's trigger depth.
    Trigger {
        event: serde_json::Value,
        depth: u32,
    },
    /// A cron tick: `event` is `ctx.event`.
    Scheduled {
        event: serde_json::Value,
    },
}

/// What ran a script: `ctx.invocation_type`, and an execution record's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvocationType {
    /// A request to a route or to `/api/v1/execute`.
    Http,
    /// Another script's `invoke`.
    Function,
    /// A KV trigger's event, or a dead letter.
    Trigger,
    /// A cron schedule.
    Scheduled,
}

impl InvocationType {
    /// Every type, in the order of their declaration (`t as usize` indexes it).
    pub const ALL: [InvocationType; 4] = [
        InvocationType::Http,
        InvocationType::Function,
        InvocationType::Trigger,
        InvocationType::Scheduled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvocationType::Http => "http",
            InvocationType::Function => "function",
            InvocationType::Trigger => "trigger",
            InvocationType::Scheduled => "scheduled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "http" => InvocationType::Http,
            "function" => InvocationType::Function,
            "trigger" => InvocationType::Trigger,
            "scheduled" => InvocationType::Scheduled,
            _ => return None,
        })
    }
}

impl Invocation {
    /// `ctx.invocation_type`.
    pub fn invocation_type(&self) -> InvocationType {
        match self {
            Invocation::Http(_) => InvocationType::Http,
            Invocation::Trigger { .. } => InvocationType::Trigger,
            Invocation::Scheduled { .. } => InvocationType::Scheduled,
        }
    }

    /// The trigger depth of what the script writes: 0 for a request, the
    /// event's depth for a handler.
    pub fn depth(&self) -> u32 {
        match self {
            Invocation::Http(_) | Invocation::Scheduled { .. } => 0,
            Invocation::Trigger { depth, .. } => *depth,
        }
    }

    /// `ctx.event`, when there is one.
    pub fn event(&self) -> Option<&serde_json::Value> {
        match self {
            Invocation::Http(_) => None,
            Invocation::Trigger { event, .. } | Invocation::Scheduled { event } => Some(event),
        }
    }
}

/// `ctx.request`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    /// Lower-case names; repeated headers joined with ", ".
    pub headers: BTreeMap<String, String>,
    pub query: BTreeMap<String, String>,
    pub params: BTreeMap<String, String>,
    pub rest: String,
    pub host: String,
    pub host_params: BTreeMap<String, String>,
    pub body: RequestBody,
    /// The client's address (behind `PICLOUD_TRUSTED_PROXIES`, the one they
    /// forwarded for); empty when unknown. SDK 1.1.
    pub ip: String,
}

/// Which of an app's requests are kept with their execution records, for
/// replay (`PATCH /apps/{app}`): none by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecordRequests {
    #[default]
    Off,
    /// Those whose execution did not end `ok` with a status below 500.
    Failed,
    All,
}

impl RecordRequests {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordRequests::Off => "off",
            RecordRequests::Failed => "failed",
            RecordRequests::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "off" => RecordRequests::Off,
            "failed" => RecordRequests::Failed,
            "all" => RecordRequests::All,
            _ => return None,
        })
    }
}

/// A request as kept for replay: `ctx.request` without the headers that
/// carry credentials, and without its body when that was over the bound.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordedRequest {
    #[serde(flatten)]
    pub request: HttpRequest,
    /// The headers taken out (lower-case names): a replay runs without them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted_headers: Vec<String>,
    /// The size in bytes of a body that was not kept (over
    /// `PICLOUD_RECORD_MAX_BODY_BYTES`); such a request cannot be replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_dropped: Option<u64>,
}

/// What an app keeps of its requests, as the data plane caches it (with
/// routing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    pub mode: RecordRequests,
    /// Lower-case names of headers taken out besides [`ALWAYS_REDACTED`].
    pub redact: Vec<String>,
}

/// A header name to take out of kept requests, lower-cased: 1 to 100 of
/// the characters HTTP allows in a name.
pub fn redacted_header_name(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(format!(
            "{name:?} is not a header name (1 to 100 of A-Z, a-z, 0-9 and !#$%&'*+-.^_`|~)"
        ))
    }
}

/// Headers never kept with a request: they carry credentials.
pub const ALWAYS_REDACTED: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

impl RecordedRequest {
    /// `request` as it is kept: without the headers of
    /// [`ALWAYS_REDACTED`] and those named in `redact` (lower case), and
    /// without its body when that is over `max_body` bytes.
    pub fn keep<'a>(
        mut request: HttpRequest,
        redact: impl IntoIterator<Item = &'a [String]>,
        max_body: usize,
    ) -> Self {
        let lists: Vec<&[String]> = redact.into_iter().collect();
        let mut redacted_headers = Vec::new();
        request.headers.retain(|name, _| {
            let out = ALWAYS_REDACTED.contains(&name.as_str())
                || lists.iter().any(|l| l.iter().any(|r| r == name));
            if out {
                redacted_headers.push(name.clone());
            }
            !out
        });
        let size = match &request.body {
            RequestBody::Empty => 0,
            RequestBody::Text(t) => t.len(),
            RequestBody::Bytes(b) => b.len(),
            RequestBody::Json(v) => serde_json::to_vec(v).map_or(usize::MAX, |j| j.len()),
        };
        let body_dropped = (size > max_body).then(|| {
            request.body = RequestBody::Empty;
            size as u64
        });
        RecordedRequest {
            request,
            redacted_headers,
            body_dropped,
        }
    }
}

/// `ctx.request.body`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum RequestBody {
    /// `()`: no body.
    #[default]
    Empty,
    /// A JSON content type, parsed.
    Json(serde_json::Value),
    /// Any other content type, valid UTF-8: a string.
    Text(String),
    /// Any other content type, not UTF-8: a blob (base64 on the wire).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Byte))]
    Bytes(#[serde(with = "crate::serde_formats::base64_bytes")] Vec<u8>),
}

/// How an execution ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExecStatus {
    Ok,
    Error,
    Timeout,
    LimitExceeded,
}

impl ExecStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ExecStatus::Ok => "ok",
            ExecStatus::Error => "error",
            ExecStatus::Timeout => "timeout",
            ExecStatus::LimitExceeded => "limit_exceeded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ok" => ExecStatus::Ok,
            "error" => ExecStatus::Error,
            "timeout" => ExecStatus::Timeout,
            "limit_exceeded" => ExecStatus::LimitExceeded,
            _ => return None,
        })
    }
}

/// A script failure: a compile error, a runtime error or `throw`, a limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptError {
    /// The API error code: `compile_error`, `script_error`,
    /// `limit_exceeded`, `timeout` or `invalid_response`.
    pub code: String,
    pub message: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl ScriptError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ScriptError {
            code: code.to_owned(),
            message: message.into(),
            line: None,
            column: None,
        }
    }

    /// The message with its position, as stored in execution records.
    pub fn describe(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{} (line {l}, column {c})", self.message),
            (Some(l), None) => format!("{} (line {l})", self.message),
            _ => self.message.clone(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Trace,
    Info,
    Warn,
    Error,
}

/// One `log::*` call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogEntry {
    pub level: LogLevel,
    pub message: String,
    pub data: Option<serde_json::Value>,
    #[serde(with = "crate::timestamp")]
    pub at: OffsetDateTime,
}

/// What the executor reports back.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExecOutcome {
    pub status: ExecStatus,
    /// The script's return value, as JSON (`()` is null), when it succeeded.
    pub value: Option<crate::Returned>,
    pub error: Option<ScriptError>,
    pub logs: Vec<LogEntry>,
    #[serde(with = "crate::timestamp")]
    pub started_at: OffsetDateTime,
    /// Time spent running the script, including compiling it on a cache miss.
    #[serde(with = "crate::serde_formats::micros")]
    pub duration: std::time::Duration,
    /// The records of the scripts it called with `invoke`, in the order
    /// they ended; each is an execution of its own (`function`), under the
    /// same request id.
    pub calls: Vec<ExecutionRecord>,
    /// The outbound HTTP calls it made, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbound: Vec<OutboundCall>,
    /// Rhai operations spent, the scripts it invoked included: the same
    /// for the same script and input on any machine.
    pub operations: u64,
    /// CPU time of the thread that ran it, the scripts it invoked and the
    /// services it waited on in that thread included.
    #[serde(with = "crate::serde_formats::micros")]
    pub cpu: std::time::Duration,
}

/// One outbound HTTP call an execution made (`http::request`): what and
/// where, never bodies or headers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboundCall {
    pub method: String,
    /// The URL's host (and port, when not the scheme's default).
    pub host: String,
    /// The answer's status code; absent when there was no answer.
    pub status: Option<u16>,
    pub outcome: OutboundOutcome,
    pub duration_ms: f64,
}

/// How an outbound call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OutboundOutcome {
    /// An answer came, whatever its status.
    Ok,
    /// The SSRF guard refused it: nothing was sent.
    Refused,
    /// Connection, TLS, protocol, a body over the limit.
    Failed,
    /// The call's own timeout or the execution's.
    Timeout,
    /// A dry-run replay's call, not sent.
    NotSent,
}

impl OutboundOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboundOutcome::Ok => "ok",
            OutboundOutcome::Refused => "refused",
            OutboundOutcome::Failed => "failed",
            OutboundOutcome::Timeout => "timeout",
            OutboundOutcome::NotSent => "not_sent",
        }
    }
}

/// The stored record of one execution (contract: Execution).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecutionRecord {
    pub id: ExecutionId,
    pub app_id: AppId,
    pub script_id: ScriptId,
    pub request_id: RequestId,
    pub invocation_type: InvocationType,
    pub status: ExecStatus,
    pub status_code: Option<u16>,
    #[serde(with = "crate::timestamp")]
    pub started_at: OffsetDateTime,
    pub duration_ms: f64,
    pub error: Option<String>,
    pub logs: Vec<LogEntry>,
    /// `ctx.event`, for trigger executions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<serde_json::Value>,
    /// The outbound HTTP calls it made, in order; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbound: Vec<OutboundCall>,
    /// The version of the script that ran; null in records kept from
    /// before versions were recorded, and when the script never started.
    #[serde(default)]
    pub script_version: Option<i64>,
    /// Rhai operations it spent, those of the scripts it invoked included
    /// (docs/scripts.md); null in records from before they were counted.
    #[serde(default)]
    pub operations: Option<u64>,
    /// CPU time of the thread that ran it, in milliseconds (null as for
    /// `operations`).
    #[serde(default)]
    pub cpu_ms: Option<f64>,
    /// The request, when the app keeps requests for replay
    /// ([`RecordRequests`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RecordedRequest>,
    /// For a replay: the execution it replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<ExecutionId>,
    /// A dry run: its KV writes were discarded and its outbound calls not
    /// sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_requests_lose_credentials_and_big_bodies() {
        let request = HttpRequest {
            method: "POST".into(),
            headers: BTreeMap::from([
                ("authorization".into(), "Bearer secret".into()),
                ("cookie".into(), "a=b".into()),
                ("proxy-authorization".into(), "Basic x".into()),
                ("x-api-key".into(), "k".into()),
                ("x-trace".into(), "t".into()),
                ("content-type".into(), "text/plain".into()),
            ]),
            body: RequestBody::Text("hello".into()),
            ..HttpRequest::default()
        };
        let app = vec!["x-api-key".to_owned()];
        let kept = RecordedRequest::keep(request.clone(), [app.as_slice()], 5);
        assert_eq!(
            kept.request.headers.keys().collect::<Vec<_>>(),
            ["content-type", "x-trace"]
        );
        assert_eq!(
            kept.redacted_headers,
            [
                "authorization",
                "cookie",
                "proxy-authorization",
                "x-api-key"
            ]
        );
        assert_eq!(kept.request.body, RequestBody::Text("hello".into()));
        assert_eq!(kept.body_dropped, None);

        let kept = RecordedRequest::keep(request, [], 4);
        assert!(kept.request.headers.contains_key("x-api-key"));
        assert_eq!(kept.request.body, RequestBody::Empty);
        assert_eq!(kept.body_dropped, Some(5));
        // What the API shows: the request's fields at the top level.
        let json = serde_json::to_value(&kept).unwrap();
        assert_eq!(json["method"], "POST");
        assert_eq!(json["body_dropped"], 5);
        assert_eq!(
            serde_json::from_value::<RecordedRequest>(json).unwrap(),
            kept
        );
    }
}
