//! The store's suites: the queries, the KV store, the event queue, cron
//! and the login throttle, each body run on SQLite and on PostgreSQL. They
//! live inside the crate because what they test is private to it (no other
//! crate reaches the database but through the manager's authorized calls).

#[macro_use]
mod common;

mod cron;
mod events;
mod kv;
mod migrations;
mod repo;
mod secrets;
mod throttle;
