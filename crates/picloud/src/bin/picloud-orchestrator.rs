//! `picloud-orchestrator`: PiCloud's data-plane ingress on its own,
//! for the split layout (docs/cluster.md). The composition is the
//! `picloud` library's (`picloud::roles`).

/// The same allocator as `picloud` (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    picloud::roles::orchestrator_main()
}
