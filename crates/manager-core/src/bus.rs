//! How processes sharing one PostgreSQL database keep what they cache in
//! agreement: LISTEN/NOTIFY, no polling.
//!
//! The database announces every change to what a process caches itself
//! (triggers of schema step 8, in the writing transaction, so a change is
//! announced when and only when it commits, whoever made it) on
//! [`CHANGES_CHANNEL`]; events added to the queue are announced on
//! [`EVENTS_CHANNEL`]. Each process holds one LISTEN connection for both
//! and hands what arrives to a [`Subscriber`] (the [`crate::Manager`]).
//!
//! A lost connection may have lost announcements with it. The listener
//! reconnects at once; until it has, the subscriber is told its caches are
//! [`Subscriber::untrusted`]; once it listens again, the subscriber reloads
//! everything it caches ([`Subscriber::resync`]) before it trusts them
//! again. An idle process waits on the socket: no timer, no heartbeat.
//!
//! SQLite needs none of this: one process owns an SQLite file.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use picloud_shared::{BoxFuture, ScriptId};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};

use crate::db::Db;
use crate::error::Result;

/// Where the database announces changes to cached state.
pub const CHANGES_CHANNEL: &str = "picloud_changes";
/// Where events added to the queue are announced.
pub use crate::events::EVENTS_CHANNEL;

/// The longest wait between two attempts to reconnect.
const MAX_RECONNECT_WAIT: Duration = Duration::from_secs(30);

/// One announcement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// A script changed: `Some(version)` is its new version, `None` means
    /// it was deleted.
    Script { id: ScriptId, version: Option<i64> },
    /// Routes or domain claims changed.
    Routing,
    /// Triggers changed (cron schedules to look at again).
    Triggers,
    /// Events were added to the queue.
    Events,
}

impl Change {
    /// Reads a notification; `None` for one this build does not know (a
    /// newer node's), which is ignored.
    pub fn parse(channel: &str, payload: &str) -> Option<Change> {
        if channel == EVENTS_CHANNEL {
            return Some(Change::Events);
        }
        if channel != CHANGES_CHANNEL {
            return None;
        }
        let mut words = payload.split(' ');
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some("routing"), None, None, None) => Some(Change::Routing),
            (Some("triggers"), None, None, None) => Some(Change::Triggers),
            (Some("script"), Some(id), Some(what), None) => {
                let id = ScriptId(uuid::Uuid::from_str(id).ok()?);
                let version = match what {
                    "deleted" => None,
                    v => Some(v.parse().ok()?),
                };
                Some(Change::Script { id, version })
            }
            _ => None,
        }
    }
}

/// What a process does with announcements.
pub trait Subscriber: Send + Sync + 'static {
    /// Applies one announcement.
    fn changed(&self, change: Change) -> BoxFuture<'_, ()>;
    /// Announcements may be being lost: stop serving from caches that only
    /// announcements keep true.
    fn untrusted(&self);
    /// Listening again after a loss: reload everything cached, then trust it.
    fn resync(&self) -> BoxFuture<'_, ()>;
}

/// Starts listening on `db` (PostgreSQL; nothing to do on SQLite) for
/// `subscriber`, until the process ends. The first connection is made
/// before this returns, so a database that refuses LISTEN fails start-up.
/// The connection is named `application_name` in `pg_stat_activity`.
pub async fn listen(
    db: &Db,
    application_name: &str,
    subscriber: Arc<dyn Subscriber>,
) -> Result<()> {
    let Db::Postgres(pool) = db else {
        return Ok(());
    };
    let pool = listener_pool(pool, application_name);
    let listener = connect(&pool).await?;
    tokio::spawn(run(pool, listener, subscriber));
    Ok(())
}

/// A pool the listener connects through: the database's own settings,
/// under its own name (so it can be told apart from the query pool).
fn listener_pool(pool: &PgPool, application_name: &str) -> PgPool {
    let options = (*pool.connect_options())
        .clone()
        .application_name(application_name);
    PgPoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with(options)
}

async fn connect(pool: &PgPool) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen_all([CHANGES_CHANNEL, EVENTS_CHANNEL])
        .await?;
    Ok(listener)
}

async fn run(pool: PgPool, mut listener: PgListener, subscriber: Arc<dyn Subscriber>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) => {
                if let Some(change) = Change::parse(n.channel(), n.payload()) {
                    subscriber.changed(change).await;
                }
            }
            // Lost (`None`: sqlx would reconnect on the next call, which
            // then waits for a notification, so the reload could not come
            // after the LISTEN): what was announced meanwhile is unknown.
            // Caches are bypassed until a new connection listens, and
            // reloaded only then, so nothing announced after the reload
            // goes unheard.
            lost => {
                subscriber.untrusted();
                let why = lost
                    .err()
                    .map_or_else(|| "closed".to_owned(), |e| e.to_string());
                tracing::warn!(error = %why, "lost the LISTEN connection to PostgreSQL; caches are bypassed until it is back");
                // Its connection goes back to the one-connection pool first.
                drop(listener);
                listener = reconnect(&pool).await;
                tracing::info!("listening to PostgreSQL again; reloading caches");
                subscriber.resync().await;
            }
        }
    }
}

/// Connects again, waiting longer after each failure (the process is not
/// idle: it is cut off from its database).
async fn reconnect(pool: &PgPool) -> PgListener {
    let mut wait = Duration::from_millis(100);
    loop {
        tokio::time::sleep(wait).await;
        match connect(pool).await {
            Ok(listener) => return listener,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?wait, "reconnecting the LISTEN connection failed");
                wait = (wait * 2).min(MAX_RECONNECT_WAIT);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_parse_and_unknown_ones_are_ignored() {
        let id = ScriptId::new();
        assert_eq!(
            Change::parse(CHANGES_CHANNEL, &format!("script {id} 7")),
            Some(Change::Script {
                id,
                version: Some(7)
            })
        );
        assert_eq!(
            Change::parse(CHANGES_CHANNEL, &format!("script {id} deleted")),
            Some(Change::Script { id, version: None })
        );
        assert_eq!(
            Change::parse(CHANGES_CHANNEL, "routing"),
            Some(Change::Routing)
        );
        assert_eq!(
            Change::parse(CHANGES_CHANNEL, "triggers"),
            Some(Change::Triggers)
        );
        assert_eq!(Change::parse(EVENTS_CHANNEL, ""), Some(Change::Events));
        for unknown in [
            "",
            "routing now",
            "script",
            "script nope 1",
            &format!("script {id}"),
            &format!("script {id} x"),
            &format!("script {id} 1 2"),
            "secrets",
        ] {
            assert_eq!(Change::parse(CHANGES_CHANNEL, unknown), None, "{unknown:?}");
        }
        assert_eq!(Change::parse("elsewhere", "routing"), None);
    }
}
