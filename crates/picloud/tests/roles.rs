//! The role table: every admin endpoint, called by each kind of caller
//! (no session, a signed-in user with no role in the app, viewer, editor,
//! owner, instance admin), must answer the status the table says, on both
//! backends. The table must name every endpoint the server has
//! (`ADMIN_ENDPOINTS`), so an endpoint added without a row, and so without
//! a decided gate, fails here. A refused change must change nothing.

#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{ADMIN, PASSWORD, TestApp, within};
use picloud_manager_core::api::ADMIN_ENDPOINTS;
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    Outsider,
    Viewer,
    Editor,
    Owner,
    Admin,
}

const EVERYONE: [Who; 6] = [
    Who::Anonymous,
    Who::Outsider,
    Who::Viewer,
    Who::Editor,
    Who::Owner,
    Who::Admin,
];

impl Who {
    fn username(self) -> &'static str {
        match self {
            Who::Anonymous => "nobody",
            Who::Outsider => "olga",
            Who::Viewer => "vera",
            Who::Editor => "ed",
            Who::Owner => "oscar",
            Who::Admin => ADMIN,
        }
    }
    fn password(self) -> String {
        match self {
            Who::Admin => PASSWORD.to_owned(),
            other => format!("{}-password-123", other.username()),
        }
    }
    fn index(self) -> usize {
        EVERYONE.iter().position(|&w| w == self).unwrap()
    }
}

/// One row: an endpoint and the status each caller gets, in the order of
/// [`EVERYONE`]: anonymous, outsider, viewer, editor, owner, admin.
struct Row {
    method: &'static str,
    path: &'static str,
    expect: [u16; 6],
}

const fn row(method: &'static str, path: &'static str, expect: [u16; 6]) -> Row {
    Row {
        method,
        path,
        expect,
    }
}

