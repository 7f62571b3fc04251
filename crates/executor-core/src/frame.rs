//! The execution running on this thread: its deadline, the operations and
//! log budget it has spent, its logs, its outbound calls and the secrets it
//! has read. Rhai's `on_progress` hook ([`progress`]) checks the deadline
//! and the budget here; `invoke` nests frames ([`begin_nested`]).
//!
//! The lowest layer of the crate's Rhai side: the engine (sandbox.rs), the
//! SDK (sdk/) and the standard library (stdlib.rs) use it, and it uses none
//! of them.

use std::cell::{Cell, RefCell};
use std::time::Instant;

use picloud_shared::{LogEntry, LogLevel, ScriptError};
use rhai::{Dynamic, EvalAltResult, Position};

use crate::limits as fixed;

/// The current execution on this thread: its deadline, what it has spent,
/// and what it has collected. An `invoke` runs the callee in a frame of its
/// own and puts the caller's back when it ends; operations and the log
/// budget are counted across the whole tree of calls, so a callee's work
/// counts against its caller's budget.
struct CallState {
    deadline: Instant,
    next_clock_check: u64,
    /// Operations spent before this frame's own count began: by the frames
    /// it runs inside and by the calls it made.
    ops_base: u64,
    /// This frame's own count, as `on_progress` last reported it: synced
    /// from [`OPS`] where it is read ([`CallState::sync_ops`]).
    ops_now: u64,
    /// The most the tree of calls may spend: `ops_base + ops_now` past this
    /// ends it.
    max_ops: u64,
    /// Calls nested around this frame (0 for the execution itself).
    depth: usize,
    /// `invoke` calls made in the whole tree so far.
    invokes: usize,
    /// `http::request` calls made in the whole tree so far.
    http_calls: usize,
    /// This frame's own outbound calls, for its record.
    outbound: Vec<picloud_shared::OutboundCall>,
    logs: Vec<LogEntry>,
    /// Log entries and bytes kept in the whole tree so far.
    log_entries: usize,
    log_bytes: usize,
    logs_dropped: usize,
    /// When an execution running on an async runtime thread hands the
    /// runtime to another thread (see [`crate::runtime`]); `None` when it
    /// runs elsewhere.
    hand_off_at: Option<Instant>,
    /// Hand-offs asked for so far.
    hand_offs: u32,
    /// Whether the tree of calls has waited on a service (KV, ...).
    blocked: bool,
    /// Secrets the tree of calls has read (name, value): redacted from
    /// its logs and errors ([`redact`]).
    secrets: Vec<(String, String)>,
    /// `spent()` when this frame began: what it spends is counted from here.
    ops_start: u64,
    /// The thread's CPU time when this frame began.
    cpu_start: std::time::Duration,
}

impl CallState {
    fn spent(&self) -> u64 {
        self.ops_base.saturating_add(self.ops_now)
    }

    /// Takes this (the current) frame's count from [`OPS`].
    fn sync_ops(&mut self) {
        self.ops_now = OPS.get();
    }

    /// The count at which `on_progress` must look again: the next clock
    /// read, or the first count past the budget, whichever comes first.
    fn next_check(&self) -> u64 {
        let past_budget = self.max_ops.saturating_sub(self.ops_base).saturating_add(1);
        self.next_clock_check.min(past_budget)
    }

    /// Whether to hand the runtime over now, and if so the time left to
    /// wait for it: `early` before a long call (once, if not done yet),
    /// else when `hand_off_at` has come. Then asks again later, less and
    /// less often: a hand-off cannot tell whether this thread's share moved
    /// or another thread serves the runtime meanwhile (see
    /// runtime::hand_off).
    fn hand_off_due(&mut self, now: Instant, early: bool) -> Option<std::time::Duration> {
        let at = self.hand_off_at?;
        let due = if early {
            self.hand_offs == 0
        } else {
            now >= at
        };
        if !due {
            return None;
        }
        self.hand_off_at =
            Some(now + crate::runtime::HAND_OFF_RETRY * (1 << self.hand_offs.min(8)));
        self.hand_offs += 1;
        Some(self.deadline.saturating_duration_since(now))
    }
}

thread_local! {
    static CALL: RefCell<Option<CallState>> = const { RefCell::new(None) };
    static DEADLINE_PASSED: Cell<bool> = const { Cell::new(false) };
    /// The current frame's count of operations, as `on_progress` last
    /// reported it, and the count at which it must look at the frame again
    /// (0: at the next operation). `on_progress` runs on every operation:
    /// between checks it only stores the count, rather than borrowing the
    /// frame (a fifth of a CPU-bound script's time; docs/performance.md).
    static OPS: Cell<u64> = const { Cell::new(0) };
    static NEXT_CHECK: Cell<u64> = const { Cell::new(0) };
}

