//! [`RemoteExecutors`]: the `ExecutorClient` of the split layout. Healthy
//! executors share the load in turn; one that cannot be reached is skipped
//! for a while (1 s, doubling to 30 s while it stays down) and tried again
//! by a later execution: no timer, no health probe.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use picloud_shared::version::WIRE_VERSION;
use picloud_shared::wire::{ExecuteCall, ExecuteReply, WIRE_HEADER, WireError};
use picloud_shared::{
    BoxFuture, Error, ExecOutcome, ExecRequest, ExecutorClient, Invocation, Result,
    SandboxCeilings, ScriptId,
};
use reqwest::StatusCode;

use super::GrantKey;

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A grant outlives the longest execution by this much.
const GRANT_MARGIN: Duration = Duration::from_secs(60);
/// A reply may take this much longer than the script's timeout.
const REPLY_MARGIN: Duration = Duration::from_secs(5);
/// Versions remembered per executor as sent (past it, the set restarts).
const KNOWN_VERSIONS: usize = 10_000;

/// Executors reached over HTTP.
pub struct RemoteExecutors {
    client: reqwest::Client,
    peers: Vec<Peer>,
    next: AtomicUsize,
    secret: Arc<str>,
    grants: GrantKey,
    ceilings: SandboxCeilings,
}

struct Peer {
    base: String,
    execute: String,
    state: Mutex<PeerState>,
}

#[derive(Default)]
struct PeerState {
    /// Skipped until then (it could not be reached).
    down_until: Option<Instant>,
    backoff: Duration,
    /// Script versions it was sent (it may have them compiled).
    has: HashSet<(ScriptId, i64)>,
}

/// One attempt's failure.
enum Failed {
    /// Nothing reached the executor: another may take the execution.
    NotSent(String),
    /// It may have started running: another takes it only if running it
    /// twice is harmless.
    Lost(String),
    /// It answered, refusing: the same would happen elsewhere.
    Refused(String),
}

impl RemoteExecutors {
    /// Executors at `urls` (`http://host:port`), called with `secret`,
    /// their executions' grants signed with `grants`.
    pub fn new(
        urls: &[String],
        secret: Arc<str>,
        grants: GrantKey,
        ceilings: SandboxCeilings,
    ) -> Self {
        let prefix = picloud_shared::wire::prefix();
        RemoteExecutors {
            client: super::client(),
            peers: urls
                .iter()
                .map(|u| {
                    let base = u.trim_end_matches('/').to_owned();
                    Peer {
                        execute: format!("{base}{prefix}/execute"),
                        base,
                        state: Mutex::new(PeerState::default()),
                    }
                })
                .collect(),
            next: AtomicUsize::new(0),
            secret,
            grants,
            ceilings,
        }
    }

    /// Checks every executor's wire version once, logging a line for each
    /// that is refused or unreachable (an unreachable one is tried again
    /// when executions come).
    pub async fn check(&self) {
        for peer in &self.peers {
            match super::check_peer(&self.client, &peer.base).await {
                Ok(role) if role == "executor" => {
                    tracing::info!(executor = %peer.base, "executor reached");
                }
                Ok(role) => tracing::error!(
                    executor = %peer.base,
                    "PICLOUD_EXECUTOR_URLS names a PiCloud {role}, not an executor"
                ),
                Err(e) => tracing::warn!("{e}"),
            }
        }
    }

    /// The order to try executors in: the healthy ones from the next in
    /// turn, then those marked down (one may be back).
    fn order(&self) -> Vec<&Peer> {
        let n = self.peers.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let (mut up, mut down): (Vec<&Peer>, Vec<&Peer>) = (0..n)
            .map(|i| &self.peers[(start + i) % n])
            .partition(|p| p.lock().down_until.is_none_or(|t| t <= now));
        up.append(&mut down);
        up
    }

