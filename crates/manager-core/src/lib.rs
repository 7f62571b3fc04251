//! PiCloud's manager: the control plane. Storage (SQLite or PostgreSQL),
//! admin authentication, scripts and their execution records, and the admin
//! API as an axum `Router`.
//!
//! Architecture Invariant: the manager is the only service that writes to
//! the database. The data plane reads scripts through the `ScriptResolver`
//! seam ([`service::Resolver`]) and hands records to the `ExecutionSink`
//! seam ([`executions::ExecutionWriter`]).

pub mod api;
mod app_ref;
mod audit;
mod auth;
mod authz;
pub mod bus;
pub mod cache;
mod cron;
pub mod db;
mod dialect;
pub mod error;
mod events;
pub mod executions;
mod extract;
pub mod history;
mod kv;
mod members;
pub mod openapi;
mod releases;
pub mod replay;
mod repo;
mod routes;
pub mod secrets;
pub mod service;
mod sqlite_writer;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;
pub mod throttle;
mod usage;

pub use app_ref::AppRef;
pub use cache::{DataCache, Resolver};
pub(crate) use db::with_db;
pub use db::{Db, DbTarget, schema_version};
pub use error::{Error, Result};
pub use events::EventStore;
pub use executions::ExecutionWriter;
pub use kv::KvStore;
/// The records the manager answers with (its queries stay private).
pub use repo::{
    ApiToken, App, DEFAULT_APP_ID, Domain, ExecutionFilter, Route, ScriptStats, User, UserRole,
};
pub use secrets::{SecretKey, SecretStore};
pub use service::{Manager, ManagerConfig};
