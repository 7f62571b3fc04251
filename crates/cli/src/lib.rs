//! The client half of the `picloud` binary (contract.md, The CLI and the
//! manifest): `login`, `deploy`, `invoke`, `logs` and the rest talk to a
//! server through its admin API, as the dashboard does.
//!
//! - `client.rs`: the HTTP client, where the server and token come from,
//!   the saved login, and how answers become exit codes.
//! - `manifest.rs`: `picloud.toml`, parsed and checked before anything
//!   reaches the server.
//! - `deploy.rs`: the compile check, the plan (pure, unit-tested) and
//!   applying it.
//! - `commands.rs`: every other command.
//! - `output.rs`: tables, JSON, and progress on a terminal.
//!
//! Every command takes `--json`. Errors are one line on stderr and an exit
//! code from [`exit`].

mod client;
mod commands;
mod deploy;
pub mod manifest;
mod output;

use std::process::ExitCode;

use clap::{Args, Subcommand};

pub use deploy::{Current, CurrentRoute, CurrentScript, CurrentTrigger, Plan, plan};

/// Exit codes, the same for every command (docs/cli.md).
pub mod exit {
    /// Done.
    pub const OK: u8 = 0;
    /// The server refused the request (other than for auth), a manifest or
    /// script is wrong, a local file cannot be read or written; also
    /// `invoke` when the script answered 5xx.
    pub const ERROR: u8 = 1;
    /// Bad arguments: clap's own code, kept for ours (a value that is not
    /// JSON, no server to talk to).
    pub const USAGE: u8 = 2;
    /// The server cannot be reached (connection refused, DNS, TLS, timeout).
    pub const UNREACHABLE: u8 = 3;
    /// Not logged in, the token was refused (401) or the account may not do
    /// this (403).
    pub const AUTH: u8 = 4;
}

/// Why a command failed: the one line for stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub exit: u8,
    pub message: String,
}

impl Failure {
    pub fn error(message: impl Into<String>) -> Self {
        Failure {
            exit: exit::ERROR,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            exit: exit::USAGE,
            message: message.into(),
        }
    }

    pub fn unreachable(message: impl Into<String>) -> Self {
        Failure {
            exit: exit::UNREACHABLE,
            message: message.into(),
        }
    }

    pub fn auth(message: impl Into<String>) -> Self {
        Failure {
            exit: exit::AUTH,
            message: message.into(),
        }
    }
}

pub type Result<T, E = Failure> = std::result::Result<T, E>;

/// Options every client command takes. Global, so `picloud apps --json ls`
/// and `picloud apps ls --json` both work.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// The server, e.g. https://picloud.example.com [default: PICLOUD_URL,
    /// then the saved login].
    #[arg(long, env = "PICLOUD_URL", value_name = "URL", global = true)]
    pub url: Option<String>,
    /// Machine-readable output (JSON) on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The client subcommands, flattened into the binary's command list.
#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Log in to a server and save the session for the other commands.
    Login(LoginArgs),
    /// End the saved session on the server and forget it.
    Logout(Common),
    /// Create a starter project: picloud.toml and scripts/hello.rhai.
    Init(InitArgs),
    /// Make the server match picloud.toml (compile-checks every script first).
    Deploy(DeployArgs),
    /// Run a script by name and print its response body.
    Invoke(InvokeArgs),
    /// Show a script's executions and their logs, oldest first.
    Logs(LogsArgs),
    /// List, create and delete apps.
    Apps(AppsArgs),
    /// List scripts.
    Scripts(ScriptsArgs),
    /// Read and write an app's KV store.
    Kv(KvArgs),
    /// Set, list and delete an app's secrets (values are write-only).
    Secrets(SecretsArgs),
    /// List an app's releases, newest first, with what each changed.
    Releases(ReleasesArgs),
    /// Make an app match one of its releases again (default: the one
    /// before the newest).
    Rollback(RollbackArgs),
    /// Run an execution again with the request it was given (the app must
    /// keep requests: `picloud apps record`), as a dry run unless --commit.
    Replay(ReplayArgs),
    /// The client's version and the server's /version.
    Version(Common),
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    #[arg(long)]
    pub username: String,
    /// Read the password from the first line of standard input (also what
    /// happens when standard input is not a terminal).
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub common: Common,
}

