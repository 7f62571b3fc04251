//! A pool of script threads with large stacks.
//!
//! Rhai evaluates by recursion: deep data (an array nested in itself) and
//! deep calls use native stack, and overflowing it aborts the process. Script
//! work therefore runs here, on threads whose stack size is chosen so the
//! deepest nesting the sandbox ceilings allow provably fits (see
//! tests/sandbox.rs), or on runtime threads given the same stacks (see
//! [`crate::runtime`]).
//!
//! Threads start on demand, up to a maximum, and idle ones park with no
//! timeout: an idle pool makes no wake-ups. The most recently idle thread is
//! woken first (its stack and caches are warm), and only when one is idle:
//! a busy pool makes no wake-up system calls at all.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{Thread, ThreadId};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The stack size of script threads: 64 MiB, enough for the deepest nesting
/// the ceilings allow (10,000 levels; 16 MiB overflowed there). Only touched pages count
/// towards memory use; the address space is reserved, not committed.
pub const SCRIPT_STACK_SIZE: usize = 64 << 20;

pub struct Pool {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Jobs queued, readable without the lock (for spinning threads).
    queued: AtomicUsize,
    /// Jobs submitted so far.
    submitted: AtomicU64,
    max_threads: usize,
    stack_size: usize,
}

struct State {
    queue: VecDeque<Job>,
    threads: usize,
    /// Parked threads, the most recently parked last.
    idle: Vec<Thread>,
    /// Threads that just finished a job and watch the queue briefly before
    /// they park.
    spinning: usize,
    shutdown: bool,
}

impl Pool {
    pub fn new(max_threads: usize, stack_size: usize) -> Self {
        Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: Vec::new(),
                    spinning: 0,
                    shutdown: false,
                }),
                queued: AtomicUsize::new(0),
                submitted: AtomicU64::new(0),
                max_threads: max_threads.max(1),
                stack_size,
            }),
        }
    }

    /// Queues a job; it runs as soon as a thread is free. Returns false when
    /// the pool is shutting down (the job is dropped).
    pub fn submit(&self, job: Job) -> bool {
        let mut state = lock(&self.shared.state);
        if state.shutdown {
            return false;
        }
        state.queue.push_back(job);
        self.shared.submitted.fetch_add(1, Ordering::Relaxed);
        self.shared
            .queued
            .store(state.queue.len(), Ordering::Release);
        if state.queue.len() <= state.spinning {
            // A thread watching the queue takes it: no wake-up needed.
        } else if let Some(thread) = state.idle.pop() {
            drop(state);
            thread.unpark();
        } else if state.threads < self.shared.max_threads {
            // Every thread is busy: start one more, which takes the job.
            let shared = Arc::clone(&self.shared);
            let spawned = std::thread::Builder::new()
                .name("picloud-script".to_owned())
                .stack_size(self.shared.stack_size)
                .spawn(move || worker(shared));
            match spawned {
                Ok(_) => state.threads += 1,
                Err(e) => tracing::error!(error = %e, "could not start a script thread"),
            }
        }
        true
    }

    /// Number of threads started so far (for tests and metrics).
    pub fn threads(&self) -> usize {
        lock(&self.shared.state).threads
    }

    /// Number of jobs submitted so far (tests use it to see where work ran).
    pub fn jobs(&self) -> u64 {
        self.shared.submitted.load(Ordering::Relaxed)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let mut state = lock(&self.shared.state);
        state.shutdown = true;
        for thread in state.idle.drain(..) {
            thread.unpark();
        }
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // A job never runs while holding the lock, so poisoning cannot leave the
    // state half-updated; carry on with it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How many times a thread that finished a job yields the CPU while watching
/// the queue before it parks (tens of microseconds). Under load the next job
/// usually arrives meanwhile, which saves a futex wake-up per job; idle, the
/// thread parks right after.
const SPINS: u32 = 32;

fn worker(shared: Arc<Shared>) {
    let me = std::thread::current();
    let mut spin = false;
    loop {
        let job = {
            let mut state = lock(&shared.state);
            loop {
                if let Some(job) = state.queue.pop_front() {
                    shared.queued.store(state.queue.len(), Ordering::Release);
                    // Woken spuriously while a job was queued: take it, and
                    // leave the idle list so nobody unparks us for another.
                    remove_idle(&mut state.idle, me.id());
                    break job;
                }
                if state.shutdown {
                    state.threads -= 1;
                    return;
                }
                if std::mem::take(&mut spin) {
                    state.spinning += 1;
                    drop(state);
                    for _ in 0..SPINS {
                        if shared.queued.load(Ordering::Acquire) > 0 {
                            break;
                        }
                        std::thread::yield_now();
                    }
                    state = lock(&shared.state);
                    state.spinning -= 1;
                    continue;
                }
                if !state.idle.iter().any(|t| t.id() == me.id()) {
                    state.idle.push(me.clone());
                }
                drop(state);
                std::thread::park();
                state = lock(&shared.state);
            }
        };
        // A panicking job must not take the thread (and its queue) down.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
            tracing::error!("a script job panicked; the thread carries on");
        }
        spin = true;
    }
}

fn remove_idle(idle: &mut Vec<Thread>, id: ThreadId) {
    if let Some(i) = idle.iter().position(|t| t.id() == id) {
        idle.remove(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn runs_jobs_on_big_stacks_and_survives_panics() {
        let pool = Pool::new(2, SCRIPT_STACK_SIZE);
        let (tx, rx) = mpsc::channel();
        let tx2 = tx.clone();
        assert!(pool.submit(Box::new(|| panic!("boom"))));
        assert!(pool.submit(Box::new(move || {
            // 8 MiB on the stack would overflow a default 2 MiB thread.
            let big = [1u8; 8 << 20];
            tx.send(
                std::hint::black_box(&big)
                    .iter()
                    .map(|&b| b as usize)
                    .sum::<usize>(),
            )
            .unwrap();
        })));
        assert_eq!(rx.recv().unwrap(), 8 << 20);
        assert!(pool.submit(Box::new(move || tx2.send(1).unwrap())));
        assert_eq!(rx.recv().unwrap(), 1);
        assert!(pool.threads() <= 2);
    }
}
