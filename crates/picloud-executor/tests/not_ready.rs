//! Cluster mode is planned: the binary must say so and fail, not pretend.

#[test]
fn says_cluster_mode_is_not_ready_and_exits_non_zero() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_picloud-executor"))
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not ready yet"), "{stderr}");
}
