//! The OpenAPI document, `GET /api/v1/openapi.json`: it describes every
//! admin endpoint the router serves (`ADMIN_ENDPOINTS`, the list the router
//! is built from), with the same method, and nothing the router does not
//! serve; it is OpenAPI 3.1 and every reference in it resolves; and real
//! answers fit the schemas it gives for them.

mod common;

use std::collections::BTreeSet;

use common::{Answer, TestApp};
use picloud_manager_core::api::ADMIN_ENDPOINTS;
use reqwest::Method;
use serde_json::{Value, json};

const PREFIX: &str = "/api/v1";
const DOC: &str = "/api/v1/openapi.json";
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

async fn document(app: &TestApp) -> Value {
    // Unauthenticated.
    let a = app.send(Method::GET, DOC, None, None).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.headers["content-type"], "application/json");
    a.json()
}

/// Every operation: (method, path, operation).
fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.push((method, path.as_str(), op));
            }
        }
    }
    ops
}

/// Follows a local `$ref` (`#/components/...`), if `v` is one.
fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => doc
            .pointer(r.strip_prefix('#').expect("a local reference"))
            .unwrap_or_else(|| panic!("{r} does not resolve")),
        None => v,
    }
}

#[tokio::test]
async fn every_admin_route_is_documented_with_its_method() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;

    let mut served: BTreeSet<(String, String)> = ADMIN_ENDPOINTS
        .iter()
        .map(|(m, p)| (m.to_string(), format!("{PREFIX}{p}")))
        .collect();
    served.insert(("get".into(), DOC.into()));
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m.to_owned(), p.to_owned()))
        .collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    assert!(missing.is_empty(), "served but not documented: {missing:?}");
    let stale: Vec<_> = documented.difference(&served).collect();
    assert!(stale.is_empty(), "documented but not served: {stale:?}");

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session_cookie"]["in"], "cookie");
    assert_eq!(schemes["session_cookie"]["name"], "picloud_session");
    assert_eq!(
        doc["security"],
        json!([{"bearer": []}, {"session_cookie": []}])
    );

    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let at = format!("{method} {path}");
        assert!(
            ids.insert(op["operationId"].as_str().expect("an operationId")),
            "{at}: operationId used twice"
        );
        // Each `{name}` of the path is a required path parameter.
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        for name in path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        {
            assert!(
                params
                    .iter()
                    .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true),
                "{at}: no path parameter {name}"
            );
        }
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{at}: no success answer"
        );
        // Login and this document are public; everything else inherits
        // the bearer-or-cookie requirement and can answer 401.
        let public = path == DOC || path.ends_with("/admin/auth/login");
        if public {
            assert_eq!(op["security"], json!([{}]), "{at}");
        } else {
            assert!(op.get("security").is_none(), "{at}: its own security");
            assert!(responses.contains_key("401"), "{at}: no 401");
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "413", "415"] {
                assert!(responses.contains_key(status), "{at}: no {status}");
            }
            let body = &op["requestBody"]["content"]["application/json"]["schema"];
            assert!(body.is_object(), "{at}: the body has no JSON schema");
        }
        if path.contains('{') {
            assert!(responses.contains_key("404"), "{at}: no 404");
        }
        // Every error answer is the one shared error schema.
        for (status, answer) in responses {
            if status.starts_with('4') {
                let answer = deref(&doc, answer);
                assert_eq!(
                    answer["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{at}: {status}"
                );
            } else {
                assert!(
                    !deref(&doc, answer)["description"]
                        .as_str()
                        .unwrap_or("")
                        .is_empty(),
                    "{at}: {status} has no description"
                );
            }
        }
    }
}

fn collect_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_every_reference_resolves() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(
        doc["info"]["version"],
        picloud_shared::version::PRODUCT_VERSION
    );
    assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()));
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 50, "{}", refs.len());
    for r in refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{r}: not local"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    // Every schema is itself a valid JSON Schema (2020-12, as OpenAPI 3.1).
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let mut root = schema.clone();
        root["components"] = doc["components"].clone();
        jsonschema::draft202012::new(&root)
            .unwrap_or_else(|e| panic!("schema {name} is not valid: {e}"));
    }
    // Served from memory: the same bytes every time.
    let again = app.send(Method::GET, DOC, None, None).await;
    assert_eq!(again.json(), doc);
}