#[rustfmt::skip]
const TABLE: &[Row] = &[
    //                                                       anon outs view edit ownr admn
    row("post",   "/admin/auth/login",                      [401, 200, 200, 200, 200, 200]),
    row("post",   "/admin/auth/logout",                     [401, 204, 204, 204, 204, 204]),
    row("get",    "/admin/auth/me",                         [401, 200, 200, 200, 200, 200]),
    row("post",   "/admin/scripts",                         [401, 404, 403, 201, 201, 201]),
    row("get",    "/admin/scripts",                         [401, 404, 200, 200, 200, 200]),
    row("get",    "/admin/scripts/{id}",                    [401, 404, 200, 200, 200, 200]),
    row("put",    "/admin/scripts/{id}",                    [401, 404, 403, 200, 200, 200]),
    row("delete", "/admin/scripts/{id}",                    [401, 404, 403, 204, 204, 204]),
    row("get",    "/admin/scripts/{id}/executions",         [401, 404, 200, 200, 200, 200]),
    row("get",    "/admin/executions/{id}",                 [401, 404, 200, 200, 200, 200]),
    row("post",   "/admin/executions/{id}/replay",          [401, 404, 403, 200, 200, 200]),
    row("get",    "/admin/scripts/{id}/usage",              [401, 404, 200, 200, 200, 200]),
    row("get",    "/admin/scripts/{id}/versions",           [401, 404, 200, 200, 200, 200]),
    row("get",    "/admin/scripts/{id}/versions/{version}", [401, 404, 200, 200, 200, 200]),
    row("post",   "/admin/scripts/{id}/routes",             [401, 404, 403, 201, 201, 201]),
    row("post",   "/admin/apps",                            [401, 403, 403, 403, 403, 201]),
    row("get",    "/admin/apps",                            [401, 200, 200, 200, 200, 200]),
    row("get",    "/admin/apps/{app}",                      [401, 404, 200, 200, 200, 200]),
    row("patch",  "/admin/apps/{app}",                      [401, 404, 403, 200, 200, 200]),
    row("delete", "/admin/apps/{app}",                      [401, 404, 403, 403, 204, 204]),
    row("post",   "/admin/apps/{app}/domains",              [401, 404, 403, 403, 201, 201]),
    row("get",    "/admin/apps/{app}/domains",              [401, 404, 200, 200, 200, 200]),
    row("delete", "/admin/apps/{app}/domains/{id}",         [401, 404, 403, 403, 204, 204]),
    row("post",   "/admin/apps/{app}/members",              [401, 404, 403, 403, 201, 201]),
    row("get",    "/admin/apps/{app}/members",              [401, 404, 200, 200, 200, 200]),
    row("delete", "/admin/apps/{app}/members/{user}",       [401, 404, 403, 403, 204, 204]),
    row("get",    "/admin/apps/{app}/kv",                   [401, 404, 200, 200, 200, 200]),
    row("get",    "/admin/apps/{app}/kv/{collection}",      [401, 404, 200, 200, 200, 200]),
    row("get",    "/admin/apps/{app}/kv/{collection}/{key}", [401, 404, 200, 200, 200, 200]),
    row("put",    "/admin/apps/{app}/kv/{collection}/{key}", [401, 404, 403, 201, 201, 201]),
    row("delete", "/admin/apps/{app}/kv/{collection}/{key}", [401, 404, 403, 204, 204, 204]),
    row("get",    "/admin/apps/{app}/releases",             [401, 404, 200, 200, 200, 200]),
    row("post",   "/admin/apps/{app}/releases",             [401, 404, 403, 201, 201, 201]),
    row("post",   "/admin/apps/{app}/releases/{release}/rollback", [401, 404, 403, 201, 201, 201]),
    row("get",    "/admin/apps/{app}/secrets",              [401, 404, 200, 200, 200, 200]),
    row("put",    "/admin/apps/{app}/secrets/{name}",       [401, 404, 403, 201, 201, 201]),
    row("delete", "/admin/apps/{app}/secrets/{name}",       [401, 404, 403, 204, 204, 204]),
    row("post",   "/admin/apps/{app}/triggers",             [401, 404, 403, 201, 201, 201]),
    row("get",    "/admin/apps/{app}/triggers",             [401, 404, 200, 200, 200, 200]),
    row("delete", "/admin/triggers/{id}",                   [401, 404, 403, 204, 204, 204]),
    row("get",    "/admin/apps/{app}/dead-letters",         [401, 404, 200, 200, 200, 200]),
    row("post",   "/admin/dead-letters/{id}/retry",         [401, 404, 403, 202, 202, 202]),
    row("delete", "/admin/dead-letters/{id}",               [401, 404, 403, 204, 204, 204]),
    row("get",    "/admin/routes",                          [401, 404, 200, 200, 200, 200]),
    row("post",   "/admin/routes/check",                    [401, 404, 200, 200, 200, 200]),
    row("get",    "/admin/routes/match",                    [401, 404, 200, 200, 200, 200]),
    row("delete", "/admin/routes/{id}",                     [401, 404, 403, 204, 204, 204]),
    row("post",   "/admin/users",                           [401, 403, 403, 403, 403, 201]),
    row("get",    "/admin/users",                           [401, 403, 403, 403, 403, 200]),
    row("delete", "/admin/users/{id}",                      [401, 403, 403, 403, 403, 204]),
    row("post",   "/admin/tokens",                          [401, 201, 201, 201, 201, 201]),
    row("get",    "/admin/tokens",                          [401, 200, 200, 200, 200, 200]),
    row("delete", "/admin/tokens/{id}",                     [401, 204, 204, 204, 204, 204]),
    row("get",    "/admin/audit",                           [401, 404, 403, 403, 200, 200]),
];

#[test]
fn the_table_names_every_admin_endpoint_once() {
    let served: BTreeSet<(&str, &str)> = ADMIN_ENDPOINTS.iter().copied().collect();
    assert_eq!(
        served.len(),
        ADMIN_ENDPOINTS.len(),
        "an endpoint is declared twice"
    );
    let table: BTreeSet<(&str, &str)> = TABLE.iter().map(|r| (r.method, r.path)).collect();
    assert_eq!(table.len(), TABLE.len(), "a row is in the table twice");
    let missing: Vec<_> = served.difference(&table).collect();
    assert!(
        missing.is_empty(),
        "endpoints without a row in the role table: {missing:?}"
    );
    let stale: Vec<_> = table.difference(&served).collect();
    assert!(
        stale.is_empty(),
        "rows for endpoints that do not exist: {stale:?}"
    );
}

/// The users and their tokens, on one server.
struct World {
    app: TestApp,
    tokens: [Option<String>; 6],
    ids: [String; 6],
    n: AtomicUsize,
}

/// What one case works on: a fresh app where the viewer, editor and owner
/// hold their roles, with a script, a route and a domain claim.
struct Fixture {
    app: String,
    script: String,
    trigger: String,
    route: String,
    domain: String,
    host: String,
}

