//! THE SDK 1.1 CONTRACT: what every script can rely on (contract.md, "What
//! a script sees", and its additions: 1.1 added `ctx.request.ip`). This
//! file is the public promise to script authors.
//!
//! Changing an expectation here is an SDK version bump: a changed or removed
//! behaviour needs a new major SDK version (`shared::version::SDK_VERSION`),
//! an addition a new minor one. See docs/versioning.md.
//!
//! HTTP conversion of return values (the response convention) is pinned in
//! crates/picloud/tests/http.rs against the real server.

mod common;

use std::collections::BTreeMap;

use common::*;
use picloud_shared::{ExecStatus, HttpRequest, LogLevel, RequestBody, SandboxOverrides};
use serde_json::json;

fn request() -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: "/api/v1/execute/x/a/b".into(),
        headers: BTreeMap::from([
            ("x-token".into(), "t".into()),
            ("content-type".into(), "application/json".into()),
        ]),
        query: BTreeMap::from([("q".into(), "1".into())]),
        params: BTreeMap::from([("id".into(), "42".into())]),
        rest: "a/b".into(),
        host: "api.example.com".into(),
        host_params: BTreeMap::from([("tenant".into(), "acme".into())]),
        body: RequestBody::Json(json!({"n": 1, "f": 1.5, "list": [true, null]})),
        ip: "203.0.113.7".into(),
    }
}

#[tokio::test]
async fn ctx_has_every_sdk_1_1_field() {
    let out = run_with(
        r#"#{
            sdk_version: ctx.sdk_version,
            execution_id: ctx.execution_id, request_id: ctx.request_id,
            script_id: ctx.script_id, app_id: ctx.app_id, script_name: ctx.script_name,
            invocation_type: ctx.invocation_type,
            has_event: "event" in ctx, has_args: "args" in ctx,
            request: ctx.request,
            int_stays_int: type_of(ctx.request.body.n), float_stays_float: type_of(ctx.request.body.f),
            null_is_unit: type_of(ctx.request.body.list[1]),
        }"#,
        SandboxOverrides::default(),
        request(),
    )
    .await;
    assert_eq!(out.status, ExecStatus::Ok, "{:?}", out.error);
    let v = out.value.unwrap().to_value().unwrap();
    assert_eq!(v["sdk_version"], "1.1");
    for id in ["execution_id", "request_id", "script_id", "app_id"] {
        assert!(
            uuid::Uuid::parse_str(v[id].as_str().unwrap()).is_ok(),
            "{id} is a UUID string"
        );
    }
    assert_ne!(v["execution_id"], v["request_id"]);
    assert_eq!(v["script_name"], "test-script");
    assert_eq!(v["invocation_type"], "http");
    assert_eq!(v["has_event"], false, "event is absent for http");
    assert_eq!(v["has_args"], false, "args is absent for http");
    assert_eq!(
        v["request"],
        json!({
            "method": "POST", "path": "/api/v1/execute/x/a/b",
            "headers": {"x-token": "t", "content-type": "application/json"},
            "query": {"q": "1"}, "params": {"id": "42"}, "rest": "a/b",
            "host": "api.example.com", "host_params": {"tenant": "acme"},
            "ip": "203.0.113.7",
            "body": {"n": 1, "f": 1.5, "list": [true, null]},
        })
    );
    assert_eq!(v["int_stays_int"], "i64");
    assert_eq!(v["float_stays_float"], "f64");
    assert_eq!(v["null_is_unit"], "()");
}

#[tokio::test]
async fn ctx_is_writable_at_every_depth() {
    let out = run_with(
        r#"ctx.request.body.list[0] = "changed";
           ctx.request.body.n += 1;
           ctx.request.headers["x-token"] = "u";
           ctx.script_name = "renamed";
           #{ body: ctx.request.body, token: ctx.request.headers["x-token"], name: ctx.script_name }"#,
        SandboxOverrides::default(),
        request(),
    )
    .await;
    assert_eq!(out.status, ExecStatus::Ok, "{:?}", out.error);
    assert_eq!(
        out.value.unwrap().to_value().unwrap(),
        json!({"body": {"n": 2, "f": 1.5, "list": ["changed", null]}, "token": "u", "name": "renamed"})
    );
}

#[tokio::test]
async fn request_body_is_text_or_unit_or_blob() {
    let cases = [
        (RequestBody::Empty, json!("()")),
        (RequestBody::Text("plain".into()), json!("string")),
        (RequestBody::Bytes(vec![0xff, 0x00]), json!("blob")),
    ];
    for (body, expected) in cases {
        let http = HttpRequest {
            body,
            ..HttpRequest::default()
        };
        let out = run_with(
            "type_of(ctx.request.body)",
            SandboxOverrides::default(),
            http,
        )
        .await;
        assert_eq!(
            out.value.as_ref().map(|v| v.to_value().unwrap()),
            Some(expected)
        );
    }
    let http = HttpRequest {
        rest: String::new(),
        ..HttpRequest::default()
    };
    let out = run_with("ctx.request.rest", SandboxOverrides::default(), http).await;
    assert_eq!(
        out.value.as_ref().map(|v| v.to_value().unwrap()),
        Some(json!("")),
        "rest is \"\" when there is none"
    );
}

