//! Events: what a trigger delivers to its handler script, and the queue the
//! dispatcher takes them from.
//!
//! The queue is durable (the manager keeps it in the database, written in the
//! same transaction as the KV write that fired the event); the dispatcher
//! (orchestrator) claims what is due, runs the handler under the concurrency
//! cap, and settles each event: delivered, retried later, or dead-lettered.

use serde_json::Value;
use time::OffsetDateTime;

use crate::{AppId, BoxFuture, Result, ScriptId, TriggerId};

/// Trigger chains deeper than this are cut off: an event whose depth is
/// past it is dead-lettered instead of delivered, so handlers that write to
/// the collections that trigger them cannot loop forever.
pub const MAX_EVENT_DEPTH: u32 = 8;

/// Attempts a KV trigger makes by default, and the range it may ask for.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
pub const MAX_ATTEMPTS_RANGE: std::ops::RangeInclusive<u32> = 1..=20;

/// What a handler is called for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A KV write: `ctx.event.kind == "kv"`.
    Kv,
    /// An event that failed every attempt, for the trigger's dead-letter
    /// handler: `ctx.event.kind == "dead_letter"`.
    DeadLetter,
    /// A cron tick: `ctx.event.kind == "cron"`, invocation type `scheduled`.
    Cron,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Kv => "kv",
            EventKind::DeadLetter => "dead_letter",
            EventKind::Cron => "cron",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "kv" => Some(EventKind::Kv),
            "dead_letter" => Some(EventKind::DeadLetter),
            "cron" => Some(EventKind::Cron),
            _ => None,
        }
    }
}

/// What a KV trigger fires on: a key's value written, or its key deleted.
/// The admin API and the manifest spell them `"set"` and `"delete"`.
// Read through `FromStr` (below), so the admin API and the manifest refuse
// an unknown word with the same message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum KvEvent {
    Set,
    Delete,
}

impl KvEvent {
    /// The event a write fires: `Set` when it leaves a value, else `Delete`.
    pub fn of_write(leaves_value: bool) -> Self {
        if leaves_value {
            KvEvent::Set
        } else {
            KvEvent::Delete
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KvEvent::Set => "set",
            KvEvent::Delete => "delete",
        }
    }

    /// The events a trigger stored as two flags fires on, in order.
    pub fn of_flags(on_set: bool, on_delete: bool) -> Vec<KvEvent> {
        [(KvEvent::Set, on_set), (KvEvent::Delete, on_delete)]
            .into_iter()
            .filter_map(|(e, on)| on.then_some(e))
            .collect()
    }
}

/// A word that is not a [`KvEvent`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an event; use \"set\" and \"delete\"")]
pub struct NotAnEvent(pub String);

impl std::str::FromStr for KvEvent {
    type Err = NotAnEvent;

    fn from_str(s: &str) -> std::result::Result<Self, NotAnEvent> {
        match s {
            "set" => Ok(KvEvent::Set),
            "delete" => Ok(KvEvent::Delete),
            other => Err(NotAnEvent(other.to_owned())),
        }
    }
}

impl<'de> serde::Deserialize<'de> for KvEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let word = std::borrow::Cow::<'de, str>::deserialize(d)?;
        word.parse().map_err(serde::de::Error::custom)
    }
}

/// An event claimed for delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingEvent {
    /// Its place in the queue: events of one key are delivered in this order.
    pub seq: i64,
    pub app_id: AppId,
    pub trigger_id: TriggerId,
    pub kind: EventKind,
    /// The handler.
    pub script_id: ScriptId,
    /// `ctx.event`.
    pub event: Value,
    /// How many trigger hops led here: 1 for an event fired by a request's
    /// write, one more for each handler in between.
    pub depth: u32,
    /// Attempts made before this one.
    pub attempts: u32,
    pub max_attempts: u32,
}

/// How an attempt went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    Failed(String),
}

/// The durable queue of events.
pub trait EventQueue: Send + Sync + 'static {
    /// Claims up to `max` events that are due now: for each key, only its
    /// oldest pending event. A claimed event is not handed out again until
    /// it is settled or its claim lapses (its holder died).
    fn claim_due(&self, max: usize) -> BoxFuture<'_, Result<Vec<PendingEvent>>>;

    /// When the earliest pending event that is not claimed falls due, if any.
    fn next_due(&self) -> BoxFuture<'_, Result<Option<OffsetDateTime>>>;

    /// Records an attempt's outcome: a delivered event is done; a failed one
    /// is retried later with backoff, or after its last attempt becomes a
    /// dead letter (and an event for the trigger's dead-letter handler).
    fn settle<'a>(
        &'a self,
        event: &'a PendingEvent,
        outcome: Delivery,
    ) -> BoxFuture<'a, Result<()>>;

    /// Resolves once events may have been added since the call (in one
    /// process a channel, in a cluster PostgreSQL's LISTEN). Idle, it just
    /// waits.
    fn changed(&self) -> BoxFuture<'_, ()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_events_read_and_write_the_words_of_the_api() {
        for e in [KvEvent::Set, KvEvent::Delete] {
            assert_eq!(e.as_str().parse::<KvEvent>(), Ok(e));
            assert_eq!(
                serde_json::to_value(e).unwrap(),
                serde_json::json!(e.as_str())
            );
        }
        assert_eq!(
            "update".parse::<KvEvent>().unwrap_err().to_string(),
            r#""update" is not an event; use "set" and "delete""#
        );
        assert_eq!(
            serde_json::from_str::<KvEvent>(r#""delete""#).unwrap(),
            KvEvent::Delete
        );
        assert_eq!(
            serde_json::from_str::<KvEvent>(r#""Set""#)
                .unwrap_err()
                .to_string(),
            r#""Set" is not an event; use "set" and "delete""#
        );
        assert_eq!(
            KvEvent::of_flags(true, true),
            [KvEvent::Set, KvEvent::Delete]
        );
        assert_eq!(KvEvent::of_flags(false, true), [KvEvent::Delete]);
        assert_eq!(KvEvent::of_write(false), KvEvent::Delete);
    }
}
