//! The instance's secrets key: sealing and opening values, and the key
//! file.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use picloud_shared::AppId;
use rand::RngCore;

use crate::error::{Error, Result};

/// The format byte a sealed value starts with.
const FORMAT: u8 = 1;
const NONCE_LEN: usize = 12;

/// The instance's key for secrets: 32 bytes. Its `Debug` shows nothing.
#[derive(Clone)]
pub struct SecretKey(Arc<Key>);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    /// From its text: 32 bytes in standard base64 (`openssl rand -base64 32`).
    pub fn parse(text: &str) -> std::result::Result<SecretKey, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| "a secrets key is 32 bytes in base64 (openssl rand -base64 32)")?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!(
                "a secrets key is 32 bytes in base64 (openssl rand -base64 32); this one is {} bytes",
                b.len()
            )
        })?;
        Ok(SecretKey(Arc::new(bytes.into())))
    }

    /// A new random key.
    pub fn generate() -> SecretKey {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        SecretKey(Arc::new(bytes.into()))
    }

    /// Its text, as [`SecretKey::parse`] reads it.
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0.as_slice())
    }

    /// The key in the file at `path`, created (mode 0600, a new random key)
    /// when there is none.
    pub fn load_or_create(path: &Path) -> Result<SecretKey> {
        let startup = |what: String| Error::Startup(format!("{}: {what}", path.display()));
        if pending_key_file(path).exists() {
            return Err(startup(format!(
                "a rotation of the secrets key did not finish ({} is still there): run `picloud admin rotate-secrets-key` again to finish it",
                pending_key_file(path).display()
            )));
        }
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let key = SecretKey::parse(&text).map_err(startup)?;
                warn_if_readable(path);
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate();
                write_private(path, format!("{}\n", key.encode()).as_bytes())
                    .map_err(|e| startup(format!("cannot create the secrets key file: {e}")))?;
                tracing::info!(file = %path.display(), "created the secrets key (back it up with the database)");
                Ok(key)
            }
            Err(e) => Err(startup(format!("cannot read the secrets key file: {e}"))),
        }
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&self.0)
    }

    /// `value` sealed for `name` in `app`.
    pub(crate) fn seal(&self, app: AppId, name: &str, value: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = associated(app, name);
        let sealed = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("ChaCha20-Poly1305 seals any value under 256 GiB");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// The value sealed for `name` in `app`; `None` when it was sealed
    /// under another key, for another app or name, or was altered.
    pub(crate) fn open(&self, app: AppId, name: &str, stored: &[u8]) -> Option<String> {
        let (&format, rest) = stored.split_first()?;
        if format != FORMAT || rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let aad = associated(app, name);
        let plain = self
            .cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

/// What a value is sealed with besides the key: where it belongs.
fn associated(app: AppId, name: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + name.len());
    aad.extend_from_slice(app.0.as_bytes());
    aad.extend_from_slice(name.as_bytes());
    aad
}

/// Writes a new file readable by its owner only (mode 0600), synced.
#[cfg(unix)]
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(not(unix))]
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(unix)]
fn warn_if_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            file = %path.display(),
            "the secrets key file can be read by other users of this machine: chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable(_: &Path) {}

/// The key file of an SQLite database: `secrets.key` next to it.
pub fn key_file_of(database: &Path) -> std::path::PathBuf {
    database
        .parent()
        .unwrap_or(Path::new("."))
        .join("secrets.key")
}

/// Where a rotation puts the new key until every value is sealed with it.
pub fn pending_key_file(key_file: &Path) -> std::path::PathBuf {
    key_file.with_extension("key.new")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_opens_only_with_its_key_app_and_name() {
        let key = SecretKey::generate();
        let (app, other) = (AppId(uuid::Uuid::now_v7()), AppId(uuid::Uuid::now_v7()));
        let sealed = key.seal(app, "TOKEN", "s3cr3t-value");
        assert_eq!(
            key.open(app, "TOKEN", &sealed).as_deref(),
            Some("s3cr3t-value")
        );
        assert!(!sealed.windows(12).any(|w| w == b"s3cr3t-value"));
        assert_eq!(key.open(other, "TOKEN", &sealed), None);
        assert_eq!(key.open(app, "TOKEN2", &sealed), None);
        assert_eq!(SecretKey::generate().open(app, "TOKEN", &sealed), None);
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(key.open(app, "TOKEN", &altered), None);
        assert_eq!(key.open(app, "TOKEN", &[]), None);
        // Two seals of one value differ (a fresh nonce each time).
        assert_ne!(key.seal(app, "TOKEN", "v"), key.seal(app, "TOKEN", "v"));
    }

    #[test]
    fn keys_are_32_bytes_of_base64() {
        let key = SecretKey::generate();
        let again = SecretKey::parse(&format!("  {}\n", key.encode())).unwrap();
        assert_eq!(again.0, key.0);
        assert!(
            SecretKey::parse("c2hvcnQ=")
                .unwrap_err()
                .contains("5 bytes")
        );
        assert!(SecretKey::parse("not base64!").is_err());
        assert_eq!(format!("{key:?}"), "SecretKey(…)");
    }

    #[test]
    fn the_key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.key");
        let key = SecretKey::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(SecretKey::load_or_create(&path).unwrap().0, key.0);
        std::fs::write(&path, "garbage").unwrap();
        assert!(SecretKey::load_or_create(&path).is_err());
    }
}
