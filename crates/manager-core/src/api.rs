//! The admin API (`/api/v1/admin/...`): the manager's HTTP surface. Handlers
//! parse, call the service, and shape the answer; the decisions live in
//! [`crate::service`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::kv::{KvListOptions, KvPage};
use picloud_shared::web::{AdminHost, ClientIp};
use picloud_shared::{
    DeadLetterId, DomainId, ExecStatus, ExecutionId, ExecutionRecord, RequestId, RouteId,
    SandboxOverrides, Script, ScriptId, ScriptName, TriggerId, UserId,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::audit::AuditEntry;
use crate::auth::SESSION_COOKIE;
use crate::authz::{AppRole, Grant, Principal};
use crate::events::{DeadLetter, NewTrigger, Trigger};
use crate::extract::{ApiJson, ApiJsonOrDefault, ApiPath, ApiQuery};
use crate::history::{self, ScriptVersion, ScriptVersionSummary};
use crate::kv::{KvCollection, KvItem};
use crate::members::Member;
use crate::openapi::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, TooManyAttempts, Unauthorized,
    UnsupportedMediaType,
};
use crate::releases::{Release, ReleaseKind};
use crate::replay::{AppUpdate, Replay, ReplayOptions};
use crate::repo::{ApiToken, App, Domain, ExecutionFilter, Route, ScriptStats, User, UserRole};
use crate::routes::{RouteCheck, RouteConflict, RouteError, RouteLookup};
use crate::service::{Manager, NewScript, ScriptChange};
use crate::usage::{UsageSeries, Window};

type ApiResult<T> = Result<T, ApiError>;

/// A list answer: `{"items": [...]}`.
#[derive(Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

fn items<T>(items: Vec<T>) -> Json<Items<T>> {
    Json(Items { items })
}

/// Declares the admin endpoints once: the router is built from the list,
/// [`ADMIN_ENDPOINTS`] names every one of them, so the role-table test
/// fails for an endpoint it does not cover, and the OpenAPI document takes
/// every handler's `#[utoipa::path]`, so a handler without one does not
/// compile (and `tests/openapi.rs` checks each one's method and path).
macro_rules! admin_routes {
    ($($method:ident $path:literal => $handler:ident,)*) => {
        /// Every admin endpoint: `(method, path)`, the path relative to the
        /// API prefix (`/api/v1`).
        pub const ADMIN_ENDPOINTS: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// The admin routes, relative to the API prefix (`/admin/...`), and
        /// the OpenAPI document that describes them ([`crate::openapi`]).
        pub fn admin_router(manager: Arc<Manager>) -> Router {
            Router::new()
                $(.route($path, $method($handler)))*
                .route(crate::openapi::PATH, get(crate::openapi::serve))
                .with_state(manager)
        }

        /// The operations of every admin endpoint, from the handlers'
        /// `#[utoipa::path]` attributes (paths relative to the API prefix).
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($handler),*))]
        pub(crate) struct AdminPaths;
    };
}

admin_routes! {
    post "/admin/auth/login" => login,
    post "/admin/auth/logout" => logout,
    get "/admin/auth/me" => me,
    post "/admin/scripts" => create_script,
    get "/admin/scripts" => list_scripts,
    get "/admin/scripts/{id}" => get_script,
    put "/admin/scripts/{id}" => update_script,
    delete "/admin/scripts/{id}" => delete_script,
    get "/admin/scripts/{id}/versions" => list_script_versions,
    get "/admin/scripts/{id}/versions/{version}" => get_script_version,
    get "/admin/scripts/{id}/executions" => list_executions,
    get "/admin/executions/{id}" => get_execution,
    post "/admin/executions/{id}/replay" => replay_execution,
    get "/admin/scripts/{id}/usage" => script_usage,
    post "/admin/scripts/{id}/routes" => create_route,
    post "/admin/apps" => create_app,
    get "/admin/apps" => list_apps,
    get "/admin/apps/{app}" => get_app,
    patch "/admin/apps/{app}" => update_app,
    delete "/admin/apps/{app}" => delete_app,
    post "/admin/apps/{app}/domains" => claim_domain,
    get "/admin/apps/{app}/domains" => list_domains,
    delete "/admin/apps/{app}/domains/{id}" => release_domain,
    post "/admin/apps/{app}/members" => set_member,
    get "/admin/apps/{app}/members" => list_members,
    delete "/admin/apps/{app}/members/{user}" => remove_member,
    get "/admin/apps/{app}/kv" => kv_collections,
    get "/admin/apps/{app}/kv/{collection}" => kv_page,
    get "/admin/apps/{app}/kv/{collection}/{key}" => kv_get,
    put "/admin/apps/{app}/kv/{collection}/{key}" => kv_put,
    delete "/admin/apps/{app}/kv/{collection}/{key}" => kv_delete,
    get "/admin/apps/{app}/releases" => list_releases,
    post "/admin/apps/{app}/releases" => create_release,
    post "/admin/apps/{app}/releases/{release}/rollback" => rollback_release,
    get "/admin/apps/{app}/secrets" => secret_list,
    put "/admin/apps/{app}/secrets/{name}" => secret_put,
    delete "/admin/apps/{app}/secrets/{name}" => secret_delete,
    post "/admin/apps/{app}/triggers" => create_trigger,
    get "/admin/apps/{app}/triggers" => list_triggers,
    delete "/admin/triggers/{id}" => delete_trigger,
    get "/admin/apps/{app}/dead-letters" => list_dead_letters,
    post "/admin/dead-letters/{id}/retry" => retry_dead_letter,
    delete "/admin/dead-letters/{id}" => delete_dead_letter,
    get "/admin/routes" => list_routes,
    post "/admin/routes/check" => check_route,
    get "/admin/routes/match" => match_route,
    delete "/admin/routes/{id}" => delete_route,
    post "/admin/users" => create_user,
    get "/admin/users" => list_users,
    delete "/admin/users/{id}" => delete_user,
    post "/admin/tokens" => create_token,
    get "/admin/tokens" => list_tokens,
    delete "/admin/tokens/{id}" => revoke_token,
    get "/admin/audit" => audit_log,
}

