//! Settings: every one an environment variable and a matching `serve` flag
//! (contract.md, The process). A bad value stops start-up with one line
//! naming the setting.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use picloud_shared::web::{AdminHost, TrustedProxies};
use picloud_shared::{SandboxCeilings, SandboxLimits};

#[derive(Parser, Debug)]
#[command(
    name = "picloud",
    version,
    about = "PiCloud: turn a Rhai script into an HTTP endpoint"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no subcommand, `picloud` is `picloud serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The client commands parsed on their own, without the server's settings:
/// `picloud deploy` neither reads nor validates `PICLOUD_*` server
/// variables, so a server setting in the shell cannot break it.
#[derive(Parser, Debug)]
#[command(name = "picloud", version)]
pub struct ClientCli {
    #[command(subcommand)]
    pub command: crate::cli::ClientCommand,
}

impl ClientCli {
    /// Whether `arg` (the first argument) names a client command.
    pub fn names_a_command(arg: &str) -> bool {
        <crate::cli::ClientCommand as clap::Subcommand>::has_subcommand(arg)
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (the default).
    Serve(Box<ServeArgs>),
    /// Administer the instance from a shell on the server.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Copy the embedded SQLite database to FILE, consistently, while the
    /// server runs.
    Backup(BackupArgs),
    /// Replace the embedded SQLite database with the backup FILE (the
    /// server must be stopped; the replaced database is kept as
    /// picloud.db.pre-restore).
    Restore(BackupArgs),
    /// The client commands: login, deploy, invoke, logs, ... (docs/cli.md).
    #[command(flatten)]
    Client(crate::cli::ClientCommand),
}

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// The backup file.
    pub file: PathBuf,
    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a user directly in the database. The password is read from
    /// standard input (--password-stdin) or asked for at a prompt; never an argument.
    CreateUser(CreateUserArgs),
    /// Seal every app's secrets again under a new key (docs/secrets.md).
    /// With SQLite and the key file, stop the server first: the file is
    /// replaced. With PICLOUD_SECRETS_KEY, the new key is printed (or read
    /// with --new-key-stdin): set it on every node and restart them.
    RotateSecretsKey(RotateKeyArgs),
}

#[derive(Args, Debug)]
pub struct RotateKeyArgs {
    /// Read the new key (32 bytes in base64) from standard input instead
    /// of generating one.
    #[arg(long)]
    pub new_key_stdin: bool,
    /// The current key, if it lives in the environment rather than in the
    /// key file next to the SQLite database.
    #[arg(
        long,
        env = "PICLOUD_SECRETS_KEY",
        value_name = "PICLOUD_SECRETS_KEY",
        hide_env_values = true,
        value_parser = parse_secrets_key
    )]
    pub secrets_key: Option<picloud_manager_core::SecretKey>,
    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Args, Debug)]
pub struct CreateUserArgs {
    #[arg(long)]
    pub username: String,
    /// `admin` (instance admin) or `member`.
    #[arg(long, default_value = "admin", value_parser = ["admin", "member"])]
    pub role: String,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub storage: StorageArgs,
}

#[derive(Args, Debug, Clone)]
pub struct StorageArgs {
    /// Where the embedded SQLite database lives (created on first start).
    #[arg(
        long,
        env = "PICLOUD_DATA_DIR",
        value_name = "PICLOUD_DATA_DIR",
        default_value = "./picloud-data"
    )]
    pub data_dir: PathBuf,
    /// postgres://... selects PostgreSQL 15+; sqlite://PATH an explicit SQLite file.
    #[arg(
        long,
        env = "DATABASE_URL",
        value_name = "DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Listen address.
    #[arg(
        long,
        env = "PICLOUD_BIND",
        value_name = "PICLOUD_BIND",
        default_value = "0.0.0.0:8080"
    )]
    pub bind: SocketAddr,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// At start, if no user exists, create this instance admin.
    #[arg(long, env = "PICLOUD_ADMIN_USER", value_name = "PICLOUD_ADMIN_USER")]
    pub admin_user: Option<String>,
    /// The password of PICLOUD_ADMIN_USER (prefer the environment variable).
    #[arg(
        long,
        env = "PICLOUD_ADMIN_PASSWORD",
        value_name = "PICLOUD_ADMIN_PASSWORD",
        hide_env_values = true
    )]
    pub admin_password: Option<String>,
    /// Scripts running at once; more answer 503 with Retry-After: 1.
    #[arg(long, env = "PICLOUD_MAX_CONCURRENT_EXECUTIONS", value_name = "PICLOUD_MAX_CONCURRENT_EXECUTIONS",
          default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_concurrent_executions: u32,
    /// Sliding lifetime of an admin session, in hours.
    #[arg(long, env = "PICLOUD_SESSION_TTL_HOURS", value_name = "PICLOUD_SESSION_TTL_HOURS",
          default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=8760))]
    pub session_ttl_hours: u32,
    /// Larger request bodies get 413.
    #[arg(long, env = "PICLOUD_MAX_BODY_BYTES", value_name = "PICLOUD_MAX_BODY_BYTES",
          default_value_t = 1_048_576, value_parser = clap::value_parser!(u32).range(1..=(256 << 20)))]
    pub max_body_bytes: u32,
    /// Larger script sources are refused with 400 source_too_large.
    #[arg(long, env = "PICLOUD_MAX_SCRIPT_BYTES", value_name = "PICLOUD_MAX_SCRIPT_BYTES",
          default_value_t = 262_144, value_parser = clap::value_parser!(u32).range(1..=(1 << 20)))]
    pub max_script_bytes: u32,
    /// The public URL, shown in /version; https makes the session cookie Secure.
    #[arg(long, env = "PICLOUD_PUBLIC_BASE_URL", value_name = "PICLOUD_PUBLIC_BASE_URL", value_parser = parse_base_url)]
    pub public_base_url: Option<String>,
    /// The host name the dashboard and the cookie-authenticated admin API
    /// answer on (e.g. admin.example.com); user routes never answer there.
    /// Unset: the dashboard answers on every host and every script answer
    /// is sandboxed (docs/security.md).
    #[arg(long, env = "PICLOUD_ADMIN_HOST", value_name = "PICLOUD_ADMIN_HOST", value_parser = parse_admin_host)]
    pub admin_host: Option<AdminHost>,
    /// Reverse proxies (addresses or CIDR ranges, comma-separated) whose
    /// X-Forwarded-For / Forwarded headers say who the client is. Unset:
    /// those headers are ignored.
    #[arg(long, env = "PICLOUD_TRUSTED_PROXIES", value_name = "PICLOUD_TRUSTED_PROXIES", value_parser = parse_trusted_proxies)]
    pub trusted_proxies: Option<TrustedProxies>,
    /// Where scripts' http::request may go beyond the public internet:
    /// host names, addresses and CIDR ranges, comma-separated (e.g.
    /// `localhost,10.0.0.0/8`). Unset: loopback, private, link-local and
    /// the other inward ranges are refused (docs/http.md).
    #[arg(long, env = "PICLOUD_HTTP_ALLOW", value_name = "PICLOUD_HTTP_ALLOW", value_parser = parse_http_allow)]
    pub http_allow: Option<picloud_executor_core::outbound::Allow>,
    /// The ports scripts' URLs may name, comma-separated. Unset: any.
    #[arg(
        long,
        env = "PICLOUD_HTTP_PORTS",
        value_name = "PICLOUD_HTTP_PORTS",
        value_delimiter = ','
    )]
    pub http_ports: Vec<u16>,
    /// Outbound HTTP calls one execution (with the scripts it invokes) may make.
    #[arg(long, env = "PICLOUD_HTTP_MAX_CALLS", value_name = "PICLOUD_HTTP_MAX_CALLS",
          default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub http_max_calls: u32,
    /// The largest response body a script's call reads, in bytes.
    #[arg(long, env = "PICLOUD_HTTP_MAX_RESPONSE_BYTES", value_name = "PICLOUD_HTTP_MAX_RESPONSE_BYTES",
          default_value_t = 10 << 20, value_parser = clap::value_parser!(u32).range(1..=268435456))]
    pub http_max_response_bytes: u32,
    /// The key apps' secrets are encrypted with: 32 bytes in base64
    /// (`openssl rand -base64 32`). Default: a key file next to the SQLite
    /// database, created on first start; required with PostgreSQL.
    #[arg(
        long,
        env = "PICLOUD_SECRETS_KEY",
        value_name = "PICLOUD_SECRETS_KEY",
        hide_env_values = true,
        value_parser = parse_secrets_key
    )]
    pub secrets_key: Option<picloud_manager_core::SecretKey>,
    /// A bearer token that may read /metrics from anywhere. Without it,
    /// /metrics answers only requests from this machine (loopback) that no
    /// proxy forwarded.
    #[arg(
        long,
        env = "PICLOUD_METRICS_TOKEN",
        value_name = "PICLOUD_METRICS_TOKEN",
        hide_env_values = true,
        value_parser = parse_metrics_token
    )]
    pub metrics_token: Option<String>,
    /// Headers taken out of the requests every app keeps for replay, besides
    /// Authorization, Proxy-Authorization, Cookie and the app's own list;
    /// comma-separated.
    #[arg(
        long,
        env = "PICLOUD_RECORD_REDACT_HEADERS",
        value_name = "PICLOUD_RECORD_REDACT_HEADERS",
        value_delimiter = ',',
        value_parser = picloud_shared::exec::redacted_header_name
    )]
    pub record_redact_headers: Vec<String>,
    /// A request kept for replay keeps its body up to this many bytes (a
    /// larger one is left out, and the request cannot be replayed).
    #[arg(long, env = "PICLOUD_RECORD_MAX_BODY_BYTES", value_name = "PICLOUD_RECORD_MAX_BODY_BYTES",
          default_value_t = 65_536, value_parser = clap::value_parser!(u32).range(0..=(16 << 20)))]
    pub record_max_body_bytes: u32,
    /// Execution records kept per script (newest first).
    #[arg(long, env = "PICLOUD_EXECUTION_RETENTION", value_name = "PICLOUD_EXECUTION_RETENTION",
          default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub execution_retention: u32,
    /// Saved versions kept per script (the live one always); older ones are
    /// dropped as new ones are saved.
    #[arg(long, env = "PICLOUD_SCRIPT_HISTORY", value_name = "PICLOUD_SCRIPT_HISTORY",
          default_value_t = picloud_manager_core::history::DEFAULT_HISTORY,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub script_history: u32,
    /// The first retry of a failed trigger event waits about this long (ms);
    /// each next one twice as long, up to 5 minutes.
    #[arg(long, env = "PICLOUD_EVENT_RETRY_BASE_MS", value_name = "PICLOUD_EVENT_RETRY_BASE_MS",
          default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=3_600_000))]
    pub event_retry_base_ms: u32,
    /// Open connections at most; more are answered 503 and closed at once.
    /// Lowered to what the open-file limit allows.
    #[arg(long, env = "PICLOUD_MAX_CONNECTIONS", value_name = "PICLOUD_MAX_CONNECTIONS",
          default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// A request's headers must arrive within this many seconds (from the
    /// connection's start for the first request).
    #[arg(long, env = "PICLOUD_HEADER_TIMEOUT_SECS", value_name = "PICLOUD_HEADER_TIMEOUT_SECS",
          default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub header_timeout_secs: u32,
    /// A request body may pause at most this many seconds between reads;
    /// then it is answered 408.
    #[arg(long, env = "PICLOUD_BODY_TIMEOUT_SECS", value_name = "PICLOUD_BODY_TIMEOUT_SECS",
          default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub body_timeout_secs: u32,
    /// An idle keep-alive connection is closed after this many seconds.
    #[arg(long, env = "PICLOUD_KEEPALIVE_TIMEOUT_SECS", value_name = "PICLOUD_KEEPALIVE_TIMEOUT_SECS",
          default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub keepalive_timeout_secs: u32,
    /// On SIGTERM/SIGINT, how long running scripts may take to finish.
    #[arg(long, env = "PICLOUD_SHUTDOWN_TIMEOUT_SECS", value_name = "PICLOUD_SHUTDOWN_TIMEOUT_SECS",
          default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=3600))]
    pub shutdown_timeout_secs: u32,
    /// Tracing filter, e.g. `info` or `picloud=debug,sqlx=warn`.
    #[arg(
        long,
        env = "PICLOUD_LOG",
        value_name = "PICLOUD_LOG",
        default_value = "info"
    )]
    pub log: String,
    #[command(flatten)]
    pub sandbox: SandboxArgs,
}

#[derive(Args, Debug, Clone)]
pub struct SandboxArgs {
    #[arg(long, env = "PICLOUD_SANDBOX_MAX_OPERATIONS", value_name = "PICLOUD_SANDBOX_MAX_OPERATIONS",
          default_value_t = SandboxLimits::DEFAULT_CEILINGS.max_operations,
          value_parser = clap::value_parser!(u64).range(1..=SandboxLimits::MAX_CEILINGS.max_operations))]
    pub sandbox_max_operations: u64,
    #[arg(long, env = "PICLOUD_SANDBOX_MAX_TIMEOUT_MS", value_name = "PICLOUD_SANDBOX_MAX_TIMEOUT_MS",
          default_value_t = SandboxLimits::DEFAULT_CEILINGS.timeout_ms,
          value_parser = clap::value_parser!(u64).range(1..=SandboxLimits::MAX_CEILINGS.timeout_ms))]
    pub sandbox_max_timeout_ms: u64,
    #[arg(long, env = "PICLOUD_SANDBOX_MAX_CALL_LEVELS", value_name = "PICLOUD_SANDBOX_MAX_CALL_LEVELS",
          default_value_t = SandboxLimits::DEFAULT_CEILINGS.max_call_levels,
          value_parser = clap::value_parser!(u64).range(1..=SandboxLimits::MAX_CEILINGS.max_call_levels))]
    pub sandbox_max_call_levels: u64,
    #[arg(long, env = "PICLOUD_SANDBOX_MAX_EXPR_DEPTH", value_name = "PICLOUD_SANDBOX_MAX_EXPR_DEPTH",
          default_value_t = SandboxLimits::DEFAULT_CEILINGS.max_expr_depth,
          value_parser = clap::value_parser!(u64).range(1..=SandboxLimits::MAX_CEILINGS.max_expr_depth))]
    pub sandbox_max_expr_depth: u64,
    #[arg(long, env = "PICLOUD_SANDBOX_MAX_STRING_SIZE", value_name = "PICLOUD_SANDBOX_MAX_STRING_SIZE",
          default_value_t = SandboxLimits::DEFAULT_CEILINGS.max_string_size,
          value_parser = clap::value_parser!(u64).range(1..=SandboxLimits::MAX_CEILINGS.max_string_size))]
    pub sandbox_max_string_size: u64,
    #[arg(long, env = "PICLOUD_SANDBOX_MAX_ARRAY_SIZE", value_name = "PICLOUD_SANDBOX_MAX_ARRAY_SIZE",
          default_value_t = SandboxLimits::DEFAULT_CEILINGS.max_array_size,
          value_parser = clap::value_parser!(u64).range(1..=SandboxLimits::MAX_CEILINGS.max_array_size))]
    pub sandbox_max_array_size: u64,
    #[arg(long, env = "PICLOUD_SANDBOX_MAX_MAP_SIZE", value_name = "PICLOUD_SANDBOX_MAX_MAP_SIZE",
          default_value_t = SandboxLimits::DEFAULT_CEILINGS.max_map_size,
          value_parser = clap::value_parser!(u64).range(1..=SandboxLimits::MAX_CEILINGS.max_map_size))]
    pub sandbox_max_map_size: u64,
}

impl SandboxArgs {
    pub fn ceilings(&self) -> SandboxCeilings {
        SandboxCeilings::new(SandboxLimits {
            max_operations: self.sandbox_max_operations,
            timeout_ms: self.sandbox_max_timeout_ms,
            max_call_levels: self.sandbox_max_call_levels,
            max_expr_depth: self.sandbox_max_expr_depth,
            max_string_size: self.sandbox_max_string_size,
            max_array_size: self.sandbox_max_array_size,
            max_map_size: self.sandbox_max_map_size,
        })
    }
}

fn parse_http_allow(s: &str) -> Result<picloud_executor_core::outbound::Allow, String> {
    picloud_executor_core::outbound::Allow::parse(s)
}

impl ServeArgs {
    /// Scripts' outbound HTTP, as these settings say.
    pub fn outbound(&self) -> picloud_executor_core::outbound::OutboundConfig {
        picloud_executor_core::outbound::OutboundConfig {
            allow: self.http_allow.clone().unwrap_or_default(),
            ports: self.http_ports.clone(),
            max_calls: self.http_max_calls as usize,
            max_response_bytes: self.http_max_response_bytes as usize,
            ..Default::default()
        }
    }
}

fn parse_trusted_proxies(s: &str) -> Result<TrustedProxies, String> {
    TrustedProxies::parse(s)
}

fn parse_secrets_key(s: &str) -> Result<picloud_manager_core::SecretKey, String> {
    picloud_manager_core::SecretKey::parse(s)
}

fn parse_metrics_token(s: &str) -> Result<String, String> {
    if s.len() < 16 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be at least 16 printable characters, without spaces".to_owned());
    }
    Ok(s.to_owned())
}

fn parse_admin_host(s: &str) -> Result<AdminHost, String> {
    AdminHost::parse(s)
}

fn parse_base_url(s: &str) -> Result<String, String> {
    let ok = (s.starts_with("http://") || s.starts_with("https://"))
        && s.len() > "https://".len()
        && !s.contains(char::is_whitespace);
    if ok {
        Ok(s.trim_end_matches('/').to_owned())
    } else {
        Err("must be an http:// or https:// URL".to_owned())
    }
}

impl ServeArgs {
    /// Settings for tests and embedders: defaults, a data dir, port 0.
    pub fn for_data_dir(data_dir: PathBuf) -> Self {
        let cli = Cli::try_parse_from(["picloud"]).expect("defaults parse");
        let mut args = cli.serve;
        args.storage.data_dir = data_dir;
        args.storage.database_url = None;
        args.bind = "127.0.0.1:0".parse().expect("address");
        args.admin_user = None;
        args.admin_password = None;
        args.secrets_key = None;
        args
    }
}

/// The split layout's binaries: each takes the server's settings (those
/// that apply to its role) and the cluster's.
#[derive(Parser, Debug)]
#[command(
    name = "picloud-manager",
    version,
    about = "PiCloud's control plane for the split layout: admin API, dashboard, /metrics, cron and event dispatch (docs/cluster.md)"
)]
pub struct ManagerCli {
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub secret: ClusterSecretArgs,
    #[command(flatten)]
    pub executors: ExecutorUrlsArgs,
}

#[derive(Parser, Debug)]
#[command(
    name = "picloud-orchestrator",
    version,
    about = "PiCloud's data-plane ingress for the split layout: routes requests to scripts run by executors (docs/cluster.md)"
)]
pub struct OrchestratorCli {
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub secret: ClusterSecretArgs,
    #[command(flatten)]
    pub executors: ExecutorUrlsArgs,
}

#[derive(Parser, Debug)]
#[command(
    name = "picloud-executor",
    version,
    about = "PiCloud's script runner for the split layout: no database credentials (docs/cluster.md)"
)]
pub struct ExecutorCli {
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(flatten)]
    pub secret: ClusterSecretArgs,
    /// The manager executors reach for KV and invoke.
    #[arg(long, env = "PICLOUD_MANAGER_URL", value_name = "PICLOUD_MANAGER_URL", value_parser = parse_peer_url)]
    pub manager_url: String,
}

#[derive(Args, Debug, Clone)]
pub struct ClusterSecretArgs {
    /// Shared by every process of a split layout; every wire call carries it.
    #[arg(
        long,
        env = "PICLOUD_CLUSTER_SECRET",
        value_name = "PICLOUD_CLUSTER_SECRET",
        hide_env_values = true,
        value_parser = parse_cluster_secret
    )]
    pub cluster_secret: String,
}

#[derive(Args, Debug, Clone)]
pub struct ExecutorUrlsArgs {
    /// The executors to run scripts on, comma-separated (http://host:port).
    #[arg(
        long,
        env = "PICLOUD_EXECUTOR_URLS",
        value_name = "PICLOUD_EXECUTOR_URLS",
        value_delimiter = ',',
        required = true,
        value_parser = parse_peer_url
    )]
    pub executor_urls: Vec<String>,
}

fn parse_cluster_secret(s: &str) -> Result<String, String> {
    if s.len() < crate::wire::MIN_SECRET_LEN {
        return Err(format!(
            "at least {} characters (e.g. `openssl rand -hex 32`)",
            crate::wire::MIN_SECRET_LEN
        ));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("no spaces or control characters".into());
    }
    Ok(s.to_owned())
}

fn parse_peer_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .ok_or_else(|| format!("{s:?} is not an http:// or https:// URL"))?;
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains(['/', '?', '#', ' ']) {
        return Err(format!("{s:?} is a scheme, host and port, without a path"));
    }
    Ok(s.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};
    use crate::cli::{AppsCommand, ClientCommand};

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn common_options_go_before_or_after_a_nested_command() {
        for args in [
            &["picloud", "apps", "--json", "ls"][..],
            &["picloud", "apps", "ls", "--json"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            let Some(Command::Client(ClientCommand::Apps(apps))) = cli.command else {
                panic!("not apps: {args:?}");
            };
            assert!(apps.common.json, "{args:?}");
            assert!(matches!(apps.command, AppsCommand::Ls));
        }
        // No subcommand is still the server.
        assert!(Cli::try_parse_from(["picloud"]).unwrap().command.is_none());
    }
}
