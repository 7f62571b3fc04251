//! Secrets per app over HTTP: the admin API (values write-only), scripts'
//! `secrets::get` (each app its own), redaction from execution records,
//! and no value in the clear in the database. Both backends.

#[macro_use]
mod common;
#[path = "support/os.rs"]
mod os;

use common::TestApp;
use os::clean_command;
use reqwest::Method;
use serde_json::{Value, json};

const VALUE: &str = "sk_live_51HxQ-not-in-the-clear";

async fn make_app(app: &TestApp, name: &str) {
    let a = app
        .admin(Method::POST, "/apps", Some(json!({"name": name})))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
}

async fn put(app: &TestApp, app_name: &str, name: &str, value: &str) -> common::Answer {
    app.admin(
        Method::PUT,
        &format!("/apps/{app_name}/secrets/{name}"),
        Some(json!({ "value": value })),
    )
    .await
}

async fn secrets_are_set_listed_replaced_and_deleted_never_shown(app: TestApp) {
    make_app(&app, "shop").await;
    let created = put(&app, "shop", "STRIPE_KEY", VALUE).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let info = created.json();
    assert_eq!(info["name"], "STRIPE_KEY");
    assert_eq!(info["updated_by"], common::ADMIN);
    assert!(info["updated_at"].is_string());
    assert!(!created.text.contains(VALUE), "{}", created.text);

    let replaced = put(&app, "shop", "STRIPE_KEY", "another value").await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(put(&app, "shop", "OTHER", "x").await.status, 201);

    let list = app.admin(Method::GET, "/apps/shop/secrets", None).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.json()["items"].as_array().unwrap().clone();
    for i in &items {
        assert!(i.get("value").is_none(), "{i}");
    }
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["OTHER", "STRIPE_KEY"]);
    assert!(!list.text.contains("another value"), "{}", list.text);

    let gone = app
        .admin(Method::DELETE, "/apps/shop/secrets/STRIPE_KEY", None)
        .await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    app.admin(Method::DELETE, "/apps/shop/secrets/STRIPE_KEY", None)
        .await
        .error(404, "not_found");
    let list = app.admin(Method::GET, "/apps/shop/secrets", None).await;
    assert_eq!(list.json()["items"].as_array().unwrap().len(), 1);

    // The audit log names the secret, never its value.
    let audit = app.admin(Method::GET, "/audit?app=shop", None).await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    let actions: Vec<String> = audit.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["target_id"] == "STRIPE_KEY")
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        ["secret.delete", "secret.update", "secret.create"],
        "{}",
        audit.text
    );
    assert!(!audit.text.contains(VALUE) && !audit.text.contains("another value"));
}
both_backends!(secrets_are_set_listed_replaced_and_deleted_never_shown);

async fn bad_input_is_refused_and_changes_nothing(app: TestApp) {
    make_app(&app, "shop").await;
    for name in ["lower", "9LIVES", "A-B", &"A".repeat(65), "%C3%89"] {
        put(&app, "shop", name, "v").await.error(400, "bad_request");
    }
    let big = "x".repeat(64 * 1024 + 1);
    put(&app, "shop", "BIG", &big)
        .await
        .error(400, "bad_request");
    for body in [
        json!({}),
        json!({"value": 42}),
        json!({"value": null}),
        json!("just a string"),
        json!({"value": "v", "extra": 1}),
    ] {
        let a = app
            .admin(Method::PUT, "/apps/shop/secrets/GOOD", Some(body.clone()))
            .await;
        assert_eq!(a.status, 400, "{body}: {}", a.text);
    }
    let raw = app
        .client
        .put(app.url("/api/v1/admin/apps/shop/secrets/GOOD"))
        .bearer_auth(&app.token)
        .body("value")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 415);
    put(&app, "no-such-app", "GOOD", "v")
        .await
        .error(404, "not_found");
    app.admin(Method::DELETE, "/apps/shop/secrets/lower", None)
        .await
        .error(400, "bad_request");

    let list = app.admin(Method::GET, "/apps/shop/secrets", None).await;
    assert_eq!(list.json()["items"], json!([]), "{}", list.text);
    // A value of exactly the limit is fine.
    assert_eq!(
        put(&app, "shop", "BIG", &"x".repeat(64 * 1024))
            .await
            .status,
        201
    );
}
both_backends!(bad_input_is_refused_and_changes_nothing);

