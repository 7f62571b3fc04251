//! The one error type at the HTTP edge, and the exhaustive list of error
//! codes (contract.md, Errors). Every error response has the shape
//! `{"error": {"code": "snake_case", "message": "...", ...extra}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// Declares [`ErrorCode`], its wire names and [`ErrorCode::ALL`] from one
/// list, so the list of codes (and the OpenAPI document's enum of them)
/// cannot miss one.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// Every error code the API can answer with. Part of the contract: a code
        /// once published is never renamed.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }
        }
    };
}

error_codes! {
    /// 400: the request body or query is malformed or has wrong types.
    BadRequest = "bad_request",
    /// 400: a path segment that must be a UUID is not one.
    InvalidId = "invalid_id",
    /// 400: a script name breaks the naming rules.
    InvalidName = "invalid_name",
    /// 400: the script does not compile (with `line` and `column`).
    CompileError = "compile_error",
    /// 400: the script source is over `PICLOUD_MAX_SCRIPT_BYTES`.
    SourceTooLarge = "source_too_large",
    /// 400: a sandbox override is above its ceiling.
    SandboxCeiling = "sandbox_ceiling",
    /// 400: a route path PiCloud serves itself (`/api/…`, `/healthz`, …).
    ReservedPath = "reserved_path",
    /// 401: no, an unknown or an expired session.
    Unauthorized = "unauthorized",
    /// 401: wrong username or password.
    InvalidCredentials = "invalid_credentials",
    /// 403: authenticated, but not allowed.
    Forbidden = "forbidden",
    /// 404: nothing here.
    NotFound = "not_found",
    /// 405: the path exists, the method does not.
    MethodNotAllowed = "method_not_allowed",
    /// 429: too many failed logins for this username from this address
    /// (with `Retry-After`).
    TooManyAttempts = "too_many_attempts",
    /// 409: the name or pattern is taken.
    Conflict = "conflict",
    /// 409: a route of the same shape answers an overlapping method (with
    /// `conflicts`).
    RouteConflict = "route_conflict",
    /// 408: the client paused longer than `PICLOUD_BODY_TIMEOUT_SECS`
    /// while sending the request body.
    RequestTimeout = "request_timeout",
    /// 413: the request body is over `PICLOUD_MAX_BODY_BYTES`.
    PayloadTooLarge = "payload_too_large",
    /// 415: a JSON body was expected.
    UnsupportedMediaType = "unsupported_media_type",
    /// 500: the script failed at run time or threw.
    ScriptError = "script_error",
    /// 500: the script hit a sandbox limit.
    LimitExceeded = "limit_exceeded",
    /// 500: the script returned something that cannot be a response.
    InvalidResponse = "invalid_response",
    /// 500: our fault; the cause is in the server log.
    Internal = "internal",
    /// 503: every execution slot is busy; retry after a second.
    Overloaded = "overloaded",
    /// 504: the script ran past its wall-clock limit.
    Timeout = "timeout",
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest
            | ErrorCode::InvalidId
            | ErrorCode::InvalidName
            | ErrorCode::CompileError
            | ErrorCode::SourceTooLarge
            | ErrorCode::SandboxCeiling
            | ErrorCode::ReservedPath => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized | ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict | ErrorCode::RouteConflict => StatusCode::CONFLICT,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::ScriptError
            | ErrorCode::LimitExceeded
            | ErrorCode::InvalidResponse
            | ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// The code for a script failure reported by the executor.
    pub fn from_script_code(code: &str) -> Self {
        match code {
            "compile_error" => ErrorCode::CompileError,
            "limit_exceeded" => ErrorCode::LimitExceeded,
            "timeout" => ErrorCode::Timeout,
            "invalid_response" => ErrorCode::InvalidResponse,
            _ => ErrorCode::ScriptError,
        }
    }
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Extra fields beside `code` and `message` (`line`, `column`, ...).
    pub extra: Map<String, Value>,
    /// A different HTTP status than the code's usual one (a compile error
    /// met at run time is a 500, not a 400).
    pub status: Option<StatusCode>,
    /// Seconds for a `Retry-After` header (`overloaded` always has 1).
    pub retry_after: Option<u64>,
    /// Answered with `Connection: close`: the request's body was left
    /// unread, so the connection cannot carry another request.
    pub close: bool,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            extra: Map::new(),
            status: None,
            retry_after: None,
            close: false,
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Answered with `Connection: close` (see [`ApiError::close`]).
    pub fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::BadRequest, message)
    }

    /// A 500 whose cause goes to the log, not to the caller.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(cause = %cause, "internal error");
        ApiError::new(
            ErrorCode::Internal,
            "internal error; the cause is in the server log",
        )
    }

    /// A script failure (compile, runtime, limit, timeout, response).
    pub fn from_script(err: &crate::ScriptError) -> Self {
        let mut e = ApiError::new(ErrorCode::from_script_code(&err.code), err.message.clone());
        if let Some(line) = err.line {
            e = e.with("line", line);
        }
        if let Some(column) = err.column {
            e = e.with("column", column);
        }
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status.unwrap_or_else(|| self.code.status());
        let retry_after = self
            .retry_after
            .or((self.code == ErrorCode::Overloaded).then_some(1));
        let mut error = Map::new();
        error.insert("code".into(), self.code.as_str().into());
        error.insert("message".into(), self.message.into());
        error.extend(self.extra);
        let mut resp = (status, axum::Json(json!({ "error": error }))).into_response();
        if let Some(seconds) = retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.close {
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}
