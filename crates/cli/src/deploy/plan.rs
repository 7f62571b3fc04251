//! The plan: what the server has ([`Current`]), and what to create,
//! update, delete and leave alone to make it match the manifest ([`plan`]:
//! pure, unit-tested).

use std::collections::{HashMap, HashSet};

use picloud_shared::routing::{Methods, RoutePattern};
use picloud_shared::{RecordRequests, SandboxOverrides};

use crate::failure::{Failure, Result};
use crate::manifest::{Manifest, RouteSpec, TriggerSpec};

/// What the server has for the app.
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub app_exists: bool,
    pub scripts: Vec<CurrentScript>,
    pub routes: Vec<CurrentRoute>,
    /// `(id, pattern)`; empty when the manifest does not list domains.
    pub domains: Vec<(String, String)>,
    pub triggers: Vec<CurrentTrigger>,
    /// Which requests the app keeps for replay, and the headers it leaves
    /// out of them.
    pub record_requests: RecordRequests,
    pub redact_headers: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CurrentScript {
    pub id: String,
    pub name: String,
    pub source: String,
    pub description: String,
    pub sandbox: SandboxOverrides,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct CurrentRoute {
    pub id: String,
    pub script_id: String,
    /// Normalised like the manifest's.
    pub path: String,
    pub methods: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct CurrentTrigger {
    pub id: String,
    /// The trigger in the manifest's terms (script names, not ids).
    pub spec: TriggerSpec,
}

/// What a deploy does, in the order it does it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub app: String,
    pub create_app: bool,
    /// Scripts of the manifest that the server does not have.
    pub created: Vec<String>,
    /// `(name, id, what changed)`.
    pub updated: Vec<(String, String, Vec<&'static str>)>,
    pub unchanged: Vec<String>,
    /// `(name, id)`: with `--prune`, the app's scripts the manifest does not list.
    pub deleted: Vec<(String, String)>,
    /// `(id, script name, description)`.
    pub delete_routes: Vec<(String, String, String)>,
    /// `(script name, route)`.
    pub create_routes: Vec<(String, RouteSpec)>,
    pub delete_domains: Vec<(String, String)>,
    pub create_domains: Vec<String>,
    pub delete_triggers: Vec<(String, TriggerSpec)>,
    pub create_triggers: Vec<TriggerSpec>,
    /// What the app keeps of its requests, when the manifest changes it.
    pub record_requests: Option<RecordRequests>,
    pub redact_headers: Option<Vec<String>>,
}

impl Plan {
    /// Whether applying it would change anything.
    pub fn is_empty(&self) -> bool {
        !self.create_app
            && self.created.is_empty()
            && self.updated.is_empty()
            && self.deleted.is_empty()
            && self.delete_routes.is_empty()
            && self.create_routes.is_empty()
            && self.delete_domains.is_empty()
            && self.create_domains.is_empty()
            && self.delete_triggers.is_empty()
            && self.create_triggers.is_empty()
            && !self.changes_recording()
    }

    pub(super) fn changes_recording(&self) -> bool {
        self.record_requests.is_some() || self.redact_headers.is_some()
    }

    /// One line per change, `+` create, `~` update, `-` delete.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.create_app {
            out.push(format!("+ app {}", self.app));
        }
        if self.changes_recording() {
            let mut what = Vec::new();
            if let Some(mode) = self.record_requests {
                what.push(format!("keeps {} requests", mode.as_str()));
            }
            if let Some(headers) = &self.redact_headers {
                what.push(if headers.is_empty() {
                    "leaves out no more headers".to_owned()
                } else {
                    format!("leaves out {}", headers.join(", "))
                });
            }
            out.push(format!("~ app {} ({})", self.app, what.join("; ")));
        }
        for name in &self.created {
            out.push(format!("+ script {name}"));
        }
        for (name, _, what) in &self.updated {
            out.push(format!("~ script {name} ({})", what.join(", ")));
        }
        for (name, _) in &self.deleted {
            out.push(format!("- script {name} (and its routes and triggers)"));
        }
        for (_, script, route) in &self.delete_routes {
            out.push(format!("- route {route} -> {script}"));
        }
        for (_, t) in &self.delete_triggers {
            out.push(format!("- trigger {t}"));
        }
        for (_, d) in &self.delete_domains {
            out.push(format!("- domain {d}"));
        }
        for d in &self.create_domains {
            out.push(format!("+ domain {d}"));
        }
        for (script, r) in &self.create_routes {
            out.push(format!("+ route {} -> {script}", r.describe()));
        }
        for t in &self.create_triggers {
            out.push(format!("+ trigger {t}"));
        }
        out
    }

    pub(super) fn steps(&self) -> usize {
        usize::from(self.create_app)
            + self.created.len()
            + self.updated.len()
            + self.deleted.len()
            + self.delete_routes.len()
            + self.create_routes.len()
            + self.delete_domains.len()
            + self.create_domains.len()
            + self.delete_triggers.len()
            + self.create_triggers.len()
            + usize::from(self.changes_recording())
    }
}