/// A new current frame: its count starts at 0, and the first operation
/// looks at it.
fn enter_frame(ops: u64) {
    OPS.set(ops);
    NEXT_CHECK.set(0);
}

/// How often (in operations) the clock is read: reading it on every operation
/// costs 20–30% on call-heavy scripts, while reading it too rarely lets
/// expensive operations (cloning deeply nested data) overrun the deadline.
const CLOCK_EVERY: u64 = 16;

/// The value `on_progress` terminates a script with when its time is up.
pub(crate) const TIMEOUT_TOKEN: &str = "picloud:timeout";
/// ... and when the tree of calls has spent its operations.
pub(crate) const OPERATIONS_TOKEN: &str = "picloud:operations";

/// Starts an execution's per-thread state. The returned guard clears it.
/// `hand_off_at` is set for an execution that starts on an async runtime
/// thread: past it, the thread hands the runtime over (see [`crate::runtime`]).
pub(crate) fn begin_call(
    deadline: Instant,
    max_ops: u64,
    hand_off_at: Option<Instant>,
) -> CallGuard {
    let mut previous = CALL.with(|c| {
        c.replace(Some(CallState {
            deadline,
            next_clock_check: CLOCK_EVERY,
            ops_base: 0,
            ops_now: 0,
            max_ops,
            depth: 0,
            invokes: 0,
            http_calls: 0,
            outbound: Vec::new(),
            logs: Vec::new(),
            log_entries: 0,
            log_bytes: 0,
            logs_dropped: 0,
            hand_off_at,
            hand_offs: 0,
            blocked: false,
            secrets: Vec::new(),
            ops_start: 0,
            cpu_start: thread_cpu_time(),
        }))
    });
    // A frame this one displaces gets its own count back when it ends.
    if let Some(previous) = &mut previous {
        previous.sync_ops();
    }
    DEADLINE_PASSED.with(|d| d.set(false));
    enter_frame(0);
    CallGuard { previous }
}

/// Why a nested call cannot start.
pub(crate) enum NestError {
    TooDeep,
    TooMany,
    NoCall,
}

/// Starts a frame for a call made by the current execution (`invoke`): its
/// deadline is the caller's or `timeout` from now, whichever comes first,
/// and it spends from the caller's operations, at most `max_ops` of them.
/// The guard puts the caller's frame back, charged with what the call spent.
pub(crate) fn begin_nested(
    timeout: std::time::Duration,
    max_ops: u64,
) -> Result<CallGuard, NestError> {
    CALL.with(|c| {
        let mut slot = c.borrow_mut();
        let parent = slot.as_mut().ok_or(NestError::NoCall)?;
        if parent.depth >= fixed::MAX_INVOKE_DEPTH {
            return Err(NestError::TooDeep);
        }
        if parent.invokes >= fixed::MAX_INVOKES {
            return Err(NestError::TooMany);
        }
        parent.invokes += 1;
        parent.sync_ops();
        let ops_base = parent.spent();
        let frame = CallState {
            deadline: parent.deadline.min(Instant::now() + timeout),
            next_clock_check: CLOCK_EVERY,
            ops_base,
            ops_now: 0,
            max_ops: parent.max_ops.min(ops_base.saturating_add(max_ops)),
            depth: parent.depth + 1,
            invokes: parent.invokes,
            http_calls: parent.http_calls,
            outbound: Vec::new(),
            logs: Vec::new(),
            log_entries: parent.log_entries,
            log_bytes: parent.log_bytes,
            logs_dropped: 0,
            hand_off_at: parent.hand_off_at,
            hand_offs: parent.hand_offs,
            blocked: parent.blocked,
            // A callee may log a value its caller passed it.
            secrets: parent.secrets.clone(),
            ops_start: ops_base,
            cpu_start: thread_cpu_time(),
        };
        let previous = slot.replace(frame);
        enter_frame(0);
        Ok(CallGuard { previous })
    })
}

/// Whether the current frame still has time and operations left.
pub(crate) fn budget_left() -> bool {
    CALL.with(|c| {
        c.borrow().as_ref().is_some_and(|s| {
            Instant::now() < s.deadline && s.ops_base.saturating_add(OPS.get()) < s.max_ops
        })
    })
}

pub(crate) struct CallGuard {
    /// The frame this one replaced: the caller's, or none.
    previous: Option<CallState>,
}

/// Called before the current execution waits on a service (see runtime.rs).
pub(crate) fn before_blocking() {
    hand_off_once(true);
}

/// Work beyond which one native call may take a millisecond or more: bytes
/// of input for a call that reads them once, states × bytes for a regex
/// search. Such a call hands the runtime over first (see runtime.rs).
pub(crate) const LONG_CALL_WORK: usize = 64 << 10;