impl World {
    async fn new(app: TestApp) -> World {
        let mut tokens: [Option<String>; 6] = Default::default();
        let mut ids: [String; 6] = Default::default();
        for who in EVERYONE {
            match who {
                Who::Anonymous => continue,
                Who::Admin => {
                    tokens[who.index()] = Some(app.token.clone());
                    ids[who.index()] =
                        app.admin(Method::GET, "/auth/me", None).await.json()["user"]["id"]
                            .as_str()
                            .unwrap()
                            .to_owned();
                    continue;
                }
                _ => {}
            }
            let created = app
                .admin(
                    Method::POST,
                    "/users",
                    Some(json!({"username": who.username(), "password": who.password(), "role": "member"})),
                )
                .await;
            assert_eq!(created.status, 201, "{}", created.text);
            ids[who.index()] = created.json()["id"].as_str().unwrap().to_owned();
            tokens[who.index()] = Some(login(&app, who).await);
        }
        World {
            app,
            tokens,
            ids,
            n: AtomicUsize::new(0),
        }
    }

    fn token(&self, who: Who) -> Option<&str> {
        self.tokens[who.index()].as_deref()
    }

    fn id(&self, who: Who) -> &str {
        &self.ids[who.index()]
    }

    fn next(&self) -> usize {
        self.n.fetch_add(1, Ordering::Relaxed)
    }

