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
    LocalExecutor::new(ExecutorConfig {
        threads: 4,
        ceilings: SandboxCeilings::default(),
    })
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
    out.value.expect("a value")
}

/// Asserts the run ended with this status and error code; returns the error.
pub fn expect_status(out: &ExecOutcome, status: ExecStatus, code: &str) -> ScriptError {
    assert_eq!(out.status, status, "error: {:?}", out.error);
    let e = out.error.clone().expect("an error");
    assert_eq!(e.code, code, "{e:?}");
    e
}
