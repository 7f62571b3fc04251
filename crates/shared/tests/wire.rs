//! The wire format, pinned. `wire-v{WIRE_VERSION}.json` holds what every
//! message of the split layout looks like on the wire for this wire
//! version; a change to any of them fails here. Changing the wire is a
//! `WIRE_VERSION` bump (docs/versioning.md): bump it, and add the new
//! version's file (this test's failure prints it), keeping the old ones as
//! the record of what each version was.

use std::collections::BTreeMap;
use std::time::Duration;

use picloud_shared::kv::{KvEntry, KvListOptions, KvPage};
use picloud_shared::version::WIRE_VERSION;
use picloud_shared::wire::{
    CallCx, ExecuteCall, ExecuteReply, KvCall, KvOp, KvReply, ResolveCall, ResolveReply,
    SecretCall, SecretReply, WireError,
};
use picloud_shared::{
    AppId, ExecOutcome, ExecStatus, ExecutionId, ExecutionRecord, HttpRequest, Invocation,
    LogEntry, LogLevel, OutboundCall, RequestBody, RequestId, SandboxOverrides, Script,
    ScriptError, ScriptId, ScriptName,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

fn at() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(1_767_225_600_123_456_000).unwrap()
}

fn script() -> Script {
    Script {
        id: ScriptId(Uuid::from_u128(2)),
        app_id: AppId(Uuid::from_u128(1)),
        name: ScriptName::parse("hello").unwrap(),
        source: "\"hi\"".into(),
        version: 3,
        description: "greets".into(),
        sandbox: SandboxOverrides::default(),
        created_at: at(),
        updated_at: at(),
    }
}

fn cx() -> CallCx {
    CallCx {
        app_id: AppId(Uuid::from_u128(1)),
        script_id: ScriptId(Uuid::from_u128(2)),
        execution_id: ExecutionId(Uuid::from_u128(3)),
        request_id: RequestId(Uuid::from_u128(4)),
        depth: 1,
        grant: "GRANT".into(),
    }
}

fn http() -> Invocation {
    Invocation::Http(HttpRequest {
        method: "POST".into(),
        path: "/hello/ann".into(),
        headers: BTreeMap::from([("content-type".into(), "application/octet-stream".into())]),
        query: BTreeMap::from([("q".into(), "1".into())]),
        params: BTreeMap::from([("name".into(), "ann".into())]),
        rest: String::new(),
        host: "example.com".into(),
        host_params: BTreeMap::new(),
        body: RequestBody::Bytes(vec![0, 159, 146, 150]),
        ip: "192.0.2.1".into(),
    })
}

