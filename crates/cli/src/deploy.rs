//! `picloud deploy`: make the server match `picloud.toml` (docs/manifest.md).
//!
//! 1. Read and check the manifest and every script file (nothing is sent).
//! 2. Compile every script with the server's own compiler
//!    (`LocalExecutor`, the `ScriptCompiler` the manager uses, with the
//!    built-in ceilings): one broken file stops the deploy before the
//!    server is changed.
//! 3. Read the app's scripts, routes, domains and triggers, and compute a
//!    [`Plan`] ([`plan`], pure, unit-tested): what to create, update,
//!    delete, leave alone.
//! 4. Print it; `--dry-run` stops here.
//! 5. Apply it, creations and updates of scripts first, deletions before
//!    the creations that could collide with them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use picloud_executor_core::{ExecutorConfig, LocalExecutor};
use picloud_shared::routing::{Methods, RoutePattern};
use picloud_shared::{
    AppId, RecordRequests, SandboxCeilings, SandboxOverrides, Script, ScriptCompiler, ScriptId,
    ScriptName,
};
use serde_json::{Value, json};

use super::client::{Api, enc};
use super::commands::DEFAULT_APP;
use super::manifest::{Manifest, RouteSpec, TriggerSpec};
use super::output::{self, Progress, cell};
use super::{DeployArgs, Failure, Result};

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

    fn changes_recording(&self) -> bool {
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

    fn steps(&self) -> usize {
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

fn normalise_route(
    path: &str,
    methods: Option<&[String]>,
) -> Option<(String, Option<Vec<String>>)> {
    let pattern = RoutePattern::parse(path).ok()?;
    let methods = Methods::parse(methods).ok()?;
    Some((
        pattern.as_str().to_owned(),
        methods.as_list().map(<[String]>::to_vec),
    ))
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

/// Compiles every script as the server would, before anything is sent.
async fn compile_check(m: &Manifest, progress: &Progress) -> Result<()> {
    let executor = LocalExecutor::new(ExecutorConfig {
        threads: 1,
        ceilings: SandboxCeilings::default(),
    });
    let total = m.scripts.len();
    for (i, s) in m.scripts.iter().enumerate() {
        let file = m.file_shown(s);
        progress.show(&format!("compiling [{}/{total}] {}", i + 1, file.display()));
        let name = ScriptName::parse(&s.name).map_err(|e| Failure::error(e.to_string()))?;
        let script = Script {
            id: ScriptId::new(),
            app_id: AppId::new(),
            name,
            source: s.source.clone(),
            version: 1,
            description: s.description.clone(),
            sandbox: s.sandbox,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        if let Err(e) = executor.compile(Arc::new(script)).await {
            return Err(Failure::error(format!(
                "{}:{}:{}: {}",
                file.display(),
                e.line.unwrap_or(1),
                e.column.unwrap_or(1),
                e.message
            )));
        }
    }
    progress.clear();
    Ok(())
}

/// Reads what the server has for the app.
async fn fetch(api: &Api, m: &Manifest) -> Result<Current> {
    let app = enc(&m.app);
    let Some(found) = api.get_opt(&format!("/apps/{app}")).await? else {
        return Ok(Current::default());
    };
    let mut current = Current {
        app_exists: true,
        record_requests: found["record_requests"]
            .as_str()
            .and_then(RecordRequests::parse)
            .unwrap_or_default(),
        redact_headers: serde_json::from_value(found["redact_headers"].clone()).unwrap_or_default(),
        ..Current::default()
    };
    for s in api.items(&format!("/scripts?app={app}")).await? {
        current.scripts.push(CurrentScript {
            id: str_of(&s["id"]),
            name: str_of(&s["name"]),
            source: str_of(&s["source"]),
            description: str_of(&s["description"]),
            sandbox: serde_json::from_value(s["sandbox"].clone()).unwrap_or_default(),
            version: s["version"].as_i64().unwrap_or(0),
        });
    }
    for r in api.items(&format!("/routes?app={app}")).await? {
        let methods: Option<Vec<String>> =
            serde_json::from_value(r["methods"].clone()).ok().flatten();
        let path = str_of(&r["path"]);
        let (path, methods) = normalise_route(&path, methods.as_deref()).unwrap_or((path, methods));
        current.routes.push(CurrentRoute {
            id: str_of(&r["id"]),
            script_id: str_of(&r["script_id"]),
            path,
            methods,
        });
    }
    if m.domains.is_some() {
        for d in api.items(&format!("/apps/{app}/domains")).await? {
            current
                .domains
                .push((str_of(&d["id"]), str_of(&d["pattern"])));
        }
    }
    let name_of: HashMap<String, String> = current
        .scripts
        .iter()
        .map(|s| (s.id.clone(), s.name.clone()))
        .collect();
    for t in api.items(&format!("/apps/{app}/triggers")).await? {
        let Some(script) = name_of.get(&str_of(&t["script_id"])).cloned() else {
            continue;
        };
        let spec = match t["kind"].as_str() {
            Some("kv") => {
                let mut events: Vec<String> =
                    serde_json::from_value(t["events"].clone()).unwrap_or_default();
                events.sort();
                events.dedup();
                TriggerSpec::Kv {
                    collection: str_of(&t["collection"]),
                    events,
                    script,
                    max_attempts: t["max_attempts"]
                        .as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .unwrap_or(picloud_shared::events::DEFAULT_MAX_ATTEMPTS),
                    dead_letter_script: t["dead_letter_script_id"]
                        .as_str()
                        .and_then(|id| name_of.get(id).cloned()),
                }
            }
            Some("cron") => TriggerSpec::Cron {
                schedule: str_of(&t["schedule"]),
                script,
            },
            _ => continue,
        };
        current.triggers.push(CurrentTrigger {
            id: str_of(&t["id"]),
            spec,
        });
    }
    Ok(current)
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Applies a plan, one request at a time, showing progress on a terminal.
/// A refusal stops it with how far it got.
async fn apply(
    api: &Api,
    m: &Manifest,
    current: &Current,
    p: &Plan,
    message: Option<&str>,
) -> Result<()> {
    let progress = Progress::new();
    let total = p.steps();
    let mut done = 0usize;
    let app = enc(&m.app);
    let mut ids: HashMap<String, String> = current
        .scripts
        .iter()
        .map(|s| (s.name.clone(), s.id.clone()))
        .collect();

    // Each step: its description, then the request.
    macro_rules! step {
        ($what:expr, $call:expr) => {{
            let what: String = $what;
            progress.show(&format!("[{}/{total}] {what}", done + 1));
            match $call.await {
                Ok(v) => {
                    done += 1;
                    v
                }
                Err(mut f) => {
                    f.message = format!(
                        "{what}: {} ({done} of {total} changes were made before this one; fix it and deploy again)",
                        f.message
                    );
                    return Err(f);
                }
            }
        }};
    }

    if p.create_app {
        step!(
            format!("create app {}", m.app),
            api.post("/apps", &json!({ "name": m.app }))
        );
    }
    if p.changes_recording() {
        let mut body = serde_json::Map::new();
        if let Some(mode) = p.record_requests {
            body.insert("record_requests".into(), json!(mode));
        }
        if let Some(headers) = &p.redact_headers {
            body.insert("redact_headers".into(), json!(headers));
        }
        step!(
            format!("set what app {} keeps of its requests", m.app),
            api.patch(&format!("/apps/{app}"), &Value::Object(body))
        );
    }
    for s in &m.scripts {
        if p.created.contains(&s.name) {
            let created = step!(
                format!("create script {}", s.name),
                api.post(
                    "/scripts",
                    &with_message(
                        json!({
                            "name": s.name,
                            "app": m.app,
                            "source": s.source,
                            "description": s.description,
                            "sandbox": s.sandbox,
                        }),
                        message
                    )
                )
            );
            ids.insert(s.name.clone(), str_of(&created["id"]));
        } else if let Some((_, id, what)) = p.updated.iter().find(|(n, _, _)| *n == s.name) {
            let mut body = serde_json::Map::new();
            for w in what {
                let v = match *w {
                    "source" => json!(s.source),
                    "description" => json!(s.description),
                    _ => json!(s.sandbox),
                };
                body.insert((*w).to_owned(), v);
            }
            step!(
                format!("update script {} ({})", s.name, what.join(", ")),
                api.put(
                    &format!("/scripts/{id}"),
                    &with_message(Value::Object(body), message)
                )
            );
        }
    }
    for (name, id) in &p.deleted {
        step!(
            format!("delete script {name}"),
            api.delete(&format!("/scripts/{id}"))
        );
    }
    for (id, script, route) in &p.delete_routes {
        step!(
            format!("delete route {route} -> {script}"),
            api.delete(&format!("/routes/{id}"))
        );
    }
    for (id, t) in &p.delete_triggers {
        step!(
            format!("delete trigger {t}"),
            api.delete(&format!("/triggers/{id}"))
        );
    }
    for (id, d) in &p.delete_domains {
        step!(
            format!("delete domain {d}"),
            api.delete(&format!("/apps/{app}/domains/{id}"))
        );
    }
    for d in &p.create_domains {
        step!(
            format!("claim domain {d}"),
            api.post(&format!("/apps/{app}/domains"), &json!({ "pattern": d }))
        );
    }
    for (script, r) in &p.create_routes {
        let id = ids.get(script).cloned().unwrap_or_default();
        let mut body = json!({ "path": r.path });
        if let Some(methods) = &r.methods {
            body["methods"] = json!(methods);
        }
        step!(
            format!("create route {} -> {script}", r.describe()),
            api.post(&format!("/scripts/{id}/routes"), &body)
        );
    }
    for t in &p.create_triggers {
        let id_of = |name: &str| ids.get(name).cloned().unwrap_or_default();
        let body = match t {
            TriggerSpec::Kv {
                collection,
                events,
                script,
                max_attempts,
                dead_letter_script,
            } => {
                let mut b = json!({
                    "kind": "kv",
                    "collection": collection,
                    "events": events,
                    "script_id": id_of(script),
                    "max_attempts": max_attempts,
                });
                if let Some(d) = dead_letter_script {
                    b["dead_letter_script_id"] = json!(id_of(d));
                }
                b
            }
            TriggerSpec::Cron { schedule, script } => json!({
                "kind": "cron",
                "schedule": schedule,
                "script_id": id_of(script),
            }),
        };
        step!(
            format!("create trigger {t}"),
            api.post(&format!("/apps/{app}/triggers"), &body)
        );
    }
    progress.clear();
    Ok(())
}

pub async fn run(args: DeployArgs) -> Result<()> {
    let json_out = args.common.json;
    let progress = Progress::new();
    let mut m = Manifest::load(&args.dir).map_err(|e| Failure::error(e.0))?;
    m.read_sources().map_err(|e| Failure::error(e.0))?;
    compile_check(&m, &progress).await?;

    let api = Api::from_common(&args.common)?;
    api.require_login()?;
    progress.show(&format!("reading app {} on {}", m.app, api.base));
    let current = fetch(&api, &m).await?;
    progress.clear();
    let p = plan(&m, &current, args.prune)?;
    let lines = p.lines();

    if !json_out {
        let verb = if args.dry_run {
            "would deploy"
        } else {
            "deploying"
        };
        println!(
            "{verb} {} to app {} on {}",
            m.path.display(),
            m.app,
            api.base
        );
        for line in &lines {
            println!("  {line}");
        }
    }
    // A deploy that changed something is a release of the app (the server
    // answers the newest one when nothing it holds changed).
    let mut release = Value::Null;
    if !args.dry_run && !p.is_empty() {
        apply(&api, &m, &current, &p, args.message.as_deref()).await?;
        release = api
            .post(
                &format!("/apps/{}/releases", enc(&m.app)),
                &with_message(json!({ "kind": "deploy" }), args.message.as_deref()),
            )
            .await?;
    }

    let deleted: Vec<&str> = p.deleted.iter().map(|(n, _)| n.as_str()).collect();
    let updated: Vec<&str> = p.updated.iter().map(|(n, _, _)| n.as_str()).collect();
    // Where the routes answer: the app's claims as they are after this deploy.
    let hosts = if m.app == DEFAULT_APP {
        Vec::new()
    } else if let Some(domains) = &m.domains {
        domains.clone()
    } else if args.dry_run && !current.app_exists {
        Vec::new()
    } else {
        api.items(&format!("/apps/{}/domains", enc(&m.app)))
            .await?
            .iter()
            .filter_map(|d| d["pattern"].as_str().map(str::to_owned))
            .collect()
    };
    let endpoints = endpoints(&m, &api.base, &hosts);
    if json_out {
        output::json(&json!({
            "app": m.app,
            "dry_run": args.dry_run,
            "created": p.created,
            "updated": updated,
            "deleted": deleted,
            "unchanged": p.unchanged,
            "changes": lines,
            "routes": endpoints,
            "release": release["number"],
        }));
    } else if p.is_empty() {
        println!(
            "nothing to change: {} script(s) unchanged",
            p.unchanged.len()
        );
    } else {
        let counts = format!(
            "{} created, {} updated, {} deleted, {} unchanged",
            p.created.len(),
            updated.len(),
            deleted.len(),
            p.unchanged.len()
        );
        if args.dry_run {
            println!("dry run, nothing changed: scripts would be {counts}");
        } else {
            println!("done: scripts {counts}");
            if let Some(n) = release["number"].as_i64() {
                println!("release {n} of app {} (picloud releases lists them)", m.app);
            }
        }
    }
    if !json_out {
        print_endpoints(&m, &endpoints);
    }
    warn_missing_secrets(&api, &m, args.dry_run && !current.app_exists).await?;
    Ok(())
}

/// `body` with `"message"` added when there is one.
fn with_message(mut body: Value, message: Option<&str>) -> Value {
    if let (Some(message), Some(map)) = (message, body.as_object_mut()) {
        map.insert("message".to_owned(), json!(message));
    }
    body
}

/// Says (on stderr) which of the secrets the manifest declares the app
/// lacks on the server, and how to set them. Values never travel with a
/// deploy.
async fn warn_missing_secrets(api: &Api, m: &Manifest, app_is_new: bool) -> Result<()> {
    if m.secrets.is_empty() {
        return Ok(());
    }
    let set: Vec<String> = if app_is_new {
        Vec::new()
    } else {
        api.items(&format!("/apps/{}/secrets", enc(&m.app)))
            .await?
            .iter()
            .filter_map(|s| s["name"].as_str().map(str::to_owned))
            .collect()
    };
    for name in m.secrets.iter().filter(|n| !set.contains(n)) {
        eprintln!(
            "warning: secret {name} is not set for app {}: picloud secrets set {name} --app {}",
            m.app, m.app
        );
    }
    Ok(())
}

/// Each route of the manifest and a URL that reaches it from here: the
/// server's own, with the `Host` an app other than `default` needs (its
/// first exact claim, else its first wildcard one as the pattern; none when
/// it claims none, and then no host reaches it).
fn endpoints(m: &Manifest, base: &str, hosts: &[String]) -> Vec<Value> {
    let base = base.trim_end_matches('/');
    let host = if m.app == DEFAULT_APP {
        None
    } else {
        match hosts.iter().find(|h| !h.contains('{')).or(hosts.first()) {
            Some(h) => Some(h.clone()),
            None => return Vec::new(),
        }
    };
    m.scripts
        .iter()
        .flat_map(|s| {
            s.routes.iter().map(|r| {
                json!({
                    "script": s.name,
                    "methods": r.methods,
                    "path": r.path,
                    "url": format!("{base}{}", r.path),
                    "host": host,
                })
            })
        })
        .collect()
}

fn print_endpoints(m: &Manifest, endpoints: &[Value]) {
    let routes = m.scripts.iter().map(|s| s.routes.len()).sum::<usize>();
    if routes == 0 {
        return;
    }
    if endpoints.is_empty() {
        let first = m.scripts.iter().find(|s| !s.routes.is_empty());
        println!(
            "app {} claims no host, so its routes answer nowhere yet: add \
             domains = [\"...\"] under [app] in picloud.toml (docs/routing.md); \
             meanwhile: picloud invoke {}",
            m.app,
            first.map_or("NAME", |s| s.name.as_str())
        );
        return;
    }
    println!("routes:");
    for e in endpoints {
        let methods = e["methods"].as_array().map_or_else(
            || "any".to_owned(),
            |ms| {
                ms.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            },
        );
        let url = e["url"].as_str().unwrap_or_default();
        match e["host"].as_str() {
            None => println!("  {methods:<4} {url}  -> {}", cell(&e["script"])),
            Some(host) => println!(
                "  {methods:<4} {url}  (Host: {host}) -> {}",
                cell(&e["script"])
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const MANIFEST: &str = r#"
[app]
name = "shop"
domains = ["shop.example.com"]

[[scripts]]
name = "hello"
file = "hello.rhai"
routes = ["/hello", { path = "/users/:id", methods = ["GET"] }]

[[scripts]]
name = "audit"
file = "audit.rhai"
sandbox = { timeout_ms = 2000 }

[[triggers]]
kind = "kv"
collection = "orders"
events = ["set"]
script = "audit"
"#;

    #[test]
    fn a_route_is_reached_through_an_exact_claim_when_the_app_has_one() {
        let m = manifest();
        let hosts = |claims: &[&str]| -> Vec<Value> {
            let claims: Vec<String> = claims.iter().map(|c| (*c).to_owned()).collect();
            endpoints(&m, "http://localhost:8080/", &claims)
                .iter()
                .map(|e| e["host"].clone())
                .collect()
        };
        assert_eq!(
            hosts(&["{tenant}.example.com", "shop.example.com"]),
            [json!("shop.example.com"), json!("shop.example.com")]
        );
        assert_eq!(
            hosts(&["{tenant}.example.com"]),
            [json!("{tenant}.example.com"), json!("{tenant}.example.com")]
        );
        assert!(hosts(&[]).is_empty(), "no claim: no URL reaches the routes");
        let e = endpoints(
            &m,
            "http://localhost:8080/",
            &["shop.example.com".to_owned()],
        );
        assert_eq!(e[0]["url"], "http://localhost:8080/hello");
        assert_eq!(e[1]["url"], "http://localhost:8080/users/:id");
    }

    fn manifest() -> Manifest {
        let mut m = Manifest::parse(MANIFEST, Path::new("picloud.toml"), Path::new(".")).unwrap();
        m.scripts[0].source = "\"hi\"".into();
        m.scripts[1].source = "()".into();
        m
    }

    fn script(id: &str, name: &str, source: &str) -> CurrentScript {
        CurrentScript {
            id: id.into(),
            name: name.into(),
            source: source.into(),
            description: String::new(),
            sandbox: SandboxOverrides::default(),
            version: 1,
        }
    }

    fn route(id: &str, script_id: &str, path: &str, methods: Option<&[&str]>) -> CurrentRoute {
        CurrentRoute {
            id: id.into(),
            script_id: script_id.into(),
            path: path.into(),
            methods: methods.map(|m| m.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    /// What the server has after deploying [`MANIFEST`].
    fn deployed() -> Current {
        let mut audit = script("s2", "audit", "()");
        audit.sandbox.timeout_ms = Some(2000);
        Current {
            app_exists: true,
            scripts: vec![script("s1", "hello", "\"hi\""), audit],
            routes: vec![
                route("r1", "s1", "/hello", None),
                route("r2", "s1", "/users/:id", Some(&["GET"])),
            ],
            domains: vec![("d1".into(), "shop.example.com".into())],
            triggers: vec![CurrentTrigger {
                id: "t1".into(),
                spec: TriggerSpec::Kv {
                    collection: "orders".into(),
                    events: vec!["set".into()],
                    script: "audit".into(),
                    max_attempts: 3,
                    dead_letter_script: None,
                },
            }],
            record_requests: RecordRequests::Off,
            redact_headers: Vec::new(),
        }
    }

    #[test]
    fn what_the_app_keeps_of_its_requests_changes_only_when_the_manifest_says() {
        let mut m = manifest();
        m.record_requests = Some(RecordRequests::Failed);
        m.redact_headers = Some(vec!["x-api-key".into()]);
        let p = plan(&m, &deployed(), false).unwrap();
        assert_eq!(p.record_requests, Some(RecordRequests::Failed));
        assert_eq!(p.redact_headers, Some(vec!["x-api-key".to_owned()]));
        assert_eq!(p.steps(), 1);
        assert_eq!(
            p.lines(),
            ["~ app shop (keeps failed requests; leaves out x-api-key)"]
        );
        // Already so: nothing to do.
        let mut now = deployed();
        now.record_requests = RecordRequests::Failed;
        now.redact_headers = vec!["x-api-key".into()];
        assert!(plan(&m, &now, false).unwrap().is_empty());
        // Not in the manifest: left as it is on the server.
        assert!(plan(&manifest(), &now, false).unwrap().is_empty());
    }

    #[test]
    fn onto_an_empty_server_everything_is_created() {
        let p = plan(&manifest(), &Current::default(), false).unwrap();
        assert!(p.create_app);
        assert_eq!(p.created, ["hello", "audit"]);
        assert!(p.updated.is_empty() && p.unchanged.is_empty() && p.deleted.is_empty());
        assert_eq!(p.create_routes.len(), 2);
        assert_eq!(p.create_domains, ["shop.example.com"]);
        assert_eq!(p.create_triggers.len(), 1);
        assert_eq!(p.steps(), 1 + 2 + 2 + 1 + 1);
        assert_eq!(
            p.lines(),
            [
                "+ app shop",
                "+ script hello",
                "+ script audit",
                "+ domain shop.example.com",
                "+ route any /hello -> hello",
                "+ route GET /users/:id -> hello",
                "+ trigger kv orders [set] -> audit (max_attempts 3)",
            ]
        );
    }

    #[test]
    fn a_second_deploy_changes_nothing() {
        let p = plan(&manifest(), &deployed(), true).unwrap();
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(p.unchanged, ["hello", "audit"]);
    }

    #[test]
    fn only_what_changed_is_updated() {
        let mut m = manifest();
        m.scripts[0].source = "\"hello\"".into();
        m.scripts[1].description = "logs orders".into();
        m.scripts[1].sandbox = SandboxOverrides::default();
        let p = plan(&m, &deployed(), false).unwrap();
        assert_eq!(
            p.updated,
            vec![
                ("hello".to_owned(), "s1".to_owned(), vec!["source"]),
                (
                    "audit".to_owned(),
                    "s2".to_owned(),
                    vec!["description", "sandbox"]
                ),
            ]
        );
        assert!(p.created.is_empty() && p.create_routes.is_empty());
    }

    #[test]
    fn unlisted_scripts_go_only_with_prune() {
        let mut current = deployed();
        current.scripts.push(script("s3", "old", "1"));
        current.routes.push(route("r3", "s3", "/old", None));
        let p = plan(&manifest(), &current, false).unwrap();
        assert!(p.is_empty(), "{p:?}");
        let p = plan(&manifest(), &current, true).unwrap();
        assert_eq!(p.deleted, [("old".to_owned(), "s3".to_owned())]);
        // Its routes go with it; no separate deletion.
        assert!(p.delete_routes.is_empty());
    }

    #[test]
    fn routes_domains_and_triggers_are_reconciled() {
        let mut current = deployed();
        // A route the manifest no longer lists, one with other methods, a
        // domain it does not list, a trigger that differs.
        current.routes[1].methods = Some(vec!["GET".into(), "POST".into()]);
        current.routes.push(route("r9", "s2", "/gone", None));
        current
            .domains
            .push(("d9".into(), "old.example.com".into()));
        if let TriggerSpec::Kv { events, .. } = &mut current.triggers[0].spec {
            *events = vec!["delete".into(), "set".into()];
        }
        let p = plan(&manifest(), &current, false).unwrap();
        assert_eq!(
            p.delete_routes,
            [
                (
                    "r2".to_owned(),
                    "hello".to_owned(),
                    "GET,POST /users/:id".to_owned()
                ),
                ("r9".to_owned(), "audit".to_owned(), "any /gone".to_owned()),
            ]
        );
        assert_eq!(p.create_routes.len(), 1);
        assert_eq!(p.create_routes[0].1.describe(), "GET /users/:id");
        assert_eq!(
            p.delete_domains,
            [("d9".to_owned(), "old.example.com".to_owned())]
        );
        assert!(p.create_domains.is_empty());
        assert_eq!(p.delete_triggers.len(), 1);
        assert_eq!(p.delete_triggers[0].0, "t1");
        assert_eq!(p.create_triggers, manifest().triggers);
        assert!(p.created.is_empty() && p.updated.is_empty());
    }

    #[test]
    fn without_a_domains_key_claims_are_left_alone() {
        let mut m = manifest();
        m.domains = None;
        let mut current = deployed();
        current.domains.clear();
        let p = plan(&m, &current, true).unwrap();
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn triggers_of_unlisted_scripts_are_left_alone() {
        let mut current = deployed();
        current.scripts.push(script("s3", "other", "1"));
        current.triggers.push(CurrentTrigger {
            id: "t2".into(),
            spec: TriggerSpec::Cron {
                schedule: "* * * * *".into(),
                script: "other".into(),
            },
        });
        let p = plan(&manifest(), &current, false).unwrap();
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn a_route_in_the_way_on_the_server_fails_the_plan() {
        let mut current = deployed();
        current.routes.remove(1);
        current.scripts.push(script("s3", "other", "1"));
        current.routes.push(route("r3", "s3", "/users/:uid", None));
        let e = plan(&manifest(), &current, false).unwrap_err();
        assert_eq!(e.exit, 1);
        assert!(
            e.message.starts_with("picloud.toml:9:")
                && e.message.contains(
                    "GET /users/:id conflicts with the route any /users/:uid of script \"other\""
                ),
            "{}",
            e.message
        );
        // With --prune the other script goes first, and the plan is fine.
        let p = plan(&manifest(), &current, true).unwrap();
        assert_eq!(p.deleted, [("other".to_owned(), "s3".to_owned())]);
        assert_eq!(p.create_routes.len(), 1);
    }
}
