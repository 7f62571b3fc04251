//! The five versioned surfaces (see docs/versioning.md). `/version` reports
//! them all; the schema version comes from the manager's migrations.

/// The product version: semver, one for every crate in the workspace.
pub const PRODUCT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What scripts see (`ctx.sdk_version`). Pinned by the golden SDK contract
/// test in `crates/executor-core/tests/sdk_contract.rs`: changing one of its
/// expectations means changing this.
pub const SDK_VERSION: &str = "1.1";

/// The HTTP API version: every API route lives under `/api/v{API_VERSION}`.
pub const API_VERSION: u32 = 1;

/// The cluster wire protocol between the services' remote implementations.
pub const WIRE_VERSION: u32 = 5;

/// The prefix every API route is nested under.
pub fn api_prefix() -> String {
    format!("/api/v{API_VERSION}")
}