/// Each message, by name, serialised.
fn samples() -> BTreeMap<&'static str, Value> {
    fn v<T: Serialize>(t: T) -> Value {
        serde_json::to_value(t).unwrap()
    }
    let outcome = ExecOutcome {
        status: ExecStatus::Error,
        value: Some(picloud_shared::Returned::from_value(&json!({"a": 1}))),
        error: Some(ScriptError {
            code: "script_error".into(),
            message: "boom".into(),
            line: Some(2),
            column: Some(5),
        }),
        logs: vec![LogEntry {
            level: LogLevel::Warn,
            message: "careful".into(),
            data: Some(json!([1])),
            at: at(),
        }],
        started_at: at(),
        duration: Duration::from_micros(1234),
        calls: vec![ExecutionRecord {
            id: ExecutionId(Uuid::from_u128(5)),
            app_id: AppId(Uuid::from_u128(1)),
            script_id: ScriptId(Uuid::from_u128(6)),
            request_id: RequestId(Uuid::from_u128(4)),
            invocation_type: picloud_shared::InvocationType::Function,
            status: ExecStatus::Ok,
            status_code: None,
            started_at: at(),
            duration_ms: 0.5,
            error: None,
            logs: vec![],
            event: None,
            outbound: vec![],
            script_version: Some(2),
            operations: Some(17),
            cpu_ms: Some(0.25),
            request: None,
            replay_of: None,
            dry_run: true,
        }],
        outbound: vec![
            OutboundCall {
                method: "POST".into(),
                host: "api.example.com:8443".into(),
                status: Some(201),
                outcome: picloud_shared::OutboundOutcome::Ok,
                duration_ms: 12.5,
            },
            OutboundCall {
                method: "GET".into(),
                host: "127.0.0.1".into(),
                status: None,
                outcome: picloud_shared::OutboundOutcome::Refused,
                duration_ms: 0.0,
            },
        ],
        operations: 1234,
        cpu: Duration::from_micros(987),
    };
    BTreeMap::from([
        (
            "execute_call_http",
            v(ExecuteCall {
                execution_id: ExecutionId(Uuid::from_u128(3)),
                request_id: RequestId(Uuid::from_u128(4)),
                script_id: ScriptId(Uuid::from_u128(2)),
                version: 3,
                script: Some(script()),
                invocation: http(),
                grant: "GRANT".into(),
                dry_run: false,
            }),
        ),
        (
            "execute_call_trigger",
            v(ExecuteCall {
                execution_id: ExecutionId(Uuid::from_u128(3)),
                request_id: RequestId(Uuid::from_u128(4)),
                script_id: ScriptId(Uuid::from_u128(2)),
                version: 3,
                script: None,
                invocation: Invocation::Trigger {
                    event: json!({"kind": "kv"}),
                    depth: 2,
                },
                grant: "GRANT".into(),
                dry_run: true,
            }),
        ),
        (
            "execute_call_scheduled_json_body",
            v(vec![
                Invocation::Scheduled {
                    event: json!({"kind": "cron"}),
                },
                Invocation::Http(HttpRequest {
                    body: RequestBody::Json(json!({"x": true})),
                    ..HttpRequest::default()
                }),
                Invocation::Http(HttpRequest {
                    body: RequestBody::Text("plain".into()),
                    ..HttpRequest::default()
                }),
                Invocation::Http(HttpRequest::default()),
            ]),
        ),
        (
            "execute_reply_done",
            v(ExecuteReply::Done {
                outcome: Box::new(outcome),
            }),
        ),
        ("execute_reply_need_script", v(ExecuteReply::NeedScript)),
        (
            "kv_calls",
            v(vec![
                KvCall {
                    cx: cx(),
                    collection: "c".into(),
                    op: KvOp::Get { key: "k".into() },
                },
                KvCall {
                    cx: cx(),
                    collection: "c".into(),
                    op: KvOp::Set {
                        key: "k".into(),
                        value: json!({"n": 1}),
                    },
                },
                KvCall {
                    cx: cx(),
                    collection: "c".into(),
                    op: KvOp::Has { key: "k".into() },
                },
                KvCall {
                    cx: cx(),
                    collection: "c".into(),
                    op: KvOp::Delete { key: "k".into() },
                },
                KvCall {
                    cx: cx(),
                    collection: "c".into(),
                    op: KvOp::List {
                        options: KvListOptions {
                            cursor: Some("CUR".into()),
                            limit: Some(10),
                            prefix: Some("a".into()),
                        },
                    },
                },
            ]),
        ),
        (
            "kv_replies",
            v(vec![
                KvReply::Value(Some(json!(1))),
                KvReply::Value(None),
                KvReply::Done,
                KvReply::Bool(true),
                KvReply::Page(KvPage {
                    items: vec![KvEntry {
                        key: "k".into(),
                        value: json!(1),
                    }],
                    cursor: None,
                }),
            ]),
        ),
        (
            "resolve_call",
            v(ResolveCall {
                cx: cx(),
                name: "double".into(),
                have: Some((ScriptId(Uuid::from_u128(2)), 3)),
            }),
        ),
        (
            "resolve_replies",
            v(vec![
                ResolveReply::Missing,
                ResolveReply::Same,
                ResolveReply::Script(Box::new(script())),
            ]),
        ),
        (
            "secret_call",
            v(SecretCall {
                cx: cx(),
                name: "STRIPE_KEY".into(),
            }),
        ),
        (
            "secret_replies",
            v(vec![
                SecretReply {
                    value: Some("v".into()),
                },
                SecretReply { value: None },
            ]),
        ),
        (
            "wire_error",
            v(WireError {
                code: "forbidden".into(),
                message: "the grant has expired".into(),
            }),
        ),
    ])
}

fn golden_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/wire-v{WIRE_VERSION}.json"))
}

#[test]
fn the_wire_format_is_this_versions() {
    let actual = serde_json::to_value(samples()).unwrap();
    let pretty = serde_json::to_string_pretty(&actual).unwrap();
    let golden = std::fs::read_to_string(golden_path()).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. Wire {WIRE_VERSION} has no golden file yet; if this is a new wire version, save this as that file:\n{pretty}",
            golden_path().display()
        )
    });
    let expected: Value = serde_json::from_str(&golden).expect("the golden file is JSON");
    assert!(
        expected == actual,
        "the wire format differs from {} while WIRE_VERSION is still {WIRE_VERSION}: \
         bump WIRE_VERSION (docs/versioning.md) and save the new format as the new version's file:\n{pretty}",
        golden_path().display()
    );
}

/// What is on the wire reads back as the same message, from its text (as
/// the wire reads it) and from a `Value`.
#[test]
fn every_message_reads_back() {
    fn back<T: Serialize + DeserializeOwned>(value: &Value) {
        let parsed: T = serde_json::from_str(&value.to_string()).expect("reads back");
        assert_eq!(&serde_json::to_value(parsed).unwrap(), value);
        let parsed: T = serde_json::from_value(value.clone()).expect("reads back");
        assert_eq!(&serde_json::to_value(parsed).unwrap(), value);
    }
    let s = samples();
    back::<ExecuteCall>(&s["execute_call_http"]);
    back::<ExecuteCall>(&s["execute_call_trigger"]);
    back::<Vec<Invocation>>(&s["execute_call_scheduled_json_body"]);
    back::<ExecuteReply>(&s["execute_reply_done"]);
    back::<ExecuteReply>(&s["execute_reply_need_script"]);
    back::<Vec<KvCall>>(&s["kv_calls"]);
    back::<Vec<KvReply>>(&s["kv_replies"]);
    back::<ResolveCall>(&s["resolve_call"]);
    back::<Vec<ResolveReply>>(&s["resolve_replies"]);
    back::<WireError>(&s["wire_error"]);
}
