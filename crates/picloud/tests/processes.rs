//! PiCloud as users run it: real processes on loopback and one
//! PostgreSQL, configured by their environment alone.
//!
//! Two all-in-one `picloud` nodes agree: what is changed through one is
//! served by the other within a second. The split layout (`picloud-manager`,
//! `picloud-orchestrator`, two `picloud-executor`s): deploys through the
//! manager are served by the orchestrator, KV reaches the executors
//! through the manager; any one process killed with SIGKILL costs the
//! others nothing they can serve without it, and started again it rejoins
//! without a restart of the rest; idle, none wakes up.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

#[path = "support/admin.rs"]
mod admin;
#[path = "support/os.rs"]
mod os;
#[path = "common/wait.rs"]
mod wait;
use admin::{call, create, login};
use os::{clean_command, context_switches, free_port};
use wait::within;

const ADMIN: &str = "admin";
const PASSWORD: &str = "split processes password";
const SECRET: &str = "a-cluster-secret-for-the-processes";

/// A process of the layout, killed with SIGKILL when dropped.
struct Proc {
    child: Child,
    base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The layout's settings, to start (and start again) each process.
struct Layout {
    db: String,
    data: tempfile::TempDir,
    manager: u16,
    orchestrator: u16,
    executors: [u16; 2],
}

impl Layout {
    /// A layout on a fresh PostgreSQL database named after `test`, with a
    /// port for each process.
    async fn new(test: &str) -> Layout {
        Layout {
            db: picloud_manager_core::testing::fresh_postgres_url(test).await,
            data: tempfile::tempdir().unwrap(),
            manager: free_port(),
            orchestrator: free_port(),
            executors: [free_port(), free_port()],
        }
    }

