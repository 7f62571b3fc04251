//! What every process answers besides its services: `/healthz`,
//! `/version`, the dashboard's routes, JSON 404 and 405, the front door
//! (`GET /` to the dashboard) and a manager's answer for user routes.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use picloud_orchestrator_core::Orchestrator;
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::version;
use picloud_shared::web::AdminHost;
use serde_json::json;
use tower::Service as _;

use crate::metrics::Metrics;

#[derive(Clone)]
pub(crate) struct Surface {
    pub(crate) public_base_url: Option<String>,
    pub(crate) schema: Option<i64>,
    pub(crate) role: &'static str,
}

/// A manager serves no user routes: say where they are.
pub(crate) async fn manager_fallback(req: axum::extract::Request) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!(
            "no route {} {} on this picloud-manager: scripts' routes are served by the orchestrators",
            req.method(),
            req.uri().path()
        ),
    )
}

/// Where a connection's requests go: `router`, or straight to the user
/// routes. Where the router's fallback is the user routes, a request whose
/// path no built-in route can match skips the router: its layers (matching
/// among the built-in routes, the fallback, the front door's middleware)
/// cost as much per request as the whole of a bare axum hello-world
/// (docs/performance.md, 2026-12-05).
pub(crate) struct Edge {
    pub(crate) router: Router,
    pub(crate) user_routes: Option<(Arc<UserRoutes>, Arc<Metrics>)>,
}

impl crate::conn::Answer for Edge {
    async fn answer(&self, req: axum::extract::Request) -> axum::response::Response {
        match &self.user_routes {
            Some((user_routes, metrics)) if !built_in(req.uri().path()) => {
                finish_response(metrics, user_routes.serve(req).await)
            }
            _ => match self.router.clone().call(req).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
        }
    }
}

/// Whether a route of the router may match `path` (as sent, undecoded):
/// the paths user routes cannot claim (picloud_routing). May say yes for a
/// path the router does not match (its fallback is the user routes too),
/// never no for one it does.
pub(crate) fn built_in(path: &str) -> bool {
    picloud_shared::routing::is_reserved_request_path(path)
}

/// What every answer goes through: the response counter, and a connection
/// that cannot carry another request says so.
pub(crate) fn finish_response(
    metrics: &Metrics,
    mut response: axum::response::Response,
) -> axum::response::Response {
    // An atomic add, no allocation.
    metrics.response(response.status());
    // A body over the limit (or stalled) is answered unread, so the
    // connection cannot carry another request: say so (as nginx does), or
    // a client may send its next request on a connection that is closing.
    // The close lingers (conn.rs), so the client reads this answer.
    if matches!(
        response.status(),
        axum::http::StatusCode::PAYLOAD_TOO_LARGE | axum::http::StatusCode::REQUEST_TIMEOUT
    ) {
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    response
}

/// The user routes, with the front door.
pub(crate) struct UserRoutes {
    pub(crate) orchestrator: Arc<Orchestrator>,
    pub(crate) admin_host: AdminHost,
}

impl UserRoutes {
    pub(crate) async fn serve(&self, req: axum::extract::Request) -> axum::response::Response {
        let door = FrontDoor::of(&req);
        let response = self.orchestrator.user_route(req).await;
        match door {
            Some(door) => door.answer(&self.admin_host, response),
            None => response,
        }
    }
}

/// `GET /` where no user route answers it: a browser is sent to the
/// dashboard, anything else gets the 404 with where to look. A user's own
/// `/` route (even one answering 404) is left alone: only the orchestrator's
/// no-route answer carries `NoRoute`.
struct FrontDoor {
    host: String,
    browser: bool,
}

impl FrontDoor {
    /// Set for `GET /` and `HEAD /`.
    fn of(req: &axum::extract::Request) -> Option<FrontDoor> {
        let root = req.uri().path() == "/"
            && matches!(
                *req.method(),
                axum::http::Method::GET | axum::http::Method::HEAD
            );
        if !root {
            return None;
        }
        // As the dashboard's router reads it (a Host header, else the URI's
        // authority), so the door and the dashboard agree on where it is.
        let host = picloud_shared::web::request_host(req.headers(), req.uri());
        let browser = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
        Some(FrontDoor { host, browser })
    }

    fn answer(
        self,
        admin_host: &AdminHost,
        response: axum::response::Response,
    ) -> axum::response::Response {
        let dashboard = cfg!(feature = "dashboard") && admin_host.serves_dashboard(&self.host);
        if response
            .extensions()
            .get::<picloud_orchestrator_core::NoRoute>()
            .is_none()
            || !dashboard
        {
            return response;
        }
        if self.browser {
            return axum::response::Redirect::to("/admin/").into_response();
        }
        ApiError::new(
            ErrorCode::NotFound,
            format!(
                "no route matches GET /: this is PiCloud; the dashboard is at /admin/, \
                 the admin API is described at {}/openapi.json",
                version::api_prefix()
            ),
        )
        .into_response()
    }
}

#[cfg(feature = "dashboard")]
pub(crate) fn dashboard_routes(admin_host: AdminHost) -> Router {
    crate::dashboard::router(admin_host)
}

/// Built without the dashboard: `/admin` is not served.
#[cfg(not(feature = "dashboard"))]
pub(crate) fn dashboard_routes(_: AdminHost) -> Router {
    Router::new()
}

pub(crate) async fn healthz() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "ok")
}

pub(crate) async fn version_info(State(s): State<Surface>) -> axum::Json<serde_json::Value> {
    axum::Json(json!({
        "product": version::PRODUCT_VERSION,
        "sdk": version::SDK_VERSION,
        "api": version::API_VERSION,
        "schema": s.schema,
        "wire": version::WIRE_VERSION,
        "role": s.role,
        "public_base_url": s.public_base_url,
    }))
}

pub(crate) async fn api_not_found(req: axum::extract::Request) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!(
            "no API route {} {}; this server speaks {}",
            req.method(),
            req.uri().path(),
            version::api_prefix()
        ),
    )
}

pub(crate) async fn method_not_allowed(req: axum::extract::Request) -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}

#[cfg(test)]
mod tests {
    use super::built_in;
    use picloud_shared::routing::{PatternError, RoutePattern};

    #[test]
    fn the_router_paths_are_built_in_and_user_paths_are_not() {
        for path in [
            "/healthz",
            "/version",
            "/metrics",
            "/api",
            "/api/",
            "/api/v1/admin/scripts",
            "/api/v1/execute/x/y",
            "/admin",
            "/admin/",
            "/admin/assets/app.js",
        ] {
            assert!(built_in(path), "{path}");
        }
        for path in [
            "/",
            "/hello",
            "/apis",
            "/administrator",
            "/healthz/x",
            "/metrics2",
            "/x/api",
        ] {
            assert!(!built_in(path), "{path}");
            // What skips the router is a path a user route may claim.
            assert!(RoutePattern::parse(path).is_ok(), "{path}");
        }
        // Undecoded: `/%61pi` is no route of the router's, and no user
        // route's either (the user routes answer it 404).
        assert!(!built_in("/%61pi"));
        // And what a user route may not claim, the router may serve.
        for path in [
            "/api", "/api/x", "/admin", "/admin/x", "/healthz", "/metrics",
        ] {
            assert!(matches!(
                RoutePattern::parse(path),
                Err(PatternError::Reserved(_))
            ));
            assert!(built_in(path), "{path}");
        }
    }
}
