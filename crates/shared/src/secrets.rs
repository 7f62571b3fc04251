//! Secrets per app: the names scripts read with `secrets::get(NAME)` and
//! the seam they are read through. Values are kept encrypted by the
//! manager; a script gets its own app's, and nothing else.

use crate::kv::SdkCallCx;
use crate::{BoxFuture, Result};

/// Longest secret name, in bytes (they are ASCII).
pub const MAX_SECRET_NAME: usize = 64;
/// Largest secret value, in bytes of UTF-8.
pub const MAX_SECRET_VALUE: usize = 64 << 10;

/// A secret name: 1–64 of `[A-Z0-9_]`, not starting with a digit (as an
/// environment variable: `STRIPE_KEY`).
pub fn check_secret_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= MAX_SECRET_NAME
        && !name.as_bytes()[0].is_ascii_digit()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "a secret name is 1 to {MAX_SECRET_NAME} of A-Z, 0-9 and _, not starting with a digit (as STRIPE_KEY); got {:?}",
            name.chars().take(80).collect::<String>()
        ))
    }
}

/// A secret value: at most 64 KiB of UTF-8.
pub fn check_secret_value(value: &str) -> Result<(), String> {
    if value.len() > MAX_SECRET_VALUE {
        return Err(format!(
            "a secret value is at most {MAX_SECRET_VALUE} bytes; this one is {}",
            value.len()
        ));
    }
    Ok(())
}

/// The store behind `secrets::get(NAME)`: acts on the app of `cx` and
/// nothing else. A malformed name is [`Error::Invalid`](crate::Error::Invalid).
pub trait SecretService: Send + Sync + 'static {
    /// The value, or `None` when the app has no secret of that name.
    fn get<'a>(&'a self, cx: &'a SdkCallCx, name: &'a str)
    -> BoxFuture<'a, Result<Option<String>>>;

    /// [`get`](SecretService::get) answered on the calling thread when the
    /// service knows the answer at once (the local SQLite file's cache);
    /// `None`: ask `get`.
    fn get_now(&self, _cx: &SdkCallCx, _name: &str) -> Option<Result<Option<String>>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values() {
        for good in ["A", "STRIPE_KEY", "_X", "K9", &"A".repeat(64)] {
            assert!(check_secret_name(good).is_ok(), "{good}");
        }
        for bad in ["", "9A", "stripe_key", "A-B", "A B", "É", &"A".repeat(65)] {
            assert!(check_secret_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_secret_value(&"x".repeat(MAX_SECRET_VALUE)).is_ok());
        assert!(check_secret_value(&"x".repeat(MAX_SECRET_VALUE + 1)).is_err());
    }
}
