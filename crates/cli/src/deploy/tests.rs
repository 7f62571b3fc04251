//! The plan and the endpoints, on manifests and server states made up here.

use std::path::Path;

use picloud_shared::{KvEvent, RecordRequests, SandboxOverrides};
use serde_json::{Value, json};

use crate::manifest::{Manifest, TriggerSpec};

use super::endpoints::endpoints;
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
                events: vec![KvEvent::Set],
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
        *events = vec![KvEvent::Set, KvEvent::Delete];
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
