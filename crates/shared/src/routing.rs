//! The routing snapshot: every domain claim and every app's route table
//! (built with `picloud-routing`, re-exported here), what dispatch reads.
//! Both the manager (conflicts, `GET /routes/match`) and the orchestrator
//! (dispatch) use it.

use foldhash::HashMap;
use std::sync::Arc;

pub use picloud_routing::*;
use serde::Serialize;

use crate::ids::{AppId, RouteId, ScriptId};

/// Where a route leads (and what it is, for conflict reports).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteTarget {
    #[serde(rename = "id")]
    pub route_id: RouteId,
    pub script_id: ScriptId,
    pub path: String,
    /// `None`: any method.
    pub methods: Option<Vec<String>>,
}

/// Every domain claim and every app's route table: all that dispatch reads.
/// Immutable; a change builds a new one that replaces the old whole.
#[derive(Debug)]
pub struct Routing {
    default_app: AppId,
    hosts: HostTable<AppId>,
    apps: HashMap<AppId, RouteTable<RouteTarget>>,
    /// What the apps that keep requests keep (absent: nothing).
    recording: HashMap<AppId, Arc<crate::Recording>>,
}

/// Where a request goes: the app its Host reaches, and the route in that
/// app, if one matches.
#[derive(Debug)]
pub struct Dispatch<'a> {
    pub app_id: AppId,
    pub host_params: Vec<(String, String)>,
    pub route: Option<RouteMatch<'a, RouteTarget>>,
}

impl Routing {
    /// No claims, no routes.
    pub fn empty(default_app: AppId) -> Routing {
        Routing {
            default_app,
            hosts: HostTable::default(),
            apps: HashMap::default(),
            recording: HashMap::default(),
        }
    }

    /// Builds the tables. A route that conflicts with one added before it
    /// (which the manager never stores) is left out and returned.
    pub fn new(
        default_app: AppId,
        claims: impl IntoIterator<Item = (DomainPattern, AppId)>,
        routes: impl IntoIterator<Item = (AppId, RoutePattern, Methods, RouteTarget)>,
    ) -> (Routing, Vec<RouteTarget>) {
        let mut apps: HashMap<AppId, RouteTable<RouteTarget>> = HashMap::default();
        let mut skipped = Vec::new();
        for (app, pattern, methods, target) in routes {
            let table = apps.entry(app).or_default();
            if !table.conflicts(&pattern, &methods).is_empty() {
                skipped.push(target);
                continue;
            }
            let _ = table.insert(&pattern, methods, target);
        }
        let routing = Routing {
            default_app,
            hosts: HostTable::new(claims),
            apps,
            recording: HashMap::default(),
        };
        (routing, skipped)
    }

    /// The same, with what each app keeps of its requests (apps that keep
    /// none may be left out).
    pub fn with_recording(
        mut self,
        recording: impl IntoIterator<Item = (AppId, crate::Recording)>,
    ) -> Routing {
        self.recording = recording
            .into_iter()
            .filter(|(_, r)| r.mode != crate::RecordRequests::Off)
            .map(|(app, r)| (app, Arc::new(r)))
            .collect();
        self
    }

    /// What `app` keeps of its requests; `None`: nothing.
    pub fn recording(&self, app: AppId) -> Option<&Arc<crate::Recording>> {
        if self.recording.is_empty() {
            return None;
        }
        self.recording.get(&app)
    }

    /// The app a (normalised) Host reaches: the most specific claim, else
    /// the default app.
    pub fn app_for_host(&self, host: &str) -> (AppId, Vec<(String, String)>) {
        match self.hosts.find(host) {
            Some((app, params)) => (*app, params),
            None => (self.default_app, Vec::new()),
        }
    }

    /// One app's routes (`None`: it has none).
    pub fn table(&self, app: AppId) -> Option<&RouteTable<RouteTarget>> {
        self.apps.get(&app)
    }

    /// Two-phase dispatch: Host → app, then only that app's routes.
    pub fn dispatch(&self, host: &str, method: &str, path: &RequestPath) -> Dispatch<'_> {
        let (app_id, host_params) = self.app_for_host(host);
        let route = self.apps.get(&app_id).and_then(|t| t.find(method, path));
        Dispatch {
            app_id,
            host_params,
            route,
        }
    }
}
