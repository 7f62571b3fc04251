//! `TestApp`: the real server on port 0 with a fresh database.
#![allow(dead_code)]

mod wait;

use std::net::SocketAddr;
use std::time::Duration;

// Not every test file waits in every way.
#[allow(unused_imports)]
pub use wait::{assert_stays, within, within_blocking};

/// Runs `$body(app)` on a fresh SQLite server and on a fresh PostgreSQL
/// one (ignored, and reported so, where there is no PostgreSQL). The one
/// definition for this crate's tests (manager-core has its own, for its
/// unit tests).
#[allow(unused_macros)]
macro_rules! both_backends {
    ($body:ident) => {
        mod $body {
            #[tokio::test]
            async fn sqlite() {
                super::$body(super::TestApp::spawn().await).await;
            }

            #[tokio::test]
            #[cfg_attr(not(picloud_postgres), ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)")]
            async fn postgres() {
                let test = concat!(stringify!($body), "::postgres");
                super::$body(super::TestApp::spawn_postgres(test).await).await;
            }
        }
    };
    // The same on servers set up by `$configure`, a `fn(&mut ServeArgs)`
    // of the calling file (quicker retries, say).
    ($body:ident, $configure:ident) => {
        mod $body {
            #[tokio::test]
            async fn sqlite() {
                super::$body(super::TestApp::spawn_with(super::$configure).await).await;
            }

            #[tokio::test]
            #[cfg_attr(not(picloud_postgres), ignore = "no PostgreSQL here: set PICLOUD_TEST_DATABASE_URL or install PostgreSQL (README)")]
            async fn postgres() {
                let test = concat!(stringify!($body), "::postgres");
                super::$body(super::TestApp::spawn_postgres_with(test, super::$configure).await)
                    .await;
            }
        }
    };
}

use picloud::config::ServeArgs;
use prometheus_parse::{Sample, Scrape, Value as Metric};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub token: String,
    pub data_dir: tempfile::TempDir,
    pub manager: std::sync::Arc<picloud_manager_core::Manager>,
    args: ServeArgs,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _runtime: ServerRuntime,
}

/// The server's runtime; dropped from inside the test's async code, so
/// it is shut down without waiting for its threads.
struct ServerRuntime(Option<tokio::runtime::Runtime>);

