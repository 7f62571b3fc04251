//! Switches on `cfg(picloud_postgres)` for the PostgreSQL tests, as
//! manager-core's build script does (the rule is in one file, shared).

include!("../manager-core/postgres_for_tests.rs");

fn main() {
    postgres_cfg();
}