async fn scripts_read_their_own_apps_secrets_only(app: TestApp) {
    make_app(&app, "a").await;
    make_app(&app, "b").await;
    assert_eq!(put(&app, "a", "TOKEN", "value of a").await.status, 201);
    assert_eq!(put(&app, "b", "TOKEN", "value of b").await.status, 201);
    assert_eq!(put(&app, "b", "ONLY_B", "b's own").await.status, 201);

    let source = r#"
        let bad = "no error";
        try { secrets::get("not a name"); } catch (e) { bad = e; }
        let not_string = "no error";
        try { secrets::get(42); } catch (e) { not_string = e; }
        #{ token: secrets::get("TOKEN"), only_b: secrets::get("ONLY_B"),
           missing: secrets::get("MISSING"), bad: bad, not_string: not_string }
    "#;
    let in_a = app.deploy_in("a", "reader", source).await;
    let in_b = app.deploy_in("b", "reader", source).await;

    let a = app.invoke(&in_a).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a: Value = a.json();
    assert_eq!(a["token"], "value of a");
    assert_eq!(a["only_b"], Value::Null, "app a must not see b's secret");
    assert_eq!(a["missing"], Value::Null);
    assert!(
        a["bad"]
            .as_str()
            .unwrap()
            .contains("secrets::get: a secret name is"),
        "{a}"
    );
    assert!(a["not_string"].as_str().unwrap().contains("string"), "{a}");

    let b: Value = app.invoke(&in_b).await.json();
    assert_eq!(b["token"], "value of b");
    assert_eq!(b["only_b"], "b's own");

    // A change is seen by the next execution.
    assert_eq!(put(&app, "a", "TOKEN", "rotated").await.status, 200);
    assert_eq!(app.invoke(&in_a).await.json()["token"], "rotated");
    app.admin(Method::DELETE, "/apps/a/secrets/TOKEN", None)
        .await;
    assert_eq!(app.invoke(&in_a).await.json()["token"], Value::Null);
    // A name read while unset, then set, is seen set (values read are kept
    // in memory on SQLite: docs/secrets.md).
    assert_eq!(app.invoke(&in_a).await.json()["missing"], Value::Null);
    assert_eq!(put(&app, "a", "MISSING", "now set").await.status, 201);
    assert_eq!(app.invoke(&in_a).await.json()["missing"], "now set");
    // An app deleted and made again under its name starts without secrets.
    let gone = app.admin(Method::DELETE, "/apps/a", None).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    make_app(&app, "a").await;
    let in_a = app.deploy_in("a", "reader", source).await;
    let a: Value = app.invoke(&in_a).await.json();
    assert_eq!(
        (&a["token"], &a["missing"]),
        (&Value::Null, &Value::Null),
        "{a}"
    );
    assert_eq!(app.invoke(&in_b).await.json()["token"], "value of b");
}
both_backends!(scripts_read_their_own_apps_secrets_only);

