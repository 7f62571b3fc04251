//! Hostile scripts: each ends with `limit_exceeded`, `timeout` or a compile
//! error within its limits, with the defaults, and the ceilings hold at their
//! maximum on the script threads' stacks. One test per escape listed in the
//! design's rhai-notes.md.

mod common;

use std::time::{Duration, Instant};

use common::*;
use picloud_executor_core::limits as fixed;
use picloud_shared::{ExecStatus, HttpRequest, SandboxLimits, SandboxOverrides};

/// Runs with the default limits and checks it ended as a limit or timeout,
/// no later than the timeout plus a margin for a debug build.
async fn ends_within_limits(src: &str) -> ExecStatus {
    let started = Instant::now();
    let out = run(src).await;
    let elapsed = started.elapsed();
    assert!(
        matches!(out.status, ExecStatus::LimitExceeded | ExecStatus::Timeout),
        "{src}: {:?} {:?}",
        out.status,
        out.error
    );
    let bound = Duration::from_millis(SandboxLimits::DEFAULTS.timeout_ms) + Duration::from_secs(2);
    assert!(elapsed < bound, "{src} took {elapsed:?}");
    // The same where it starts on an async runtime's thread: it ends the
    // same way, and hands the runtime over rather than hold it.
    let started = Instant::now();
    let seen = on_runtime(src, SandboxOverrides::default(), HttpRequest::default()).await;
    let elapsed = started.elapsed();
    assert!(
        matches!(
            seen.outcome.status,
            ExecStatus::LimitExceeded | ExecStatus::Timeout
        ),
        "{src}: {:?}",
        seen.outcome.error
    );
    assert!(elapsed < bound, "{src} took {elapsed:?} on the runtime");
    assert!(
        seen.longest_stall < STALL_BOUND,
        "{src} held the runtime for {:?}",
        seen.longest_stall
    );
    out.status
}

/// Runs on a script thread and again where it starts on a runtime thread
/// (whose stack must hold the same depth); both must end alike.
async fn both_ways(src: &str, sandbox: SandboxOverrides) -> picloud_shared::ExecOutcome {
    let out = run_with(src, sandbox, HttpRequest::default()).await;
    let seen = on_runtime(src, sandbox, HttpRequest::default()).await;
    assert_eq!(seen.outcome.status, out.status, "{:?}", seen.outcome.error);
    assert_eq!(seen.outcome.value, out.value);
    assert!(
        seen.longest_stall < STALL_BOUND,
        "held the runtime for {:?}",
        seen.longest_stall
    );
    out
}

#[tokio::test]
async fn an_endless_loop_ends() {
    ends_within_limits("loop {}").await;
    ends_within_limits("let i = 0; while true { i += 1; }").await;
}

#[tokio::test]
async fn runaway_recursion_ends() {
    assert_eq!(
        ends_within_limits("fn r(n) { r(n + 1) } r(0)").await,
        ExecStatus::LimitExceeded
    );
    // Mutual recursion with deep expressions in each frame.
    ends_within_limits("fn a(n) { 1 + (2 * (3 + b(n))) } fn b(n) { 1 + (2 * (3 + a(n))) } a(0)")
        .await;
}

#[tokio::test]
async fn doubling_strings_and_arrays_end() {
    assert_eq!(
        ends_within_limits("let s = \"x\"; loop { s += s; }").await,
        ExecStatus::LimitExceeded
    );
    assert_eq!(
        ends_within_limits("let a = [1]; loop { a += a; }").await,
        ExecStatus::LimitExceeded
    );
    assert_eq!(
        ends_within_limits("let b = blob(10); loop { b += b; }").await,
        ExecStatus::LimitExceeded
    );
    // Allocating huge values in one call is refused as well.
    assert_eq!(
        ends_within_limits("blob(100000000000)").await,
        ExecStatus::LimitExceeded
    );
    assert_eq!(
        ends_within_limits("let a = []; a.pad(100000000, 0); a").await,
        ExecStatus::LimitExceeded
    );
    assert_eq!(
        ends_within_limits("\"x\".pad(100000000, \"y\")").await,
        ExecStatus::LimitExceeded
    );
}

