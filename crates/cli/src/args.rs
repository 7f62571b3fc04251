//! The client commands and their arguments, as clap reads them.

use clap::{Args, Subcommand};

/// The app every instance has, and the one a command acts on when none is
/// named; its routes answer on every host no app claims.
pub(crate) const DEFAULT_APP: &str = "default";

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
