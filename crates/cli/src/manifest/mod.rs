//! `picloud.toml`, the project manifest (docs/manifest.md): parsed with
//! unknown keys refused, then checked whole (names, routes, domains,
//! triggers, sandboxes) before `deploy` reaches the server. Every error is
//! one line, `FILE:LINE:COLUMN: key: what is wrong`.
//!
//! This file is the checked manifest's types; `raw.rs` the file as
//! written, `position.rs` where in it an error is, `parse.rs` reading and
//! checking it, `triggers.rs` the checks of a trigger.

mod parse;
mod position;
mod raw;
#[cfg(test)]
mod tests;
mod triggers;

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use picloud_shared::{KvEvent, RecordRequests, SandboxOverrides};

pub const FILE_NAME: &str = "picloud.toml";

/// A checked manifest. Script sources are not read yet ([`Manifest::read_sources`]).
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The manifest's path as the user sees it (for messages).
    pub path: PathBuf,
    /// The folder script files are relative to.
    pub dir: PathBuf,
    pub app: String,
    /// `None`: the manifest says nothing about domains, and deploy leaves
    /// the app's claims alone. `Some`: exactly these (normalised) patterns.
    pub domains: Option<Vec<String>>,
    /// The secrets the app's scripts need (names only: values are never in
    /// a manifest); deploy warns about the ones the server lacks.
    pub secrets: Vec<String>,
    /// Which requests the app keeps for replay; `None`: left as it is.
    pub record_requests: Option<RecordRequests>,
    /// The headers left out of kept requests (lower case); `None`: left
    /// as they are.
    pub redact_headers: Option<Vec<String>>,
    pub scripts: Vec<ScriptSpec>,
    pub triggers: Vec<TriggerSpec>,
    /// Where each key is, for errors found later (a file that cannot be
    /// read, a route taken on the server).
    text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScriptSpec {
    pub name: String,
    /// As written in the manifest, relative to its folder.
    pub file: String,
    /// Filled by [`Manifest::read_sources`].
    pub source: String,
    pub description: String,
    pub sandbox: SandboxOverrides,
    pub routes: Vec<RouteSpec>,
    file_span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// Normalised: a leading `/`, no trailing one.
    pub path: String,
    /// Upper-case, sorted; `None` for any method.
    pub methods: Option<Vec<String>>,
    pub span: Range<usize>,
}

impl RouteSpec {
    /// `GET,POST /users/:id` or `any /users/:id`.
    pub fn describe(&self) -> String {
        match &self.methods {
            Some(m) => format!("{} {}", m.join(","), self.path),
            None => format!("any {}", self.path),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerSpec {
    Kv {
        collection: String,
        /// Sorted, without duplicates.
        events: Vec<KvEvent>,
        script: String,
        max_attempts: u32,
        dead_letter_script: Option<String>,
    },
    Cron {
        schedule: String,
        script: String,
    },
}

impl TriggerSpec {
    pub fn script(&self) -> &str {
        match self {
            TriggerSpec::Kv { script, .. } | TriggerSpec::Cron { script, .. } => script,
        }
    }
}

impl fmt::Display for TriggerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TriggerSpec::Kv {
                collection,
                events,
                script,
                max_attempts,
                dead_letter_script,
            } => {
                write!(
                    f,
                    "kv {collection} [{}] -> {script} (max_attempts {max_attempts}",
                    events
                        .iter()
                        .map(|e| e.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                )?;
                if let Some(d) = dead_letter_script {
                    write!(f, ", dead letters -> {d}")?;
                }
                f.write_str(")")
            }
            TriggerSpec::Cron { schedule, script } => write!(f, "cron {schedule:?} -> {script}"),
        }
    }
}

/// A manifest error, one line: `FILE:LINE:COLUMN: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError(pub String);

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
