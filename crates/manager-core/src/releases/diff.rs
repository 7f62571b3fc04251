//! Comparing snapshots: whether two make the app do the same, and what changed, in words.

use std::collections::{BTreeMap, BTreeSet};

use crate::events::TriggerKind;
use picloud_shared::ScriptId;

use super::Snapshot;

/// The parts of a snapshot that make a difference to what the app does
/// (ids of routes, domains and triggers are left out: recreating one the
/// same is no change), each route, domain and trigger in words.
#[derive(PartialEq, Eq)]
struct Meaning {
    scripts: BTreeMap<ScriptId, (String, i64)>,
    routes: BTreeSet<String>,
    domains: BTreeSet<String>,
    triggers: BTreeSet<String>,
}

fn meaning(s: &Snapshot) -> Meaning {
    let names: BTreeMap<ScriptId, &str> =
        s.scripts.iter().map(|x| (x.id, x.name.as_str())).collect();
    let name = |id: &ScriptId| {
        names
            .get(id)
            .copied()
            .unwrap_or("(deleted script)")
            .to_owned()
    };
    let scripts = s
        .scripts
        .iter()
        .map(|x| (x.id, (x.name.clone(), x.version)))
        .collect();
    let routes = s
        .routes
        .iter()
        .map(|r| {
            let methods = r.methods.as_ref().map_or("ANY".to_owned(), |m| m.join(","));
            format!("route {methods} {} → {}", r.path, name(&r.script_id))
        })
        .collect();
    let domains = s
        .domains
        .iter()
        .map(|d| format!("domain {}", d.pattern))
        .collect();
    let triggers = s
        .triggers
        .iter()
        .map(|t| {
            let what = match t.kind {
                // A tick is delivered once: attempts do not apply.
                TriggerKind::Cron => {
                    return format!(
                        "cron trigger \"{}\" → {}",
                        t.schedule.as_deref().unwrap_or(""),
                        name(&t.script_id)
                    );
                }
                TriggerKind::Kv => {
                    let events: Vec<&str> =
                        picloud_shared::KvEvent::of_flags(t.on_set, t.on_delete)
                            .into_iter()
                            .map(picloud_shared::KvEvent::as_str)
                            .collect();
                    format!(
                        "kv trigger on {} ({})",
                        t.collection.as_deref().unwrap_or(""),
                        events.join(", ")
                    )
                }
            };
            let dead = t
                .dead_letter_script_id
                .as_ref()
                .map(|d| format!(", dead letters → {}", name(d)))
                .unwrap_or_default();
            format!(
                "{what} → {}, {} attempts{dead}",
                name(&t.script_id),
                t.max_attempts
            )
        })
        .collect();
    Meaning {
        scripts,
        routes,
        domains,
        triggers,
    }
}

/// Whether two snapshots make the app do the same.
pub fn same_state(a: &Snapshot, b: &Snapshot) -> bool {
    meaning(a) == meaning(b)
}

/// What changed from `old` to `new`, in words, scripts first.
pub fn changes(old: &Snapshot, new: &Snapshot) -> Vec<String> {
    let (old, new) = (meaning(old), meaning(new));
    let mut out = Vec::new();
    for (id, (name, version)) in &new.scripts {
        match old.scripts.get(id) {
            None => out.push(format!("script {name} added (version {version})")),
            Some((_, was)) if was != version => {
                out.push(format!("script {name}: version {was} → {version}"));
            }
            Some(_) => {}
        }
    }
    for (id, (name, _)) in &old.scripts {
        if !new.scripts.contains_key(id) {
            out.push(format!("script {name} removed"));
        }
    }
    for (was, now) in [
        (&old.routes, &new.routes),
        (&old.domains, &new.domains),
        (&old.triggers, &new.triggers),
    ] {
        out.extend(now.difference(was).map(|x| format!("{x} added")));
        out.extend(was.difference(now).map(|x| format!("{x} removed")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;

    fn script(n: u128, name: &str, version: i64) -> ReleasedScript {
        ReleasedScript {
            id: ScriptId(Uuid::from_u128(n)),
            name: name.into(),
            version,
        }
    }

    #[test]
    fn changes_are_said_in_words_and_ids_of_the_rest_do_not_count() {
        let route = |id: u128, script: u128| ReleasedRoute {
            id: RouteId(Uuid::from_u128(id)),
            script_id: ScriptId(Uuid::from_u128(script)),
            path: "/orders/{id}".into(),
            methods: Some(vec!["GET".into()]),
        };
        let old = Snapshot {
            scripts: vec![script(1, "api", 3), script(2, "old", 1)],
            routes: vec![route(10, 1)],
            domains: vec![ReleasedDomain {
                id: DomainId(Uuid::from_u128(20)),
                pattern: "shop.example.com".into(),
            }],
            triggers: vec![],
        };
        // The same route made again (another id): no change.
        let mut same = old.clone();
        same.routes = vec![route(11, 1)];
        assert!(same_state(&old, &same));
        assert!(changes(&old, &same).is_empty());

        let new = Snapshot {
            scripts: vec![script(1, "api", 5), script(3, "new", 1)],
            routes: vec![],
            domains: old.domains.clone(),
            triggers: vec![ReleasedTrigger {
                id: TriggerId(Uuid::from_u128(30)),
                kind: TriggerKind::Cron,
                script_id: ScriptId(Uuid::from_u128(3)),
                collection: None,
                on_set: false,
                on_delete: false,
                max_attempts: 3,
                dead_letter_script_id: None,
                schedule: Some("*/5 * * * *".into()),
            }],
        };
        assert!(!same_state(&old, &new));
        assert_eq!(
            changes(&old, &new),
            [
                "script api: version 3 → 5",
                "script new added (version 1)",
                "script old removed",
                "route GET /orders/{id} → api removed",
                "cron trigger \"*/5 * * * *\" → new added",
            ]
        );
        assert_eq!(
            changes(&Snapshot::default(), &old),
            [
                "script api added (version 3)",
                "script old added (version 1)",
                "route GET /orders/{id} → api added",
                "domain shop.example.com added",
            ]
        );
    }
}
