//! The admin API (`/api/v1/admin/...`): the manager's HTTP surface. Handlers
//! parse, call the service, and shape the answer; the decisions live in
//! [`crate::service`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::{DomainId, RouteId, SandboxOverrides, Script, ScriptId, ScriptName, UserId};
use serde::Deserialize;
use serde_json::json;

use crate::auth::SESSION_COOKIE;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::repo::{App, Domain, Route, User, UserRole};
use crate::routes::{RouteCheck, RouteConflict, RouteError, RouteLookup};
use crate::service::{Manager, NewScript, ScriptChange};

type ApiResult<T> = Result<T, ApiError>;

/// The admin routes, relative to the API prefix (`/admin/...`).
pub fn admin_router(manager: Arc<Manager>) -> Router {
    Router::new()
        .route("/admin/auth/login", post(login))
        .route("/admin/auth/logout", post(logout))
        .route("/admin/auth/me", get(me))
        .route("/admin/scripts", post(create_script).get(list_scripts))
        .route(
            "/admin/scripts/{id}",
            get(get_script).put(update_script).delete(delete_script),
        )
        .route("/admin/scripts/{id}/executions", get(list_executions))
        .route("/admin/scripts/{id}/routes", post(create_route))
        .route("/admin/apps", post(create_app).get(list_apps))
        .route("/admin/apps/{app}", get(get_app).delete(delete_app))
        .route(
            "/admin/apps/{app}/domains",
            post(claim_domain).get(list_domains),
        )
        .route("/admin/apps/{app}/domains/{id}", delete(release_domain))
        .route("/admin/routes", get(list_routes))
        .route("/admin/routes/check", post(check_route))
        .route("/admin/routes/match", get(match_route))
        .route("/admin/routes/{id}", delete(delete_route))
        .route("/admin/users", post(create_user).get(list_users))
        .route("/admin/users/{id}", delete(delete_user))
        .route("/admin/tokens", post(create_token).get(list_tokens))
        .route("/admin/tokens/{id}", delete(revoke_token))
        .with_state(manager)
}

/// An authenticated caller: a valid session from the `Authorization: Bearer`
/// header or the session cookie.
pub struct Caller {
    pub user: User,
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

/// Cross-site request protection for cookie sessions. Besides
/// `SameSite=Strict`, a state-changing request authenticated by the cookie
/// must carry an `Origin` that is this server: the request's own Host, or
/// `PICLOUD_PUBLIC_BASE_URL`. Browsers send `Origin` on every such request;
/// Bearer requests (scripts, the CLI) are not affected.
fn same_origin(parts: &Parts, public_base_url: Option<&str>) -> bool {
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
    if public_base_url.is_some_and(|u| u.trim_end_matches('/').eq_ignore_ascii_case(origin)) {
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
        if source == TokenSource::Cookie
            && !same_origin(parts, manager.config.public_base_url.as_deref())
        {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "a cookie-authenticated change needs an Origin header naming this server \
                 (or use Authorization: Bearer)",
            ));
        }
        match manager.authenticate(&token).await? {
            Some(user) => Ok(Caller { user, token }),
            None => Err(unauthorized()),
        }
    }
}

/// A caller allowed to manage scripts. Until per-app roles arrive, that is
/// an instance admin; a `member` can sign in but gets 403 `forbidden` here.
pub struct ScriptManager(pub Caller);

impl<S> FromRequestParts<S> for ScriptManager
where
    Arc<Manager>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.user.role != UserRole::Admin {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "only instance admins can manage scripts until per-app roles are granted",
            ));
        }
        Ok(ScriptManager(caller))
    }
}

// ----- auth -----

#[derive(Deserialize)]
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

/// The client's address, from the connection (the server is run with
/// connect info). Unknown (`0.0.0.0`) when it is not available.
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        ))
    }
}

async fn login(
    State(m): State<Arc<Manager>>,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    let (token, expires_at, user) = m.login(&body.username, &body.password, addr).await?;
    let cookie = session_cookie(&m, &token, m.config.session_ttl.as_secs());
    let expires = expires_at
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(ApiError::internal)?;
    let body = json!({ "token": token, "expires_at": expires, "user": user });
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

async fn logout(State(m): State<Arc<Manager>>, caller: Caller) -> ApiResult<Response> {
    m.logout(&caller.token).await?;
    let cookie = session_cookie(&m, "", 0);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

async fn me(caller: Caller) -> Json<serde_json::Value> {
    // Per-app roles arrive with memberships; an instance admin has every right.
    Json(json!({ "user": caller.user, "roles": [] }))
}

// ----- scripts -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateScriptBody {
    name: String,
    source: String,
    app: Option<String>,
    description: Option<String>,
    sandbox: Option<SandboxOverrides>,
}

fn parse_name(name: &str) -> ApiResult<ScriptName> {
    ScriptName::parse(name).map_err(|e| ApiError::new(ErrorCode::InvalidName, e.to_string()))
}

async fn create_script(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiJson(body): ApiJson<CreateScriptBody>,
) -> ApiResult<(StatusCode, Json<Script>)> {
    let name = parse_name(&body.name)?;
    let script = m
        .create_script(NewScript {
            name,
            source: body.source,
            app: body.app,
            description: body.description,
            sandbox: body.sandbox,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(script)))
}

#[derive(Deserialize)]
struct AppQuery {
    app: Option<String>,
}

async fn list_scripts(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiQuery(q): ApiQuery<AppQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let items = m.scripts(q.app.as_deref()).await?;
    Ok(Json(json!({ "items": items })))
}

async fn get_script(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiPath(id): ApiPath<ScriptId>,
) -> ApiResult<Json<Script>> {
    Ok(Json(m.script(id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateScriptBody {
    source: Option<String>,
    description: Option<String>,
    sandbox: Option<SandboxOverrides>,
}

async fn update_script(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
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
            id,
            ScriptChange {
                source: body.source,
                description: body.description,
                sandbox: body.sandbox,
            },
        )
        .await?;
    Ok(Json(script))
}

async fn delete_script(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiPath(id): ApiPath<ScriptId>,
) -> ApiResult<StatusCode> {
    m.delete_script(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecutionsQuery {
    limit: Option<u32>,
}

/// Executions listed per page at most.
pub const MAX_EXECUTIONS_LIMIT: u32 = 1000;

async fn list_executions(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiPath(id): ApiPath<ScriptId>,
    ApiQuery(q): ApiQuery<ExecutionsQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_EXECUTIONS_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_EXECUTIONS_LIMIT}"
        )));
    }
    let items = m.executions(id, limit).await?;
    Ok(Json(json!({ "items": items })))
}

// ----- apps -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateAppBody {
    name: String,
    description: Option<String>,
}

