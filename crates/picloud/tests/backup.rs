//! `picloud backup FILE` and `picloud restore FILE` as a user runs them: a
//! backup taken while the server serves (and writes), restored into another
//! data directory, serves the same scripts and data; a restore refuses a
//! running server, a file that is not a PiCloud database, and PostgreSQL.

mod common;
#[path = "support/os.rs"]
mod os;

use picloud_manager_core::testing;
use std::path::Path;
use std::process::{Command, Output};

use common::TestApp;
use os::clean_command;
use reqwest::Method;
use serde_json::json;

fn picloud(args: &[&str], data_dir: &Path) -> Output {
    let mut c = clean_command(env!("CARGO_BIN_EXE_picloud"));
    c.args(args).env("PICLOUD_DATA_DIR", data_dir);
    c.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_whole() {
    let t = TestApp::spawn().await;
    let script = t
        .deploy(
            "counter",
            r#"let c = kv::collection("counts"); let n = (c.get("n") ?? 0) + 1; c.set("n", n); n"#,
        )
        .await;
    let id = script["id"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(t.invoke(&id).await.status, 200);
    }
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("picloud-backup.db");
    let file_arg = file.to_str().unwrap();

    // Taken while the server runs and writes.
    let writes = {
        let (client, url) = (t.client.clone(), t.url(&format!("/api/v1/execute/{id}")));
        tokio::spawn(async move {
            for _ in 0..20 {
                assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
            }
        })
    };
    let out = tokio::task::spawn_blocking({
        let (file, dir) = (file_arg.to_owned(), t.data_dir.path().to_owned());
        move || picloud(&["backup", &file], &dir)
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("backed up to "),
        "{}",
        stdout(&out)
    );
    writes.await.unwrap();

    // A second backup to the same file is refused; the first is intact.
    let again = picloud(&["backup", file_arg], t.data_dir.path());
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("exists already"),
        "{}",
        stderr(&again)
    );

    // Not while the server runs.
    let refused = picloud(&["restore", file_arg], t.data_dir.path());
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("stop the server before a restore"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(t.invoke(&id).await.status, 200, "still serving");

    // Into a fresh data directory: the same script, its data and the admin.
    let fresh = tempfile::tempdir().unwrap();
    let out = picloud(&["restore", file_arg], fresh.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let restored = {
        let mut args = picloud::config::ServeArgs::for_data_dir(fresh.path().to_path_buf());
        args.admin_user = None;
        args
    };
    let server = picloud::build(&restored)
        .await
        .expect("the restored database serves");
    let manager = server.manager.clone().expect("all-in-one has a manager");
    let counted = testing::stored_value(
        &manager,
        picloud_manager_core::DEFAULT_APP_ID,
        "counts",
        "n",
    )
    .await
    .unwrap()
    .expect("the key is there");
    let n = counted.as_i64().unwrap();
    assert!((3..=23).contains(&n), "a snapshot of some moment: {n}");
    let s = testing::stored_script(&manager, id.parse().unwrap())
        .await
        .unwrap()
        .expect("the script is there");
    assert_eq!(s.name.as_str(), "counter");
    assert!(
        manager.user_count().await.unwrap() >= 1,
        "the admin came along"
    );
    drop(manager);
    drop(server);

    // Restoring over a database keeps the one it replaces.
    let out = picloud(&["restore", file_arg], fresh.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(fresh.path().join("picloud.db.pre-restore").exists());
    t.admin(Method::GET, "/scripts", None).await;
}

#[tokio::test]
async fn a_restore_refuses_what_is_not_a_picloud_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database at all, just some text").unwrap();
    let missing = dir.path().join("missing.db");
    for (file, says) in [
        (junk.to_str().unwrap(), "not an SQLite database"),
        (missing.to_str().unwrap(), "is not a file"),
    ] {
        let out = picloud(&["restore", file], &data);
        assert!(!out.status.success(), "{file}");
        assert!(stderr(&out).contains(says), "{file}: {}", stderr(&out));
        assert_eq!(
            stderr(&out).lines().count(),
            1,
            "one line: {}",
            stderr(&out)
        );
    }
    assert!(
        !data.join("picloud.db").exists(),
        "nothing was put in place"
    );

    // Nothing to back up yet.
    let out = picloud(
        &["backup", dir.path().join("b.db").to_str().unwrap()],
        &data,
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no database"), "{}", stderr(&out));
}

#[test]
fn postgres_is_backed_up_with_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["backup", "restore"] {
        let mut c = Command::new(env!("CARGO_BIN_EXE_picloud"));
        c.args([cmd, "x.db"])
            .env("PICLOUD_DATA_DIR", dir.path())
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none");
        let out = c.output().unwrap();
        assert!(!out.status.success());
        assert!(stderr(&out).contains("pg_dump"), "{}", stderr(&out));
    }
}

#[tokio::test]
async fn two_servers_cannot_share_one_sqlite_database() {
    let t = TestApp::spawn().await;
    let args = picloud::config::ServeArgs::for_data_dir(t.data_dir.path().to_path_buf());
    let Err(e) = picloud::build(&args).await else {
        panic!("a second server started on the same database");
    };
    assert!(
        format!("{e:#}").contains("in use by a running picloud"),
        "{e:#}"
    );
    t.admin(
        Method::POST,
        "/scripts",
        Some(json!({"name": "ok", "source": "1"})),
    )
    .await;
}
