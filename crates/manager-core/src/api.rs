//! The admin API (`/api/v1/admin/...`): the manager's HTTP surface. Handlers
//! parse, call the service, and shape the answer; the decisions live in
//! [`crate::service`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::kv::{KvListOptions, KvPage};
use picloud_shared::{
    DeadLetterId, DomainId, ExecStatus, RequestId, RouteId, SandboxOverrides, Script, ScriptId,
    ScriptName, TriggerId, UserId,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::AuditEntry;
use crate::auth::SESSION_COOKIE;
use crate::authz::{AppRole, Principal};
use crate::events::{NewTrigger, Trigger};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::kv::KvItem;
use crate::members::Member;
use crate::repo::{App, Domain, ExecutionFilter, Route, ScriptStats, User, UserRole};
use crate::routes::{RouteCheck, RouteConflict, RouteError, RouteLookup};
use crate::service::{Manager, NewScript, ScriptChange};

type ApiResult<T> = Result<T, ApiError>;

/// Declares the admin endpoints once: the router is built from the list,
/// and [`ADMIN_ENDPOINTS`] names every one of them, so the role-table test
/// fails for an endpoint it does not cover.
macro_rules! admin_routes {
    ($($method:ident $path:literal => $handler:ident,)*) => {
        /// Every admin endpoint: `(method, path)`, the path relative to the
        /// API prefix (`/api/v1`).
        pub const ADMIN_ENDPOINTS: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// The admin routes, relative to the API prefix (`/admin/...`).
        pub fn admin_router(manager: Arc<Manager>) -> Router {
            Router::new()
                $(.route($path, $method($handler)))*
                .with_state(manager)
        }
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
    get "/admin/scripts/{id}/executions" => list_executions,
    post "/admin/scripts/{id}/routes" => create_route,
    post "/admin/apps" => create_app,
    get "/admin/apps" => list_apps,
    get "/admin/apps/{app}" => get_app,
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
            Some(principal) => Ok(Caller { principal, token }),
            None => Err(unauthorized()),
        }
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

/// The caller and their per-app roles (an instance admin has every right
/// in every app besides the roles listed).
async fn me(caller: Caller) -> Json<serde_json::Value> {
    let p = caller.principal;
    Json(json!({ "user": p.user, "roles": p.grants }))
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
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(script)))
}

#[derive(Deserialize)]
struct AppQuery {
    app: Option<String>,
}

async fn list_scripts(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AppQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let scripts = m.scripts(&caller.principal, q.app.as_deref()).await?;
    let mut stats = m.script_stats(&caller.principal, q.app.as_deref()).await?;
    let items: Vec<ScriptSummary> = scripts
        .into_iter()
        .map(|script| ScriptSummary {
            stats: stats.remove(&script.id).unwrap_or_default(),
            script,
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// An item of `GET /scripts`: the script and what its executions add up to.
#[derive(Serialize)]
struct ScriptSummary {
    #[serde(flatten)]
    script: Script,
    stats: ScriptStats,
}

async fn get_script(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
) -> ApiResult<Json<Script>> {
    Ok(Json(m.script(&caller.principal, id).await?))
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
            },
        )
        .await?;
    Ok(Json(script))
}

async fn delete_script(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
) -> ApiResult<StatusCode> {
    m.delete_script(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecutionsQuery {
    limit: Option<u32>,
    /// Only executions that ended so (`ok`, `error`, `timeout`, `limit_exceeded`).
    status: Option<String>,
    /// Only the executions of one request: the `picloud-request-id` header
    /// of a data-plane answer.
    request_id: Option<String>,
}

/// Executions listed per page at most.
pub const MAX_EXECUTIONS_LIMIT: u32 = 1000;

async fn list_executions(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<ScriptId>,
    ApiQuery(q): ApiQuery<ExecutionsQuery>,
) -> ApiResult<Json<serde_json::Value>> {
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
    let items = m.executions(&caller.principal, id, limit, &filter).await?;
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
    caller: Caller,
    ApiJson(body): ApiJson<CreateAppBody>,
) -> ApiResult<(StatusCode, Json<App>)> {
    let app = m
        .create_app(&caller.principal, &body.name, body.description)
        .await?;
    Ok((StatusCode::CREATED, Json(app)))
}

async fn list_apps(
    State(m): State<Arc<Manager>>,
    caller: Caller,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(json!({ "items": m.apps(&caller.principal).await? })))
}

async fn get_app(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<App>> {
    Ok(Json(m.app(&caller.principal, &app).await?))
}

async fn delete_app(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<StatusCode> {
    m.delete_app(&caller.principal, &app).await?;
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
    caller: Caller,
    ApiPath(app): ApiPath<String>,
    ApiJson(body): ApiJson<ClaimBody>,
) -> ApiResult<(StatusCode, Json<Domain>)> {
    let domain = m
        .claim_domain(&caller.principal, &app, &body.pattern)
        .await?;
    Ok((StatusCode::CREATED, Json(domain)))
}

async fn list_domains(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        json!({ "items": m.domains(&caller.principal, &app).await? }),
    ))
}

async fn release_domain(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, id)): ApiPath<(String, DomainId)>,
) -> ApiResult<StatusCode> {
    m.release_domain(&caller.principal, &app, id).await?;
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRouteBody {
    app: Option<String>,
    path: String,
    methods: Option<Vec<String>>,
}

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

async fn list_routes(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AppQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        json!({ "items": m.routes(&caller.principal, q.app.as_deref()).await? }),
    ))
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

