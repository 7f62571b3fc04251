//! The `http` namespace: `http::request(#{ method, url, headers, body,
//! timeout_ms })`, `http::get(url)`, `http::post(url, body)`. Every call
//! goes through the SSRF guard ([`crate::outbound`]), counts against the
//! execution's deadline and its number of calls, and blocks the script's
//! thread as a KV call does (handing the runtime over first).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use picloud_shared::OutboundOutcome;
use rhai::{Blob, Dynamic, EvalAltResult, INT, Map, Module, NativeCallContext, Shared};

use crate::context;
use crate::convert::{dynamic_to_json, json_text_to_dynamic};
use crate::frame;
use crate::outbound::{Call, Outbound};

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

const WHAT: &str = "http::request";

/// The keys a request map may have.
const KEYS: [&str; 5] = ["method", "url", "headers", "body", "timeout_ms"];

fn fail<T>(message: impl std::fmt::Display) -> RhaiResult<T> {
    Err(format!("{WHAT}: {message}").into())
}

fn string_of(spec: &Map, key: &str) -> RhaiResult<Option<String>> {
    match spec.get(key) {
        None => Ok(None),
        Some(v) if v.is_unit() => Ok(None),
        Some(v) => match v.clone().into_immutable_string() {
            Ok(s) => Ok(Some(s.to_string())),
            Err(t) => fail(format!("`{key}` is a string, not {t}")),
        },
    }
}

/// The request a script described, checked: nothing is sent for a bad one.
fn parse(spec: &Map, outbound: &Outbound) -> RhaiResult<Call> {
    if let Some(key) = spec.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return fail(format!(
            "unknown key `{key}`; a request has {}",
            KEYS.join(", ")
        ));
    }
    let method = string_of(spec, "method")?.unwrap_or_else(|| "GET".to_owned());
    let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("{WHAT}: {method:?} is not an HTTP method"))?;
    let Some(url) = string_of(spec, "url")? else {
        return fail("`url` is required");
    };
    let url = reqwest::Url::parse(&url)
        .map_err(|e| format!("{WHAT}: {url:?} is not an absolute http(s) URL ({e})"))?;
    if url.host_str().is_none() && matches!(url.scheme(), "http" | "https") {
        return fail(format!("{url} has no host"));
    }

    let mut headers = reqwest::header::HeaderMap::new();
    match spec.get("headers") {
        None => {}
        Some(h) if h.is_unit() => {}
        Some(h) => {
            let Some(map) = h.read_lock::<Map>() else {
                return fail(format!("`headers` is a map, not {}", h.type_name()));
            };
            for (name, value) in map.iter() {
                let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("{WHAT}: {name:?} is not a header name"))?;
                let text = value.to_string();
                let value = reqwest::header::HeaderValue::from_str(&text).map_err(|_| {
                    format!("{WHAT}: the value of header {name} holds a character a header cannot (CR, LF, NUL...)")
                })?;
                headers.append(name, value);
            }
        }
    }

    let body = match spec.get("body") {
        None => None,
        Some(b) if b.is_unit() => None,
        Some(b) if b.is_string() => Some(b.clone().into_string().unwrap_or_default().into_bytes()),
        Some(b) if b.is_blob() => Some(
            b.read_lock::<Blob>()
                .map(|b| b.to_vec())
                .unwrap_or_default(),
        ),
        Some(b) if b.is_map() || b.is_array() => {
            let json = dynamic_to_json(b)
                .map_err(|e| format!("{WHAT}: the body cannot be sent as JSON: {e}"))?;
            if !headers.contains_key(reqwest::header::CONTENT_TYPE) {
                headers.insert(
                    reqwest::header::CONTENT_TYPE,
                    reqwest::header::HeaderValue::from_static("application/json"),
                );
            }
            Some(json.to_string().into_bytes())
        }
        Some(b) => {
            return fail(format!(
                "`body` is a string, a blob, a map or an array, not {}",
                b.type_name()
            ));
        }
    };

    let asked = match spec.get("timeout_ms") {
        None => None,
        Some(t) if t.is_unit() => None,
        Some(t) => match t.as_int() {
            Ok(ms) if ms > 0 => Some(Duration::from_millis(ms as u64)),
            _ => return fail("`timeout_ms` is a positive integer"),
        },
    };
    let timeout = asked.unwrap_or(outbound.config.default_timeout);
    // Past the execution's own deadline the call ends as the execution
    // does (see `CallSdk::block_on`); a shorter timeout is the call's.
    let timeout = (timeout < frame::time_left()).then_some(timeout);
    Ok(Call {
        method,
        url,
        headers,
        body,
        timeout,
        max_body: (
            outbound.config.max_response_bytes,
            "PICLOUD_HTTP_MAX_RESPONSE_BYTES",
        ),
    })
}