/// Every way a script could put a value into its record: a log message, log
/// data (nested, as a key too), an error it throws, a callee's log of a
/// value passed to it, a message cut at the length limit; and into the
/// event queue: a trigger handler's error, kept on the event between
/// attempts and then on its dead letter, which a dead-letter handler reads.
async fn values_are_redacted_from_execution_records(app: TestApp) {
    make_app(&app, "shop").await;
    assert_eq!(put(&app, "shop", "STRIPE_KEY", VALUE).await.status, 201);
    let callee = app
        .deploy_in(
            "shop",
            "callee",
            r#"log::info("callee got " + ctx.args[0]); ctx.args[0].len()"#,
        )
        .await;
    let caller = app
        .deploy_in(
            "shop",
            "caller",
            r#"
        let k = secrets::get("STRIPE_KEY");
        log::info("the key is " + k);
        let data = #{ nested: [k, "prefix-" + k] };
        data[k] = 1;
        log::warn("data", data);
        let long = "";
        for i in 0..8180 { long += "x"; }
        log::info(long + k);
        invoke("callee", [k]);
        throw "failed with " + k;
        "#,
        )
        .await;
    let answer = app.invoke(&caller).await;
    assert_eq!(answer.status, 500, "{}", answer.text);
    assert!(!answer.text.contains(VALUE), "{}", answer.text);
    assert!(
        answer.text.contains("[secret STRIPE_KEY]"),
        "{}",
        answer.text
    );

    let records = app.executions(&caller, 1).await;
    let text = records[0].to_string();
    assert!(!text.contains(VALUE), "{text}");
    assert!(
        !text.contains("sk_live"),
        "a cut left part of the value: {text}"
    );
    assert!(text.contains("the key is [secret STRIPE_KEY]"), "{text}");
    assert!(text.contains("prefix-[secret STRIPE_KEY]"), "{text}");
    assert!(text.contains("failed with [secret STRIPE_KEY]"), "{text}");
    let called = app.executions(&callee, 1).await[0].to_string();
    assert!(
        called.contains("callee got [secret STRIPE_KEY]"),
        "{called}"
    );
    assert!(!called.contains(VALUE), "{called}");

    // A trigger handler that throws the value: retried once, then a dead
    // letter whose error the dead-letter handler logs.
    let handler = app
        .deploy_in(
            "shop",
            "on-order",
            r#"throw "charge failed with " + secrets::get("STRIPE_KEY")"#,
        )
        .await;
    let on_dead = app
        .deploy_in("shop", "on-dead", r#"log::error(ctx.event.error); ()"#)
        .await;
    let trigger = app
        .admin(
            Method::POST,
            "/apps/shop/triggers",
            Some(
                json!({"kind": "kv", "collection": "orders", "events": ["set"],
                        "script_id": handler, "max_attempts": 2,
                        "dead_letter_script_id": on_dead}),
            ),
        )
        .await;
    assert_eq!(trigger.status, 201, "{}", trigger.text);
    let writer = app
        .deploy_in(
            "shop",
            "writer",
            r#"kv::collection("orders").set("o-1", 1); ()"#,
        )
        .await;
    assert_eq!(app.invoke(&writer).await.status, 204);
    let letter = common::within(
        std::time::Duration::from_secs(30),
        "a dead letter",
        || async {
            let items = app
                .admin(Method::GET, "/apps/shop/dead-letters", None)
                .await
                .json()["items"]
                .clone();
            items.get(0).cloned()
        },
    )
    .await;
    assert_eq!(letter["attempts"], 2, "{letter}");
    assert_eq!(
        letter["error"],
        "charge failed with [secret STRIPE_KEY] (line 1, column 1)"
    );
    let logged = app.executions(&on_dead, 1).await[0].to_string();
    assert!(
        logged.contains("charge failed with [secret STRIPE_KEY]"),
        "{logged}"
    );
    assert!(!logged.contains(VALUE), "{logged}");

    // Nowhere in the database in the clear.
    match app.database_url().map(str::to_owned) {
        None => {
            let (stopped, dir) = app.stop_keeping_data().await;
            stopped.unwrap();
            let mut files = 0;
            for entry in walk(dir.path()) {
                if entry.file_name().is_some_and(|n| n == "secrets.key") {
                    continue;
                }
                // SQLite's -wal and -shm files go when the last connection
                // closes, which may be a moment after the server stopped:
                // a file gone by now has been folded into the database file.
                let bytes = match std::fs::read(&entry) {
                    Ok(bytes) => bytes,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => panic!("{}: {e}", entry.display()),
                };
                files += 1;
                assert!(
                    !bytes.windows(VALUE.len()).any(|w| w == VALUE.as_bytes()),
                    "{} holds the value in the clear",
                    entry.display()
                );
            }
            assert!(files >= 1, "no database file was scanned");
        }
        Some(url) => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            // Every column of every table, as text.
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            assert!(tables.iter().any(|t| t == "secrets"));
            for table in tables {
                let hits: i64 = sqlx::query_scalar(&format!(
                    "SELECT count(*) FROM \"{table}\" t WHERE position($1 in t::text) > 0 \
                     OR position(convert_to($1, 'UTF8') in convert_to(t::text, 'UTF8')) > 0"
                ))
                .bind(VALUE)
                .fetch_one(&pool)
                .await
                .unwrap();
                assert_eq!(hits, 0, "{table} holds the value in the clear");
            }
            let sealed: Vec<u8> = sqlx::query_scalar("SELECT value FROM secrets")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert!(!sealed.windows(VALUE.len()).any(|w| w == VALUE.as_bytes()));
        }
    }
}
both_backends!(values_are_redacted_from_execution_records);

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn the_key_file_is_private_and_survives_a_restart() {
    let app = TestApp::spawn().await;
    assert_eq!(put(&app, "default", "TOKEN", VALUE).await.status, 201);
    let key_file = walk(app.data_dir.path())
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == "secrets.key"))
        .expect("a secrets.key next to the database");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let app = app.restart().await;
    let id = app
        .deploy_in("default", "reader", r#"secrets::get("TOKEN")"#)
        .await;
    let a = app.invoke(&id).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.text, VALUE);
}

