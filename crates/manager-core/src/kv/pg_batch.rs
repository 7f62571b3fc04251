//! PostgreSQL: KV reads and sets in batches.
//!
//! One key per statement costs PostgreSQL a round trip, a statement's
//! start-up and, for a write, a commit; at a few thousand keys a second
//! that overhead is most of the database's and PiCloud's CPU
//! (docs/performance.md). Here the reads and the sets that arrive while a
//! batch is under way wait for the next one: a batch of reads is one
//! `SELECT` over the keys, a batch of sets one statement (one commit) that
//! writes every row and queues the events their triggers fire. A lone
//! request goes at once, as before; under load batches grow by themselves.
//!
//! Semantics are those of one statement per key:
//! - a set is answered after its commit, and a `get` that follows it reads
//!   it;
//! - the n-th set of a key in a batch goes in the n-th statement, so writes
//!   to one key land, and fire events, in the order they arrived;
//! - rows are written in key order, so two batches (of this process or
//!   another) cannot deadlock on each other's rows;
//! - a batch PostgreSQL refuses (a deleted app, a NUL character, a
//!   deadlock with an app's deletion) wrote nothing; its sets (or reads)
//!   are then made one by one, so each fails or succeeds alone, as before;
//! - a request whose caller stopped waiting (its execution's deadline) is
//!   dropped before its batch is sent: made in full or not at all.
//!
//! The tasks wait on their channels: nothing runs while no request comes.

use std::future::Future;
use std::sync::Arc;

use serde_json::Value;
use sqlx::postgres::PgPool;
use sqlx::types::Json;
use time::OffsetDateTime;
use tokio::sync::{Notify, Semaphore, mpsc, oneshot};

use super::write::{WriteOp, gone_app};
use crate::error::{Error, Result};
use crate::events::{KvWrite, set_kv_postgres};
use picloud_shared::AppId;

/// Most requests in one batch.
const MAX_BATCH: usize = 256;
/// A batch takes no more requests once their keys and values reach this
/// many bytes (values are up to 1 MiB each): one statement stays small.
const BATCH_BYTES: usize = 1 << 20;
/// Batches of one kind under way at once: one being answered while the
/// next gathers, and a second connection for when PostgreSQL has cores to
/// spare.
const IN_FLIGHT: usize = 2;

/// A stored value and its last write time.
pub(super) type Item = (Value, OffsetDateTime);

struct Read {
    app: AppId,
    collection: String,
    key: String,
    reply: oneshot::Sender<Result<Option<Item>>>,
}

struct Set {
    op: WriteOp,
    reply: oneshot::Sender<Result<()>>,
}

/// The two queues; the tasks end when this is dropped.
pub(super) struct PgBatch {
    reads: mpsc::UnboundedSender<Read>,
    sets: mpsc::UnboundedSender<Set>,
}

impl PgBatch {
    /// Starts the tasks (on the current runtime). `events` is woken when
    /// a set fired events.
    pub(super) fn start(pool: PgPool, events: Arc<Notify>) -> PgBatch {
        let readers = pool.clone();
        PgBatch {
            reads: spawn(
                move |batch| read_batch(readers.clone(), batch),
                |r: &Read| r.collection.len() + r.key.len(),
            ),
            sets: spawn(
                move |batch| set_batch(pool.clone(), Arc::clone(&events), batch),
                |s: &Set| s.op.size(),
            ),
        }
    }

