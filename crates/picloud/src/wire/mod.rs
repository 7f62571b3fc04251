//! The split layout's wire: remote implementations of the seams over HTTP
//! (`shared::wire` has the messages), the routers that serve them, the
//! cluster secret every call carries, and the grants that tie a remote
//! executor's service calls to the app of the execution it was sent.
//!
//! Who calls whom:
//! - the orchestrator (requests) and the manager (events, cron) send
//!   executions to executors: [`RemoteExecutors`], served by
//!   [`executor_router`];
//! - an executor reaches the KV store and `invoke`'s script lookup in the
//!   manager: [`RemoteServices`], served by [`manager_router`].
//!
//! An executor runs other people's code and holds no database
//! credentials. What it may ask the manager is bounded by grants: the
//! sender of an execution signs (with a key kept in the database, which
//! the executor never sees) the app and trigger depth the execution acts
//! for, and the manager acts on the signed app only. An executor that
//! turned hostile could act only for the apps of executions it was sent
//! in the last few minutes, never name another.

mod executors;
mod grant;
mod serve;
mod services;

pub use executors::RemoteExecutors;
pub use grant::GrantKey;
pub use serve::{executor_router, manager_router};
pub use services::RemoteServices;

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use picloud_shared::version::WIRE_VERSION;
use picloud_shared::wire::{WIRE_HEADER, WireError};

/// How long a connection to a peer may take before it counts as down.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// How long a peer's `/version` may take at start.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The shortest secret accepted.
pub const MIN_SECRET_LEN: usize = 16;

/// A wire error as an HTTP response.
pub(crate) fn refuse(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(WireError {
            code: code.to_owned(),
            message: message.into(),
        }),
    )
        .into_response()
}

/// Constant-time equality (the secret is not guessed byte by byte).
fn same(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The check in front of every wire route: the cluster secret (401, and
/// nothing done, without it), then the caller's wire version (409).
pub(crate) async fn guard(
    secret: std::sync::Arc<str>,
    role: &'static str,
    req: Request,
    next: Next,
) -> Response {
    if !authorised(req.headers(), &secret) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a wire call needs the cluster secret (PICLOUD_CLUSTER_SECRET) as a bearer token",
        );
    }
    let theirs = req.headers().get(WIRE_HEADER).and_then(|v| v.to_str().ok());
    if theirs != Some(WIRE_VERSION.to_string().as_str()) {
        return refuse(
            StatusCode::CONFLICT,
            "wire_version",
            format!(
                "this {role} speaks wire {WIRE_VERSION}; the caller speaks {}: run the same PiCloud version on every process of a cluster",
                theirs.map_or_else(|| "none".to_owned(), |v| format!("wire {v}"))
            ),
        );
    }
    next.run(req).await
}

fn authorised(headers: &HeaderMap, secret: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| same(token.as_bytes(), secret.as_bytes()))
}

/// An HTTP client for wire calls: a short connect timeout, keep-alive
/// connections kept without a reaper (no timer while idle), no proxy.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(None)
        .tcp_nodelay(true)
        .no_proxy()
        .build()
        .unwrap_or_default()
}

/// Asks a peer's `/version` and refuses one of another wire version, with
/// one line saying so. `Ok(role)` when it speaks ours.
pub async fn check_peer(client: &reqwest::Client, base: &str) -> Result<String, String> {
    let answer = client
        .get(format!("{base}/version"))
        .timeout(CHECK_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("{base} cannot be reached: {e}"))?;
    let body: serde_json::Value = answer
        .json()
        .await
        .map_err(|e| format!("{base}/version is not PiCloud's: {e}"))?;
    let wire = body["wire"].as_u64();
    if wire != Some(u64::from(WIRE_VERSION)) {
        return Err(format!(
            "{base} speaks wire {}, this process wire {WIRE_VERSION}: run the same PiCloud version on every process of a cluster",
            wire.map_or_else(|| "?".to_owned(), |w| w.to_string())
        ));
    }
    Ok(body["role"].as_str().unwrap_or("?").to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_compare_whole() {
        assert!(super::same(b"abc", b"abc"));
        assert!(!super::same(b"abc", b"abd"));
        assert!(!super::same(b"abc", b"abcd"));
        assert!(!super::same(b"", b"a"));
    }
}
