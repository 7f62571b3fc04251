//! Scripts on the async runtime's threads (runtime.rs): a quick script runs
//! where it is polled, a slow one hands the runtime over and its next run
//! starts on a script thread, and none holds the runtime for long.

mod common;

use std::sync::Arc;

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
    assert_eq!(
        seen.outcome.value.as_ref().map(|v| v.to_value().unwrap()),
        Some(json!(42))
    );
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
        assert_eq!(
            out.value.as_ref().map(|v| v.to_value().unwrap()),
            Some(json!(1))
        );
        assert_eq!(ex.script_thread_jobs() - before, 1);
    });
}

/// Runs `source` one run after the other on a one-thread runtime, with
/// the query string `n` that `next` picks from the runs so far, until it
/// picks none; each run must succeed.
fn runs_while(
    source: &str,
    sandbox: SandboxOverrides,
    mut next: impl FnMut(&[OnRuntime]) -> Option<&'static str>,
) -> Vec<OnRuntime> {
    let seen = runs_on_runtime(source, sandbox, |seen| {
        next(seen).map(|n| HttpRequest {
            query: [("n".to_owned(), n.to_owned())].into(),
            ..Default::default()
        })
    });
    for run in &seen {
        assert_eq!(
            run.outcome.status,
            ExecStatus::Ok,
            "{:?}",
            run.outcome.error
        );
    }
    seen
}

/// Whether a run went to a script thread.
fn elsewhere(run: &OnRuntime) -> bool {
    run.script_thread_jobs > 0
}

#[test]
fn a_slow_run_hands_the_runtime_over_and_the_next_runs_start_elsewhere() {
    // Counting to n: 1 is quick, 300,000 takes far longer than the
    // half-millisecond a script may hold the runtime.
    let penalty = runtime::SLOW_PENALTY as usize;
    // A run that used more CPU than the hand-off point counts as slow, and
    // one that did not cannot (however long it took: on a busy machine a
    // quick one can be preempted). Once `penalty` runs in a row were quick,
    // the next one must be back on the runtime.
    let quick_streak = |seen: &[OnRuntime]| {
        seen[2..]
            .iter()
            .rev()
            .take_while(|r| r.outcome.cpu <= runtime::HAND_OFF_AFTER)
            .count()
    };
    let seen = runs_while(
        "let n = parse_int(ctx.request.query.n); let i = 0; while i < n { i += 1; } i",
        SandboxOverrides::default(),
        |seen| {
            let done = seen.len() > 2
                && (!elsewhere(&seen[seen.len() - 1]) && seen.len() > 3
                    || quick_streak(seen) > penalty
                    || seen.len() > 50 * penalty);
            let n = if seen.len() == 1 { "300000" } else { "1" };
            (!done).then_some(n)
        },
    );
    let placed: Vec<bool> = seen.iter().map(elsewhere).collect();
    // A new version starts here. The slow run starts here too, unless the
    // quick one used over half a millisecond of CPU. The next run starts on a
    // script thread, and so do the next hundred or so.
    assert!(!placed[0], "{placed:?}");
    assert_eq!(
        seen[1]
            .outcome
            .value
            .as_ref()
            .map(|v| v.to_value().unwrap()),
        Some(json!(300_000))
    );
    assert!(placed[2], "{placed:?}");
    let back = placed[3..].iter().position(|p| !p).map(|i| i + 3);
    let streak = quick_streak(&seen);
    assert!(
        back.is_some() || streak <= penalty,
        "{streak} quick runs in a row on the script threads"
    );
    assert!(
        back.is_none_or(|i| i >= 2 + penalty),
        "back on the runtime at run {back:?}"
    );
    for run in &seen {
        assert!(
            run.longest_stall < STALL_BOUND,
            "the runtime stalled {:?} ({:?})",
            run.longest_stall,
            run.outcome.value
        );
    }
}

#[test]
fn longer_strings_than_the_defaults_keep_a_script_off_the_runtime() {
    let seen = runs_while(
        "1",
        SandboxOverrides {
            max_string_size: Some(2 << 20),
            ..Default::default()
        },
        |seen| seen.is_empty().then_some("1"),
    );
    assert!(elsewhere(&seen[0]), "it ran on a script thread");
}

#[test]
fn a_long_native_call_hands_the_runtime_over_before_it_starts() {
    // A regex search that runs into its one-second budget, reached at once
    // (`pad` is one quick operation): the hand-off must come before the
    // call. Then hashing and parsing large strings.
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
