//! Step 5 of a deploy: the plan applied, one request at a time.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::client::{Api, enc};
use crate::failure::Result;
use crate::manifest::{Manifest, TriggerSpec};
use crate::output::Progress;

use super::fetch::str_of;
use super::plan::{Current, Plan};

/// Applies a plan, one request at a time, showing progress on a terminal.
/// A refusal stops it with how far it got.
pub(crate) async fn apply(
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

/// `body` with `"message"` added when there is one.
pub(crate) fn with_message(mut body: Value, message: Option<&str>) -> Value {
    if let (Some(message), Some(map)) = (message, body.as_object_mut()) {
        map.insert("message".to_owned(), json!(message));
    }
    body
}