/// Called before a native call that does `work` (see [`LONG_CALL_WORK`]).
pub(crate) fn before_long_call(work: usize) {
    if work > LONG_CALL_WORK {
        hand_off_once(false);
    }
}

/// If the current execution started on a runtime thread and has not handed
/// the runtime over yet, does so now; `blocking` notes that it waits on a
/// service.
fn hand_off_once(blocking: bool) {
    let patience = CALL.with(|c| {
        let mut state = c.borrow_mut();
        let state = state.as_mut()?;
        state.blocked |= blocking;
        state.hand_off_due(Instant::now(), true)
    });
    if let Some(patience) = patience {
        crate::runtime::hand_off(patience);
    }
}

/// What is left of the current execution's time (zero when none runs).
pub(crate) fn time_left() -> std::time::Duration {
    CALL.with(|c| {
        c.borrow()
            .as_ref()
            .map_or(std::time::Duration::ZERO, |state| {
                state.deadline.saturating_duration_since(Instant::now())
            })
    })
}

/// The error that ends the current execution as a timeout, for a blocking
/// call that ran into the deadline (it cannot be caught by the script).
pub(crate) fn deadline_passed() -> Box<EvalAltResult> {
    DEADLINE_PASSED.with(|d| d.set(true));
    EvalAltResult::ErrorTerminated(Dynamic::from(TIMEOUT_TOKEN), Position::NONE).into()
}

impl CallGuard {
    /// Whether the execution has waited on a service.
    pub(crate) fn blocked(&self) -> bool {
        CALL.with(|c| c.borrow().as_ref().is_some_and(|s| s.blocked))
    }

    /// The logs collected, with a closing note if some were dropped.
    pub(crate) fn take_logs(&self) -> Vec<LogEntry> {
        CALL.with(|c| {
            let mut state = c.borrow_mut();
            let Some(state) = state.as_mut() else {
                return Vec::new();
            };
            let mut logs = std::mem::take(&mut state.logs);
            for entry in &mut logs {
                redact_entry(&state.secrets, entry);
            }
            if state.logs_dropped > 0 {
                logs.push(LogEntry {
                    level: LogLevel::Warn,
                    message: format!(
                        "{} more log entries were dropped: an execution keeps at most {} entries and {} bytes",
                        state.logs_dropped,
                        fixed::MAX_LOG_ENTRIES,
                        fixed::MAX_LOG_BYTES
                    ),
                    data: None,
                    at: time::OffsetDateTime::now_utc(),
                });
            }
            logs
        })
    }
}

/// The CPU time the current thread has used: an execution runs on one
/// thread from start to end (a hand-off hands over the runtime, not the
/// execution), so the difference between two reads is its own.
#[cfg(unix)]
fn thread_cpu_time() -> std::time::Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    std::time::Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

#[cfg(not(unix))]
fn thread_cpu_time() -> std::time::Duration {
    std::time::Duration::ZERO
}

impl CallGuard {
    /// What this frame has spent so far: Rhai operations and the thread's
    /// CPU time, the calls it made included.
    pub(crate) fn usage(&self) -> (u64, std::time::Duration) {
        CALL.with(|c| {
            let mut slot = c.borrow_mut();
            let Some(state) = slot.as_mut() else {
                return (0, std::time::Duration::ZERO);
            };
            state.sync_ops();
            (
                state.spent().saturating_sub(state.ops_start),
                thread_cpu_time().saturating_sub(state.cpu_start),
            )
        })
    }

    /// The outbound calls this frame made.
    pub(crate) fn take_outbound(&self) -> Vec<picloud_shared::OutboundCall> {
        CALL.with(|c| {
            c.borrow_mut()
                .as_mut()
                .map(|s| std::mem::take(&mut s.outbound))
                .unwrap_or_default()
        })
    }

    /// `error` with every secret the tree of calls has read redacted.
    pub(crate) fn redact_error(&self, error: Option<ScriptError>) -> Option<ScriptError> {
        let mut error = error?;
        CALL.with(|c| {
            if let Some(state) = c.borrow().as_ref() {
                redact(&state.secrets, &mut error.message);
            }
        });
        Some(error)
    }
}

/// Adds an outbound call to the current frame's record.
pub(crate) fn record_outbound(call: picloud_shared::OutboundCall) {
    CALL.with(|c| {
        if let Some(state) = c.borrow_mut().as_mut() {
            state.outbound.push(call);
        }
    });
}

/// Counts an outbound HTTP call of the current tree of calls; `false` when
/// it already made `max`.
pub(crate) fn count_http_call(max: usize) -> bool {
    CALL.with(|c| {
        let mut slot = c.borrow_mut();
        match slot.as_mut() {
            Some(state) if state.http_calls < max => {
                state.http_calls += 1;
                true
            }
            _ => false,
        }
    })
}

