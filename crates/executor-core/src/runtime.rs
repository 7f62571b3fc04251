//! Scripts on the async runtime's own threads, without letting them hold
//! the runtime.
//!
//! Handing every execution to a script thread and back costs more than a
//! short script itself: two cross-thread wake-ups, and the request's data
//! moving between cores (about a quarter of PiCloud's CPU per hello-world
//! request; see docs/performance.md). So on a runtime built by [`builder`],
//! whose threads have script-sized stacks, an execution of a quick script
//! runs on the runtime thread that polls it:
//!
//! - past [`HAND_OFF_AFTER`], the sandbox's progress check hands the
//!   thread's share of the runtime to another thread
//!   ([`tokio::task::block_in_place`]) and the script carries on where it
//!   is, as it would on a script thread;
//! - a call into a service (KV, `invoke`), or a native call with a lot of
//!   work (a regex search, hashing or parsing a large string), hands the
//!   runtime over before it starts;
//! - after an execution that used more CPU than that (its thread's CPU
//!   time: a quick one preempted by the system is not slow), or waited on
//!   a service,
//!   the script version's next [`SLOW_PENALTY`] executions run on the
//!   script threads of [`crate::pool`] (a slow one among them starts the
//!   count again), so a script that is slow now and then holds a runtime
//!   thread at most once per that many executions, and one that is always
//!   slow (or always uses KV) stays on the script threads;
//! - so does, always, a version whose limits allow longer strings than the
//!   defaults (one built-in operation on such a string, `remove` say, takes
//!   longer the longer the string).
//!
//! So a runtime thread is held by a script for at most half a millisecond
//! of its operations plus the one operation running then: under the
//! default limits, a few milliseconds for the slowest built-in left
//! (`remove` on a 1 MiB string; the slower ones are replaced, see
//! `strings.rs`), once per [`SLOW_PENALTY`] executions of a version at
//! most (see tests/runtime.rs and docs/performance.md).
//!
//! Anywhere else (a current-thread runtime, a thread the runtime did not
//! start, a compile) the work goes to the script threads.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::pool::SCRIPT_STACK_SIZE;

/// How long an execution may hold a runtime thread before it hands the
/// runtime over: a hello-world takes a few microseconds, and tasks waiting
/// behind this one on the same thread wait at most this long.
pub const HAND_OFF_AFTER: Duration = Duration::from_micros(500);

/// How soon a running execution asks again after its first hand-off, in
/// case that one did not move this thread's share of the runtime; the
/// wait doubles after each (up to 256 ms).
pub(crate) const HAND_OFF_RETRY: Duration = Duration::from_millis(1);

thread_local! {
    /// Whether this thread was started by a runtime from [`builder`].
    static SCRIPT_CAPABLE: Cell<bool> = const { Cell::new(false) };
}

/// A multi-thread Tokio runtime whose threads can run scripts: stacks of
/// [`SCRIPT_STACK_SIZE`] (address space; only touched pages use memory),
/// and each thread marked as such when it starts. `max_scripts` is the
/// most executions that may run at once: each one that outlives
/// [`HAND_OFF_AFTER`] holds a blocking thread until it ends.
pub fn builder(max_scripts: usize) -> tokio::runtime::Builder {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .enable_all()
        .thread_stack_size(SCRIPT_STACK_SIZE)
        // Tokio's default of 512, over and above the scripts.
        .max_blocking_threads(512 + max_scripts)
        .on_thread_start(|| SCRIPT_CAPABLE.set(true));
    builder
}

/// Executions of a script version that run on the script threads after
/// one of them was slow.
pub const SLOW_PENALTY: u32 = 100;

/// Where the executions of one script version start.
pub(crate) struct Placement {
    /// Limits that allow longer strings than the defaults: never here.
    never_here: bool,
    /// Executions still to run on the script threads.
    elsewhere: AtomicU32,
}

impl Placement {
    pub(crate) fn new(limits: &picloud_shared::SandboxLimits) -> Self {
        Placement {
            // Long strings make single operations slow; deep nesting needs a
            // stack of its own (deep.rs).
            never_here: limits.max_string_size
                > picloud_shared::SandboxLimits::DEFAULTS.max_string_size
                || crate::deep::stack_for(limits).is_some(),
            elsewhere: AtomicU32::new(0),
        }
    }

    /// Whether the next execution may start on a runtime thread.
    pub(crate) fn may_start_here(&self) -> bool {
        !self.never_here && self.elsewhere.load(Ordering::Relaxed) == 0
    }

    /// Counts an execution that ended: `slow` if it used more CPU than
    /// [`HAND_OFF_AFTER`] or waited on a service. Written only when it
    /// changes (a quick one on a runtime thread writes nothing), and racy
    /// on purpose: a count off by one moves one execution.
    pub(crate) fn ran(&self, slow: bool, on_runtime: bool) {
        let left = self.elsewhere.load(Ordering::Relaxed);
        if slow {
            if left != SLOW_PENALTY {
                self.elsewhere.store(SLOW_PENALTY, Ordering::Relaxed);
            }
        } else if left > 0 && !on_runtime {
            self.elsewhere.store(left - 1, Ordering::Relaxed);
        }
    }
}

/// Whether an execution polled here may run here.
pub(crate) fn script_capable() -> bool {
    SCRIPT_CAPABLE.get()
}

/// Hands this thread's share of the runtime (its queue of tasks, and the
/// polling of them) to another thread, and carries on here with the
/// current task, waiting at most `patience` for the other thread to start.
/// Elsewhere it does nothing.
pub(crate) fn hand_off(patience: Duration) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    // `block_in_place` starts another thread on this thread's share and
    // takes the share back when its closure ends if that thread has not
    // taken it yet. So the closure waits for a task queued on the share
    // (spawned here, it goes to this thread's queue) to run: either the
    // other thread has taken the share, or another runtime thread took the
    // task, and either way the runtime is being served. Meanwhile the share
    // is free to take, so waiting costs the runtime nothing; on a machine
    // so busy that the other thread does not start within `patience`, this
    // thread carries on and the next check asks again.
    let (ran, wait) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = ran.send(());
    });
    tokio::task::block_in_place(|| {
        let _ = wait.recv_timeout(patience.min(HAND_OFF_WAIT));
    });
}

/// The longest a hand-off waits for another thread to take over (an
/// execution waits no longer than its time left either).
const HAND_OFF_WAIT: Duration = Duration::from_secs(1);