    /// An admin call that must succeed.
    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let a = self.app.admin(method, path, body).await;
        assert!(a.status.is_success(), "{path}: {}", a.text);
        if a.text.is_empty() {
            Value::Null
        } else {
            a.json()
        }
    }

    async fn fixture(&self) -> Fixture {
        let n = self.next();
        let app = format!("app-{n}");
        self.admin(Method::POST, "/apps", Some(json!({"name": app})))
            .await;
        for who in [Who::Viewer, Who::Editor, Who::Owner] {
            let role = format!("{who:?}").to_lowercase();
            self.admin(
                Method::POST,
                &format!("/apps/{app}/members"),
                Some(json!({"user_id": self.id(who), "role": role})),
            )
            .await;
        }
        let script = self
            .admin(
                Method::POST,
                "/scripts",
                Some(json!({"name": "s", "source": "\"hi\"", "app": app})),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let route = self
            .admin(
                Method::POST,
                &format!("/scripts/{script}/routes"),
                Some(json!({"path": "/hello"})),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        self.admin(
            Method::PUT,
            &format!("/apps/{app}/kv/things/k1"),
            Some(json!({"v": 1})),
        )
        .await;
        self.admin(
            Method::PUT,
            &format!("/apps/{app}/secrets/S1"),
            Some(json!({"value": "v1"})),
        )
        .await;
        let trigger = self
            .admin(
                Method::POST,
                &format!("/apps/{app}/triggers"),
                Some(json!({"kind": "kv", "collection": "watched", "events": ["set"], "script_id": script})),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let host = format!("app-{n}.example.com");
        let domain = self
            .admin(
                Method::POST,
                &format!("/apps/{app}/domains"),
                Some(json!({"pattern": host})),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        Fixture {
            app,
            script,
            trigger,
            route,
            domain,
            host,
        }
    }

    /// A dead letter in the fixture's app: a trigger whose handler fails,
    /// with one attempt, fired by a write.
    async fn dead_letter(&self, f: &Fixture) -> String {
        let n = self.next();
        let failing = self
            .admin(
                Method::POST,
                "/scripts",
                Some(
                    json!({"name": format!("failing-{n}"), "source": "throw \"no\"", "app": f.app}),
                ),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        self.admin(
            Method::POST,
            &format!("/apps/{}/triggers", f.app),
            Some(
                json!({"kind": "kv", "collection": format!("doomed-{n}"), "events": ["set"],
                        "script_id": failing, "max_attempts": 1}),
            ),
        )
        .await;
        let before = self
            .admin(Method::GET, &format!("/apps/{}/dead-letters", f.app), None)
            .await["items"]
            .as_array()
            .unwrap()
            .len();
        self.admin(
            Method::PUT,
            &format!("/apps/{}/kv/doomed-{n}/k", f.app),
            Some(json!(1)),
        )
        .await;
        within(
            std::time::Duration::from_secs(4),
            "a dead letter appeared",
            || async {
                let items = self
                    .admin(Method::GET, &format!("/apps/{}/dead-letters", f.app), None)
                    .await["items"]
                    .as_array()
                    .unwrap()
                    .clone();
                (items.len() > before)
                    .then(|| items.last().unwrap()["id"].as_str().unwrap().to_owned())
            },
        )
        .await
    }

    /// An execution of the fixture's script whose request its app kept.
    async fn execution(&self, f: &Fixture) -> String {
        let a = self
            .app
            .admin(
                Method::PATCH,
                &format!("/apps/{}", f.app),
                Some(json!({"record_requests": "all"})),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        let a = self.app.on_host(Method::GET, "/hello", Some(&f.host)).await;
        assert_eq!(a.status, 200, "{}", a.text);
        let id = a.headers["picloud-execution-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let record = self
            .admin(Method::GET, &format!("/executions/{id}"), None)
            .await;
        assert!(record["request"].is_object(), "{record}");
        id
    }

    /// Everything a refused change could have touched, as the admin sees it.
    async fn snapshot(&self, f: &Fixture) -> Vec<Value> {
        let mut all = Vec::new();
        for path in [
            "/apps".to_owned(),
            "/users".to_owned(),
            format!("/scripts?app={}", f.app),
            format!("/routes?app={}", f.app),
            format!("/apps/{}/domains", f.app),
            format!("/apps/{}/members", f.app),
            format!("/apps/{}/kv/things", f.app),
            format!("/apps/{}/triggers", f.app),
            format!("/apps/{}/dead-letters", f.app),
            format!("/apps/{}/releases", f.app),
        ] {
            let mut state = self.admin(Method::GET, &path, None).await;
            // Counters move as the fixture's own events run in the
            // background; they are observations, not state a call changes.
            for item in state["items"].as_array_mut().into_iter().flatten() {
                if let Some(item) = item.as_object_mut() {
                    item.remove("stats");
                }
            }
            all.push(state);
        }
        all
    }

    /// The request a caller makes to exercise one endpoint: its concrete
    /// path, body, and the token to send (`None` for no session).
    async fn request(
        &self,
        row: &Row,
        who: Who,
        f: &Fixture,
    ) -> (String, Option<Value>, Option<String>) {
        let token = self.token(who).map(str::to_owned);
        let n = self.next();
        let (path, body) = match (row.method, row.path) {
            ("post", "/admin/auth/login") => {
                let body = match who {
                    Who::Anonymous => json!({"username": ADMIN, "password": "not the password"}),
                    _ => json!({"username": who.username(), "password": who.password()}),
                };
                return ("/admin/auth/login".into(), Some(body), None);
            }
            ("post", "/admin/auth/logout") => {
                // A session of its own, so the world's token stays valid.
                let token = match who {
                    Who::Anonymous => None,
                    _ => Some(login(&self.app, who).await),
                };
                return ("/admin/auth/logout".into(), None, token);
            }
            ("get", "/admin/auth/me") => ("/admin/auth/me".into(), None),
            ("post", "/admin/scripts") => (
                "/admin/scripts".into(),
                Some(json!({"name": format!("new-{n}"), "source": "1", "app": f.app})),
            ),
            ("get", "/admin/scripts") => (format!("/admin/scripts?app={}", f.app), None),
            ("get", "/admin/scripts/{id}") => (format!("/admin/scripts/{}", f.script), None),
            ("put", "/admin/scripts/{id}") => (
                format!("/admin/scripts/{}", f.script),
                Some(json!({"source": "2"})),
            ),
            ("delete", "/admin/scripts/{id}") => (format!("/admin/scripts/{}", f.script), None),
            ("get", "/admin/scripts/{id}/usage") => (
                format!("/admin/scripts/{}/usage?window=day", f.script),
                None,
            ),
            ("get", "/admin/scripts/{id}/versions") => {
                (format!("/admin/scripts/{}/versions", f.script), None)
            }
            ("get", "/admin/scripts/{id}/versions/{version}") => {
                (format!("/admin/scripts/{}/versions/1", f.script), None)
            }
            ("get", "/admin/executions/{id}") => (
                format!("/admin/executions/{}", self.execution(f).await),
                None,
            ),
            ("post", "/admin/executions/{id}/replay") => (
                format!("/admin/executions/{}/replay", self.execution(f).await),
                Some(json!({})),
            ),
            ("patch", "/admin/apps/{app}") => (
                format!("/admin/apps/{}", f.app),
                Some(json!({"record_requests": "failed", "redact_headers": ["x-api-key"]})),
            ),
            ("get", "/admin/scripts/{id}/executions") => {
                (format!("/admin/scripts/{}/executions", f.script), None)
            }
            ("post", "/admin/scripts/{id}/routes") => (
                format!("/admin/scripts/{}/routes", f.script),
                Some(json!({"path": format!("/new/{n}")})),
            ),
            ("post", "/admin/apps") => (
                "/admin/apps".into(),
                Some(json!({"name": format!("made-{n}")})),
            ),
            ("get", "/admin/apps") => ("/admin/apps".into(), None),
            ("get", "/admin/apps/{app}") => (format!("/admin/apps/{}", f.app), None),
            ("delete", "/admin/apps/{app}") => (format!("/admin/apps/{}", f.app), None),
            ("post", "/admin/apps/{app}/domains") => (
                format!("/admin/apps/{}/domains", f.app),
                Some(json!({"pattern": format!("new-{n}.example.com")})),
            ),
            ("get", "/admin/apps/{app}/domains") => {
                (format!("/admin/apps/{}/domains", f.app), None)
            }
            ("delete", "/admin/apps/{app}/domains/{id}") => {
                (format!("/admin/apps/{}/domains/{}", f.app, f.domain), None)
            }
            ("post", "/admin/apps/{app}/members") => (
                format!("/admin/apps/{}/members", f.app),
                Some(json!({"user_id": self.id(Who::Outsider), "role": "viewer"})),
            ),
            ("get", "/admin/apps/{app}/members") => {
                (format!("/admin/apps/{}/members", f.app), None)
            }
            ("delete", "/admin/apps/{app}/members/{user}") => (
                format!("/admin/apps/{}/members/{}", f.app, self.id(Who::Viewer)),
                None,
            ),
            ("get", "/admin/apps/{app}/kv") => (format!("/admin/apps/{}/kv", f.app), None),
            ("get", "/admin/apps/{app}/kv/{collection}") => {
                (format!("/admin/apps/{}/kv/things", f.app), None)
            }
            ("get", "/admin/apps/{app}/kv/{collection}/{key}") => {
                (format!("/admin/apps/{}/kv/things/k1", f.app), None)
            }
            ("put", "/admin/apps/{app}/kv/{collection}/{key}") => (
                format!("/admin/apps/{}/kv/things/new-{n}", f.app),
                Some(json!([n])),
            ),
            ("delete", "/admin/apps/{app}/kv/{collection}/{key}") => {
                (format!("/admin/apps/{}/kv/things/k1", f.app), None)
            }
            ("get", "/admin/apps/{app}/releases") => {
                (format!("/admin/apps/{}/releases", f.app), None)
            }
            ("post", "/admin/apps/{app}/releases") => (
                format!("/admin/apps/{}/releases", f.app),
                Some(json!({"message": format!("release {n}")})),
            ),
            ("post", "/admin/apps/{app}/releases/{release}/rollback") => {
                // Release 1 holds the fixture; a script added after it makes
                // the rollback a change.
                let first = self
                    .admin(
                        Method::POST,
                        &format!("/apps/{}/releases", f.app),
                        Some(json!({})),
                    )
                    .await["number"]
                    .clone();
                self.admin(
                    Method::POST,
                    "/scripts",
                    Some(json!({"name": format!("later-{n}"), "source": "1", "app": f.app})),
                )
                .await;
                (
                    format!("/admin/apps/{}/releases/{first}/rollback", f.app),
                    None,
                )
            }
            ("get", "/admin/apps/{app}/secrets") => {
                (format!("/admin/apps/{}/secrets", f.app), None)
            }
            ("put", "/admin/apps/{app}/secrets/{name}") => (
                format!("/admin/apps/{}/secrets/NEW_{n}", f.app),
                Some(json!({"value": format!("v{n}")})),
            ),
            ("delete", "/admin/apps/{app}/secrets/{name}") => {
                (format!("/admin/apps/{}/secrets/S1", f.app), None)
            }
            ("post", "/admin/apps/{app}/triggers") => (
                format!("/admin/apps/{}/triggers", f.app),
                Some(
                    json!({"kind": "kv", "collection": format!("c-{n}"), "events": ["set"],
                            "script_id": f.script}),
                ),
            ),
            ("get", "/admin/apps/{app}/triggers") => {
                (format!("/admin/apps/{}/triggers", f.app), None)
            }
            ("delete", "/admin/triggers/{id}") => (format!("/admin/triggers/{}", f.trigger), None),
            ("get", "/admin/apps/{app}/dead-letters") => {
                (format!("/admin/apps/{}/dead-letters", f.app), None)
            }
            ("post", "/admin/dead-letters/{id}/retry") => (
                format!("/admin/dead-letters/{}/retry", self.dead_letter(f).await),
                None,
            ),
            ("delete", "/admin/dead-letters/{id}") => (
                format!("/admin/dead-letters/{}", self.dead_letter(f).await),
                None,
            ),
            ("get", "/admin/routes") => (format!("/admin/routes?app={}", f.app), None),
            ("post", "/admin/routes/check") => (
                "/admin/routes/check".into(),
                Some(json!({"app": f.app, "path": "/other"})),
            ),
            ("get", "/admin/routes/match") => (
                format!("/admin/routes/match?host={}&path=/hello", f.host),
                None,
            ),
            ("delete", "/admin/routes/{id}") => (format!("/admin/routes/{}", f.route), None),
            ("post", "/admin/users") => (
                "/admin/users".into(),
                Some(
                    json!({"username": format!("user-{n}"), "password": "a long password", "role": "member"}),
                ),
            ),
            ("get", "/admin/users") => ("/admin/users".into(), None),
            ("delete", "/admin/users/{id}") => {
                let victim = self
                    .admin(
                        Method::POST,
                        "/users",
                        Some(json!({"username": format!("victim-{n}"), "password": "a long password", "role": "member"})),
                    )
                    .await;
                (
                    format!("/admin/users/{}", victim["id"].as_str().unwrap()),
                    None,
                )
            }
            ("post", "/admin/tokens") => (
                "/admin/tokens".into(),
                Some(json!({"name": format!("ci-{n}")})),
            ),
            ("get", "/admin/tokens") => ("/admin/tokens".into(), None),
            ("delete", "/admin/tokens/{id}") => {
                // One of the caller's own tokens (the admin's for no session).
                let owner = self.token(who).or(self.token(Who::Admin)).unwrap();
                let made = self
                    .app
                    .send(
                        Method::POST,
                        "/api/v1/admin/tokens",
                        Some(owner),
                        Some(json!({"name": format!("t-{n}")})),
                    )
                    .await;
                assert_eq!(made.status, 201, "{}", made.text);
                (
                    format!("/admin/tokens/{}", made.json()["id"].as_str().unwrap()),
                    None,
                )
            }
            ("get", "/admin/audit") => (format!("/admin/audit?app={}", f.app), None),
            (method, path) => panic!(
                "no request for {method} {path}: give the new endpoint a row and a request here"
            ),
        };
        (path, body, token)
    }
}

async fn login(app: &TestApp, who: Who) -> String {
    let a = app.login(who.username(), &who.password()).await;
    assert_eq!(a.status, 200, "{who:?} signs in: {}", a.text);
    a.json()["token"].as_str().unwrap().to_owned()
}

fn method(m: &str) -> Method {
    Method::from_bytes(m.to_uppercase().as_bytes()).unwrap()
}

async fn every_endpoint_answers_each_role_as_the_table_says(app: TestApp) {
    let world = World::new(app).await;
    let mut failures = Vec::new();
    for row in TABLE {
        for who in EVERYONE {
            let fixture = world.fixture().await;
            let (path, body, token) = world.request(row, who, &fixture).await;
            let expected = row.expect[who.index()];
            let refused_change = row.method != "get" && expected >= 400 && expected != 401;
            let before = if refused_change {
                Some(world.snapshot(&fixture).await)
            } else {
                None
            };
            let answer = world
                .app
                .send(
                    method(row.method),
                    &format!("/api/v1{path}"),
                    token.as_deref(),
                    body,
                )
                .await;
            let got = answer.status.as_u16();
            if got != expected {
                failures.push(format!(
                    "{} {} as {who:?}: expected {expected}, got {got}: {}",
                    row.method, row.path, answer.text
                ));
                continue;
            }
            if got >= 400 {
                let v = answer.json();
                let code = v["error"]["code"].as_str().unwrap_or_default();
                let want = match got {
                    401 if row.path == "/admin/auth/login" => "invalid_credentials",
                    401 => "unauthorized",
                    403 => "forbidden",
                    404 => "not_found",
                    _ => "",
                };
                if code != want {
                    failures.push(format!(
                        "{} {} as {who:?}: code {code:?}, expected {want:?}",
                        row.method, row.path
                    ));
                }
            }
            if let Some(before) = before
                && world.snapshot(&fixture).await != before
            {
                failures.push(format!(
                    "{} {} as {who:?} was refused ({got}) but changed something",
                    row.method, row.path
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
both_backends!(every_endpoint_answers_each_role_as_the_table_says);
