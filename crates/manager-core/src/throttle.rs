//! Login throttling: repeated failures for one username from one address
//! are refused for a while, with a backoff that doubles on each further
//! failure. Keyed by (username, address), so nobody can lock a user out
//! from every address by failing on purpose from one. A success resets it.
//!
//! In memory, no timer: an entry's expiry is checked when it is next used,
//! and the map is swept of expired entries only when it grows past a bound.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed before the first refusal.
pub const FREE_FAILURES: u32 = 5;
/// The first refusal lasts this long; each further failure doubles it.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest refusal.
pub const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// Failures are forgotten this long after the last one.
pub const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Entries kept before expired ones are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Debug)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    blocked_until: Option<Instant>,
}

/// Failed logins per (username, address).
#[derive(Debug, Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<(String, IpAddr), Entry>>,
}

fn key(username: &str, addr: IpAddr) -> (String, IpAddr) {
    (username.to_lowercase(), addr)
}

impl LoginThrottle {
    /// `Err(wait)` while this username is refused from this address.
    pub fn check(&self, username: &str, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries
            .get(&key(username, addr))
            .and_then(|e| e.blocked_until)
        {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Counts a failure; returns how long the next attempts are refused,
    /// if they are.
    pub fn failed(&self, username: &str, addr: IpAddr, now: Instant) -> Option<Duration> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= SWEEP_AT {
            entries.retain(|_, e| now.duration_since(e.last_failure) < FORGET_AFTER);
        }
        let entry = entries.entry(key(username, addr)).or_insert(Entry {
            failures: 0,
            last_failure: now,
            blocked_until: None,
        });
        if now.duration_since(entry.last_failure) >= FORGET_AFTER {
            entry.failures = 0;
        }
        entry.failures += 1;
        entry.last_failure = now;
        let over = entry.failures.checked_sub(FREE_FAILURES)?;
        if over == 0 {
            return None;
        }
        let backoff = FIRST_BACKOFF
            .checked_mul(1 << (over - 1).min(20))
            .unwrap_or(MAX_BACKOFF)
            .min(MAX_BACKOFF);
        entry.blocked_until = Some(now + backoff);
        Some(backoff)
    }

    /// A successful login forgets the failures.
    pub fn succeeded(&self, username: &str, addr: IpAddr) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key(username, addr));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_grow_reset_on_success_and_are_per_address() {
        let t = LoginThrottle::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let start = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(t.failed("Ann", a, start), None);
            assert!(t.check("ann", a, start).is_ok());
        }
        assert_eq!(t.failed("ann", a, start), Some(FIRST_BACKOFF));
        assert_eq!(t.check("ANN", a, start), Err(FIRST_BACKOFF));
        assert!(
            t.check("ann", b, start).is_ok(),
            "other addresses are not refused"
        );
        assert!(
            t.check("bob", a, start).is_ok(),
            "other users are not refused"
        );
        let later = start + FIRST_BACKOFF;
        assert!(t.check("ann", a, later).is_ok(), "the refusal ends");
        assert_eq!(t.failed("ann", a, later), Some(FIRST_BACKOFF * 2));
        assert_eq!(t.failed("ann", a, later), Some(FIRST_BACKOFF * 4));
        for _ in 0..40 {
            t.failed("ann", a, later);
        }
        assert_eq!(t.check("ann", a, later), Err(MAX_BACKOFF), "capped");
        t.succeeded("ann", a);
        assert!(t.check("ann", a, later).is_ok());
        assert_eq!(t.failed("ann", a, later), None, "counting starts again");
        // Old failures are forgotten.
        for _ in 0..FREE_FAILURES - 1 {
            t.failed("cy", a, start);
        }
        assert_eq!(t.failed("cy", a, start + FORGET_AFTER), None);
    }
}
