//! Waiting for what a server does a moment after it answers (records
//! written in batches, events delivered, a change announced to another
//! node, a process become healthy): ask again until it is so, within a
//! bound, rather than sleep a fixed time and hope it was long enough.
//!
//! Part of `common`; the tests that run PiCloud as real processes, which
//! need no `TestApp`, include this file alone (`#[path]`).
#![allow(dead_code)]

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long the helpers wait before asking again: short beside their
/// bounds, long enough not to load a busy machine.
const AGAIN_AFTER: Duration = Duration::from_millis(10);

/// What a check answers: `Some`/`Ok` with a value once the awaited thing
/// is there; `None`, or `Err` with what it saw instead, until then. The
/// last `Err` is in the panic message, which then tells a slow server
/// from a wrong one.
pub trait Check<T> {
    fn check(self) -> Result<T, Option<String>>;
}

impl<T> Check<T> for Option<T> {
    fn check(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: Display> Check<T> for Result<T, E> {
    fn check(self) -> Result<T, Option<String>> {
        self.map_err(|seen| Some(seen.to_string()))
    }
}

fn not_within(what: &str, deadline: Duration, last: Option<String>) -> ! {
    match last {
        Some(seen) => panic!("{what}: not within {deadline:?} (last seen: {seen})"),
        None => panic!("{what}: not within {deadline:?}"),
    }
}

/// Waits until `check` gives a value, at most `deadline`, asking again
/// every 10 ms; panics naming `what` if it never does.
pub async fn within<T, C: Check<T>, F: Future<Output = C>>(
    deadline: Duration,
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let started = tokio::time::Instant::now();
    loop {
        let last = match check().await.check() {
            Ok(v) => return v,
            Err(last) => last,
        };
        if started.elapsed() > deadline {
            not_within(what, deadline, last);
        }
        tokio::time::sleep(AGAIN_AFTER).await;
    }
}

/// [`within`] for a test without a runtime (it blocks the thread between
/// checks).
pub fn within_blocking<T, C: Check<T>>(
    deadline: Duration,
    what: &str,
    mut check: impl FnMut() -> C,
) -> T {
    let started = Instant::now();
    loop {
        let last = match check().check() {
            Ok(v) => return v,
            Err(last) => last,
        };
        if started.elapsed() > deadline {
            not_within(what, deadline, last);
        }
        std::thread::sleep(AGAIN_AFTER);
    }
}

/// Asserts that `check` holds now and keeps holding for `period`, asking
/// every 10 ms; panics naming `what` as soon as it does not. For a test
/// that something does *not* happen: nothing can say it never will, so it
/// is watched for a bounded time, long enough for it to have happened if
/// the server were wrong.
pub async fn assert_stays<C: Check<()>, F: Future<Output = C>>(
    period: Duration,
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let started = tokio::time::Instant::now();
    loop {
        // Measured before the check, so the last check comes after the
        // whole period.
        let elapsed = started.elapsed();
        if let Err(seen) = check().await.check() {
            let seen = seen.map_or_else(String::new, |s| format!(" (saw: {s})"));
            panic!("{what}: no longer so after {elapsed:?} of {period:?}{seen}");
        }
        if elapsed >= period {
            return;
        }
        tokio::time::sleep(AGAIN_AFTER.min(period - elapsed)).await;
    }
}
