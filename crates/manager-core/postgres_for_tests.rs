// Where the PostgreSQL tests find a server. Shared, with `include!`, by
// `src/testing.rs` (which starts it) and the build scripts of the crates
// that have PostgreSQL tests (which switch on `cfg(picloud_postgres)`
// when one can be found, so that a test that cannot run is reported as
// ignored, never as passed).

/// How the PostgreSQL tests reach a server.
#[allow(dead_code)] // a build script only asks whether there is one
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostgresForTests {
    /// `PICLOUD_TEST_DATABASE_URL`: a server the developer runs.
    Url(String),
    /// PostgreSQL's own programs (`initdb`, `pg_ctl`) in this folder: the
    /// tests start a throwaway server. `run_as` is the account that runs
    /// it when the tests run as root (`initdb` refuses root): its uid and
    /// gid.
    Binaries {
        dir: std::path::PathBuf,
        run_as: Option<(u32, u32)>,
    },
}

/// The variable that names a developer's own server.
pub const TEST_DATABASE_URL: &str = "PICLOUD_TEST_DATABASE_URL";
/// The variable that names the folder of `initdb` and `pg_ctl`.
pub const TEST_POSTGRES_BIN: &str = "PICLOUD_TEST_POSTGRES_BIN";

/// Where a server can be had, or why none can.
pub fn find_postgres_for_tests() -> Result<PostgresForTests, String> {
    if let Some(url) = std::env::var(TEST_DATABASE_URL).ok().filter(|u| !u.is_empty()) {
        return Ok(PostgresForTests::Url(url));
    }
    let (dir, run_as) = find_postgres_programs()?;
    Ok(PostgresForTests::Binaries { dir, run_as })
}

/// PostgreSQL's own programs (`initdb`, `pg_ctl`), for tests that start a
/// server of their own whatever `PICLOUD_TEST_DATABASE_URL` says (one
/// with TLS): their folder, and the account to run them as under root.
#[allow(clippy::type_complexity)]
pub fn find_postgres_programs() -> Result<(std::path::PathBuf, Option<(u32, u32)>), String> {
    let has_tools = |dir: &std::path::Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let dir = match std::env::var_os(TEST_POSTGRES_BIN) {
        Some(dir) => {
            let dir = std::path::PathBuf::from(dir);
            if !has_tools(&dir) {
                return Err(format!("{TEST_POSTGRES_BIN}={} holds no initdb and pg_ctl", dir.display()));
            }
            dir
        }
        None => {
            // PATH first, then Debian's and Ubuntu's versioned folders (the
            // newest), which are not on PATH.
            let on_path = std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
                .unwrap_or_default();
            let mut debian: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| {
                    let major = e.file_name().to_str()?.parse::<u32>().ok()?;
                    Some((major, e.path().join("bin")))
                })
                .collect();
            debian.sort();
            let found = on_path
                .into_iter()
                .chain(debian.into_iter().rev().map(|(_, dir)| dir))
                .find(|dir| has_tools(dir));
            match found {
                Some(dir) => dir,
                None => {
                    return Err(format!(
                        "no PostgreSQL: set {TEST_DATABASE_URL}, or install PostgreSQL's server \
                         programs (Debian: apt-get install postgresql)"
                    ));
                }
            }
        }
    };
    // PostgreSQL refuses to run as root: a root test run starts it as the
    // `postgres` account, which every package of it creates.
    let run_as = if running_as_root() {
        let account = std::fs::read_to_string("/etc/passwd")
            .unwrap_or_default()
            .lines()
            .find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields.len() > 3 && fields[0] == "postgres")
                    .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
                    .flatten()
            });
        match account {
            Some(ids) => Some(ids),
            None => {
                return Err(format!(
                    "the tests run as root, and PostgreSQL does not: there is no `postgres` \
                     account to start it as (set {TEST_DATABASE_URL} instead)"
                ));
            }
        }
    } else {
        None
    };
    Ok((dir, run_as))
}

/// Whether this process runs as root, read from `/proc/self/status` (no
/// `unsafe` call): `Uid:` then the real, effective, saved and fs uids.
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// For build scripts: `cfg(picloud_postgres)` on when a server can be
/// found, or when `CI` is set (CI never skips them: without PostgreSQL they
/// fail), with what makes the answer change.
#[allow(dead_code)]
pub fn postgres_cfg() {
    println!("cargo::rustc-check-cfg=cfg(picloud_postgres)");
    println!("cargo::rustc-check-cfg=cfg(picloud_postgres_programs)");
    for var in [TEST_DATABASE_URL, TEST_POSTGRES_BIN, "PATH", "CI"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    // Installing PostgreSQL changes these (a missing path would make the
    // script rerun at every build, so only those that exist).
    for path in ["/usr/lib/postgresql", "/var/lib/dpkg/status"] {
        if std::path::Path::new(path).exists() {
            println!("cargo::rerun-if-changed={path}");
        }
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    match find_postgres_for_tests() {
        Ok(_) => println!("cargo::rustc-cfg=picloud_postgres"),
        Err(_) if ci => println!("cargo::rustc-cfg=picloud_postgres"),
        Err(why) => println!("cargo::warning=the PostgreSQL tests are ignored: {why}"),
    }
    // The tests that start a server of their own (TLS) need the programs
    // even where a URL names the shared server.
    match find_postgres_programs() {
        Ok(_) => println!("cargo::rustc-cfg=picloud_postgres_programs"),
        Err(_) if ci => println!("cargo::rustc-cfg=picloud_postgres_programs"),
        Err(why) => println!("cargo::warning=the PostgreSQL TLS tests are ignored: {why}"),
    }
}
