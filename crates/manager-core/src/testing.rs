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
            PostgresForTests::Binaries { dir, run_as } => {
                let dir = start_throwaway(&dir, run_as, THROWAWAY_SCRIPT, &[])?;
                Ok(PgConnectOptions::new()
                    .socket(dir)
                    .username("postgres")
                    .database("postgres"))
            }
        })
        .as_ref()
}

/// A throwaway PostgreSQL that speaks TLS on 127.0.0.1, started once per
/// process with PostgreSQL's programs (whatever `PICLOUD_TEST_DATABASE_URL`
/// says: TLS needs a server whose certificate the test knows). Its
/// certificate, made by `openssl` (which Debian's PostgreSQL packages
/// depend on), names `localhost` only, signed by a CA of its own.
#[derive(Debug)]
pub struct TlsPostgres {
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    /// The CA certificate (PEM) that signed the server's.
    pub ca: std::path::PathBuf,
    /// Its Unix socket's folder, for connections without TLS.
    socket: std::path::PathBuf,
}

impl TlsPostgres {
    /// Starts it, or the reason it cannot be.
    pub fn get() -> Result<&'static TlsPostgres, &'static String> {
        static SERVER: OnceLock<Result<TlsPostgres, String>> = OnceLock::new();
        SERVER
            .get_or_init(|| {
                let (bin, run_as) = find_postgres_programs()?;
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .map_err(|e| format!("no free port: {e}"))?
                    .port();
                let dir = start_throwaway(&bin, run_as, THROWAWAY_SCRIPT, &[&port.to_string()])?;
                Ok(TlsPostgres {
                    port,
                    ca: std::path::Path::new(&dir).join("ca.crt"),
                    socket: dir.into(),
                })
            })
            .as_ref()
    }

    /// A new, empty database on it: its name.
    pub async fn fresh_database(&self) -> String {
        let mut admin = PgConnectOptions::new()
            .socket(&self.socket)
            .port(self.port)
            .username("postgres")
            .database("postgres")
            .connect()
            .await
            .expect("connect to the TLS test PostgreSQL over its socket");
        let name = format!("picloud_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        name
    }
}

/// The throwaway server's shell, kept for the life of the process: while
/// its standard input is open it waits; when the process exits the pipe
/// closes, and the shell stops PostgreSQL and deletes its folder.
static THROWAWAY: Mutex<Vec<(Child, ChildStdin)>> = Mutex::new(Vec::new());

/// With a port as `$3`, the server listens with TLS on 127.0.0.1 at that
/// port, with a CA and a server certificate for `localhost` made first;
/// without one, only on its Unix socket.
const THROWAWAY_SCRIPT: &str = r#"
set -eu
bin=$1
dir=$(mktemp -d "$2/picloud-test-pg.XXXXXX")
port=${3:-}
cleanup() { "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
if [ -n "$port" ]; then
  chmod 0755 "$dir"
  cd "$dir"
  ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  if ! { openssl req -x509 $ec -days 2 -subj /CN=picloud-test-ca -keyout ca.key -out ca.crt &&
    openssl req $ec -subj /CN=localhost -keyout server.key -out server.csr &&
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext &&
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.crt; } >openssl.log 2>&1; then
    cat openssl.log >&2; exit 1
  fi
  chmod 0600 server.key ca.key
  chmod 0644 ca.crt
  opts="-p $port -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key -c max_connections=100"
else
  opts="-c listen_addresses= -c max_connections=400 -c synchronous_commit=off -c full_page_writes=off"
fi
if ! "$bin/initdb" -D "$dir/data" -A trust -U postgres -N >"$dir/initdb.log" 2>&1; then
  cat "$dir/initdb.log" >&2; exit 1
fi
if ! "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-k $dir $opts -c fsync=off" start >/dev/null; then
  cat "$dir/server.log" >&2; exit 1
fi
echo "$dir"
read -r _ || true
"#;

/// Runs `script` (bin, parent folder, then `extra`) in the background for
/// the life of the process: the folder it prints, once it is ready.
fn start_throwaway(
    bin: &std::path::Path,
    run_as: Option<(u32, u32)>,
    script: &str,
    extra: &[&str],
) -> Result<String, String> {
    use std::os::unix::process::CommandExt;
    // The account that runs PostgreSQL must be able to write the folder:
    // the shared /tmp when that is another account.
    let parent = match run_as {
        Some(_) => std::path::PathBuf::from("/tmp"),
        None => std::env::temp_dir(),
    };
    let mut command = Command::new("sh");
    command
        .args(["-c", script, "sh"])
        .arg(bin)
        .arg(&parent)
        .args(extra)
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
    let dir = dir.to_owned();
    THROWAWAY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((child, stdin));
    Ok(dir)
}

// ----- past the authorized API -----
//
// Other crates reach the data only through the manager's calls, which
// check the caller's rights. A test sometimes checks what is stored
// underneath; these are its only ways in, and exist only with the
// `testing` feature.

/// The manager's database, for a test's own statements (aging a
/// credential, reading every table).
pub fn database(manager: &crate::Manager) -> &crate::Db {
    &manager.db
}

/// A script as stored, deleted or not.
pub async fn stored_script(
    manager: &crate::Manager,
    id: picloud_shared::ScriptId,
) -> crate::Result<Option<picloud_shared::Script>> {
    manager.db.script_by_id(id).await
}

/// The versions of a script kept in its history, as stored.
pub async fn stored_versions(
    manager: &crate::Manager,
    id: picloud_shared::ScriptId,
) -> crate::Result<Vec<crate::repo::ScriptVersionSummary>> {
    manager.db.script_versions(id).await
}

/// A KV value as stored.
pub async fn stored_value(
    manager: &crate::Manager,
    app: picloud_shared::AppId,
    collection: &str,
    key: &str,
) -> crate::Result<Option<serde_json::Value>> {
    manager.kv.value(app, collection, key).await
}

/// A hash of `password` for [`crate::Manager::begin_bootstrap_admin`]
/// that is made only once `release` sends (or is dropped): for tests of
/// what waits for the first admin.
pub fn held_prehash(password: &str) -> (crate::service::Prehashed, std::sync::mpsc::Sender<()>) {
    let (release, held) = std::sync::mpsc::channel::<()>();
    let password = password.to_owned();
    let hashing = tokio::task::spawn_blocking(move || {
        let _ = held.recv();
        crate::auth::hash_password(&password)
    });
    (crate::service::Prehashed(hashing), release)
}