    async fn attempt(
        &self,
        peer: &Peer,
        call: &ExecuteCall,
        timeout: Duration,
    ) -> Result<ExecuteReply, Failed> {
        let sent = self
            .client
            .post(&peer.execute)
            .bearer_auth(&*self.secret)
            .header(WIRE_HEADER, WIRE_VERSION)
            .timeout(timeout)
            .json(call)
            .send()
            .await;
        let answer = match sent {
            Ok(a) => a,
            Err(e) if e.is_connect() => return Err(Failed::NotSent(e.to_string())),
            Err(e) => return Err(Failed::Lost(e.to_string())),
        };
        let status = answer.status();
        if status == StatusCode::OK {
            return answer
                .json::<ExecuteReply>()
                .await
                .map_err(|e| Failed::Lost(format!("the reply was cut or not understood: {e}")));
        }
        let why = answer
            .json::<WireError>()
            .await
            .map_or_else(|_| format!("answered {status}"), |e| e.message);
        Err(match status {
            // Not taken: its secret or wire version differs, or it is busy
            // or stopping. Another may take it.
            StatusCode::UNAUTHORIZED | StatusCode::CONFLICT | StatusCode::SERVICE_UNAVAILABLE => {
                Failed::NotSent(why)
            }
            _ => Failed::Refused(why),
        })
    }
}

impl Peer {
    fn lock(&self) -> std::sync::MutexGuard<'_, PeerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn up(&self) {
        let mut s = self.lock();
        s.down_until = None;
        s.backoff = Duration::ZERO;
    }

    fn down(&self, why: &str) {
        let mut s = self.lock();
        s.backoff = if s.backoff.is_zero() {
            FIRST_BACKOFF
        } else {
            (s.backoff * 2).min(MAX_BACKOFF)
        };
        s.down_until = Some(Instant::now() + s.backoff);
        // A restarted executor has nothing compiled.
        s.has.clear();
        tracing::warn!(executor = %self.base, retry_in = ?s.backoff, "executor unavailable: {why}");
    }

    fn has(&self, id: ScriptId, version: i64) -> bool {
        self.lock().has.contains(&(id, version))
    }

    fn sent(&self, id: ScriptId, version: i64) {
        let mut s = self.lock();
        if s.has.len() >= KNOWN_VERSIONS {
            s.has.clear();
        }
        s.has.insert((id, version));
    }
}

/// Whether running an execution twice is harmless enough to retry one
/// whose executor was lost mid-way: a read-only HTTP method, or an event
/// (delivered at least once anyway).
fn retryable(invocation: &Invocation) -> bool {
    match invocation {
        Invocation::Http(http) => matches!(http.method.as_str(), "GET" | "HEAD" | "OPTIONS"),
        Invocation::Trigger { .. } | Invocation::Scheduled { .. } => true,
    }
}

impl ExecutorClient for RemoteExecutors {
    fn execute(&self, request: ExecRequest) -> BoxFuture<'_, Result<ExecOutcome>> {
        Box::pin(async move {
            let script = &request.script;
            let limits = self.ceilings.resolve(&script.sandbox);
            let timeout = Duration::from_millis(limits.timeout_ms);
            let mut call = ExecuteCall {
                execution_id: request.execution_id,
                request_id: request.request_id,
                script_id: script.id,
                version: script.version,
                script: None,
                invocation: request.invocation.clone(),
                grant: self.grants.sign(
                    script.app_id,
                    request.invocation.depth(),
                    timeout + GRANT_MARGIN,
                ),
                dry_run: request.dry_run,
            };
            let mut last = String::from("no executor is configured (PICLOUD_EXECUTOR_URLS)");
            for peer in self.order() {
                call.script = (!peer.has(script.id, script.version)).then(|| (**script).clone());
                let mut reply = self.attempt(peer, &call, timeout + REPLY_MARGIN).await;
                if matches!(reply, Ok(ExecuteReply::NeedScript)) {
                    call.script = Some((**script).clone());
                    reply = self.attempt(peer, &call, timeout + REPLY_MARGIN).await;
                }
                match reply {
                    Ok(ExecuteReply::Done { outcome }) => {
                        peer.up();
                        if call.script.is_some() {
                            peer.sent(script.id, script.version);
                        }
                        return Ok(*outcome);
                    }
                    Ok(ExecuteReply::NeedScript) => {
                        last = format!("{} asked for the script it was sent", peer.base);
                    }
                    Err(Failed::NotSent(why)) => {
                        peer.down(&why);
                        last = why;
                    }
                    Err(Failed::Lost(why)) => {
                        peer.down(&why);
                        if !retryable(&request.invocation) {
                            return Err(Error::ExecutorUnavailable(format!(
                                "the executor running the script was lost ({why}); it may have run in part, so it is not run again"
                            )));
                        }
                        last = why;
                    }
                    Err(Failed::Refused(why)) => return Err(Error::Backend(why)),
                }
            }
            Err(Error::ExecutorUnavailable(format!(
                "no executor could take the execution: {last}"
            )))
        })
    }
}