impl Drop for ServerRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// An answer: status, headers and JSON (or text) body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    /// Asserts a JSON error with this status and code.
    pub fn error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        let v = self.json();
        assert_eq!(v["error"]["code"], code, "{}", self.text);
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{}",
            self.text
        );
        v
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut ServeArgs)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut args = ServeArgs::for_data_dir(dir.path().to_path_buf());
        args.admin_user = Some(ADMIN.into());
        args.admin_password = Some(PASSWORD.into());
        configure(&mut args);
        Self::start(args, dir).await
    }

    /// The same on a fresh PostgreSQL database (see
    /// `picloud_manager_core::testing`).
    pub async fn spawn_postgres(test: &str) -> TestApp {
        Self::spawn_postgres_with(test, |_| {}).await
    }

    pub async fn spawn_postgres_with(
        test: &str,
        configure: impl FnOnce(&mut ServeArgs),
    ) -> TestApp {
        let url = picloud_manager_core::testing::fresh_postgres_url(test).await;
        let dir = tempfile::tempdir().unwrap();
        let mut args = ServeArgs::for_data_dir(dir.path().to_path_buf());
        args.storage.database_url = Some(url);
        // As a PostgreSQL deployment must (docs/secrets.md).
        args.secrets_key = Some(picloud_manager_core::SecretKey::generate());
        args.admin_user = Some(ADMIN.into());
        args.admin_password = Some(PASSWORD.into());
        configure(&mut args);
        Self::start(args, dir).await
    }

    /// Another node of the same instance: a second server on this one's
    /// PostgreSQL database, with a data directory of its own.
    pub async fn node(&self) -> TestApp {
        assert!(
            self.args.storage.database_url.is_some(),
            "nodes share a PostgreSQL database"
        );
        Self::start(self.args.clone(), tempfile::tempdir().unwrap()).await
    }

    /// The PostgreSQL database this server uses, if it does.
    pub fn database_url(&self) -> Option<&str> {
        self.args.storage.database_url.as_deref()
    }

    /// A server with exactly these settings on the data in `dir`.
    pub async fn start_with_args(args: ServeArgs, dir: tempfile::TempDir) -> TestApp {
        Self::start(args, dir).await
    }

    async fn start(args: ServeArgs, dir: tempfile::TempDir) -> TestApp {
        // The server runs on a runtime built as the binary builds its own
        // (scripts start on its threads); the test drives it from its own.
        let runtime =
            picloud_executor_core::runtime::builder(args.max_concurrent_executions as usize)
                .worker_threads(2)
                .build()
                .expect("the server's runtime starts");
        let kept_args = args.clone();
        let (ready_tx, ready_rx) = oneshot::channel();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = runtime.spawn(async move {
            let server = picloud::build(&args).await.expect("the server builds");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let _ = ready_tx.send((
                addr,
                server.manager.clone().expect("all-in-one has a manager"),
            ));
            server
                .serve(listener, async {
                    let _ = rx.await;
                })
                .await
        });
        let (addr, manager) = match ready_rx.await {
            Ok(ready) => ready,
            Err(_) => match handle.await {
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                other => panic!("the server did not start: {other:?}"),
            },
        };
        let mut app = TestApp {
            addr,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            token: String::new(),
            data_dir: dir,
            manager,
            args: kept_args,
            shutdown: Some(tx),
            handle: Some(handle),
            _runtime: ServerRuntime(Some(runtime)),
        };
        app.token = app.login(ADMIN, PASSWORD).await.json()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        app
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A raw request (no token unless given).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        answer(req.send().await.expect("request sent")).await
    }

    /// A request on a user route, with a Host header when given.
    pub async fn on_host(&self, method: Method, path: &str, host: Option<&str>) -> Answer {
        let mut req = self.client.request(method, self.url(path));
        if let Some(h) = host {
            req = req.header("host", h);
        }
        answer(req.send().await.expect("request sent")).await
    }

    /// An admin API call as the admin.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.send(
            method,
            &format!("/api/v1/admin{path}"),
            Some(&self.token.clone()),
            body,
        )
        .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Answer {
        self.send(
            Method::POST,
            "/api/v1/admin/auth/login",
            None,
            Some(json!({"username": username, "password": password})),
        )
        .await
    }

    /// Deploys a script; panics unless it is created.
    pub async fn deploy(&self, name: &str, source: &str) -> Value {
        self.deploy_with(json!({"name": name, "source": source}))
            .await
    }

    /// Deploys a script; its id.
    pub async fn deploy_id(&self, name: &str, source: &str) -> String {
        self.deploy_with_id(json!({"name": name, "source": source}))
            .await
    }

    /// Deploys a script into the app named `app`; its id.
    pub async fn deploy_in(&self, app: &str, name: &str, source: &str) -> String {
        self.deploy_with_id(json!({"name": name, "source": source, "app": app}))
            .await
    }

    /// Deploys a script described by `body`; its id.
    pub async fn deploy_with_id(&self, body: Value) -> String {
        self.deploy_with(body).await["id"]
            .as_str()
            .expect("a script id")
            .to_owned()
    }

    pub async fn deploy_with(&self, body: Value) -> Value {
        let a = self.admin(Method::POST, "/scripts", Some(body)).await;
        assert_eq!(a.status, 201, "{}", a.text);
        a.json()
    }

    /// Deploys a script in `default` with a route at `path`; returns its id.
    pub async fn deploy_at(&self, name: &str, source: &str, path: &str) -> String {
        let id = self.deploy_id(name, source).await;
        let a = self
            .admin(
                Method::POST,
                &format!("/scripts/{id}/routes"),
                Some(json!({ "path": path })),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.text);
        id
    }

    /// Runs a script through /api/v1/execute/{id}.
    pub async fn invoke(&self, id: &str) -> Answer {
        self.send(Method::GET, &format!("/api/v1/execute/{id}"), None, None)
            .await
    }

    pub async fn script_count(&self) -> usize {
        self.admin(Method::GET, "/scripts", None).await.json()["items"]
            .as_array()
            .unwrap()
            .len()
    }

    /// Waits (up to 5 s) until the script has at least `n` execution
    /// records: they are written in batches, a moment after each answer.
    pub async fn executions(&self, id: &str, n: usize) -> Vec<Value> {
        within(
            Duration::from_secs(5),
            &format!("{n} execution records for {id}"),
            || async {
                let a = self
                    .admin(
                        Method::GET,
                        &format!("/scripts/{id}/executions?limit=1000"),
                        None,
                    )
                    .await;
                let items = a.json()["items"].as_array().unwrap().clone();
                if items.len() >= n {
                    Ok(items)
                } else {
                    Err(format!("{} records", items.len()))
                }
            },
        )
        .await
    }

    /// Stops the server and starts a new one on the same data (and
    /// database), as a restart would.
    pub async fn restart(self) -> TestApp {
        let args = self.args.clone();
        let (stopped, dir) = self.stop_keeping_data().await;
        stopped.expect("the server stopped cleanly");
        Self::start(args, dir).await
    }

    /// Graceful shutdown; returns what `serve` returned.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop_keeping_data().await.0
    }

    /// Graceful shutdown, keeping the data directory for a look afterwards.
    pub async fn stop_keeping_data(mut self) -> (anyhow::Result<()>, tempfile::TempDir) {
        let _ = self.shutdown.take().unwrap().send(());
        let result = self.handle.take().unwrap().await.unwrap();
        (result, self.data_dir)
    }
}

pub async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    Answer {
        status,
        headers,
        text,
    }
}

/// `GET /metrics`, checked to be Prometheus text and parsed.
pub async fn scrape(t: &TestApp) -> Scrape {
    let a = t.send(Method::GET, "/metrics", None, None).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(
        a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        a.headers
    );
    let lines = a.text.lines().map(|l| Ok(l.to_owned()));
    Scrape::parse(lines).expect("Prometheus text")
}

/// The value of the sample `name` whose labels include `labels`.
pub fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .find(|x: &&Sample| {
            x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v))
        })
        .map(|x| match &x.value {
            Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v) => *v,
            Metric::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            Metric::Summary(_) => f64::NAN,
        })
}

/// Scrapes until `ok` holds (records are counted as they are written, a
/// moment after each response).
pub async fn scrape_until(t: &TestApp, ok: impl Fn(&Scrape) -> bool) -> Scrape {
    within(Duration::from_secs(5), "the metrics got there", || async {
        let s = scrape(t).await;
        ok(&s).then_some(s)
    })
    .await
}
