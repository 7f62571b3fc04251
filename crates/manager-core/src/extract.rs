//! Extractors whose rejections are `ApiError`s, so a malformed body, path or
//! query gets the same JSON error shape as everything else.

use std::sync::Arc;

use axum::RequestExt as _;
use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use picloud_shared::api_error::{ApiError, ErrorCode};
use picloud_shared::body_budget::{BodyBudget, BodyError};
use serde::de::DeserializeOwned;

/// A JSON body.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let req = within_budget(req).await?;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// A JSON body that may be left out (no body and no `Content-Type`): then
/// the type's default.
pub struct ApiJsonOrDefault<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for ApiJsonOrDefault<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let headers = req.headers();
        let no_body = !headers.contains_key(axum::http::header::CONTENT_TYPE)
            && headers
                .get(axum::http::header::CONTENT_LENGTH)
                .is_none_or(|v| v.as_bytes() == b"0")
            && !headers.contains_key(axum::http::header::TRANSFER_ENCODING);
        if no_body {
            return Ok(ApiJsonOrDefault(T::default()));
        }
        let ApiJson(v) = ApiJson::<T>::from_request(req, state).await?;
        Ok(ApiJsonOrDefault(v))
    }
}

/// Reads a JSON body within the admin API's budget for bodies being
/// received (`BodyBudget`, put in the request's extensions by
/// `api::admin_router`), under the body limit, before `Json` parses it: a
/// signed-in client sending bodies slowly on many connections holds at
/// most the budget. Read after the caller is authenticated (extractors of
/// the parts run first), and only for a JSON content type (else `Json`
/// answers 415 without reading it).
async fn within_budget(req: Request) -> Result<Request, ApiError> {
    let Some(budget) = req.extensions().get::<Arc<BodyBudget>>().cloned() else {
        return Ok(req);
    };
    if !json_content_type(req.headers()) {
        return Ok(req);
    }
    let (parts, body) = req.with_limited_body().into_parts();
    match budget.read(body, usize::MAX).await {
        Ok(bytes) => Ok(Request::from_parts(parts, Body::from(bytes))),
        Err(BodyError::Spent) => Err(picloud_shared::body_budget::spent()),
        Err(BodyError::TooLarge) => Err(too_large()),
        Err(BodyError::Failed(e)) => Err(if picloud_shared::web::is_body_timeout(&e) {
            timed_out()
        } else if picloud_shared::web::caused_by::<http_body_util::LengthLimitError>(&e) {
            too_large()
        } else {
            ApiError::bad_request(format!("Failed to buffer the request body: {e}"))
        }),
    }
}

/// `application/json` or `application/*+json`, as `axum::Json` reads it.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(ct) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or("").trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json")
            || sub.len() > 5 && sub[sub.len() - 5..].eq_ignore_ascii_case("+json"))
}

fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        "the request body is over the limit (PICLOUD_MAX_BODY_BYTES)",
    )
}

fn timed_out() -> ApiError {
    ApiError::new(
        ErrorCode::RequestTimeout,
        picloud_shared::web::BodyTimedOut.to_string(),
    )
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the body must be JSON, with Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(b) if picloud_shared::web::is_body_timeout(&b) => timed_out(),
        JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            too_large()
        }
        JsonRejection::JsonDataError(e) => ApiError::bad_request(format!(
            "the JSON body does not fit: {}",
            std::error::Error::source(&e).map_or_else(|| e.body_text(), |s| s.to_string())
        )),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(format!(
            "the body is not valid JSON: {}",
            std::error::Error::source(&e).map_or_else(|| e.body_text(), |s| s.to_string())
        )),
        other => ApiError::bad_request(other.body_text()),
    }
}

/// Path parameters; a malformed id is a 400 `invalid_id`.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(ApiError::new(
                ErrorCode::InvalidId,
                format!("a path parameter is not valid: {}", e.body_text()),
            )),
            Err(other) => Err(ApiError::bad_request(other.body_text())),
        }
    }
}

/// A query string.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(ApiError::bad_request(
                format!("the query string is not valid: {}", e.body_text()),
            )),
            Err(other) => Err(ApiError::bad_request(other.body_text())),
        }
    }
}

/// A query parameter whose empty value (`?window=`) counts as absent, as
/// the API's filters do; any other value is read as `T`. For a field
/// `#[serde(default, deserialize_with = "empty_is_absent")]`.
pub fn empty_is_absent<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    use serde::Deserialize as _;
    use serde::de::IntoDeserializer;
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => {
            T::deserialize(IntoDeserializer::<'de, D::Error>::into_deserializer(text)).map(Some)
        }
    }
}
