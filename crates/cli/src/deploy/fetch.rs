//! Step 3 of a deploy, its first half: what the server has for the app
//! ([`Current`]), read through the admin API in the manifest's terms.

use std::collections::HashMap;

use picloud_shared::routing::{Methods, RoutePattern};
use picloud_shared::{KvEvent, RecordRequests};
use serde_json::Value;

use crate::client::{Api, enc};
use crate::failure::{Failure, Result};
use crate::manifest::{Manifest, TriggerSpec};

use super::plan::{Current, CurrentRoute, CurrentScript, CurrentTrigger};

/// Reads what the server has for the app.
pub(crate) async fn fetch(api: &Api, m: &Manifest) -> Result<Current> {
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
                let collection = str_of(&t["collection"]);
                TriggerSpec::Kv {
                    events: events_of(&t["events"], &collection)?,
                    collection,
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

/// A KV trigger's events as the server lists them. A word this client does
/// not know (a newer server's) stops the deploy: planning without it would
/// replace the trigger with one that no longer listens for it.
fn events_of(v: &Value, collection: &str) -> Result<Vec<KvEvent>> {
    let mut events: Vec<KvEvent> = serde_json::from_value(v.clone()).map_err(|e| {
        Failure::error(format!(
            "the server's trigger on {collection:?} has events this picloud does not \
             know ({e}); use a picloud as new as the server"
        ))
    })?;
    events.sort();
    events.dedup();
    Ok(events)
}

pub(super) fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_triggers_events_are_read_or_the_deploy_stops() {
        let read = |v: Value| events_of(&v, "orders");
        assert_eq!(
            read(serde_json::json!(["delete", "set", "set"])).unwrap(),
            [KvEvent::Set, KvEvent::Delete]
        );
        let e = read(serde_json::json!(["set", "expire"])).unwrap_err();
        assert!(
            e.message.contains(r#""expire" is not an event"#),
            "{}",
            e.message
        );
        assert!(e.message.contains("as new as the server"), "{}", e.message);
        assert!(read(Value::Null).is_err());
    }
}
