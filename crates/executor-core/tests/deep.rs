//! Deeply nested data under raised ceilings (src/deep.rs): PiCloud's
//! formatting and comparing answer as Rhai's own do at any depth without
//! needing stack for it, executions whose limits reach deep get a stack of
//! their own, and real workloads fit the ceilings an operator may set.

mod common;

use std::time::Duration;

use common::*;
use picloud_executor_core::deep;
use picloud_executor_core::sandbox::build_engine;
use picloud_shared::{ExecStatus, SandboxLimits, SandboxOverrides};
use rhai::packages::{Package, StandardPackage};
use serde_json::json;

/// Rhai as it comes, with the same limits: the reference answers.
fn stock_engine(limits: &SandboxLimits) -> rhai::Engine {
    let mut e = rhai::Engine::new_raw();
    e.register_global_module(StandardPackage::new().as_shared_module());
    e.set_max_array_size(limits.max_array_size as usize);
    e.set_max_map_size(limits.max_map_size as usize);
    e.set_max_string_size(limits.max_string_size as usize);
    e
}

/// What a script answers, as text (or the error's kind).
fn answer(engine: &rhai::Engine, src: &str) -> String {
    match engine.eval::<rhai::Dynamic>(src) {
        Ok(v) => format!("ok {v:?}"),
        Err(e) => format!(
            "error {}",
            e.unwrap_inner()
                .to_string()
                .split(':')
                .next()
                .unwrap_or_default()
        ),
    }
}

#[test]
fn formatting_and_comparing_answer_as_rhai_s_own() {
    let limits = SandboxLimits::DEFAULTS;
    let ours = build_engine(&limits);
    let stock = stock_engine(&limits);
    let values = [
        "[]",
        "#{}",
        "[1, 2.5, -0.0, 1e20, 1.0]",
        "[\"a\\\"b\", 'c', (), true]",
        "#{a: 1, \"b c\": [2, #{d: ()}], e: \"\\n\\t\\u{1b}\"}",
        "[[[]], [#{}], #{x: []}]",
        "[blob(3, 7), Fn(\"f\")]",
        "[1, [2, [3, [4, [5]]]]]",
        "#{z: 1, a: 2, m: [1.5]}",
        "[\"é€😀\", 'x', 3]",
        "[1, 1.0]",
        "[[1], [1.0]]",
    ];
    for v in values {
        for form in [
            format!("to_string({v})"),
            format!("to_debug({v})"),
            format!("let x = {v}; `<${{x}}>`"),
            format!("let x = {v}; \"s\" + x"),
            format!("let x = {v}; x + \"s\""),
            format!("let x = {v}; print(x); debug(x); x.to_string()"),
        ] {
            assert_eq!(answer(&ours, &form), answer(&stock, &form), "{form}");
        }
        for w in values {
            for form in [
                format!("{v} == {w}"),
                format!("{v} != {w}"),
                format!("[{v}].contains({w})"),
                format!("{w} in [{v}, 1]"),
                format!("[{v}, {w}].index_of({w})"),
                format!("let a = [{v}, {v}, {w}]; a.dedup(); a.len()"),
            ] {
                assert_eq!(answer(&ours, &form), answer(&stock, &form), "{form}");
            }
        }
    }
    // Mixed types inside arrays are unequal; without `==` for one type, an
    // error, as Rhai's.
    for form in [
        "[1] == [\"1\"]",
        "[Fn(\"f\")] == [Fn(\"f\")]",
        "#{a: Fn(\"f\")} == #{a: Fn(\"f\")}",
        "#{a: 1} == #{a: \"1\"}",
        "[#{}] == [[]]",
    ] {
        assert_eq!(answer(&ours, form), answer(&stock, form), "{form}");
    }
}

