//! The event dispatcher: takes due events from the durable queue and runs
//! their handler scripts, under the same concurrency cap and sandbox as
//! HTTP executions, and settles each one (delivered, retried, or
//! dead-lettered by the queue).
//!
//! Events take at most half the execution slots (at least one), so a flood
//! of events cannot starve HTTP traffic. Idle, the dispatcher waits on the
//! queue's change signal and, when a retry is pending, sleeps until it is
//! due: no polling.

use std::sync::Arc;
use std::time::Duration;

use picloud_shared::events::MAX_EVENT_DEPTH;
use picloud_shared::{
    Delivery, EventKind, EventQueue, ExecRequest, ExecStatus, ExecutionId, ExecutionRecord,
    Invocation, PendingEvent, RequestId,
};
use time::OffsetDateTime;
use tokio::sync::{Notify, Semaphore};

use crate::Orchestrator;

impl Orchestrator {
    /// Execution slots events may hold at once.
    pub fn event_share(&self) -> usize {
        (self.config.max_concurrent / 2).max(1)
    }

    /// Starts the dispatcher on `queue`; it runs until the process ends.
    pub fn spawn_dispatcher(self: &Arc<Self>, queue: Arc<dyn EventQueue>) {
        tokio::spawn(dispatch(Arc::clone(self), queue));
    }

    /// Runs one event's handler and says how it went.
    pub async fn deliver(self: &Arc<Self>, ev: &PendingEvent) -> Delivery {
        if ev.depth > MAX_EVENT_DEPTH {
            return Delivery::Failed(format!(
                "the trigger chain is deeper than {MAX_EVENT_DEPTH} handlers: cut off"
            ));
        }
        let script = match self.resolver.resolve(ev.script_id).await {
            Ok(Some(script)) => script,
            Ok(None) => return Delivery::Failed("the handler script is gone".into()),
            Err(e) => return Delivery::Failed(e.to_string()),
        };
        // Wait for a slot (events are never refused with 503).
        let Ok(_permit) = self.permits.acquire().await else {
            return Delivery::Failed("the server is shutting down".into());
        };
        let exec = ExecRequest {
            execution_id: ExecutionId::new(),
            request_id: RequestId::new(),
            script: Arc::clone(&script),
            invocation: match ev.kind {
                EventKind::Cron => Invocation::Scheduled {
                    event: ev.event.clone(),
                },
                EventKind::Kv | EventKind::DeadLetter => Invocation::Trigger {
                    event: ev.event.clone(),
                    depth: ev.depth,
                },
            },
            grant: None,
            dry_run: false,
        };
        let invocation_type = exec.invocation.invocation_type();
        let (execution_id, request_id) = (exec.execution_id, exec.request_id);
        let mut outcome = match self.executor.execute(exec).await {
            Ok(outcome) => outcome,
            Err(e) => return Delivery::Failed(e.to_string()),
        };
        for call in std::mem::take(&mut outcome.calls) {
            self.sink.record(call).await;
        }
        let error = outcome.error.as_ref().map(|e| e.describe());
        self.sink
            .record(ExecutionRecord {
                id: execution_id,
                app_id: script.app_id,
                script_id: script.id,
                request_id,
                invocation_type,
                status: outcome.status,
                status_code: None,
                started_at: outcome.started_at,
                duration_ms: outcome.duration.as_secs_f64() * 1000.0,
                error: error.clone(),
                logs: outcome.logs,
                event: Some(ev.event.clone()),
                outbound: outcome.outbound,
                script_version: Some(script.version),
                operations: Some(outcome.operations),
                cpu_ms: Some(outcome.cpu.as_secs_f64() * 1000.0),
                request: None,
                replay_of: None,
                dry_run: false,
            })
            .await;
        match outcome.status {
            ExecStatus::Ok => Delivery::Delivered,
            _ => Delivery::Failed(error.unwrap_or_else(|| "the handler failed".into())),
        }
    }
}

async fn dispatch(orch: Arc<Orchestrator>, queue: Arc<dyn EventQueue>) {
    let share = Arc::new(Semaphore::new(orch.event_share()));
    // Woken when a delivery ends (a slot is free, and the next event of its
    // key may be claimable now).
    let ended = Arc::new(Notify::new());
    loop {
        let free = share.available_permits();
        if free > 0 {
            match queue.claim_due(free).await {
                Ok(events) if !events.is_empty() => {
                    for ev in events {
                        let Ok(slot) = Arc::clone(&share).acquire_owned().await else {
                            return;
                        };
                        let (orch, queue, ended) =
                            (Arc::clone(&orch), Arc::clone(&queue), Arc::clone(&ended));
                        tokio::spawn(async move {
                            let outcome = orch.deliver(&ev).await;
                            if let Err(e) = queue.settle(&ev, outcome).await {
                                tracing::error!(error = %e, seq = ev.seq,
                                    "could not settle an event; it is retried when its claim lapses");
                            }
                            drop(slot);
                            ended.notify_one();
                        });
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "could not claim events; trying again in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        let next = if free > 0 {
            queue.next_due().await.ok().flatten()
        } else {
            None
        };
        let due = async {
            match next {
                Some(at) => {
                    let wait = (at - OffsetDateTime::now_utc()).max(time::Duration::ZERO);
                    tokio::time::sleep(wait.unsigned_abs()).await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = queue.changed() => {}
            () = ended.notified() => {}
            () = due => {}
        }
    }
}
