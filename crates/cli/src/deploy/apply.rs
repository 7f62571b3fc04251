//! Checking, reading the server, applying a plan: the command itself.

use std::collections::HashMap;
use std::sync::Arc;

use picloud_executor_core::{ExecutorConfig, LocalExecutor};
use picloud_shared::{
    AppId, RecordRequests, SandboxCeilings, Script, ScriptCompiler, ScriptId, ScriptName,
};
use serde_json::{Value, json};

use crate::args::DEFAULT_APP;
use crate::args::DeployArgs;
use crate::client::{Api, enc};
use crate::failure::{Failure, Result};
use crate::manifest::{Manifest, TriggerSpec};
use crate::output::{self, Progress};

use super::endpoints::{endpoints, print_endpoints};
use super::plan::*;

/// Compiles every script as the server would, before anything is sent.
pub(super) async fn compile_check(m: &Manifest, progress: &Progress) -> Result<()> {
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
pub(super) async fn fetch(api: &Api, m: &Manifest) -> Result<Current> {
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

pub(super) fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Applies a plan, one request at a time, showing progress on a terminal.
/// A refusal stops it with how far it got.
pub(super) async fn apply(
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
pub(super) fn with_message(mut body: Value, message: Option<&str>) -> Value {
    if let (Some(message), Some(map)) = (message, body.as_object_mut()) {
        map.insert("message".to_owned(), json!(message));
    }
    body
}

/// Says (on stderr) which of the secrets the manifest declares the app
/// lacks on the server, and how to set them. Values never travel with a
/// deploy.
pub(super) async fn warn_missing_secrets(api: &Api, m: &Manifest, app_is_new: bool) -> Result<()> {
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
