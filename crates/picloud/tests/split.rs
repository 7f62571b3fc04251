//! The split layout: a manager, an orchestrator and executors, each a real
//! server on its own port and runtime, speaking the wire over loopback, on
//! one PostgreSQL. Deploys through the manager are served by the
//! orchestrator on remote executors, whose scripts reach KV and `invoke`
//! through the manager; an executor lost mid-load costs no request; the
//! node keeps serving without the manager; the wire refuses calls without
//! the secret, of another wire version, or with a grant that does not hold.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{ADMIN, PASSWORD, answer, within};
use picloud::config::ServeArgs;
use picloud::{ClusterLink, Role};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::oneshot;

const SECRET: &str = "a-cluster-secret-for-tests";
const FRESH: Duration = Duration::from_secs(1);

/// One process of the layout: a server on its own runtime.
struct Proc {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Proc {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Builds with `build` and serves on `listener`.
    async fn start<F, Fut>(listener: std::net::TcpListener, build: F) -> anyhow::Result<Proc>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = anyhow::Result<picloud::Server>> + Send,
    {
        let runtime = picloud_executor_core::runtime::builder(8)
            .worker_threads(2)
            .build()
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (ready_tx, ready_rx) = oneshot::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = runtime.spawn(async move {
            let server = match build().await {
                Ok(server) => server,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return Ok(());
                }
            };
            let _ = ready_tx.send(Ok(()));
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            server
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await
        });
        if let Err(e) = ready_rx.await.expect("the process built or failed") {
            runtime.shutdown_background();
            return Err(e);
        }
        Ok(Proc {
            addr,
            stop: Some(stop),
            done: Some(done),
            runtime: Some(runtime),
        })
    }