    /// The value of `key` (checked by the caller) and its write time.
    pub(super) async fn read(
        &self,
        app: AppId,
        collection: &str,
        key: &str,
    ) -> Result<Option<Item>> {
        let (reply, answer) = oneshot::channel();
        let read = Read {
            app,
            collection: collection.to_owned(),
            key: key.to_owned(),
            reply,
        };
        self.reads.send(read).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Makes the set `op` (checked), answering once it is committed.
    pub(super) async fn set(&self, op: WriteOp) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.sets.send(Set { op, reply }).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> Error {
    Error::Internal("the KV store's PostgreSQL queue stopped".into())
}

/// A task that takes requests from its channel in batches of up to
/// [`MAX_BATCH`] requests (or about [`BATCH_BYTES`], as `weigh` counts them)
/// and runs `run` on each, [`IN_FLIGHT`] at a time.
fn spawn<R, F, Fut>(run: F, weigh: fn(&R) -> usize) -> mpsc::UnboundedSender<R>
where
    R: Send + 'static,
    F: Fn(Vec<R>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<R>();
    tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        while let Some(first) = rx.recv().await {
            // Wait for a slot first: what arrives meanwhile joins the batch.
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                return;
            };
            let mut bytes = weigh(&first);
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH && bytes < BATCH_BYTES {
                match rx.try_recv() {
                    Ok(more) => {
                        bytes += weigh(&more);
                        batch.push(more);
                    }
                    Err(_) => break,
                }
            }
            let work = run(batch);
            tokio::spawn(async move {
                work.await;
                drop(slot);
            });
        }
    });
    tx
}

async fn read_batch(pool: PgPool, mut batch: Vec<Read>) {
    batch.retain(|r| !r.reply.is_closed());
    if batch.is_empty() {
        return;
    }
    match fetch(&pool, &batch).await {
        Ok(items) => {
            for (read, item) in batch.into_iter().zip(items) {
                let _ = read.reply.send(Ok(item));
            }
        }
        // Refused by PostgreSQL (a key it cannot take, such as one with a
        // NUL character): each alone, so only that one fails.
        Err(sqlx::Error::Database(_)) => {
            for read in batch {
                let item = fetch(&pool, std::slice::from_ref(&read)).await;
                let _ = read
                    .reply
                    .send(item.map(|mut one| one.pop().flatten()).map_err(Error::from));
            }
        }
        Err(e) => answer_all(batch.into_iter().map(|r| r.reply), &e),
    }
}

