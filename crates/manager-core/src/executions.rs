//! The execution-record writer: records leave the request path through a
//! bounded channel and are written in batches by one background task, with
//! a retention bound per script. It waits on the channel; a short gather
//! timer runs only while records are pending, so an idle writer never wakes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use picloud_shared::{BoxFuture, ExecutionRecord, ExecutionSink};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::db::Db;

/// Records waiting to be written; past this, executions wait for room
/// before they answer (records are never dropped for being many).
pub const QUEUE_CAPACITY: usize = 10_000;
/// Records taken into one transaction at most: the whole queue when the
/// writer is behind. Of those, only the newest `keep` per script are written
/// (the rest would be trimmed in the same transaction), so a bigger batch
/// costs the writer less per record, not more.
pub const BATCH_SIZE: usize = QUEUE_CAPACITY;

enum Msg {
    Record(Box<ExecutionRecord>),
    Flush(oneshot::Sender<()>),
}

/// The sending side; cheap to clone.
#[derive(Clone)]
pub struct ExecutionWriter {
    tx: mpsc::Sender<Msg>,
    /// Whether the queue has been full since the writer last caught up.
    behind: Arc<AtomicBool>,
    /// Records the database refused on every try (`dropped`).
    dropped: Arc<AtomicU64>,
    /// Cuts the writer's gathering short: the queue is half full.
    early: Arc<Notify>,
}

impl ExecutionWriter {
    /// Starts the writer task. `keep` is the number of records kept per script.
    pub fn spawn(db: Db, keep: u32) -> ExecutionWriter {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let behind = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let early = Arc::new(Notify::new());
        tokio::spawn(run(
            db,
            keep,
            rx,
            Arc::clone(&behind),
            Arc::clone(&dropped),
            Arc::clone(&early),
        ));
        ExecutionWriter {
            tx,
            behind,
            dropped,
            early,
        }
    }

    /// How many records were lost since start: the database refused their
    /// batch on every try (`picloud_execution_records_dropped_total`).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits until every record queued before this call is written.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).await.is_ok() {
            // Not at the end of the gathering: now.
            self.early.notify_one();
            let _ = rx.await;
        }
    }
}

impl ExecutionSink for ExecutionWriter {
    fn record(&self, record: ExecutionRecord) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let msg = Msg::Record(Box::new(record));
            let msg = match self.tx.try_send(msg) {
                Ok(()) => {
                    // Half full: write now rather than at the end of the
                    // gathering, so a fast machine's executions never wait
                    // for room while the writer sleeps.
                    if self.tx.capacity() < QUEUE_CAPACITY / 2 {
                        self.early.notify_one();
                    }
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return, // shutting down
                Err(mpsc::error::TrySendError::Full(msg)) => msg,
            };
            // The writer is behind: wait for room (the execution keeps its
            // slot meanwhile, so new ones meet the concurrency cap) rather
            // than lose the record. Said once per stretch of backlog.
            if !self.behind.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "execution records are arriving faster than they can be written; \
                     executions wait for the writer"
                );
            }
            let _ = self.tx.send(msg).await;
        })
    }
}

/// How long the writer gathers records after the first one arrives before it
/// writes them (group commit): one transaction for many records instead of
/// one each under load. Only armed while records are pending; an idle writer
/// waits on the channel alone. While it gathers it sleeps rather than
/// receives, so senders do not wake it record by record; a queue half full
/// wakes it early.
///
/// A batch writes at most the retention bound's worth of records per script
/// (the rest would be trimmed in the same transaction), so under a flood of
/// one script the writer's work per second is the bound divided by this:
/// at 200 ms and the default 1,000, 5,000 records a second, whatever the
/// request rate (at 50 ms it was 20,000, a twentieth of a hello-world's
/// CPU: docs/performance.md). Records show up in the API at most this much
/// later.
pub const GATHER: std::time::Duration = std::time::Duration::from_millis(200);

async fn run(
    db: Db,
    keep: u32,
    mut rx: mpsc::Receiver<Msg>,
    behind: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
    early: Arc<Notify>,
) {
    let mut msgs: Vec<Msg> = Vec::with_capacity(BATCH_SIZE);
    let mut batch: Vec<ExecutionRecord> = Vec::new();
    let mut flushes = Vec::new();
    while let Some(first) = rx.recv().await {
        let flush_first = matches!(first, Msg::Flush(_));
        msgs.push(first);
        // Gather before every write, also when more is already waiting:
        // under steady load the writer then takes bigger batches, of which
        // it writes only what the retention keeps, instead of writing
        // back to back.
        if !flush_first {
            tokio::select! {
                () = tokio::time::sleep(GATHER) => {}
                () = early.notified() => {}
            }
        }
        while msgs.len() < BATCH_SIZE {
            match rx.try_recv() {
                Ok(msg) => msgs.push(msg),
                Err(_) => break,
            }
        }
        // Room for the whole gathering at once: records are large, and
        // growing the batch record by record copied each several times.
        batch.reserve(msgs.len());
        // A flush is answered once what came before it is written.
        for msg in msgs.drain(..) {
            match msg {
                Msg::Record(r) => batch.push(*r),
                Msg::Flush(done) => {
                    if !batch.is_empty() {
                        write(&db, std::mem::take(&mut batch), keep, &dropped).await;
                    }
                    flushes.push(done);
                }
            }
        }
        if !batch.is_empty() {
            write(&db, std::mem::take(&mut batch), keep, &dropped).await;
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
        if rx.is_empty() && behind.swap(false, Ordering::Relaxed) {
            tracing::info!("the execution-record writer has caught up");
        }
    }
}

/// How long the writer waits before each new attempt at a batch the
/// database refused. A second attempt settles the races a batch can lose
/// (on PostgreSQL, a script deleted between the statement's check and its
/// foreign-key check fails the whole statement; the next attempt skips that
/// script's records); the last gives a restarting database a moment. Meanwhile
/// the queue fills and executions wait for room, as under load.
const RETRY_AFTER: [std::time::Duration; 2] = [
    std::time::Duration::from_millis(50),
    std::time::Duration::from_secs(1),
];

async fn write(db: &Db, batch: Vec<ExecutionRecord>, keep: u32, dropped: &AtomicU64) {
    // Records of deleted scripts are skipped by the statement itself. A
    // failed attempt can be redone: on PostgreSQL it wrote nothing, on
    // SQLite the records it wrote are skipped the next time.
    let batch: Arc<[ExecutionRecord]> = batch.into();
    let mut waits = RETRY_AFTER.iter();
    loop {
        let Err(e) = db.insert_executions(Arc::clone(&batch), keep).await else {
            return;
        };
        let Some(wait) = waits.next() else {
            tracing::error!(error = %e, dropped = batch.len(), "could not write execution records");
            dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
            return;
        };
        tracing::warn!(error = %e, records = batch.len(), retry_in = ?wait, "could not write execution records; trying again");
        tokio::time::sleep(*wait).await;
    }
}
