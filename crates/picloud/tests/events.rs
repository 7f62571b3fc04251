//! KV triggers through the real server, on both backends: delivery of each
//! write's event to its handler, retries and dead letters, the dead-letter
//! handler, per-key order, the cut-off of trigger loops, and bad input.

#[macro_use]
mod common;

use std::time::Duration;

use common::{TestApp, assert_stays, within};
use picloud::config::ServeArgs;
use reqwest::Method;
use serde_json::{Value, json};

/// Retries that come quickly (10 ms, 20 ms, ...), for `both_backends!`.
fn quick_retries(args: &mut ServeArgs) {
    args.event_retry_base_ms = 10;
}

async fn trigger(t: &TestApp, body: Value) -> Value {
    let a = t
        .admin(Method::POST, "/apps/default/triggers", Some(body))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    a.json()
}

/// The keys and values of a collection, once it has at least `n` keys
/// (waits up to 20 s: events are delivered after the write's answer).
async fn wait_for_keys(t: &TestApp, collection: &str, n: usize) -> Vec<(String, Value)> {
    within(
        Duration::from_secs(20),
        &format!("{collection} has {n} keys"),
        || async {
            let page = t
                .admin(
                    Method::GET,
                    &format!("/apps/default/kv/{collection}?limit=1000"),
                    None,
                )
                .await
                .json();
            let items = page["items"].as_array().unwrap();
            if items.len() < n {
                return Err(format!("{} keys", items.len()));
            }
            Ok(items
                .iter()
                .map(|e| (e["key"].as_str().unwrap().to_owned(), e["value"].clone()))
                .collect())
        },
    )
    .await
}

/// The dead letters, once there are at least `n` (waits up to 20 s).
async fn dead_letters(t: &TestApp, n: usize) -> Vec<Value> {
    within(
        Duration::from_secs(20),
        &format!("{n} dead letters"),
        || async {
            let items = t
                .admin(Method::GET, "/apps/default/dead-letters", None)
                .await
                .json()["items"]
                .as_array()
                .unwrap()
                .clone();
            if items.len() < n {
                return Err(format!("{} dead letters", items.len()));
            }
            Ok(items)
        },
    )
    .await
}

async fn stats(t: &TestApp, id: &str) -> Value {
    let all = t
        .admin(Method::GET, "/apps/default/triggers", None)
        .await
        .json();
    all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .unwrap()["stats"]
        .clone()
}