/// An authenticated caller: a valid session or API token from the
/// `Authorization: Bearer` header or the session cookie, with the rights
/// they hold as of this request. What they may do is decided by
/// [`crate::authz`], inside the service.
pub struct Caller {
    pub principal: Principal,
    pub token: String,
}

/// Where a session token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenSource {
    Bearer,
    Cookie,
}

fn bearer_or_cookie(headers: &HeaderMap) -> Option<(String, TokenSource)> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| (token.trim().to_owned(), TokenSource::Bearer));
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| (value.to_owned(), TokenSource::Cookie))
}

/// The request's host, as routing sees it (lower case, no port).
fn request_host(parts: &Parts) -> String {
    parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.host())
        .map(picloud_shared::routing::normalise_host)
        .unwrap_or_default()
}

/// Cross-site request protection for cookie sessions. Besides
/// `SameSite=Strict`, a state-changing request authenticated by the cookie
/// must carry an `Origin` that is this server: the request's own Host, or
/// `PICLOUD_PUBLIC_BASE_URL`. Browsers send `Origin` on every such request;
/// Bearer requests (scripts, the CLI) are not affected.
fn same_origin(parts: &Parts, public_base_url: Option<&str>, admin_host: &AdminHost) -> bool {
    if parts.method.is_safe() {
        return true;
    }
    let Some(origin) = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    // The public URL counts only where it names a host that serves the
    // dashboard: with PICLOUD_ADMIN_HOST it may be the scripts' host.
    if public_base_url.is_some_and(|u| {
        let u = u.trim_end_matches('/');
        u.eq_ignore_ascii_case(origin)
            && u.split_once("://").is_some_and(|(_, host)| {
                admin_host.serves_dashboard(&picloud_shared::routing::normalise_host(host))
            })
    }) {
        return true;
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, h)| h);
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

impl<S> FromRequestParts<S> for Caller
where
    Arc<Manager>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let manager = Arc::<Manager>::from_ref(state);
        let unauthorized = || {
            ApiError::new(
                ErrorCode::Unauthorized,
                "sign in first: send Authorization: Bearer <token> or the session cookie",
            )
        };
        let (token, source) = bearer_or_cookie(&parts.headers).ok_or_else(unauthorized)?;
        if token.is_empty() || token.len() > 256 {
            return Err(unauthorized());
        }
        // The cookie session lives on the dashboard's host only
        // (PICLOUD_ADMIN_HOST); elsewhere a cookie is as good as none.
        if source == TokenSource::Cookie
            && !manager
                .config
                .admin_host
                .serves_dashboard(&request_host(parts))
        {
            return Err(unauthorized());
        }
        if source == TokenSource::Cookie
            && !same_origin(
                parts,
                manager.config.public_base_url.as_deref(),
                &manager.config.admin_host,
            )
        {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "a cookie-authenticated change needs an Origin header naming this server \
                 (or use Authorization: Bearer)",
            ));
        }
        match manager.authenticate(&token).await? {
            Some(principal) => Ok(Caller { principal, token }),
            None => Err(unauthorized()),
        }
    }
}

// ----- auth -----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

fn session_cookie(manager: &Manager, value: &str, max_age_secs: u64) -> HeaderValue {
    let secure = if manager.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}"
    );
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The client's address: behind `PICLOUD_TRUSTED_PROXIES` the one they
/// forwarded for, else the connection's peer. Unknown (`0.0.0.0`) when
/// neither is available.
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // The connection layer's answer (behind trusted proxies, the real
        // client), else the TCP peer.
        let ip = match parts.extensions.get::<ClientIp>() {
            Some(client) => client.0,
            None => parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        };
        Ok(ClientAddr(ip))
    }
}

/// The request's host (lower case, no port).
pub struct RequestHost(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestHost {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestHost(request_host(parts)))
    }
}

/// A new session.
#[derive(Serialize, ToSchema)]
struct LoginAnswer {
    /// A session token (`pcs_...`), for `Authorization: Bearer`.
    token: String,
    /// When the session ends unless it is used (the lifetime slides).
    #[schema(format = DateTime)]
    expires_at: String,
    user: User,
}

