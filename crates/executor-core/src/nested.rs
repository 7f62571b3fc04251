//! How the executor runs an `invoke`: the callee runs on the caller's
//! thread, in a frame of its own (see `frame::begin_nested`): its deadline
//! is the caller's or its own, whichever comes first, and the operations and
//! log entries it spends are the caller's. It runs on a fresh stack as large
//! as a script thread's (`stacker`), so the stack guarantee of one execution
//! (pool.rs) holds at every level of nesting. Each call is recorded as an
//! execution of its own (`function`, under the caller's request id), and
//! handed back with the caller's outcome.

use std::sync::Arc;
use std::time::{Duration, Instant};

use picloud_shared::kv::SdkCallCx;
use picloud_shared::{ExecStatus, ExecutionId, ExecutionRecord, Script, ScriptError};
use rhai::{Dynamic, EvalAltResult};

use crate::context::{self, CallSdk, Nest, RhaiResult};
use crate::convert;
use crate::frame::{self, NestError, begin_nested};
use crate::limits as fixed;
use crate::local::Inner;
use crate::pool::SCRIPT_STACK_SIZE;
use crate::sandbox::classify;

impl Nest for Inner {
    fn call(
        &self,
        caller: &CallSdk,
        what: &str,
        script: Arc<Script>,
        args: Dynamic,
    ) -> RhaiResult<Dynamic> {
        // A fresh stack for the callee: as large as a script thread's, or as
        // its own limits need (deep.rs).
        let stack = crate::deep::stack_for(&self.ceilings.resolve(&script.sandbox))
            .unwrap_or(SCRIPT_STACK_SIZE);
        stacker::grow(stack, move || self.run_call(caller, what, &script, args))
    }
}

impl Inner {
    /// Runs `script` as a call made by the execution on this thread.
    fn run_call(
        &self,
        caller: &CallSdk,
        what: &str,
        script: &Arc<Script>,
        args: Dynamic,
    ) -> RhaiResult<Dynamic> {
        let started = Instant::now();
        let started_at = time::OffsetDateTime::now_utc();
        let limits = self.ceilings.resolve(&script.sandbox);
        let frame = begin_nested(
            Duration::from_millis(limits.timeout_ms),
            limits.max_operations,
        )
        .map_err(|e| match e {
            NestError::TooDeep => format!(
                "{what}: calls nest at most {} deep",
                fixed::MAX_INVOKE_DEPTH
            ),
            NestError::TooMany => format!(
                "{what}: an execution makes at most {} calls",
                fixed::MAX_INVOKES
            ),
            NestError::NoCall => format!("{what}: only a running script can invoke"),
        })?;
        let cx = SdkCallCx {
            app_id: script.app_id,
            script_id: script.id,
            execution_id: ExecutionId::new(),
            request_id: caller.cx.request_id,
            depth: caller.cx.depth,
            grant: caller.cx.grant.clone(),
        };
        let (execution_id, request_id) = (cx.execution_id, cx.request_id);
        let sdk_frame = context::enter(CallSdk {
            cx: Arc::new(cx),
            connected: caller.connected.clone(),
            executor: Arc::clone(&caller.executor),
        });

        let result: Result<Dynamic, Failure> = match self.cached(script) {
            Some(compiled) => Ok(compiled),
            None => self.compile_and_cache(script).map_err(Failure::Compile),
        }
        .and_then(|compiled| {
            let engine = self.engines.get(&limits);
            let mut scope = compiled.scope(false, |base| {
                convert::function_ctx(base, execution_id, request_id, args)
            });
            engine
                .eval_ast_with_scope::<Dynamic>(&mut scope, &compiled.ast)
                .map_err(Failure::Run)
        });

        let (status, error) = match &result {
            Ok(_) => (ExecStatus::Ok, None),
            Err(Failure::Compile(e)) => (ExecStatus::Error, Some(e.clone())),
            Err(Failure::Run(e)) => {
                let (status, error) = classify(e, &limits);
                (status, Some(error))
            }
        };
        let (operations, cpu) = frame.usage();
        let record = ExecutionRecord {
            id: execution_id,
            app_id: script.app_id,
            script_id: script.id,
            request_id,
            invocation_type: picloud_shared::InvocationType::Function,
            status,
            status_code: None,
            started_at,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            error: frame
                .redact_error(error.clone())
                .as_ref()
                .map(ScriptError::describe),
            logs: frame.take_logs(),
            event: None,
            outbound: frame.take_outbound(),
            script_version: Some(script.version),
            operations: Some(operations),
            cpu_ms: Some(cpu.as_secs_f64() * 1000.0),
            request: None,
            replay_of: None,
            dry_run: false,
        };
        context::record_call(record);
        drop(sdk_frame);
        // Back in the caller's frame, charged with what the call spent.
        drop(frame);

        let e = match result {
            Ok(value) => return Ok(value),
            Err(Failure::Run(e)) => *e,
            Err(Failure::Compile(_)) => {
                return Err(format!("{what}: {}", describe(error)).into());
            }
        };
        match e {
            // The caller's own time or operations ran out inside the call:
            // the caller ends too, as it would have on its own.
            e if !e.is_catchable() && !frame::budget_left() => Err(e.into()),
            // What the callee threw, the caller catches as thrown.
            EvalAltResult::ErrorRuntime(value, _) => {
                Err(EvalAltResult::ErrorRuntime(value, rhai::Position::NONE).into())
            }
            // Any other failure of the callee (its own limits included) is
            // an error the caller can catch.
            _ => Err(format!("{what}: {}", describe(error)).into()),
        }
    }
}

fn describe(error: Option<ScriptError>) -> String {
    error.map_or_else(|| "failed".to_owned(), |e| e.describe())
}

enum Failure {
    Compile(ScriptError),
    Run(Box<EvalAltResult>),
}
