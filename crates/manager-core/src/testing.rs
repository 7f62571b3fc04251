//! Helpers for tests that need a real database: a fresh PostgreSQL database
//! per test when `PICLOUD_TEST_DATABASE_URL` is set.
//!
//! Outside CI, PostgreSQL tests are skipped loudly when it is not set; in CI
//! (`CI=true`) they are never skipped: a missing URL fails the test.

use std::str::FromStr;

use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;

/// The variable that switches the PostgreSQL suite on.
pub const TEST_DATABASE_URL: &str = "PICLOUD_TEST_DATABASE_URL";

/// A URL to a new, empty PostgreSQL database, or `None` (with a loud
/// message) when the suite is off.
pub async fn fresh_postgres_url(test: &str) -> Option<String> {
    let Ok(url) = std::env::var(TEST_DATABASE_URL) else {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("{TEST_DATABASE_URL} is not set, and CI never skips the PostgreSQL tests");
        }
        eprintln!(
            "\n*** SKIPPED on PostgreSQL: {test} (set {TEST_DATABASE_URL}=postgres://... to run it) ***\n"
        );
        return None;
    };
    let options =
        PgConnectOptions::from_str(&url).expect("PICLOUD_TEST_DATABASE_URL is a valid URL");
    let mut admin = options
        .connect()
        .await
        .expect("connect to the test PostgreSQL");
    let name = format!("picloud_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    let url = options.database(&name).to_url_lossy().to_string();
    Some(url)
}
