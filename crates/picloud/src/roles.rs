//! The `main`s of the split layout's binaries (`picloud-manager`,
//! `picloud-orchestrator`, `picloud-executor`): parse, start the runtime,
//! build the role's server, serve until a signal.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::config::{ExecutorCli, ManagerCli, OrchestratorCli, ServeArgs};
use crate::{ClusterLink, Role, Server};

/// Help and version go to stdout with success; anything else is one clear
/// line naming the setting, exit 2.
pub fn parse_failure(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let text = e.render().to_string();
    eprintln!(
        "{}",
        text.lines().next().unwrap_or("error: invalid arguments")
    );
    ExitCode::from(2)
}

/// The async runtime; `max_scripts` is the most script executions that may
/// run at once (the server's cap; none for the other commands).
pub fn runtime(max_scripts: u32) -> Result<tokio::runtime::Runtime, ExitCode> {
    picloud_executor_core::runtime::builder(max_scripts as usize)
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        })
}

/// Logs as `PICLOUD_LOG` says, builds, listens on `PICLOUD_BIND`, serves
/// until SIGTERM or SIGINT.
pub async fn serve<F>(args: &ServeArgs, what: &str, build: F) -> anyhow::Result<()>
where
    F: AsyncFnOnce(&ServeArgs) -> anyhow::Result<Server>,
{
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .map_err(|e| anyhow::anyhow!("PICLOUD_LOG={:?} is not a valid filter: {e}", args.log))?;
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let server = build(args).await?;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| anyhow::anyhow!("PICLOUD_BIND={}: cannot listen: {e}", args.bind))?;
    tracing::info!(
        address = %listener.local_addr()?,
        version = picloud_shared::version::PRODUCT_VERSION,
        "{what} is listening"
    );
    server.serve(listener, crate::shutdown_signal()).await
}

fn run<F>(args: &ServeArgs, what: &str, build: F) -> ExitCode
where
    F: AsyncFnOnce(&ServeArgs) -> anyhow::Result<Server>,
{
    let runtime = match runtime(args.max_concurrent_executions) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match runtime.block_on(serve(args, what, build)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `picloud-manager`.
pub fn manager_main() -> ExitCode {
    let cli = match ManagerCli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return parse_failure(e),
    };
    let role = Role::Manager(ClusterLink {
        secret: Arc::from(cli.secret.cluster_secret),
        executors: cli.executors.executor_urls,
    });
    run(&cli.serve, "picloud-manager", async |args| {
        crate::build_as(args, role).await
    })
}

/// `picloud-orchestrator`.
pub fn orchestrator_main() -> ExitCode {
    let cli = match OrchestratorCli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return parse_failure(e),
    };
    let role = Role::Orchestrator(ClusterLink {
        secret: Arc::from(cli.secret.cluster_secret),
        executors: cli.executors.executor_urls,
    });
    run(&cli.serve, "picloud-orchestrator", async |args| {
        crate::build_as(args, role).await
    })
}

/// `picloud-executor`.
pub fn executor_main() -> ExitCode {
    let cli = match ExecutorCli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return parse_failure(e),
    };
    let secret: Arc<str> = Arc::from(cli.secret.cluster_secret);
    let manager = cli.manager_url;
    run(&cli.serve, "picloud-executor", async |args| {
        crate::build_executor(args, secret, &manager).await
    })
}