/// Notes that the current execution read secret `name`: from now on its
/// value is redacted (`[secret NAME]`) from the logs and errors of the
/// whole tree of calls. An empty value has nothing to redact.
pub(crate) fn saw_secret(name: &str, value: &str) {
    if value.is_empty() {
        return;
    }
    CALL.with(|c| {
        if let Some(state) = c.borrow_mut().as_mut()
            && !state.secrets.iter().any(|(_, v)| v == value)
        {
            state.secrets.push((name.to_owned(), value.to_owned()));
            // Longest first: a value that contains another is redacted whole.
            state.secrets.sort_by_key(|s| std::cmp::Reverse(s.1.len()));
        }
    });
}

/// Replaces each value of `secrets` in `text` by `[secret NAME]`.
fn redact(secrets: &[(String, String)], text: &mut String) {
    for (name, value) in secrets {
        if text.contains(value.as_str()) {
            *text = text.replace(value.as_str(), &format!("[secret {name}]"));
        }
    }
}

/// [`redact`] over a log entry: its message and every string in its data
/// (keys too).
fn redact_entry(secrets: &[(String, String)], entry: &mut LogEntry) {
    fn walk(secrets: &[(String, String)], v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => redact(secrets, s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(secrets, i)),
            serde_json::Value::Object(map) => {
                let old = std::mem::take(map);
                for (mut k, mut v) in old {
                    redact(secrets, &mut k);
                    walk(secrets, &mut v);
                    map.insert(k, v);
                }
            }
            _ => {}
        }
    }
    if secrets.is_empty() {
        return;
    }
    redact(secrets, &mut entry.message);
    if let Some(data) = &mut entry.data {
        walk(secrets, data);
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CALL.with(|c| {
            let mut slot = c.borrow_mut();
            let mut ended = std::mem::replace(&mut *slot, previous);
            if let Some(ended) = &mut ended {
                ended.sync_ops();
            }
            // The frame put back carries on from its own count.
            enter_frame(slot.as_ref().map_or(0, |s| s.ops_now));
            // A call's spending is its caller's.
            if let (Some(ended), Some(caller)) = (ended, slot.as_mut()) {
                caller.ops_base = ended.spent().saturating_sub(caller.ops_now);
                caller.invokes = ended.invokes;
                caller.http_calls = ended.http_calls;
                caller.log_entries = ended.log_entries;
                caller.log_bytes = ended.log_bytes;
                caller.hand_off_at = ended.hand_off_at;
                caller.hand_offs = ended.hand_offs;
                caller.blocked = ended.blocked;
                // ... and a caller may log one its callee returned.
                caller.secrets = ended.secrets;
            }
        });
    }
}

/// Rhai's `on_progress` hook: ends the execution when its time or its
/// operations are spent, and hands the runtime over when due.
pub(crate) fn progress(ops: u64) -> Option<Dynamic> {
    OPS.set(ops);
    if ops < NEXT_CHECK.get() {
        return None;
    }
    let mut hand_off = None;
    let verdict = CALL.with(|c| {
        let mut state = c.borrow_mut();
        let state = state.as_mut()?;
        state.ops_now = ops;
        if state.ops_base.saturating_add(ops) > state.max_ops {
            return Some(Dynamic::from(OPERATIONS_TOKEN));
        }
        if ops >= state.next_clock_check {
            state.next_clock_check = ops + CLOCK_EVERY;
            let now = Instant::now();
            if now >= state.deadline {
                DEADLINE_PASSED.with(|d| d.set(true));
                return Some(Dynamic::from(TIMEOUT_TOKEN));
            }
            hand_off = state.hand_off_due(now, false);
        }
        NEXT_CHECK.set(state.next_check());
        None
    });
    if let Some(patience) = hand_off {
        crate::runtime::hand_off(patience);
    }
    verdict
}

/// Redacts every secret the current tree of calls has read from `text`.
pub(crate) fn redact_secrets(text: &mut String) {
    CALL.with(|c| {
        if let Some(state) = c.borrow().as_ref() {
            redact(&state.secrets, text);
        }
    });
}

/// Keeps a log entry in the current frame, within the tree of calls' log
/// budget (entries and bytes); past it, counts it as dropped.
pub(crate) fn push_log(level: LogLevel, message: String, data: Option<serde_json::Value>) {
    let size = message.len() + data.as_ref().map_or(0, |d| d.to_string().len());
    CALL.with(|c| {
        let mut state = c.borrow_mut();
        let Some(state) = state.as_mut() else { return };
        if state.log_entries >= fixed::MAX_LOG_ENTRIES
            || state.log_bytes + size > fixed::MAX_LOG_BYTES
        {
            state.logs_dropped += 1;
            return;
        }
        state.log_entries += 1;
        state.log_bytes += size;
        state.logs.push(LogEntry {
            level,
            message,
            data,
            at: time::OffsetDateTime::now_utc(),
        });
    });
}
