//! The admin API (`/api/v1/admin/...`): the manager's HTTP surface. Handlers
//! parse, call the service, and shape the answer; the decisions live in
//! [`crate::service`].

mod apps;
mod audit;
mod auth;
mod common;
mod kv;
mod members;
mod releases;
pub mod responses;
mod router;
mod routes;
mod scripts;
mod secrets;
mod tokens;
mod triggers;
mod users;

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use picloud_shared::api_error::{ApiError, ErrorCode};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::service::{DETACHED_CALLS, Manager};

pub use common::{Caller, Items};
pub use router::{ADMIN_ENDPOINTS, AdminPaths};
pub use scripts::MAX_EXECUTIONS_LIMIT;

/// The admin routes, relative to the API prefix (`/admin/...`), and the
/// OpenAPI document that describes them ([`crate::openapi`]).
pub fn admin_router(manager: Arc<Manager>) -> Router {
    let turns = Arc::clone(&manager.admin_calls);
    let bodies = Arc::clone(&manager.admin_bodies);
    router::routes(manager)
        .route(crate::openapi::PATH, get(crate::openapi::serve))
        .layer(middleware::from_fn_with_state(turns, to_completion))
        // Read by `extract::ApiJson`.
        .layer(axum::Extension(bodies))
}

/// Whether a call goes with its caller: a read (`GET`, `HEAD`), and two
/// calls that change something but need not outlive their callers. A
/// sign-in, anonymous, counted by the throttle before its password is
/// checked, whose session nobody would receive: not worth a turn that a
/// flood of them could take from everyone else. A replay, whose execution
/// already runs on (and is recorded) without its caller, and which may
/// take as long as its script's timeout. (By the path, as routed: axum's
/// `MatchedPath` would cost every request a map insert.)
fn goes_with_caller(method: &Method, path: &str) -> bool {
    if matches!(*method, Method::GET | Method::HEAD) {
        return true;
    }
    let replay = path
        .strip_suffix("/replay")
        .and_then(|p| p.rsplit_once("/admin/executions/"))
        .is_some_and(|(_, id)| !id.is_empty() && !id.contains('/'));
    replay || path.ends_with("/admin/auth/login")
}

