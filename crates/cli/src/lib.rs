//! The client half of the `picloud` binary (contract.md, The CLI and the
//! manifest): `login`, `deploy`, `invoke`, `logs` and the rest talk to a
//! server through its admin API, as the dashboard does.
//!
//! The modules form layers, each using only the ones below it:
//! - `commands/`: one file per command or group;
//! - `deploy/`: the steps of a deploy (the compile check, what the server
//!   has, the plan (pure, unit-tested), applying it, where the routes
//!   answer);
//! - `client.rs`: the HTTP client, where the server and token come from,
//!   and how answers become exit codes; `manifest/`: `picloud.toml`,
//!   parsed and checked before anything reaches the server; `output.rs`:
//!   tables, JSON, and progress on a terminal;
//! - `credentials.rs`: the saved login;
//! - `args.rs`: the commands and their arguments, as clap reads them;
//!   `failure.rs`: the exit codes and the one-line error.
//!
//! Every command takes `--json`. Errors are one line on stderr and an exit
//! code from [`exit`].

mod args;
mod client;
mod commands;
mod credentials;
mod deploy;
mod failure;
pub mod manifest;
mod output;

use std::process::ExitCode;

pub use args::*;
pub use deploy::{Current, CurrentRoute, CurrentScript, CurrentTrigger, Plan, plan};
pub use failure::{Failure, Result, exit};

/// Runs a client command to its exit code. Errors are printed here, as one
/// line on stderr.
pub fn run(command: ClientCommand, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let result = runtime.block_on(async move {
        match command {
            ClientCommand::Login(args) => commands::login(args).await,
            ClientCommand::Logout(common) => commands::logout(common).await,
            ClientCommand::Init(args) => commands::init(args),
            ClientCommand::Deploy(args) => commands::deploy(args).await,
            ClientCommand::Invoke(args) => commands::invoke(args).await,
            ClientCommand::Logs(args) => commands::logs(args).await,
            ClientCommand::Apps(args) => commands::apps(args).await,
            ClientCommand::Scripts(args) => commands::scripts(args).await,
            ClientCommand::Kv(args) => commands::kv(args).await,
            ClientCommand::Secrets(args) => commands::secrets(args).await,
            ClientCommand::Releases(args) => commands::releases(args).await,
            ClientCommand::Rollback(args) => commands::rollback(args).await,
            ClientCommand::Replay(args) => commands::replay(args).await,
            ClientCommand::Version(common) => commands::version(common).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            output::clear_progress();
            // One line, whatever the message holds.
            let line = failure.message.replace(['\n', '\r'], " ");
            eprintln!("error: {line}");
            ExitCode::from(failure.exit)
        }
    }
}
