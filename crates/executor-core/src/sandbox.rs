//! The hardened Rhai engine: limits, the deadline, the refused features, the
//! `log` namespace, and how Rhai's errors map to PiCloud's statuses.
//!
//! Every guard here answers one of the escapes listed in the design's
//! rhai-notes.md; tests/sandbox.rs has a test for each.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use picloud_shared::{ExecStatus, LogEntry, LogLevel, SandboxLimits, ScriptError};
use rhai::module_resolvers::DummyModuleResolver;
use rhai::packages::{Package, StandardPackage};
use rhai::{Dynamic, Engine, EvalAltResult, INT, Module, OptimizationLevel, Position, Shared};

use crate::convert::dynamic_to_json;

/// Fixed limits that scripts cannot override.
pub mod fixed {
    /// Variables alive in one scope (a bound on memory: variables × string size).
    pub const MAX_VARIABLES: usize = 512;
    /// Functions a script may define.
    pub const MAX_FUNCTIONS: usize = 512;
    /// `let`, `const` and `for` declarations in one source. Rhai's compile time
    /// grows with the square of the declared names and cannot be interrupted,
    /// so this bounds compile time (see rhai-notes.md).
    pub const MAX_DECLARATIONS: usize = 4_000;
    /// `log::*` entries kept per execution (with the calls it makes).
    pub const MAX_LOG_ENTRIES: usize = 1_000;
    /// Bytes of log messages and data kept per execution.
    pub const MAX_LOG_BYTES: usize = 256 << 10;
    /// Bytes of one log message; longer ones are cut.
    pub const MAX_LOG_MESSAGE: usize = 8 << 10;
    /// Nesting of a value converted to JSON (return values, log data).
    pub const MAX_JSON_DEPTH: usize = 256;
    /// `invoke` calls nested inside one execution.
    pub const MAX_INVOKE_DEPTH: usize = 8;
    /// `invoke` calls one execution may make, nested ones included (each
    /// is recorded as an execution of its own).
    pub const MAX_INVOKES: usize = 1_000;
}

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
const TIMEOUT_TOKEN: &str = "picloud:timeout";
/// ... and when the tree of calls has spent its operations.
const OPERATIONS_TOKEN: &str = "picloud:operations";

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

fn progress(ops: u64) -> Option<Dynamic> {
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

fn push_log(
    level: LogLevel,
    message: Dynamic,
    data: Option<Dynamic>,
) -> Result<(), Box<EvalAltResult>> {
    let mut message = crate::deep::describe(&message);
    // Before the message is cut: a cut could leave part of a value that
    // no longer matches whole.
    CALL.with(|c| {
        if let Some(state) = c.borrow().as_ref() {
            redact(&state.secrets, &mut message);
        }
    });
    if message.len() > fixed::MAX_LOG_MESSAGE {
        let mut cut = fixed::MAX_LOG_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    let data = match data {
        None => None,
        Some(d) => Some(dynamic_to_json(&d).map_err(|e| format!("log data: {e}"))?),
    };
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
    Ok(())
}

/// The `log` namespace: `log::trace|info|warn|error(message[, data])`.
fn log_module() -> Shared<Module> {
    static MODULE: OnceLock<Shared<Module>> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let mut m = Module::new();
            for (name, level) in [
                ("trace", LogLevel::Trace),
                ("info", LogLevel::Info),
                ("warn", LogLevel::Warn),
                ("error", LogLevel::Error),
            ] {
                m.set_native_fn(name, move |msg: Dynamic| push_log(level, msg, None));
                m.set_native_fn(name, move |msg: Dynamic, data: Dynamic| {
                    push_log(level, msg, Some(data))
                });
            }
            m.build_index();
            m.into()
        })
        .clone()
}

/// Rhai's standard library, built once and shared by every engine.
fn std_module() -> Shared<Module> {
    static MODULE: OnceLock<Shared<Module>> = OnceLock::new();
    MODULE
        .get_or_init(|| StandardPackage::new().as_shared_module())
        .clone()
}