async fn create_app(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiJson(body): ApiJson<CreateAppBody>,
) -> ApiResult<(StatusCode, Json<App>)> {
    let app = m.create_app(&body.name, body.description).await?;
    Ok((StatusCode::CREATED, Json(app)))
}

async fn list_apps(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(json!({ "items": m.apps().await? })))
}

async fn get_app(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<App>> {
    Ok(Json(m.resolve_app(Some(&app)).await?))
}

async fn delete_app(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<StatusCode> {
    m.delete_app(&app).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- domains -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimBody {
    pattern: String,
}

async fn claim_domain(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiPath(app): ApiPath<String>,
    ApiJson(body): ApiJson<ClaimBody>,
) -> ApiResult<(StatusCode, Json<Domain>)> {
    let domain = m.claim_domain(&app, &body.pattern).await?;
    Ok((StatusCode::CREATED, Json(domain)))
}

async fn list_domains(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(json!({ "items": m.domains(&app).await? })))
}

async fn release_domain(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiPath((app, id)): ApiPath<(String, DomainId)>,
) -> ApiResult<StatusCode> {
    m.release_domain(&app, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- routes -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRouteBody {
    path: String,
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

async fn create_route(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiPath(id): ApiPath<ScriptId>,
    ApiJson(body): ApiJson<CreateRouteBody>,
) -> ApiResult<(StatusCode, Json<Route>)> {
    let route = m
        .create_route(id, &body.path, body.methods)
        .await
        .map_err(route_error)?;
    Ok((StatusCode::CREATED, Json(route)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRouteBody {
    app: Option<String>,
    path: String,
    methods: Option<Vec<String>>,
}

async fn check_route(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiJson(body): ApiJson<CheckRouteBody>,
) -> ApiResult<Json<RouteCheck>> {
    Ok(Json(
        m.check_route(body.app.as_deref(), &body.path, body.methods)
            .await?,
    ))
}

async fn list_routes(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiQuery(q): ApiQuery<AppQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(json!({ "items": m.routes(q.app.as_deref()).await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchQuery {
    host: Option<String>,
    method: Option<String>,
    path: String,
}

async fn match_route(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiQuery(q): ApiQuery<MatchQuery>,
) -> ApiResult<Json<RouteLookup>> {
    Ok(Json(m.match_route(
        q.host.as_deref().unwrap_or(""),
        q.method.as_deref().unwrap_or("GET"),
        &q.path,
    )?))
}

async fn delete_route(
    State(m): State<Arc<Manager>>,
    _caller: ScriptManager,
    ApiPath(id): ApiPath<RouteId>,
) -> ApiResult<StatusCode> {
    m.delete_route(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- users -----

/// A caller who is an instance admin (users are theirs alone).
pub struct InstanceAdmin(pub Caller);

impl<S> FromRequestParts<S> for InstanceAdmin
where
    Arc<Manager>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.user.role != UserRole::Admin {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "only instance admins can manage users",
            ));
        }
        Ok(InstanceAdmin(caller))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUserBody {
    username: String,
    password: String,
    role: UserRole,
}

async fn create_user(
    State(m): State<Arc<Manager>>,
    _caller: InstanceAdmin,
    ApiJson(body): ApiJson<CreateUserBody>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let user = m
        .create_user(&body.username, &body.password, body.role)
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

async fn list_users(
    State(m): State<Arc<Manager>>,
    _caller: InstanceAdmin,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(json!({ "items": m.users().await? })))
}

async fn delete_user(
    State(m): State<Arc<Manager>>,
    _caller: InstanceAdmin,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    m.delete_user(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- API tokens -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTokenBody {
    name: String,
    expires_in_days: Option<u32>,
}

async fn create_token(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateTokenBody>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let (token, secret) = m
        .create_api_token(caller.user.id, &body.name, body.expires_in_days)
        .await?;
    let mut answer = serde_json::to_value(&token).map_err(ApiError::internal)?;
    answer["token"] = json!(secret);
    Ok((StatusCode::CREATED, Json(answer)))
}

async fn list_tokens(
    State(m): State<Arc<Manager>>,
    caller: Caller,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        json!({ "items": m.api_tokens(caller.user.id).await? }),
    ))
}

async fn revoke_token(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> ApiResult<StatusCode> {
    m.revoke_api_token(caller.user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
