//! What the tests that run `picloud` as a real process ask of the OS.
#![allow(dead_code)]

use std::process::Command;

/// A command for one of PiCloud's binaries (`env!("CARGO_BIN_EXE_…")`)
/// without this environment's PiCloud settings (`PICLOUD_*`,
/// `DATABASE_URL`), which the process would otherwise read: it runs with
/// only what the test sets.
pub fn clean_command(bin: &str) -> Command {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars() {
        if k.starts_with("PICLOUD_") || k == "DATABASE_URL" {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A port free now on 127.0.0.1 (another process may take it before the
/// caller binds it; the tests that use this start one server per port).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Context switches of every thread of a process (Linux's `/proc`).
pub fn context_switches(pid: u32) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let status =
            std::fs::read_to_string(task.unwrap().path().join("status")).unwrap_or_default();
        total += status
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
            .sum::<u64>();
    }
    total
}