/// Signs in: a session token, also set as the session cookie.
#[utoipa::path(
    post,
    path = "/admin/auth/login",
    tag = "auth",
    security(()),
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in; the token is also set as the HttpOnly session cookie",
            body = LoginAnswer, headers(("set-cookie" = String, description = "The session cookie (on a host that serves the dashboard)"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 429, response = TooManyAttempts),
    )
)]
async fn login(
    State(m): State<Arc<Manager>>,
    ClientAddr(addr): ClientAddr,
    host: RequestHost,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    let (token, expires_at, user) = m.login(&body.username, &body.password, addr).await?;
    let expires_at = picloud_shared::timestamp::format(expires_at);
    // The cookie is set only where the dashboard is served: elsewhere the
    // host's pages are scripts' (PICLOUD_ADMIN_HOST).
    let cookie = m
        .config
        .admin_host
        .serves_dashboard(&host.0)
        .then(|| session_cookie(&m, &token, m.config.session_ttl.as_secs()));
    let body = LoginAnswer {
        token,
        expires_at,
        user,
    };
    let mut response = Json(body).into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// Signs out: the token stops working and the cookie is cleared.
#[utoipa::path(
    post,
    path = "/admin/auth/logout",
    tag = "auth",
    responses(
        (status = 204, description = "Signed out", headers(("set-cookie" = String, description = "Clears the session cookie"))),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
async fn logout(State(m): State<Arc<Manager>>, caller: Caller) -> ApiResult<Response> {
    m.logout(&caller.token).await?;
    let cookie = session_cookie(&m, "", 0);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// `GET /auth/me`.
#[derive(Serialize, ToSchema)]
struct MeAnswer {
    user: User,
    roles: Vec<Grant>,
}

/// The caller and their per-app roles (an instance admin has every right
/// in every app besides the roles listed).
#[utoipa::path(
    get,
    path = "/admin/auth/me",
    tag = "auth",
    responses(
        (status = 200, body = MeAnswer),
        (status = 401, response = Unauthorized),
    )
)]
async fn me(caller: Caller) -> Json<MeAnswer> {
    let p = caller.principal;
    Json(MeAnswer {
        user: p.user,
        roles: p.grants,
    })
}

// ----- scripts -----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateScriptBody {
    #[schema(value_type = ScriptName)]
    name: String,
    source: String,
    /// An app id or name; absent: `default`.
    app: Option<String>,
    description: Option<String>,
    sandbox: Option<SandboxOverrides>,
    /// Kept with version 1 in the script's history (at most 1 KiB).
    message: Option<String>,
}

fn parse_name(name: &str) -> ApiResult<ScriptName> {
    ScriptName::parse(name).map_err(|e| ApiError::new(ErrorCode::InvalidName, e.to_string()))
}