async fn each_write_delivers_its_event(t: TestApp) {
    let handler = t.deploy_id("on-order",
        r#"let e = ctx.event;
           kv::collection("seen").set(e.key + ":" + e.op, #{ event: e, type: ctx.invocation_type });"#,
    )
    .await;
    let tr = trigger(
        &t,
        json!({"kind": "kv", "collection": "orders", "events": ["set", "delete"], "script_id": handler}),
    )
    .await;
    assert_eq!(tr["events"], json!(["set", "delete"]));
    assert_eq!(tr["max_attempts"], 3);
    let writer = t
        .deploy_id(
            "writer",
            r#"let c = kv::collection("orders");
           c.set("o1", #{ qty: 2, price: 1.5 });
           c.delete("o1");
           c.delete("never-there");
           kv::collection("other").set("x", 1);
           ()"#,
        )
        .await;
    assert_eq!(t.invoke(&writer).await.status, 204);

    let seen = wait_for_keys(&t, "seen", 2).await;
    let (set, delete) = (&seen[1].1, &seen[0].1);
    assert_eq!(
        (seen[0].0.as_str(), seen[1].0.as_str()),
        ("o1:delete", "o1:set")
    );
    assert_eq!(set["type"], "trigger");
    let e = &set["event"];
    assert_eq!(
        (
            &e["kind"],
            &e["op"],
            &e["collection"],
            &e["key"],
            &e["value"]
        ),
        (
            &json!("kv"),
            &json!("set"),
            &json!("orders"),
            &json!("o1"),
            &json!({"qty": 2, "price": 1.5})
        )
    );
    assert!(e["at"].as_str().unwrap().ends_with('Z'), "{e}");
    assert_eq!(delete["event"]["op"], "delete");
    assert_eq!(delete["event"]["value"], Value::Null);
    // A delete of a missing key and a write elsewhere fire nothing: had
    // they fired, their events would have come within 300 ms.
    assert_stays(
        Duration::from_millis(300),
        "the handler saw only the two events",
        || async {
            let n = wait_for_keys(&t, "seen", 2).await.len();
            if n == 2 {
                Ok(())
            } else {
                Err(format!("{n} keys"))
            }
        },
    )
    .await;

    let id = tr["id"].as_str().unwrap();
    assert_eq!(
        stats(&t, id).await,
        json!({"delivered": 2, "retried": 0, "dead_lettered": 0})
    );
    // The handler's executions carry their event.
    let runs = t.executions(&handler, 2).await;
    assert_eq!(runs[0]["invocation_type"], "trigger");
    assert_eq!(runs[0]["status_code"], Value::Null);
    assert_eq!(runs[0]["event"]["kind"], "kv");
}
both_backends!(each_write_delivers_its_event, quick_retries);

async fn failures_are_retried_then_dead_lettered(t: TestApp) {
    let handler = t
        .deploy_id("flaky", r#"throw "handler down: " + ctx.event.key"#)
        .await;
    let dl_handler = t.deploy_id("on-dead",
        r#"kv::collection("dead").set(ctx.event.event.key, #{ event: ctx.event, type: ctx.invocation_type });"#,
    )
    .await;
    let tr = trigger(
        &t,
        json!({"kind": "kv", "collection": "jobs", "events": ["set"], "script_id": handler,
               "max_attempts": 3, "dead_letter_script_id": dl_handler}),
    )
    .await;
    let id = tr["id"].as_str().unwrap().to_owned();
    let writer = t
        .deploy_id("writer", r#"kv::collection("jobs").set("j1", 42); ()"#)
        .await;
    assert_eq!(t.invoke(&writer).await.status, 204);

    let letters = dead_letters(&t, 1).await;
    assert_eq!(letters.len(), 1);
    let dl = &letters[0];
    assert_eq!(dl["attempts"], 3);
    assert_eq!(dl["error"], "handler down: j1 (line 1, column 1)");
    assert_eq!(dl["event"]["key"], "j1");
    assert_eq!(dl["event"]["value"], 42);
    assert_eq!(dl["trigger_id"], id.as_str());

    // The dead-letter handler got it.
    let dead = wait_for_keys(&t, "dead", 1).await;
    let got = &dead[0].1;
    assert_eq!(got["type"], "trigger");
    assert_eq!(got["event"]["kind"], "dead_letter");
    assert_eq!(got["event"]["attempts"], 3);
    assert_eq!(got["event"]["error"], dl["error"]);
    assert_eq!(got["event"]["event"], dl["event"]);
    within(
        Duration::from_secs(2),
        "the trigger counts its dead letter",
        || async {
            let stats = stats(&t, &id).await;
            if stats["dead_lettered"] == 1 {
                Ok(())
            } else {
                Err(stats)
            }
        },
    )
    .await;
    assert_eq!(
        stats(&t, &id).await,
        json!({"delivered": 0, "retried": 2, "dead_lettered": 1})
    );
    // Three attempts were made, each recorded.
    assert_eq!(t.executions(&handler, 3).await.len(), 3);

    // Fix the handler and retry the dead letter: it is delivered.
    let fixed = t
        .admin(
            Method::PUT,
            &format!("/scripts/{handler}"),
            Some(
                json!({"source": r#"kv::collection("done").set(ctx.event.key, ctx.event.value);"#}),
            ),
        )
        .await;
    assert_eq!(fixed.status, 200, "{}", fixed.text);
    let dl_id = dl["id"].as_str().unwrap();
    let retry = t
        .admin(Method::POST, &format!("/dead-letters/{dl_id}/retry"), None)
        .await;
    assert_eq!(retry.status, 202, "{}", retry.text);
    let done = wait_for_keys(&t, "done", 1).await;
    assert_eq!(done[0], ("j1".to_owned(), json!(42)));
    assert!(dead_letters(&t, 0).await.is_empty());
    t.admin(Method::POST, &format!("/dead-letters/{dl_id}/retry"), None)
        .await
        .error(404, "not_found");
}
both_backends!(failures_are_retried_then_dead_lettered, quick_retries);

async fn events_of_one_key_arrive_in_order(t: TestApp) {
    // The handler appends each value to a list per key, and fails the
    // first attempt at 5: 6 and later must wait for 5's retry.
    let handler = t
        .deploy_id(
            "append",
            r#"let e = ctx.event;
           let flags = kv::collection("flags");
           if e.value == 5 && !flags.has(e.key) { flags.set(e.key, true); throw "not yet"; }
           let log = kv::collection("log");
           let list = log.get(e.key) ?? [];
           list.push(e.value);
           log.set(e.key, list);"#,
        )
        .await;
    trigger(
        &t,
        json!({"kind": "kv", "collection": "counter", "events": ["set"], "script_id": handler,
               "max_attempts": 5}),
    )
    .await;
    let writer = t
        .deploy_id(
            "writer",
            r#"let c = kv::collection("counter");
           for i in 0..12 { c.set("a", i); c.set("b", i); }
           ()"#,
        )
        .await;
    assert_eq!(t.invoke(&writer).await.status, 204);
    let expected: Vec<i64> = (0..12).collect();
    let log = within(
        Duration::from_secs(20),
        "every event was delivered",
        || async {
            let log = wait_for_keys(&t, "log", 2).await;
            log.iter()
                .all(|(_, v)| v.as_array().unwrap().len() == 12)
                .then_some(log)
        },
    )
    .await;
    for (key, list) in log {
        assert_eq!(list, json!(expected), "key {key}");
    }
}
both_backends!(events_of_one_key_arrive_in_order, quick_retries);

async fn trigger_loops_are_cut_off(t: TestApp) {
    // A handler that writes to the collection that triggers it.
    let handler = t
        .deploy_id(
            "again",
            r#"let c = kv::collection("ping");
           c.set("n", ctx.event.value + 1);"#,
        )
        .await;
    let tr = trigger(
        &t,
        json!({"kind": "kv", "collection": "ping", "events": ["set"], "script_id": handler}),
    )
    .await;
    let start = t
        .deploy_id("start", r#"kv::collection("ping").set("n", 0); ()"#)
        .await;
    assert_eq!(t.invoke(&start).await.status, 204);
    let letters = dead_letters(&t, 1).await;
    assert!(
        letters[0]["error"]
            .as_str()
            .unwrap()
            .contains("deeper than 8"),
        "{}",
        letters[0]
    );
    // The request's write is depth 1; handlers at depths 1..=8 ran.
    assert_eq!(letters[0]["event"]["value"], 8);
    let n = t
        .admin(Method::GET, "/apps/default/kv/ping/n", None)
        .await
        .json();
    assert_eq!(n["value"], 8);
    let id = tr["id"].as_str().unwrap();
    assert_eq!(stats(&t, id).await["delivered"], 8);
    assert_eq!(stats(&t, id).await["dead_lettered"], 1);
}
both_backends!(trigger_loops_are_cut_off, quick_retries);

async fn bad_triggers_are_refused_and_nothing_is_created(t: TestApp) {
    let handler = t.deploy_id("h", "()").await;
    assert_eq!(
        t.admin(Method::POST, "/apps", Some(json!({"name": "other"})))
            .await
            .status,
        201
    );
    let foreign = t
        .deploy_with_id(json!({"name": "foreign", "source": "()", "app": "other"}))
        .await;
    let cases = [
        (
            json!({"kind": "kv", "collection": "a/b", "events": ["set"], "script_id": handler}),
            "collection",
        ),
        (
            json!({"kind": "kv", "collection": "", "events": ["set"], "script_id": handler}),
            "collection",
        ),
        (
            json!({"kind": "kv", "collection": "c", "events": [], "script_id": handler}),
            "events",
        ),
        (
            json!({"kind": "kv", "collection": "c", "events": ["update"], "script_id": handler}),
            r#""update" is not an event"#,
        ),
        (
            json!({"kind": "kv", "collection": "c", "events": ["set"], "script_id": handler, "max_attempts": 0}),
            "max_attempts",
        ),
        (
            json!({"kind": "kv", "collection": "c", "events": ["set"], "script_id": handler, "max_attempts": 21}),
            "max_attempts",
        ),
        (
            json!({"kind": "kv", "collection": "c", "events": ["set"], "script_id": foreign}),
            "script_id",
        ),
        (
            json!({"kind": "kv", "collection": "c", "events": ["set"], "script_id": handler, "dead_letter_script_id": foreign}),
            "dead_letter_script_id",
        ),
        (
            json!({"kind": "kv", "collection": "c", "events": ["set"], "script_id": "01a21b36-34e9-71b7-a92c-e62ceaa76f58"}),
            "script_id",
        ),
        (
            json!({"kind": "kv", "collection": "c", "events": ["set"], "script_id": "not-a-uuid"}),
            "",
        ),
        (
            json!({"kind": "kv", "collection": "c", "events": ["set"], "script_id": handler, "extra": 1}),
            "extra",
        ),
        (json!({"kind": "webhook", "script_id": handler}), "webhook"),
        (
            json!({"kind": "cron", "schedule": "* * *", "script_id": handler}),
            "5 fields",
        ),
        (
            json!({"kind": "cron", "schedule": "* * * * * * *", "script_id": handler}),
            "5 fields",
        ),
        (
            json!({"kind": "cron", "schedule": "61 * * * *", "script_id": handler}),
            "not a valid schedule",
        ),
        (
            json!({"kind": "cron", "schedule": "0 9 * * FUNDAY", "script_id": handler}),
            "not a valid schedule",
        ),
        (
            json!({"kind": "cron", "schedule": "* * * * *", "script_id": foreign}),
            "script_id",
        ),
        (
            json!({"kind": "cron", "schedule": "* * * * *", "script_id": handler, "max_attempts": 2}),
            "max_attempts",
        ),
        (
            json!({"collection": "c", "events": ["set"], "script_id": handler}),
            "kind",
        ),
    ];
    for (body, words) in cases {
        let a = t
            .admin(Method::POST, "/apps/default/triggers", Some(body.clone()))
            .await;
        assert_eq!(a.status, 400, "{body}: {}", a.text);
        let message = a.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(words), "{body}: {message}");
    }
    let listed = t
        .admin(Method::GET, "/apps/default/triggers", None)
        .await
        .json();
    assert_eq!(listed["items"], json!([]));

    // A trigger goes with its handler script.
    let tr = trigger(
        &t,
        json!({"kind": "kv", "collection": "c", "events": ["set"], "script_id": handler}),
    )
    .await;
    assert_eq!(
        t.admin(Method::DELETE, &format!("/scripts/{handler}"), None)
            .await
            .status,
        204
    );
    let listed = t
        .admin(Method::GET, "/apps/default/triggers", None)
        .await
        .json();
    assert_eq!(listed["items"], json!([]), "{tr}");
    t.admin(
        Method::DELETE,
        &format!("/triggers/{}", tr["id"].as_str().unwrap()),
        None,
    )
    .await
    .error(404, "not_found");
}
both_backends!(
    bad_triggers_are_refused_and_nothing_is_created,
    quick_retries
);

async fn cron_triggers_run_on_schedule(t: TestApp) {
    let handler = t
        .deploy_id(
            "tick",
            r#"let e = ctx.event;
           kv::collection("ticks").set(e.scheduled_at, #{ event: e, type: ctx.invocation_type,
                                                         has_request: "request" in ctx });"#,
        )
        .await;
    let tr = trigger(
        &t,
        json!({"kind": "cron", "schedule": "* * * * * *", "script_id": handler}),
    )
    .await;
    assert_eq!(tr["schedule"], "* * * * * *");
    assert!(tr["next_run_at"].as_str().unwrap().ends_with('Z'), "{tr}");
    let ticks = wait_for_keys(&t, "ticks", 2).await;
    let (at, tick) = &ticks[0];
    assert_eq!(tick["type"], "scheduled");
    assert_eq!(tick["has_request"], false);
    assert_eq!(tick["event"]["kind"], "cron");
    assert_eq!(tick["event"]["schedule"], "* * * * * *");
    assert_eq!(&tick["event"]["scheduled_at"], &json!(at));
    // Ticks fall on whole seconds, in the one timestamp format.
    assert!(at.ends_with(".000000Z") && at.len() == 27, "{at}");
    assert_ne!(ticks[0].0, ticks[1].0);

    // Deleting the trigger stops it.
    let deleted = t
        .admin(
            Method::DELETE,
            &format!("/triggers/{}", tr["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    // A tick under way as the trigger was deleted may still land: the
    // deletion's promise starts 300 ms later (nothing says when that tick
    // is done).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let settled = wait_for_keys(&t, "ticks", 0).await.len();
    // Two ticks of the schedule pass, and neither runs.
    assert_stays(
        Duration::from_millis(2100),
        "no tick after the deletion",
        || async {
            let n = wait_for_keys(&t, "ticks", 0).await.len();
            if n == settled {
                Ok(())
            } else {
                Err(format!("{n} ticks, not {settled}"))
            }
        },
    )
    .await;
}
both_backends!(cron_triggers_run_on_schedule, quick_retries);

async fn a_flood_of_events_leaves_room_for_requests(t: TestApp) {
    // Four execution slots; a burst of slow handlers may hold two of them.
    let handler = t.deploy_id("slow",
        r#"let i = 0; while i < 300000 { i += 1; } kv::collection("done").set(ctx.event.key, true);"#,
    )
    .await;
    trigger(
        &t,
        json!({"kind": "kv", "collection": "flood", "events": ["set"], "script_id": handler}),
    )
    .await;
    let writer = t
        .deploy_id(
            "flood",
            r#"let c = kv::collection("flood"); for i in 0..40 { c.set(`k${i}`, i); } ()"#,
        )
        .await;
    assert_eq!(t.invoke(&writer).await.status, 204);
    let hello = t.deploy_id("hello", r#""hi""#).await;
    within(
        Duration::from_secs(20),
        "the flood is being delivered",
        || async {
            let done = t
                .admin(Method::GET, "/apps/default/kv/done?limit=1000", None)
                .await
                .json();
            (!done["items"].as_array().unwrap().is_empty()).then_some(())
        },
    )
    .await;
    // While the flood is being delivered, every request is served.
    let mut served = 0;
    for _ in 0..20 {
        let a = t.invoke(&hello).await;
        assert_eq!(a.status, 200, "{}", a.text);
        served += 1;
    }
    let pending = t
        .admin(Method::GET, "/apps/default/kv/done?limit=1000", None)
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .len();
    assert!(
        pending < 40,
        "the flood was still being delivered ({pending} of 40 done)"
    );
    assert_eq!(served, 20);
    assert_eq!(wait_for_keys(&t, "done", 40).await.len(), 40);
}

mod a_flood_of_events_leaves_room_for_requests {
    #[tokio::test]
    async fn sqlite() {
        let app = super::TestApp::spawn_with(|a| a.max_concurrent_executions = 4).await;
        super::a_flood_of_events_leaves_room_for_requests(app).await;
    }
}
