//! Scripts on the async runtime's threads (runtime.rs): a quick script runs
//! where it is polled, a slow one hands the runtime over and its next run
//! starts on a script thread, and none holds the runtime for long.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use picloud_executor_core::runtime;
use picloud_shared::{ExecStatus, ExecutorClient, HttpRequest, SandboxOverrides, ScriptCompiler};
use serde_json::json;

#[test]
fn a_quick_script_runs_on_the_runtime_thread() {
    let seen = run_on_runtime(
        "40 + 2",
        SandboxOverrides::default(),
        HttpRequest::default(),
    );
    assert_eq!(
        seen.outcome.status,
        ExecStatus::Ok,
        "{:?}",
        seen.outcome.error
    );
    assert_eq!(seen.outcome.value, Some(json!(42)));
    assert_eq!(seen.script_thread_jobs, 0);
}

#[test]
fn off_the_runtime_scripts_run_on_script_threads() {
    // `block_on` polls on the calling thread, which no runtime started.
    let rt = runtime::builder(4).worker_threads(1).build().unwrap();
    rt.block_on(async {
        let ex = executor();
        let s = script("1", SandboxOverrides::default());
        ex.compile(Arc::clone(&s)).await.unwrap();
        let before = ex.script_thread_jobs();
        let out = ex
            .execute(request(s, HttpRequest::default()))
            .await
            .unwrap();
        assert_eq!(out.value, Some(json!(1)));
        assert_eq!(ex.script_thread_jobs() - before, 1);
    });
}

/// Runs `script` with these query strings one after the other, each as a
/// task on a one-thread runtime; returns for each run its value, whether
/// it went to a script thread, and the longest the runtime stalled.
fn runs(
    source: &str,
    queries: &[&str],
    sandbox: SandboxOverrides,
) -> Vec<(serde_json::Value, bool, Duration)> {
    let rt = runtime::builder(4).worker_threads(1).build().unwrap();
    rt.block_on(async {
        let ex = executor();
        let s = script(source, sandbox);
        ex.compile(Arc::clone(&s)).await.unwrap();
        let mut seen = Vec::new();
        for q in queries {
            let heartbeat = Heartbeat::start().await;
            let before = ex.script_thread_jobs();
            let http = HttpRequest {
                query: [("n".to_owned(), (*q).to_owned())].into(),
                ..Default::default()
            };
            let out = tokio::spawn({
                let (ex, s) = (ex.clone(), Arc::clone(&s));
                async move { ex.execute(request(s, http)).await.unwrap() }
            })
            .await
            .unwrap();
            assert_eq!(out.status, ExecStatus::Ok, "{:?}", out.error);
            seen.push((
                out.value.unwrap(),
                ex.script_thread_jobs() > before,
                heartbeat.stop().await,
            ));
        }
        seen
    })
}

#[test]
fn a_slow_run_hands_the_runtime_over_and_the_next_runs_start_elsewhere() {
    // Counting to n: 1 is quick, 300,000 takes far longer than the
    // half-millisecond a script may hold the runtime.
    let mut queries = vec!["1", "300000", "1"];
    queries.extend(std::iter::repeat_n("1", 3 * runtime::SLOW_PENALTY as usize));
    let seen = runs(
        "let n = parse_int(ctx.request.query.n); let i = 0; while i < n { i += 1; } i",
        &queries,
        SandboxOverrides::default(),
    );
    let placed: Vec<bool> = seen.iter().map(|s| s.1).collect();
    // A new version starts here. The slow run starts here too, unless the
    // quick one took over half a millisecond on a busy machine. The next
    // run starts on a script thread, and so do the next hundred or so; a
    // later one (once a hundred quick ones have run) starts here again.
    assert!(!placed[0], "{placed:?}");
    assert!(placed[2], "{placed:?}");
    let back = placed[3..].iter().position(|p| !p).map(|i| i + 3);
    assert!(
        back.is_some_and(|i| i >= 2 + runtime::SLOW_PENALTY as usize),
        "back on the runtime at run {back:?}"
    );
    assert_eq!(seen[1].0, json!(300_000));
    for (value, _, stall) in &seen {
        assert!(
            *stall < STALL_BOUND,
            "the runtime stalled {stall:?} ({value})"
        );
    }
}

#[test]
fn longer_strings_than_the_defaults_keep_a_script_off_the_runtime() {
    let seen = runs(
        "1",
        &["1"],
        SandboxOverrides {
            max_string_size: Some(2 << 20),
            ..Default::default()
        },
    );
    assert!(seen[0].1, "it ran on a script thread");
}

#[test]
fn a_long_native_call_hands_the_runtime_over_before_it_starts() {
    // A regex search that runs into its one-second budget, reached at once
    // (`pad` is one operation): the hand-off must come before the call.
    // Then hashing and parsing large strings.
    for src in [
        "let s = \"\"; s.pad(500000, \"a\"); try { regex::replace(\"(?s)a.*x|a\", s, \"b\") } catch { 0 }",
        "let s = \"a\"; while s.len() < 500000 { s += s; } crypto::sha256(s).len()",
        "let s = \"a\"; while s.len() < 500000 { s += s; } json::parse(`\"${s}\"`).len()",
    ] {
        let seen = run_on_runtime(src, SandboxOverrides::default(), HttpRequest::default());
        assert_eq!(
            seen.outcome.status,
            ExecStatus::Ok,
            "{src}: {:?}",
            seen.outcome.error
        );
        assert!(
            seen.longest_stall < STALL_BOUND,
            "{src}: the runtime stalled {:?}",
            seen.longest_stall
        );
    }
}