/// Replacements for built-ins that escape the sandbox. Registered after the
/// standard library, so they shadow it.
fn overrides_module() -> Shared<Module> {
    static MODULE: OnceLock<Shared<Module>> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let mut m = Module::new();
            // Rhai's `sleep` blocks the thread where `on_progress` cannot
            // interrupt it, and `sleep(1e300)` panics: scripts cannot sleep.
            let refuse = "sleep() is not available in PiCloud scripts";
            m.set_native_fn("sleep", move |_: INT| -> Result<(), Box<EvalAltResult>> {
                Err(refuse.into())
            });
            m.set_native_fn(
                "sleep",
                move |_: rhai::FLOAT| -> Result<(), Box<EvalAltResult>> { Err(refuse.into()) },
            );
            // Rhai string built-ins that hang or are slow.
            crate::strings::register(&mut m);
            // Formatting and comparing arrays and maps, with no depth too
            // deep for the stack.
            crate::deep::register(&mut m);
            m.build_index();
            m.into()
        })
        .clone()
}

/// Builds an engine for one set of limits. Cheap (no standard library is
/// built here); the executor caches one per distinct set of limits.
pub fn build_engine(limits: &SandboxLimits) -> Engine {
    let mut e = Engine::new_raw();
    e.register_global_module(std_module());
    e.register_global_module(overrides_module());
    e.register_static_module("log", log_module());
    e.register_static_module("kv", crate::sdk::kv_module());
    e.register_static_module("secrets", crate::sdk::secrets_module());
    e.register_static_module("http", crate::http::http_module());
    e.register_global_module(crate::sdk::handle_methods());
    e.register_global_module(crate::invoke::invoke_module());
    e.register_type_with_name::<crate::sdk::Collection>("kv::Collection");
    crate::stdlib::register(&mut e);

    // `import` is refused at compile time; no resolver and no modules back it up.
    e.set_module_resolver(DummyModuleResolver::new());
    e.set_max_modules(0);
    e.disable_symbol("import");
    // `eval` would bring unbounded compile work back to run time.
    e.disable_symbol("eval");
    // `curry` binds values inside a function pointer, where no size limit
    // counts them: chained in a loop, they nest without bound and dropping
    // the chain overflows the stack. Capturing closures do the same and are
    // compiled out (Rhai's `no_closure`).
    e.disable_symbol("curry");
    // print and debug are accepted and print nothing.
    e.on_print(|_| {});
    e.on_debug(|_, _, _| {});
    // Keep Simple: Full calls registered functions with constant arguments
    // at compile time.
    e.set_optimization_level(OptimizationLevel::Simple);
    // Undefined variables are reported at upload (the compile scope has `ctx`).
    e.set_strict_variables(true);
    // One interner per engine is a lock shared by every concurrent call.
    e.set_max_strings_interned(0);

    let usize_of = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    e.set_max_operations(limits.max_operations);
    e.set_max_call_levels(usize_of(limits.max_call_levels));
    e.set_max_expr_depths(
        usize_of(limits.max_expr_depth),
        usize_of(limits.max_expr_depth),
    );
    e.set_max_string_size(usize_of(limits.max_string_size));
    e.set_max_array_size(usize_of(limits.max_array_size));
    e.set_max_map_size(usize_of(limits.max_map_size));
    e.set_max_variables(fixed::MAX_VARIABLES);
    e.set_max_functions(fixed::MAX_FUNCTIONS);
    e.on_progress(progress);
    e
}

/// Counts declarations without a full parse: whole-word `let`, `const` and
/// `for` anywhere (inside strings and comments too, which only errs on the
/// safe side). Returns the count and the line and column (1-based) of the
/// first declaration past `limit`, if any.
pub fn count_declarations(source: &str, limit: usize) -> (usize, Option<(u32, u32)>) {
    let bytes = source.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let (mut count, mut first_over) = (0, None);
    let (mut line, mut line_start) = (1u32, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        if is_ident(bytes[i]) {
            let start = i;
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
            if matches!(&bytes[start..i], b"let" | b"const" | b"for") {
                count += 1;
                if count == limit + 1 {
                    let column = source[line_start..start].chars().count() + 1;
                    first_over = Some((line, u32::try_from(column).unwrap_or(u32::MAX)));
                }
            }
        } else {
            if bytes[i] == b'\n' {
                line += 1;
                line_start = i + 1;
            }
            i += 1;
        }
    }
    (count, first_over)
}

