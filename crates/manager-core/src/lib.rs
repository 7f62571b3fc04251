//! PiCloud's manager: the control plane. Storage (SQLite or PostgreSQL),
//! admin authentication, scripts and their execution records, and the admin
//! API as an axum `Router`.
//!
//! Architecture Invariant: the manager is the only service that writes to
//! the database. The data plane reads scripts through the `ScriptResolver`
//! seam ([`service::Resolver`]) and hands records to the `ExecutionSink`
//! seam ([`executions::ExecutionWriter`]).

pub mod api;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod bus;
pub mod cache;
pub mod cron;
pub mod db;
pub mod error;
pub mod events;
pub mod executions;
pub mod extract;
pub mod history;
pub mod kv;
pub mod members;
pub mod openapi;
pub mod releases;
pub mod replay;
pub mod repo;
pub mod routes;
pub mod secrets;
pub mod service;
mod sqlite_writer;
pub mod testing;
pub mod throttle;
pub mod usage;

pub use cache::{DataCache, Resolver};
pub use db::{Db, DbTarget, schema_version};
pub use error::{Error, Result};
pub use events::EventStore;
pub use executions::ExecutionWriter;
pub use kv::KvStore;
pub use secrets::{SecretKey, SecretStore};
pub use service::{Manager, ManagerConfig};
