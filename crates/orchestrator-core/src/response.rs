//! The response convention (contract.md): what a script returns becomes the
//! HTTP response.
//!
//! - `()` → 204, no body
//! - a string → 200 `text/plain; charset=utf-8`
//! - a map with `statusCode` (an integer 100–599) → that status, `headers`,
//!   and `body` (a string as is, anything else as JSON); any other
//!   `statusCode` → 500 `invalid_response`
//! - anything else → 200 `application/json`

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::web;
use picloud_shared::{ExecOutcome, ExecStatus};
use serde_json::Value;

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

/// `value` as JSON text, written straight into the body's bytes (its
/// `Display` goes through a formatter, a fifth slower).
fn json_body(value: &Value) -> Vec<u8> {
    // A `Value` always serialises (its map keys are strings).
    serde_json::to_vec(value).unwrap_or_else(|_| value.to_string().into_bytes())
}

/// Applies the convention to a successful script's value (taken: its
/// strings become the body without a copy).
pub fn from_value(value: Value) -> Result<Response, ApiError> {
    match value {
        Value::Null => Ok(StatusCode::NO_CONTENT.into_response()),
        Value::String(s) => Ok(plain(StatusCode::OK, TEXT, s)),
        Value::Object(mut map) if map.contains_key("statusCode") => {
            let status = map["statusCode"]
                .as_i64()
                .filter(|c| (100..=599).contains(c))
                .and_then(|c| StatusCode::from_u16(c as u16).ok())
                .ok_or_else(|| {
                    invalid(format!(
                        "statusCode must be an integer from 100 to 599, got {}",
                        map["statusCode"]
                    ))
                })?;
            let mut response = match map.remove("body") {
                None | Some(Value::Null) => Response::new(Body::empty()),
                Some(Value::String(s)) => plain(status, TEXT, s),
                Some(other) => plain(status, JSON, json_body(&other)),
            };
            *response.status_mut() = status;
            match map.get("headers") {
                None | Some(Value::Null) => {}
                Some(Value::Object(headers)) => {
                    for (name, value) in headers {
                        let name = HeaderName::from_bytes(name.as_bytes())
                            .map_err(|_| invalid(format!("{name:?} is not a valid header name")))?;
                        if RESERVED_HEADERS.contains(&name.as_str()) {
                            continue;
                        }
                        let text = match value {
                            Value::String(s) => s.clone(),
                            Value::Number(_) | Value::Bool(_) => value.to_string(),
                            _ => return Err(invalid(format!("header {name} must be a string"))),
                        };
                        // The session cookie is the server's, on every host: a
                        // script on a sibling host could otherwise set it for
                        // the dashboard's with `Domain=` (docs/security.md).
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
        other => Ok(plain(StatusCode::OK, JSON, json_body(&other))),
    }
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
        (ExecStatus::Ok, Some(value), _) => match from_value(value) {
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
    use serde_json::json;

    #[test]
    fn convention() {
        assert_eq!(from_value(Value::Null).unwrap().status(), 204);
        let r = from_value(json!("hi")).unwrap();
        assert_eq!(r.headers()[header::CONTENT_TYPE], TEXT);
        let r =
            from_value(json!({"statusCode": 201, "headers": {"x-a": "1"}, "body": {"ok": true}}))
                .unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["x-a"], "1");
        assert_eq!(r.headers()[header::CONTENT_TYPE], JSON);
        let r = from_value(json!({"a": 1})).unwrap();
        assert_eq!(r.status(), 200);
        for bad in [
            json!({"statusCode": 99}),
            json!({"statusCode": "200"}),
            json!({"statusCode": 600}),
            json!({"statusCode": 200.5}),
        ] {
            assert_eq!(
                from_value(bad.clone()).unwrap_err().code,
                ErrorCode::InvalidResponse,
                "{bad}"
            );
        }
    }
}
