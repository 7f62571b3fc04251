//! Triggers, the event outbox and dead letters (contract.md, "Triggers";
//! docs/events.md).
//!
//! A KV write and the events it fires are written in one transaction
//! ([`fire_kv_sqlite`] / [`set_kv_postgres`], called by the KV store), so an
//! acknowledged write always yields its events and a failed one none.
//! [`EventStore`] is the durable queue the dispatcher (orchestrator) claims
//! events from and settles them into: delivered, retried with backoff, or
//! dead-lettered, with an event for the trigger's dead-letter handler.
//!
//! `triggers.rs` and `dead_letters.rs` are the admin API's side,
//! `outbox.rs` the events a KV write fires, `queue.rs` the queue.

mod dead_letters;
mod outbox;
mod queue;
mod triggers;

use std::time::Duration;

use time::OffsetDateTime;

pub use dead_letters::DeadLetter;
pub use outbox::EVENTS_CHANNEL;
pub(crate) use outbox::{
    KvWrite, delete_kv_postgres, fire_kv_sqlite, notify_postgres, set_kv_postgres,
};
pub use queue::EventStore;
pub use triggers::{NewTrigger, Trigger, TriggerKind};

fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
