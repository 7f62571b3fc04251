//! Secrets per app: named values a script reads with `secrets::get(NAME)`,
//! encrypted at rest with ChaCha20-Poly1305 under the instance's key
//! (`PICLOUD_SECRETS_KEY`, or a key file next to the SQLite database).
//!
//! A stored value is `1 ‖ nonce (12 bytes) ‖ ciphertext and tag`, sealed
//! with the app's id and the secret's name as associated data, so a value
//! copied to another app or name in the database does not decrypt. Values
//! leave this module only to a script of their own app (through
//! [`SecretService`]); the admin API lists names, never values.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use picloud_shared::api_error::ErrorCode;
use picloud_shared::secrets::{SecretService, check_secret_name, check_secret_value};
use picloud_shared::{AppId, BoxFuture, SdkCallCx};
use rand::RngCore;
use serde::Serialize;
use time::OffsetDateTime;

use crate::authz::{self, Capability, Principal};
use crate::db::Db;
use crate::error::{Error, Result};
use crate::service::Manager;
use crate::with_db;

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

/// A secret as the admin API shows it: never its value.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SecretInfo {
    #[schema(example = "STRIPE_KEY")]
    pub name: String,
    #[serde(with = "picloud_shared::timestamp")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    /// The username of who set it last.
    pub updated_by: String,
}

#[derive(sqlx::FromRow)]
struct SecretRow {
    name: String,
    updated_at: OffsetDateTime,
    updated_by: String,
}

/// The secrets of every app, in the database.
pub struct SecretStore {
    db: Db,
    /// `None`: no key is configured (PostgreSQL without
    /// `PICLOUD_SECRETS_KEY`); names can be listed and deleted, values
    /// neither set nor read.
    key: Option<SecretKey>,
}

impl std::fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretStore")
            .field("key", &self.key.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

/// What a caller is told when no key is configured.
const NO_KEY: &str = "secrets are off on this server: it has no PICLOUD_SECRETS_KEY (required with PostgreSQL; see docs/secrets.md)";

impl SecretStore {
    pub fn new(db: Db, key: Option<SecretKey>) -> Arc<SecretStore> {
        Arc::new(SecretStore { db, key })
    }

    fn key(&self) -> Result<&SecretKey> {
        self.key
            .as_ref()
            .ok_or_else(|| Error::Conflict(NO_KEY.into()))
    }

    /// Sets `name` in `app`; `true` when it is new.
    pub(crate) async fn put(
        &self,
        app: AppId,
        name: &str,
        value: &str,
        by: &str,
    ) -> Result<(SecretInfo, bool)> {
        let sealed = self.key()?.seal(app, name, value);
        let now = OffsetDateTime::now_utc();
        // An update first, an insert if it found nothing: each one
        // statement, with no transaction to upgrade from reading to writing
        // (SQLite's other writers would make that upgrade fail).
        const UPDATE: &str = "UPDATE secrets SET value = $3, updated_at = $4, updated_by = $5 \
                              WHERE app_id = $1 AND name = $2";
        const INSERT: &str = "INSERT INTO secrets (app_id, name, value, updated_at, updated_by) \
                              VALUES ($1, $2, $3, $4, $5) \
                              ON CONFLICT (app_id, name) DO UPDATE SET value = excluded.value, \
                              updated_at = excluded.updated_at, updated_by = excluded.updated_by";
        let updated = with_db!(&self.db, pool => sqlx::query(UPDATE).bind(app.0).bind(name)
            .bind(&sealed).bind(now).bind(by).execute(pool).await.map(|d| d.rows_affected()))?;
        if updated == 0 {
            with_db!(&self.db, pool => sqlx::query(INSERT).bind(app.0).bind(name)
                .bind(&sealed).bind(now).bind(by).execute(pool).await.map(drop))
            .map_err(gone_app)?;
        }
        Ok((
            SecretInfo {
                name: name.to_owned(),
                updated_at: now,
                updated_by: by.to_owned(),
            },
            updated == 0,
        ))
    }

    /// The names in `app`, by name.
    pub(crate) async fn list(&self, app: AppId) -> Result<Vec<SecretInfo>> {
        const SQL: &str =
            "SELECT name, updated_at, updated_by FROM secrets WHERE app_id = $1 ORDER BY name";
        let rows: Vec<SecretRow> =
            with_db!(&self.db, pool => sqlx::query_as(SQL).bind(app.0).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|r| SecretInfo {
                name: r.name,
                updated_at: r.updated_at,
                updated_by: r.updated_by,
            })
            .collect())
    }

    /// Whether it was there.
    pub(crate) async fn remove(&self, app: AppId, name: &str) -> Result<bool> {
        const SQL: &str = "DELETE FROM secrets WHERE app_id = $1 AND name = $2";
        let removed = with_db!(&self.db, pool => sqlx::query(SQL).bind(app.0).bind(name)
            .execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(removed > 0)
    }

    /// The value of `name` in `app`, decrypted.
    pub async fn value(&self, app: AppId, name: &str) -> Result<Option<String>> {
        let key = self.key()?;
        const SQL: &str = "SELECT value FROM secrets WHERE app_id = $1 AND name = $2";
        let stored: Option<Vec<u8>> = with_db!(&self.db, pool =>
            sqlx::query_scalar(SQL).bind(app.0).bind(name).fetch_optional(pool).await)?;
        match stored {
            None => Ok(None),
            Some(stored) => key.open(app, name, &stored).map(Some).ok_or_else(|| {
                tracing::error!(app = %app.0, secret = name, "a stored secret does not decrypt with this server's key");
                Error::Internal(format!(
                    "the secret {name} does not decrypt with this server's key (was PICLOUD_SECRETS_KEY changed?)"
                ))
            }),
        }
    }
}

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

/// What [`rekey`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rekeyed {
    /// Values sealed again under the new key.
    pub secrets: usize,
}

