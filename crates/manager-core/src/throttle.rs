//! Login throttling: repeated failures for one username from one address
//! are refused for a while, with a backoff that doubles on each further
//! failure. Keyed by (username, address), so nobody can lock a user out
//! from every address by failing on purpose from one. A success resets it.
//!
//! Kept in the database (`login_failures`), so every process sharing it
//! refuses the same guesses: spreading them over the nodes of a cluster, or
//! waiting for a restart, gains a guesser nothing. No timer: an entry's
//! expiry is checked when it is next used, and expired entries are deleted
//! when a failure is counted. Times are the wall clock, in milliseconds.

use std::net::IpAddr;
use std::time::Duration;

use time::OffsetDateTime;

use crate::db::Db;
use crate::error::Result;
use crate::with_db;

/// Failures allowed before the first refusal.
pub const FREE_FAILURES: u32 = 5;
/// The first refusal lasts this long; each further failure doubles it.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest refusal.
pub const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// Failures are forgotten this long after the last one.
pub const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);

/// How long the next attempts are refused after `failures` failures in a
/// row, if they are.
pub fn backoff(failures: u32) -> Option<Duration> {
    let over = failures.checked_sub(FREE_FAILURES)?;
    if over == 0 {
        return None;
    }
    Some(
        FIRST_BACKOFF
            .checked_mul(1 << (over - 1).min(20))
            .unwrap_or(MAX_BACKOFF)
            .min(MAX_BACKOFF),
    )
}

/// The statement that checks and counts an attempt. Unless the entry is
/// refused (then it changes nothing and returns no row), it inserts it or
/// counts on (from 1 again after a quiet [`FORGET_AFTER`]), and sets the
/// refusal that [`backoff`] gives the new count, computed in SQL (the
/// tests check it against `backoff` on both backends). Binds: `$1` the
/// username, `$2` the address, `$3` now, `$4` the time before which
/// failures are forgotten (milliseconds).
fn count_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        // backoff(FREE + 1 + k) is FIRST << k below `cap` doublings, MAX
        // from there on.
        let (first, max) = (millis(FIRST_BACKOFF), millis(MAX_BACKOFF));
        let cap = (0..31).find(|k| first << k >= max).unwrap_or(31);
        let count = "(CASE WHEN login_failures.last_failure <= $4 THEN 1 \
                     ELSE login_failures.failures + 1 END)";
        format!(
            "INSERT INTO login_failures (username, addr, failures, last_failure) \
             VALUES ($1, $2, 1, $3) ON CONFLICT (username, addr) DO UPDATE SET \
             failures = {count}, last_failure = $3, blocked_until = CASE \
             WHEN {count} <= {free} THEN NULL \
             WHEN {count} > {free} + {cap} THEN $3 + {max} \
             ELSE $3 + ({first} << ({count} - {free} - 1)) END \
             WHERE login_failures.blocked_until IS NULL \
             OR login_failures.blocked_until <= $3 \
             RETURNING failures",
            free = FREE_FAILURES,
        )
    });
    &SQL
}

/// Failed logins per (username, address), in the database.
#[derive(Clone, Debug)]
pub struct LoginThrottle {
    db: Db,
}

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The username as the table keeps it: lower case, and a name too long to
/// be anyone's (usernames are at most 64 bytes) by its SHA-256, so a
/// client cannot store a megabyte per failed attempt.
fn user_key(username: &str) -> String {
    use base64::Engine as _;
    let lower = username.to_lowercase();
    if lower.len() <= 64 {
        return lower;
    }
    let digest = crate::auth::token_hash(&lower);
    format!(
        "sha256:{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    )
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl LoginThrottle {
    pub fn new(db: Db) -> Self {
        LoginThrottle { db }
    }

    /// `Err(wait)` while this username is refused from this address.
    pub async fn check(
        &self,
        username: &str,
        addr: IpAddr,
        now: OffsetDateTime,
    ) -> Result<std::result::Result<(), Duration>> {
        const SQL: &str =
            "SELECT blocked_until FROM login_failures WHERE username = $1 AND addr = $2";
        let (user, addr) = (user_key(username), addr.to_string());
        let until: Option<Option<i64>> = with_db!(&self.db, pool => sqlx::query_scalar(SQL)
            .bind(&user).bind(&addr).fetch_optional(pool).await)?;
        let now = ms(now);
        Ok(match until.flatten() {
            Some(until) if until > now => Err(Duration::from_millis(
                u64::try_from(until - now).unwrap_or(0),
            )),
            _ => Ok(()),
        })
    }

    /// Counts an attempt as it begins, as a failure until it succeeds
    /// ([`LoginThrottle::succeeded`]): `Err(wait)`, counting nothing, while
    /// this username is refused from this address; else `Ok` with how long
    /// the attempts after this one are refused, if they are.
    ///
    /// Checking and counting are one statement, so attempts sent at once
    /// are counted one after another, and those past the free failures are
    /// refused though none has been answered yet. (Checked first and
    /// counted once the password was found wrong, every attempt sent at
    /// once was checked.)
    pub async fn attempt(
        &self,
        username: &str,
        addr: IpAddr,
        now: OffsetDateTime,
    ) -> Result<std::result::Result<Option<Duration>, Duration>> {
        const SWEEP: &str = "DELETE FROM login_failures WHERE last_failure <= $1";
        let (user, addr_text) = (user_key(username), addr.to_string());
        let at = ms(now);
        let forgotten = at.saturating_sub(millis(FORGET_AFTER));
        let counted: Option<i32> = with_db!(&self.db, pool => sqlx::query_scalar(count_sql())
            .bind(&user).bind(&addr_text).bind(at).bind(forgotten).fetch_optional(pool).await)?;
        let Some(failures) = counted else {
            // Refused (the refusal may have ended since: a moment's wait).
            let wait = self.check(username, addr, now).await?.err();
            return Ok(Err(wait.unwrap_or(Duration::from_millis(1))));
        };
        with_db!(&self.db, pool => sqlx::query(SWEEP).bind(forgotten).execute(pool).await.map(drop))?;
        Ok(Ok(backoff(u32::try_from(failures).unwrap_or(0))))
    }

    /// A successful login forgets the failures.
    pub async fn succeeded(&self, username: &str, addr: IpAddr) -> Result<()> {
        const SQL: &str = "DELETE FROM login_failures WHERE username = $1 AND addr = $2";
        with_db!(&self.db, pool => sqlx::query(SQL)
            .bind(user_key(username)).bind(addr.to_string()).execute(pool).await.map(drop))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_start_after_the_free_failures_double_and_are_capped() {
        for n in 0..=FREE_FAILURES {
            assert_eq!(backoff(n), None, "{n}");
        }
        assert_eq!(backoff(FREE_FAILURES + 1), Some(FIRST_BACKOFF));
        assert_eq!(backoff(FREE_FAILURES + 2), Some(FIRST_BACKOFF * 2));
        assert_eq!(backoff(FREE_FAILURES + 3), Some(FIRST_BACKOFF * 4));
        assert_eq!(backoff(FREE_FAILURES + 40), Some(MAX_BACKOFF));
        assert_eq!(backoff(u32::MAX), Some(MAX_BACKOFF));
    }
}
