//! User routes and domain claims: their rules, and the routing
//! snapshot the data plane reads (see `picloud_shared::routing`).
//!
//! Every change runs under the manager's write lock, checks against the
//! current snapshot, writes the database, then rebuilds the snapshot from
//! the database and swaps it in: the next request sees the change.

use std::sync::Arc;

use picloud_shared::api_error::ErrorCode;
use picloud_shared::routing::{
    DomainPattern, Methods, PatternError, RequestPath, RouteMatch, RoutePattern, RouteTarget,
    Routing, normalise_host,
};
use picloud_shared::{AppId, DomainId, RouteId, ScriptId};
use serde::Serialize;
use serde_json::json;

use crate::app_ref::AppRef;
use crate::authz::{self, Capability, Principal};
use crate::error::{Error, Result};
use crate::repo::{self, Domain, Route};
use crate::service::Manager;

/// A route that is refused because others of its shape answer an
/// overlapping method.
#[derive(Debug)]
pub struct RouteConflict(pub Vec<RouteTarget>);

/// The outcome of adding (or checking) a route.
#[derive(Debug)]
pub enum RouteError {
    Conflict(RouteConflict),
    Other(Error),
}

impl From<Error> for RouteError {
    fn from(e: Error) -> Self {
        RouteError::Other(e)
    }
}

/// `POST /routes/check`'s answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RouteCheck {
    pub ok: bool,
    pub conflicts: Vec<RouteTarget>,
    pub error: Option<String>,
}

/// `GET /routes/match`'s answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RouteLookup {
    pub matched: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<AppId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_id: Option<ScriptId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_id: Option<RouteId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::HashMap<String, String>>)]
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::HashMap<String, String>>)]
    pub host_params: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rest: Option<String>,
}

fn pattern_error(e: PatternError) -> Error {
    match e {
        PatternError::Reserved(msg) => Error::invalid(ErrorCode::ReservedPath, msg),
        PatternError::Malformed(msg) => Error::invalid(ErrorCode::BadRequest, msg),
    }
}

fn to_map(pairs: Vec<(String, String)>) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect()
}

impl Manager {
    /// The current snapshot (an `Arc` clone under a read lock).
    pub fn routing(&self) -> Arc<Routing> {
        self.cache().routing()
    }

    /// Rebuilds the routing snapshot from the database and swaps it in.
    /// Called at start-up and, under the write lock, after every change.
    pub async fn reload_routing(&self) -> Result<()> {
        self.cache().reload_routing().await
    }

    // ----- domains -----

    pub async fn claim_domain(&self, p: &Principal, app: &AppRef, pattern: &str) -> Result<Domain> {
        let app = self.app_for(p, app, Capability::ManageDomains).await?;
        let pattern = DomainPattern::parse(pattern).map_err(|e| match e {
            PatternError::Reserved(m) | PatternError::Malformed(m) => {
                Error::invalid(ErrorCode::BadRequest, m)
            }
        })?;
        if self.config.admin_host.reserves(pattern.as_str()) {
            return Err(Error::invalid(
                ErrorCode::BadRequest,
                format!(
                    "{} is the dashboard's host (PICLOUD_ADMIN_HOST) and cannot be claimed",
                    pattern.as_str()
                ),
            ));
        }
        let domain = Domain {
            id: DomainId::new(),
            app_id: app.id,
            pattern: pattern.as_str().to_owned(),
            created_at: repo::now(),
        };
        let _write = self.write_lock.lock().await;
        let stored = self.db.insert_domain(&domain).await?;
        self.reload_routing().await?;
        self.audit(
            p,
            Some(app.id),
            "domain.claim",
            Some(stored.id.to_string()),
            json!({ "pattern": stored.pattern }),
        )
        .await;
        Ok(stored)
    }

    pub async fn domains(&self, p: &Principal, app: &AppRef) -> Result<Vec<Domain>> {
        let app = self.app_for(p, app, Capability::ReadDomains).await?;
        self.db.domains_of_app(app.id).await
    }

    pub async fn release_domain(&self, p: &Principal, app: &AppRef, id: DomainId) -> Result<()> {
        let app = self.app_for(p, app, Capability::ManageDomains).await?;
        let _write = self.write_lock.lock().await;
        let Some(pattern) = self.db.delete_domain(app.id, id).await? else {
            return Err(Error::NotFound("domain"));
        };
        self.reload_routing().await?;
        self.audit(
            p,
            Some(app.id),
            "domain.release",
            Some(id.to_string()),
            json!({ "pattern": pattern }),
        )
        .await;
        Ok(())
    }

    // ----- routes -----

    fn parse_route(path: &str, methods: Option<&[String]>) -> Result<(RoutePattern, Methods)> {
        let pattern = RoutePattern::parse(path).map_err(pattern_error)?;
        let methods = Methods::parse(methods).map_err(pattern_error)?;
        Ok((pattern, methods))
    }