#[test]
fn padding_with_an_empty_string_ends() {
    // Rhai's own string `pad` never returns here, inside one call where no
    // limit can stop it; PiCloud replaces it (src/strings.rs). A thread and a
    // bound, so that a regression fails rather than hangs the suite.
    let (done, ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let out = rt.block_on(both_ways(
            "let s = \"abc\"; s.pad(10, \"\"); s",
            SandboxOverrides::default(),
        ));
        let _ = done.send(out);
    });
    let out = match ended.recv_timeout(Duration::from_secs(10)) {
        Ok(out) => out,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("s.pad(10, \"\") never ended"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("it failed: see above"),
    };
    assert_eq!(out.status, ExecStatus::Ok, "{:?}", out.error);
    assert_eq!(
        out.value.as_ref().map(|v| v.to_value().unwrap()),
        Some(serde_json::json!("abc"))
    );
}

#[tokio::test]
async fn an_array_stored_inside_itself_in_a_loop_ends_without_crashing() {
    // Self-nesting data aborts the process with a native stack overflow on
    // small stacks; the script threads' stacks survive the deepest nesting.
    ends_within_limits("let a = [42]; loop { a[0] = a; }").await;
    ends_within_limits("let a = #{}; loop { a = [#{x: a}]; }").await;
}

