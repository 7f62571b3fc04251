//! Manifests good and bad, and the one-line errors they get.

use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<Manifest, ManifestError> {
    Manifest::parse(text, Path::new("picloud.toml"), Path::new("."))
}

fn err(text: &str) -> String {
    parse(text).expect_err("an error").0
}

const FULL: &str = r#"
[app]
name = "shop"
domains = ["Shop.Example.com", "{tenant}.shop.example.com"]

[[scripts]]
name = "hello"
file = "scripts/hello.rhai"
routes = ["/hello/", { path = "/users/:id", methods = ["get", "POST"] }]
sandbox = { timeout_ms = 2000 }
description = "says hello"

[[scripts]]
name = "audit"
file = "scripts/audit.rhai"

[[triggers]]
kind = "kv"
collection = "orders"
events = ["set", "set"]
script = "audit"
dead_letter_script = "hello"

[[triggers]]
kind = "cron"
schedule = "0 * * * *"
script = "hello"
"#;

#[test]
fn the_contract_example_parses_and_is_normalised() {
    let m = parse(FULL).unwrap();
    assert_eq!(m.app, "shop");
    assert_eq!(
        m.domains.as_deref(),
        Some(
            &[
                "shop.example.com".to_owned(),
                "{tenant}.shop.example.com".to_owned()
            ][..]
        )
    );
    assert_eq!(m.scripts.len(), 2);
    let hello = &m.scripts[0];
    assert_eq!(hello.name, "hello");
    assert_eq!(hello.file, "scripts/hello.rhai");
    assert_eq!(hello.description, "says hello");
    assert_eq!(hello.sandbox.timeout_ms, Some(2000));
    assert_eq!(hello.routes[0].path, "/hello");
    assert_eq!(hello.routes[0].methods, None);
    assert_eq!(hello.routes[1].path, "/users/:id");
    assert_eq!(
        hello.routes[1].methods,
        Some(vec!["GET".to_owned(), "POST".to_owned()])
    );
    assert_eq!(m.scripts[1].description, "");
    assert_eq!(m.scripts[1].sandbox, SandboxOverrides::default());
    assert_eq!(
        m.triggers,
        vec![
            TriggerSpec::Kv {
                collection: "orders".into(),
                events: vec![picloud_shared::KvEvent::Set],
                script: "audit".into(),
                max_attempts: 3,
                dead_letter_script: Some("hello".into()),
            },
            TriggerSpec::Cron {
                schedule: "0 * * * *".into(),
                script: "hello".into()
            },
        ]
    );
}

#[test]
fn what_an_app_keeps_of_its_requests_is_checked() {
    let m = parse("[app]\nname = \"a\"\n").unwrap();
    assert_eq!((m.record_requests, m.redact_headers), (None, None));
    let m = parse(
        "[app]\nname = \"a\"\nrecord_requests = \"failed\"\nredact_headers = [\"X-Api-Key\", \"x-api-key\"]\n",
    )
    .unwrap();
    assert_eq!(m.record_requests, Some(RecordRequests::Failed));
    assert_eq!(m.redact_headers, Some(vec!["x-api-key".to_owned()]));
    let e = err("[app]\nname = \"a\"\nrecord_requests = \"some\"\n");
    assert!(
        e.starts_with("picloud.toml:3:19: app.record_requests: \"some\""),
        "{e}"
    );
    let e = err("[app]\nname = \"a\"\nredact_headers = [\"a b\"]\n");
    assert!(
        e.starts_with("picloud.toml:3:19: app.redact_headers: "),
        "{e}"
    );
}

#[test]
fn no_domains_key_leaves_domains_alone() {
    let m = parse("[app]\nname = \"a\"\n").unwrap();
    assert_eq!(m.domains, None);
    assert!(m.scripts.is_empty());
    let m = parse("[app]\nname = \"a\"\ndomains = []\n").unwrap();
    assert_eq!(m.domains, Some(vec![]));
}

