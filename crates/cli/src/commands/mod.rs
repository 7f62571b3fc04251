//! Every client command: login, logout, init, deploy, invoke, logs, apps,
//! scripts, kv, secrets, releases, rollback, replay, version (docs/cli.md),
//! one file per command or group. `deploy.rs` runs the steps that
//! `crate::deploy` holds.

mod apps;
mod deploy;
mod init;
mod invoke;
mod kv;
mod login;
mod logs;
mod releases;
mod secrets;
mod version;

pub use apps::{apps, scripts};
pub use deploy::deploy;
pub use init::init;
pub use invoke::invoke;
pub use kv::kv;
pub use login::{login, logout};
pub use logs::logs;
pub use releases::{releases, replay, rollback};
pub use secrets::secrets;
pub use version::version;

use std::path::Path;

use crate::args::{AppChoice, DEFAULT_APP};
use crate::failure::{Failure, Result};
use crate::manifest::FILE_NAME;

/// The app a command acts on: `--app`, else the app of `--dir`'s
/// `picloud.toml` (as `spin` and `wrangler` read theirs), else `default`.
pub(crate) fn app_of(choice: &AppChoice) -> Result<String> {
    if let Some(app) = &choice.app {
        return Ok(app.clone());
    }
    if !choice.dir.join(FILE_NAME).exists() && choice.dir == Path::new(".") {
        return Ok(DEFAULT_APP.to_owned());
    }
    // A --dir given without a manifest in it is a mistake, said as deploy says it.
    crate::manifest::Manifest::load(&choice.dir)
        .map(|m| m.app)
        .map_err(|e| Failure::error(e.0))
}

fn io_error(what: impl std::fmt::Display, e: std::io::Error) -> Failure {
    Failure::error(format!("{what}: {e}"))
}
