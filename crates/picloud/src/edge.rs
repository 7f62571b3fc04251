//! What every process answers besides its services: `/healthz`,
//! `/version`, the dashboard's routes, JSON 404 and 405, the front door
//! (`GET /` to the dashboard) and a manager's answer for user routes.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::version;
use picloud_shared::web::AdminHost;
use serde_json::json;

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

/// `GET /` where no user route answers it: a browser is sent to the
/// dashboard, anything else gets the 404 with where to look. A user's own
/// `/` route (even one answering 404) is left alone: only the orchestrator's
/// no-route answer carries `NoRoute`.
pub(crate) async fn front_door(
    admin_host: AdminHost,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let root = req.uri().path() == "/"
        && matches!(
            *req.method(),
            axum::http::Method::GET | axum::http::Method::HEAD
        );
    if !root {
        return next.run(req).await;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(picloud_shared::routing::normalise_host)
        .unwrap_or_default();
    let browser = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let response = next.run(req).await;
    let dashboard = cfg!(feature = "dashboard") && admin_host.serves_dashboard(&host);
    if response
        .extensions()
        .get::<picloud_orchestrator_core::NoRoute>()
        .is_none()
        || !dashboard
    {
        return response;
    }
    if browser {
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
