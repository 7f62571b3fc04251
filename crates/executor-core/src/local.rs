//! [`LocalExecutor`]: runs scripts in this process. Compiled ASTs are
//! cached per script version; an execution runs on the async runtime's
//! thread that polled it or on a script thread (runtime.rs, pool.rs), with
//! its frame (frame.rs) and its SDK context (context.rs) set for the time
//! it runs. Calls it makes with `invoke` run in nested.rs.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use picloud_shared::{
    BoxFuture, Error, ExecOutcome, ExecRequest, ExecStatus, ExecutorClient, Result,
    SandboxCeilings, Script, ScriptCompiler, ScriptError, ScriptId,
};
use rhai::{AST, Dynamic, Scope};
use tokio::sync::oneshot;

use picloud_shared::kv::SdkCallCx;

use crate::context::{self, CallSdk, Connected, SdkServices};
use crate::frame::begin_call;
use crate::pool::{Pool, SCRIPT_STACK_SIZE};
use crate::sandbox::{EngineCache, classify, compile};
use crate::{convert, deep, runtime};

/// Settings of a [`LocalExecutor`].
#[derive(Clone, Debug)]
pub struct ExecutorConfig {
    /// Script threads. Set to the orchestrator's concurrency cap plus one, so
    /// an upload's compile check never waits behind running scripts.
    pub threads: usize,
    pub ceilings: SandboxCeilings,
}

/// Runs scripts in this process.
#[derive(Clone)]
pub struct LocalExecutor {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pool: Pool,
    pub(crate) engines: EngineCache,
    asts: RwLock<HashMap<ScriptId, Arc<Compiled>>>,
    pub(crate) ceilings: SandboxCeilings,
    /// The services scripts reach (KV, ...), once connected.
    connected: OnceLock<Arc<Connected>>,
}

impl LocalExecutor {
    pub fn new(config: ExecutorConfig) -> Self {
        LocalExecutor {
            inner: Arc::new(Inner {
                pool: Pool::new(config.threads, SCRIPT_STACK_SIZE),
                engines: EngineCache::default(),
                asts: RwLock::new(HashMap::new()),
                ceilings: config.ceilings,
                connected: OnceLock::new(),
            }),
        }
    }

    /// Gives scripts their services. Called once, from inside the Tokio
    /// runtime the services' futures run on; until then (and for a second
    /// call, which is refused) scripts that reach for them get an error.
    pub fn connect(&self, services: SdkServices) -> Result<()> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::ExecutorUnavailable("connect needs a Tokio runtime".into()))?;
        self.inner
            .connected
            .set(Arc::new(Connected {
                services,
                runtime,
                dry_run: false,
            }))
            .map_err(|_| Error::ExecutorUnavailable("the executor is already connected".into()))
    }

    /// How many jobs (executions and compiles) went to the script threads
    /// so far; the rest ran where they were polled (see [`runtime`]).
    pub fn script_thread_jobs(&self) -> u64 {
        self.inner.pool.jobs()
    }

    /// Runs `f` on a script thread and waits for its answer.
    async fn on_pool<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Arc<Inner>) -> T + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        let inner = Arc::clone(&self.inner);
        let submitted = self.inner.pool.submit(Box::new(move || {
            let _ = tx.send(f(&inner));
        }));
        if !submitted {
            return Err(Error::ExecutorUnavailable(
                "the executor is shutting down".into(),
            ));
        }
        rx.await
            .map_err(|_| Error::ExecutorUnavailable("a script job failed unexpectedly".into()))
    }
}

/// A script version, compiled, with the part of `ctx` that never changes
/// between its executions (shared strings: cloning them copies nothing).
pub(crate) struct Compiled {
    version: i64,
    pub(crate) ast: AST,
    ctx_base: rhai::Map,
    /// Whether its source names `ctx` at all. A script reads a variable
    /// only by naming it (`eval` is off), so one that never does gets `()`
    /// in its place and no map is built (building and dropping `ctx` was
    /// two thirds of a hello-world's execution: docs/performance.md).
    reads_ctx: bool,
    /// Where its executions start (runtime.rs).
    placement: runtime::Placement,
}