/// Builds `depth` levels of alternating arrays and maps and runs `then`
/// on them, on a thread with a stack of `stack_mib`.
fn on_small_stack(depth: usize, then: &str, stack_mib: usize) -> String {
    let src = format!(
        "let a = [42]; for i in 0..{depth} {{ a = if i % 2 == 0 {{ #{{x: a.take()}} }} else {{ [a.take()] }}; }} {then}"
    );
    std::thread::Builder::new()
        .stack_size(stack_mib << 20)
        .spawn(move || {
            let mut limits = SandboxLimits::MAX_CEILINGS;
            limits.max_operations = 1_000_000_000;
            let engine = build_engine(&limits);
            match engine.eval::<rhai::Dynamic>(&src) {
                Ok(v) => deep::describe(&v),
                // Rhai's own Display of the error would format the thrown
                // value recursively: PiCloud's describes it.
                Err(e) => match e.unwrap_inner() {
                    rhai::EvalAltResult::ErrorRuntime(v, _) => {
                        format!("thrown: {}", deep::describe(v))
                    }
                    other => format!("error: {other:?}").chars().take(200).collect(),
                },
            }
        })
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn formatting_and_comparing_deep_values_need_no_stack_for_their_depth() {
    // Rhai's own formatting and comparing take about 1.8 KiB of stack per
    // level: these 12,000 levels would need some 21 MiB, and this thread
    // has 12. Building, cloning and dropping them take a few hundred bytes
    // a level (up to 350 in a debug build).
    let depth = 12_000;
    let shown = on_small_stack(depth, "let s = a.to_string(); s.len()", 12);
    // `[42]`, then `#{"x": ...}` (8 more) and `[...]` (2 more) in turn.
    assert_eq!(shown, (4 + 10 * depth / 2).to_string());
    assert_eq!(
        on_small_stack(depth, "let b = a; [a == b, a != b]", 12),
        "[true, false]"
    );
    assert_eq!(on_small_stack(depth, "let b = [a]; a in b", 12), "true");
    let thrown = on_small_stack(depth, "throw a", 12);
    assert!(
        thrown.starts_with("thrown: [#{\"x\": [#{\"x\": ["),
        "{:.80}",
        thrown
    );
}

#[tokio::test]
async fn limits_that_reach_deeper_than_a_script_thread_run_on_a_stack_of_their_own() {
    let deep_limits = SandboxOverrides {
        max_array_size: Some(10_000_000),
        max_map_size: Some(1_000_000),
        timeout_ms: Some(300_000),
        ..Default::default()
    };
    let limits =
        picloud_shared::SandboxCeilings::new(SandboxLimits::MAX_CEILINGS).resolve(&deep_limits);
    let stack = deep::stack_for(&limits).expect("a stack of its own");
    assert!(stack > picloud_executor_core::pool::SCRIPT_STACK_SIZE);
    // It runs there, and returns as any other execution.
    let ex = raised_executor();
    let src =
        "let a = [42]; for i in 0..3000 { a = [a.take()]; } let b = a; [a == b, `${a}`.len()]";
    let out = run_on(&ex, src, deep_limits).await;
    assert_eq!(out.status, ExecStatus::Ok, "{:?}", out.error);
    assert_eq!(
        out.value.as_ref().map(|v| v.to_value().unwrap()),
        Some(json!([true, 4 + 2 * 3000]))
    );
}

#[tokio::test]
async fn nesting_as_deep_as_raised_limits_reach_in_their_time_survives() {
    // Raised sizes, and a few seconds: the script nests as deep as it can
    // before its time is up (Rhai walks every level below at each step, so
    // depth grows with the square root of time), comparing and formatting
    // it as it goes.
    let sandbox = SandboxOverrides {
        max_array_size: Some(10_000_000),
        max_map_size: Some(1_000_000),
        max_operations: Some(100_000_000_000),
        timeout_ms: Some(30_000),
        ..Default::default()
    };
    let timing_out = SandboxOverrides {
        timeout_ms: Some(4_000),
        ..sandbox
    };
    let src = "let a = [42]; let n = 0;
        loop { a = if n % 2 == 0 { #{x: a.take()} } else { [a.take()] }; n += 1;
               if n % 1000 == 0 { let b = a; if a != b { throw \"unequal\"; } let s = `${b}`; } }";
    let ex = raised_executor();
    let started = std::time::Instant::now();
    let out = run_on(&ex, src, timing_out).await;
    expect_status(&out, ExecStatus::Timeout, "timeout");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // It gets deeper than the default ceilings let arrays or maps alone
    // nest (10,000 levels), and the nesting is compared and formatted.
    let src = "let a = [42]; let n = 0; let t = timestamp();
        while n < 12_000 && t.elapsed < 20.0 { a = if n % 2 == 0 { #{x: a.take()} } else { [a.take()] }; n += 1; }
        let b = a; [n, a == b, `${a}`.len() > n]";
    let out = run_on(&ex, src, sandbox).await;
    assert_eq!(out.status, ExecStatus::Ok, "{:?}", out.error);
    let v = out.value.unwrap().to_value().unwrap();
    assert_eq!(v[0], json!(12_000), "{v}");
    assert_eq!((v[1].clone(), v[2].clone()), (json!(true), json!(true)));
}

#[tokio::test]
async fn real_workloads_fit_the_raised_ceilings() {
    let ex = raised_executor();
    let big = SandboxOverrides {
        max_array_size: Some(2_000_000),
        max_map_size: Some(300_000),
        max_string_size: Some(64 << 20),
        max_operations: Some(1_000_000_000),
        timeout_ms: Some(60_000),
        ..Default::default()
    };
    // A sieve of Eratosthenes over 300,000 numbers: a 300,001-item array.
    let sieve = "const N = 300_000;
        let mask = []; mask.pad(N + 1, true); mask[0] = false; mask[1] = false;
        let found = 0;
        for p in 2..=N { if !mask[p] { continue; } found += 1;
            for i in range(2 * p, N + 1, p) { mask[i] = false; } }
        found";
    let out = run_on(&ex, sieve, big).await;
    assert_eq!(out.status, ExecStatus::Ok, "{:?}", out.error);
    assert_eq!(
        out.value.as_ref().map(|v| v.to_value().unwrap()),
        Some(json!(25_997))
    );
    // A map of 100,000 string keys, filled and summed. (Rhai re-checks a
    // whole array's or map's size after each method call on it, so a big
    // one is filled by index, not by `push` or emptied by `remove`:
    // docs/scripts.md.)
    let words = "const N = 100_000;
        let keys = []; keys.pad(N, \"\");
        for i in 0..N { keys[i] = `key number ${i}`; }
        let m = #{}; let i = 0; for k in keys { m[k] = i; i += 1; }
        let sum = 0; for k in keys { sum += m[k]; }
        [m.len(), sum]";
    let out = run_on(&ex, words, big).await;
    assert_eq!(out.status, ExecStatus::Ok, "{:?}", out.error);
    assert_eq!(
        out.value.as_ref().map(|v| v.to_value().unwrap()),
        Some(json!([100_000, 4_999_950_000_i64]))
    );
    // A cron job's export: 50,000 rows turned into one JSON document.
    let export = "const N = 50_000;
        let rows = []; rows.pad(N, ());
        for i in 0..N { rows[i] = #{ id: i, name: `customer ${i}`, total: i * 3 }; }
        let doc = json::stringify(rows); [rows.len(), doc.len() > 1_000_000]";
    let out = run_on(&ex, export, big).await;
    assert_eq!(out.status, ExecStatus::Ok, "{:?}", out.error);
    assert_eq!(
        out.value.as_ref().map(|v| v.to_value().unwrap()),
        Some(json!([50_000, true]))
    );
    // The same export under the default ceilings is refused, not crashed.
    let out = run(export).await;
    expect_status(&out, ExecStatus::LimitExceeded, "limit_exceeded");
}
