//! Admin authentication: argon2id password hashes, opaque session tokens
//! stored only as SHA-256 hashes, a sliding session lifetime.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

// Session tokens (`pcs_`) and API tokens (`pct_`) are told apart by their
// prefix at a glance (and by secret scanners); the orchestrator keeps both,
// and the session cookie, away from scripts.
pub use picloud_shared::web::{API_TOKEN_PREFIX, SESSION_COOKIE, SESSION_TOKEN_PREFIX};
/// Passwords shorter than this are refused.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longer ones too: argon2 hashes all of it, and nobody types 1 KiB.
pub const MAX_PASSWORD_LEN: usize = 1024;

pub fn check_password_rules(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN || password.len() > MAX_PASSWORD_LEN {
        return Err(Error::invalid(
            picloud_shared::api_error::ErrorCode::BadRequest,
            format!("passwords must be {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} bytes long"),
        ));
    }
    Ok(())
}

/// Hashes a password with argon2id (default parameters). CPU-heavy: call
/// from a blocking thread.
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
}

/// Checks a password against a stored hash. With no hash (unknown user) it
/// checks against a fixed one, so both cases take the same time.
pub fn verify_password(stored: Option<&str>, password: &str) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("not a real password").unwrap_or_default());
    let hash = stored.unwrap_or(dummy);
    let ok = PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false);
    ok && stored.is_some()
}

/// Where password checks run: on blocking threads, at most `at_once` at a
/// time. Each takes argon2's 19 MiB and tens of milliseconds of CPU, and a
/// sign-in is anonymous: unbounded, a few hundred sent at once (the
/// throttle counts per username, so each may name another) would take
/// gigabytes, enough for the out-of-memory killer on a small machine.
/// Past the bound they wait their turn, cheaply, each on its connection.
pub struct PasswordChecks {
    turns: std::sync::Arc<tokio::sync::Semaphore>,
}

impl PasswordChecks {
    /// `at_once` at least 1.
    pub fn new(at_once: usize) -> Self {
        PasswordChecks {
            turns: std::sync::Arc::new(tokio::sync::Semaphore::new(at_once.max(1))),
        }
    }

    /// One per core (what argon2 can use at once anyway).
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Runs `check` on a blocking thread once a turn is free. The turn goes
    /// with the thread's work, not with the caller: a client that leaves
    /// once its check has begun does not free a turn while argon2 still
    /// runs for it.
    pub async fn run<T: Send + 'static>(
        &self,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let turn = std::sync::Arc::clone(&self.turns)
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            check()
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))
    }
}

/// A new random session token and the hash that is stored for it.
pub fn new_session_token() -> (String, Vec<u8>) {
    new_token(SESSION_TOKEN_PREFIX)
}

pub fn new_api_token() -> (String, Vec<u8>) {
    new_token(API_TOKEN_PREFIX)
}

/// 256 random bits after `prefix`, and the token's hash.
fn new_token(prefix: &str) -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_hashes_are_argon2id() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(Some(&h), "correct horse"));
        assert!(!verify_password(Some(&h), "wrong horse"));
        assert!(!verify_password(None, "correct horse"));
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let (a, ha) = new_session_token();
        let (b, _) = new_session_token();
        assert_ne!(a, b);
        assert!(a.starts_with(SESSION_TOKEN_PREFIX));
        assert_eq!(ha, token_hash(&a));
        assert_eq!(ha.len(), 32);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn password_checks_run_a_bounded_few_at_once() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let checks = Arc::new(PasswordChecks::new(2));
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut all = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (checks, running, most) = (checks.clone(), running.clone(), most.clone());
            all.spawn(async move {
                checks
                    .run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                    .unwrap()
            });
        }
        all.join_all().await;
        assert_eq!(
            most.load(Ordering::SeqCst),
            2,
            "two at once at most, and two ran"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_check_keeps_its_turn_when_its_caller_leaves() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let checks = Arc::new(PasswordChecks::new(1));
        let (began, second) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let (release, released) = std::sync::mpsc::channel::<()>();
        let caller = tokio::spawn({
            let (checks, began) = (checks.clone(), began.clone());
            async move {
                checks
                    .run(move || {
                        began.store(true, Ordering::SeqCst);
                        released.recv().unwrap();
                    })
                    .await
            }
        });
        while !began.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        caller.abort();
        assert!(caller.await.unwrap_err().is_cancelled());
        let next = tokio::spawn({
            let (checks, second) = (checks.clone(), second.clone());
            async move {
                checks
                    .run(move || second.store(true, Ordering::SeqCst))
                    .await
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(
            !second.load(Ordering::SeqCst),
            "the first check still runs: the next waits"
        );
        release.send(()).unwrap();
        next.await.unwrap().unwrap();
        assert!(second.load(Ordering::SeqCst));
    }
}
