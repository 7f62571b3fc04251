//! Sign-in, sign-out and who is signed in.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use picloud_shared::web::ClientIp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::responses::{Forbidden, JsonBodyErrors, TooManyAttempts, Unauthorized};
use crate::auth::SESSION_COOKIE;
use crate::authz::Grant;
use crate::extract::ApiJson;
use crate::repo::User;
use crate::service::Manager;

use super::common::{ApiResult, Caller};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginBody {
    username: String,
    password: String,
}

pub(super) fn session_cookie(manager: &Manager, value: &str, max_age_secs: u64) -> HeaderValue {
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
/// forwarded for, else the connection's peer (the connection layer's
/// `ClientIp`). Unknown (`0.0.0.0`) on a request that did not come through
/// it.
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ClientIp>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0);
        Ok(ClientAddr(ip))
    }
}

/// The request's host (lower case, no port).
pub struct RequestHost(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestHost {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestHost(picloud_shared::web::request_host(
            &parts.headers,
            &parts.uri,
        )))
    }
}

/// A new session.
#[derive(Serialize, ToSchema)]
pub(super) struct LoginAnswer {
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
        JsonBodyErrors,
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyAttempts),
    )
)]
pub(super) async fn login(
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
pub(super) async fn logout(State(m): State<Arc<Manager>>, caller: Caller) -> ApiResult<Response> {
    m.logout(&caller.token).await?;
    let cookie = session_cookie(&m, "", 0);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// `GET /auth/me`.
#[derive(Serialize, ToSchema)]
pub(super) struct MeAnswer {
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
pub(super) async fn me(caller: Caller) -> Json<MeAnswer> {
    let p = caller.principal;
    Json(MeAnswer {
        user: p.user,
        roles: p.grants,
    })
}
