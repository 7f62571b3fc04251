//! Login throttling in the database, on both backends: refusals grow,
//! reset on success, are per address and per user, are forgotten after a
//! quiet hour, two processes sharing a database count together, and
//! attempts sent at once are counted one after another.

use std::net::IpAddr;

use crate::testing::fresh_postgres_url;
use crate::throttle::{
    FIRST_BACKOFF, FORGET_AFTER, FREE_FAILURES, LoginThrottle, MAX_BACKOFF, backoff,
};
use crate::{Db, DbTarget};
use time::OffsetDateTime;

fn at(seconds: i64) -> OffsetDateTime {
    // 2026-01-01T00:00:00Z plus `seconds`.
    OffsetDateTime::from_unix_timestamp(1_767_225_600 + seconds).unwrap()
}

async fn refusals_grow_reset_on_success_and_are_per_address(db: Db) {
    let t = LoginThrottle::new(db.clone());
    let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "::1".parse().unwrap());
    let start = at(0);
    for _ in 0..FREE_FAILURES {
        assert_eq!(t.attempt("Ann", a, start).await.unwrap(), Ok(None));
        assert_eq!(t.check("ann", a, start).await.unwrap(), Ok(()));
    }
    assert_eq!(
        t.attempt("ann", a, start).await.unwrap(),
        Ok(Some(FIRST_BACKOFF)),
        "this attempt goes on; the ones after it are refused"
    );
    assert_eq!(t.check("ANN", a, start).await.unwrap(), Err(FIRST_BACKOFF));
    assert_eq!(
        t.attempt("ann", a, start).await.unwrap(),
        Err(FIRST_BACKOFF),
        "refused, and not counted"
    );
    assert_eq!(
        t.check("ann", b, start).await.unwrap(),
        Ok(()),
        "other addresses are not refused"
    );
    assert_eq!(
        t.check("bob", a, start).await.unwrap(),
        Ok(()),
        "other users are not refused"
    );
    let mut now = start + FIRST_BACKOFF;
    assert_eq!(
        t.check("ann", a, now).await.unwrap(),
        Ok(()),
        "the refusal ends"
    );
    assert_eq!(
        t.attempt("ann", a, now).await.unwrap(),
        Ok(Some(FIRST_BACKOFF * 2))
    );

    // A second process on the same database counts on from there.
    let other = LoginThrottle::new(db.clone());
    assert_eq!(
        other.attempt("ann", a, now).await.unwrap(),
        Err(FIRST_BACKOFF * 2)
    );
    now += FIRST_BACKOFF * 2;
    assert_eq!(
        other.attempt("ann", a, now).await.unwrap(),
        Ok(Some(FIRST_BACKOFF * 4))
    );
    assert_eq!(
        t.check("ann", a, now).await.unwrap(),
        Err(FIRST_BACKOFF * 4)
    );
    // Each refusal as long as `backoff` says (the statement computes it),
    // up to the cap.
    for failures in FREE_FAILURES + 4..FREE_FAILURES + 40 {
        let Err(wait) = t.check("ann", a, now).await.unwrap() else {
            panic!("refused after {} failures", failures - 1)
        };
        now += wait;
        assert_eq!(
            t.attempt("ann", a, now).await.unwrap(),
            Ok(backoff(failures)),
            "after {failures} failures"
        );
    }
    assert_eq!(
        other.check("ann", a, now).await.unwrap(),
        Err(MAX_BACKOFF),
        "capped"
    );
    other.succeeded("ann", a).await.unwrap();
    assert_eq!(t.check("ann", a, now).await.unwrap(), Ok(()));
    assert_eq!(
        t.attempt("ann", a, now).await.unwrap(),
        Ok(None),
        "counting starts again"
    );

    // Old failures are forgotten, and swept when another attempt is counted.
    for _ in 0..FREE_FAILURES - 1 {
        t.attempt("cy", a, now).await.unwrap().unwrap();
    }
    let later = now + FORGET_AFTER;
    assert_eq!(t.attempt("cy", a, later).await.unwrap(), Ok(None));
    let kept: i64 = crate::with_db!(&db, pool => sqlx::query_scalar(
        "SELECT count(*) FROM login_failures").fetch_one(pool).await)
    .unwrap();
    assert_eq!(
        kept, 1,
        "ann's and cy's old entries were swept, cy's new one kept"
    );
}
both_backends!(refusals, refusals_grow_reset_on_success_and_are_per_address);

/// A name too long to be anyone's is throttled like any other, and what is
/// stored for it is bounded (a client cannot store a megabyte per try).
async fn an_overlong_username_is_throttled_and_stored_bounded(db: Db) {
    let t = LoginThrottle::new(db.clone());
    let a: IpAddr = "10.0.0.9".parse().unwrap();
    let long = "x".repeat(1 << 20);
    for _ in 0..FREE_FAILURES {
        assert_eq!(t.attempt(&long, a, at(0)).await.unwrap(), Ok(None));
    }
    assert_eq!(
        t.attempt(&long, a, at(0)).await.unwrap(),
        Ok(Some(FIRST_BACKOFF))
    );
    assert_eq!(t.check(&long, a, at(0)).await.unwrap(), Err(FIRST_BACKOFF));
    let other = format!("{long}y");
    assert_eq!(
        t.check(&other, a, at(0)).await.unwrap(),
        Ok(()),
        "another long name"
    );
    let longest: i64 = match &db {
        Db::Sqlite(pool, _) => {
            sqlx::query_scalar("SELECT MAX(LENGTH(username)) FROM login_failures")
                .fetch_one(pool)
                .await
                .unwrap()
        }
        Db::Postgres(pool) => {
            sqlx::query_scalar("SELECT MAX(LENGTH(username))::BIGINT FROM login_failures")
                .fetch_one(pool)
                .await
                .unwrap()
        }
    };
    assert!(
        longest <= 64 + 7 + 43,
        "{longest} bytes stored for a username"
    );
}
both_backends!(
    overlong,
    an_overlong_username_is_throttled_and_stored_bounded
);

/// Attempts sent at once are counted one after another: only the free
/// failures and the one that starts the refusal go on to their password.
async fn attempts_at_once_are_counted_one_after_another(db: Db) {
    let t = LoginThrottle::new(db);
    let a: IpAddr = "10.0.0.7".parse().unwrap();
    let attempts = (0..20).map(|_| {
        let t = t.clone();
        tokio::spawn(async move { t.attempt("dee", a, at(0)).await.unwrap() })
    });
    let mut answers = Vec::new();
    for attempt in attempts.collect::<Vec<_>>() {
        answers.push(attempt.await.unwrap());
    }
    let went_on = answers.iter().filter(|a| a.is_ok()).count();
    assert_eq!(went_on as u32, FREE_FAILURES + 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .filter(|a| a.is_err())
            .all(|a| *a == Err(FIRST_BACKOFF)),
        "{answers:?}"
    );
}
both_backends!(at_once, attempts_at_once_are_counted_one_after_another);