/// What is stored for each of `reads`, in their order, in one statement.
async fn fetch(pool: &PgPool, reads: &[Read]) -> sqlx::Result<Vec<Option<Item>>> {
    const SQL: &str = "SELECT i.ord, k.value, k.updated_at \
                       FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY \
                       AS i(app_id, collection, key, ord) \
                       JOIN kv k ON k.app_id = i.app_id \
                       AND k.collection = i.collection COLLATE \"C\" \
                       AND k.key = i.key COLLATE \"C\"";
    let rows: Vec<(i64, Json<Value>, OffsetDateTime)> = sqlx::query_as(SQL)
        .bind(reads.iter().map(|r| r.app.0).collect::<Vec<_>>())
        .bind(
            reads
                .iter()
                .map(|r| r.collection.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(reads.iter().map(|r| r.key.as_str()).collect::<Vec<_>>())
        .fetch_all(pool)
        .await?;
    let mut found: Vec<Option<Item>> = reads.iter().map(|_| None).collect();
    for (ord, Json(value), at) in rows {
        // WITH ORDINALITY counts from 1.
        if let Some(slot) = usize::try_from(ord - 1).ok().and_then(|i| found.get_mut(i)) {
            *slot = Some((value, at));
        }
    }
    Ok(found)
}

async fn set_batch(pool: PgPool, events: Arc<Notify>, mut batch: Vec<Set>) {
    batch.retain(|s| !s.reply.is_closed());
    // Key order (stable: a key's sets keep their order).
    batch.sort_by(|a, b| a.op.id().cmp(&b.op.id()));
    for statement in by_occurrence(batch) {
        let writes: Vec<KvWrite<'_>> = statement.iter().map(|s| s.op.event()).collect();
        match set_kv_postgres(&pool, &writes).await {
            Ok(fired) => {
                if fired > 0 {
                    events.notify_one();
                }
                for set in statement {
                    let _ = set.reply.send(Ok(()));
                }
            }
            // Refused by PostgreSQL, so nothing was written: each alone.
            Err(sqlx::Error::Database(_)) => {
                for set in statement {
                    let result = set_kv_postgres(&pool, &[set.op.event()]).await;
                    if matches!(result, Ok(fired) if fired > 0) {
                        events.notify_one();
                    }
                    let _ = set.reply.send(result.map(drop).map_err(gone_app));
                }
            }
            // The connection failed: whether it committed is unknown, as
            // for a write of its own.
            Err(e) => answer_all(statement.into_iter().map(|s| s.reply), &e),
        }
    }
}

/// Splits sets sorted by key into statements where no key is twice: the
/// n-th set of a key goes into the n-th.
fn by_occurrence(sorted: Vec<Set>) -> Vec<Vec<Set>> {
    let mut statements: Vec<Vec<Set>> = Vec::new();
    // Where the set before went: the last of that statement.
    let mut nth = 0;
    for set in sorted {
        nth = match statements.get(nth).and_then(|s| s.last()) {
            Some(before) if before.op.id() == set.op.id() => nth + 1,
            _ => 0,
        };
        if statements.len() == nth {
            statements.push(Vec::new());
        }
        statements[nth].push(set);
    }
    statements
}

fn answer_all<T>(replies: impl Iterator<Item = oneshot::Sender<Result<T>>>, e: &sqlx::Error) {
    tracing::error!(error = %e, "a batch of KV calls failed on PostgreSQL");
    for reply in replies {
        let _ = reply.send(Err(Error::Internal(format!(
            "the KV store's PostgreSQL failed: {e}"
        ))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::write::WriteKind;

    fn set(app: AppId, key: &str, n: u32) -> Set {
        Set {
            op: WriteOp {
                app,
                collection: "c".into(),
                key: key.into(),
                kind: WriteKind::Set(n.to_string()),
                at: OffsetDateTime::UNIX_EPOCH,
                depth: n,
            },
            reply: oneshot::channel().0,
        }
    }

    #[tokio::test]
    async fn batches_stop_at_their_count_or_their_bytes() {
        let (done, mut batches) = mpsc::unbounded_channel::<Vec<usize>>();
        let queue = spawn(
            move |batch: Vec<usize>| {
                let done = done.clone();
                async move { done.send(batch).unwrap() }
            },
            |bytes| *bytes,
        );
        // All queued before the task first looks (one thread): 300 small
        // requests, then 5 of 300 KiB.
        for _ in 0..300 {
            queue.send(1).unwrap();
        }
        for _ in 0..5 {
            queue.send(300 << 10).unwrap();
        }
        let mut sizes = Vec::new();
        let mut seen = 0;
        while seen < 305 {
            let batch = batches.recv().await.unwrap();
            seen += batch.len();
            sizes.push(batch.len());
        }
        // 256 by count; then 44 small ones and 4 large (over 1 MiB); then
        // the last one.
        assert_eq!(sizes, vec![256, 48, 1]);
    }

    #[test]
    fn no_statement_holds_a_key_twice_and_each_keeps_its_order() {
        let (x, y) = (
            AppId(uuid::Uuid::from_u128(1)),
            AppId(uuid::Uuid::from_u128(2)),
        );
        // Sorted by key, as set_batch sorts them; n tells them apart.
        let sorted = vec![
            set(x, "a", 0),
            set(x, "a", 1),
            set(x, "a", 2),
            set(x, "b", 3),
            set(y, "a", 4),
            set(y, "a", 5),
        ];
        let statements: Vec<Vec<(AppId, String, u32)>> = by_occurrence(sorted)
            .into_iter()
            .map(|s| {
                s.into_iter()
                    .map(|s| (s.op.app, s.op.key, s.op.depth))
                    .collect()
            })
            .collect();
        let k = |app, key: &str, n| (app, key.to_owned(), n);
        assert_eq!(
            statements,
            vec![
                vec![k(x, "a", 0), k(x, "b", 3), k(y, "a", 4)],
                vec![k(x, "a", 1), k(y, "a", 5)],
                vec![k(x, "a", 2)],
            ]
        );
    }
}
