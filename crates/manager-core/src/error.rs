//! The manager's error type, and how each case answers over HTTP.

use picloud_shared::ScriptError;
use picloud_shared::api_error::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Start-up cannot go on (bad data dir, unreachable database, ...).
    #[error("{0}")]
    Startup(String),
    /// Converted with `?` (or `into()`), which sorts out the errors that are
    /// the caller's input (see [`nul_in_text`]).
    #[error("database error: {0}")]
    Db(sqlx::Error),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// Signed in, and may see the thing, but may not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// The caller's mistake, with the API code that names it.
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    #[error("compile error: {}", .0.describe())]
    Compile(ScriptError),
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Too many failed logins; retry after this long.
    #[error("too many failed logins; retry in {} s", .0.as_secs().max(1))]
    TooManyAttempts(std::time::Duration),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> Self {
        Error::Invalid {
            code,
            message: message.into(),
        }
    }
}

impl Error {
    /// This error as a service answers it across a seam (a script's SDK
    /// call, a process of the split layout): the caller's mistakes (and a
    /// thing gone meanwhile) as `Invalid`, with a message for the script;
    /// anything else logged here and answered as `Backend`: our own
    /// message for an `Internal` error, else only what failed (`what`: "the
    /// KV store"): the database's own words stay in this server's log.
    pub fn into_shared(self, what: &str) -> picloud_shared::Error {
        match self {
            Error::Invalid { message, .. } | Error::Conflict(message) => {
                picloud_shared::Error::Invalid(message)
            }
            Error::NotFound(thing) => {
                picloud_shared::Error::Invalid(format!("the {thing} is gone"))
            }
            // Written here, for whoever reads it ("the secret … does not
            // decrypt with this server's key").
            Error::Internal(message) => {
                tracing::error!(error = %message, "{what} failed");
                picloud_shared::Error::Backend(message)
            }
            other => {
                tracing::error!(error = %other, "{what} failed");
                picloud_shared::Error::Backend(format!("{what} failed; see the server log"))
            }
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if nul_in_text(&e) {
            return Error::invalid(
                ErrorCode::BadRequest,
                "text cannot contain the NUL character (U+0000)",
            );
        }
        Error::Db(e)
    }
}

/// Did PostgreSQL refuse a NUL character (U+0000) in text (`22021`) or in
/// a JSON string (`22P05`)? It stores neither; the input is at fault, so it
/// is a 400, not a 500 (SQLite stores them).
pub fn nul_in_text(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("22021" | "22P05")))
}

/// Is this database error a unique-constraint violation?
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        match e {
            Error::NotFound(what) => ApiError::not_found(what),
            Error::Conflict(message) => ApiError::new(ErrorCode::Conflict, message),
            Error::Forbidden(message) => ApiError::new(ErrorCode::Forbidden, message),
            Error::Invalid { code, message } => ApiError::new(code, message),
            Error::Compile(err) => {
                let mut e = ApiError::from_script(&err);
                e.code = ErrorCode::CompileError;
                e
            }
            Error::InvalidCredentials => ApiError::new(
                ErrorCode::InvalidCredentials,
                "invalid username or password",
            ),
            Error::TooManyAttempts(wait) => {
                // Round up: retrying at the announced second must work.
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                ApiError::new(
                    ErrorCode::TooManyAttempts,
                    format!("too many failed logins; retry in {seconds} s"),
                )
                .with_retry_after(seconds)
            }
            other @ (Error::Startup(_) | Error::Db(_) | Error::Internal(_)) => {
                ApiError::internal(other)
            }
        }
    }
}
