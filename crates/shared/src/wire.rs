//! The wire: what the split layout's processes send each other over HTTP
//! (`picloud-manager`, `picloud-orchestrator`, `picloud-executor`), for the
//! seams that cross a process there (`ExecutorClient`, and the executor's
//! `KvService`, `SecretService` and `ScriptResolver`). JSON bodies, versioned by
//! [`WIRE_VERSION`]: a golden test (`tests/wire.rs`) pins the format, and
//! changing it is a wire version bump (docs/versioning.md).
//!
//! Every call carries the cluster secret (`Authorization: Bearer …`) and
//! the caller's wire version ([`WIRE_HEADER`]); a call without the secret
//! is refused with 401, one of another wire version with 409, before
//! anything is done.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kv::{KvListOptions, KvPage};
use crate::{
    AppId, ExecOutcome, ExecutionId, Invocation, RequestId, Script, ScriptId, version::WIRE_VERSION,
};

/// The header naming the caller's wire version.
pub const WIRE_HEADER: &str = "picloud-wire";

/// The path prefix of wire calls: `/wire/{WIRE_VERSION}`.
pub fn prefix() -> String {
    format!("/wire/{WIRE_VERSION}")
}

/// `POST /wire/{v}/execute` (to an executor): run one script once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecuteCall {
    pub execution_id: ExecutionId,
    pub request_id: RequestId,
    pub script_id: ScriptId,
    pub version: i64,
    /// The script itself, unless the caller believes the executor has this
    /// version already (then it answers [`ExecuteReply::NeedScript`] if it
    /// does not).
    pub script: Option<Script>,
    pub invocation: Invocation,
    /// The execution's grant (see [`crate::ExecRequest::grant`]).
    pub grant: String,
    /// See [`crate::ExecRequest::dry_run`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
}

/// The executor's answer to an [`ExecuteCall`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ExecuteReply {
    Done {
        outcome: Box<ExecOutcome>,
    },
    /// The executor does not have this version: send it again with the
    /// script.
    NeedScript,
}

/// What an executor tells the manager about the execution a service call
/// is made for. `app_id` and `depth` are believed only as far as `grant`
/// (signed by whoever sent the execution) says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCx {
    pub app_id: AppId,
    pub script_id: ScriptId,
    pub execution_id: ExecutionId,
    pub request_id: RequestId,
    pub depth: u32,
    pub grant: String,
}

/// `POST /wire/{v}/kv` (to the manager): one KV operation of a script.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KvCall {
    pub cx: CallCx,
    pub collection: String,
    #[serde(flatten)]
    pub op: KvOp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum KvOp {
    Get { key: String },
    Set { key: String, value: Value },
    Has { key: String },
    Delete { key: String },
    List { options: KvListOptions },
}

/// The manager's answer to a [`KvCall`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", content = "value", rename_all = "snake_case")]
pub enum KvReply {
    Value(Option<Value>),
    Done,
    Bool(bool),
    Page(KvPage),
}

/// `POST /wire/{v}/secret` (to the manager): the value of a secret of the
/// call's app, for `secrets::get`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecretCall {
    pub cx: CallCx,
    pub name: String,
}

/// The manager's answer to a [`SecretCall`]: `null` when the app has no
/// secret of that name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecretReply {
    pub value: Option<String>,
}

/// `POST /wire/{v}/resolve` (to the manager): the current version of a
/// script of the call's app, for `invoke`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolveCall {
    pub cx: CallCx,
    pub name: String,
    /// The version the executor has, if any: the script is not sent again
    /// when it is still current.
    pub have: Option<(ScriptId, i64)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", content = "script", rename_all = "snake_case")]
pub enum ResolveReply {
    Missing,
    /// The version named in `have` is current.
    Same,
    Script(Box<Script>),
}

/// A refused or failed wire call: the HTTP status says which, the body
/// says why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    /// `unauthorized`, `wire_version`, `invalid` (a script's input the
    /// service refused: the message is for the script), `forbidden` (a
    /// grant that does not hold), `bad_request` or `backend`.
    pub code: String,
    pub message: String,
}
