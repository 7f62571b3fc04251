//! The SDK side of the execution running on this thread: the services it
//! reaches (injected traits from picloud-shared: the executor never touches
//! a database), the call's [`SdkCallCx`] (the app a service acts on comes
//! from there and nowhere else), the executor for `invoke`, and the records
//! of the calls it made.
//!
//! A call into a service is async; the script's thread blocks on it (after
//! handing the runtime over if it is a runtime thread: see runtime.rs),
//! bounded by what is left of the execution's time, so a slow store cannot
//! hold a script past its deadline.
//!
//! With frame.rs, the per-execution state the SDK (sdk/) and the executor
//! use; it knows nothing of them.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Instant;

use picloud_shared::kv::{KvService, SdkCallCx};
use picloud_shared::{BoxFuture, ExecutionRecord, Script, ScriptResolver, SecretService};
use rhai::{Dynamic, EvalAltResult};
use tokio::runtime::Handle;

use crate::frame;

pub(crate) type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// Runs a script as a call made by the execution on this thread (`invoke`):
/// the executor, seen from the SDK.
pub(crate) trait Nest: Send + Sync {
    /// Runs `script` with `args` as `ctx.args`, in a frame nested in the
    /// caller's, and gives back its value (or its failure, as the caller
    /// sees it). `what` names the call in errors.
    fn call(
        &self,
        caller: &CallSdk,
        what: &str,
        script: Arc<Script>,
        args: Dynamic,
    ) -> RhaiResult<Dynamic>;
}

/// What scripts can reach beyond Rhai itself.
#[derive(Clone)]
pub struct SdkServices {
    pub kv: Arc<dyn KvService>,
    /// Finds the scripts `invoke` calls.
    pub scripts: Arc<dyn ScriptResolver>,
    /// The app's secrets; `None` where this executor cannot reach them.
    pub secrets: Option<Arc<dyn SecretService>>,
    /// Outbound HTTP (`http::request`); `None`: off.
    pub http: Option<Arc<crate::outbound::Outbound>>,
}

/// The services and the runtime their futures run on.
pub(crate) struct Connected {
    pub services: SdkServices,
    pub runtime: Handle,
    /// A dry run's: its KV store is an overlay (overlay.rs) and outbound
    /// calls are not sent.
    pub dry_run: bool,
}

impl Connected {
    /// The same services for one dry run: KV writes kept in an overlay of
    /// its own.
    pub(crate) fn dry_run(&self) -> Connected {
        Connected {
            services: SdkServices {
                kv: Arc::new(crate::overlay::DryRunKv::new(Arc::clone(&self.services.kv))),
                ..self.services.clone()
            },
            runtime: self.runtime.clone(),
            dry_run: true,
        }
    }
}

/// The SDK side of the current execution on this thread.
#[derive(Clone)]
pub(crate) struct CallSdk {
    pub cx: Arc<SdkCallCx>,
    pub connected: Option<Arc<Connected>>,
    /// The executor running the call, for `invoke`.
    pub executor: Arc<dyn Nest>,
}

thread_local! {
    static SDK: RefCell<Option<CallSdk>> = const { RefCell::new(None) };
}

/// Makes `sdk` the current execution's until the guard drops (which puts
/// back whatever was current before: calls nest).
pub(crate) fn enter(sdk: CallSdk) -> SdkGuard {
    SdkGuard(SDK.with(|s| s.replace(Some(sdk))))
}

pub(crate) struct SdkGuard(Option<CallSdk>);

impl Drop for SdkGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        SDK.with(|s| *s.borrow_mut() = previous);
    }
}

pub(crate) fn current() -> RhaiResult<CallSdk> {
    SDK.with(|s| s.borrow().clone())
        .ok_or_else(|| "the SDK is only available while a script runs".into())
}

impl CallSdk {
    pub(crate) fn connected(&self, what: &str) -> RhaiResult<&Connected> {
        self.connected
            .as_deref()
            .ok_or_else(|| format!("{what} is not available in this executor").into())
    }

    /// Waits for `future` to its end or to the execution's deadline (then
    /// the execution ends as a timeout, which the script cannot catch).
    pub(crate) fn wait<F: std::future::Future>(
        &self,
        what: &str,
        future: F,
    ) -> RhaiResult<F::Output> {
        let connected = self.connected(what)?;
        let left = frame::time_left();
        frame::before_blocking();
        // On a runtime thread (handed over above) this leaves the runtime's
        // context, where blocking on a future is refused; elsewhere it only
        // runs the closure.
        tokio::task::block_in_place(|| {
            connected
                .runtime
                .block_on(async { tokio::time::timeout(left, future).await })
        })
        .map_err(|_| frame::deadline_passed())
    }

    /// Runs a service call to its end or to the execution's deadline.
    pub(crate) fn block_on<'a, T>(
        &'a self,
        what: &str,
        call: impl FnOnce(&'a SdkServices, &'a SdkCallCx) -> BoxFuture<'a, picloud_shared::Result<T>>,
    ) -> RhaiResult<T> {
        let connected = self.connected(what)?;
        let answer = self.wait(what, call(&connected.services, &self.cx))?;
        service_answer(what, answer)
    }

    /// The outbound HTTP client, if this executor has one.
    pub(crate) fn http(&self) -> Option<Arc<crate::outbound::Outbound>> {
        self.connected.as_ref()?.services.http.clone()
    }

    /// Whether this is a dry run (outbound calls are not sent).
    pub(crate) fn dry_run(&self) -> bool {
        self.connected.as_ref().is_some_and(|c| c.dry_run)
    }
}

impl CallSdk {
    /// A service call that blocks this thread rather than waiting on a
    /// future (see `KvService::set_now`), bounded by the execution's
    /// deadline; `Ok(None)` when the service has no such call.
    pub(crate) fn blocking_now<T>(
        &self,
        what: &str,
        call: impl FnOnce(&SdkServices, &SdkCallCx, Instant) -> Option<picloud_shared::Result<T>>,
    ) -> RhaiResult<Option<RhaiResult<T>>> {
        let connected = self.connected(what)?;
        let deadline = Instant::now() + frame::time_left();
        frame::before_blocking();
        Ok(
            call(&connected.services, &self.cx, deadline).map(|answer| match answer {
                // Withdrawn at the deadline, or failed with no time left.
                Err(_) if frame::time_left().is_zero() => Err(frame::deadline_passed()),
                answer => service_answer(what, answer),
            }),
        )
    }
}

/// A service's answer as the script sees it.
pub(crate) fn service_answer<T>(what: &str, answer: picloud_shared::Result<T>) -> RhaiResult<T> {
    match answer {
        Ok(value) => Ok(value),
        Err(picloud_shared::Error::Invalid(message)) => Err(format!("{what}: {message}").into()),
        Err(e) => Err(format!("{what}: {e}").into()),
    }
}

thread_local! {
    /// The records of the calls made by the execution running on this thread.
    static CALLS: RefCell<Vec<ExecutionRecord>> = const { RefCell::new(Vec::new()) };
}

/// Starts collecting the records of an execution's calls.
pub(crate) fn begin_recording() -> Recording {
    CALLS.with(|c| c.borrow_mut().clear());
    Recording
}

pub(crate) struct Recording;

impl Recording {
    pub(crate) fn take(&self) -> Vec<ExecutionRecord> {
        CALLS.with(|c| std::mem::take(&mut *c.borrow_mut()))
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        CALLS.with(|c| c.borrow_mut().clear());
    }
}

/// Adds the record of a call the execution on this thread made.
pub(crate) fn record_call(record: ExecutionRecord) {
    CALLS.with(|c| c.borrow_mut().push(record));
}
