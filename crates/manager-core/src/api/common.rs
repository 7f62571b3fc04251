//! What every handler file of the admin API uses: the answer types, the
//! `Caller` extractor (a session or API token, and the cross-site check
//! for cookie-authenticated writes).

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::web::AdminHost;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app_ref::AppRef;
use crate::auth::SESSION_COOKIE;
use crate::authz::Principal;
use crate::service::Manager;

pub(super) type ApiResult<T> = Result<T, ApiError>;

/// A list answer: `{"items": [...]}`.
#[derive(Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

pub(super) fn items<T>(items: Vec<T>) -> Json<Items<T>> {
    Json(Items { items })
}

/// `?app=`: the lists that span apps (scripts, routes).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct AppQuery {
    /// An app id or name; absent: every app the caller can see.
    #[param(value_type = Option<String>)]
    pub(super) app: Option<AppRef>,
}

/// The `{app}` of a path, documented once.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // a document only: the handlers read `ApiPath<AppRef>`
pub(super) struct AppPath {
    /// An app id or name
    #[param(example = "default")]
    app: String,
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
                .serves_dashboard(&picloud_shared::web::request_host(
                    &parts.headers,
                    &parts.uri,
                ))
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
