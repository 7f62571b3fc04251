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
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine as _;
use sha2::{Digest, Sha256};

#[derive(rust_embed::Embed)]
#[folder = "../../dashboard/build"]
struct Assets;

/// The dashboard's routes.
pub fn router() -> Router {
    Router::new()
        .route("/admin", get(|| async { Redirect::permanent("/admin/") }))
        .route("/admin/", get(|headers: HeaderMap| async move { serve("", &headers) }))
        .route(
            "/admin/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move {
                serve(&path, &headers)
            }),
        )
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
/// hashes of its inline scripts and nothing else inline), plus what a
/// `<meta>` cannot say (`frame-ancestors`). A build without that tag gets
/// an equally strict policy with the hashes computed here.
fn csp() -> HeaderValue {
    static CSP: OnceLock<HeaderValue> = OnceLock::new();
    CSP.get_or_init(|| {
        let index = Assets::get(INDEX)
            .map(|f| String::from_utf8_lossy(&f.data).into_owned())
            .unwrap_or_default();
        let policy = match meta_csp(&index) {
            Some(meta) => format!("{}; frame-ancestors 'none'", meta.trim_end_matches(';')),
            None => {
                let hashes: String = inline_scripts(&index)
                    .iter()
                    .map(|s| {
                        let digest = Sha256::digest(s.as_bytes());
                        format!(
                            " 'sha256-{}'",
                            base64::engine::general_purpose::STANDARD.encode(digest)
                        )
                    })
                    .collect();
                format!(
                    "default-src 'none'; script-src 'self'{hashes}; style-src 'self'; \
                     img-src 'self'; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
                     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
                )
            }
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

/// The contents of the `<script>` elements without a `src`.
pub fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let tag = &after[..open_end];
        let body = &after[open_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            out.push(&body[..close]);
        }
        rest = &body[close + "</script>".len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::inline_scripts;

    #[test]
    fn inline_scripts_are_found_and_external_ones_skipped() {
        let html = r#"<head><script src="/a.js"></script><script type="module">x()</script></head>
                      <body><script>
  y();
</script></body>"#;
        assert_eq!(inline_scripts(html), vec!["x()", "\n  y();\n"]);
    }
}