fn request(ctx: NativeCallContext, spec: Map) -> RhaiResult<Dynamic> {
    let sdk = context::current()?;
    let outbound: Arc<Outbound> = sdk
        .http()
        .ok_or_else(|| format!("{WHAT} is not available in this executor"))?;
    let mut call = parse(&spec, &outbound)?;
    // The body becomes a string the sandbox bounds anyway: reading more
    // than it allows would only be thrown away (0: no limit).
    let strings = ctx.engine().max_string_size();
    if strings > 0 && strings < call.max_body.0 {
        call.max_body = (strings, "the sandbox's max_string_size");
    }
    if !frame::count_http_call(outbound.config.max_calls) {
        return fail(format!(
            "an execution makes at most {} calls (PICLOUD_HTTP_MAX_CALLS)",
            outbound.config.max_calls
        ));
    }
    let method = call.method.to_string();
    let host = match (call.url.host_str(), call.url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => call.url.scheme().to_owned(),
    };
    let started = std::time::Instant::now();
    let record = |status: Option<u16>, outcome: OutboundOutcome| {
        frame::record_outbound(picloud_shared::OutboundCall {
            method: method.clone(),
            host: host.clone(),
            status,
            outcome,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        });
    };
    // A dry run (a replay's) sends nothing: the call is recorded as such
    // and the script gets an error it can catch.
    if sdk.dry_run() {
        record(None, OutboundOutcome::NotSent);
        return fail(format!(
            "{method} {host} was not sent: a dry-run replay makes no outbound calls"
        ));
    }
    // A failed call is an answer of its own, so the call is recorded
    // whatever ends it (the execution's deadline included).
    let answer = match sdk.wait(WHAT, outbound.send(call)) {
        Ok(Ok(answer)) => {
            record(Some(answer.status), OutboundOutcome::Ok);
            answer
        }
        Ok(Err(failure)) => {
            record(None, failure.outcome());
            return fail(failure.message());
        }
        Err(deadline) => {
            record(None, OutboundOutcome::Timeout);
            return Err(deadline);
        }
    };
    let mut out = Map::new();
    out.insert("status".into(), (answer.status as INT).into());
    let mut headers = Map::new();
    for (name, value) in answer.headers {
        headers.insert(name.into(), value.into());
    }
    out.insert("headers".into(), headers.into());
    match String::from_utf8(answer.body) {
        Ok(text) => {
            if let Ok(json) = json_text_to_dynamic(&text) {
                out.insert("json".into(), json);
            }
            out.insert("body".into(), text.into());
        }
        Err(e) => {
            out.insert("body".into(), Dynamic::from_blob(e.into_bytes()));
        }
    }
    Ok(out.into())
}

fn get(ctx: NativeCallContext, url: Dynamic) -> RhaiResult<Dynamic> {
    let mut spec = Map::new();
    spec.insert("url".into(), url);
    request(ctx, spec)
}

fn post(ctx: NativeCallContext, url: Dynamic, body: Dynamic) -> RhaiResult<Dynamic> {
    let mut spec = Map::new();
    spec.insert("method".into(), "POST".into());
    spec.insert("url".into(), url);
    spec.insert("body".into(), body);
    request(ctx, spec)
}

/// The `http` namespace.
pub(crate) fn http_module() -> Shared<Module> {
    static MODULE: OnceLock<Shared<Module>> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let mut m = Module::new();
            m.set_native_fn("request", request);
            m.set_native_fn("get", get);
            m.set_native_fn("post", post);
            m.build_index();
            m.into()
        })
        .clone()
}
