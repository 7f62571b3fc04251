//! The admin API (`/api/v1/admin/...`): the manager's HTTP surface. Handlers
//! parse, call the service, and shape the answer; the decisions live in
//! [`crate::service`].

mod apps;
mod audit;
mod auth;
mod common;
mod kv;
mod members;
mod releases;
pub mod responses;
mod router;
mod routes;
mod scripts;
mod secrets;
mod tokens;
mod triggers;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::service::Manager;

pub use common::{Caller, Items};
pub use router::{ADMIN_ENDPOINTS, AdminPaths};
pub use scripts::MAX_EXECUTIONS_LIMIT;

/// The admin routes, relative to the API prefix (`/admin/...`), and the
/// OpenAPI document that describes them ([`crate::openapi`]).
pub fn admin_router(manager: Arc<Manager>) -> Router {
    router::routes(manager).route(crate::openapi::PATH, get(crate::openapi::serve))
}