/// Runs a call that may change something to its end, in a task of its own,
/// whether or not its client waits for the answer.
///
/// The connection's future owns the handler's: when a client closes its
/// connection mid-call, hyper drops it, and with it the handler wherever
/// it was waiting. A change is committed in one transaction, but what
/// follows its commit (the routing table reloaded, the caches told, the
/// audit entry written) would be cut short: a deleted app's routes served
/// until the next reload, a change missing from the audit log. The data
/// plane does the same for a script's execution (its record is written
/// even if the caller goes). A `GET` or `HEAD` changes nothing, and goes
/// with its caller, as do the calls [`goes_with_caller`] names.
///
/// A call whose client waits is bounded by its connection (the server's
/// connection cap, the body's deadline). One whose client has left takes
/// one of [`DETACHED_CALLS`](crate::service::DETACHED_CALLS) turns as it
/// is left, so clients that send a call and close cannot pile up work,
/// and the shutdown waits for the turns before it closes the database.
/// Taken then, not at the start: a client that sends its body slowly holds
/// its own connection, never a turn others need. With no turn free, the
/// call is cut where it waits, as every call was before.
async fn to_completion(State(turns): State<Arc<Semaphore>>, req: Request, next: Next) -> Response {
    if goes_with_caller(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    let turn = Arc::new(OnceLock::new());
    let kept = Arc::clone(&turn);
    let mut call = Awaited {
        call: tokio::spawn(async move {
            // The turn, if the caller leaves, is given back with this.
            let _turn = kept;
            next.run(req).await
        }),
        turn,
        turns,
    };
    match (&mut call.call).await {
        Ok(response) => response,
        // As if it had panicked here: the same as before the task.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only at the runtime's shutdown, which takes this call too.
        Err(_) => {
            ApiError::new(ErrorCode::Overloaded, "the server is shutting down").into_response()
        }
    }
}

/// A call's task, as its caller waits for it: dropped unfinished (the
/// client left), it takes a turn for the task, or cuts the task short when
/// none is free.
struct Awaited {
    call: JoinHandle<Response>,
    turn: Arc<OnceLock<OwnedSemaphorePermit>>,
    turns: Arc<Semaphore>,
}

impl Drop for Awaited {
    fn drop(&mut self) {
        if self.call.is_finished() {
            return;
        }
        // Held by the task's copy of `turn` until the task ends (if it
        // ended just now, dropping ours gives it back at once).
        match Arc::clone(&self.turns).try_acquire_owned() {
            Ok(turn) => drop(self.turn.set(turn)),
            Err(_) => {
                tracing::warn!(
                    "{DETACHED_CALLS} admin calls are running on after their clients left; \
                     one more is cut short"
                );
                self.call.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::body::Body;
    use axum::routing::post;
    use tower::ServiceExt as _;

    use super::*;

    /// A router whose `POST /` enters, waits for a permit of `gate`, and
    /// counts itself done, behind `to_completion` with `turns` turns.
    fn waiting(
        turns: usize,
        gate: Arc<Semaphore>,
        entered: Arc<AtomicUsize>,
        done: Arc<AtomicUsize>,
    ) -> Router {
        Router::new()
            .route(
                "/",
                post(move || async move {
                    entered.fetch_add(1, Ordering::SeqCst);
                    gate.acquire().await.unwrap().forget();
                    done.fetch_add(1, Ordering::SeqCst);
                    "done"
                })
                .get(|| async { "read" }),
            )
            .layer(middleware::from_fn_with_state(
                Arc::new(Semaphore::new(turns)),
                to_completion,
            ))
    }

    fn post_request() -> Request {
        Request::post("/").body(Body::empty()).unwrap()
    }

    async fn until(what: &AtomicUsize, n: usize) {
        tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while what.load(Ordering::SeqCst) < n {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("reached in time");
    }

    /// Sends a call, waits until its handler has begun, and leaves.
    async fn leave_once_begun(router: &Router, entered: &AtomicUsize) {
        let before = entered.load(Ordering::SeqCst);
        let caller = tokio::spawn(router.clone().oneshot(post_request()));
        until(entered, before + 1).await;
        caller.abort();
        assert!(caller.await.unwrap_err().is_cancelled());
    }

    #[test]
    fn reads_sign_ins_and_replays_go_with_their_callers() {
        let id = "0193c1d2-0000-7000-8000-000000000000";
        for prefix in ["", "/api/v1"] {
            let replay = format!("{prefix}/admin/executions/{id}/replay");
            let login = format!("{prefix}/admin/auth/login");
            let logout = format!("{prefix}/admin/auth/logout");
            let app = format!("{prefix}/admin/apps/shop");
            assert!(goes_with_caller(&Method::GET, &app));
            assert!(goes_with_caller(&Method::HEAD, &app));
            assert!(goes_with_caller(&Method::POST, &replay));
            assert!(goes_with_caller(&Method::POST, &login));
            assert!(
                !goes_with_caller(&Method::POST, &logout),
                "a logout ends its session"
            );
            assert!(!goes_with_caller(&Method::DELETE, &app));
            assert!(!goes_with_caller(
                &Method::PUT,
                &format!("{prefix}/admin/scripts/{id}")
            ));
            // Not a replay's route.
            assert!(!goes_with_caller(
                &Method::POST,
                &format!("{prefix}/admin/executions//replay")
            ));
            assert!(!goes_with_caller(
                &Method::POST,
                &format!("{prefix}/admin/apps/a/replay")
            ));
        }
    }

    #[tokio::test]
    async fn a_call_whose_caller_leaves_runs_to_its_end_on_a_turn() {
        let gate = Arc::new(Semaphore::new(0));
        let (entered, done) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let router = waiting(
            1,
            Arc::clone(&gate),
            Arc::clone(&entered),
            Arc::clone(&done),
        );

        // The first call's caller leaves: it runs on, on the one turn.
        leave_once_begun(&router, &entered).await;
        // A call whose caller waits needs no turn: a slow client holds its
        // own connection, not a turn. Left too, it finds none free and is
        // cut short, as every call was before.
        leave_once_begun(&router, &entered).await;
        // A read takes no turn either.
        let read = router
            .clone()
            .oneshot(Request::get("/").body(Body::empty()).unwrap());
        assert_eq!(read.await.unwrap().status(), 200);

        gate.add_permits(2);
        until(&done, 1).await;
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert_eq!(done.load(Ordering::SeqCst), 1, "the second was cut short");
        gate.try_acquire()
            .expect("the second's permit left unused")
            .forget();

        // The first gave its turn back as it ended: the next one left runs on.
        leave_once_begun(&router, &entered).await;
        gate.add_permits(1);
        until(&done, 2).await;
    }
}