/// A script answering the secret `TOKEN`, or the error reading it threw.
const READ_TOKEN: &str =
    r#"let out = (); try { out = secrets::get("TOKEN"); } catch (e) { out = "error: " + e; } out"#;

#[tokio::test]
async fn another_key_fails_to_read_rather_than_answer_garbage() {
    let app = TestApp::spawn().await;
    assert_eq!(put(&app, "default", "TOKEN", VALUE).await.status, 201);
    let (stopped, dir) = app.stop_keeping_data().await;
    stopped.unwrap();
    let mut args = picloud::config::ServeArgs::for_data_dir(dir.path().to_path_buf());
    args.admin_user = Some(common::ADMIN.into());
    args.admin_password = Some(common::PASSWORD.into());
    args.secrets_key = Some(picloud_manager_core::SecretKey::generate());
    let app = TestApp::start_with_args(args, dir).await;
    let id = app.deploy_in("default", "reader", READ_TOKEN).await;
    let a = app.invoke(&id).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(
        a.text.starts_with("error: ") && a.text.contains("does not decrypt"),
        "{}",
        a.text
    );
}

#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn postgres_without_a_key_has_secrets_off_and_says_so() {
    let app = TestApp::spawn_postgres_with(
        "postgres_without_a_key_has_secrets_off_and_says_so",
        |args| args.secrets_key = None,
    )
    .await;
    let refused = put(&app, "default", "TOKEN", "v").await;
    let body = refused.error(409, "conflict");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("PICLOUD_SECRETS_KEY"),
        "{}",
        refused.text
    );
    let list = app.admin(Method::GET, "/apps/default/secrets", None).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let id = app.deploy_in("default", "reader", READ_TOKEN).await;
    let a = app.invoke(&id).await;
    assert!(a.text.contains("PICLOUD_SECRETS_KEY"), "{}", a.text);
}