async fn delete_route(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<RouteId>,
) -> ApiResult<StatusCode> {
    m.delete_route(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- users -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUserBody {
    username: String,
    password: String,
    role: UserRole,
}

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

async fn list_users(
    State(m): State<Arc<Manager>>,
    caller: Caller,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(json!({ "items": m.users(&caller.principal).await? })))
}

async fn delete_user(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<StatusCode> {
    m.delete_user(&caller.principal, id).await?;
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
        .create_api_token(&caller.principal, &body.name, body.expires_in_days)
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
        json!({ "items": m.api_tokens(&caller.principal).await? }),
    ))
}

async fn revoke_token(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> ApiResult<StatusCode> {
    m.revoke_api_token(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- members -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberBody {
    /// A user id or username.
    user_id: String,
    role: AppRole,
}

/// Adds a member (201) or changes a member's role (200).
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

async fn list_members(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        json!({ "items": m.members(&caller.principal, &app).await? }),
    ))
}

async fn remove_member(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, user)): ApiPath<(String, UserId)>,
) -> ApiResult<StatusCode> {
    m.remove_member(&caller.principal, &app, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- KV -----

async fn kv_collections(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        json!({ "items": m.kv_collections(&caller.principal, &app).await? }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KvPageQuery {
    cursor: Option<String>,
    limit: Option<u32>,
    prefix: Option<String>,
}

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

async fn kv_delete(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath((app, collection, key)): ApiPath<(String, String, String)>,
) -> ApiResult<StatusCode> {
    m.kv_delete(&caller.principal, &app, &collection, &key)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- triggers and dead letters -----

async fn create_trigger(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
    ApiJson(body): ApiJson<NewTrigger>,
) -> ApiResult<(StatusCode, Json<Trigger>)> {
    let trigger = m.create_trigger(&caller.principal, &app, body).await?;
    Ok((StatusCode::CREATED, Json(trigger)))
}

async fn list_triggers(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        json!({ "items": m.triggers(&caller.principal, &app).await? }),
    ))
}

async fn delete_trigger(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<TriggerId>,
) -> ApiResult<StatusCode> {
    m.delete_trigger(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_dead_letters(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(app): ApiPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        json!({ "items": m.dead_letters(&caller.principal, &app).await? }),
    ))
}

/// Puts the event back in the queue (202: it is delivered in the background).
async fn retry_dead_letter(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<DeadLetterId>,
) -> ApiResult<StatusCode> {
    m.retry_dead_letter(&caller.principal, id).await?;
    Ok(StatusCode::ACCEPTED)
}

async fn delete_dead_letter(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiPath(id): ApiPath<DeadLetterId>,
) -> ApiResult<StatusCode> {
    m.delete_dead_letter(&caller.principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- audit -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    app: Option<String>,
    before: Option<uuid::Uuid>,
    limit: Option<u32>,
}

async fn audit_log(
    State(m): State<Arc<Manager>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let items: Vec<AuditEntry> = m
        .audit_log(
            &caller.principal,
            q.app.as_deref(),
            q.before,
            q.limit.unwrap_or(100),
        )
        .await?;
    Ok(Json(json!({ "items": items })))
}
