//! Switches on `cfg(picloud_postgres)` when the PostgreSQL tests can run
//! here (see `postgres_for_tests.rs`), so that they are reported as ignored,
//! not as passed, on a machine without PostgreSQL.

include!("postgres_for_tests.rs");

fn main() {
    postgres_cfg();
}
