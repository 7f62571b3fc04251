//! Script history: every saved version of a script (its source, sandbox
//! overrides and description, who saved it, when, with what message), up to
//! a bound per script. A version is written in the same transaction as the
//! script change that makes it (`repo/scripts.rs`), so the newest one is
//! always the live one; older ones past the bound are trimmed as new ones
//! are saved. The table's queries are in `repo/versions.rs`; this module
//! holds the rules for what a version may carry.

use crate::error::Error;

/// Versions kept per script by default (`PICLOUD_SCRIPT_HISTORY`).
pub const DEFAULT_HISTORY: u32 = 100;

/// The longest message a version may carry, in bytes.
pub const MAX_MESSAGE_LEN: usize = 1024;

/// Who saves a version, and why.
#[derive(Clone, Debug, Default)]
pub struct VersionNote {
    /// The username of who saved it.
    pub by: String,
    /// Their message; empty when none.
    pub message: String,
}

/// Checks a version's message: at most [`MAX_MESSAGE_LEN`] bytes, no
/// control characters but line breaks and tabs.
pub fn check_message(message: &str) -> std::result::Result<(), String> {
    if message.len() > MAX_MESSAGE_LEN {
        return Err(format!(
            "the message is longer than {MAX_MESSAGE_LEN} bytes"
        ));
    }
    if message
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("the message holds a control character".into());
    }
    Ok(())
}

/// A version number from a path: a positive integer.
pub fn parse_version(text: &str) -> std::result::Result<i64, Error> {
    text.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
        Error::invalid(
            picloud_shared::api_error::ErrorCode::BadRequest,
            format!("{text:?} is not a version: versions are numbered from 1"),
        )
    })
}