/// `picloud admin rotate-secrets-key`, run as a user would.
fn rotate(
    dir: &std::path::Path,
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> std::process::Output {
    use std::io::Write;
    let mut c = clean_command(env!("CARGO_BIN_EXE_picloud"));
    c.args(["admin", "rotate-secrets-key", "--data-dir"])
        .arg(dir)
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if stdin.is_some() {
        c.arg("--new-key-stdin");
    }
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
}

/// A server on the data in `dir` (with `key` in the environment, if given).
async fn start_on(dir: tempfile::TempDir, key: Option<&str>) -> TestApp {
    let mut args = picloud::config::ServeArgs::for_data_dir(dir.path().to_path_buf());
    args.admin_user = Some(common::ADMIN.into());
    args.admin_password = Some(common::PASSWORD.into());
    args.secrets_key = key.map(|k| picloud_manager_core::SecretKey::parse(k).unwrap());
    TestApp::start_with_args(args, dir).await
}

static READS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

async fn reads(app: &TestApp, app_name: &str, name: &str) -> String {
    let id = app
        .deploy_in(
            app_name,
            &format!(
                "read-{}-{}",
                name.to_lowercase().replace('_', "-"),
                READS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
            &format!(r#"let out = (); try {{ out = secrets::get("{name}"); }} catch (e) {{ out = "error: " + e; }} out"#),
        )
        .await;
    app.invoke(&id).await.text
}

#[tokio::test]
async fn rotating_the_key_file_keeps_every_secret_readable() {
    let app = TestApp::spawn().await;
    make_app(&app, "shop").await;
    assert_eq!(put(&app, "default", "TOKEN", "default's").await.status, 201);
    assert_eq!(put(&app, "shop", "TOKEN", "shop's").await.status, 201);
    let key_file = app.data_dir.path().join("secrets.key");
    let before = std::fs::read_to_string(&key_file).unwrap();

    // Refused while the server holds the database.
    let refused = rotate(app.data_dir.path(), &[], None);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("in use by a running picloud"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let (stopped, dir) = app.stop_keeping_data().await;
    stopped.unwrap();
    let done = rotate(dir.path(), &[], None);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(String::from_utf8_lossy(&done.stdout).contains("sealed 2 secret(s)"));
    let after = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(before, after);
    assert!(!dir.path().join("secrets.key.new").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let app = start_on(dir, None).await;
    assert_eq!(reads(&app, "default", "TOKEN").await, "default's");
    assert_eq!(reads(&app, "shop", "TOKEN").await, "shop's");
    // The old key opens nothing any more.
    let (stopped, dir) = app.stop_keeping_data().await;
    stopped.unwrap();
    let app = start_on(dir, Some(before.trim())).await;
    assert!(
        reads(&app, "shop", "TOKEN")
            .await
            .contains("does not decrypt")
    );
}

#[tokio::test]
async fn a_rotation_cut_short_stops_the_server_and_is_finished_by_running_it_again() {
    use picloud_manager_core::SecretKey;
    let app = TestApp::spawn().await;
    assert_eq!(put(&app, "default", "TOKEN", VALUE).await.status, 201);
    let (stopped, dir) = app.stop_keeping_data().await;
    stopped.unwrap();
    let key_file = dir.path().join("secrets.key");
    let pending = dir.path().join("secrets.key.new");
    let old = SecretKey::parse(&std::fs::read_to_string(&key_file).unwrap()).unwrap();

    // Cut after the values were sealed again, before the files moved.
    let new = SecretKey::generate();
    std::fs::write(&pending, new.encode()).unwrap();
    let db = picloud_manager_core::Db::connect(&picloud_manager_core::DbTarget::Sqlite(
        dir.path().join("picloud.db"),
    ))
    .await
    .unwrap();
    picloud_manager_core::secrets::rekey(&db, &old, &new)
        .await
        .unwrap();
    db.close().await;

    // The server will not start on it, and says what to do.
    let args = picloud::config::ServeArgs::for_data_dir(dir.path().to_path_buf());
    let refused = picloud::build(&args).await.err().expect("start-up refused");
    assert!(
        format!("{refused:#}").contains("rotate-secrets-key"),
        "{refused:#}"
    );

    let done = rotate(dir.path(), &[], None);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        String::from_utf8_lossy(&done.stdout).contains("finished a rotation that was cut short"),
        "{}",
        String::from_utf8_lossy(&done.stdout)
    );
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap().trim(),
        new.encode()
    );
    assert!(!pending.exists());
    let app = start_on(dir, None).await;
    assert_eq!(reads(&app, "default", "TOKEN").await, VALUE);
}

#[tokio::test]
async fn rotating_a_key_from_the_environment_prints_the_new_one() {
    use picloud_manager_core::SecretKey;
    let old = SecretKey::generate().encode();
    let app = start_on(tempfile::tempdir().unwrap(), Some(&old)).await;
    assert_eq!(put(&app, "default", "TOKEN", VALUE).await.status, 201);
    // Refused while a server holds the SQLite database, key file or not.
    let refused = rotate(app.data_dir.path(), &[("PICLOUD_SECRETS_KEY", &old)], None);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("in use by a running picloud"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let (stopped, dir) = app.stop_keeping_data().await;
    stopped.unwrap();

    let done = rotate(dir.path(), &[("PICLOUD_SECRETS_KEY", &old)], None);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let new = String::from_utf8_lossy(&done.stdout).trim().to_owned();
    assert!(SecretKey::parse(&new).is_ok(), "{new}");
    assert_ne!(new, old);
    assert!(
        !dir.path().join("secrets.key").exists(),
        "no key file in env mode"
    );

    // A chosen key from standard input; a malformed one changes nothing.
    let chosen = SecretKey::generate().encode();
    let bad = rotate(dir.path(), &[("PICLOUD_SECRETS_KEY", &new)], Some("short"));
    assert!(!bad.status.success());
    let again = rotate(dir.path(), &[("PICLOUD_SECRETS_KEY", &new)], Some(&chosen));
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    // The wrong current key changes nothing.
    let wrong = rotate(dir.path(), &[("PICLOUD_SECRETS_KEY", &old)], None);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("does not decrypt"));

    let app = start_on(dir, Some(&chosen)).await;
    assert_eq!(reads(&app, "default", "TOKEN").await, VALUE);
}
