//! Fixed limits that scripts cannot override (the ones a script's version
//! may set are `SandboxLimits`, in picloud-shared).

/// Variables alive in one scope (a bound on memory: variables × string size).
pub const MAX_VARIABLES: usize = 512;
/// Functions a script may define.
pub const MAX_FUNCTIONS: usize = 512;
/// `let`, `const` and `for` declarations in one source. Rhai's compile time
/// grows with the square of the declared names and cannot be interrupted,
/// so this bounds compile time (see rhai-notes.md).
pub const MAX_DECLARATIONS: usize = 4_000;
/// `log::*` entries kept per execution (with the calls it makes).
pub const MAX_LOG_ENTRIES: usize = 1_000;
/// Bytes of log messages and data kept per execution.
pub const MAX_LOG_BYTES: usize = 256 << 10;
/// Bytes of one log message; longer ones are cut.
pub const MAX_LOG_MESSAGE: usize = 8 << 10;
/// Nesting of a value converted to JSON (return values, log data).
pub const MAX_JSON_DEPTH: usize = 256;
/// `invoke` calls nested inside one execution.
pub const MAX_INVOKE_DEPTH: usize = 8;
/// `invoke` calls one execution may make, nested ones included (each
/// is recorded as an execution of its own).
pub const MAX_INVOKES: usize = 1_000;
