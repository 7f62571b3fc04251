//! What crosses the seams between PiCloud's services: ids, the `Script` type,
//! sandbox limits, the execution request and outcome, the error enum, version
//! constants and the service traits (`ExecutorClient`, `ScriptResolver`,
//! `ScriptCompiler`, `ExecutionSink`, `KvService`, `SecretService`).
//!
//! Cluster mode swaps the implementations of these traits for remote ones;
//! nothing in this crate may assume the services share a process.

#[cfg(feature = "http")]
pub mod api_error;
#[cfg(feature = "http")]
pub mod body_budget;
#[cfg(feature = "cron")]
pub mod cron;
pub mod error;
pub mod events;
pub mod exec;
pub mod future;
pub mod ids;
pub mod kv;
pub mod returned;
pub mod routing;
pub mod sandbox;
pub mod script;
pub mod secrets;
pub mod serde_formats;
pub mod timestamp;
pub mod traits;
pub mod version;
pub mod web;
pub mod wire;

pub use error::{Error, Result};
pub use events::{Delivery, EventKind, EventQueue, KvEvent, PendingEvent};
pub use exec::{
    ExecOutcome, ExecRequest, ExecStatus, ExecutionRecord, HttpRequest, Invocation, InvocationType,
    LogEntry, LogLevel, OutboundCall, OutboundOutcome, RecordRequests, RecordedRequest, Recording,
    RequestBody, ScriptError,
};
pub use future::BoxFuture;
pub use ids::{
    AppId, DeadLetterId, DomainId, ExecutionId, RequestId, RouteId, ScriptId, TriggerId, UserId,
};
pub use kv::{KvEntry, KvListOptions, KvPage, KvService, SdkCallCx};
pub use returned::Returned;
pub use sandbox::{SandboxCeilings, SandboxLimits, SandboxOverrides};
pub use script::{Script, ScriptName};
pub use secrets::SecretService;
pub use traits::{ExecutionSink, ExecutorClient, ScriptCompiler, ScriptResolver};