/// Which app a command acts on: `--app`, else the app of the `picloud.toml`
/// in `--dir` (the current folder by default), else `default`.
#[derive(Args, Debug, Clone)]
pub struct AppChoice {
    /// The app (id or name) [default: the app of picloud.toml in --dir, or
    /// `default` where there is none].
    #[arg(long, global = true)]
    pub app: Option<String>,
    /// The project folder whose picloud.toml names the app.
    #[arg(long, global = true, default_value = ".")]
    pub dir: std::path::PathBuf,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The folder to create the project in (created if missing).
    #[arg(default_value = ".")]
    pub dir: std::path::PathBuf,
    /// The app [default: `default`, whose routes answer on every host that
    /// no app claims].
    #[arg(long)]
    pub app: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct DeployArgs {
    /// The folder that holds picloud.toml.
    #[arg(long, default_value = ".")]
    pub dir: std::path::PathBuf,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete the app's scripts that the manifest does not list.
    #[arg(long)]
    pub prune: bool,
    /// Kept with the new script versions and the release the deploy makes.
    #[arg(long, short = 'm')]
    pub message: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct InvokeArgs {
    /// The script's name.
    pub name: String,
    #[command(flatten)]
    pub app: AppChoice,
    /// The HTTP method [default: GET, or POST with --data].
    #[arg(long, short = 'X')]
    pub method: Option<String>,
    /// What follows /api/v1/execute/{id}, with a query string if wanted:
    /// `/a/b?x=1` (ctx.request.rest is `a/b`).
    #[arg(long, default_value = "")]
    pub path: String,
    /// A JSON request body, sent as application/json.
    #[arg(long, short = 'd')]
    pub data: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// The script's name.
    pub name: String,
    #[command(flatten)]
    pub app: AppChoice,
    /// How many of the newest executions to show.
    #[arg(long, short = 'n', default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    /// Keep watching and show new executions as they are recorded, until
    /// Ctrl-C.
    #[arg(long, short = 'f')]
    pub follow: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct AppsArgs {
    #[command(subcommand)]
    pub command: AppsCommand,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Subcommand, Debug)]
pub enum AppsCommand {
    /// The apps you have a role in.
    Ls,
    /// Create an app (instance admins).
    Create {
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete an app and everything it owns: scripts, routes, domains,
    /// triggers, KV data, records.
    Rm { name: String },
    /// Which of the app's requests are kept with their execution records,
    /// for `picloud replay`: off (the default), failed or all.
    Record {
        name: String,
        #[arg(value_parser = ["off", "failed", "all"])]
        mode: String,
        /// Headers to leave out of kept requests besides Authorization,
        /// Proxy-Authorization and Cookie (comma-separated; replaces the
        /// app's list).
        #[arg(long, value_delimiter = ',')]
        redact_headers: Option<Vec<String>>,
    },
}

#[derive(Args, Debug)]
pub struct ScriptsArgs {
    #[command(subcommand)]
    pub command: ScriptsCommand,
    #[command(flatten)]
    pub app: AppChoice,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Subcommand, Debug)]
pub enum ScriptsCommand {
    /// An app's scripts, with their versions and run counts.
    Ls,
}

#[derive(Args, Debug)]
pub struct KvArgs {
    #[command(subcommand)]
    pub command: KvCommand,
    #[command(flatten)]
    pub app: AppChoice,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Subcommand, Debug)]
pub enum KvCommand {
    /// Print a key's value (JSON).
    Get { collection: String, key: String },
    /// Set a key to a JSON value: `picloud kv set orders o-1 '{"qty": 2}'`;
    /// a string is `'"text"'`.
    Set {
        collection: String,
        key: String,
        value: String,
    },
    /// Without a collection, the collections; with one, a page of its keys.
    Ls {
        collection: Option<String>,
        /// Only keys that start with this.
        #[arg(long)]
        prefix: Option<String>,
        /// Keys per page (1 to 1000).
        #[arg(long, default_value_t = 100,
              value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        /// The cursor a previous page ended with.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Delete a key.
    Rm { collection: String, key: String },
}

#[derive(Args, Debug)]
pub struct ReleasesArgs {
    #[command(flatten)]
    pub app: AppChoice,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct RollbackArgs {
    /// The release's number or id [default: the one before the newest].
    pub release: Option<String>,
    #[command(flatten)]
    pub app: AppChoice,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The execution's id (`picloud logs` shows them).
    pub execution: String,
    /// Run this version of the script [default: the live one].
    #[arg(long)]
    pub version: Option<i64>,
    /// Act for real: keep the KV writes (and the triggers they fire) and
    /// send the outbound HTTP calls. Without it nothing is changed.
    #[arg(long)]
    pub commit: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Args, Debug)]
pub struct SecretsArgs {
    #[command(subcommand)]
    pub command: SecretsCommand,
    #[command(flatten)]
    pub app: AppChoice,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Subcommand, Debug)]
pub enum SecretsCommand {
    /// Set a secret. The value is read from standard input (one trailing
    /// newline dropped), or prompted for without echo on a terminal; never
    /// from an argument, where `ps` and shell history would show it.
    Set { name: String },
    /// The app's secrets: names, when and by whom each was set (never values).
    #[command(alias = "ls")]
    List,
    /// Delete a secret.
    #[command(alias = "rm")]
    Delete { name: String },
}

/// Runs a client command to its exit code. Errors are printed here, as one
/// line on stderr.
pub fn run(command: ClientCommand, runtime: &tokio::runtime::Runtime) -> ExitCode {
    let result = runtime.block_on(async move {
        match command {
            ClientCommand::Login(args) => commands::login(args).await,
            ClientCommand::Logout(common) => commands::logout(common).await,
            ClientCommand::Init(args) => commands::init(args),
            ClientCommand::Deploy(args) => deploy::run(args).await,
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