impl Compiled {
    /// An execution's scope: `ctx`, made by `make` from the entries fixed
    /// for the version, or `()` for a script that never names it (still
    /// defined: `is_def_var("c" + "tx")` can tell).
    ///
    /// `ctx` is writable throughout. `Scope::push` makes it so by walking
    /// the whole value (a JSON body's every item); a value built fresh
    /// from the invocation already is, so `fresh` sets it in place
    /// instead. A value from another script (`invoke`'s `args`, which may
    /// hold a constant's parts) is pushed.
    pub(crate) fn scope(
        &self,
        fresh: bool,
        make: impl FnOnce(&rhai::Map) -> Dynamic,
    ) -> Scope<'static> {
        let mut scope = Scope::new();
        let ctx = if self.reads_ctx {
            make(&self.ctx_base)
        } else {
            Dynamic::UNIT
        };
        if fresh {
            scope.push("ctx", Dynamic::UNIT);
            if let Some(slot) = scope.get_mut("ctx") {
                *slot = ctx;
            }
        } else {
            scope.push("ctx", ctx);
        }
        scope
    }
}

impl Inner {
    pub(crate) fn cached(&self, script: &Script) -> Option<Arc<Compiled>> {
        let asts = self.asts.read().unwrap_or_else(|p| p.into_inner());
        asts.get(&script.id)
            .filter(|c| c.version == script.version)
            .map(Arc::clone)
    }

    pub(crate) fn compile_and_cache(&self, script: &Script) -> Result<Arc<Compiled>, ScriptError> {
        let limits = self.ceilings.resolve(&script.sandbox);
        let engine = self.engines.get(&limits);
        let compiled = Arc::new(Compiled {
            version: script.version,
            ast: compile(&engine, &script.source)?,
            ctx_base: convert::ctx_base(script),
            reads_ctx: script.source.contains("ctx"),
            placement: runtime::Placement::new(&limits),
        });
        // A replay of an older version does not push out the current one.
        let mut asts = self.asts.write().unwrap_or_else(|p| p.into_inner());
        if asts
            .get(&script.id)
            .is_none_or(|c| c.version <= script.version)
        {
            asts.insert(script.id, Arc::clone(&compiled));
        }
        Ok(compiled)
    }

    /// Runs one execution on the current (script) thread, with its compiled
    /// version if the caller found it in the cache.
    fn run(self: &Arc<Self>, req: ExecRequest, cached: Option<Arc<Compiled>>) -> ExecOutcome {
        // Normally warm: the manager compiles each version when it is saved.
        let compiled = match cached {
            Some(compiled) => Ok(compiled),
            None => self.compile_and_cache(&req.script),
        };
        self.run_compiled(req, compiled, false)
    }

    /// Runs one execution on this thread: a script thread, or a runtime
    /// thread (`on_runtime`) that it hands over if it takes long. Limits
    /// that allow nesting deeper than this thread's stack holds get a stack
    /// of their own (deep.rs; such versions never start on a runtime thread).
    fn run_compiled(
        self: &Arc<Self>,
        req: ExecRequest,
        compiled: Result<Arc<Compiled>, ScriptError>,
        on_runtime: bool,
    ) -> ExecOutcome {
        let limits = self.ceilings.resolve(&req.script.sandbox);
        match deep::stack_for(&limits) {
            Some(stack) => stacker::grow(stack, || {
                self.run_compiled_here(req, compiled, on_runtime, limits)
            }),
            None => self.run_compiled_here(req, compiled, on_runtime, limits),
        }
    }