/// Compiles a source with the engine it will run on.
pub fn compile(engine: &Engine, source: &str) -> Result<rhai::AST, ScriptError> {
    let (declarations, first_over) = count_declarations(source, fixed::MAX_DECLARATIONS);
    if let Some((line, column)) = first_over {
        let mut err = ScriptError::new(
            "compile_error",
            format!(
                "the script declares {declarations} variables (let, const, for); at most {} are allowed",
                fixed::MAX_DECLARATIONS
            ),
        );
        err.line = Some(line);
        err.column = Some(column);
        return Err(err);
    }
    let mut scope = rhai::Scope::new();
    scope.push("ctx", Dynamic::UNIT);
    engine.compile_with_scope(&scope, source).map_err(|e| {
        let mut err = ScriptError::new("compile_error", explain(&e, source));
        set_position(&mut err, e.position());
        err
    })
}

/// Rhai's message for a compile error, with PiCloud's reason where the
/// error comes from a refused feature.
fn explain(e: &rhai::ParseError, source: &str) -> String {
    use rhai::ParseErrorType as P;
    let message = e.err_type().to_string();
    let at = |pos: Position| -> Option<&str> {
        let (line, col) = (pos.line()?, pos.position()?);
        let text = source.lines().nth(line - 1)?;
        let start = text.char_indices().nth(col - 1).map(|(i, _)| i)?;
        Some(&text[start..])
    };
    match e.err_type() {
        P::BadInput(_) if message.contains("'curry'") => {
            "`curry` is not available in PiCloud scripts: it nests values inside a function \
             pointer without bound; pass the values as arguments of `call`"
                .to_owned()
        }
        // `f.curry(x)`: Rhai reports a missing property at `curry`.
        P::PropertyExpected if at(e.position()).is_some_and(|t| t.starts_with("curry")) => {
            "`curry` is not available in PiCloud scripts: it nests values inside a function \
             pointer without bound; pass the values as arguments of `call`"
                .to_owned()
        }
        // A closure that uses a variable from outside: capturing is off.
        P::VariableUndefined(name) if declared(source, name) => format!(
            "{message} (a closure cannot use `{name}` from outside it: closures do not capture \
             variables in PiCloud scripts; use a `for` loop, or a script function called with \
             `{name}` as an argument)"
        ),
        _ => message,
    }
}

/// Whether `name` is declared somewhere in `source` (`let`, `const`, a
/// `for` variable or a parameter), so an "undefined" use of it is a capture.
fn declared(source: &str, name: &str) -> bool {
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = source.as_bytes();
    source.match_indices(name).any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + name.len()).copied();
        if before.is_some_and(is_ident) || after.is_some_and(is_ident) {
            return false;
        }
        let head = source[..i].trim_end();
        head.ends_with("let")
            || head.ends_with("const")
            || head.ends_with("for")
            || head.ends_with('(')
            || head.ends_with(',')
            || head.ends_with('|')
    })
}

fn set_position(err: &mut ScriptError, pos: Position) {
    if let (Some(line), Some(col)) = (pos.line(), pos.position()) {
        err.line = u32::try_from(line).ok();
        err.column = u32::try_from(col).ok();
    } else if let Some(line) = pos.line() {
        err.line = u32::try_from(line).ok();
    }
}

