//! `picloud deploy`: make the server match `picloud.toml` (docs/manifest.md).
//!
//! 1. Read and check the manifest and every script file (nothing is sent).
//! 2. Compile every script with the server's own compiler
//!    (`LocalExecutor`, the `ScriptCompiler` the manager uses, with the
//!    built-in ceilings): one broken file stops the deploy before the
//!    server is changed.
//! 3. Read the app's scripts, routes, domains and triggers, and compute a
//!    [`Plan`] ([`plan`](fn@plan), pure, unit-tested): what to create, update,
//!    delete, leave alone.
//! 4. Print it; `--dry-run` stops here.
//! 5. Apply it, creations and updates of scripts first, deletions before
//!    the creations that could collide with them.
//!
//! `compile.rs` is step 2, `fetch.rs` (what the server has) and `plan.rs`
//! step 3, `apply.rs` step 5, `endpoints.rs` where the deployed routes
//! answer. The command, `commands/deploy.rs`, runs the steps in order and
//! prints; nothing here knows of it.

mod apply;
mod compile;
mod endpoints;
mod fetch;
mod plan;
#[cfg(test)]
mod tests;

pub(crate) use apply::{apply, with_message};
pub(crate) use compile::compile_check;
pub(crate) use endpoints::{endpoints, print_endpoints};
pub(crate) use fetch::fetch;
pub use plan::{Current, CurrentRoute, CurrentScript, CurrentTrigger, Plan, plan};
