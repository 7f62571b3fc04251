//! The error type of the shared seams.

/// Errors a service behind one of the shared traits can report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The executor could not take the work (its pool is gone, it is shutting down).
    #[error("the executor is unavailable: {0}")]
    ExecutorUnavailable(String),
    /// The caller's input was refused; the message says why, for the script.
    #[error("{0}")]
    Invalid(String),
    /// A storage or other backend failure; the cause is logged where it happened.
    #[error("backend failure: {0}")]
    Backend(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
