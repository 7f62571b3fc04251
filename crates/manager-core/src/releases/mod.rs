//! Releases: immutable snapshots of an app, its scripts (each at a
//! version), routes, domain claims and triggers, numbered per app. Each
//! names the script versions it holds in `release_scripts`, so the scripts'
//! history keeps them past its bound and past a script's deletion
//! (history.rs). KV data and secrets are not part of a release.

mod diff;
mod rollback;
mod service;
mod store;

use crate::events::TriggerKind;
use picloud_shared::{AppId, DomainId, RouteId, ScriptId, TriggerId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub use diff::{changes, same_state};

/// A script as a release holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleasedScript {
    pub id: ScriptId,
    pub name: String,
    pub version: i64,
}

/// A route as a release holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleasedRoute {
    pub id: RouteId,
    pub script_id: ScriptId,
    pub path: String,
    /// Upper-case methods; null for any method.
    pub methods: Option<Vec<String>>,
}

/// A domain claim as a release holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleasedDomain {
    pub id: DomainId,
    pub pattern: String,
}

/// A trigger as a release holds it (its counters and next tick are not
/// part of it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleasedTrigger {
    pub id: TriggerId,
    pub kind: TriggerKind,
    pub script_id: ScriptId,
    pub collection: Option<String>,
    pub on_set: bool,
    pub on_delete: bool,
    pub max_attempts: i32,
    pub dead_letter_script_id: Option<ScriptId>,
    pub schedule: Option<String>,
}

/// What an app is made of at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Snapshot {
    /// By name.
    pub scripts: Vec<ReleasedScript>,
    /// By path.
    pub routes: Vec<ReleasedRoute>,
    /// By pattern.
    pub domains: Vec<ReleasedDomain>,
    /// Oldest first.
    pub triggers: Vec<ReleasedTrigger>,
}

/// How a release came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseKind {
    /// The admin API or the dashboard.
    Manual,
    /// `picloud deploy`.
    Deploy,
    /// A rollback to an earlier release.
    Rollback,
}

impl ReleaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseKind::Manual => "manual",
            ReleaseKind::Deploy => "deploy",
            ReleaseKind::Rollback => "rollback",
        }
    }

    pub fn parse(text: &str) -> Option<ReleaseKind> {
        match text {
            "manual" => Some(ReleaseKind::Manual),
            "deploy" => Some(ReleaseKind::Deploy),
            "rollback" => Some(ReleaseKind::Rollback),
            _ => None,
        }
    }
}

/// A release.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Release {
    pub id: Uuid,
    pub app_id: AppId,
    /// The app's releases are numbered from 1.
    pub number: i64,
    pub kind: ReleaseKind,
    pub message: String,
    /// The username of who made it.
    pub created_by: String,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
    /// The release a rollback restored.
    pub rollback_of: Option<Uuid>,
    /// What changed since the release before it, in words.
    pub changes: Vec<String>,
    pub snapshot: Snapshot,
}

/// A new release, before it is stored.
pub struct NewRelease<'a> {
    pub app: AppId,
    pub kind: ReleaseKind,
    pub message: &'a str,
    pub created_by: &'a str,
    pub rollback_of: Option<Uuid>,
}

/// What a rollback changed, for the caches.
pub struct RolledBack {
    /// The release that records the rollback.
    pub release: Release,
    /// Scripts given a new version (restored, or brought back).
    pub saved: Vec<ScriptId>,
    /// Scripts deleted (not in the release).
    pub deleted: Vec<ScriptId>,
}

/// The source of a script version a release names, for the compile check
/// before a rollback.
#[derive(Clone, Debug)]
pub struct RestoredSource {
    pub id: ScriptId,
    /// The version it will be saved as.
    pub version: i64,
    pub name: String,
    pub source: String,
    pub sandbox: picloud_shared::SandboxOverrides,
}
