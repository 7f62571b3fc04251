//! The client commands as a user runs them: the real `picloud` binary,
//! with its own config directory and a clean environment, against a real
//! server on port 0. Login, init, deploy (create, unchanged, update of one
//! file, a broken file, --prune, --dry-run), invoke, logs (and --follow),
//! apps, scripts, kv, version, logout; bad manifests; the exit codes.

mod common;
#[path = "support/os.rs"]
mod os;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{PASSWORD, TestApp, within};
use os::clean_command;
use reqwest::Method;
use serde_json::Value;

/// A user's machine: a config directory and a project folder.
struct User {
    config: tempfile::TempDir,
    project: tempfile::TempDir,
    /// Extra environment for every command.
    env: Vec<(String, String)>,
}

impl User {
    fn new() -> User {
        User {
            config: tempfile::tempdir().unwrap(),
            project: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    /// The user with `PICLOUD_URL` and `PICLOUD_TOKEN` of the test app's admin.
    fn with_token(t: &TestApp) -> User {
        let mut u = User::new();
        u.env.push(("PICLOUD_URL".into(), t.url("")));
        u.env.push(("PICLOUD_TOKEN".into(), t.token.clone()));
        u
    }

    fn dir(&self) -> &Path {
        self.project.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        // A clean environment: only what the test sets (and no other
        // config directory).
        let mut c = clean_command(env!("CARGO_BIN_EXE_picloud"));
        c.env_remove("XDG_CONFIG_HOME")
            .env("PICLOUD_CONFIG_DIR", self.config.path())
            .env("HOME", self.config.path())
            .current_dir(self.project.path())
            .args(args);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs a command to its end (off the runtime: the server runs on it).
    async fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None).await
    }

    async fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut c = self.command(args);
        let label = format!("picloud {}", args.join(" "));
        let stdin = stdin.map(str::to_owned);
        let out = tokio::task::spawn_blocking(move || {
            c.stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
            let mut child = c.spawn().unwrap();
            if let Some(text) = stdin {
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(text.as_bytes())
                    .unwrap();
            }
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        Run { label, out }
    }

    fn write(&self, file: &str, text: &str) {
        let path = self.dir().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

struct Run {
    label: String,
    out: Output,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }

    /// Asserts success; the stdout.
    fn ok(&self) -> String {
        assert!(
            self.out.status.success(),
            "{} failed ({}): {}{}",
            self.label,
            self.code(),
            self.stderr(),
            self.stdout()
        );
        self.stdout()
    }

    /// Asserts success; stdout as JSON.
    fn json(&self) -> Value {
        let text = self.ok();
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {text}", self.label))
    }

    /// Asserts failure with this exit code and one line on stderr; the line.
    fn fails(&self, code: i32) -> String {
        let stderr = self.stderr();
        assert_eq!(
            self.code(),
            code,
            "{}: stderr {stderr} stdout {}",
            self.label,
            self.stdout()
        );
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{}: one line: {stderr:?}", self.label);
        assert!(lines[0].starts_with("error: "), "{}: {stderr}", self.label);
        lines[0].to_owned()
    }
}

const MANIFEST: &str = r#"
[app]
name = "shop"
domains = ["shop.example.com"]

[[scripts]]
name = "hello"
file = "scripts/hello.rhai"
routes = ["/hello", { path = "/users/:id", methods = ["GET"] }]

[[scripts]]
name = "audit"
file = "scripts/audit.rhai"
description = "keeps a copy of each order"
sandbox = { timeout_ms = 2000 }

[[triggers]]
kind = "kv"
collection = "orders"
events = ["set"]
script = "audit"

[[triggers]]
kind = "cron"
schedule = "0 0 1 1 *"
script = "hello"
"#;

const HELLO: &str = r#"let name = ctx.request.query.name ?? "world";
log::info("greeting", #{ name: name });
#{ hello: name }
"#;

const AUDIT: &str = r#"kv::collection("copies").set(ctx.event.key, ctx.event.value);
"#;

/// The app's scripts by name: (id, version, source).
async fn scripts_of(t: &TestApp, app: &str) -> Vec<(String, String, i64, String)> {
    let a = t
        .admin(Method::GET, &format!("/scripts?app={app}"), None)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["id"].as_str().unwrap().to_owned(),
                s["version"].as_i64().unwrap(),
                s["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn version_of(scripts: &[(String, String, i64, String)], name: &str) -> i64 {
    scripts
        .iter()
        .find(|s| s.0 == name)
        .unwrap_or_else(|| panic!("no script {name}"))
        .2
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_init_deploy_invoke_logs_redeploy_prune_logout() {
    let t = TestApp::spawn().await;
    let u = User::new();
    let url = t.url("");

    // Log in: the session is saved, readable by its owner only.
    let out = u
        .run_with_stdin(
            &[
                "login",
                "--url",
                &url,
                "--username",
                "admin",
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        )
        .await;
    assert!(out.ok().contains("logged in to"), "{}", out.stdout());
    let saved = u.config.path().join("credentials.toml");
    let creds = std::fs::read_to_string(&saved).unwrap();
    assert!(creds.contains(&format!("url = \"{url}\"")), "{creds}");
    assert!(creds.contains("token = \"pcs_"), "{creds}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&saved).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    // version: the client's and the server's.
    let v = u.run(&["version", "--json"]).await.json();
    assert_eq!(v["client"]["api"], 1);
    assert_eq!(v["server"]["api"], 1);
    assert_eq!(v["server"]["sdk"], picloud_shared::version::SDK_VERSION);

    // init: a starter project that deploys and runs as it is.
    let out = u.run(&["init", "starter", "--app", "starter"]).await;
    assert!(out.ok().contains("created"), "{}", out.stdout());
    let starter = u.dir().join("starter");
    assert!(starter.join("picloud.toml").is_file());
    assert!(starter.join("scripts/hello.rhai").is_file());
    let line = u.run(&["init", "starter"]).await.fails(1);
    assert!(line.contains("exists already"), "{line}");
    let d = u
        .run(&["deploy", "--dir", "starter", "--json"])
        .await
        .json();
    assert_eq!(names(&d["created"]), ["hello"]);
    let out = u
        .run(&["invoke", "hello", "--app", "starter", "--path", "?name=pi"])
        .await;
    assert_eq!(out.ok().trim(), r#"{"hello":"pi"}"#);

    // The real project: a dry run changes nothing.
    u.write("picloud.toml", MANIFEST);
    u.write("scripts/hello.rhai", HELLO);
    u.write("scripts/audit.rhai", AUDIT);
    let d = u.run(&["deploy", "--dry-run", "--json"]).await.json();
    assert_eq!(d["dry_run"], true);
    assert_eq!(names(&d["created"]), ["hello", "audit"]);
    let a = t.admin(Method::GET, "/apps/shop", None).await;
    assert_eq!(a.status, 404, "a dry run created the app: {}", a.text);
    let out = u.run(&["deploy", "--dry-run"]).await;
    let text = out.ok();
    assert!(text.contains("+ app shop"), "{text}");
    assert!(text.contains("+ route GET /users/:id -> hello"), "{text}");
    assert!(text.contains("dry run, nothing changed"), "{text}");

    // Deploy: app, scripts, routes, domain and trigger; release 1.
    let d = u.run(&["deploy", "--json", "-m", "first cut"]).await.json();
    assert_eq!(d["dry_run"], false);
    assert_eq!(d["release"], 1, "{d}");
    assert_eq!(names(&d["created"]), ["hello", "audit"]);
    assert!(names(&d["updated"]).is_empty() && names(&d["deleted"]).is_empty());
    let scripts = scripts_of(&t, "shop").await;
    assert_eq!(scripts.len(), 2);
    assert_eq!(version_of(&scripts, "hello"), 1);
    let routes = t.admin(Method::GET, "/routes?app=shop", None).await.json();
    assert_eq!(routes["items"].as_array().unwrap().len(), 2, "{routes}");
    let domains = t
        .admin(Method::GET, "/apps/shop/domains", None)
        .await
        .json();
    assert_eq!(domains["items"][0]["pattern"], "shop.example.com");
    let triggers = t
        .admin(Method::GET, "/apps/shop/triggers", None)
        .await
        .json();
    assert_eq!(triggers["items"].as_array().unwrap().len(), 2);
    // The route answers on the app's domain.
    let resp = t
        .on_host(Method::GET, "/users/7?name=route", Some("shop.example.com"))
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text, r#"{"hello":"route"}"#);

    // A second deploy changes nothing.
    let d = u.run(&["deploy", "--json"]).await.json();
    assert_eq!(names(&d["unchanged"]), ["hello", "audit"]);
    assert!(names(&d["created"]).is_empty() && names(&d["updated"]).is_empty());
    assert!(d["changes"].as_array().unwrap().is_empty(), "{d}");
    assert_eq!(d["release"], Value::Null, "no change, no release: {d}");
    assert!(u.run(&["deploy"]).await.ok().contains("nothing to change"));
    assert_eq!(scripts_of(&t, "shop").await, scripts);

    // invoke: by name, the body; --json: status, headers, body.
    let out = u
        .run(&["invoke", "hello", "--app", "shop", "--path", "?name=pi"])
        .await;
    assert_eq!(out.ok().trim(), r#"{"hello":"pi"}"#);
    let v = u
        .run(&["invoke", "hello", "--app", "shop", "--json"])
        .await
        .json();
    assert_eq!(v["status"], 200);
    assert_eq!(v["body"]["hello"], "world");
    assert_eq!(v["headers"]["content-type"], "application/json");

    // logs: the executions with their log lines.
    let seen = within(
        Duration::from_secs(5),
        "logs lists the 3 executions",
        || async {
            let seen = u
                .run(&["logs", "hello", "--app", "shop", "--json"])
                .await
                .json();
            (seen["items"].as_array().unwrap().len() >= 3).then_some(seen)
        },
    )
    .await;
    let items = seen["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{seen}");
    assert_eq!(items[0]["logs"][0]["message"], "greeting");
    let text = u
        .run(&["logs", "hello", "--app", "shop", "--limit", "1"])
        .await
        .ok();
    assert!(text.contains("ok") && text.contains("greeting"), "{text}");
    assert_eq!(
        text.lines().count(),
        2,
        "one execution, one log line: {text}"
    );

    // Edit one file: only that script is updated; release 2 says so.
    u.write("scripts/hello.rhai", "\"hello, again\"\n");
    let d = u
        .run(&["deploy", "--json", "--message", "say it again"])
        .await
        .json();
    assert_eq!(names(&d["updated"]), ["hello"]);
    assert_eq!(names(&d["unchanged"]), ["audit"]);
    assert_eq!(d["release"], 2, "{d}");
    let text = u.run(&["releases", "--app", "shop"]).await.ok();
    let first_lines: Vec<&str> = text.lines().take(2).collect();
    assert!(
        first_lines[0].starts_with("release 2 ")
            && first_lines[0].contains("deploy by admin: say it again"),
        "{text}"
    );
    assert_eq!(
        first_lines[1].trim(),
        "script hello: version 1 → 2",
        "{text}"
    );
    assert!(text.contains("deploy by admin: first cut"), "{text}");
    let listed = u.run(&["releases", "--app", "shop", "--json"]).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    let hello_id = scripts_of(&t, "shop")
        .await
        .into_iter()
        .find(|s| s.0 == "hello")
        .unwrap()
        .1;
    let v2 = t
        .admin(
            Method::GET,
            &format!("/scripts/{hello_id}/versions/2"),
            None,
        )
        .await
        .json();
    assert_eq!(v2["message"], "say it again", "{v2}");

    // rollback: by default to the release before the newest.
    let text = u.run(&["rollback", "--app", "shop"]).await.ok();
    assert!(
        text.starts_with("rolled app shop back to release 1: release 3 records it"),
        "{text}"
    );
    assert!(text.contains("script hello: version 2 → 3"), "{text}");
    assert_eq!(
        u.run(&["invoke", "hello", "--app", "shop", "--path", "?name=pi"])
            .await
            .ok()
            .trim(),
        r#"{"hello":"pi"}"#
    );
    let text = u.run(&["rollback", "1", "--app", "shop"]).await.ok();
    assert!(text.contains("already matches release 1"), "{text}");
    // ... and forward again, to the state of release 2.
    let back = u
        .run(&["rollback", "2", "--app", "shop", "--json"])
        .await
        .json();
    assert_eq!(back["number"], 4, "{back}");
    assert_eq!(back["kind"], "rollback");
    let after = scripts_of(&t, "shop").await;
    assert_eq!(version_of(&after, "hello"), 4);
    assert_eq!(version_of(&after, "audit"), 1);
    assert_eq!(
        u.run(&["invoke", "hello", "--app", "shop"]).await.ok(),
        "hello, again\n"
    );

    // A broken file: FILE:LINE:COLUMN, and nothing changes on the server,
    // not even the other, valid edit made with it.
    u.write("scripts/hello.rhai", "\"third\"\n");
    u.write("scripts/audit.rhai", "let a = 1;\nlet b = a +;\n");
    let line = u.run(&["deploy"]).await.fails(1);
    assert!(
        line.starts_with("error: scripts/audit.rhai:2:"),
        "the file, line and column: {line}"
    );
    assert_eq!(scripts_of(&t, "shop").await, after);

    // Dropped from the manifest: kept, unless --prune.
    u.write("scripts/audit.rhai", AUDIT);
    u.write("scripts/hello.rhai", "\"hello, again\"\n");
    let without_audit = format!(
        "{}[[triggers]]\nkind = \"cron\"\nschedule = \"0 0 1 1 *\"\nscript = \"hello\"\n",
        MANIFEST
            .split("[[scripts]]\nname = \"audit\"")
            .next()
            .unwrap()
    );
    u.write("picloud.toml", &without_audit);
    let d = u.run(&["deploy", "--json"]).await.json();
    assert!(names(&d["deleted"]).is_empty());
    // audit and its trigger are left alone.
    assert!(d["changes"].as_array().unwrap().is_empty(), "{d}");
    assert_eq!(names(&d["unchanged"]), ["hello"]);
    assert_eq!(scripts_of(&t, "shop").await.len(), 2);
    let d = u
        .run(&["deploy", "--prune", "--dry-run", "--json"])
        .await
        .json();
    assert_eq!(names(&d["deleted"]), ["audit"]);
    assert_eq!(scripts_of(&t, "shop").await.len(), 2, "a dry run pruned");
    let d = u.run(&["deploy", "--prune", "--json"]).await.json();
    assert_eq!(names(&d["deleted"]), ["audit"]);
    let left = scripts_of(&t, "shop").await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].0, "hello");
    assert_eq!(left[0].2, 4, "pruning did not touch the kept script");
    // The pruned script's trigger went with it.
    let triggers = t
        .admin(Method::GET, "/apps/shop/triggers", None)
        .await
        .json();
    let kinds: Vec<&str> = triggers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["cron"], "{triggers}");

    // logout: the session ends on the server and the file is gone.
    let token = text_between(&creds, "token = \"", "\"");
    u.run(&["logout"]).await.ok();
    assert!(!saved.exists());
    let me = t
        .send(Method::GET, "/api/v1/admin/auth/me", Some(&token), None)
        .await;
    assert_eq!(me.status, 401, "the session still works");
    let line = u.run(&["apps", "ls", "--url", &url]).await.fails(4);
    assert!(line.contains("not logged in"), "{line}");
    let line = u.run(&["apps", "ls"]).await.fails(2);
    assert!(line.contains("no server"), "{line}");
}

/// The first run of docs/cli.md, as a newcomer types it: `init`, `deploy`,
/// then the printed URL with curl, `invoke` and `logs` with no `--app` and
/// no Host header. The CLI follows the manifest of the folder it runs in
/// (or `--dir`), and `--app` overrides it.
#[tokio::test]
async fn a_newcomer_reaches_the_starter_route_and_sees_its_logs() {
    let t = TestApp::spawn().await;
    let u = User::with_token(&t);

    let out = u.run(&["init"]).await.ok();
    assert!(out.contains("(app default)"), "{out}");
    assert!(out.contains("next: picloud deploy"), "{out}");
    let out = u.run(&["deploy"]).await.ok();
    // deploy ends with where each route answers.
    let url = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("any  ").map(str::to_owned))
        .unwrap_or_else(|| panic!("no route line in: {out}"));
    let url = url.split_whitespace().next().unwrap().to_owned();
    assert_eq!(url, t.url("/hello"), "{out}");
    let resp = reqwest::get(format!("{url}?name=pi")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), r#"{"hello":"pi"}"#);

    // invoke: the body on stdout, the status and execution on stderr; then
    // logs, at once, shows that very execution.
    let run = u.run(&["invoke", "hello", "--path", "?name=cli"]).await;
    assert_eq!(run.ok().trim(), r#"{"hello":"cli"}"#);
    let status = run.stderr();
    assert!(status.starts_with("200 OK (execution "), "{status}");
    let execution = status
        .trim()
        .trim_start_matches("200 OK (execution ")
        .trim_end_matches(')')
        .to_owned();
    let logs = u.run(&["logs", "hello", "--json"]).await.json();
    let newest = &logs["items"][0];
    assert_eq!(newest["id"], execution.as_str(), "{logs}");
    assert_eq!(newest["logs"][0]["data"]["name"], "cli", "{logs}");
    let text = u.run(&["logs", "hello", "-n", "1"]).await.ok();
    assert!(text.contains("greeting {\"name\":\"cli\"}"), "{text}");
    // One timestamp format: six fractional digits, UTC.
    let started = newest["started_at"].as_str().unwrap();
    assert_eq!(
        started.len(),
        "2026-12-03T16:40:16.123456Z".len(),
        "{started}"
    );
    assert!(
        started.ends_with('Z') && started.as_bytes()[19] == b'.',
        "{started}"
    );
    assert!(text.starts_with(started), "{text}");

    // invoke --json: status, headers, body and the execution's id.
    let j = u
        .run(&["invoke", "hello", "--json", "--path", "?name=j"])
        .await
        .json();
    assert_eq!(j["status"], 200);
    assert_eq!(j["body"]["hello"], "j");
    assert_eq!(j["headers"]["content-type"], "application/json");
    let id = j["execution_id"].as_str().unwrap();
    assert_eq!(
        u.run(&["logs", "hello", "--json", "-n", "1"]).await.json()["items"][0]["id"],
        id
    );

    // A second project for another app, in a folder of its own: its
    // manifest names the app for every command run with --dir (or in it),
    // and deploy says that an app claiming no host answers nowhere yet.
    u.write(
        "shop/picloud.toml",
        "[app]\nname = \"shop\"\n\n[[scripts]]\nname = \"hello\"\nfile = \"hello.rhai\"\nroutes = [\"/shop-hello\"]\n",
    );
    u.write("shop/hello.rhai", r#""from the shop""#);
    let out = u.run(&["deploy", "--dir", "shop"]).await.ok();
    assert!(out.contains("app shop claims no host"), "{out}");
    assert!(out.contains("picloud invoke hello"), "{out}");
    let out = u.run(&["invoke", "hello", "--dir", "shop"]).await.ok();
    assert_eq!(out.trim(), "from the shop");
    // Here (the default app's project) and with --app, the other one.
    let out = u.run(&["invoke", "hello", "--path", "?name=x"]).await.ok();
    assert_eq!(out.trim(), r#"{"hello":"x"}"#);
    let out = u.run(&["invoke", "hello", "--app", "shop"]).await.ok();
    assert_eq!(out.trim(), "from the shop");
    let ls = u
        .run(&["scripts", "ls", "--dir", "shop", "--json"])
        .await
        .json();
    assert_eq!(
        ls["items"][0]["app_id"],
        t.admin(Method::GET, "/apps/shop", None).await.json()["id"]
    );
    // Once it claims a host, deploy prints the Host the route needs.
    u.write(
        "shop/picloud.toml",
        "[app]\nname = \"shop\"\ndomains = [\"shop.example.com\"]\n\n[[scripts]]\nname = \"hello\"\nfile = \"hello.rhai\"\nroutes = [\"/shop-hello\"]\n",
    );
    let out = u.run(&["deploy", "--dir", "shop"]).await.ok();
    let line = format!(
        "{}  (Host: shop.example.com) -> hello",
        t.url("/shop-hello")
    );
    assert!(out.contains(&line), "{out}");
    let resp = t
        .on_host(Method::GET, "/shop-hello", Some("shop.example.com"))
        .await;
    assert_eq!(resp.text, "from the shop");
    // A --dir without a manifest is a mistake, said so.
    let line = u
        .run(&["invoke", "hello", "--dir", "nowhere"])
        .await
        .fails(1);
    assert!(line.contains("picloud.toml: not found"), "{line}");
}

fn text_between(text: &str, start: &str, end: &str) -> String {
    let from = text.find(start).unwrap() + start.len();
    let len = text[from..].find(end).unwrap();
    text[from..from + len].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_manifest_fails_with_one_line_and_changes_nothing() {
    let t = TestApp::spawn().await;
    let u = User::with_token(&t);
    u.write("scripts/a.rhai", "1");
    u.write("scripts/b.rhai", "2");
    let head = "[app]\nname = \"bad\"\n\n[[scripts]]\nname = \"a\"\nfile = \"scripts/a.rhai\"\nroutes = [\"/a\"]\n";
    let cases: [(&str, String, &str); 6] = [
        (
            "an unknown key",
            format!("{head}colour = \"blue\"\n"),
            "picloud.toml:8:1: unknown field `colour`",
        ),
        (
            "an unknown key in a table",
            format!(
                "{head}\n[[triggers]]\nkind = \"cron\"\nschedule = \"* * * * *\"\nscript = \"a\"\ncollection = \"x\"\n"
            ),
            "picloud.toml:13:14: triggers.collection: not a key of a \"cron\" trigger",
        ),
        (
            "a missing file",
            format!("{head}\n[[scripts]]\nname = \"c\"\nfile = \"scripts/c.rhai\"\n"),
            "picloud.toml:11:8: scripts.file: cannot read scripts/c.rhai",
        ),
        (
            "a duplicate name",
            format!("{head}\n[[scripts]]\nname = \"a\"\nfile = \"scripts/b.rhai\"\n"),
            "picloud.toml:10:8: scripts.name: \"a\" is used twice (first on line 5)",
        ),
        (
            "a route conflict inside the manifest",
            format!(
                "{head}\n[[scripts]]\nname = \"b\"\nfile = \"scripts/b.rhai\"\nroutes = [{{ path = \"/a/\", methods = [\"POST\"] }}]\n"
            ),
            "picloud.toml:12:11: scripts.routes: POST /a (script \"b\") conflicts with any /a (script \"a\", line 7)",
        ),
        ("no manifest", String::new(), "picloud.toml: not found"),
    ];
    for (what, manifest, expected) in cases {
        if manifest.is_empty() {
            let _ = std::fs::remove_file(u.dir().join("picloud.toml"));
        } else {
            u.write("picloud.toml", &manifest);
        }
        let out = u.run(&["deploy"]).await;
        let line = out.fails(1);
        assert!(
            line.starts_with(&format!("error: {expected}")),
            "{what}: {line}"
        );
        assert!(out.stdout().is_empty(), "{what}: {}", out.stdout());
        let a = t.admin(Method::GET, "/apps/bad", None).await;
        assert_eq!(a.status, 404, "{what}: the app was created");
    }

    // A route taken on the server by a script the manifest does not list:
    // refused before anything changes.
    let other = t.deploy("other", "1").await;
    let id = other["id"].as_str().unwrap();
    let a = t
        .admin(
            Method::POST,
            &format!("/scripts/{id}/routes"),
            Some(serde_json::json!({"path": "/a"})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    u.write("picloud.toml", &head.replace("\"bad\"", "\"default\""));
    let line = u.run(&["deploy"]).await.fails(1);
    assert!(
        line.contains("picloud.toml:7:11: scripts.routes: any /a conflicts with the route any /a of script \"other\""),
        "{line}"
    );
    assert_eq!(t.script_count().await, 1, "a was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_and_transport_failures_have_their_exit_codes() {
    let t = TestApp::spawn().await;
    let mut u = User::new();
    u.write(
        "picloud.toml",
        "[app]\nname = \"x\"\n[[scripts]]\nname = \"a\"\nfile = \"a.rhai\"\n",
    );
    u.write("a.rhai", "1");

    // A wrong password.
    let line = u
        .run_with_stdin(
            &[
                "login",
                "--url",
                &t.url(""),
                "--username",
                "admin",
                "--password-stdin",
            ],
            Some("wrong\n"),
        )
        .await
        .fails(4);
    assert!(line.contains("invalid_credentials"), "{line}");
    assert!(!u.config.path().join("credentials.toml").exists());

    // A wrong token: exit 4, nothing changed.
    u.env = vec![
        ("PICLOUD_URL".into(), t.url("")),
        ("PICLOUD_TOKEN".into(), "pcs_not-a-real-token".into()),
    ];
    let line = u.run(&["deploy"]).await.fails(4);
    assert!(line.contains("unauthorized"), "{line}");
    u.run(&["apps", "ls"]).await.fails(4);
    u.run(&["scripts", "ls", "--json"]).await.fails(4);
    assert_eq!(t.admin(Method::GET, "/apps/x", None).await.status, 404);

    // Nobody listening: exit 3.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    u.env = vec![
        ("PICLOUD_URL".into(), closed.clone()),
        ("PICLOUD_TOKEN".into(), t.token.clone()),
    ];
    for args in [
        &["deploy"][..],
        &["apps", "ls"],
        &["version"],
        &["invoke", "a"],
    ] {
        let line = u.run(args).await.fails(3);
        assert!(line.contains(&format!("cannot reach {closed}")), "{line}");
    }
    // --url beats PICLOUD_URL.
    let v = u
        .run(&["version", "--json", "--url", &t.url("")])
        .await
        .json();
    assert_eq!(v["server"]["api"], 1);

    // Bad arguments: exit 2.
    u.env = vec![
        ("PICLOUD_URL".into(), t.url("")),
        ("PICLOUD_TOKEN".into(), t.token.clone()),
    ];
    let line = u.run(&["kv", "set", "c", "k", "not json"]).await.fails(2);
    assert!(line.contains("not JSON"), "{line}");
    u.run(&["invoke", "a", "--data", "{"]).await.fails(2);
    u.run(&["apps", "ls", "--url", "localhost:8080"])
        .await
        .fails(2);
    u.run(&["logs", "a", "--limit", "0"]).await.fails(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_scripts_kv_and_invoke() {
    let t = TestApp::spawn().await;
    let u = User::with_token(&t);

    // apps
    let app = u.run(&["apps", "create", "store", "--json"]).await.json();
    assert_eq!(app["name"], "store");
    let list = u.run(&["apps", "ls", "--json"]).await.json();
    let listed = list["items"].as_array().unwrap();
    assert!(listed.iter().any(|a| a["name"] == "store"), "{list}");
    let table = u.run(&["apps", "ls"]).await.ok();
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("store ")), "{table}");
    let line = u.run(&["apps", "create", "store"]).await.fails(1);
    assert!(line.contains("conflict"), "{line}");

    // scripts ls
    t.deploy_with(serde_json::json!({
        "name": "echo", "app": "store",
        "source": r#"#{ method: ctx.request.method, body: ctx.request.body, rest: ctx.request.rest }"#,
    }))
    .await;
    t.deploy_with(serde_json::json!({
        "name": "boom", "app": "store", "source": "throw \"boom\";",
    }))
    .await;
    let s = u
        .run(&["scripts", "ls", "--app", "store", "--json"])
        .await
        .json();
    let got: Vec<&str> = s["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["boom", "echo"]);
    let table = u.run(&["scripts", "ls", "--app", "store"]).await.ok();
    assert!(table.lines().any(|l| l.starts_with("echo ")), "{table}");

    // invoke: --data is POSTed as JSON, --method and --path are used.
    let v = u
        .run(&[
            "invoke",
            "echo",
            "--app",
            "store",
            "--data",
            r#"{"n": 1}"#,
            "--path",
            "/a/b",
            "--json",
        ])
        .await
        .json();
    assert_eq!(v["status"], 200);
    assert_eq!(v["body"]["method"], "POST");
    assert_eq!(v["body"]["body"]["n"], 1);
    assert_eq!(v["body"]["rest"], "a/b");
    let v = u
        .run(&[
            "invoke", "echo", "--app", "store", "--method", "put", "--json",
        ])
        .await
        .json();
    assert_eq!(v["body"]["method"], "PUT");
    // A script that fails: the body on stdout, one line on stderr, exit 1.
    let out = u.run(&["invoke", "boom", "--app", "store"]).await;
    let line = out.fails(1);
    assert!(line.contains("the script answered 500"), "{line}");
    assert!(line.contains("boom"), "{line}");
    assert!(out.stdout().contains("script_error"), "{}", out.stdout());
    let line = u.run(&["invoke", "nope", "--app", "store"]).await.fails(1);
    assert!(line.contains("no script named \"nope\""), "{line}");

    // kv
    let item = u
        .run(&[
            "kv",
            "set",
            "orders",
            "o/1",
            r#"{"qty": 2}"#,
            "--app",
            "store",
            "--json",
        ])
        .await
        .json();
    assert_eq!(item["key"], "o/1");
    u.run(&["kv", "--app", "store", "set", "orders", "o-2", "\"text\""])
        .await
        .ok();
    let v = u
        .run(&["kv", "get", "orders", "o/1", "--app", "store"])
        .await
        .ok();
    let v: Value = serde_json::from_str(&v).unwrap();
    assert_eq!(v["qty"], 2);
    let c = u
        .run(&["kv", "ls", "--app", "store", "--json"])
        .await
        .json();
    assert_eq!(c["items"][0]["name"], "orders");
    assert_eq!(c["items"][0]["keys"], 2);
    let page = u
        .run(&[
            "kv", "ls", "orders", "--app", "store", "--limit", "1", "--json",
        ])
        .await
        .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["cursor"].as_str().expect("a next page").to_owned();
    let next = u
        .run(&[
            "kv", "ls", "orders", "--app", "store", "--limit", "1", "--cursor", &cursor, "--json",
        ])
        .await
        .json();
    assert_eq!(next["items"][0]["key"], "o/1");
    u.run(&["kv", "rm", "orders", "o/1", "--app", "store"])
        .await
        .ok();
    let gone = u
        .run(&["kv", "get", "orders", "o/1", "--app", "store"])
        .await;
    gone.fails(1);

    // apps rm
    u.run(&["apps", "rm", "store"]).await.ok();
    assert_eq!(t.admin(Method::GET, "/apps/store", None).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_shows_each_new_execution_once_until_ctrl_c() {
    let t = TestApp::spawn().await;
    let u = User::with_token(&t);
    let script = t.deploy("tick", "log::info(\"tick\"); 1").await;
    let id = script["id"].as_str().unwrap().to_owned();
    assert_eq!(t.invoke(&id).await.status, 200);
    t.executions(&id, 1).await;

    let mut child = u
        .command(&["logs", "tick", "--follow", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = |rx: &std::sync::mpsc::Receiver<String>| -> Value {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("a line from logs --follow");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    };
    // The execution from before, then each new one, once.
    let first = tokio::task::block_in_place(|| next(&rx));
    let mut ids = vec![first["id"].as_str().unwrap().to_owned()];
    for _ in 0..2 {
        assert_eq!(t.invoke(&id).await.status, 200);
        let e = tokio::task::block_in_place(|| next(&rx));
        assert_eq!(e["logs"][0]["message"], "tick");
        ids.push(e["id"].as_str().unwrap().to_owned());
    }
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 3, "{ids:?}");
    // Nothing more comes without new executions.
    let started = Instant::now();
    assert!(
        tokio::task::block_in_place(|| rx.recv_timeout(Duration::from_secs(3))).is_err(),
        "a repeated line"
    );
    assert!(started.elapsed() >= Duration::from_secs(3));

    // Ctrl-C ends it cleanly; stderr is not a terminal, so no spinner.
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(killed.success());
    let out = tokio::task::block_in_place(|| child.wait_with_output()).unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `PICLOUD_CONFIG_DIR` is where the login goes; without it,
/// `XDG_CONFIG_HOME/picloud`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_lives_in_the_config_dir() {
    let t = TestApp::spawn().await;
    let u = User::new();
    let xdg: PathBuf = u.config.path().join("xdg");
    let mut c = u.command(&[
        "login",
        "--url",
        &t.url(""),
        "--username",
        "admin",
        "--password-stdin",
    ]);
    c.env_remove("PICLOUD_CONFIG_DIR")
        .env("XDG_CONFIG_HOME", &xdg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = tokio::task::spawn_blocking(move || {
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(xdg.join("picloud/credentials.toml").is_file());
    assert!(!u.config.path().join("credentials.toml").exists());

    // A damaged file is named, and logout clears it.
    let damaged = u.config.path().join("credentials.toml");
    std::fs::write(&damaged, "url = [").unwrap();
    let line = u.run(&["apps", "ls"]).await.fails(1);
    assert!(line.contains("is damaged"), "{line}");
    u.run(&["logout"]).await.ok();
    assert!(!damaged.exists());
}

#[tokio::test]
async fn server_settings_in_the_environment_do_not_concern_client_commands() {
    let t = TestApp::spawn().await;
    let mut u = User::with_token(&t);
    // Settings the server would refuse at start.
    u.env.push(("PICLOUD_MAX_BODY_BYTES".into(), "nope".into()));
    u.env.push(("PICLOUD_BIND".into(), "not an address".into()));
    u.run(&["apps", "ls"]).await.ok();
    u.run(&["version"]).await.ok();
    // The server itself still says what is wrong, in one line.
    let line = u.run(&["serve"]).await.fails(2);
    assert!(line.contains("PICLOUD_"), "{line}");
}

#[tokio::test]
async fn secrets_set_from_stdin_list_delete_and_deploy_warns_about_unset_ones() {
    let t = TestApp::spawn().await;
    let u = User::with_token(&t);
    u.run(&["apps", "create", "shop"]).await.ok();

    // The value comes from standard input, its trailing newline dropped.
    let set = u
        .run_with_stdin(
            &["secrets", "set", "STRIPE_KEY", "--app", "shop"],
            Some("sk_test_value\n"),
        )
        .await
        .ok();
    assert!(set.contains("STRIPE_KEY"), "{set}");
    assert!(!set.contains("sk_test_value"), "{set}");
    let id = t
        .deploy_with_id(serde_json::json!({
            "name": "reader", "app": "shop", "source": r#"secrets::get("STRIPE_KEY")"#,
        }))
        .await;
    assert_eq!(t.invoke(&id).await.text, "sk_test_value");

    let list = u
        .run(&["secrets", "list", "--app", "shop", "--json"])
        .await
        .json();
    assert_eq!(list["items"][0]["name"], "STRIPE_KEY");
    assert!(list["items"][0].get("value").is_none(), "{list}");
    let table = u.run(&["secrets", "ls", "--app", "shop"]).await.ok();
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("STRIPE_KEY ")),
        "{table}"
    );
    assert!(!table.contains("sk_test_value"), "{table}");

    // A bad name is the user's mistake, caught before any request.
    let line = u
        .run_with_stdin(&["secrets", "set", "lower", "--app", "shop"], Some("v"))
        .await
        .fails(2);
    assert!(line.contains("secret name"), "{line}");

    // A manifest declares the names its app needs; deploy warns about the
    // unset ones and never sends a value.
    u.write("scripts/hello.rhai", r#""hi""#);
    u.write(
        "picloud.toml",
        r#"
[app]
name = "shop"
secrets = ["STRIPE_KEY", "SMTP_PASSWORD"]

[[scripts]]
name = "hello"
file = "scripts/hello.rhai"
"#,
    );
    let out = u.run(&["deploy"]).await;
    out.ok();
    let warnings = out.stderr();
    assert!(
        warnings.contains("warning: secret SMTP_PASSWORD is not set for app shop"),
        "{warnings}"
    );
    assert!(!warnings.contains("secret STRIPE_KEY"), "{warnings}");

    let gone = u
        .run(&["secrets", "rm", "STRIPE_KEY", "--app", "shop"])
        .await
        .ok();
    assert!(gone.contains("deleted secret STRIPE_KEY"), "{gone}");
    let line = u
        .run(&["secrets", "delete", "STRIPE_KEY", "--app", "shop"])
        .await
        .fails(1);
    assert!(line.contains("not found"), "{line}");

    // A manifest with a malformed secret name fails to load, changing nothing.
    u.write(
        "picloud.toml",
        "[app]\nname = \"shop\"\nsecrets = [\"not-a-name\"]\n",
    );
    let line = u.run(&["deploy"]).await.fails(1);
    assert!(line.contains("app.secrets"), "{line}");
}

#[tokio::test]
async fn deploy_keeps_failed_requests_and_replay_reruns_one_as_a_dry_run() {
    let t = TestApp::spawn().await;
    let u = User::with_token(&t);
    let manifest = |mode: &str| {
        format!(
            r#"
[app]
name = "default"
record_requests = "{mode}"
redact_headers = ["X-Api-Key"]

[[scripts]]
name = "order"
file = "order.rhai"
routes = ["/order"]
"#
        )
    };
    let fixed =
        r#"kv::collection("orders").set("last", ctx.request.query.n); "ok " + ctx.request.query.n"#;
    u.write("order.rhai", r#"throw "broken""#);
    u.write("picloud.toml", &manifest("failed"));
    let out = u.run(&["deploy"]).await.ok();
    assert!(
        out.contains("~ app default (keeps failed requests; leaves out x-api-key)"),
        "{out}"
    );
    let app = t.admin(Method::GET, "/apps/default", None).await.json();
    assert_eq!(app["record_requests"], "failed");
    assert_eq!(app["redact_headers"], serde_json::json!(["x-api-key"]));

    let failed = t
        .client
        .get(t.url("/order?n=7"))
        .header("x-api-key", "k-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 500);
    let id = failed.headers()["picloud-execution-id"]
        .to_str()
        .unwrap()
        .to_owned();

    // The fix; the setting stays (the manifest still says it).
    u.write("order.rhai", fixed);
    let out = u.run(&["deploy"]).await.ok();
    assert!(!out.contains("~ app default"), "{out}");
    let logs = u.run(&["logs", "order"]).await.ok();
    assert!(logs.contains(&format!("execution {id}")), "{logs}");

    let out = u.run(&["replay", &id]).await;
    let text = out.ok();
    assert!(text.contains("ok 7"), "{text}");
    assert!(
        out.stderr()
            .contains("(dry run: nothing was changed), version 2"),
        "{}",
        out.stderr()
    );
    let a = t
        .admin(Method::GET, "/apps/default/kv/orders/last", None)
        .await;
    assert_eq!(a.status, 404, "a dry run writes nothing: {}", a.text);

    let json = u
        .run(&["replay", &id, "--version", "1", "--json"])
        .await
        .json();
    assert_eq!(json["execution"]["status"], "error");
    assert_eq!(json["execution"]["replay_of"], id.as_str());
    assert_eq!(json["response"]["status"], 500);

    u.run(&["replay", &id, "--commit"]).await.ok();
    let a = t
        .admin(Method::GET, "/apps/default/kv/orders/last", None)
        .await;
    assert_eq!(a.json()["value"], "7");

    // Mistakes: not an id (caught here), an execution that is not there.
    let line = u.run(&["replay", "nope"]).await.fails(2);
    assert!(line.contains("not an execution id"), "{line}");
    let line = u
        .run(&["replay", &uuid::Uuid::now_v7().to_string()])
        .await
        .fails(1);
    assert!(line.contains("not found"), "{line}");

    // Turned off from the command line.
    let out = u.run(&["apps", "record", "default", "off"]).await.ok();
    assert!(out.contains("app default keeps no requests"), "{out}");
}