    fn run_compiled_here(
        self: &Arc<Self>,
        req: ExecRequest,
        compiled: Result<Arc<Compiled>, ScriptError>,
        on_runtime: bool,
        limits: picloud_shared::SandboxLimits,
    ) -> ExecOutcome {
        let started = Instant::now();
        let started_at = time::OffsetDateTime::now_utc();
        let call = begin_call(
            started + Duration::from_millis(limits.timeout_ms),
            limits.max_operations,
            on_runtime.then(|| started + runtime::HAND_OFF_AFTER),
        );
        let calls = context::begin_recording();
        let finish = |status, value, error, (operations, cpu)| ExecOutcome {
            status,
            value,
            error: call.redact_error(error),
            logs: call.take_logs(),
            started_at,
            duration: started.elapsed(),
            calls: calls.take(),
            outbound: call.take_outbound(),
            operations,
            cpu,
        };

        let compiled = match compiled {
            Ok(compiled) => compiled,
            Err(e) => return finish(ExecStatus::Error, None, Some(e), call.usage()),
        };
        let engine = self.engines.get(&limits);
        let _sdk = context::enter(CallSdk {
            cx: Arc::new(SdkCallCx {
                app_id: req.script.app_id,
                script_id: req.script.id,
                execution_id: req.execution_id,
                request_id: req.request_id,
                depth: req.invocation.depth(),
                grant: req.grant.clone(),
            }),
            connected: match self.connected.get() {
                Some(connected) if req.dry_run => Some(Arc::new(connected.dry_run())),
                connected => connected.cloned(),
            },
            executor: Arc::clone(self) as Arc<dyn context::Nest>,
        });
        let mut scope = compiled.scope(true, |base| {
            convert::ctx_map(base, req.execution_id, req.request_id, req.invocation)
        });
        let result = engine.eval_ast_with_scope::<Dynamic>(&mut scope, &compiled.ast);
        let (status, value, error) = match result {
            Ok(value) => match convert::returned(&value) {
                Ok(json) => (ExecStatus::Ok, Some(json), None),
                Err(e) => (
                    ExecStatus::Error,
                    None,
                    Some(ScriptError::new(
                        "invalid_response",
                        format!("the return value cannot be sent: {e}"),
                    )),
                ),
            },
            Err(err) => {
                let (status, error) = classify(&err, &limits);
                (status, None, Some(error))
            }
        };
        let usage = call.usage();
        // Slow by the CPU it used, not the time it took: on a busy machine a
        // quick script preempted half-way takes longer without being slow,
        // and a script thread would not run it sooner (counting wall time
        // sent hello-worlds to the script threads by the hundred under load;
        // docs/performance.md, 2026-12-05).
        compiled.placement.ran(
            usage.1 > runtime::HAND_OFF_AFTER || call.blocked(),
            on_runtime,
        );
        finish(status, value, error, usage)
        // The scope and the result (possibly deeply nested values) are dropped
        // here, on the script thread's large stack.
    }
}

impl ExecutorClient for LocalExecutor {
    fn execute(&self, request: ExecRequest) -> BoxFuture<'_, Result<ExecOutcome>> {
        Box::pin(async move {
            // A compiled version's execution starts on this runtime thread
            // unless one of its recent executions was slow or waited on a
            // service (see [`runtime`]); else on a script thread.
            match self.inner.cached(&request.script) {
                Some(compiled)
                    if runtime::script_capable() && compiled.placement.may_start_here() =>
                {
                    let inner = &self.inner;
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        inner.run_compiled(request, Ok(compiled), true)
                    }))
                    .map_err(|_| {
                        tracing::error!("a script execution panicked; the thread carries on");
                        Error::ExecutorUnavailable("a script job failed unexpectedly".into())
                    })
                }
                cached => self.on_pool(move |inner| inner.run(request, cached)).await,
            }
        })
    }
}

impl ScriptCompiler for LocalExecutor {
    fn compile(&self, script: Arc<Script>) -> BoxFuture<'_, Result<(), ScriptError>> {
        Box::pin(async move {
            self.on_pool(move |inner| inner.compile_and_cache(&script).map(drop))
                .await
                .map_err(|e| ScriptError::new("compile_error", e.to_string()))?
        })
    }

    fn forget(&self, id: ScriptId) {
        self.inner
            .asts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
}
