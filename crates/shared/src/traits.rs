//! The seams. In one process each has a local implementation; in cluster
//! mode a remote one (HTTP, versioned by `WIRE_VERSION`) takes its place.

use std::sync::Arc;

use crate::{
    AppId, ExecOutcome, ExecRequest, ExecutionRecord, Result, Script, ScriptError, ScriptId,
};

use crate::future::BoxFuture;

/// Runs scripts. The orchestrator depends on this trait, never on the
/// executor crate.
pub trait ExecutorClient: Send + Sync + 'static {
    /// Runs one script to the end (success, error, limit or timeout). Errors
    /// are the executor's own failures, never the script's.
    fn execute(&self, request: ExecRequest) -> BoxFuture<'_, Result<ExecOutcome>>;
}

/// Compiles scripts for the manager's upload check, and keeps the compiled
/// form warm for the executor where they share a process.
pub trait ScriptCompiler: Send + Sync + 'static {
    /// Compiles this version of a script with the sandbox it will run in.
    /// A compile error comes back with code `compile_error`, line and column.
    fn compile(&self, script: Arc<Script>) -> BoxFuture<'_, Result<(), ScriptError>>;

    /// The script is gone: drop whatever was cached for it.
    fn forget(&self, id: ScriptId);
}

/// Finds the current version of a script by id, for the data plane. The
/// manager's implementation serves it from memory after the first read.
pub trait ScriptResolver: Send + Sync + 'static {
    fn resolve(&self, id: ScriptId) -> BoxFuture<'_, Result<Option<Arc<Script>>>>;

    /// The current version of the script named `name` in `app` (for
    /// `invoke`, which only ever names scripts of the caller's own app).
    fn resolve_name<'a>(
        &'a self,
        app: AppId,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Script>>>>;

    /// The script named `name` in the app of the execution `cx` (what
    /// `invoke` calls). A resolver over the wire presents `cx`'s grant.
    fn resolve_for<'a>(
        &'a self,
        cx: &'a crate::SdkCallCx,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<Script>>>> {
        self.resolve_name(cx.app_id, name)
    }

    /// The current domain claims and route tables (a snapshot: cheap to
    /// take, never blocked by a writer for long).
    fn routing(&self) -> Arc<crate::routing::Routing>;
}

/// Takes execution records off the request path: the future ends once the
/// record is queued (not written). A sink that cannot keep up makes its
/// callers wait for room rather than lose records; it never fails.
pub trait ExecutionSink: Send + Sync + 'static {
    fn record(&self, record: ExecutionRecord) -> BoxFuture<'_, ()>;
}