/// Compiles and stores a new script (version 1).
#[utoipa::path(
    post,
    path = "/admin/scripts",
    tag = "scripts",
    request_body = CreateScriptBody,
    responses(
        (status = 201, description = "Created", body = Script),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
async fn create_script(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateScriptBody>,
) -> ApiResult<(StatusCode, Json<Script>)> {
    let name = parse_name(&body.name)?;
    let script = m
        .create_script(
            &caller.principal,
            NewScript {
                name,
                source: body.source,
                app: body.app,
                description: body.description,
                sandbox: body.sandbox,
                message: body.message,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(script)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AppQuery {
    /// An app id or name; absent: every app the caller can see.
    app: Option<String>,
}

/// The scripts, each with what its executions add up to.
#[utoipa::path(
    get,
    path = "/admin/scripts",
    tag = "scripts",
    params(AppQuery),
    responses(
        (status = 200, body = Items<ScriptSummary>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn list_scripts(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AppQuery>,
) -> ApiResult<Json<Items<ScriptSummary>>> {
    let list = m.scripts(&caller.principal, q.app.as_deref()).await?;
    Ok(items(
        list.into_iter()
            .map(|(script, stats)| ScriptSummary { script, stats })
            .collect(),
    ))
}

/// An item of `GET /scripts`: the script and what its executions add up to.
#[derive(Serialize, ToSchema)]
struct ScriptSummary {
    #[serde(flatten)]
    script: Script,
    stats: ScriptStats,
}

#[utoipa::path(
    get,
    path = "/admin/scripts/{id}",
    tag = "scripts",
    params(("id" = ScriptId, Path, description = "The script's id")),
    responses(
        (status = 200, body = Script),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn get_script(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
) -> ApiResult<Json<Script>> {
    Ok(Json(m.script(&caller.principal, id).await?))
}

/// At least one of the fields (`minProperties: 1` is set in
/// [`crate::openapi::document`]: utoipa 5's `min_properties` writes
/// `maxProperties`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateScriptBody {
    source: Option<String>,
    description: Option<String>,
    sandbox: Option<SandboxOverrides>,
    /// Kept with the new version in the script's history (at most 1 KiB).
    message: Option<String>,
}

/// Changes a script: a new version, live for the next request.
#[utoipa::path(
    put,
    path = "/admin/scripts/{id}",
    tag = "scripts",
    params(("id" = ScriptId, Path, description = "The script's id")),
    request_body = UpdateScriptBody,
    responses(
        (status = 200, description = "The new version", body = Script),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
async fn update_script(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
    ApiJson(body): ApiJson<UpdateScriptBody>,
) -> ApiResult<Json<Script>> {
    if body.source.is_none() && body.description.is_none() && body.sandbox.is_none() {
        return Err(ApiError::bad_request(
            "nothing to change: send any of source, description, sandbox",
        ));
    }
    let script = m
        .update_script(
            &caller.principal,
            id,
            ScriptChange {
                source: body.source,
                description: body.description,
                sandbox: body.sandbox,
                message: body.message,
            },
        )
        .await?;
    Ok(Json(script))
}

/// A script's saved versions, newest first, without their sources: up to
/// `PICLOUD_SCRIPT_HISTORY` of them, the live one always.
#[utoipa::path(
    get,
    path = "/admin/scripts/{id}/versions",
    tag = "scripts",
    params(("id" = ScriptId, Path, description = "The script's id")),
    responses(
        (status = 200, body = Items<ScriptVersionSummary>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn list_script_versions(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
) -> ApiResult<Json<Items<ScriptVersionSummary>>> {
    Ok(items(m.script_versions(&caller.principal, id).await?))
}

/// One saved version of a script, with its source.
#[utoipa::path(
    get,
    path = "/admin/scripts/{id}/versions/{version}",
    tag = "scripts",
    params(
        ("id" = ScriptId, Path, description = "The script's id"),
        ("version" = i64, Path, minimum = 1, description = "The version's number"),
    ),
    responses(
        (status = 200, body = ScriptVersion),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn get_script_version(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((id, version)): ApiPath<(ScriptId, String)>,
) -> ApiResult<Json<ScriptVersion>> {
    let version = history::parse_version(&version)?;
    Ok(Json(
        m.script_version(&caller.principal, id, version).await?,
    ))
}

/// Deletes a script, its routes and its triggers.
#[utoipa::path(
    delete,
    path = "/admin/scripts/{id}",
    tag = "scripts",
    params(("id" = ScriptId, Path, description = "The script's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn delete_script(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
) -> ApiResult<StatusCode> {
    m.delete_script(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ExecutionsQuery {
    /// How many, newest first (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Only executions that ended so (`ok`, `error`, `timeout`, `limit_exceeded`).
    #[param(value_type = Option<ExecStatus>)]
    status: Option<String>,
    /// Only the executions of one request: the `picloud-request-id` header
    /// of a data-plane answer.
    #[param(value_type = Option<RequestId>)]
    request_id: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct UsageQuery {
    /// `hour` (60 points, a minute each; the default) or `day` (96 points,
    /// a quarter of an hour each).
    window: Option<String>,
}

/// What a script's executions used over the last hour or day, point by
/// point: executions, errors, and percentiles of duration and Rhai
/// operations. Every step of the window has a point.
#[utoipa::path(
    get,
    path = "/admin/scripts/{id}/usage",
    tag = "scripts",
    params(("id" = ScriptId, Path, description = "The script's id"), UsageQuery),
    responses(
        (status = 200, body = UsageSeries),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn script_usage(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> ApiResult<Json<UsageSeries>> {
    let window = match q.window.as_deref() {
        None | Some("") => Window::Hour,
        Some(w) => Window::parse(w).ok_or_else(|| {
            ApiError::bad_request(format!("window must be hour or day, not {w:?}"))
        })?,
    };
    Ok(Json(m.usage(&caller.principal, id, window).await?))
}

/// One execution record.
#[utoipa::path(
    get,
    path = "/admin/executions/{id}",
    tag = "executions",
    params(("id" = String, Path, description = "The execution's id")),
    responses(
        (status = 200, body = ExecutionRecord),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn get_execution(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ExecutionId>,
) -> ApiResult<Json<ExecutionRecord>> {
    Ok(Json(m.execution(&caller.principal, id).await?))
}

/// Runs an execution again with the request (or event) it was given,
/// against the live version of its script or `version`; a dry run unless
/// `"dry_run": false` (KV writes discarded, no triggers fired, outbound
/// calls not sent). The replay is recorded, naming the original. The
/// body may be left out.
#[utoipa::path(
    post,
    path = "/admin/executions/{id}/replay",
    tag = "executions",
    params(("id" = String, Path, description = "The execution's id")),
    request_body = ReplayOptions,
    responses(
        (status = 200, body = Replay),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
async fn replay_execution(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ExecutionId>,
    ApiJsonOrDefault(options): ApiJsonOrDefault<ReplayOptions>,
) -> ApiResult<Json<Replay>> {
    Ok(Json(m.replay(&caller.principal, id, options).await?))
}

/// Executions listed per page at most.
pub const MAX_EXECUTIONS_LIMIT: u32 = 1000;

/// A script's recent executions, newest first, with their logs.
#[utoipa::path(
    get,
    path = "/admin/scripts/{id}/executions",
    tag = "scripts",
    params(("id" = ScriptId, Path, description = "The script's id"), ExecutionsQuery),
    responses(
        (status = 200, body = Items<ExecutionRecord>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn list_executions(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
    ApiQuery(q): ApiQuery<ExecutionsQuery>,
) -> ApiResult<Json<Items<ExecutionRecord>>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_EXECUTIONS_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_EXECUTIONS_LIMIT}"
        )));
    }
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(ExecStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status must be one of ok, error, timeout, limit_exceeded, not {s:?}"
            ))
        })?),
    };
    let request_id = match q.request_id.as_deref() {
        None | Some("") => None,
        Some(r) => Some(RequestId(uuid::Uuid::parse_str(r).map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidId,
                format!("request_id {r:?} is not a UUID"),
            )
        })?)),
    };
    let filter = ExecutionFilter { status, request_id };
    Ok(items(
        m.executions(&caller.principal, id, limit, &filter).await?,
    ))
}

// ----- apps -----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateAppBody {
    /// The same rules as script names.
    #[schema(value_type = ScriptName)]
    name: String,
    description: Option<String>,
}

/// Creates an app (instance admins only).
#[utoipa::path(
    post,
    path = "/admin/apps",
    tag = "apps",
    request_body = CreateAppBody,
    responses(
        (status = 201, description = "Created", body = App),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
async fn create_app(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateAppBody>,
) -> ApiResult<(StatusCode, Json<App>)> {
    let app = m
        .create_app(&caller.principal, &body.name, body.description)
        .await?;
    Ok((StatusCode::CREATED, Json(app)))
}

/// The apps the caller has a role in (every app, for an instance admin).
#[utoipa::path(
    get,
    path = "/admin/apps",
    tag = "apps",
    responses(
        (status = 200, body = Items<App>),
        (status = 401, response = Unauthorized),
    )
)]
async fn list_apps(State(m): State<Arc<Manager>>, caller: Caller) -> ApiResult<Json<Items<App>>> {
    Ok(items(m.apps(&caller.principal).await?))
}

#[utoipa::path(
    get,
    path = "/admin/apps/{app}",
    tag = "apps",
    params(("app" = String, Path, description = "An app id or name", example = "default")),
    responses(
        (status = 200, body = App),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn get_app(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<App>> {
    Ok(Json(m.app(&caller.principal, &app).await?))
}

/// Changes an app's description and which of its requests are kept with
/// their execution records for replay (editors; fields left out stay).
#[utoipa::path(
    patch,
    path = "/admin/apps/{app}",
    tag = "apps",
    params(("app" = String, Path, description = "An app id or name", example = "default")),
    request_body = AppUpdate,
    responses(
        (status = 200, body = App),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
async fn update_app(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
    ApiJson(body): ApiJson<AppUpdate>,
) -> ApiResult<Json<App>> {
    Ok(Json(m.update_app(&caller.principal, &app, body).await?))
}

/// Deletes an app and everything it owns (not `default`).
#[utoipa::path(
    delete,
    path = "/admin/apps/{app}",
    tag = "apps",
    params(("app" = String, Path, description = "An app id or name", example = "default")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
async fn delete_app(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<StatusCode> {
    m.delete_app(&caller.principal, &app).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- domains -----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ClaimBody {
    /// `api.example.com` or `{tenant}.example.com`.
    pattern: String,
}

/// Claims a domain pattern for the app.
#[utoipa::path(
    post,
    path = "/admin/apps/{app}/domains",
    tag = "apps",
    params(("app" = String, Path, description = "An app id or name", example = "default")),
    request_body = ClaimBody,
    responses(
        (status = 201, description = "Claimed", body = Domain),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
async fn claim_domain(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
    ApiJson(body): ApiJson<ClaimBody>,
) -> ApiResult<(StatusCode, Json<Domain>)> {
    let domain = m
        .claim_domain(&caller.principal, &app, &body.pattern)
        .await?;
    Ok((StatusCode::CREATED, Json(domain)))
}

#[utoipa::path(
    get,
    path = "/admin/apps/{app}/domains",
    tag = "apps",
    params(("app" = String, Path, description = "An app id or name", example = "default")),
    responses(
        (status = 200, body = Items<Domain>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn list_domains(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<Items<Domain>>> {
    Ok(items(m.domains(&caller.principal, &app).await?))
}

/// Releases a domain claim.
#[utoipa::path(
    delete,
    path = "/admin/apps/{app}/domains/{id}",
    tag = "apps",
    params(("app" = String, Path, description = "An app id or name", example = "default"), ("id" = DomainId, Path, description = "The claim's id")),
    responses(
        (status = 204, description = "Released"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn release_domain(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, id)): ApiPath<(String, DomainId)>,
) -> ApiResult<StatusCode> {
    m.release_domain(&caller.principal, &app, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- routes -----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateRouteBody {
    /// `/users/:id`, `/files/*rest`, ...
    #[schema(pattern = "^/")]
    path: String,
    /// HTTP methods; absent: any method.
    methods: Option<Vec<String>>,
}

fn route_error(e: RouteError) -> ApiError {
    match e {
        RouteError::Conflict(RouteConflict(conflicts)) => {
            let list = conflicts
                .iter()
                .map(|c| match &c.methods {
                    Some(m) => format!("{} {}", m.join(","), c.path),
                    None => format!("any {}", c.path),
                })
                .collect::<Vec<_>>()
                .join("; ");
            ApiError::new(
                ErrorCode::RouteConflict,
                format!("a route of the same shape answers an overlapping method: {list}"),
            )
            .with("conflicts", json!(conflicts))
        }
        RouteError::Other(e) => e.into(),
    }
}

/// Routes a path pattern of the script's app to the script.
#[utoipa::path(
    post,
    path = "/admin/scripts/{id}/routes",
    tag = "routes",
    params(("id" = ScriptId, Path, description = "The script's id")),
    request_body = CreateRouteBody,
    responses(
        (status = 201, description = "Created", body = Route),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
async fn create_route(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
    ApiJson(body): ApiJson<CreateRouteBody>,
) -> ApiResult<(StatusCode, Json<Route>)> {
    let route = m
        .create_route(&caller.principal, id, &body.path, body.methods)
        .await
        .map_err(route_error)?;
    Ok((StatusCode::CREATED, Json(route)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CheckRouteBody {
    /// An app id or name; absent: `default`.
    app: Option<String>,
    path: String,
    methods: Option<Vec<String>>,
}

/// Whether a route could be added: its conflicts, or why the path is refused.
#[utoipa::path(
    post,
    path = "/admin/routes/check",
    tag = "routes",
    request_body = CheckRouteBody,
    responses(
        (status = 200, body = RouteCheck),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
async fn check_route(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiJson(body): ApiJson<CheckRouteBody>,
) -> ApiResult<Json<RouteCheck>> {
    Ok(Json(
        m.check_route(
            &caller.principal,
            body.app.as_deref(),
            &body.path,
            body.methods,
        )
        .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/admin/routes",
    tag = "routes",
    params(AppQuery),
    responses(
        (status = 200, body = Items<Route>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn list_routes(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AppQuery>,
) -> ApiResult<Json<Items<Route>>> {
    Ok(items(m.routes(&caller.principal, q.app.as_deref()).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct MatchQuery {
    /// The request's Host; absent: the `default` app.
    host: Option<String>,
    /// Absent: `GET`.
    method: Option<String>,
    path: String,
}

/// Where a request would go.
#[utoipa::path(
    get,
    path = "/admin/routes/match",
    tag = "routes",
    params(MatchQuery),
    responses(
        (status = 200, body = RouteLookup),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn match_route(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<MatchQuery>,
) -> ApiResult<Json<RouteLookup>> {
    Ok(Json(m.match_route(
        &caller.principal,
        q.host.as_deref().unwrap_or(""),
        q.method.as_deref().unwrap_or("GET"),
        &q.path,
    )?))
}

#[utoipa::path(
    delete,
    path = "/admin/routes/{id}",
    tag = "routes",
    params(("id" = RouteId, Path, description = "The route's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn delete_route(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<RouteId>,
) -> ApiResult<StatusCode> {
    m.delete_route(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- users -----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateUserBody {
    #[schema(pattern = "^[A-Za-z0-9_.@-]{1,64}$")]
    username: String,
    /// 8 characters to 1024 bytes.
    #[schema(min_length = 8)]
    password: String,
    role: UserRole,
}

/// Creates a user (instance admins only).
#[utoipa::path(
    post,
    path = "/admin/users",
    tag = "users",
    request_body = CreateUserBody,
    responses(
        (status = 201, description = "Created", body = User),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
async fn create_user(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateUserBody>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let user = m
        .create_user(&caller.principal, &body.username, &body.password, body.role)
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Every user (instance admins only).
#[utoipa::path(
    get,
    path = "/admin/users",
    tag = "users",
    responses(
        (status = 200, body = Items<User>),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    )
)]
async fn list_users(State(m): State<Arc<Manager>>, caller: Caller) -> ApiResult<Json<Items<User>>> {
    Ok(items(m.users(&caller.principal).await?))
}

/// Deletes a user (instance admins only; not the last admin).
#[utoipa::path(
    delete,
    path = "/admin/users/{id}",
    tag = "users",
    params(("id" = UserId, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
async fn delete_user(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    m.delete_user(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- API tokens -----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateTokenBody {
    #[schema(min_length = 1, max_length = 64)]
    name: String,
    /// Absent: the token does not expire.
    #[schema(minimum = 1, maximum = 3650)]
    expires_in_days: Option<u32>,
}

/// A new API token, with its secret (shown this once).
#[derive(Serialize, ToSchema)]
struct CreatedToken {
    #[serde(flatten)]
    info: ApiToken,
    /// The secret (`pct_...`), for `Authorization: Bearer`. Only its hash
    /// is kept: it is never shown again.
    token: String,
}

/// Creates an API token acting as the caller.
#[utoipa::path(
    post,
    path = "/admin/tokens",
    tag = "tokens",
    request_body = CreateTokenBody,
    responses(
        (status = 201, description = "Created", body = CreatedToken),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
async fn create_token(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateTokenBody>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let (info, token) = m
        .create_api_token(&caller.principal, &body.name, body.expires_in_days)
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { info, token })))
}

/// The caller's API tokens (never their secrets).
#[utoipa::path(
    get,
    path = "/admin/tokens",
    tag = "tokens",
    responses(
        (status = 200, body = Items<ApiToken>),
        (status = 401, response = Unauthorized),
    )
)]
async fn list_tokens(
    State(m): State<Arc<Manager>>,
    caller: Caller,
) -> ApiResult<Json<Items<ApiToken>>> {
    Ok(items(m.api_tokens(&caller.principal).await?))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(
    delete,
    path = "/admin/tokens/{id}",
    tag = "tokens",
    params(("id" = uuid::Uuid, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn revoke_token(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> ApiResult<StatusCode> {
    m.revoke_api_token(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- members -----

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MemberBody {
    /// A user id or username.
    user_id: String,
    role: AppRole,
}

/// Adds a member (201) or changes a member's role (200).
#[utoipa::path(
    post,
    path = "/admin/apps/{app}/members",
    tag = "members",
    params(("app" = String, Path, description = "An app id or name", example = "default")),
    request_body = MemberBody,
    responses(
        (status = 200, description = "The member's role changed", body = Member),
        (status = 201, description = "Added", body = Member),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
async fn set_member(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
    ApiJson(body): ApiJson<MemberBody>,
) -> ApiResult<(StatusCode, Json<Member>)> {
    let (member, created) = m
        .set_member(&caller.principal, &app, &body.user_id, body.role)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(member)))
}

#[utoipa::path(
    get,
    path = "/admin/apps/{app}/members",
    tag = "members",
    params(("app" = String, Path, description = "An app id or name", example = "default")),
    responses(
        (status = 200, body = Items<Member>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn list_members(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<Items<Member>>> {
    Ok(items(m.members(&caller.principal, &app).await?))
}

/// Removes a member (not the app's last owner).
#[utoipa::path(
    delete,
    path = "/admin/apps/{app}/members/{user}",
    tag = "members",
    params(("app" = String, Path, description = "An app id or name", example = "default"), ("user" = UserId, Path, description = "The member's user id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
async fn remove_member(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, user)): ApiPath<(String, UserId)>,
) -> ApiResult<StatusCode> {
    m.remove_member(&caller.principal, &app, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- KV -----

/// The app's KV collections and their sizes.
#[utoipa::path(
    get,
    path = "/admin/apps/{app}/kv",
    tag = "kv",
    params(("app" = String, Path, description = "An app id or name", example = "default")),
    responses(
        (status = 200, body = Items<KvCollection>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn kv_collections(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<Items<KvCollection>>> {
    Ok(items(m.kv_collections(&caller.principal, &app).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct KvPageQuery {
    /// The `cursor` of the previous page; absent: the first page.
    cursor: Option<String>,
    /// Keys per page (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Only keys that start with this.
    prefix: Option<String>,
}

/// A page of a collection's keys, ascending.
#[utoipa::path(
    get,
    path = "/admin/apps/{app}/kv/{collection}",
    tag = "kv",
    params(("app" = String, Path, description = "An app id or name", example = "default"), ("collection" = String, Path, description = "A collection name", pattern = "^[A-Za-z0-9_.-]{1,64}$"), KvPageQuery),
    responses(
        (status = 200, body = KvPage),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn kv_page(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, collection)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<KvPageQuery>,
) -> ApiResult<Json<KvPage>> {
    let options = KvListOptions {
        cursor: q.cursor,
        limit: q.limit,
        prefix: q.prefix,
    };
    Ok(Json(
        m.kv_page(&caller.principal, &app, &collection, &options)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/admin/apps/{app}/kv/{collection}/{key}",
    tag = "kv",
    params(("app" = String, Path, description = "An app id or name", example = "default"), ("collection" = String, Path, description = "A collection name", pattern = "^[A-Za-z0-9_.-]{1,64}$"), ("key" = String, Path, description = "A key: 1 to 512 bytes of UTF-8", min_length = 1)),
    responses(
        (status = 200, body = KvItem),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn kv_get(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, collection, key)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<KvItem>> {
    Ok(Json(
        m.kv_get(&caller.principal, &app, &collection, &key).await?,
    ))
}

/// The body is the value itself, any JSON. 201 when the key is new.
#[utoipa::path(
    put,
    path = "/admin/apps/{app}/kv/{collection}/{key}",
    tag = "kv",
    params(("app" = String, Path, description = "An app id or name", example = "default"), ("collection" = String, Path, description = "A collection name", pattern = "^[A-Za-z0-9_.-]{1,64}$"), ("key" = String, Path, description = "A key: 1 to 512 bytes of UTF-8", min_length = 1)),
    request_body(content = serde_json::Value, description = "The value: any JSON"),
    responses(
        (status = 200, description = "Replaced", body = KvItem),
        (status = 201, description = "Created", body = KvItem),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
async fn kv_put(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, collection, key)): ApiPath<(String, String, String)>,
    ApiJson(value): ApiJson<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<KvItem>)> {
    let (item, created) = m
        .kv_put(&caller.principal, &app, &collection, &key, value)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(item)))
}

#[utoipa::path(
    delete,
    path = "/admin/apps/{app}/kv/{collection}/{key}",
    tag = "kv",
    params(("app" = String, Path, description = "An app id or name", example = "default"), ("collection" = String, Path, description = "A collection name", pattern = "^[A-Za-z0-9_.-]{1,64}$"), ("key" = String, Path, description = "A key: 1 to 512 bytes of UTF-8", min_length = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn kv_delete(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, collection, key)): ApiPath<(String, String, String)>,
) -> ApiResult<StatusCode> {
    m.kv_delete(&caller.principal, &app, &collection, &key)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- releases -----

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewReleaseBody {
    /// Why (at most 1 KiB).
    message: Option<String>,
    /// `manual` (the default) or `deploy` (what `picloud deploy` sends).
    kind: Option<String>,
}

/// An app's releases, newest first, each with what it holds and what
/// changed since the one before.
#[utoipa::path(
    get,
    path = "/admin/apps/{app}/releases",
    tag = "releases",
    params(("app" = String, Path, description = "An app id or name", example = "default")),
    responses(
        (status = 200, body = Items<Release>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn list_releases(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<Items<Release>>> {
    Ok(items(m.releases(&caller.principal, &app).await?))
}

/// Makes a release of the app as it is now: 201. When the app is as its
/// newest release holds it, that release, 200.
#[utoipa::path(
    post,
    path = "/admin/apps/{app}/releases",
    tag = "releases",
    params(("app" = String, Path, description = "An app id or name", example = "default")),
    request_body = NewReleaseBody,
    responses(
        (status = 201, description = "A new release", body = Release),
        (status = 200, description = "Nothing changed since the newest release: it", body = Release),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
async fn create_release(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
    ApiJson(body): ApiJson<NewReleaseBody>,
) -> ApiResult<(StatusCode, Json<Release>)> {
    let kind = match body.kind.as_deref() {
        None | Some("manual") => ReleaseKind::Manual,
        Some("deploy") => ReleaseKind::Deploy,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "kind must be manual or deploy, not {other:?}"
            )));
        }
    };
    let (release, created) = m
        .create_release(&caller.principal, &app, kind, body.message)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(release)))
}

/// Makes the app match one of its releases (by id or number): its scripts
/// at the release's versions (each saved again as a new version), its
/// routes, domain claims and triggers, in one transaction; requests see
/// the app before or after, never a mix. Recorded as a new release (201).
/// When the app already matches the release: 200 and the newest release.
/// KV data and secrets are left as they are.
#[utoipa::path(
    post,
    path = "/admin/apps/{app}/releases/{release}/rollback",
    tag = "releases",
    params(
        ("app" = String, Path, description = "An app id or name", example = "default"),
        ("release" = String, Path, description = "The release's id or number"),
    ),
    responses(
        (status = 201, description = "Rolled back: the release that records it", body = Release),
        (status = 200, description = "The app already matches the release: the newest release", body = Release),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
async fn rollback_release(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, release)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, Json<Release>)> {
    let (release, done) = m.rollback(&caller.principal, &app, &release).await?;
    let status = if done {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(release)))
}

// ----- secrets -----

/// A secret's new value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretValue {
    /// At most 64 KiB of UTF-8. Never shown again by the API.
    pub value: String,
}

/// The names of an app's secrets, who set each and when: never the values.
#[utoipa::path(
    get,
    path = "/admin/apps/{app}/secrets",
    tag = "secrets",
    params(("app" = String, Path, description = "An app id or name", example = "default")),
    responses(
        (status = 200, description = "The app's secrets, by name (no values)", body = Items<crate::secrets::SecretInfo>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn secret_list(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<Items<crate::secrets::SecretInfo>>> {
    Ok(items(m.secret_list(&caller.principal, &app).await?))
}

/// Sets a secret (editors and owners). The answer never holds the value.
#[utoipa::path(
    put,
    path = "/admin/apps/{app}/secrets/{name}",
    tag = "secrets",
    params(("app" = String, Path, description = "An app id or name", example = "default"), ("name" = String, Path, description = "A secret name", pattern = "^[A-Z_][A-Z0-9_]{0,63}$")),
    request_body = SecretValue,
    responses(
        (status = 200, description = "Replaced", body = crate::secrets::SecretInfo),
        (status = 201, description = "Created", body = crate::secrets::SecretInfo),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
async fn secret_put(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<SecretValue>,
) -> ApiResult<(StatusCode, Json<crate::secrets::SecretInfo>)> {
    let (info, created) = m
        .secret_put(&caller.principal, &app, &name, &body.value)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(info)))
}

/// Deletes a secret (editors and owners).
#[utoipa::path(
    delete,
    path = "/admin/apps/{app}/secrets/{name}",
    tag = "secrets",
    params(("app" = String, Path, description = "An app id or name", example = "default"), ("name" = String, Path, description = "A secret name", pattern = "^[A-Z_][A-Z0-9_]{0,63}$")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn secret_delete(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, name)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    m.secret_delete(&caller.principal, &app, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- triggers and dead letters -----

/// Creates a KV or cron trigger.
#[utoipa::path(
    post,
    path = "/admin/apps/{app}/triggers",
    tag = "triggers",
    params(("app" = String, Path, description = "An app id or name", example = "default")),
    request_body = NewTrigger,
    responses(
        (status = 201, description = "Created", body = Trigger),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
async fn create_trigger(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
    ApiJson(body): ApiJson<NewTrigger>,
) -> ApiResult<(StatusCode, Json<Trigger>)> {
    let trigger = m.create_trigger(&caller.principal, &app, body).await?;
    Ok((StatusCode::CREATED, Json(trigger)))
}

#[utoipa::path(
    get,
    path = "/admin/apps/{app}/triggers",
    tag = "triggers",
    params(("app" = String, Path, description = "An app id or name", example = "default")),
    responses(
        (status = 200, body = Items<Trigger>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn list_triggers(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<Items<Trigger>>> {
    Ok(items(m.triggers(&caller.principal, &app).await?))
}

#[utoipa::path(
    delete,
    path = "/admin/triggers/{id}",
    tag = "triggers",
    params(("id" = TriggerId, Path, description = "The trigger's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn delete_trigger(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<TriggerId>,
) -> ApiResult<StatusCode> {
    m.delete_trigger(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Events that failed every attempt.
#[utoipa::path(
    get,
    path = "/admin/apps/{app}/dead-letters",
    tag = "triggers",
    params(("app" = String, Path, description = "An app id or name", example = "default")),
    responses(
        (status = 200, body = Items<DeadLetter>),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn list_dead_letters(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<Items<DeadLetter>>> {
    Ok(items(m.dead_letters(&caller.principal, &app).await?))
}

/// Puts the event back in the queue (202: it is delivered in the background).
#[utoipa::path(
    post,
    path = "/admin/dead-letters/{id}/retry",
    tag = "triggers",
    params(("id" = DeadLetterId, Path, description = "The dead letter's id")),
    responses(
        (status = 202, description = "Queued again"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn retry_dead_letter(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<DeadLetterId>,
) -> ApiResult<StatusCode> {
    m.retry_dead_letter(&caller.principal, id).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(
    delete,
    path = "/admin/dead-letters/{id}",
    tag = "triggers",
    params(("id" = DeadLetterId, Path, description = "The dead letter's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn delete_dead_letter(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<DeadLetterId>,
) -> ApiResult<StatusCode> {
    m.delete_dead_letter(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- audit -----

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// An app id or name; absent: every app the caller owns (everything,
    /// for an instance admin).
    app: Option<String>,
    /// Only entries older than this entry id (the next page).
    before: Option<uuid::Uuid>,
    /// How many, newest first (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Who changed what, newest first.
#[utoipa::path(
    get,
    path = "/admin/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, body = Items<AuditEntry>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn audit_log(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Items<AuditEntry>>> {
    let list: Vec<AuditEntry> = m
        .audit_log(
            &caller.principal,
            q.app.as_deref(),
            q.before,
            q.limit.unwrap_or(100),
        )
        .await?;
    Ok(items(list))
}