    fn command(&self, bin: &str, port: u16) -> Command {
        let mut cmd = clean_command(bin);
        cmd.env("PICLOUD_BIND", format!("127.0.0.1:{port}"))
            .env("PICLOUD_CLUSTER_SECRET", SECRET)
            .env("PICLOUD_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    fn executor_urls(&self) -> String {
        self.executors
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn start_manager(&self) -> Command {
        let mut cmd = self.command(env!("CARGO_BIN_EXE_picloud-manager"), self.manager);
        cmd.env("DATABASE_URL", &self.db)
            .env("PICLOUD_DATA_DIR", self.data.path().join("manager"))
            .env("PICLOUD_EXECUTOR_URLS", self.executor_urls())
            .env("PICLOUD_ADMIN_USER", ADMIN)
            .env("PICLOUD_ADMIN_PASSWORD", PASSWORD);
        cmd
    }

    fn start_orchestrator(&self) -> Command {
        let mut cmd = self.command(
            env!("CARGO_BIN_EXE_picloud-orchestrator"),
            self.orchestrator,
        );
        cmd.env("DATABASE_URL", &self.db)
            .env("PICLOUD_DATA_DIR", self.data.path().join("orchestrator"))
            .env("PICLOUD_EXECUTOR_URLS", self.executor_urls());
        cmd
    }

    fn start_executor(&self, port: u16, manager: u16) -> Command {
        let mut cmd = self.command(env!("CARGO_BIN_EXE_picloud-executor"), port);
        cmd.env("PICLOUD_MANAGER_URL", format!("http://127.0.0.1:{manager}"));
        cmd
    }
}

/// Starts `cmd` and waits until it serves `/healthz` on `port`.
async fn run(mut cmd: Command, port: u16) -> Proc {
    let mut child = cmd.spawn().expect("spawn");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let healthz = format!("{base}/healthz");
    within(
        Duration::from_secs(30),
        &format!("{:?} answers", cmd.get_program()),
        || {
            // (A process that stopped never will: say why at once.)
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "{:?} exited: {status}: {}",
                    cmd.get_program(),
                    stderr(&mut child)
                );
            }
            let answer = client.get(&healthz).send();
            async move { answer.await.ok().map(drop) }
        },
    )
    .await;
    Proc { child, base }
}

fn stderr(child: &mut Child) -> String {
    use std::io::Read;
    let mut out = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut out);
    }
    out
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, String) {
    let r = client.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Polls `url` until it answers `status` with `body` (within 5 s).
async fn serves(client: &reqwest::Client, url: &str, status: u16, body: &str) {
    serves_within(Duration::from_secs(5), client, url, status, body).await;
}

/// Polls `url` until it answers `status` with `body` (within `deadline`).
async fn serves_within(
    deadline: Duration,
    client: &reqwest::Client,
    url: &str,
    status: u16,
    body: &str,
) {
    within(
        deadline,
        &format!("{url} answers {status} {body:?}"),
        || async {
            let answer = get(client, url).await;
            if answer == (status, body.to_owned()) {
                Ok(())
            } else {
                Err(format!("{answer:?}"))
            }
        },
    )
    .await;
}

async fn get_text(client: &reqwest::Client, url: &str) -> String {
    let (status, text) = get(client, url).await;
    assert_eq!(status, 200, "{url}: {text}");
    text
}

/// An all-in-one `picloud` on the database, at `port`.
fn node(db: &str, data: &std::path::Path, port: u16) -> Command {
    let mut cmd = clean_command(env!("CARGO_BIN_EXE_picloud"));
    cmd.env("DATABASE_URL", db)
        .env("PICLOUD_DATA_DIR", data)
        .env("PICLOUD_BIND", format!("127.0.0.1:{port}"))
        .env("PICLOUD_ADMIN_USER", ADMIN)
        .env("PICLOUD_ADMIN_PASSWORD", PASSWORD)
        .env("PICLOUD_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn two_nodes_serve_within_a_second_what_either_changes() {
    use reqwest::Method;
    let db = picloud_manager_core::testing::fresh_postgres_url("processes::nodes").await;
    let data = tempfile::tempdir().unwrap();
    let (pa, pb) = (free_port(), free_port());
    let a = run(node(&db, &data.path().join("a"), pa), pa).await;
    let b = run(node(&db, &data.path().join("b"), pb), pb).await;
    let client = reqwest::Client::new();
    let token = login(&client, &a.base, ADMIN, PASSWORD).await;
    let second = Duration::from_secs(1);
    let on = |node: &Proc, path: &str| format!("{}{path}", node.base);
    let execute = |node: &Proc, id: &str| format!("{}/api/v1/execute/{id}", node.base);

    // Deployed through A, served by B; updated through B, served by both.
    let script = call(
        &client,
        &a.base,
        &token,
        Method::POST,
        "/scripts",
        Some(json!({"name": "greet", "source": r#""v1""#})),
        201,
    )
    .await;
    let id = script["id"].as_str().unwrap().to_owned();
    let route = call(
        &client,
        &a.base,
        &token,
        Method::POST,
        &format!("/scripts/{id}/routes"),
        Some(json!({"path": "/greet"})),
        201,
    )
    .await;
    serves_within(second, &client, &on(&b, "/greet"), 200, "v1").await;
    call(
        &client,
        &b.base,
        &token,
        Method::PUT,
        &format!("/scripts/{id}"),
        Some(json!({"source": r#""v2""#})),
        200,
    )
    .await;
    serves_within(second, &client, &on(&a, "/greet"), 200, "v2").await;
    serves_within(second, &client, &on(&b, "/greet"), 200, "v2").await;

    // A domain claim made through B routes its Host on A.
    call(
        &client,
        &b.base,
        &token,
        Method::POST,
        "/apps",
        Some(json!({"name": "shop"})),
        201,
    )
    .await;
    let shop = call(
        &client,
        &b.base,
        &token,
        Method::POST,
        "/scripts",
        Some(json!({"name": "home", "app": "shop", "source": r#""shop""#})),
        201,
    )
    .await;
    call(
        &client,
        &b.base,
        &token,
        Method::POST,
        &format!("/scripts/{}/routes", shop["id"].as_str().unwrap()),
        Some(json!({"path": "/greet"})),
        201,
    )
    .await;
    call(
        &client,
        &b.base,
        &token,
        Method::POST,
        "/apps/shop/domains",
        Some(json!({"pattern": "shop.example.com"})),
        201,
    )
    .await;
    within(second, "A routes the claimed domain", || async {
        let r = client
            .get(on(&a, "/greet"))
            .header("host", "shop.example.com")
            .send()
            .await
            .unwrap();
        ((r.status().as_u16(), r.text().await.unwrap()) == (200, "shop".to_owned())).then_some(())
    })
    .await;

    // KV written by a script on A is read by a script on B.
    let put = call(
        &client,
        &a.base,
        &token,
        Method::POST,
        "/scripts",
        Some(json!({"name": "put", "source": r#"kv::collection("c").set("k", 42); "ok""#})),
        201,
    )
    .await;
    let read = call(
        &client,
        &a.base,
        &token,
        Method::POST,
        "/scripts",
        Some(json!({"name": "get", "source": r#"kv::collection("c").get("k") ?? "none""#})),
        201,
    )
    .await;
    assert_eq!(
        get_text(&client, &execute(&a, put["id"].as_str().unwrap())).await,
        "ok"
    );
    assert_eq!(
        get_text(&client, &execute(&b, read["id"].as_str().unwrap())).await,
        "42"
    );

    // A route deleted through A, then the script: gone from B.
    call(
        &client,
        &a.base,
        &token,
        Method::DELETE,
        &format!("/routes/{}", route["id"].as_str().unwrap()),
        None,
        204,
    )
    .await;
    within(second, "B no longer routes the deleted route", || async {
        (get(&client, &on(&b, "/greet")).await.0 == 404).then_some(())
    })
    .await;
    call(
        &client,
        &a.base,
        &token,
        Method::DELETE,
        &format!("/scripts/{id}"),
        None,
        204,
    )
    .await;
    within(second, "B no longer runs the deleted script", || async {
        (get(&client, &execute(&b, &id)).await.0 == 404).then_some(())
    })
    .await;
}

/// PostgreSQL without `PICLOUD_SECRETS_KEY`: the node starts, with secrets
/// off, and its start-up log names the variable to set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn a_node_without_a_secrets_key_says_which_variable_to_set() {
    use std::io::Read;
    let db = picloud_manager_core::testing::fresh_postgres_url("processes::no_key").await;
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = node(&db, data.path(), port);
    cmd.env("PICLOUD_LOG", "warn").stdout(Stdio::piped());
    let mut started = run(cmd, port).await;
    started.child.kill().unwrap();
    started.child.wait().unwrap();
    let mut log = String::new();
    started
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.contains("PICLOUD_SECRETS_KEY is not set: secrets are off"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn the_split_binaries_serve_lose_any_process_and_take_it_back() {
    let layout = Layout::new("split_processes").await;
    let manager = run(layout.start_manager(), layout.manager).await;
    let mut executors = [
        Some(
            run(
                layout.start_executor(layout.executors[0], layout.manager),
                layout.executors[0],
            )
            .await,
        ),
        Some(
            run(
                layout.start_executor(layout.executors[1], layout.manager),
                layout.executors[1],
            )
            .await,
        ),
    ];
    let orchestrator = run(layout.start_orchestrator(), layout.orchestrator).await;
    let client = reqwest::Client::new();
    for (proc, role) in [
        (&manager, "manager"),
        (&orchestrator, "orchestrator"),
        (executors[0].as_ref().unwrap(), "executor"),
    ] {
        let v: Value =
            serde_json::from_str(&get(&client, &format!("{}/version", proc.base)).await.1).unwrap();
        assert_eq!(v["role"], role, "{v}");
    }
    // The wire refuses a call without the secret, and does nothing.
    let r = client
        .post(format!(
            "{}{}/execute",
            executors[0].as_ref().unwrap().base,
            picloud_shared::wire::prefix()
        ))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let token = login(&client, &manager.base, ADMIN, PASSWORD).await;
    let deploy = |name: &'static str, source: &'static str, path: &'static str| {
        let (client, base, token) = (client.clone(), manager.base.clone(), token.clone());
        async move {
            let id = create(
                &client,
                &base,
                &token,
                "/scripts",
                json!({"name": name, "source": source}),
            )
            .await["id"]
                .clone();
            create(
                &client,
                &base,
                &token,
                &format!("/scripts/{}/routes", id.as_str().unwrap()),
                json!({"path": path}),
            )
            .await;
        }
    };
    deploy("work", "let s = 0; for i in 0..2000 { s += i; } s", "/work").await;
    deploy(
        "count",
        r#"let c = kv::collection("c"); let n = (c.get("n") ?? 0) + 1; c.set("n", n); n"#,
        "/count",
    )
    .await;
    deploy("hello", r#""hi""#, "/hello").await;
    // Routes reach the orchestrator by the database's announcement, whole:
    // the last one served means the others are known.
    let node = |path: &str| format!("{}{path}", orchestrator.base);
    serves(&client, &node("/hello"), 200, "hi").await;
    for n in 1..=3 {
        assert_eq!(get(&client, &node("/count")).await, (200, n.to_string()));
    }

    // An executor killed under load: no request lost (a GET is retried on
    // the other).
    let load = Arc::new((client.clone(), node("/work")));
    let answered = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (load, answered) = (Arc::clone(&load), Arc::clone(&answered));
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for _ in 0..60 {
                    answers.push(get(&load.0, &load.1).await);
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                answers
            })
        })
        .collect();
    // Killed mid-load: once the load is under way.
    within(Duration::from_secs(10), "the load is under way", || async {
        (answered.load(Ordering::Relaxed) > 0).then_some(())
    })
    .await;
    drop(executors[0].take());
    for task in tasks {
        for answer in task.await.unwrap() {
            assert_eq!(answer, (200, "1999000".to_owned()));
        }
    }
    // Started again, it takes the load back: the other one can go.
    executors[0] = Some(
        run(
            layout.start_executor(layout.executors[0], layout.manager),
            layout.executors[0],
        )
        .await,
    );
    drop(executors[1].take());
    for _ in 0..10 {
        assert_eq!(
            get(&client, &node("/work")).await,
            (200, "1999000".to_owned())
        );
    }

    // The manager killed: the node serves what it knows; KV is a clear
    // script error; a manager started again is used without a restart.
    drop(manager);
    assert_eq!(get(&client, &node("/hello")).await, (200, "hi".to_owned()));
    let (status, text) = get(&client, &node("/count")).await;
    assert_eq!(status, 500, "{text}");
    assert!(text.contains("the manager cannot be reached"), "{text}");
    let _manager = run(layout.start_manager(), layout.manager).await;
    serves(&client, &node("/count"), 200, "4").await;

    // The orchestrator killed and started again serves at once.
    drop(orchestrator);
    let orchestrator = run(layout.start_orchestrator(), layout.orchestrator).await;
    assert_eq!(
        get(&client, &format!("{}/hello", orchestrator.base)).await,
        (200, "hi".to_owned())
    );

    // An executor pointed at a peer that is not the manager stops at
    // start, with one line that says so.
    let mut wrong = layout
        .start_executor(free_port(), layout.orchestrator)
        .spawn()
        .unwrap();
    let status = wrong.wait().unwrap();
    let said = stderr(&mut wrong);
    assert!(!status.success());
    assert!(
        said.contains("is a PiCloud orchestrator, not the manager"),
        "{said}"
    );
}

/// After work (executions over the wire, KV through the manager, a cron
/// trigger due next year), no process of the layout wakes up: they wait on
/// sockets, channels and the LISTEN connection, never on a timer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(picloud_postgres),
    ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
)]
async fn the_split_processes_make_no_wake_ups_when_idle() {
    let layout = Layout::new("split_processes::idle").await;
    // Idle keep-alive connections (the wire's too) close after 2 s, before
    // the measurement, as they would after a minute by default.
    let quick = |mut cmd: Command| {
        cmd.env("PICLOUD_KEEPALIVE_TIMEOUT_SECS", "2");
        cmd
    };
    let manager = run(quick(layout.start_manager()), layout.manager).await;
    let executors = [
        run(
            quick(layout.start_executor(layout.executors[0], layout.manager)),
            layout.executors[0],
        )
        .await,
        run(
            quick(layout.start_executor(layout.executors[1], layout.manager)),
            layout.executors[1],
        )
        .await,
    ];
    let orchestrator = run(quick(layout.start_orchestrator()), layout.orchestrator).await;
    let client = reqwest::Client::new();
    let token = &login(&client, &manager.base, ADMIN, PASSWORD).await;
    let count = create(
        &client,
        &manager.base,
        token,
        "/scripts",
        json!({"name": "count",
        "source": r#"let c = kv::collection("c"); c.set("n", (c.get("n") ?? 0) + 1); c.get("n")"#}),
    )
    .await;
    let id = count["id"].as_str().unwrap();
    create(
        &client,
        &manager.base,
        token,
        &format!("/scripts/{id}/routes"),
        json!({"path": "/count"}),
    )
    .await;
    create(
        &client,
        &manager.base,
        token,
        "/apps/default/triggers",
        json!({"kind": "cron", "schedule": "0 0 1 1 *", "script_id": id}),
    )
    .await;
    let url = format!("{}/count", orchestrator.base);
    within(Duration::from_secs(5), "/count is served", || async {
        let answer = get(&client, &url).await;
        if answer.0 == 200 {
            Ok(())
        } else {
            Err(format!("{answer:?}"))
        }
    })
    .await;
    for _ in 0..5 {
        assert_eq!(get(&client, &url).await.0, 200);
    }
    drop(client);
    // The sign-in hashed a password on a blocking thread, which the runtime
    // ends 10 s after its last use: measure after that.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let procs = [
        ("manager", &manager),
        ("orchestrator", &orchestrator),
        ("executor", &executors[0]),
        ("executor", &executors[1]),
    ];
    let before: Vec<u64> = procs
        .iter()
        .map(|(_, p)| context_switches(p.child.id()))
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    for ((role, p), before) in procs.iter().zip(before) {
        let woke = context_switches(p.child.id()) - before;
        assert_eq!(woke, 0, "the {role} woke up {woke} times in 3 s");
    }
}
