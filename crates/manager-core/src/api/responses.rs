//! The error answers every endpoint shares, as the OpenAPI document names
//! them (`#/components/responses/...`), and the one error schema they carry.

use picloud_shared::api_error::ErrorCode;
use picloud_shared::routing::RouteTarget;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{PartialSchema, ToResponse, ToSchema};

/// Every error answer: `{"error": {"code", "message", ...}}`, with extra
/// fields where useful (`line` and `column` for script errors, `conflicts`
/// for routes).
pub struct ApiErrorBody;

impl ToSchema for ApiErrorBody {
    fn name() -> std::borrow::Cow<'static, str> {
        "Error".into()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((RouteTarget::name().into(), RouteTarget::schema()));
        RouteTarget::schemas(schemas);
    }
}

impl PartialSchema for ApiErrorBody {
    fn schema() -> RefOr<Schema> {
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let integer = || {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
        };
        let error = ObjectBuilder::new()
            .property(
                "code",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(codes))
                    .description(Some("What went wrong, for a program; never renamed")),
            )
            .required("code")
            .property(
                "message",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("What went wrong, for a person")),
            )
            .required("message")
            .property(
                "line",
                integer().description(Some("Script errors: where, when known")),
            )
            .property("column", integer())
            .property(
                "conflicts",
                ArrayBuilder::new()
                    .items(Ref::from_schema_name(RouteTarget::name()))
                    .description(Some("`route_conflict`: the routes in the way")),
            );
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Object))
            .property("error", error)
            .required("error")
            .description(Some(
                "Every error answer. Extra fields beside code and message where useful.",
            ))
            .into()
    }
}

/// Declares the shared error answers, each a `#/components/responses/...`
/// whose body is the one error schema.
macro_rules! error_responses {
    ($($name:ident: $description:literal,)*) => {
        $(
            pub struct $name;

            impl<'s> ToResponse<'s> for $name {
                fn response() -> (&'s str, RefOr<Response>) {
                    (
                        stringify!($name),
                        ResponseBuilder::new()
                            .description($description)
                            .content(
                                "application/json",
                                ContentBuilder::new()
                                    .schema(Some(Ref::from_schema_name(ApiErrorBody::name())))
                                    .build(),
                            )
                            .build()
                            .into(),
                    )
                }
            }
        )*
    };
}

error_responses! {
    BadRequest: "The request is not valid: `bad_request` (body, query), `invalid_id` (a path \
        id that is not a UUID), `invalid_name`, `compile_error` (with `line` and `column`), \
        `source_too_large`, `sandbox_ceiling`, `reserved_path`",
    Unauthorized: "`unauthorized`: no, an unknown or an expired session or token \
        (`invalid_credentials` for a wrong login)",
    Forbidden: "`forbidden`: signed in, but the caller's role does not allow this (or a \
        cookie-authenticated change came without this server's Origin)",
    NotFound: "`not_found`: it does not exist, or the caller has no role in its app",
    Conflict: "`conflict` (the name or pattern is taken, the last owner or admin, the \
        `default` app) or `route_conflict` (with `conflicts`)",
    PayloadTooLarge: "`payload_too_large`: the body is over `PICLOUD_MAX_BODY_BYTES`",
    UnsupportedMediaType: "`unsupported_media_type`: the body must be JSON, with \
        `Content-Type: application/json`",
    TooManyAttempts: "`too_many_attempts`: too many failed logins for this username from \
        this address; `Retry-After` says when to try again",
}

/// Declares sets of the shared error answers that go together, each usable
/// in a handler's `responses(...)` beside its own answers.
macro_rules! error_sets {
    ($($(#[$doc:meta])* $set:ident: [$($status:literal => $name:ident),*],)*) => {
        $(
            $(#[$doc])*
            pub struct $set;

            impl utoipa::IntoResponses for $set {
                fn responses() -> std::collections::BTreeMap<String, RefOr<Response>> {
                    // The name each answer is registered under, so a set
                    // names only answers that exist.
                    [$(($status.to_owned(), RefOr::Ref(Ref::from_response_name(<$name as ToResponse>::response().0)))),*]
                        .into()
                }
            }
        )*
    };
}

error_sets! {
    /// What a signed-in read of an app's data may answer: no or a bad
    /// session (401), no role in the app or nothing there (404).
    ReadErrors: ["401" => Unauthorized, "404" => NotFound],
    /// What a change to an app's data may answer: also a malformed id or
    /// value (400) and a role that does not allow it (403).
    WriteErrors: [
        "400" => BadRequest,
        "401" => Unauthorized,
        "403" => Forbidden,
        "404" => NotFound
    ],
    /// What reading a JSON body may answer: it does not fit (400), is too
    /// large (413), or is not JSON (415).
    JsonBodyErrors: [
        "400" => BadRequest,
        "413" => PayloadTooLarge,
        "415" => UnsupportedMediaType
    ],
}
