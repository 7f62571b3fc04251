//! The KV store: per-app collections of JSON values (contract.md, "KV"),
//! on both backends, reached by scripts through [`KvService`] and by the
//! admin API through [`Manager`]'s KV view.
//!
//! Every operation takes the app it acts on from its caller's context (the
//! execution's `SdkCallCx`, or the admin's resolved app): nothing a script
//! passes can name another app.
//!
//! Reads go through the pool, concurrently; on SQLite scripts' `get` and
//! `has` read the file on their own thread ([`Readers`]), through an exact
//! in-memory cache of recent keys ([`cache`]). On SQLite writes
//! share commits (`sqlite_writer.rs`, with the execution records): whatever
//! writes wait while one commits share the next transaction (one WAL sync),
//! made on the writers' own threads, so throughput does not collapse into
//! one fsync per write. On PostgreSQL reads and sets go in batches, one
//! statement each ([`pg_batch`]); deletes, listings and the admin's
//! `has` go straight to the pool.
//!
//! `store.rs` is the store, `write.rs` a write as the writers see it,
//! `scripts.rs` the scripts' side and `admin.rs` the admin API's.

mod admin;
mod cache;
mod pg_batch;
mod scripts;
mod store;
mod write;

pub use store::{KvCollection, KvItem, KvStore};
