//! How a command fails: the exit codes (docs/cli.md) and the one line for
//! stderr.

/// Exit codes, the same for every command (docs/cli.md).
pub mod exit {
    /// Done.
    pub const OK: u8 = 0;
    /// The server refused the request (other than for auth), a manifest or
    /// script is wrong, a local file cannot be read or written; also
    /// `invoke` when the script answered 5xx.
    pub const ERROR: u8 = 1;
    /// Bad arguments: clap's own code, kept for ours (a value that is not
    /// JSON, no server to talk to).
    pub const USAGE: u8 = 2;
    /// The server cannot be reached (connection refused, DNS, TLS, timeout).
    pub const UNREACHABLE: u8 = 3;
    /// Not logged in, the token was refused (401) or the account may not do
    /// this (403).
    pub const AUTH: u8 = 4;
}

/// Why a command failed: the one line for stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub exit: u8,
    pub message: String,
}

impl Failure {
    pub fn error(message: impl Into<String>) -> Self {
        Failure {
            exit: exit::ERROR,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            exit: exit::USAGE,
            message: message.into(),
        }
    }

    pub fn unreachable(message: impl Into<String>) -> Self {
        Failure {
            exit: exit::UNREACHABLE,
            message: message.into(),
        }
    }

    pub fn auth(message: impl Into<String>) -> Self {
        Failure {
            exit: exit::AUTH,
            message: message.into(),
        }
    }
}

pub type Result<T, E = Failure> = std::result::Result<T, E>;