#[tokio::test]
async fn return_values_reach_the_caller_as_json() {
    // The executor hands back the value; the HTTP convention applies it.
    let cases = [
        ("()", json!(null)),
        ("\"hi\"", json!("hi")),
        ("42", json!(42)),
        ("1.5", json!(1.5)),
        ("true", json!(true)),
        ("[1, \"a\", ()]", json!([1, "a", null])),
        (
            "#{statusCode: 201, headers: #{\"x-a\": \"1\"}, body: #{ok: true}}",
            json!({"statusCode": 201, "headers": {"x-a": "1"}, "body": {"ok": true}}),
        ),
        ("'c'", json!("c")),
    ];
    for (src, expected) in cases {
        assert_eq!(value(src).await, expected, "{src}");
    }
    let out = run("Fn(\"x\")").await;
    let e = expect_status(&out, ExecStatus::Error, "invalid_response");
    assert!(e.message.contains("no JSON form"), "{e:?}");
}

#[tokio::test]
async fn log_functions_record_level_message_and_data() {
    let out = run(r#"
        log::trace("t");
        log::info("i", #{n: 1});
        log::warn(42);
        log::error("e", [1.5, ()]);
        1
    "#)
    .await;
    assert_eq!(out.status, ExecStatus::Ok);
    let got: Vec<_> = out
        .logs
        .iter()
        .map(|l| (l.level, l.message.as_str(), l.data.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (LogLevel::Trace, "t", None),
            (LogLevel::Info, "i", Some(json!({"n": 1}))),
            (LogLevel::Warn, "42", None),
            (LogLevel::Error, "e", Some(json!([1.5, null]))),
        ]
    );
    // log::debug does not exist (debug is a Rhai keyword).
    let e = compile_err("log::debug(\"x\")").await;
    assert_eq!(e.code, "compile_error");
}

#[tokio::test]
async fn logs_written_before_a_failure_are_kept() {
    let out = run("log::info(\"before\"); throw \"boom\";").await;
    let e = expect_status(&out, ExecStatus::Error, "script_error");
    assert_eq!(e.message, "boom");
    assert_eq!((e.line, e.column), (Some(1), Some(22)));
    assert_eq!(out.logs.len(), 1);
    assert_eq!(out.logs[0].message, "before");
}

#[tokio::test]
async fn runtime_errors_carry_line_and_column_even_inside_functions() {
    let out = run("fn f(x) {\n  x.no_such_method()\n}\nf(1)").await;
    let e = expect_status(&out, ExecStatus::Error, "script_error");
    assert_eq!(e.line, Some(2), "{e:?}");
    // A thrown error is catchable.
    assert_eq!(
        value("let r = (); try { throw \"x\"; } catch (e) { r = `caught ${e}`; } r").await,
        json!("caught x")
    );
}

#[tokio::test]
async fn sandbox_restrictions() {
    // import is refused at compile time, with a name or a path.
    for src in ["import \"x\" as x; 1", "import \"/etc/passwd\" as p; 1"] {
        let e = compile_err(src).await;
        assert!(e.message.contains("import"), "{e:?}");
        assert_eq!((e.line, e.column), (Some(1), Some(1)));
    }
    // eval is off.
    let e = compile_err("eval(\"1 + 1\")").await;
    assert!(e.message.contains("eval"), "{e:?}");
    // print and debug print nothing and do not fail.
    assert_eq!(value("print(\"x\"); debug(\"y\"); 7").await, json!(7));
    // sleep is refused, catchably, whatever the argument.
    for src in ["sleep(1)", "sleep(0.5)", "sleep(1e300)", "sleep(-1)"] {
        let out = run(src).await;
        let e = expect_status(&out, ExecStatus::Error, "script_error");
        assert!(e.message.contains("sleep"), "{src}: {e:?}");
    }
    // Undefined variables are compile errors.
    let e = compile_err("let a = 1;\nb + a").await;
    assert_eq!(e.line, Some(2), "{e:?}");
}

#[tokio::test]
async fn limits_end_scripts_with_limit_exceeded_or_timeout() {
    let small = |f: fn(&mut SandboxOverrides)| {
        let mut o = SandboxOverrides::default();
        f(&mut o);
        o
    };
    let cases: Vec<(&str, SandboxOverrides, ExecStatus, &str)> = vec![
        (
            "loop {}",
            small(|o| o.max_operations = Some(10_000)),
            ExecStatus::LimitExceeded,
            "limit_exceeded",
        ),
        (
            "loop {}",
            small(|o| o.timeout_ms = Some(50)),
            ExecStatus::Timeout,
            "timeout",
        ),
        (
            "fn r(n) { r(n + 1) } r(0)",
            small(|o| o.max_call_levels = Some(10)),
            ExecStatus::LimitExceeded,
            "limit_exceeded",
        ),
        (
            "let s = \"ab\"; loop { s += s; }",
            small(|o| o.max_string_size = Some(1000)),
            ExecStatus::LimitExceeded,
            "limit_exceeded",
        ),
        (
            "let a = [1]; loop { a += a; }",
            small(|o| o.max_array_size = Some(1000)),
            ExecStatus::LimitExceeded,
            "limit_exceeded",
        ),
        (
            "let m = #{}; for i in 0..1000 { m[`k${i}`] = i; } m.len()",
            small(|o| o.max_map_size = Some(100)),
            ExecStatus::LimitExceeded,
            "limit_exceeded",
        ),
    ];
    for (src, sandbox, status, code) in cases {
        let out = run_with(src, sandbox, HttpRequest::default()).await;
        expect_status(&out, status, code);
    }
    // Expression depth is a compile-time limit.
    let deep = format!("{}1{}", "(".repeat(20), ")".repeat(20));
    let e = compile_err_with(&deep, small(|o| o.max_expr_depth = Some(10))).await;
    assert_eq!(e.code, "compile_error");
    assert!(
        run_with(&deep, SandboxOverrides::default(), HttpRequest::default())
            .await
            .status
            == ExecStatus::Ok
    );
}

#[tokio::test]
async fn standard_library_namespaces() {
    // Every function of json, base64, crypto, uuid, time, rand and regex,
    // called once; deterministic ones pinned to their value, the others to
    // their type and shape.
    let v = value(
        r#"#{
            json: [json::parse(`{"a":[1,2.5,null]}`), json::stringify(#{a: [1, 2.5, ()]}),
                   json::pretty([1])],
            base64: [base64::encode("hi?>"), base64::decode("aGk/Pg=="),
                     base64::encode_url("hi?>"), base64::decode_url("aGk_Pg")],
            crypto: [crypto::sha256("abc"), crypto::sha512(""),
                     crypto::hmac_sha256("key", "The quick brown fox jumps over the lazy dog"),
                     crypto::random_hex(4).len(), crypto::equal("a", "a")],
            uuid: [uuid::v4().len(), uuid::v7().len(), uuid::is_valid(uuid::v7())],
            time: [type_of(time::now()), time::now_iso().len(),
                   time::format(86400000, "%Y-%m-%d %H:%M"), time::parse("1970-01-02T00:00:00Z")],
            rand: [rand::int(3, 3), type_of(rand::float()), rand::pick([9])],
            regex: [regex::is_match("b+", "abc"), regex::find("b+", "abbc"),
                    regex::find_all("\\d", "a1b2"), regex::replace("(\\d)", "a1b2", "<$1>"),
                    regex::captures("(a)(x)?", "ab"), regex::split(",", "a,b")],
            errors: [
                { let e = (); try { json::parse("{") } catch (err) { e = err; } e },
                { let e = (); try { rand::int(1, 0) } catch (err) { e = err; } e },
            ],
        }"#,
    )
    .await;
    assert_eq!(
        v,
        json!({
            "json": [{"a": [1, 2.5, null]}, r#"{"a":[1,2.5,null]}"#, "[\n  1\n]"],
            "base64": ["aGk/Pg==", "hi?>", "aGk_Pg", "hi?>"],
            "crypto": [
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
                 47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
                "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
                8, true
            ],
            "uuid": [36, 36, true],
            "time": ["i64", 24, "1970-01-02 00:00", 86_400_000],
            "rand": [3, "f64", 9],
            "regex": [true, "bb", ["1", "2"], "a<1>b<2>", ["a", "a", null], ["a", "b"]],
            "errors": [
                "json::parse: EOF while parsing an object at line 1 column 1",
                "rand::int: lo (1) is greater than hi (0)"
            ],
        })
    );
}

/// A script that never names `ctx` gets no map built (performance.md), yet
/// nothing it can do tells: `ctx` is still defined, and a script that names
/// it anywhere, even in a comment or a string, gets the whole map.
#[tokio::test]
async fn ctx_is_there_for_every_script_that_can_read_it() {
    let out = run_with(
        r#"#{ defined: is_def_var("c" + "tx"), answer: 42 }"#,
        SandboxOverrides::default(),
        request(),
    )
    .await;
    assert_eq!(out.status, ExecStatus::Ok, "{:?}", out.error);
    assert_eq!(
        out.value.unwrap().to_value().unwrap(),
        json!({"defined": true, "answer": 42})
    );

    let out = run_with(
        r#"let c = `${ctx.request.params.id}`; /* ctx */ c"#,
        SandboxOverrides::default(),
        request(),
    )
    .await;
    assert_eq!(out.status, ExecStatus::Ok, "{:?}", out.error);
    assert_eq!(out.value.unwrap().to_value().unwrap(), json!("42"));
}