#[test]
fn unknown_keys_are_named_with_file_line_and_column() {
    let e = err(
        "[app]\nname = \"a\"\n\n[[scripts]]\nname = \"x\"\nfile = \"x.rhai\"\nroute = [\"/x\"]\n",
    );
    assert!(e.starts_with("picloud.toml:7:1: "), "{e}");
    assert!(e.contains("unknown field `route`"), "{e}");
    let e = err("[app]\nname = \"a\"\nregion = \"eu\"\n");
    assert!(
        e.starts_with("picloud.toml:3:1: ") && e.contains("`region`"),
        "{e}"
    );
    let e = err(
        "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nsandbox = { timeout = 5 }\n",
    );
    assert!(
        e.starts_with("picloud.toml:6:") && e.contains("`timeout`"),
        "{e}"
    );
    let e = err(
        "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nroutes = [{ path = \"/a\", verbs = [\"GET\"] }]\n",
    );
    assert!(
        e.starts_with("picloud.toml:6:") && e.contains("`verbs`"),
        "{e}"
    );
    let e = err(
        "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\n[[triggers]]\nkind = \"cron\"\nschedule = \"* * * * *\"\nscript = \"x\"\ncollection_name = \"c\"\n",
    );
    assert!(
        e.starts_with("picloud.toml:10:1: ") && e.contains("`collection_name`"),
        "{e}"
    );
    let e = err("[[scripts]]\nname = \"x\"\nfile = \"x\"\n");
    assert!(e.contains("missing field `app`"), "{e}");
    assert_eq!(e.lines().count(), 1);
    let e = err("[app\nname = 1");
    assert!(e.starts_with("picloud.toml:1:"), "{e}");
    assert_eq!(e.lines().count(), 1);
}

#[test]
fn names_are_checked_and_unique() {
    let e = err("[app]\nname = \"Shop\"\n");
    assert!(e.starts_with("picloud.toml:2:8: app.name: \"Shop\""), "{e}");
    let e = err("[app]\nname = \"a\"\n[[scripts]]\nname = \"Bad Name\"\nfile = \"x\"\n");
    assert!(e.starts_with("picloud.toml:4:8: scripts.name: "), "{e}");
    let e = err(
        "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x.rhai\"\n[[scripts]]\nname = \"x\"\nfile = \"y.rhai\"\n",
    );
    assert_eq!(
        e,
        "picloud.toml:7:8: scripts.name: \"x\" is used twice (first on line 4)"
    );
}