#[tokio::test]
async fn values_cannot_be_nested_inside_function_pointers() {
    // A function pointer holds values: a closure the variables it captures,
    // `curry` the arguments it binds. No size limit counts them, so a loop
    // nested them a million deep in a few operations each, and dropping
    // the chain overflowed any stack: `let b = (); for i in 0..3000000 {
    // b = Fn("x").curry(b.take()); }` aborted the server with the default
    // limits. Capturing closures and `curry` are refused at upload.
    for (src, hint) in [
        (
            r#"let b = (); for i in 0..3000000 { b = Fn("x").curry(b.take()); } 1"#,
            "curry",
        ),
        (
            r#"let b = (); for i in 0..3000000 { b = curry(Fn("x"), b.take()); } 1"#,
            "curry",
        ),
        (
            "let b = (); for i in 0..3000000 { let c = b.take(); b = || c; } 1",
            "capture",
        ),
        ("let m = 2; [1, 2, 3].filter(|x| x > m)", "capture"),
    ] {
        let e = compile_err(src).await;
        assert_eq!(e.code, "compile_error", "{src}");
        assert!(e.message.contains(hint), "{src}: {e:?}");
        assert!(e.line.is_some(), "{e:?}");
    }
    // Closures that capture nothing still work, and so do function
    // pointers to script functions.
    let out = run(r#"fn double(x) { x * 2 }
           let f = Fn("double");
           [[1, 2, 3].filter(|x| x > 1), f.call(4), [1, 2].map(|x| x + 1)]"#)
    .await;
    assert_eq!(out.status, ExecStatus::Ok, "{:?}", out.error);
    assert_eq!(
        out.value.as_ref().map(|v| v.to_value().unwrap()),
        Some(serde_json::json!([[2, 3], 8, [2, 3]]))
    );
}

#[tokio::test]
async fn map_growth_through_index_assignment_is_bounded_by_time_and_operations() {
    // FIXME: Rhai does not check max_map_size when index assignment adds a
    // key (only when the map is passed, returned or combined); such a map is
    // bounded only by the operation and time limits. Asserting today's
    // behaviour: it ends, within the limits.
    ends_within_limits("let m = #{}; let i = 0; loop { m[`k${i}`] = i; i += 1; }").await;
}

#[tokio::test]
async fn deepest_nesting_the_default_ceilings_allow_survives() {
    // (Raised ceilings: tests/deep.rs.)
    let c = SandboxLimits::DEFAULT_CEILINGS;
    let sandbox = SandboxOverrides {
        max_array_size: Some(c.max_array_size),
        max_map_size: Some(c.max_map_size),
        max_operations: Some(c.max_operations),
        timeout_ms: Some(c.timeout_ms),
        ..Default::default()
    };
    let depth = c.max_array_size - 2;
    // Build the deepest nesting allowed, then format, compare, clone and drop it.
    let src = format!(
        "let a = [42]; for i in 0..{depth} {{ a = [a]; }}
         let s = `${{a}}`; let b = a; let same = a == b;
         let m = #{{x: a}}; let d = m.to_debug();
         [s.len(), same]"
    );
    let out = both_ways(&src, sandbox).await;
    assert_eq!(out.status, ExecStatus::Ok, "{:?}", out.error);
    // Returning the nesting itself is refused by the JSON depth bound, not a crash.
    let src = format!("let a = [42]; for i in 0..{depth} {{ a = [a]; }} a");
    let out = both_ways(&src, sandbox).await;
    let e = expect_status(&out, ExecStatus::Error, "invalid_response");
    assert!(
        e.message.contains(&fixed::MAX_JSON_DEPTH.to_string()),
        "{e:?}"
    );
}

#[tokio::test]
async fn deepest_calls_and_expressions_the_ceilings_allow_survive() {
    let c = SandboxLimits::MAX_CEILINGS;
    let sandbox = SandboxOverrides {
        max_call_levels: Some(c.max_call_levels),
        max_expr_depth: Some(c.max_expr_depth),
        ..Default::default()
    };
    // Each frame evaluates an expression nested near the depth ceiling.
    let nest = (c.max_expr_depth / 2 - 4) as usize;
    let expr = format!("{}n{}", "(1 + ".repeat(nest), ")".repeat(nest));
    let src = format!(
        "fn r(n) {{ if n <= 0 {{ return 0; }} let x = {expr}; r(n - 1) + 1 }} r({})",
        c.max_call_levels - 2
    );
    let out = both_ways(&src, sandbox).await;
    assert_eq!(out.status, ExecStatus::Ok, "{:?}", out.error);
    assert_eq!(
        out.value.as_ref().map(|v| v.to_value().unwrap()),
        Some(serde_json::json!(c.max_call_levels - 2))
    );
    // One level more than allowed is a limit, not a crash.
    let src = format!(
        "fn r(n) {{ if n <= 0 {{ return 0; }} r(n - 1) + 1 }} r({})",
        c.max_call_levels + 10
    );
    let out = both_ways(&src, sandbox).await;
    expect_status(&out, ExecStatus::LimitExceeded, "limit_exceeded");
}

#[tokio::test]
async fn thousands_of_nested_parentheses_are_a_compile_error() {
    for n in [1_000, 50_000] {
        let src = format!("{}1{}", "(".repeat(n), ")".repeat(n));
        let e = compile_err(&src).await;
        assert_eq!(e.code, "compile_error");
        let src = format!("{}1{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(compile_err(&src).await.code, "compile_error");
        let src = format!("{}1{}", "#{a:".repeat(n), "}".repeat(n));
        assert_eq!(compile_err(&src).await.code, "compile_error");
    }
}

#[tokio::test]
async fn tens_of_thousands_of_lets_are_refused_quickly() {
    let src: String = (0..20_000).map(|i| format!("let v{i} = {i};\n")).collect();
    let started = Instant::now();
    let e = compile_err(&src).await;
    assert!(e.message.contains("declares"), "{e:?}");
    // The position is the first declaration past the bound.
    let expected_line = u32::try_from(fixed::MAX_DECLARATIONS).unwrap() + 1;
    assert_eq!((e.line, e.column), (Some(expected_line), Some(1)), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // Just under the bound compiles (the bound keeps compile time small).
    let src: String = (0..fixed::MAX_DECLARATIONS)
        .map(|i| format!("let v{i} = {i};\n"))
        .collect();
    let ex = executor();
    use picloud_shared::ScriptCompiler;
    ex.compile(script(&src, SandboxOverrides::default()))
        .await
        .expect("compiles");
}

#[tokio::test]
async fn import_eval_and_sleep_are_refused() {
    for src in [
        "import \"a\" as a;",
        "import \"../../etc/passwd\" as p;",
        "eval(\"loop {}\")",
    ] {
        assert_eq!(compile_err(src).await.code, "compile_error", "{src}");
    }
    for src in ["sleep(1)", "sleep(1e300)", "sleep(100000000)", "sleep(-5)"] {
        let started = Instant::now();
        let out = run(src).await;
        assert_eq!(out.status, ExecStatus::Error, "{src}");
        assert!(started.elapsed() < Duration::from_secs(1), "{src} slept");
    }
}

#[tokio::test]
async fn log_volume_is_bounded() {
    let out = run("for i in 0..5000 { log::info(`line ${i}`); } 1").await;
    assert_eq!(out.status, ExecStatus::Ok);
    assert_eq!(out.logs.len(), fixed::MAX_LOG_ENTRIES + 1);
    assert!(out.logs.last().unwrap().message.contains("dropped"));
    let out = run("let s = \"x\"; for i in 0..14 { s += s; } log::info(s); 1").await;
    assert!(out.logs[0].message.len() <= fixed::MAX_LOG_MESSAGE + 4);
}

#[tokio::test]
async fn one_hostile_script_does_not_block_others() {
    // Two script threads: a spinning script occupies one, others still run.
    let ex = executor();
    use picloud_shared::ExecutorClient;
    let spin = script(
        "loop {}",
        SandboxOverrides {
            timeout_ms: Some(3000),
            max_operations: Some(1_000_000_000),
            ..Default::default()
        },
    );
    let hello = script("\"hello\"", SandboxOverrides::default());
    let spinning = tokio::spawn({
        let ex = ex.clone();
        async move {
            ex.execute(request(spin, HttpRequest::default()))
                .await
                .unwrap()
        }
    });
    // Once the spinning script is on a script thread (the fresh
    // executor's first job there: it was not compiled before), hello runs.
    within(
        Duration::from_secs(5),
        "the spinning script went to a script thread",
        || async { (ex.script_thread_jobs() > 0).then_some(()) },
    )
    .await;
    let out = ex
        .execute(request(hello, HttpRequest::default()))
        .await
        .unwrap();
    assert_eq!(
        out.value.as_ref().map(|v| v.to_value().unwrap()),
        Some(serde_json::json!("hello"))
    );
    assert!(
        !spinning.is_finished(),
        "the spinning script is still running"
    );
    assert_eq!(spinning.await.unwrap().status, ExecStatus::Timeout);
}

/// The operations an execution reports are the ones its ceiling counts:
/// the same on every run, on a script thread or where it starts on a
/// runtime thread; a ceiling of exactly that many lets it finish and one
/// fewer stops it. More work counts more.
#[tokio::test]
async fn operations_are_counted_exactly_and_alike_on_every_run() {
    let src = "let s = 0; for i in 0..500 { s += i; } s";
    let first = run(src).await;
    assert_eq!(first.status, ExecStatus::Ok, "{:?}", first.error);
    let ops = first.operations;
    assert!(ops > 500, "a 500-step loop spent {ops} operations");
    for _ in 0..3 {
        assert_eq!(run(src).await.operations, ops);
    }
    let seen = on_runtime(src, SandboxOverrides::default(), HttpRequest::default()).await;
    assert_eq!(seen.outcome.operations, ops, "on a runtime thread");

    let ceiling = |max| SandboxOverrides {
        max_operations: Some(max),
        ..SandboxOverrides::default()
    };
    let exact = run_with(src, ceiling(ops), HttpRequest::default()).await;
    assert_eq!(exact.status, ExecStatus::Ok, "{:?}", exact.error);
    assert_eq!(exact.operations, ops);
    let short = run_with(src, ceiling(ops - 1), HttpRequest::default()).await;
    assert_eq!(short.status, ExecStatus::LimitExceeded, "{:?}", short.error);

    let more = run("let s = 0; for i in 0..5000 { s += i; } s").await;
    assert!(more.operations > 5 * ops, "{} vs {ops}", more.operations);
}

/// CPU time is the running thread's: a loop that keeps it busy shows it,
/// and it never exceeds the execution's wall time. (That waiting is not
/// counted is checked with a slow server in crates/picloud/tests/outbound.rs.)
#[tokio::test]
async fn cpu_time_is_the_threads_and_within_the_wall_time() {
    let busy = run("let s = 0; for i in 0..200000 { s += i; } s").await;
    assert_eq!(busy.status, ExecStatus::Ok, "{:?}", busy.error);
    assert!(busy.cpu > Duration::ZERO, "{:?}", busy.cpu);
    assert!(
        busy.cpu <= busy.duration,
        "{:?} > {:?}",
        busy.cpu,
        busy.duration
    );
}