    /// Gone at once, as with `kill -9`: its connections are cut.
    fn kill(mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.done.take().unwrap().await.unwrap().unwrap();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn listener() -> std::net::TcpListener {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap()
}

fn args(database: Option<&str>) -> ServeArgs {
    let dir = tempfile::tempdir().unwrap().keep();
    let mut args = ServeArgs::for_data_dir(dir);
    args.storage.database_url = database.map(str::to_owned);
    args.admin_user = Some(ADMIN.into());
    args.admin_password = Some(PASSWORD.into());
    // The manager seals and opens secrets; every process may have the key.
    args.secrets_key = Some(picloud_manager_core::SecretKey::parse(SECRETS_KEY).unwrap());
    args
}

/// 32 bytes in base64.
const SECRETS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn link(executors: &[SocketAddr]) -> ClusterLink {
    ClusterLink {
        secret: Arc::from(SECRET),
        executors: executors.iter().map(|a| format!("http://{a}")).collect(),
    }
}

async fn executor(listener: std::net::TcpListener, manager: SocketAddr) -> Proc {
    Proc::start(listener, move || async move {
        picloud::build_executor(&args(None), Arc::from(SECRET), &format!("http://{manager}")).await
    })
    .await
    .expect("the executor starts")
}

async fn manager(listener: std::net::TcpListener, db: &str, executors: &[SocketAddr]) -> Proc {
    let (args, role) = (args(Some(db)), Role::Manager(link(executors)));
    Proc::start(listener, move || async move {
        picloud::build_as(&args, role).await
    })
    .await
    .expect("the manager starts")
}

async fn orchestrator(listener: std::net::TcpListener, db: &str, executors: &[SocketAddr]) -> Proc {
    let (args, role) = (args(Some(db)), Role::Orchestrator(link(executors)));
    Proc::start(listener, move || async move {
        picloud::build_as(&args, role).await
    })
    .await
    .expect("the orchestrator starts")
}

/// A manager, an orchestrator and two executors on a fresh database.
struct Layout {
    db: String,
    client: reqwest::Client,
    token: String,
    manager: Option<Proc>,
    orchestrator: Proc,
    executors: Vec<Option<Proc>>,
}

impl Layout {
    async fn start(test: &str) -> Layout {
        let db = picloud_manager_core::testing::fresh_postgres_url(test).await;
        let (m, o) = (listener(), listener());
        let (e1, e2) = (listener(), listener());
        let m_addr = m.local_addr().unwrap();
        let executor_addrs = [e1.local_addr().unwrap(), e2.local_addr().unwrap()];
        // The manager first: it migrates the database.
        let manager = manager(m, &db, &executor_addrs).await;
        let executors = vec![
            Some(executor(e1, m_addr).await),
            Some(executor(e2, m_addr).await),
        ];
        let orchestrator = orchestrator(o, &db, &executor_addrs).await;
        let client = reqwest::Client::new();
        let token = answer(
            client
                .post(format!("{}/api/v1/admin/auth/login", manager.url()))
                .json(&json!({"username": ADMIN, "password": PASSWORD}))
                .send()
                .await
                .unwrap(),
        )
        .await
        .json()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        Layout {
            db,
            client,
            token,
            manager: Some(manager),
            orchestrator,
            executors,
        }
    }

    fn manager_url(&self) -> String {
        self.manager.as_ref().unwrap().url()
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> common::Answer {
        let mut req = self
            .client
            .request(method, format!("{}/api/v1/admin{path}", self.manager_url()))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        answer(req.send().await.unwrap()).await
    }

    /// Deploys a script with a route; returns its id.
    async fn deploy_at(&self, name: &str, source: &str, path: &str) -> String {
        let a = self
            .admin(
                Method::POST,
                "/scripts",
                Some(json!({"name": name, "source": source})),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.text);
        let id = a.json()["id"].as_str().unwrap().to_owned();
        let r = self
            .admin(
                Method::POST,
                &format!("/scripts/{id}/routes"),
                Some(json!({"path": path})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        id
    }

    async fn get(&self, path: &str) -> common::Answer {
        answer(
            self.client
                .get(format!("{}{path}", self.orchestrator.url()))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Waits until the orchestrator answers `path` with `status` and `body`.
    async fn serves(&self, path: &str, status: u16, body: &str) {
        within(
            FRESH,
            &format!("{path} answered {status} {body:?}"),
            || async {
                let a = self.get(path).await;
                (a.status == status && a.text == body).then_some(())
            },
        )
        .await;
    }
}

macro_rules! postgres_test {
    ($(#[$meta:meta])* async fn $name:ident() $body:block) => {
        $(#[$meta])*
        #[tokio::test]
        #[cfg_attr(
            not(picloud_postgres),
            ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)"
        )]
        async fn $name() $body
    };
}

postgres_test! {
    async fn deploys_through_the_manager_run_on_remote_executors_with_kv_invoke_and_events() {
        let l = Layout::start("split::serve").await;
        // Every process says what it is.
        for (url, role) in [
            (l.manager_url(), "manager"),
            (l.orchestrator.url(), "orchestrator"),
            (l.executors[0].as_ref().unwrap().url(), "executor"),
        ] {
            let v = answer(l.client.get(format!("{url}/version")).send().await.unwrap()).await.json();
            assert_eq!(v["role"], role, "{v}");
            assert_eq!(v["wire"], picloud_shared::version::WIRE_VERSION);
            let h = answer(l.client.get(format!("{url}/healthz")).send().await.unwrap()).await;
            assert_eq!(h.status, 200);
        }
        // The manager serves no user routes; the orchestrator no admin API.
        let a = answer(l.client.get(format!("{}/hello", l.manager_url())).send().await.unwrap()).await;
        a.error(404, "not_found");
        let a = answer(
            l.client.get(format!("{}/api/v1/admin/scripts", l.orchestrator.url()))
                .bearer_auth(&l.token).send().await.unwrap(),
        )
        .await;
        a.error(404, "not_found");

        l.deploy_at("hello", r#""hi " + ctx.request.params.name"#, "/hello/:name").await;
        l.serves("/hello/ann", 200, "hi ann").await;

        // A secret from an executor, through the manager, redacted from the
        // record the orchestrator writes.
        let put = l.admin(Method::PUT, "/apps/default/secrets/API_TOKEN",
            Some(json!({"value": "tok-through-the-wire"}))).await;
        assert_eq!(put.status, 201, "{}", put.text);
        let id = l.deploy_at("secret",
            r#"let t = secrets::get("API_TOKEN"); log::info("using " + t); [t, secrets::get("NONE")]"#,
            "/secret").await;
        l.serves("/secret", 200, r#"["tok-through-the-wire",null]"#).await;
        let logs = within(Duration::from_secs(10), "the secret script's record", || async {
            let a = l.admin(Method::GET, &format!("/scripts/{id}/executions"), None).await;
            let items = a.json()["items"].as_array().cloned().unwrap_or_default();
            items.first().map(|r| r["logs"].to_string())
        })
        .await;
        assert!(logs.contains("using [secret API_TOKEN]"), "{logs}");
        assert!(!logs.contains("tok-through-the-wire"), "{logs}");

        // KV from an executor, through the manager; invoke of a script the
        // executor looks up there.
        l.deploy_at(
            "count",
            r#"let c = kv::collection("counts");
               let n = (c.get("n") ?? 0) + 1;
               c.set("n", n);
               #{ n: n, twice: invoke("double", n), has: c.has("n"), keys: c.list().items.len() }"#,
            "/count",
        )
        .await;
        l.deploy_at("double", "ctx.args * 2", "/double").await;
        // Routes reach the orchestrator by the database's announcement: a
        // route served means the routes made before it are known too.
        l.deploy_at("ready", r#""ready""#, "/ready").await;
        l.serves("/ready", 200, "ready").await;
        for n in 1..=4 {
            let a = l.get("/count").await;
            assert_eq!(a.status, 200, "{}", a.text);
            assert_eq!(a.json(), json!({"n": n, "twice": n * 2, "has": true, "keys": 1}));
        }
        // A bad key is the script's error, with the store's own message.
        l.deploy_at("bad", r#"kv::collection("c").get("")"#, "/bad").await;
        let a = within(FRESH, "/bad is routed", || async {
            let a = l.get("/bad").await;
            (a.status != 404).then_some(a)
        })
        .await;
        assert_eq!(a.status, 500, "{}", a.text);
        assert!(a.text.contains("a key cannot be empty"), "{}", a.text);

        // An updated script is served in its new version.
        let id = l.deploy_at("v", r#""v1""#, "/v").await;
        l.serves("/v", 200, "v1").await;
        let u = l.admin(Method::PUT, &format!("/scripts/{id}"), Some(json!({"source": r#""v2""#}))).await;
        assert_eq!(u.status, 200, "{}", u.text);
        l.serves("/v", 200, "v2").await;

        // A KV trigger's handler runs on an executor, dispatched by the manager.
        let handler = l
            .admin(Method::POST, "/scripts", Some(json!({"name": "on-order",
                "source": r#"kv::collection("seen").set(ctx.event.key, ctx.event.value);"#})))
            .await;
        assert_eq!(handler.status, 201, "{}", handler.text);
        let t = l
            .admin(Method::POST, "/apps/default/triggers", Some(json!({
                "kind": "kv", "collection": "orders", "events": ["set"],
                "script_id": handler.json()["id"]})))
            .await;
        assert_eq!(t.status, 201, "{}", t.text);
        l.deploy_at("order", r#"kv::collection("orders").set("o1", 42); "ok""#, "/order").await;
        l.serves("/order", 200, "ok").await;
        within(Duration::from_secs(5), "the handler ran", || async {
            let a = l.admin(Method::GET, "/apps/default/kv/seen/o1", None).await;
            (a.status == 200).then(|| a.json())
        })
        .await;

        // Each execution was recorded.
        let records = l.admin(Method::GET, &format!("/scripts/{id}/executions"), None).await;
        assert_eq!(records.status, 200);
        within(Duration::from_secs(5), "records were written", || async {
            let r = l.admin(Method::GET, &format!("/scripts/{id}/executions"), None).await.json();
            (r["items"].as_array().is_some_and(|i| !i.is_empty())).then_some(())
        })
        .await;
    }
}

postgres_test! {
    async fn an_executor_lost_mid_load_costs_no_request_and_a_dead_one_is_skipped() {
        let mut l = Layout::start("split::executor_lost").await;
        l.deploy_at("work", r#"let s = 0; for i in 0..2000 { s += i; } s"#, "/work").await;
        l.serves("/work", 200, "1999000").await;
        let killed = l.executors[0].take().unwrap();
        let layout = Arc::new(l);
        let answered = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (layout, answered) = (Arc::clone(&layout), Arc::clone(&answered));
            tasks.push(tokio::spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..40 {
                    let a = layout.get("/work").await;
                    statuses.push((a.status.as_u16(), a.text));
                    answered.fetch_add(1, Ordering::Relaxed);
                }
                statuses
            }));
        }
        // Killed mid-load: once the load is under way.
        within(Duration::from_secs(10), "the load is under way", || async {
            (answered.load(Ordering::Relaxed) > 0).then_some(())
        })
        .await;
        killed.kill();
        for task in tasks {
            for (status, text) in task.await.unwrap() {
                assert_eq!((status, text.as_str()), (200, "1999000"));
            }
        }
    }
}

postgres_test! {
    async fn without_the_manager_the_node_serves_what_it_knows_and_a_new_manager_is_rejoined() {
        let mut l = Layout::start("split::manager_down").await;
        l.deploy_at("hello", r#""hi""#, "/hello").await;
        l.deploy_at("kv", r#"kv::collection("c").set("k", 1); "stored""#, "/kv").await;
        l.serves("/hello", 200, "hi").await;
        l.serves("/kv", 200, "stored").await;

        let stopped = l.manager.take().unwrap();
        let addr = stopped.addr;
        stopped.stop().await;
        // Served as before; KV fails with a clear script error.
        assert_eq!(l.get("/hello").await.text, "hi");
        let a = l.get("/kv").await;
        assert_eq!(a.status, 500, "{}", a.text);
        assert!(a.text.contains("the manager cannot be reached"), "{}", a.text);

        // A manager started again at the same address is used at once.
        let again = std::net::TcpListener::bind(addr).unwrap();
        let executors: Vec<SocketAddr> = l.executors.iter().map(|e| e.as_ref().unwrap().addr).collect();
        l.manager = Some(manager(again, &l.db, &executors).await);
        l.serves("/kv", 200, "stored").await;
    }
}

postgres_test! {
    async fn the_wire_refuses_calls_without_the_secret_of_another_version_or_beyond_their_grant() {
        let l = Layout::start("split::refused").await;
        let executor = l.executors[0].as_ref().unwrap().url();
        let prefix = picloud_shared::wire::prefix();
        let wire = picloud_shared::version::WIRE_VERSION.to_string();
        let app = picloud_manager_core::DEFAULT_APP_ID;
        let cx = |grant: &str| json!({
            "app_id": app, "script_id": uuid::Uuid::now_v7(), "execution_id": uuid::Uuid::now_v7(),
            "request_id": uuid::Uuid::now_v7(), "depth": 0, "grant": grant,
        });
        let set = |grant: &str| json!({"cx": cx(grant), "collection": "c", "op": "set", "key": "k", "value": 1});

        for (url, body) in [
            (format!("{executor}{prefix}/execute"), json!({})),
            (format!("{}{prefix}/kv", l.manager_url()), set("x")),
        ] {
            // No secret, a wrong one: 401.
            let a = answer(l.client.post(&url).header("picloud-wire", &wire).json(&body).send().await.unwrap()).await;
            assert_eq!((a.status.as_u16(), a.json()["code"].clone()), (401, json!("unauthorized")), "{}", a.text);
            let a = answer(l.client.post(&url).bearer_auth("a-wrong-secret-of-some-length")
                .header("picloud-wire", &wire).json(&body).send().await.unwrap()).await;
            assert_eq!(a.status, 401, "{}", a.text);
            // Another wire version, or none: 409, saying both versions.
            let a = answer(l.client.post(&url).bearer_auth(SECRET).header("picloud-wire", "999")
                .json(&body).send().await.unwrap()).await;
            assert_eq!(a.status, 409, "{}", a.text);
            assert_eq!(a.json()["code"], "wire_version");
            assert!(a.json()["message"].as_str().unwrap().contains("wire 999"), "{}", a.text);
            let a = answer(l.client.post(&url).bearer_auth(SECRET).json(&body).send().await.unwrap()).await;
            assert_eq!(a.status, 409, "{}", a.text);
            // Bad JSON with the secret: 400.
            let a = answer(l.client.post(&url).bearer_auth(SECRET).header("picloud-wire", &wire)
                .body("{").header("content-type", "application/json").send().await.unwrap()).await;
            assert_eq!(a.status, 400, "{}", a.text);
        }

        // A grant that was not signed by this instance, or for another app:
        // 403, and nothing is written.
        let kv_url = format!("{}{prefix}/kv", l.manager_url());
        let forged = picloud::wire::GrantKey::new(b"not the key".to_vec())
            .sign(app, 0, Duration::from_secs(60));
        let a = answer(l.client.post(&kv_url).bearer_auth(SECRET).header("picloud-wire", &wire)
            .json(&set(&forged)).send().await.unwrap()).await;
        assert_eq!((a.status.as_u16(), a.json()["code"].clone()), (403, json!("forbidden")), "{}", a.text);
        let db = picloud_manager_core::Db::connect(&picloud_manager_core::DbTarget::Postgres(l.db.clone()))
            .await
            .unwrap();
        let key = picloud::wire::GrantKey::of(&db).await.unwrap();
        let other_app = picloud_shared::AppId::new();
        let theirs = key.sign(other_app, 0, Duration::from_secs(60));
        let a = answer(l.client.post(&kv_url).bearer_auth(SECRET).header("picloud-wire", &wire)
            .json(&set(&theirs)).send().await.unwrap()).await;
        assert_eq!(a.status, 403, "{}", a.text);
        let deeper = key.sign(app, 3, Duration::from_secs(60));
        let a = answer(l.client.post(&kv_url).bearer_auth(SECRET).header("picloud-wire", &wire)
            .json(&set(&deeper)).send().await.unwrap()).await;
        assert_eq!(a.status, 403, "{}", a.text);
        let gone = l.admin(Method::GET, "/apps/default/kv/c/k", None).await;
        assert_eq!(gone.status, 404, "nothing was written: {}", gone.text);
        // A secret is read only with a grant for its app.
        let put = l.admin(Method::PUT, "/apps/default/secrets/TOKEN", Some(json!({"value": "v"}))).await;
        assert_eq!(put.status, 201, "{}", put.text);
        let secret_url = format!("{}{prefix}/secret", l.manager_url());
        for grant in [&forged, &theirs, &deeper] {
            let a = answer(l.client.post(&secret_url).bearer_auth(SECRET).header("picloud-wire", &wire)
                .json(&json!({"cx": cx(grant), "name": "TOKEN"})).send().await.unwrap()).await;
            assert_eq!(a.status, 403, "{}", a.text);
            assert!(!a.text.contains("\"v\""), "{}", a.text);
        }
        let a = answer(l.client.post(&secret_url).header("picloud-wire", &wire)
            .json(&json!({"cx": cx(&forged), "name": "TOKEN"})).send().await.unwrap()).await;
        assert_eq!(a.status, 401, "{}", a.text);
        // The instance's own grant for the app works.
        let ours = key.sign(app, 0, Duration::from_secs(60));
        let a = answer(l.client.post(&secret_url).bearer_auth(SECRET).header("picloud-wire", &wire)
            .json(&json!({"cx": cx(&ours), "name": "TOKEN"})).send().await.unwrap()).await;
        assert_eq!((a.status.as_u16(), a.json()), (200, json!({"value": "v"})), "{}", a.text);
        let a = answer(l.client.post(&kv_url).bearer_auth(SECRET).header("picloud-wire", &wire)
            .json(&set(&ours)).send().await.unwrap()).await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(l.admin(Method::GET, "/apps/default/kv/c/k", None).await.json()["value"], 1);

        // A manager of another wire version is refused at start, in one
        // line; so is a peer that is not a manager.
        for (body, says) in [
            (json!({"wire": 999, "role": "manager"}), "speaks wire 999"),
            (json!({"wire": picloud_shared::version::WIRE_VERSION, "role": "orchestrator"}), "not the manager"),
        ] {
            let fake = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let fake_addr = fake.local_addr().unwrap();
            let app = axum::Router::new().route(
                "/version",
                axum::routing::get(move || async move { axum::Json(body) }),
            );
            let served = tokio::spawn(async move { axum::serve(fake, app).await });
            let refused = Proc::start(listener(), move || async move {
                picloud::build_executor(&args(None), Arc::from(SECRET), &format!("http://{fake_addr}")).await
            })
            .await;
            let e = refused.err().expect("the executor refuses the peer");
            assert!(e.to_string().contains(says), "{e}");
            served.abort();
        }
    }
}
