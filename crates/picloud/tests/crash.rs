//! Events and a real `picloud` process. Durability: the process is killed
//! with SIGKILL in the middle of a burst of KV writes that fire a trigger;
//! after a restart on the same database, the event of every acknowledged
//! write is delivered (SQLite and PostgreSQL). Idleness: with triggers in
//! place, the process makes no wake-ups between events.

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

#[path = "support/admin.rs"]
mod admin;
#[path = "support/os.rs"]
mod os;
#[path = "common/wait.rs"]
mod wait;
use admin::{create, login};
use os::{clean_command, context_switches, free_port};
use wait::within;

const ADMIN: &str = "admin";
const PASSWORD: &str = "crash test password";

/// Starts the server on `data_dir` (and `database_url`, if any).
async fn start(data_dir: &std::path::Path, database_url: Option<&str>) -> (Child, String) {
    let port = free_port();
    let mut cmd = clean_command(env!("CARGO_BIN_EXE_picloud"));
    cmd.env("PICLOUD_DATA_DIR", data_dir)
        .env("PICLOUD_BIND", format!("127.0.0.1:{port}"))
        .env("PICLOUD_LOG", "error")
        .env("PICLOUD_ADMIN_USER", ADMIN)
        .env("PICLOUD_ADMIN_PASSWORD", PASSWORD)
        .env("PICLOUD_EVENT_RETRY_BASE_MS", "10")
        // Claims of a killed process lapse after the longest a handler may
        // run (this ceiling) and a margin.
        .env("PICLOUD_SANDBOX_MAX_TIMEOUT_MS", "1000")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    let child = cmd.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    within(Duration::from_secs(30), "the server answers", || async {
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .ok()
            .map(drop)
    })
    .await;
    (child, base)
}

/// The keys the handlers wrote to `delivered`.
async fn delivered(client: &reqwest::Client, base: &str, token: &str) -> BTreeSet<String> {
    keys(client, base, token, "delivered").await
}

/// Every key of the default app's `collection`, page by page.
async fn keys(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    collection: &str,
) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/admin/apps/default/kv/{collection}?limit=1000");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            keys.insert(item["key"].as_str().unwrap().to_owned());
        }
        match page["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return keys,
        }
    }
}

/// Waits until the writers have had `n` writes acknowledged.
async fn acknowledged_at_least(count: &AtomicUsize, n: usize) {
    within(
        Duration::from_secs(120),
        &format!("{n} writes acknowledged"),
        || async {
            let got = count.load(Ordering::SeqCst);
            if got >= n {
                Ok(())
            } else {
                Err(format!("{got} acknowledged"))
            }
        },
    )
    .await;
}

