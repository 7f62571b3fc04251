//! The admin dashboard at `/admin`: the SvelteKit build in `dashboard/build`,
//! embedded in the binary (feature `dashboard`, on by default), so `cargo run`
//! serves it with no Node installed.
//!
//! - Hashed assets (`/admin/_app/immutable/...`) are cached for a year.
//! - Every other file, and `index.html`, is `no-cache` (revalidated with its
//!   ETag, so a new build is picked up at once).
//! - Paths that are not files are the single-page app's: they get
//!   `index.html`, except under `/admin/_app/`, where a missing file is 404.
//! - A strict Content-Security-Policy, the one the build wrote into
//!   `index.html`: scripts only from this origin and the page's inline
//!   scripts by their hashes, styles only from files (plus the one style
//!   attribute of SvelteKit's route announcer, by hash), no `data:`, no
//!   frames, no plugins, no other origins.

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::web::AdminHost;

#[derive(rust_embed::Embed)]
#[folder = "../../dashboard/build"]
struct Assets;

/// The dashboard's routes: on every host, or only on `PICLOUD_ADMIN_HOST`
/// (elsewhere `/admin` is a JSON 404, as any path nothing answers).
pub fn router(admin_host: AdminHost) -> Router {
    Router::new()
        .route("/admin", get(|| async { Redirect::permanent("/admin/") }))
        .route("/admin/", get(|headers: HeaderMap| async move { serve("", &headers) }))
        .route(
            "/admin/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move {
                serve(&path, &headers)
            }),
        )
        .route_layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let here = admin_host
                    .serves_dashboard(&picloud_shared::web::request_host(req.headers(), req.uri()));
                async move {
                    if here {
                        next.run(req).await
                    } else {
                        ApiError::new(
                            ErrorCode::NotFound,
                            format!("no route matches {} {}", req.method(), req.uri().path()),
                        )
                        .into_response()
                    }
                }
            },
        ))
}

const INDEX: &str = "index.html";
const IMMUTABLE: &str = "_app/immutable/";

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let (name, file) = match Assets::get(path).filter(|_| !path.is_empty()) {
        Some(file) => (path, file),
        None if path.starts_with("_app/") => {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        }
        None => match Assets::get(INDEX) {
            Some(index) => (INDEX, index),
            None => return (StatusCode::NOT_FOUND, "the dashboard is not built").into_response(),
        },
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let cache = if name.starts_with(IMMUTABLE) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(file.data.into_owned()));
        if let Ok(v) = HeaderValue::from_str(file.metadata.mimetype()) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        r
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CONTENT_SECURITY_POLICY, csp());
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The policy: the one the build wrote into `index.html`'s
/// `<meta http-equiv="content-security-policy">` (SvelteKit's, with the
/// hashes of its inline scripts and nothing else inline; `svelte.config.js`
/// asks for it), plus what a `<meta>` cannot say (`frame-ancestors`). A
/// build without that tag gets a policy that allows nothing.
fn csp() -> HeaderValue {
    static CSP: OnceLock<HeaderValue> = OnceLock::new();
    CSP.get_or_init(|| {
        let index = Assets::get(INDEX)
            .map(|f| String::from_utf8_lossy(&f.data).into_owned())
            .unwrap_or_default();
        let policy = match meta_csp(&index) {
            Some(meta) => format!("{}; frame-ancestors 'none'", meta.trim_end_matches(';')),
            None => "default-src 'none'; frame-ancestors 'none'".to_owned(),
        };
        HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'none'"))
    })
    .clone()
}

/// The content of the page's `<meta http-equiv="content-security-policy">`.
pub fn meta_csp(html: &str) -> Option<&str> {
    const TAG: &str = "<meta http-equiv=\"content-security-policy\" content=\"";
    let start = html.find(TAG)? + TAG.len();
    let len = html[start..].find('"')?;
    Some(&html[start..start + len])
}