/// Seals every stored value again under `new`, in one transaction: all of
/// them or none. A value that `old` does not open stops it (naming the
/// secret), changing nothing.
pub async fn rekey(db: &Db, old: &SecretKey, new: &SecretKey) -> Result<Rekeyed> {
    #[derive(sqlx::FromRow)]
    struct Row {
        app_id: uuid::Uuid,
        name: String,
        value: Vec<u8>,
    }
    const ALL: &str = "SELECT app_id, name, value FROM secrets ORDER BY app_id, name";
    const SET: &str = "UPDATE secrets SET value = $3 WHERE app_id = $1 AND name = $2";
    let count = with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let rows: Vec<Row> = sqlx::query_as(ALL).fetch_all(&mut *tx).await?;
        let mut sealed = Vec::with_capacity(rows.len());
        for row in &rows {
            let app = AppId(row.app_id);
            let Some(plain) = old.open(app, &row.name, &row.value) else {
                return Err(Error::Conflict(format!(
                    "the secret {} of app {} does not decrypt with the current key: nothing was changed",
                    row.name, row.app_id
                )));
            };
            sealed.push(new.seal(app, &row.name, &plain));
        }
        for (row, value) in rows.iter().zip(&sealed) {
            sqlx::query(SET).bind(row.app_id).bind(&row.name).bind(value)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<_, Error>(rows.len())
    })?;
    Ok(Rekeyed { secrets: count })
}

/// Which of two keys the stored values are sealed with: `Some(true)` the
/// first, `Some(false)` the second, `None` when there is no value to tell
/// (or neither opens the first one).
pub async fn sealed_with(db: &Db, first: &SecretKey, second: &SecretKey) -> Result<Option<bool>> {
    const ONE: &str = "SELECT app_id, name, value FROM secrets ORDER BY app_id, name LIMIT 1";
    let row: Option<(uuid::Uuid, String, Vec<u8>)> =
        with_db!(db, pool => sqlx::query_as(ONE).fetch_optional(pool).await)?;
    Ok(row.and_then(|(app, name, value)| {
        let app = AppId(app);
        if first.open(app, &name, &value).is_some() {
            Some(true)
        } else if second.open(app, &name, &value).is_some() {
            Some(false)
        } else {
            None
        }
    }))
}

/// A write that lost its app to a concurrent delete: the app is gone.
fn gone_app(e: sqlx::Error) -> Error {
    match e.as_database_error() {
        Some(d) if d.is_foreign_key_violation() => Error::NotFound("app"),
        _ => e.into(),
    }
}

impl SecretService for SecretStore {
    fn get<'a>(
        &'a self,
        cx: &'a SdkCallCx,
        name: &'a str,
    ) -> BoxFuture<'a, picloud_shared::Result<Option<String>>> {
        Box::pin(async move {
            check_secret_name(name).map_err(picloud_shared::Error::Invalid)?;
            self.value(cx.app_id, name).await.map_err(|e| match e {
                Error::Conflict(why) => picloud_shared::Error::Invalid(why),
                e => picloud_shared::Error::Backend(e.to_string()),
            })
        })
    }
}

// ----- the admin API's side -----

fn parse_name(name: &str) -> Result<()> {
    check_secret_name(name).map_err(|why| Error::invalid(ErrorCode::BadRequest, why))
}

impl Manager {
    /// Sets a secret; `true` when it is new. Editors and owners.
    pub async fn secret_put(
        &self,
        p: &Principal,
        app: &str,
        name: &str,
        value: &str,
    ) -> Result<(SecretInfo, bool)> {
        let app = self.resolve_app(Some(app)).await?;
        authz::require(p, Capability::WriteSecrets, app.id, "app")?;
        parse_name(name)?;
        check_secret_value(value).map_err(|why| Error::invalid(ErrorCode::BadRequest, why))?;
        let (info, created) = self
            .secrets
            .put(app.id, name, value, &p.user.username)
            .await?;
        self.audit(
            p,
            Some(app.id),
            if created {
                "secret.create"
            } else {
                "secret.update"
            },
            Some(name.to_owned()),
            serde_json::json!({ "name": name }),
        )
        .await;
        Ok((info, created))
    }

    /// The names of an app's secrets. Viewers and up.
    pub async fn secret_list(&self, p: &Principal, app: &str) -> Result<Vec<SecretInfo>> {
        let app = self.resolve_app(Some(app)).await?;
        authz::require(p, Capability::ReadSecrets, app.id, "app")?;
        self.secrets.list(app.id).await
    }

    /// Deletes a secret. Editors and owners.
    pub async fn secret_delete(&self, p: &Principal, app: &str, name: &str) -> Result<()> {
        let app = self.resolve_app(Some(app)).await?;
        authz::require(p, Capability::WriteSecrets, app.id, "app")?;
        parse_name(name)?;
        if !self.secrets.remove(app.id, name).await? {
            return Err(Error::NotFound("secret"));
        }
        self.audit(
            p,
            Some(app.id),
            "secret.delete",
            Some(name.to_owned()),
            serde_json::json!({ "name": name }),
        )
        .await;
        Ok(())
    }
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
