//! Helpers for tests that need a real PostgreSQL: a fresh, empty database
//! per test.
//!
//! The server is `PICLOUD_TEST_DATABASE_URL` when it is set; otherwise,
//! when PostgreSQL's programs are on this machine (on `PATH`, in
//! `PICLOUD_TEST_POSTGRES_BIN`, or Debian's `/usr/lib/postgresql/*/bin`),
//! a throwaway server that the first PostgreSQL test of a test binary
//! starts, in a temporary folder, on a Unix socket only. It stops, and its
//! folder is deleted, when the test binary exits, however it exits.
//!
//! With neither, the build scripts of the crates with PostgreSQL tests
//! leave `cfg(picloud_postgres)` off, and those tests are marked
//! `#[cfg_attr(not(picloud_postgres), ignore = ...)]`: cargo reports them
//! as ignored, never as passed. With `CI=true` the cfg is always on, so a
//! CI machine without PostgreSQL fails them instead.

use std::io::BufRead;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;

include!("../postgres_for_tests.rs");

/// A URL to a new, empty PostgreSQL database. Panics, with the reason,
/// when there is no server to create it on: a test that asks for one was
/// compiled because one could be found.
pub async fn fresh_postgres_url(test: &str) -> String {
    let options = match server() {
        Ok(options) => options.clone(),
        Err(why) => panic!("{test}: no PostgreSQL for the tests: {why}"),
    };
    let mut admin = options
        .connect()
        .await
        .unwrap_or_else(|e| panic!("{test}: connect to the test PostgreSQL: {e}"));
    let name = format!("picloud_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    options.database(&name).to_url_lossy().to_string()
}

/// The server's connection options (database `postgres`), found or started
/// once per process.
fn server() -> Result<&'static PgConnectOptions, &'static String> {
    static SERVER: OnceLock<Result<PgConnectOptions, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| match find_postgres_for_tests()? {
            PostgresForTests::Url(url) => PgConnectOptions::from_str(&url)
                .map_err(|e| format!("{TEST_DATABASE_URL} is not a PostgreSQL URL: {e}")),
            PostgresForTests::Binaries { dir, run_as } => start_throwaway(&dir, run_as),
        })
        .as_ref()
}

/// The throwaway server's shell, kept for the life of the process: while
/// its standard input is open it waits; when the process exits the pipe
/// closes, and the shell stops PostgreSQL and deletes its folder.
static THROWAWAY: Mutex<Option<(Child, ChildStdin)>> = Mutex::new(None);

const THROWAWAY_SCRIPT: &str = r#"
set -eu
bin=$1
dir=$(mktemp -d "$2/picloud-test-pg.XXXXXX")
cleanup() { "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
if ! "$bin/initdb" -D "$dir/data" -A trust -U postgres -N >"$dir/initdb.log" 2>&1; then
  cat "$dir/initdb.log" >&2; exit 1
fi
if ! "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-k $dir -c listen_addresses= -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null; then
  cat "$dir/server.log" >&2; exit 1
fi
echo "$dir"
read -r _ || true
"#;

fn start_throwaway(
    bin: &std::path::Path,
    run_as: Option<(u32, u32)>,
) -> Result<PgConnectOptions, String> {
    use std::os::unix::process::CommandExt;
    // The account that runs PostgreSQL must be able to write the folder:
    // the shared /tmp when that is another account.
    let parent = match run_as {
        Some(_) => std::path::PathBuf::from("/tmp"),
        None => std::env::temp_dir(),
    };
    let mut command = Command::new("sh");
    command
        .args(["-c", THROWAWAY_SCRIPT, "sh"])
        .arg(bin)
        .arg(&parent)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some((uid, gid)) = run_as {
        command.uid(uid).gid(gid);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start sh for the throwaway PostgreSQL: {e}"))?;
    let stdin = child.stdin.take().expect("piped");
    let mut line = String::new();
    let read = std::io::BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line);
    let dir = line.trim_end();
    if read.is_err() || dir.is_empty() {
        let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
        return Err(format!(
            "the throwaway PostgreSQL from {} did not start ({status}; its output is above)",
            bin.display()
        ));
    }
    let options = PgConnectOptions::new()
        .socket(dir)
        .username("postgres")
        .database("postgres");
    *THROWAWAY.lock().unwrap_or_else(|e| e.into_inner()) = Some((child, stdin));
    Ok(options)
}
