//! SQLite's one writer for the writes that come by the thousand: scripts'
//! KV writes and the execution records. Group commit on the writers' own
//! threads.
//!
//! Every change is answered once the transaction holding it has committed
//! (`synchronous = FULL`: synced to the write-ahead log), and changes that
//! arrive while a commit is under way share the next one (one sync for
//! many). Nothing runs in between: the first caller to find no commit under
//! way leads, applying every change waiting (its own among them) in one
//! transaction on the one writer connection, answering each, and handing
//! the lead to the first change that arrived meanwhile; the others sleep
//! until answered or handed the lead. A change costs its thread one sleep
//! and one wake-up, with no task, channel or driver thread in between
//! (through sqlx every statement went to the connection's worker thread and
//! back: docs/performance.md).
//!
//! One connection writes both kinds, so neither waits on SQLite's write
//! lock for the other: they queue here, in arrival order, and a batch of
//! records (bounded, see executions.rs) rides in the same commit as the KV
//! writes waiting with it. (With two writer connections a KV write waited
//! out each records transaction, and the busy handler's sleeps after it:
//! a p99 of 20 ms.)
//!
//! What a change does is its own ([`Change`]): this module knows
//! transactions, not tables. Idle, no thread waits on anything here.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::error::{Error, Result};

/// How long an SQLite connection waits for another's write lock, for the
/// pool's connections and the writer's (db.rs).
pub(crate) const SQLITE_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Changes in one transaction at most.
const WRITE_BATCH: usize = 512;

/// What a change did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Applied {
    /// Whether it changed a row (a delete found its key).
    pub changed: bool,
    /// Events it fired (KV triggers), for the caller to wake the dispatcher.
    pub fired: usize,
}

/// One change to the file, applied inside the writer's transaction.
pub(crate) trait Change: Send + Sync {
    /// Applies the change in the open transaction. `Err` fails the whole
    /// transaction (it is rolled back, and every change in it fails);
    /// `Ok(Err(_))` fails this change alone, which must leave nothing
    /// behind (SQLite undoes a failed statement, not the transaction).
    fn apply(&self, conn: &rusqlite::Connection) -> rusqlite::Result<Result<Applied>>;

    /// The change was applied (`Ok(Ok(_))`) and its transaction has
    /// committed. Called on the leader's thread in commit order, before
    /// any change of the transaction is answered.
    fn committed(&self) {}

    /// The change's transaction failed and was rolled back (whether or not
    /// this change was applied in it). Called before it is answered.
    fn aborted(&self) {}
}

/// The writer connection and the changes waiting for it.
pub struct SqliteWriter {
    /// Used by the leader only.
    conn: Mutex<rusqlite::Connection>,
    queue: Mutex<Queue>,
}

impl std::fmt::Debug for SqliteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteWriter").finish_non_exhaustive()
    }
}

struct Queue {
    waiting: VecDeque<Arc<Waiter>>,
    /// Whether a caller leads (applies what is waiting) now.
    leading: bool,
}

struct Waiter {
    change: Box<dyn Change>,
    slot: Mutex<Slot>,
    changed: Condvar,
}

enum Slot {
    Waiting,
    /// Handed the lead.
    Lead,
    /// Committed, or failed.
    Done(Result<Applied>),
}

impl Waiter {
    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, slot: Slot) {
        *self.slot() = slot;
        self.changed.notify_one();
    }
}

