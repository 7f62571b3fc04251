//! `picloud deploy`: make the server match `picloud.toml` (docs/manifest.md).
//!
//! 1. Read and check the manifest and every script file (nothing is sent).
//! 2. Compile every script with the server's own compiler
//!    (`LocalExecutor`, the `ScriptCompiler` the manager uses, with the
//!    built-in ceilings): one broken file stops the deploy before the
//!    server is changed.
//! 3. Read the app's scripts, routes, domains and triggers, and compute a
//!    [`Plan`] ([`plan`], pure, unit-tested): what to create, update,
//!    delete, leave alone.
//! 4. Print it; `--dry-run` stops here.
//! 5. Apply it, creations and updates of scripts first, deletions before
//!    the creations that could collide with them.
//!
//! `plan.rs` is step 3, `apply.rs` the rest, `endpoints.rs` what is printed
//! at the end.

mod apply;
mod endpoints;
mod plan;
#[cfg(test)]
mod tests;

pub use apply::run;
pub use plan::{Current, CurrentRoute, CurrentScript, CurrentTrigger, Plan, plan};