/// Computes what a deploy of `m` onto `current` does. Fails (changing
/// nothing) when a route of the manifest would collide with a route the
/// deploy leaves on the server (one of a script the manifest does not list).
pub fn plan(m: &Manifest, current: &Current, prune: bool) -> Result<Plan, Failure> {
    let mut p = Plan {
        app: m.app.clone(),
        create_app: !current.app_exists,
        ..Plan::default()
    };
    let by_name: HashMap<&str, &CurrentScript> = current
        .scripts
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let name_of: HashMap<&str, &str> = current
        .scripts
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    let wanted: HashSet<&str> = m.scripts.iter().map(|s| s.name.as_str()).collect();

    for s in &m.scripts {
        match by_name.get(s.name.as_str()) {
            None => p.created.push(s.name.clone()),
            Some(cur) => {
                let mut what = Vec::new();
                if cur.source != s.source {
                    what.push("source");
                }
                if cur.description != s.description {
                    what.push("description");
                }
                if cur.sandbox != s.sandbox {
                    what.push("sandbox");
                }
                if what.is_empty() {
                    p.unchanged.push(s.name.clone());
                } else {
                    p.updated.push((s.name.clone(), cur.id.clone(), what));
                }
            }
        }
    }
    if prune {
        for s in &current.scripts {
            if !wanted.contains(s.name.as_str()) {
                p.deleted.push((s.name.clone(), s.id.clone()));
            }
        }
    }

    // Routes: a manifest script's routes are exactly the listed ones.
    let mut have: HashSet<(&str, &str, Option<&[String]>)> = HashSet::new();
    let mut staying: Vec<(&CurrentRoute, &str)> = Vec::new();
    for r in &current.routes {
        let Some(script) = name_of.get(r.script_id.as_str()).copied() else {
            continue;
        };
        if wanted.contains(script) {
            let listed = m
                .scripts
                .iter()
                .find(|s| s.name == script)
                .is_some_and(|s| {
                    s.routes
                        .iter()
                        .any(|w| w.path == r.path && w.methods == r.methods)
                });
            if listed {
                have.insert((script, r.path.as_str(), r.methods.as_deref()));
            } else {
                let describe = RouteSpec {
                    path: r.path.clone(),
                    methods: r.methods.clone(),
                    span: 0..0,
                }
                .describe();
                p.delete_routes
                    .push((r.id.clone(), script.to_owned(), describe));
            }
        } else if !prune {
            staying.push((r, script));
        }
    }
    for s in &m.scripts {
        for r in &s.routes {
            if have.contains(&(s.name.as_str(), r.path.as_str(), r.methods.as_deref())) {
                continue;
            }
            // A route the deploy leaves in place must not be in the way.
            let shape = RoutePattern::parse(&r.path).map(|x| x.shape()).ok();
            let methods = Methods::parse(r.methods.as_deref()).unwrap_or(Methods::Any);
            for (other, script) in &staying {
                let other_shape = RoutePattern::parse(&other.path).map(|x| x.shape()).ok();
                let other_methods =
                    Methods::parse(other.methods.as_deref()).unwrap_or(Methods::Any);
                if shape == other_shape && methods.overlaps(&other_methods) {
                    let theirs = RouteSpec {
                        path: other.path.clone(),
                        methods: other.methods.clone(),
                        span: 0..0,
                    };
                    return Err(Failure::error(
                        m.route_error(
                            r,
                            format!(
                                "scripts.routes: {} conflicts with the route {} of script {script:?} on the server, which is not in the manifest (delete it, or deploy with --prune)",
                                r.describe(),
                                theirs.describe()
                            ),
                        )
                        .0,
                    ));
                }
            }
            p.create_routes.push((s.name.clone(), r.clone()));
        }
    }

    // What the app keeps of its requests, when the manifest says.
    p.record_requests = m
        .record_requests
        .filter(|mode| *mode != current.record_requests);
    p.redact_headers = m
        .redact_headers
        .clone()
        .filter(|headers| *headers != current.redact_headers);

    // Domains: exactly the listed ones, when the manifest lists them.
    if let Some(domains) = &m.domains {
        let have: HashSet<&str> = current.domains.iter().map(|(_, d)| d.as_str()).collect();
        for (id, d) in &current.domains {
            if !domains.contains(d) {
                p.delete_domains.push((id.clone(), d.clone()));
            }
        }
        for d in domains {
            if !have.contains(d.as_str()) {
                p.create_domains.push(d.clone());
            }
        }
    }

    // Triggers of manifest scripts: exactly the listed ones. There is no
    // update: a changed trigger is deleted and created again.
    let mut unmatched: Vec<&TriggerSpec> = m.triggers.iter().collect();
    for t in &current.triggers {
        if !wanted.contains(t.spec.script()) {
            continue;
        }
        if let Some(i) = unmatched.iter().position(|w| **w == t.spec) {
            unmatched.remove(i);
        } else {
            p.delete_triggers.push((t.id.clone(), t.spec.clone()));
        }
    }
    p.create_triggers = unmatched.into_iter().cloned().collect();
    Ok(p)
}