impl SqliteWriter {
    /// Opens the writer connection on the SQLite file at `path` (created by
    /// the pool already), with the pool's settings. Nothing is read until
    /// the first change.
    pub(crate) fn open(path: &std::path::Path) -> Result<SqliteWriter> {
        use rusqlite::OpenFlags;
        let open = || -> rusqlite::Result<rusqlite::Connection> {
            let conn = rusqlite::Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            // As the pool's connections (db.rs): a commit is synced, and
            // waits up to 10 s for another writer (the admin API, events,
            // cron) to finish.
            conn.busy_timeout(SQLITE_BUSY_TIMEOUT)?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", true)?;
            // A commit that crosses the autocheckpoint threshold runs the
            // checkpoint there and then, with every change waiting on the
            // leader meanwhile: ten times SQLite's 1,000 pages makes that
            // rare (+7% KV writes, lower p99: performance.md). The pool's
            // connections keep 1,000 and checkpoint when they write.
            conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
            Ok(conn)
        };
        let conn = open().map_err(|e| {
            Error::Startup(format!(
                "failed to open the SQLite writer on {}: {e}",
                path.display()
            ))
        })?;
        Ok(SqliteWriter {
            conn: Mutex::new(conn),
            queue: Mutex::new(Queue {
                waiting: VecDeque::new(),
                leading: false,
            }),
        })
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes `change` and waits until it is committed. Blocks the calling
    /// thread (a script thread, or a blocking one). `None` when `deadline`
    /// passed while the change was still waiting for its turn: it was
    /// withdrawn, not made. Once its transaction has begun, a change is
    /// waited for to its end.
    pub(crate) fn write(
        &self,
        change: Box<dyn Change>,
        deadline: Option<Instant>,
    ) -> Option<Result<Applied>> {
        let me = Arc::new(Waiter {
            change,
            slot: Mutex::new(Slot::Waiting),
            changed: Condvar::new(),
        });
        {
            let mut queue = self.queue();
            queue.waiting.push_back(Arc::clone(&me));
            if !queue.leading {
                queue.leading = true;
                drop(queue);
                return Some(self.lead(&me));
            }
        }
        let mut deadline = deadline;
        let mut slot = me.slot();
        loop {
            match std::mem::replace(&mut *slot, Slot::Waiting) {
                Slot::Done(result) => return Some(result),
                Slot::Lead => {
                    drop(slot);
                    return Some(self.lead(&me));
                }
                Slot::Waiting => {}
            }
            slot = match deadline {
                None => me.changed.wait(slot).unwrap_or_else(|p| p.into_inner()),
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        drop(slot);
                        if self.withdraw(&me) {
                            return None;
                        }
                        // In a transaction already, or handed the lead.
                        deadline = None;
                        me.slot()
                    } else {
                        me.changed
                            .wait_timeout(slot, left)
                            .unwrap_or_else(|p| p.into_inner())
                            .0
                    }
                }
            };
        }
    }

    /// [`write`](Self::write) from async code, with no deadline: on a
    /// blocking thread, as the writer blocks its callers until their commit.
    pub(crate) async fn write_from_async(
        self: &Arc<Self>,
        change: Box<dyn Change>,
    ) -> Result<Applied> {
        let writer = Arc::clone(self);
        tokio::task::spawn_blocking(move || writer.write(change, None))
            .await
            .map_err(|_| Error::Internal("the SQLite writer failed unexpectedly".into()))?
            .ok_or_else(|| Error::Internal("a write without a deadline was withdrawn".into()))?
    }

    /// Takes `me` out of the queue if it is still waiting there (not
    /// handed the lead, not taken into a transaction).
    fn withdraw(&self, me: &Arc<Waiter>) -> bool {
        let mut queue = self.queue();
        if !matches!(*me.slot(), Slot::Waiting) {
            return false;
        }
        match queue.waiting.iter().position(|w| Arc::ptr_eq(w, me)) {
            Some(at) => {
                queue.waiting.remove(at);
                true
            }
            None => false,
        }
    }

    /// Applies what is waiting until `me` is committed, then hands the lead
    /// to the first change that arrived meanwhile (or ends it).
    fn lead(&self, me: &Arc<Waiter>) -> Result<Applied> {
        loop {
            let batch: Vec<Arc<Waiter>> = {
                let mut queue = self.queue();
                let n = queue.waiting.len().min(WRITE_BATCH);
                queue.waiting.drain(..n).collect()
            };
            let mut mine = None;
            for (waiter, result) in batch.iter().zip(self.apply(&batch)) {
                if Arc::ptr_eq(waiter, me) {
                    mine = Some(result);
                } else {
                    waiter.set(Slot::Done(result));
                }
            }
            if let Some(result) = mine {
                let mut queue = self.queue();
                match queue.waiting.front() {
                    Some(next) => next.set(Slot::Lead),
                    None => queue.leading = false,
                }
                return result;
            }
        }
    }

    /// One transaction for `batch`; each change's result.
    fn apply(&self, batch: &[Arc<Waiter>]) -> Vec<Result<Applied>> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let applied =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| transaction(&conn, batch)));
        let failure = match applied {
            Ok(Ok(results)) => {
                for (waiter, result) in batch.iter().zip(&results) {
                    if result.is_ok() {
                        waiter.change.committed();
                    }
                }
                return results;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "the SQLite writer panicked".to_owned(),
        };
        tracing::error!(error = %failure, changes = batch.len(), "could not write to the SQLite file");
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for waiter in batch {
            waiter.change.aborted();
        }
        batch
            .iter()
            .map(|_| Err(Error::Internal(failure.clone())))
            .collect()
    }
}

/// The changes of `batch` in one transaction; each one's result.
fn transaction(
    conn: &rusqlite::Connection,
    batch: &[Arc<Waiter>],
) -> rusqlite::Result<Vec<Result<Applied>>> {
    // IMMEDIATE: the write lock now (waiting for it as the busy timeout
    // says), not at the first write, where a stale snapshot would fail.
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let mut results = Vec::with_capacity(batch.len());
    for waiter in batch {
        results.push(waiter.change.apply(conn)?);
    }
    conn.execute_batch("COMMIT")?;
    Ok(results)
}

/// Whether `e` is a foreign-key violation (the row's app or script was
/// deleted meanwhile).
pub(crate) fn is_foreign_key_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}