/// Maps a Rhai runtime error to PiCloud's status and error.
pub fn classify(err: &EvalAltResult, limits: &SandboxLimits) -> (ExecStatus, ScriptError) {
    let inner = err.unwrap_inner();
    // The innermost error has the real position (inside a function).
    let pos = if inner.position().is_none() {
        err.position()
    } else {
        inner.position()
    };
    let (status, code, message) = match inner {
        EvalAltResult::ErrorTerminated(token, _)
            if token.clone().into_string().ok().as_deref() == Some(TIMEOUT_TOKEN) =>
        {
            (
                ExecStatus::Timeout,
                "timeout",
                format!("the script ran longer than {} ms", limits.timeout_ms),
            )
        }
        EvalAltResult::ErrorTerminated(token, _)
            if token.clone().into_string().ok().as_deref() == Some(OPERATIONS_TOKEN) =>
        {
            (
                ExecStatus::LimitExceeded,
                "limit_exceeded",
                format!(
                    "the script and the scripts it invoked ran more than {} operations",
                    limits.max_operations
                ),
            )
        }
        EvalAltResult::ErrorTooManyOperations(_) => (
            ExecStatus::LimitExceeded,
            "limit_exceeded",
            format!(
                "the script ran more than {} operations",
                limits.max_operations
            ),
        ),
        EvalAltResult::ErrorStackOverflow(_) => (
            ExecStatus::LimitExceeded,
            "limit_exceeded",
            format!(
                "function calls nested deeper than {} levels",
                limits.max_call_levels
            ),
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => (
            ExecStatus::LimitExceeded,
            "limit_exceeded",
            format!("{what} grew past the sandbox limit"),
        ),
        EvalAltResult::ErrorTooManyVariables(_) => (
            ExecStatus::LimitExceeded,
            "limit_exceeded",
            format!("more than {} variables in scope", fixed::MAX_VARIABLES),
        ),
        EvalAltResult::ErrorTooManyModules(_) => (
            ExecStatus::LimitExceeded,
            "limit_exceeded",
            "modules cannot be loaded".to_owned(),
        ),
        EvalAltResult::ErrorRuntime(value, _) => (
            ExecStatus::Error,
            "script_error",
            // A thrown value may be nested as deep as the limits allow.
            crate::deep::describe(value),
        ),
        other => (ExecStatus::Error, "script_error", other.to_string()),
    };
    let mut e = ScriptError::new(code, strip_position(&message));
    set_position(&mut e, pos);
    (status, e)
}

/// Rhai appends " (line L, position P)" to some messages; the position is
/// reported in its own fields.
fn strip_position(message: &str) -> String {
    match message.rfind(" (line ") {
        Some(i) if message.ends_with(')') => message[..i].to_owned(),
        _ => message.to_owned(),
    }
}

/// A shared engine per distinct set of limits.
#[derive(Default)]
pub struct EngineCache {
    engines: std::sync::RwLock<std::collections::HashMap<SandboxLimits, Arc<Engine>>>,
}

impl EngineCache {
    pub fn get(&self, limits: &SandboxLimits) -> Arc<Engine> {
        if let Some(e) = self
            .engines
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(limits)
        {
            return Arc::clone(e);
        }
        let engine = Arc::new(build_engine(limits));
        let mut engines = self.engines.write().unwrap_or_else(|p| p.into_inner());
        Arc::clone(engines.entry(*limits).or_insert(engine))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_keep_the_guards_from_rhai_notes() {
        let e = build_engine(&SandboxLimits::DEFAULTS);
        // Full optimisation would call registered functions at compile time.
        assert_eq!(e.optimization_level(), OptimizationLevel::Simple);
        // The string interner is one lock shared by every call on the engine.
        assert_eq!(e.max_strings_interned(), 0);
        assert_eq!(e.max_modules(), 0);
        assert_eq!(e.max_call_levels(), 32);
        assert_eq!(e.max_expr_depth(), 64);
        assert_eq!(e.max_function_expr_depth(), 64);
    }

    #[test]
    fn declarations_are_counted_with_the_position_past_the_limit() {
        assert_eq!(count_declarations("let a = 1; const b = 2;", 5), (2, None));
        assert_eq!(count_declarations("letter = 1; // forget", 5), (0, None));
        assert_eq!(
            count_declarations("let a = 1;\n  let b = 2;", 1),
            (2, Some((2, 3)))
        );
    }
}
