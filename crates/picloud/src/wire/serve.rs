//! The routers that serve the wire: an executor's (`/execute`) and the
//! manager's (`/kv`, `/resolve`), each behind [`super::guard`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use picloud_manager_core::DataCache;
use picloud_shared::wire::{
    CallCx, ExecuteCall, ExecuteReply, KvCall, KvOp, KvReply, ResolveCall, ResolveReply,
    SecretCall, SecretReply,
};
use picloud_shared::{
    Error, ExecRequest, ExecutorClient, KvService, Script, ScriptId, SdkCallCx, SecretService,
};

use super::{GrantKey, refuse};

fn bad_json(e: &JsonRejection) -> Response {
    refuse(StatusCode::BAD_REQUEST, "bad_request", e.body_text())
}

fn failed(e: Error) -> Response {
    match e {
        Error::Invalid(message) => refuse(StatusCode::BAD_REQUEST, "invalid", message),
        Error::Backend(message) | Error::ExecutorUnavailable(message) => {
            refuse(StatusCode::SERVICE_UNAVAILABLE, "backend", message)
        }
    }
}

fn guarded(router: Router, secret: Arc<str>, role: &'static str) -> Router {
    router.layer(axum::middleware::from_fn(move |req, next| {
        super::guard(Arc::clone(&secret), role, req, next)
    }))
}

// ----- the executor's -----

#[derive(Clone)]
struct ExecutorState {
    executor: Arc<dyn ExecutorClient>,
    /// The latest version of each script this executor was sent, so a
    /// call need not carry it again.
    scripts: Arc<RwLock<HashMap<ScriptId, Arc<Script>>>>,
}

/// `POST /wire/{v}/execute`, for orchestrators and the manager. Bodies up
/// to `max_body` bytes.
pub fn executor_router(
    executor: Arc<dyn ExecutorClient>,
    secret: Arc<str>,
    max_body: usize,
) -> Router {
    let state = ExecutorState {
        executor,
        scripts: Arc::default(),
    };
    let router = Router::new()
        .route(
            &format!("{}/execute", picloud_shared::wire::prefix()),
            post(execute),
        )
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(max_body));
    guarded(router, secret, "executor")
}

async fn execute(
    State(s): State<ExecutorState>,
    call: Result<axum::Json<ExecuteCall>, JsonRejection>,
) -> Response {
    let call = match call {
        Ok(axum::Json(call)) => call,
        Err(e) => return bad_json(&e),
    };
    let script = match call.script {
        Some(script) => {
            if script.id != call.script_id || script.version != call.version {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "the script sent is not the version named",
                );
            }
            let script = Arc::new(script);
            let mut known = s.scripts.write().unwrap_or_else(|p| p.into_inner());
            if known
                .get(&script.id)
                .is_none_or(|k| k.version <= script.version)
            {
                known.insert(script.id, Arc::clone(&script));
            }
            script
        }
        None => {
            let known = s
                .scripts
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(&call.script_id)
                .filter(|k| k.version == call.version)
                .cloned();
            match known {
                Some(script) => script,
                None => return axum::Json(ExecuteReply::NeedScript).into_response(),
            }
        }
    };
    let request = ExecRequest {
        execution_id: call.execution_id,
        request_id: call.request_id,
        script,
        invocation: call.invocation,
        grant: Some(call.grant),
        dry_run: call.dry_run,
    };
    match s.executor.execute(request).await {
        Ok(outcome) => axum::Json(ExecuteReply::Done {
            outcome: Box::new(outcome),
        })
        .into_response(),
        Err(e) => failed(e),
    }
}

// ----- the manager's -----

#[derive(Clone)]
struct ManagerState {
    kv: Arc<dyn KvService>,
    secrets: Arc<dyn SecretService>,
    cache: Arc<DataCache>,
    grants: GrantKey,
}

