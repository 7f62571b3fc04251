//! The response convention (contract.md): what a script returns becomes the
//! HTTP response.
//!
//! - `()` → 204, no body
//! - a string → 200 `text/plain; charset=utf-8`
//! - a map with `statusCode` (an integer 100–599) → that status, `headers`,
//!   and `body` (a string as is, anything else as JSON); any other
//!   `statusCode` → 500 `invalid_response`
//! - anything else → 200 `application/json`

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::web;
use picloud_shared::{ExecOutcome, ExecStatus, Returned};
use serde_json::value::RawValue;

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";

/// Headers a script may not set: the server owns the framing.
const RESERVED_HEADERS: [&str; 4] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
];

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidResponse, message)
}

fn plain(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// Applies the convention to a successful script's value, taken: a string
/// or JSON text becomes the body without a copy, and only a map that may
/// hold `statusCode` is read, its top level alone (its body is sent as
/// written, however deep).
pub fn from_returned(value: Returned) -> Result<Response, ApiError> {
    let raw = match value {
        Returned::Text(s) => return Ok(plain(StatusCode::OK, TEXT, s)),
        Returned::Json(raw) => raw,
    };
    let text = raw.get();
    if text == "null" {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    // A nested key or a string may hold the name too: the map's own keys
    // decide.
    if text.starts_with('{') && text.contains("\"statusCode\"") {
        let map: BTreeMap<String, Box<RawValue>> =
            serde_json::from_str(text).map_err(ApiError::internal)?;
        if map.contains_key("statusCode") {
            return with_status(map);
        }
    }
    Ok(plain(
        StatusCode::OK,
        JSON,
        String::from(Box::<str>::from(raw)),
    ))
}

/// A string's text, if `raw` is a JSON string.
fn string_of(raw: &RawValue) -> Option<String> {
    raw.get()
        .starts_with('"')
        .then(|| serde_json::from_str(raw.get()).ok())
        .flatten()
}

/// The convention's map: `statusCode`, `headers` and `body`.
fn with_status(mut map: BTreeMap<String, Box<RawValue>>) -> Result<Response, ApiError> {
    let code = &map["statusCode"];
    let status = serde_json::from_str::<i64>(code.get())
        .ok()
        .filter(|c| (100..=599).contains(c))
        .and_then(|c| StatusCode::from_u16(c as u16).ok())
        .ok_or_else(|| {
            invalid(format!(
                "statusCode must be an integer from 100 to 599, got {}",
                code.get()
            ))
        })?;
    let mut response = match map.remove("body") {
        None => Response::new(Body::empty()),
        Some(body) if body.get() == "null" => Response::new(Body::empty()),
        Some(body) => match string_of(&body) {
            Some(s) => plain(status, TEXT, s),
            None => plain(status, JSON, String::from(Box::<str>::from(body))),
        },
    };
    *response.status_mut() = status;
    match map.get("headers").map(|h| h.get()) {
        None | Some("null") => {}
        Some(headers) if headers.starts_with('{') => {
            let headers: BTreeMap<String, Box<RawValue>> =
                serde_json::from_str(headers).map_err(ApiError::internal)?;
            for (name, value) in &headers {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| invalid(format!("{name:?} is not a valid header name")))?;
                if RESERVED_HEADERS.contains(&name.as_str()) {
                    continue;
                }
                // A string's text; a number or a boolean as written.
                let text = match value.get().as_bytes().first() {
                    Some(b'"') => string_of(value).unwrap_or_default(),
                    Some(b'-' | b'0'..=b'9' | b't' | b'f') => value.get().to_owned(),
                    _ => return Err(invalid(format!("header {name} must be a string"))),
                };
                // The session cookie is the server's, on every host: a
                // script on a sibling host could otherwise set it for the
                // dashboard's with `Domain=` (docs/security.md).
                if name == header::SET_COOKIE && web::sets_session_cookie(text.as_bytes()) {
                    continue;
                }
                let value = HeaderValue::from_str(&text).map_err(|_| {
                    invalid(format!("header {name} has a value that is not allowed"))
                })?;
                response.headers_mut().insert(name, value);
            }
        }
        Some(_) => return Err(invalid("headers must be a map of strings")),
    }
    Ok(response)
}

/// Keeps a script's answer from acting as the dashboard, on a host that
/// serves it: the page gets an opaque origin (`sandbox` without
/// `allow-same-origin`; appended, so a policy the script set applies too),
/// and cannot clear the dashboard's cookies or storage.
pub fn sandbox(response: &mut Response) {
    let headers = response.headers_mut();
    headers.append(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(web::SCRIPT_SANDBOX_CSP),
    );
    headers.remove(CLEAR_SITE_DATA);
}

const CLEAR_SITE_DATA: HeaderName = HeaderName::from_static("clear-site-data");

/// An outcome turned into an answer, with what the execution record keeps.
pub struct Converted {
    pub response: Response,
    pub status_code: u16,
    /// The error text for the record: the script's failure, or why its
    /// value could not be a response.
    pub error: Option<String>,
}

/// The HTTP answer for an outcome, built once. The outcome's value is
/// taken into the response (the record does not keep it).
pub fn convert(outcome: &mut ExecOutcome) -> Converted {
    let (response, error) = match (&outcome.status, outcome.value.take(), &outcome.error) {
        (ExecStatus::Ok, Some(value), _) => match from_returned(value) {
            Ok(response) => (response, None),
            Err(e) => {
                let text = e.message.clone();
                (e.into_response(), Some(text))
            }
        },
        (_, _, Some(error)) => {
            let mut e = ApiError::from_script(error);
            if e.code == ErrorCode::CompileError {
                // Met at run time, a compile error is the server's 500.
                e = e.with_status(StatusCode::INTERNAL_SERVER_ERROR);
            }
            (e.into_response(), Some(error.describe()))
        }
        _ => {
            let message = "an execution ended with neither a value nor an error";
            (
                ApiError::internal(message).into_response(),
                Some(message.to_owned()),
            )
        }
    };
    Converted {
        status_code: response.status().as_u16(),
        response,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn from_value(value: Value) -> Result<Response, ApiError> {
        from_returned(Returned::from_value(&value))
    }

    async fn body(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn convention() {
        assert_eq!(from_value(Value::Null).unwrap().status(), 204);
        let r = from_value(json!("hi")).unwrap();
        assert_eq!(r.headers()[header::CONTENT_TYPE], TEXT);
        assert_eq!(body(r).await, "hi");
        let r =
            from_value(json!({"statusCode": 201, "headers": {"x-a": "1", "x-n": 2, "x-b": true, "content-length": "9"}, "body": {"ok": true}}))
                .unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["x-a"], "1");
        assert_eq!(r.headers()["x-n"], "2");
        assert_eq!(r.headers()["x-b"], "true");
        assert!(r.headers().get("content-length").is_none());
        assert_eq!(r.headers()[header::CONTENT_TYPE], JSON);
        assert_eq!(body(r).await, r#"{"ok":true}"#);
        let r = from_value(json!({"statusCode": 202, "body": "plain \"text\""})).unwrap();
        assert_eq!(r.headers()[header::CONTENT_TYPE], TEXT);
        assert_eq!(body(r).await, "plain \"text\"");
        let r = from_value(json!({"statusCode": 204, "body": null, "headers": null})).unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(body(r).await, "");
        let r = from_value(json!({"a": 1})).unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(body(r).await, r#"{"a":1}"#);
        // The name elsewhere than the map's own keys is no convention.
        for value in [
            json!([{"statusCode": 201}]),
            json!({"a": {"statusCode": 201}}),
            json!({"a": "\"statusCode\""}),
        ] {
            let r = from_value(value.clone()).unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(body(r).await, value.to_string());
        }
        // A body nested deeper than serde_json parses is sent as written.
        let mut deep = json!(1);
        for _ in 0..200 {
            deep = json!([deep]);
        }
        let r = from_value(json!({"statusCode": 200, "body": deep})).unwrap();
        assert_eq!(body(r).await, deep.to_string());
        for bad in [
            json!({"statusCode": 99}),
            json!({"statusCode": "200"}),
            json!({"statusCode": 600}),
            json!({"statusCode": 200.5}),
            json!({"statusCode": 200, "headers": "x"}),
            json!({"statusCode": 200, "headers": {"x-a": [1]}}),
            json!({"statusCode": 200, "headers": {"x-a": null}}),
            json!({"statusCode": 200, "headers": {"bad name": "1"}}),
            json!({"statusCode": 200, "headers": {"x-a": "line\nbreak"}}),
        ] {
            assert_eq!(
                from_value(bad.clone()).unwrap_err().code,
                ErrorCode::InvalidResponse,
                "{bad}"
            );
        }
        let e = from_value(json!({"statusCode": "200"})).unwrap_err();
        assert_eq!(
            e.message,
            r#"statusCode must be an integer from 100 to 599, got "200""#
        );
    }
}
