//! The `picloud` binary: parses settings and calls into the library.

/// mimalloc: about a quarter more requests per second than glibc's malloc
/// on the hello-world benchmark (threads hand allocations to each other on
/// every request), and it gives memory back (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use clap::Parser;
use picloud::config::{
    AdminCommand, BackupArgs, Cli, ClientCli, Command, CreateUserArgs, ServeArgs,
};
use picloud_manager_core::UserRole;
use picloud_manager_core::{Db, DbTarget};

use picloud::roles::{parse_failure, runtime};

fn main() -> ExitCode {
    // A client command is parsed without the server's settings.
    if std::env::args()
        .nth(1)
        .is_some_and(|a| ClientCli::names_a_command(&a))
    {
        let client = match ClientCli::try_parse() {
            Ok(client) => client,
            Err(e) => return parse_failure(e),
        };
        return match runtime(0) {
            Ok(rt) => picloud::cli::run(client.command, &rt),
            Err(code) => code,
        };
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return parse_failure(e),
    };
    let max_scripts = match &cli.command {
        None => cli.serve.max_concurrent_executions,
        Some(Command::Serve(args)) => args.max_concurrent_executions,
        Some(_) => 0,
    };
    let runtime = match runtime(max_scripts) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = match cli.command {
        Some(Command::Client(command)) => return picloud::cli::run(command, &runtime),
        None => runtime.block_on(serve(cli.serve)),
        Some(Command::Serve(args)) => runtime.block_on(serve(*args)),
        Some(Command::Admin(AdminCommand::CreateUser(args))) => runtime.block_on(create_user(args)),
        Some(Command::Admin(AdminCommand::RotateSecretsKey(args))) => {
            runtime.block_on(rotate_secrets_key(args))
        }
        Some(Command::Backup(args)) => runtime.block_on(backup(args)),
        Some(Command::Restore(args)) => runtime.block_on(restore(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    picloud::roles::serve(&args, "picloud", async |args| picloud::build(args).await).await
}

async fn create_user(args: CreateUserArgs) -> anyhow::Result<()> {
    let password = if args.password_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password (again): ")?;
        anyhow::ensure!(first == again, "the passwords do not match");
        first
    };
    let target =
        DbTarget::from_settings(args.storage.database_url.as_deref(), &args.storage.data_dir)
            .map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?;
    let db = Db::connect(&target).await?;
    db.migrate().await?;
    let role = if args.role == "admin" {
        UserRole::Admin
    } else {
        UserRole::Member
    };
    // The same rules as the API: username and password checks, argon2id.
    let user =
        picloud_manager_core::service::create_user_in(&db, &args.username, &password, role).await?;
    db.close().await;
    println!(
        "created {} user {} ({})",
        role.as_str(),
        user.username,
        user.id
    );
    Ok(())
}

async fn rotate_secrets_key(args: picloud::config::RotateKeyArgs) -> anyhow::Result<()> {
    let done = picloud::keys::rotate(&args).await?;
    match (&done.key_file, &done.new_key) {
        (Some(file), _) if done.finished => println!(
            "finished a rotation that was cut short: the values were sealed under the new key already; {} holds it (back it up with the database)",
            file.display()
        ),
        (Some(file), _) => println!(
            "sealed {} secret(s) under a new key; {} holds it (back it up with the database)",
            done.secrets,
            file.display()
        ),
        (None, Some(key)) if !args.new_key_stdin => {
            eprintln!(
                "sealed {} secret(s) under the new key below: set PICLOUD_SECRETS_KEY to it on every node and restart them",
                done.secrets
            );
            println!("{}", key.encode());
        }
        _ => println!(
            "sealed {} secret(s) under the new key: set PICLOUD_SECRETS_KEY to it on every node and restart them",
            done.secrets
        ),
    }
    Ok(())
}

fn target_of(args: &BackupArgs) -> anyhow::Result<DbTarget> {
    DbTarget::from_settings(args.storage.database_url.as_deref(), &args.storage.data_dir)
        .map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))
}

async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let done = picloud::backup::backup(&target_of(&args)?, &args.file).await?;
    println!(
        "backed up to {} ({} bytes, schema version {})",
        args.file.display(),
        done.bytes,
        done.schema
    );
    Ok(())
}

async fn restore(args: BackupArgs) -> anyhow::Result<()> {
    let target = target_of(&args)?;
    let done = picloud::backup::restore(&target, &args.file).await?;
    println!(
        "restored {} into {} (schema version {}; the next start migrates it if it is older)",
        args.file.display(),
        target.describe(),
        done.schema
    );
    Ok(())
}