/// Why `instance` does not fit the document's schema for this answer.
fn misfits(doc: &Value, method: &str, path: &str, status: &str, instance: &Value) -> Vec<String> {
    let documented = &doc["paths"][format!("{PREFIX}{path}")][method]["responses"][status];
    assert!(
        !documented.is_null(),
        "{method} {path}: status {status} is not documented: {instance}"
    );
    let schema = deref(doc, documented)["content"]["application/json"]["schema"].clone();
    assert!(schema.is_object(), "{method} {path} {status}: no schema");
    let root = json!({ "allOf": [schema], "components": doc["components"] });
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .should_ignore_unknown_formats(true)
        .build(&root)
        .expect("a valid schema");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// Checks an answer against the document's schema for it.
fn assert_fits(doc: &Value, method: &str, path: &str, answer: &Answer) {
    let status = answer.status.as_str();
    let errors = misfits(doc, method, path, status, &answer.json());
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not fit its schema: {errors:#?}\n{}",
        answer.text
    );
}

#[tokio::test]
async fn answers_fit_their_schemas() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let fits = |method: &str, path: &str, a: &Answer| assert_fits(&doc, method, path, a);

    // The check can fail: a missing field, a wrong format, a wrong type.
    let script = json!({"id": "4ad6a3a4-8ec4-4a4e-9d4f-7a0b2d1e6c3f", "app_id": "not a uuid",
        "name": "x", "source": "1", "version": "1", "description": "",
        "sandbox": {}, "created_at": "2026-01-01T00:00:00Z"});
    let errors = misfits(&doc, "get", "/admin/scripts/{id}", "200", &script);
    assert_eq!(errors.len(), 3, "{errors:#?}");

    // Auth.
    let a = app.login(common::ADMIN, common::PASSWORD).await;
    fits("post", "/admin/auth/login", &a);
    fits(
        "get",
        "/admin/auth/me",
        &app.admin(Method::GET, "/auth/me", None).await,
    );
    let a = app.login(common::ADMIN, "wrong password").await;
    a.error(401, "invalid_credentials");
    fits("post", "/admin/auth/login", &a);

    // Apps.
    let a = app
        .admin(Method::POST, "/apps", Some(json!({"name": "shop"})))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    fits("post", "/admin/apps", &a);
    fits(
        "get",
        "/admin/apps",
        &app.admin(Method::GET, "/apps", None).await,
    );
    fits(
        "get",
        "/admin/apps/{app}",
        &app.admin(Method::GET, "/apps/shop", None).await,
    );

    // Scripts, a run and its record.
    let a = app
        .admin(
            Method::POST,
            "/scripts",
            Some(json!({
                "name": "hello",
                "source": r#"log::info("hi"); #{ ok: true }"#,
                "sandbox": {"timeout_ms": 1000},
            })),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    fits("post", "/admin/scripts", &a);
    let id = a.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(app.invoke(&id).await.status, 200);
    app.executions(&id, 1).await;
    let one = format!("/scripts/{id}");
    fits(
        "get",
        "/admin/scripts/{id}",
        &app.admin(Method::GET, &one, None).await,
    );
    fits(
        "get",
        "/admin/scripts",
        &app.admin(Method::GET, "/scripts", None).await,
    );
    let a = app
        .admin(Method::GET, &format!("/scripts/{id}/executions"), None)
        .await;
    assert!(!a.json()["items"][0]["logs"].as_array().unwrap().is_empty());
    fits("get", "/admin/scripts/{id}/executions", &a);
    let a = app
        .admin(Method::PUT, &one, Some(json!({"description": "greets"})))
        .await;
    fits("put", "/admin/scripts/{id}", &a);

    // Routes.
    let a = app
        .admin(
            Method::POST,
            &format!("/scripts/{id}/routes"),
            Some(json!({"path": "/hello/:who", "methods": ["GET"]})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    fits("post", "/admin/scripts/{id}/routes", &a);
    fits(
        "get",
        "/admin/routes",
        &app.admin(Method::GET, "/routes", None).await,
    );
    let a = app
        .admin(Method::GET, "/routes/match?path=/hello/ann", None)
        .await;
    assert_eq!(a.json()["matched"], true, "{}", a.text);
    fits("get", "/admin/routes/match", &a);
    let a = app
        .admin(
            Method::POST,
            "/routes/check",
            Some(json!({"path": "/hello/:x"})),
        )
        .await;
    fits("post", "/admin/routes/check", &a);

    // KV and triggers.
    let a = app
        .admin(
            Method::PUT,
            "/apps/default/kv/things/a",
            Some(json!({"n": 1})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    fits("put", "/admin/apps/{app}/kv/{collection}/{key}", &a);
    let a = app
        .admin(Method::GET, "/apps/default/kv/things", None)
        .await;
    fits("get", "/admin/apps/{app}/kv/{collection}", &a);
    let a = app.admin(Method::GET, "/apps/default/kv", None).await;
    fits("get", "/admin/apps/{app}/kv", &a);
    let a = app
        .admin(
            Method::POST,
            "/apps/default/triggers",
            Some(json!({"kind": "cron", "schedule": "0 0 1 1 *", "script_id": id})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    fits("post", "/admin/apps/{app}/triggers", &a);
    let a = app.admin(Method::GET, "/apps/default/triggers", None).await;
    fits("get", "/admin/apps/{app}/triggers", &a);

    // Tokens, users, the audit log.
    let a = app
        .admin(
            Method::POST,
            "/tokens",
            Some(json!({"name": "ci", "expires_in_days": 1})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    fits("post", "/admin/tokens", &a);
    fits(
        "get",
        "/admin/tokens",
        &app.admin(Method::GET, "/tokens", None).await,
    );
    fits(
        "get",
        "/admin/users",
        &app.admin(Method::GET, "/users", None).await,
    );
    fits(
        "get",
        "/admin/audit",
        &app.admin(Method::GET, "/audit", None).await,
    );

    // Errors: the shared error schema, with its extra fields.
    let a = app
        .admin(
            Method::GET,
            &format!("/scripts/{}", uuid::Uuid::now_v7()),
            None,
        )
        .await;
    a.error(404, "not_found");
    fits("get", "/admin/scripts/{id}", &a);
    let a = app
        .admin(
            Method::POST,
            "/scripts",
            Some(json!({"name": "bad", "source": "let x = ;"})),
        )
        .await;
    let e = a.error(400, "compile_error");
    assert!(e["error"]["line"].is_u64(), "{}", a.text);
    fits("post", "/admin/scripts", &a);
    let a = app
        .admin(
            Method::POST,
            &format!("/scripts/{id}/routes"),
            Some(json!({"path": "/hello/:name", "methods": ["GET"]})),
        )
        .await;
    a.error(409, "route_conflict");
    fits("post", "/admin/scripts/{id}/routes", &a);
    let a = app
        .send(Method::GET, "/api/v1/admin/apps", None, None)
        .await;
    a.error(401, "unauthorized");
    fits("get", "/admin/apps", &a);
}

/// The dashboard's API types are generated from a copy of the document
/// (dashboard/src/lib/api/openapi.json, `npm run gen:api`); this keeps the
/// copy equal to what the server serves. `UPDATE_OPENAPI=1`
/// rewrites it (then run `npm run gen:api` in dashboard/).
#[tokio::test]
async fn the_dashboard_copy_of_the_document_is_the_served_one() {
    let app = TestApp::spawn().await;
    let served = document(&app).await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../dashboard/src/lib/api/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        // Keys sorted, whichever map serde_json was built with, so the copy
        // does not churn between builds.
        fn sorted(v: &Value) -> Value {
            match v {
                Value::Object(m) => {
                    let mut keys: Vec<_> = m.keys().collect();
                    keys.sort();
                    Value::Object(
                        keys.into_iter()
                            .map(|k| (k.clone(), sorted(&m[k])))
                            .collect(),
                    )
                }
                Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
                other => other.clone(),
            }
        }
        let text = serde_json::to_string_pretty(&sorted(&served)).expect("the document as JSON");
        std::fs::write(&path, text + "\n").expect("write the dashboard's copy");
    }
    let copy: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).expect("dashboard/src/lib/api/openapi.json"),
    )
    .expect("the copy is JSON");
    assert!(
        copy == served,
        "dashboard/src/lib/api/openapi.json is not the served document: run \
         `UPDATE_OPENAPI=1 cargo test -p picloud --test openapi`, then \
         `npm run gen:api` in dashboard/"
    );
}