#[test]
fn routes_inside_the_manifest_must_not_conflict() {
    let two = |a: &str, b: &str| {
        format!(
            "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nroutes = [{a}]\n[[scripts]]\nname = \"y\"\nfile = \"y\"\nroutes = [{b}]\n"
        )
    };
    let e = err(&two(
        r#""/users/:id""#,
        r#"{ path = "/users/:uid/", methods = ["GET"] }"#,
    ));
    assert!(e.starts_with("picloud.toml:10:11: scripts.routes: GET /users/:uid (script \"y\") conflicts with any /users/:id (script \"x\", line 6)"), "{e}");
    // Disjoint methods, or different shapes, live side by side.
    parse(&two(
        r#"{ path = "/users/:id", methods = ["GET"] }"#,
        r#"{ path = "/users/:uid", methods = ["DELETE"] }"#,
    ))
    .unwrap();
    parse(&two(r#""/users/:id""#, r#""/users/*rest""#)).unwrap();
    // The same route twice in one script conflicts too.
    let e = err(
        "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nroutes = [\"/a\", \"/a/\"]\n",
    );
    assert!(e.contains("conflicts with any /a"), "{e}");
    let e = err(
        "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nroutes = [\"/api/x\"]\n",
    );
    assert!(
        e.starts_with("picloud.toml:6:11: scripts.routes: \"/api/x\": "),
        "{e}"
    );
    let e = err(
        "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nroutes = [{ path = \"/a\", methods = [] }]\n",
    );
    assert!(e.contains("methods is empty"), "{e}");
}

#[test]
fn domains_and_sandboxes_are_checked() {
    let e = err("[app]\nname = \"a\"\ndomains = [\"a.example.com\", \"A.example.com.\"]\n");
    assert!(e.contains("listed twice (first on line 3)"), "{e}");
    let e = err("[app]\nname = \"a\"\ndomains = [\"localhost\"]\n");
    assert!(
        e.starts_with("picloud.toml:3:12: app.domains: \"localhost\": "),
        "{e}"
    );
    let e = err(
        "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nsandbox = { timeout_ms = 0 }\n",
    );
    assert!(
        e.contains("scripts.sandbox: sandbox.timeout_ms must be at least 1"),
        "{e}"
    );
    let e = err(
        "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nsandbox = { timeout_ms = 60001 }\n",
    );
    assert!(e.contains("above the ceiling of 60000"), "{e}");
}

#[test]
fn triggers_are_checked_per_kind() {
    let base = "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\n[[triggers]]\n";
    let e = err(&format!("{base}kind = \"webhook\"\nscript = \"x\"\n"));
    assert!(
        e.starts_with("picloud.toml:7:8: triggers.kind: \"webhook\""),
        "{e}"
    );
    let e = err(&format!(
        "{base}kind = \"kv\"\nscript = \"nope\"\ncollection = \"c\"\nevents = [\"set\"]\n"
    ));
    assert!(
        e.contains("triggers.script: no script named \"nope\""),
        "{e}"
    );
    let e = err(&format!(
        "{base}kind = \"kv\"\nscript = \"x\"\nevents = [\"set\"]\n"
    ));
    assert!(e.contains("needs collection"), "{e}");
    let e = err(&format!(
        "{base}kind = \"kv\"\nscript = \"x\"\ncollection = \"c\"\nevents = [\"put\"]\n"
    ));
    assert!(e.contains("\"put\" is not an event"), "{e}");
    let e = err(&format!(
        "{base}kind = \"kv\"\nscript = \"x\"\ncollection = \"c\"\nevents = [\"set\"]\nmax_attempts = 21\n"
    ));
    assert!(e.contains("triggers.max_attempts: 1 to 20; got 21"), "{e}");
    let e = err(&format!(
        "{base}kind = \"kv\"\nscript = \"x\"\ncollection = \"c\"\nevents = [\"set\"]\nschedule = \"* * * * *\"\n"
    ));
    assert!(
        e.contains("triggers.schedule: not a key of a \"kv\" trigger"),
        "{e}"
    );
    let e = err(&format!(
        "{base}kind = \"cron\"\nscript = \"x\"\nschedule = \"every minute\"\n"
    ));
    assert!(
        e.starts_with("picloud.toml:9:12: triggers.schedule: "),
        "{e}"
    );
    let e = err(&format!("{base}kind = \"cron\"\nscript = \"x\"\n"));
    assert!(e.contains("needs schedule"), "{e}");
}

#[test]
fn missing_files_are_named_with_the_line_that_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("scripts")).unwrap();
    std::fs::write(dir.path().join("scripts/a.rhai"), "1").unwrap();
    let text = "[app]\nname = \"a\"\n[[scripts]]\nname = \"a\"\nfile = \"scripts/a.rhai\"\n[[scripts]]\nname = \"b\"\nfile = \"scripts/b.rhai\"\n";
    let mut m = Manifest::parse(text, Path::new("proj/picloud.toml"), dir.path()).unwrap();
    let e = m.read_sources().unwrap_err().0;
    assert!(
        e.starts_with("proj/picloud.toml:8:8: scripts.file: cannot read "),
        "{e}"
    );
    assert!(e.contains("scripts/b.rhai"), "{e}");
    std::fs::write(dir.path().join("scripts/b.rhai"), "2").unwrap();
    m.read_sources().unwrap();
    assert_eq!(m.scripts[0].source, "1");
    assert_eq!(m.scripts[1].source, "2");
}
