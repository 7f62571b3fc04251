//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the admin
//! API, generated from the code so it cannot drift from it. Every handler
//! in `admin_routes!` carries a `#[utoipa::path]` with its parameters,
//! body and answers; the request and answer types derive `ToSchema`; the
//! macro gathers the handlers into [`crate::api::AdminPaths`], so a new
//! endpoint without its description does not compile. The document is
//! built once, on the first request, and served from memory.

use std::sync::OnceLock;

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use picloud_shared::version;
use utoipa::openapi::path::Paths;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr};
use utoipa::{Modify, OpenApi};

use crate::api::AdminPaths;
use crate::api::responses::{
    ApiErrorBody, BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, TooManyAttempts,
    Unauthorized, UnsupportedMediaType,
};
use crate::auth::SESSION_COOKIE;

/// Where the document is served, relative to the API prefix.
pub const PATH: &str = "/openapi.json";

/// The name of the bearer-token security scheme.
pub const BEARER: &str = "bearer";
/// The name of the session-cookie security scheme.
pub const COOKIE: &str = "session_cookie";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "PiCloud admin API",
        description = "The admin API of PiCloud (API v1). Every operation but login and this \
            document needs a session or API token: `Authorization: Bearer <token>` or the \
            session cookie. \
            Errors are `{\"error\": {\"code\", \"message\", ...}}`.",
    ),
    paths(serve),
    components(
        schemas(ApiErrorBody),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            TooManyAttempts
        )
    ),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("session_cookie" = [])),
    tags(
        (name = "auth", description = "Sessions"),
        (name = "scripts", description = "Scripts and their executions"),
        (name = "routes", description = "User routes: path patterns to scripts"),
        (name = "apps", description = "Apps and their domain claims"),
        (name = "members", description = "Per-app roles"),
        (name = "kv", description = "The scripts' key-value store"),
        (name = "secrets", description = "Apps' secrets (names only; values are write-only)"),
        (name = "releases", description = "Snapshots of an app: its scripts at their versions, routes, domains, triggers"),
        (name = "executions", description = "Execution records one by one, and replay"),
        (name = "triggers", description = "KV and cron triggers, dead letters"),
        (name = "users", description = "Instance users"),
        (name = "tokens", description = "API tokens"),
        (name = "audit", description = "The audit log"),
        (name = "meta", description = "This document"),
    )
)]
struct Base;

/// The document, with every path under the API prefix (`/api/v1/...`).
pub fn document() -> Document {
    let mut doc = Base::openapi();
    doc.info.version = version::PRODUCT_VERSION.to_owned();
    let mut admin = AdminPaths::openapi();
    let prefix = version::api_prefix();
    for paths in [&mut doc.paths, &mut admin.paths] {
        let taken = std::mem::replace(paths, Paths::new());
        for (path, item) in taken.paths {
            paths.paths.insert(format!("{prefix}{path}"), item);
        }
    }
    doc.merge(admin);
    // An answer documented without a description gets its status's reason.
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            for (status, answer) in &mut operation.responses.responses {
                if let RefOr::T(answer) = answer
                    && answer.description.is_empty()
                {
                    answer.description = StatusCode::from_bytes(status.as_bytes())
                        .ok()
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Success")
                        .to_owned();
                }
            }
        }
    }
    if let Some(RefOr::T(Schema::Object(update))) = doc
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("UpdateScriptBody"))
    {
        update.min_properties = Some(1);
    }
    doc
}

/// The document as JSON, built once.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        document()
            .to_json()
            .expect("the OpenAPI document serializes")
    })
}

/// This document: the OpenAPI 3.1 description of the admin API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "An OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json())
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token (`pcs_...`, from `POST /api/v1/admin/auth/login`) \
                         or an API token (`pct_...`, from `POST /api/v1/admin/tokens`)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            COOKIE,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The session cookie login sets. A state-changing request authenticated by it \
                 must carry an Origin header naming this server",
            ))),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn doc() -> Value {
        serde_json::from_str(json()).unwrap()
    }

    #[test]
    fn is_openapi_3_1_under_the_api_prefix() {
        let doc = doc();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.keys().all(|p| p.starts_with("/api/v1/")), "{paths:?}");
        assert!(paths.contains_key("/api/v1/openapi.json"));
        assert!(paths.contains_key("/api/v1/admin/scripts/{id}"));
    }

    #[test]
    fn every_error_code_is_in_the_error_schema() {
        let doc = doc();
        let codes = &doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
            ["enum"];
        assert_eq!(
            codes.as_array().unwrap().len(),
            picloud_shared::api_error::ErrorCode::ALL.len()
        );
        assert!(codes.as_array().unwrap().contains(&"route_conflict".into()));
    }

    /// The page-size bounds in the document are the ones the server checks.
    #[test]
    fn limits_match_the_server() {
        let doc = doc();
        let max = |path: &str| -> u64 {
            let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
            let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
            limit["schema"]["maximum"].as_u64().unwrap()
        };
        assert_eq!(
            max("/api/v1/admin/scripts/{id}/executions"),
            u64::from(crate::api::MAX_EXECUTIONS_LIMIT)
        );
        assert_eq!(
            max("/api/v1/admin/audit"),
            u64::from(crate::audit::MAX_AUDIT_LIMIT)
        );
        assert_eq!(
            max("/api/v1/admin/apps/{app}/kv/{collection}"),
            u64::from(picloud_shared::kv::MAX_LIST_LIMIT)
        );
    }

    /// Bounds written as literals in the attributes are the server's.
    #[test]
    fn constraints_match_the_server() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let password = &schemas["CreateUserBody"]["properties"]["password"];
        assert_eq!(password["minLength"], crate::auth::MIN_PASSWORD_LEN);
        let kv = &schemas["NewTrigger"]["oneOf"][0]["properties"];
        assert_eq!(
            kv["max_attempts"]["minimum"],
            *picloud_shared::events::MAX_ATTEMPTS_RANGE.start()
        );
        assert_eq!(
            kv["max_attempts"]["maximum"],
            *picloud_shared::events::MAX_ATTEMPTS_RANGE.end()
        );
        let pattern = format!(
            "^[A-Za-z0-9_.-]{{1,{}}}$",
            picloud_shared::kv::MAX_COLLECTION_LEN
        );
        assert_eq!(kv["collection"]["pattern"], pattern.as_str());
        let name = &schemas["ScriptName"];
        assert_eq!(name["maxLength"], picloud_shared::ScriptName::MAX_LEN);
        assert_eq!(
            name["pattern"],
            format!("^[a-z0-9_-]{{1,{}}}$", picloud_shared::ScriptName::MAX_LEN).as_str()
        );
    }
}