/// `POST /wire/{v}/kv`, `/secret` and `/resolve`, for executors.
pub fn manager_router(
    kv: Arc<dyn KvService>,
    secrets: Arc<dyn SecretService>,
    cache: Arc<DataCache>,
    grants: GrantKey,
    secret: Arc<str>,
) -> Router {
    let prefix = picloud_shared::wire::prefix();
    let router = Router::new()
        .route(&format!("{prefix}/kv"), post(kv_call))
        .route(&format!("{prefix}/secret"), post(secret_call))
        .route(&format!("{prefix}/resolve"), post(resolve))
        .with_state(ManagerState {
            kv,
            secrets,
            cache,
            grants,
        })
        // A KV value is at most 1 MiB as JSON; its escaping may double it.
        .layer(axum::extract::DefaultBodyLimit::max(4 << 20));
    guarded(router, secret, "manager")
}

/// The call's context, as far as its grant holds: the app and depth are
/// the grant's, never only the caller's word.
fn granted(grants: &GrantKey, cx: &CallCx) -> Result<SdkCallCx, &'static str> {
    let (app, depth) = grants.verify(&cx.grant)?;
    if app != cx.app_id || depth != cx.depth {
        return Err("the grant is for another app or depth");
    }
    Ok(SdkCallCx {
        app_id: app,
        script_id: cx.script_id,
        execution_id: cx.execution_id,
        request_id: cx.request_id,
        depth,
        grant: None,
    })
}

/// A wire call's body and its context as far as its grant holds, or the
/// answer that refuses it (400 for a bad body, 403 for a grant that does
/// not hold).
fn accept<T>(
    grants: &GrantKey,
    call: Result<axum::Json<T>, JsonRejection>,
    cx: fn(&T) -> &CallCx,
) -> Result<(T, SdkCallCx), Box<Response>> {
    let axum::Json(call) = call.map_err(|e| Box::new(bad_json(&e)))?;
    let cx = granted(grants, cx(&call))
        .map_err(|why| Box::new(refuse(StatusCode::FORBIDDEN, "forbidden", why)))?;
    Ok((call, cx))
}

async fn kv_call(
    State(s): State<ManagerState>,
    call: Result<axum::Json<KvCall>, JsonRejection>,
) -> Response {
    let (call, cx) = match accept(&s.grants, call, |c| &c.cx) {
        Ok(accepted) => accepted,
        Err(refused) => return *refused,
    };
    let c = call.collection.as_str();
    let reply = match call.op {
        KvOp::Get { key } => s.kv.get(&cx, c, &key).await.map(KvReply::Value),
        KvOp::Set { key, value } => s.kv.set(&cx, c, &key, value).await.map(|()| KvReply::Done),
        KvOp::Has { key } => s.kv.has(&cx, c, &key).await.map(KvReply::Bool),
        KvOp::Delete { key } => s.kv.delete(&cx, c, &key).await.map(KvReply::Bool),
        KvOp::List { options } => s.kv.list(&cx, c, options).await.map(KvReply::Page),
    };
    match reply {
        Ok(reply) => axum::Json(reply).into_response(),
        Err(e) => failed(e),
    }
}

async fn secret_call(
    State(s): State<ManagerState>,
    call: Result<axum::Json<SecretCall>, JsonRejection>,
) -> Response {
    let (call, cx) = match accept(&s.grants, call, |c| &c.cx) {
        Ok(accepted) => accepted,
        Err(refused) => return *refused,
    };
    match s.secrets.get(&cx, &call.name).await {
        Ok(value) => axum::Json(SecretReply { value }).into_response(),
        Err(e) => failed(e),
    }
}

async fn resolve(
    State(s): State<ManagerState>,
    call: Result<axum::Json<ResolveCall>, JsonRejection>,
) -> Response {
    let (call, cx) = match accept(&s.grants, call, |c| &c.cx) {
        Ok(accepted) => accepted,
        Err(refused) => return *refused,
    };
    let reply = match s.cache.script_named(cx.app_id, &call.name).await {
        Ok(None) => ResolveReply::Missing,
        Ok(Some(script)) if call.have == Some((script.id, script.version)) => ResolveReply::Same,
        Ok(Some(script)) => ResolveReply::Script(Box::new(Script::clone(&script))),
        Err(e) => return failed(Error::Backend(e.to_string())),
    };
    axum::Json(reply).into_response()
}
