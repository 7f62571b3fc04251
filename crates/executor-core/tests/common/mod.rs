//! Test helpers: a real `LocalExecutor` and a one-call `run`.
#![allow(dead_code)]

use std::sync::Arc;

use picloud_executor_core::{ExecutorConfig, LocalExecutor};
use picloud_shared::{
    AppId, ExecOutcome, ExecRequest, ExecStatus, ExecutionId, ExecutorClient, HttpRequest,
    Invocation, RequestId, SandboxCeilings, SandboxOverrides, Script, ScriptCompiler, ScriptError,
    ScriptId, ScriptName,
};

pub fn executor() -> LocalExecutor {
    executor_with(SandboxCeilings::default())
}

/// An executor whose operator raised every ceiling to its built-in maximum.
pub fn raised_executor() -> LocalExecutor {
    executor_with(SandboxCeilings::new(
        picloud_shared::SandboxLimits::MAX_CEILINGS,
    ))
}

pub fn executor_with(ceilings: SandboxCeilings) -> LocalExecutor {
    LocalExecutor::new(ExecutorConfig {
        threads: 4,
        ceilings,
    })
}

/// Waits until `check` gives a value, at most `deadline`, asking again
/// every 10 ms; panics naming `what` if it never does. What the executor
/// does on its script threads is seen a moment later; this waits for it
/// rather than sleep a fixed time (as `within` of picloud's tests).
pub async fn within<T, F: std::future::Future<Output = Option<T>>>(
    deadline: std::time::Duration,
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let started = tokio::time::Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if started.elapsed() > deadline {
            panic!("{what}: not within {deadline:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Compiles and runs the script once on `ex`.
pub async fn run_on(ex: &LocalExecutor, source: &str, sandbox: SandboxOverrides) -> ExecOutcome {
    let s = script(source, sandbox);
    if let Err(e) = ex.compile(Arc::clone(&s)).await {
        panic!("compile error: {e:?}");
    }
    ex.execute(request(s, HttpRequest::default()))
        .await
        .expect("the executor ran it")
}

pub fn script(source: &str, sandbox: SandboxOverrides) -> Arc<Script> {
    let now = time::OffsetDateTime::now_utc();
    Arc::new(Script {
        id: ScriptId::new(),
        app_id: AppId::new(),
        name: ScriptName::parse("test-script").unwrap(),
        source: source.to_owned(),
        version: 1,
        description: String::new(),
        sandbox,
        created_at: now,
        updated_at: now,
    })
}

pub fn request(script: Arc<Script>, http: HttpRequest) -> ExecRequest {
    ExecRequest {
        execution_id: ExecutionId::new(),
        request_id: RequestId::new(),
        script,
        invocation: Invocation::Http(http),
        grant: None,
        dry_run: false,
    }
}

/// Compiles (as an upload would) and runs the script once.
pub async fn run_with(source: &str, sandbox: SandboxOverrides, http: HttpRequest) -> ExecOutcome {
    let ex = executor();
    let s = script(source, sandbox);
    if let Err(e) = ex.compile(Arc::clone(&s)).await {
        panic!("compile error: {e:?}");
    }
    ex.execute(request(s, http))
        .await
        .expect("the executor ran it")
}

pub async fn run(source: &str) -> ExecOutcome {
    run_with(source, SandboxOverrides::default(), HttpRequest::default()).await
}

pub async fn compile_err(source: &str) -> ScriptError {
    compile_err_with(source, SandboxOverrides::default()).await
}

pub async fn compile_err_with(source: &str, sandbox: SandboxOverrides) -> ScriptError {
    let ex = executor();
    match ex.compile(script(source, sandbox)).await {
        Ok(()) => panic!("expected a compile error for {source:.80}"),
        Err(e) => e,
    }
}

/// The value of a successful run.
pub async fn value(source: &str) -> serde_json::Value {
    let out = run(source).await;
    assert_eq!(out.status, ExecStatus::Ok, "{:?}", out.error);
    out.value.expect("a value").to_value().unwrap()
}

/// Asserts the run ended with this status and error code; returns the error.
pub fn expect_status(out: &ExecOutcome, status: ExecStatus, code: &str) -> ScriptError {
    assert_eq!(out.status, status, "error: {:?}", out.error);
    let e = out.error.clone().expect("an error");
    assert_eq!(e.code, code, "{e:?}");
    e
}

/// What [`run_on_runtime`] saw.
pub struct OnRuntime {
    pub outcome: ExecOutcome,
    /// The longest the runtime's one thread went without running a
    /// heartbeat task while the execution ran.
    pub longest_stall: std::time::Duration,
    /// Jobs the execution sent to the script threads (the compile aside).
    pub script_thread_jobs: u64,
}

/// Compiles the script, then runs it as a task on a one-thread runtime
/// built as the server builds its own (`runtime::builder`), where it starts
/// on the runtime's thread, beside a task that ticks every millisecond.
pub fn run_on_runtime(source: &str, sandbox: SandboxOverrides, http: HttpRequest) -> OnRuntime {
    let mut http = Some(http);
    let mut seen = runs_on_runtime(source, sandbox, |_| http.take());
    seen.pop().expect("one run")
}

/// Like [`run_on_runtime`], one run after the other on the same runtime
/// and executor, with the request `next` picks from the runs so far, until
/// it picks none.
pub fn runs_on_runtime(
    source: &str,
    sandbox: SandboxOverrides,
    mut next: impl FnMut(&[OnRuntime]) -> Option<HttpRequest>,
) -> Vec<OnRuntime> {
    let runtime = picloud_executor_core::runtime::builder(4)
        .worker_threads(1)
        .build()
        .unwrap();
    runtime.block_on(async {
        let ex = executor();
        let s = script(source, sandbox);
        if let Err(e) = ex.compile(Arc::clone(&s)).await {
            panic!("compile error: {e:?}");
        }
        let mut seen = Vec::new();
        while let Some(http) = next(&seen) {
            let jobs_before = ex.script_thread_jobs();
            let heartbeat = Heartbeat::start().await;
            let outcome = tokio::spawn({
                let (ex, s) = (ex.clone(), Arc::clone(&s));
                async move { ex.execute(request(s, http)).await }
            })
            .await
            .unwrap()
            .expect("the executor ran it");
            seen.push(OnRuntime {
                outcome,
                longest_stall: heartbeat.stop().await,
                script_thread_jobs: ex.script_thread_jobs() - jobs_before,
            });
        }
        seen
    })
}

/// [`run_on_runtime`] from async code.
pub async fn on_runtime(source: &str, sandbox: SandboxOverrides, http: HttpRequest) -> OnRuntime {
    let source = source.to_owned();
    tokio::task::spawn_blocking(move || run_on_runtime(&source, sandbox, http))
        .await
        .unwrap()
}

/// The longest a script may hold the runtime's thread in these tests: the
/// hand-off comes after half a millisecond; the rest is a margin for a
/// debug build on a busy machine (a script that did not hand over holds it
/// for seconds).
pub const STALL_BOUND: std::time::Duration = std::time::Duration::from_millis(250);

/// A task that ticks every millisecond on the current runtime and keeps
/// the longest gap between two ticks: how long the runtime stalled.
pub struct Heartbeat {
    done: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<std::time::Duration>,
}

impl Heartbeat {
    /// Starts it, and waits for its first tick before the caller takes
    /// the thread (a heartbeat that has not started sees no stall).
    pub async fn start() -> Heartbeat {
        use std::time::{Duration, Instant};
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (ticked, first_tick) = tokio::sync::oneshot::channel();
        let task = tokio::spawn({
            let done = Arc::clone(&done);
            async move {
                let mut ticked = Some(ticked);
                let (mut longest, mut last) = (Duration::ZERO, Instant::now());
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    longest = longest.max(last.elapsed());
                    last = Instant::now();
                    if let Some(ticked) = ticked.take() {
                        let _ = ticked.send(());
                    }
                }
                longest
            }
        });
        first_tick.await.expect("the heartbeat ticks");
        Heartbeat { done, task }
    }

    /// Stops it; the longest stall it saw.
    pub async fn stop(self) -> std::time::Duration {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
        self.task.await.unwrap()
    }
}
