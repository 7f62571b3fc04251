//! The execution-record writer: records leave the request path through a
//! bounded channel and are written in batches by one background task, with
//! a retention bound per script. It waits on the channel; a short gather
//! timer runs only while records are pending, so an idle writer never wakes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use picloud_shared::{ExecutionRecord, ExecutionSink};
use tokio::sync::{mpsc, oneshot};

use crate::db::Db;

/// Records waiting to be written; past this, new ones are dropped (and
/// counted in the log) rather than slowing requests down.
pub const QUEUE_CAPACITY: usize = 10_000;
/// Records written in one transaction at most.
pub const BATCH_SIZE: usize = 512;

enum Msg {
    Record(Box<ExecutionRecord>),
    Flush(oneshot::Sender<()>),
}

/// The sending side; cheap to clone.
#[derive(Clone)]
pub struct ExecutionWriter {
    tx: mpsc::Sender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl ExecutionWriter {
    /// Starts the writer task. `keep` is the number of records kept per script.
    pub fn spawn(db: Db, keep: u32) -> ExecutionWriter {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run(db, keep, rx));
        ExecutionWriter {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Waits until every record queued before this call is written.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

impl ExecutionSink for ExecutionWriter {
    fn record(&self, record: ExecutionRecord) {
        if self.tx.try_send(Msg::Record(Box::new(record))).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // Log the 1st, 2nd, 4th, 8th, ... drop: visible, never a flood.
            if n.is_power_of_two() {
                tracing::warn!(
                    dropped = n,
                    "execution records are arriving faster than they can be written; dropping some"
                );
            }
        }
    }
}

/// How long the writer gathers records after the first one arrives before it
/// writes them (group commit): one transaction for many records instead of
/// one each under load. Only armed while records are pending; an idle writer
/// waits on the channel alone.
pub const GATHER: std::time::Duration = std::time::Duration::from_millis(20);

async fn run(db: Db, keep: u32, mut rx: mpsc::Receiver<Msg>) {
    let mut batch: Vec<ExecutionRecord> = Vec::with_capacity(BATCH_SIZE);
    let mut flushes = Vec::new();
    while let Some(first) = rx.recv().await {
        let deadline = tokio::time::Instant::now() + GATHER;
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Record(r) => batch.push(*r),
                // A flush is answered as soon as what came before it is written.
                Msg::Flush(done) => {
                    flushes.push(done);
                    break;
                }
            }
            if batch.len() >= BATCH_SIZE {
                break;
            }
            next = match rx.try_recv() {
                Ok(msg) => Some(msg),
                Err(mpsc::error::TryRecvError::Empty) => {
                    tokio::time::timeout_at(deadline, rx.recv())
                        .await
                        .ok()
                        .flatten()
                }
                Err(mpsc::error::TryRecvError::Disconnected) => None,
            };
        }
        if !batch.is_empty() {
            write(&db, &batch, keep).await;
            batch.clear();
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn write(db: &Db, batch: &[ExecutionRecord], keep: u32) {
    // Records of deleted scripts are skipped by the statement itself, so a
    // failure here is the database's (unreachable, full): say how many
    // records it cost, once, rather than retrying row by row.
    if let Err(e) = db.insert_executions(batch, keep).await {
        tracing::error!(error = %e, dropped = batch.len(), "could not write execution records");
    }
}
