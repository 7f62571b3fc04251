//! SQLite's KV writer: group commit on the writers' own threads.
//!
//! Every write is answered once the transaction holding it has committed
//! (`synchronous = FULL`: synced to the write-ahead log), and writes that
//! arrive while a commit is under way share the next one (one sync for
//! many writes). Nothing runs in between: the first writer to find no
//! commit under way leads, applying every write waiting (its own among
//! them) in one transaction on the one writer connection, answering each,
//! and handing the lead to the first write that arrived meanwhile; the
//! others sleep until answered or handed the lead. A write costs its
//! thread one sleep and one wake-up, with no task, channel or driver
//! thread in between (through sqlx every statement went to the
//! connection's worker thread and back: docs/performance.md).
//!
//! Idle, no thread waits on anything here.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use picloud_shared::AppId;
use time::OffsetDateTime;
use tokio::sync::Notify;

use super::Watched;
use crate::error::{Error, Result};
use crate::events::{KvWrite, fire_kv_sqlite};
use crate::repo;

/// Writes in one transaction at most.
const WRITE_BATCH: usize = 512;

const UPSERT: &str = "INSERT INTO kv (app_id, collection, key, value, updated_at) \
                      VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (app_id, collection, key) \
                      DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
const DELETE: &str = "DELETE FROM kv WHERE app_id = ?1 AND collection = ?2 AND key = ?3";

pub(super) enum WriteKind {
    /// The value's JSON.
    Set(String),
    Delete,
}

/// One write, checked.
pub(super) struct WriteOp {
    pub app: AppId,
    pub collection: String,
    pub key: String,
    pub kind: WriteKind,
    pub at: OffsetDateTime,
    /// The writer's trigger depth.
    pub depth: u32,
}

impl WriteOp {
    /// The write as the events it fires see it.
    pub fn event(&self) -> KvWrite<'_> {
        KvWrite {
            app: self.app,
            collection: &self.collection,
            key: &self.key,
            value: match &self.kind {
                WriteKind::Set(json) => Some(json),
                WriteKind::Delete => None,
            },
            at: self.at,
            depth: self.depth,
        }
    }
}

/// The writer connection and the writes waiting for it.
pub(super) struct Writer {
    /// Used by the leader only.
    conn: Mutex<rusqlite::Connection>,
    queue: Mutex<Queue>,
    watched: Arc<Watched>,
    /// Woken when a commit fired events.
    events: Arc<Notify>,
}

struct Queue {
    waiting: VecDeque<Arc<Waiter>>,
    /// Whether a writer leads (applies what is waiting) now.
    leading: bool,
}

struct Waiter {
    op: WriteOp,
    slot: Mutex<Slot>,
    changed: Condvar,
}

enum Slot {
    Waiting,
    /// Handed the lead.
    Lead,
    /// Committed (`true`: a delete removed a key), or failed.
    Done(Result<bool>),
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

impl Writer {
    /// Opens the writer connection on the SQLite file at `path` (created and
    /// migrated by the pool already), with the pool's settings.
    pub(super) fn open(
        path: &std::path::Path,
        watched: Arc<Watched>,
        events: Arc<Notify>,
    ) -> Result<Writer> {
        use rusqlite::OpenFlags;
        let open = || -> rusqlite::Result<rusqlite::Connection> {
            let conn = rusqlite::Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            // As the pool's connections (db.rs): a commit is synced, and
            // waits up to 10 s for another writer (the execution records'
            // writer, the admin API) to finish.
            conn.busy_timeout(crate::db::SQLITE_BUSY_TIMEOUT)?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", true)?;
            // A commit that crosses the autocheckpoint threshold runs the
            // checkpoint there and then, with every write waiting on the
            // leader meanwhile. The pool's connections (the execution
            // records' writer) keep SQLite's 1,000 pages and so normally
            // checkpoint first; this one steps in only if the write-ahead
            // log grows ten times that (+7-20% KV writes: performance.md).
            conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
            Ok(conn)
        };
        let conn = open().map_err(|e| {
            Error::Startup(format!(
                "failed to open the KV writer on {}: {e}",
                path.display()
            ))
        })?;
        Ok(Writer {
            conn: Mutex::new(conn),
            queue: Mutex::new(Queue {
                waiting: VecDeque::new(),
                leading: false,
            }),
            watched,
            events,
        })
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes `op` and waits until it is committed: `true` when a delete
    /// removed a key. Blocks the calling thread (a script thread, or a
    /// blocking one). `None` when `deadline` passed while the write was
    /// still waiting for its turn: it was withdrawn, not made. Once its
    /// transaction has begun, a write is waited for to its end.
    pub(super) fn write(&self, op: WriteOp, deadline: Option<Instant>) -> Option<Result<bool>> {
        let me = Arc::new(Waiter {
            op,
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
    /// to the first write that arrived meanwhile (or ends it).
    fn lead(&self, me: &Arc<Waiter>) -> Result<bool> {
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

    /// One transaction for `batch`; each write's result.
    fn apply(&self, batch: &[Arc<Waiter>]) -> Vec<Result<bool>> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            apply(&conn, batch, &self.watched)
        }));
        let failure = match applied {
            Ok(Ok((results, fired))) => {
                if fired > 0 {
                    self.events.notify_one();
                }
                return results;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "the KV writer panicked".to_owned(),
        };
        tracing::error!(error = %failure, writes = batch.len(), "could not write to the KV store");
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        batch
            .iter()
            .map(|_| Err(Error::Internal(failure.clone())))
            .collect()
    }
}

/// The writes of `batch` and the events they fire, in one transaction. A
/// write that fails on its own (its app was deleted) fails alone: SQLite
/// undoes just that statement. Returns each write's result and the number
/// of events fired.
fn apply(
    conn: &rusqlite::Connection,
    batch: &[Arc<Waiter>],
    watched: &Watched,
) -> rusqlite::Result<(Vec<Result<bool>>, usize)> {
    // IMMEDIATE: the write lock now (waiting for it as the busy timeout
    // says), not at the first write, where a stale snapshot would fail.
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let mut results = Vec::with_capacity(batch.len());
    let mut fired = 0;
    for waiter in batch {
        let op = &waiter.op;
        let app = op.app.0.as_bytes().as_slice();
        let at = repo::rfc3339(op.at);
        let result = match &op.kind {
            WriteKind::Set(json) => conn
                .prepare_cached(UPSERT)?
                .execute((app, &op.collection, &op.key, json, &at))
                .map(|_| true),
            WriteKind::Delete => conn
                .prepare_cached(DELETE)?
                .execute((app, &op.collection, &op.key))
                .map(|n| n > 0),
        };
        if let Ok(true) = result
            && watched.contains(op.app, &op.collection)
        {
            fired += fire_kv_sqlite(conn, &op.event())?;
        }
        results.push(match result {
            Ok(b) => Ok(b),
            Err(e) if is_foreign_key_violation(&e) => Err(Error::NotFound("app")),
            // Anything else may have ended the transaction: fail the batch.
            Err(e) => return Err(e),
        });
    }
    conn.execute_batch("COMMIT")?;
    Ok((results, fired))
}

fn is_foreign_key_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}
