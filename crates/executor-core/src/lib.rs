//! PiCloud's executor: runs Rhai scripts in a sandbox.
//!
//! Architecture Invariant: this crate never touches a database. What scripts
//! can reach beyond Rhai itself arrives as injected traits from
//! `picloud-shared`.
//!
//! [`LocalExecutor`] implements the `ExecutorClient` and `ScriptCompiler`
//! seams in-process. Compiled ASTs are cached per script version. Quick
//! scripts run on the async runtime's threads when it was built by
//! [`runtime::builder`] (large stacks; they hand the runtime over when they
//! take long), everything else on a pool of large-stack threads (see
//! [`pool`]).

//!
//! The modules form layers; each uses only the ones below it:
//! - executor: [`LocalExecutor`] (local.rs) and the calls an execution
//!   makes with `invoke` (nested.rs);
//! - engine: the hardened Rhai engine, compiling, and error mapping
//!   ([`sandbox`]);
//! - what scripts see: the SDK ([`sdk`]: log, kv, secrets, http, invoke) and
//!   the standard library ([`stdlib`]), with the SSRF guard ([`outbound`])
//!   and the dry-run store (overlay.rs) below them;
//! - per-execution state: the frame (frame.rs: deadline, budget, logs) and
//!   the SDK context (context.rs: services, the call's app, the executor);
//! - plumbing: threads and stacks ([`runtime`], [`pool`], [`deep`]), value
//!   conversion ([`convert`]), string built-ins (strings.rs) and the fixed
//!   limits ([`limits`]).

mod context;
pub mod convert;
pub mod deep;
mod frame;
pub mod limits;
mod local;
mod nested;
pub mod outbound;
mod overlay;
pub mod pool;
pub mod runtime;
pub mod sandbox;
pub mod sdk;
pub mod stdlib;
mod strings;

pub use local::{ExecutorConfig, LocalExecutor};
