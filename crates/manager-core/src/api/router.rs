//! Every admin endpoint, listed once: the router, the list the role-table
//! test checks, and the handlers the OpenAPI document describes.

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, patch, post, put};

use crate::service::Manager;

use super::apps::*;
use super::audit::*;
use super::auth::*;
use super::kv::*;
use super::members::*;
use super::releases::*;
use super::routes::*;
use super::scripts::*;
use super::secrets::*;
use super::tokens::*;
use super::triggers::*;
use super::users::*;

/// Declares the admin endpoints once: the router is built from the list,
/// [`ADMIN_ENDPOINTS`] names every one of them, so the role-table test
/// fails for an endpoint it does not cover, and the OpenAPI document takes
/// every handler's `#[utoipa::path]`, so a handler without one does not
/// compile (and `tests/openapi.rs` checks each one's method and path).
macro_rules! admin_routes {
    ($($method:ident $path:literal => $handler:ident,)*) => {
        /// Every admin endpoint: `(method, path)`, the path relative to the
        /// API prefix (`/api/v1`).
        pub const ADMIN_ENDPOINTS: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// The admin routes, relative to the API prefix (`/admin/...`).
        pub(super) fn routes(manager: Arc<Manager>) -> Router {
            Router::new()
                $(.route($path, $method($handler)))*
                .with_state(manager)
        }

        /// The operations of every admin endpoint, from the handlers'
        /// `#[utoipa::path]` attributes (paths relative to the API prefix).
        #[derive(utoipa::OpenApi)]
        #[openapi(paths($($handler),*))]
        pub struct AdminPaths;
    };
}

admin_routes! {
    post "/admin/auth/login" => login,
    post "/admin/auth/logout" => logout,
    get "/admin/auth/me" => me,
    post "/admin/scripts" => create_script,
    get "/admin/scripts" => list_scripts,
    get "/admin/scripts/{id}" => get_script,
    put "/admin/scripts/{id}" => update_script,
    delete "/admin/scripts/{id}" => delete_script,
    get "/admin/scripts/{id}/versions" => list_script_versions,
    get "/admin/scripts/{id}/versions/{version}" => get_script_version,
    get "/admin/scripts/{id}/executions" => list_executions,
    get "/admin/executions/{id}" => get_execution,
    post "/admin/executions/{id}/replay" => replay_execution,
    get "/admin/scripts/{id}/usage" => script_usage,
    post "/admin/scripts/{id}/routes" => create_route,
    post "/admin/apps" => create_app,
    get "/admin/apps" => list_apps,
    get "/admin/apps/{app}" => get_app,
    patch "/admin/apps/{app}" => update_app,
    delete "/admin/apps/{app}" => delete_app,
    post "/admin/apps/{app}/domains" => claim_domain,
    get "/admin/apps/{app}/domains" => list_domains,
    delete "/admin/apps/{app}/domains/{id}" => release_domain,
    post "/admin/apps/{app}/members" => set_member,
    get "/admin/apps/{app}/members" => list_members,
    delete "/admin/apps/{app}/members/{user}" => remove_member,
    get "/admin/apps/{app}/kv" => kv_collections,
    get "/admin/apps/{app}/kv/{collection}" => kv_page,
    get "/admin/apps/{app}/kv/{collection}/{key}" => kv_get,
    put "/admin/apps/{app}/kv/{collection}/{key}" => kv_put,
    delete "/admin/apps/{app}/kv/{collection}/{key}" => kv_delete,
    get "/admin/apps/{app}/releases" => list_releases,
    post "/admin/apps/{app}/releases" => create_release,
    post "/admin/apps/{app}/releases/{release}/rollback" => rollback_release,
    get "/admin/apps/{app}/secrets" => secret_list,
    put "/admin/apps/{app}/secrets/{name}" => secret_put,
    delete "/admin/apps/{app}/secrets/{name}" => secret_delete,
    post "/admin/apps/{app}/triggers" => create_trigger,
    get "/admin/apps/{app}/triggers" => list_triggers,
    delete "/admin/triggers/{id}" => delete_trigger,
    get "/admin/apps/{app}/dead-letters" => list_dead_letters,
    post "/admin/dead-letters/{id}/retry" => retry_dead_letter,
    delete "/admin/dead-letters/{id}" => delete_dead_letter,
    get "/admin/routes" => list_routes,
    post "/admin/routes/check" => check_route,
    get "/admin/routes/match" => match_route,
    delete "/admin/routes/{id}" => delete_route,
    post "/admin/users" => create_user,
    get "/admin/users" => list_users,
    delete "/admin/users/{id}" => delete_user,
    post "/admin/tokens" => create_token,
    get "/admin/tokens" => list_tokens,
    delete "/admin/tokens/{id}" => revoke_token,
    get "/admin/audit" => audit_log,
}