async fn every_acknowledged_write_is_delivered_after_sigkill(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = start(dir.path(), database_url.as_deref()).await;
    let client = reqwest::Client::new();
    let token = login(&client, &base, ADMIN, PASSWORD).await;
    // A handler slow enough that deliveries are in flight when the process dies.
    let handler = create(
        &client,
        &base,
        &token,
        "/scripts",
        json!({"name": "handler", "source":
            r#"let i = 0; while i < 20000 { i += 1; }
               kv::collection("delivered").set(ctx.event.key, ctx.event.value);"#}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    create(
        &client,
        &base,
        &token,
        "/apps/default/triggers",
        json!({"kind": "kv", "collection": "burst", "events": ["set"], "script_id": handler}),
    )
    .await;
    let writer = create(
        &client,
        &base,
        &token,
        "/scripts",
        json!({"name": "writer", "source":
            r#"kv::collection("burst").set(ctx.request.query.k, true); ()"#}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // 16 writers; the process is killed once 150 writes are acknowledged.
    let acknowledged = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..16)
        .map(|w| {
            let (client, base, writer) = (client.clone(), base.clone(), writer.clone());
            let (acknowledged, count, killed) = (
                Arc::clone(&acknowledged),
                Arc::clone(&count),
                Arc::clone(&killed),
            );
            tokio::spawn(async move {
                for i in 0.. {
                    if killed.load(Ordering::SeqCst) {
                        return;
                    }
                    let key = format!("w{w:02}-{i:04}");
                    let url = format!("{base}/api/v1/execute/{writer}?k={key}");
                    match client.get(url).send().await {
                        Ok(r) if r.status() == 204 => {
                            acknowledged.lock().unwrap().insert(key);
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        // Not acknowledged (a 504 on a loaded machine): the
                        // test promises nothing for it; go on writing.
                        Ok(_) => {}
                        // The process is gone.
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    acknowledged_at_least(&count, 150).await;
    child.kill().unwrap(); // SIGKILL
    killed.store(true, Ordering::SeqCst);
    child.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 150);

    // Restart on the same database: every acknowledged write's event arrives.
    let (mut child, base) = start(dir.path(), database_url.as_deref()).await;
    let token = login(&client, &base, ADMIN, PASSWORD).await;
    within(
        Duration::from_secs(60),
        "every acknowledged write's event is delivered",
        || async {
            let got = delivered(&client, &base, &token).await;
            let missing: Vec<_> = acknowledged.difference(&got).collect();
            if missing.is_empty() {
                return Ok(());
            }
            Err(format!(
                "{} acknowledged writes not delivered, e.g. {:?}",
                missing.len(),
                &missing[..missing.len().min(5)]
            ))
        },
    )
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn sqlite() {
    every_acknowledged_write_is_delivered_after_sigkill(None).await;
}

/// Two nodes on one PostgreSQL; one is killed with SIGKILL in the middle
/// of a burst of KV writes through it. Every write it acknowledged is
/// there, read through the other, which keeps serving.
#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn a_node_killed_under_writes_loses_no_acknowledged_write() {
    let url = picloud_manager_core::testing::fresh_postgres_url("crash::node_killed").await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut a, base_a) = start(dir_a.path(), Some(&url)).await;
    let (mut b, base_b) = start(dir_b.path(), Some(&url)).await;
    let client = reqwest::Client::new();
    let token_a = login(&client, &base_a, ADMIN, PASSWORD).await;
    let writer = create(
        &client,
        &base_a,
        &token_a,
        "/scripts",
        json!({"name": "writer", "source":
            r#"kv::collection("burst").set(ctx.request.query.k, true); ()"#}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let acknowledged = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|w| {
            let (client, base, writer) = (client.clone(), base_a.clone(), writer.clone());
            let (acknowledged, count) = (Arc::clone(&acknowledged), Arc::clone(&count));
            tokio::spawn(async move {
                for i in 0.. {
                    let key = format!("w{w:02}-{i:05}");
                    let url = format!("{base}/api/v1/execute/{writer}?k={key}");
                    match client.get(url).send().await {
                        Ok(r) if r.status() == 204 => {
                            acknowledged.lock().unwrap().insert(key);
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(_) => {}
                        // The node is gone.
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    acknowledged_at_least(&count, 200).await;
    a.kill().unwrap(); // SIGKILL
    a.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    // Read through the other node: every acknowledged write is there.
    let token_b = login(&client, &base_b, ADMIN, PASSWORD).await;
    let stored = keys(&client, &base_b, &token_b, "burst").await;
    let missing: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes are missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    // The other node keeps serving, the script the dead one deployed too.
    let r = client
        .get(format!("{base_b}/api/v1/execute/{writer}?k=after"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    b.kill().unwrap();
    b.wait().unwrap();
}

#[tokio::test]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn postgres() {
    let url = picloud_manager_core::testing::fresh_postgres_url("crash::postgres").await;
    every_acknowledged_write_is_delivered_after_sigkill(Some(url)).await;
}

/// With triggers in place, an event just delivered and a cron trigger due
/// next year, an idle server makes no wake-ups: the dispatcher and the
/// scheduler wait, they do not poll.
#[tokio::test]
#[cfg(target_os = "linux")]
async fn a_server_with_triggers_is_idle_between_events() {
    idle_between_events(None).await;
}

/// On PostgreSQL the process also holds a LISTEN connection: waiting on it
/// costs no wake-up either.
#[tokio::test]
#[cfg(target_os = "linux")]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn a_postgres_node_with_triggers_is_idle_between_events() {
    let url = picloud_manager_core::testing::fresh_postgres_url("crash::idle_postgres").await;
    idle_between_events(Some(url)).await;
}

#[cfg(target_os = "linux")]
async fn idle_between_events(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = start(dir.path(), database_url.as_deref()).await;
    let client = reqwest::Client::new();
    let token = login(&client, &base, ADMIN, PASSWORD).await;
    let handler = create(
        &client,
        &base,
        &token,
        "/scripts",
        json!({"name": "handler", "source":
            r#"kv::collection("delivered").set(ctx.event.key ?? "cron", true);"#}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for body in [
        json!({"kind": "kv", "collection": "in", "events": ["set"], "script_id": handler}),
        json!({"kind": "cron", "schedule": "0 0 1 1 *", "script_id": handler}),
    ] {
        create(&client, &base, &token, "/apps/default/triggers", body).await;
    }
    let r = client
        .put(format!("{base}/api/v1/admin/apps/default/kv/in/k"))
        .bearer_auth(&token)
        .json(&json!(1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    within(
        Duration::from_secs(10),
        "the event is delivered",
        || async {
            delivered(&client, &base, &token)
                .await
                .contains("k")
                .then_some(())
        },
    )
    .await;
    drop(client);
    // The sign-in hashed a password on a blocking thread, which the runtime
    // ends 10 s after its last use: measure after that.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let before = context_switches(child.id());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = context_switches(child.id());
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(after - before, 0, "woke up {} times in 3 s", after - before);
}