    fn conflicts_in(
        &self,
        app: AppId,
        pattern: &RoutePattern,
        methods: &Methods,
    ) -> Vec<RouteTarget> {
        let routing = self.routing();
        routing
            .table(app)
            .map(|t| t.conflicts(pattern, methods).into_iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Binds a path (and methods) to a script, in the script's app.
    pub async fn create_route(
        &self,
        p: &Principal,
        script: ScriptId,
        path: &str,
        methods: Option<Vec<String>>,
    ) -> Result<Route, RouteError> {
        let (pattern, parsed) = Self::parse_route(path, methods.as_deref())?;
        let _write = self.write_lock.lock().await;
        let script = self
            .db
            .script_by_id(script)
            .await?
            .ok_or(Error::NotFound("script"))?;
        authz::require(p, Capability::WriteRoutes, script.app_id, "script")?;
        let conflicts = self.conflicts_in(script.app_id, &pattern, &parsed);
        if !conflicts.is_empty() {
            return Err(RouteError::Conflict(RouteConflict(conflicts)));
        }
        let route = Route {
            id: RouteId::new(),
            app_id: script.app_id,
            script_id: script.id,
            path: pattern.as_str().to_owned(),
            methods: parsed.as_list().map(<[String]>::to_vec),
            created_at: repo::now(),
        };
        let stored = self.db.insert_route(&route).await?;
        self.reload_routing().await?;
        self.audit(
            p,
            Some(stored.app_id),
            "route.create",
            Some(stored.id.to_string()),
            json!({ "script_id": stored.script_id, "path": stored.path, "methods": stored.methods }),
        )
        .await;
        Ok(stored)
    }

    /// What creating a route would say, without creating it.
    pub async fn check_route(
        &self,
        p: &Principal,
        app: Option<&AppRef>,
        path: &str,
        methods: Option<Vec<String>>,
    ) -> Result<RouteCheck> {
        let app = self
            .app_for(p, app.unwrap_or(&AppRef::DEFAULT), Capability::ReadRoutes)
            .await?;
        Ok(match Self::parse_route(path, methods.as_deref()) {
            Err(e) => RouteCheck {
                ok: false,
                conflicts: Vec::new(),
                error: Some(e.to_string()),
            },
            Ok((pattern, methods)) => {
                let conflicts = self.conflicts_in(app.id, &pattern, &methods);
                RouteCheck {
                    ok: conflicts.is_empty(),
                    conflicts,
                    error: None,
                }
            }
        })
    }

    pub async fn routes(&self, p: &Principal, app: Option<&AppRef>) -> Result<Vec<Route>> {
        let app = self
            .app_for(p, app.unwrap_or(&AppRef::DEFAULT), Capability::ReadRoutes)
            .await?;
        self.db.routes_in_app(app.id).await
    }

    pub async fn delete_route(&self, p: &Principal, id: RouteId) -> Result<()> {
        let _write = self.write_lock.lock().await;
        let route = self
            .db
            .route_by_id(id)
            .await?
            .ok_or(Error::NotFound("route"))?;
        authz::require(p, Capability::WriteRoutes, route.app_id, "route")?;
        let deleted = self.db.delete_route(id).await?;
        self.reload_routing().await?;
        if !deleted {
            return Err(Error::NotFound("route"));
        }
        self.audit(
            p,
            Some(route.app_id),
            "route.delete",
            Some(id.to_string()),
            json!({ "script_id": route.script_id, "path": route.path, "methods": route.methods }),
        )
        .await;
        Ok(())
    }

    /// Where a request would go (`GET /routes/match`). A host served by an
    /// app `p` has no role in answers 404, like the app itself.
    pub fn match_route(
        &self,
        p: &Principal,
        host: &str,
        method: &str,
        path: &str,
    ) -> Result<RouteLookup> {
        let host = normalise_host(host);
        let path = RequestPath::parse(path)
            .map_err(|e| Error::invalid(ErrorCode::BadRequest, e.to_string()))?;
        let routing = self.routing();
        let dispatch = routing.dispatch(&host, &method.to_ascii_uppercase(), &path);
        authz::require(p, Capability::ReadRoutes, dispatch.app_id, "app")?;
        Ok(match dispatch.route {
            None => RouteLookup {
                matched: false,
                app_id: Some(dispatch.app_id),
                script_id: None,
                route_id: None,
                params: None,
                host_params: None,
                rest: None,
            },
            Some(RouteMatch {
                value,
                params,
                rest,
            }) => RouteLookup {
                matched: true,
                app_id: Some(dispatch.app_id),
                script_id: Some(value.script_id),
                route_id: Some(value.route_id),
                params: Some(to_map(params)),
                host_params: Some(to_map(dispatch.host_params)),
                rest: Some(rest),
            },
        })
    }
}
