//! HTTP request → `ctx.request`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::body::Body;
use axum::http::{Request, header};
use bytes::Bytes;
use picloud_shared::api_error::{ApiError, ErrorCode};
pub use picloud_shared::body_budget::BodyBudget;
use picloud_shared::body_budget::BodyError;
use picloud_shared::web;
use picloud_shared::{HttpRequest, RequestBody};

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the request body is over {limit} bytes (PICLOUD_MAX_BODY_BYTES)"),
    )
}

/// Why a body could not be read: over the limit (413), a client that
/// paused too long (408), or one that went away mid-body (400).
fn body_error(e: &axum::Error, limit: usize) -> ApiError {
    if web::is_body_timeout(e) {
        return ApiError::new(ErrorCode::RequestTimeout, web::BodyTimedOut.to_string());
    }
    if web::caused_by::<http_body_util::LengthLimitError>(e) {
        return too_large(limit);
    }
    ApiError::bad_request(format!("the request body could not be read: {e}"))
}

/// Reads a body of at most `limit` bytes within `bodies`.
async fn read_body(body: Body, limit: usize, bodies: &BodyBudget) -> Result<Bytes, ApiError> {
    bodies.read(body, limit).await.map_err(|e| match e {
        BodyError::TooLarge => too_large(limit),
        BodyError::Spent => picloud_shared::body_budget::spent(),
        BodyError::Failed(e) => body_error(&e, limit),
    })
}

pub use picloud_shared::routing::normalise_host;

fn is_json(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// `ip` as text, as `Display` writes it; IPv4 digit by digit (through
/// `Display` it was 1,300 of a hello-world's 38,000 instructions).
fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut out = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        if octet >= 100 {
            out.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            out.push(char::from(b'0' + octet / 10 % 10));
        }
        out.push(char::from(b'0' + octet % 10));
    }
    out
}

/// What routing found for a request: the parts of `ctx.request` that come
/// from the route rather than the request itself.
#[derive(Default)]
pub struct Matched {
    /// The route's `{name}` segments.
    pub params: BTreeMap<String, String>,
    /// What a trailing `*` matched.
    pub rest: String,
    /// The domain pattern's `{name}` labels.
    pub host_params: BTreeMap<String, String>,
    /// The host, normalised, where routing already read it (else it is
    /// read from the request).
    pub host: Option<String>,
}

/// Reads the request (its body up to `limit` bytes, within `bodies`) into
/// `ctx.request`.
pub async fn read(
    req: Request<Body>,
    limit: usize,
    bodies: &BodyBudget,
    matched: Matched,
) -> Result<HttpRequest, ApiError> {
    let Matched {
        params,
        rest,
        host_params,
        host,
    } = matched;
    let (parts, body) = req.into_parts();
    if let Some(len) = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > limit as u64
    {
        return Err(too_large(limit));
    }
    let bytes = read_body(body, limit, bodies).await?;

    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &parts.headers {
        let mut value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        // A script never sees the admin session: not the cookie (a signed-in
        // admin's browser sends it to every path of the host), nor a PiCloud
        // token sent by mistake (docs/security.md).
        let separator = if name == header::COOKIE {
            match web::cookie_without_session(&value) {
                Some(kept) => value = kept,
                None => continue,
            }
            "; "
        } else if name == header::AUTHORIZATION && web::carries_picloud_token(&value) {
            continue;
        } else {
            ", "
        };
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(separator);
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let query = parts
        .uri
        .query()
        .map(|q| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .unwrap_or_default()
                .into_iter()
                .collect()
        })
        .unwrap_or_default();
    let host = host.unwrap_or_else(|| web::request_host(&parts.headers, &parts.uri));

    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let body = if bytes.is_empty() {
        RequestBody::Empty
    } else if is_json(content_type) {
        RequestBody::Json(serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::bad_request(format!(
                "the body is sent as JSON but is not valid JSON: {e}"
            ))
        })?)
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => RequestBody::Text(text),
            Err(e) => RequestBody::Bytes(e.into_bytes()),
        }
    };

    // Resolved by the connection layer (the peer, or behind trusted proxies
    // the client they forwarded for).
    let ip = parts
        .extensions
        .get::<web::ClientIp>()
        .map(|c| ip_text(c.0))
        .unwrap_or_default();

    Ok(HttpRequest {
        ip,
        method: parts.method.as_str().to_owned(),
        // The path as the client sent it, before any router nesting.
        path: parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.path().to_owned(), |u| u.0.path().to_owned()),
        headers,
        query,
        params,
        rest,
        host,
        host_params,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_lower_cased_without_port() {
        assert_eq!(normalise_host("API.Example.com:8080"), "api.example.com");
        assert_eq!(normalise_host("example.com"), "example.com");
        assert_eq!(normalise_host("[::1]:80"), "[::1]");
    }

    #[test]
    fn addresses_read_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.100.9",
            "255.255.255.255",
            "1.90.109.250",
            "::1",
            "2001:db8::8a2e:370:7334",
        ] {
            let parsed: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(parsed), parsed.to_string());
            assert_eq!(ip_text(parsed), ip);
        }
        for octet in 0..=255u8 {
            let ip = IpAddr::from([octet, 0, octet, 9]);
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }

    #[test]
    fn json_content_types() {
        assert!(is_json(Some("application/json; charset=utf-8")));
        assert!(is_json(Some("application/vnd.api+json")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(None));
    }
}
