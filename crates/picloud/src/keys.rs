//! The secrets key: which one a server uses, and `picloud admin
//! rotate-secrets-key`, which seals every value again under a new one
//! (docs/secrets.md).

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use picloud_manager_core::secrets::{
    key_file_of, pending_key_file, rekey, sealed_with, write_private,
};
use picloud_manager_core::{Db, DbTarget, SecretKey};

use crate::config::{RotateKeyArgs, ServeArgs};

/// The key secrets are sealed with: `PICLOUD_SECRETS_KEY`, else (SQLite)
/// the key file next to the database, created on first start. PostgreSQL
/// without the variable has secrets off: every node of a cluster needs
/// the same key, which a file on one machine cannot give.
pub fn for_server(args: &ServeArgs, target: &DbTarget) -> anyhow::Result<Option<SecretKey>> {
    if let Some(key) = &args.secrets_key {
        return Ok(Some(key.clone()));
    }
    match target {
        DbTarget::Sqlite(path) => Ok(Some(SecretKey::load_or_create(&key_file_of(path))?)),
        DbTarget::Postgres(_) => {
            tracing::warn!(
                "PICLOUD_SECRETS_KEY is not set: secrets are off (setting one and secrets::get fail) \
                 until it is; with PostgreSQL every node needs the same key (docs/secrets.md)"
            );
            Ok(None)
        }
    }
}

/// What a rotation did, for the command's output.
#[derive(Debug)]
pub struct Rotated {
    /// Values sealed again under the new key.
    pub secrets: usize,
    /// Whether this run finished a rotation cut short (the values were
    /// sealed again already; only the key file was moved).
    pub finished: bool,
    /// The key file written, when the key lives in one.
    pub key_file: Option<PathBuf>,
    /// The new key, when it lives in `PICLOUD_SECRETS_KEY` (the operator
    /// sets it on every node).
    pub new_key: Option<SecretKey>,
}

/// `picloud admin rotate-secrets-key`.
pub async fn rotate(args: &RotateKeyArgs) -> anyhow::Result<Rotated> {
    let target =
        DbTarget::from_settings(args.storage.database_url.as_deref(), &args.storage.data_dir)
            .map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?;
    let new = match args.new_key_stdin {
        true => read_new_key()?,
        false => SecretKey::generate(),
    };
    // A server holds an SQLite database while it runs, and would go on
    // sealing with the old key: stop it first.
    let _lock = match &target {
        DbTarget::Sqlite(path) => Some(crate::backup::lock(path)?),
        DbTarget::Postgres(_) => None,
    };
    match (&args.secrets_key, &target) {
        // The key is in the environment: seal under the new one and hand it
        // to the operator.
        (Some(old), _) => {
            let db = open(&target).await?;
            let done = rekey(&db, old, &new).await;
            db.close().await;
            Ok(Rotated {
                secrets: done?.secrets,
                finished: false,
                key_file: None,
                new_key: Some(new),
            })
        }
        (None, DbTarget::Postgres(_)) => bail!(
            "PICLOUD_SECRETS_KEY: set it to the current key; with PostgreSQL the key lives there (docs/secrets.md)"
        ),
        (None, DbTarget::Sqlite(path)) => {
            let key_file = key_file_of(path);
            let (secrets, finished) = rotate_file(&target, &key_file, new).await?;
            Ok(Rotated {
                secrets,
                finished,
                key_file: Some(key_file),
                new_key: None,
            })
        }
    }
}

/// The key file's rotation: the new key is written next to the old one
/// first (`secrets.key.new`), the values are sealed again in one
/// transaction, then the new file takes the old one's place. A rotation cut
/// short anywhere is finished by running the command again: it looks at
/// which key the stored values open with. Returns how many values were
/// sealed again, and whether it only finished a rotation cut short.
async fn rotate_file(
    target: &DbTarget,
    key_file: &Path,
    new: SecretKey,
) -> anyhow::Result<(usize, bool)> {
    let pending = pending_key_file(key_file);
    let old_text = std::fs::read_to_string(key_file)
        .with_context(|| format!("reading the current key at {}", key_file.display()))?;
    let old =
        SecretKey::parse(&old_text).map_err(|e| anyhow::anyhow!("{}: {e}", key_file.display()))?;
    let db = open(target).await?;
    let result = async {
        let new = if pending.exists() {
            let left = SecretKey::parse(&std::fs::read_to_string(&pending)?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", pending.display()))?;
            match sealed_with(&db, &old, &left).await? {
                // The values were sealed again before it stopped: finish.
                Some(false) => {
                    finish(&pending, key_file)?;
                    return Ok((0, true));
                }
                // It stopped before: start again with the key it chose.
                Some(true) | None => left,
            }
        } else {
            write_private(&pending, format!("{}\n", new.encode()).as_bytes())
                .with_context(|| format!("writing {}", pending.display()))?;
            new
        };
        let done = rekey(&db, &old, &new).await?;
        finish(&pending, key_file)?;
        Ok::<_, anyhow::Error>((done.secrets, false))
    }
    .await;
    db.close().await;
    result
}

/// The new key file replaces the old one (a rename: all or nothing).
fn finish(pending: &Path, key_file: &Path) -> anyhow::Result<()> {
    std::fs::rename(pending, key_file)
        .with_context(|| format!("moving {} to {}", pending.display(), key_file.display()))?;
    if let Some(dir) = key_file.parent()
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

async fn open(target: &DbTarget) -> anyhow::Result<Db> {
    let db = Db::connect(target).await?;
    db.migrate().await?;
    Ok(db)
}

/// The new key from standard input (refused from a terminal: it would echo).
fn read_new_key() -> anyhow::Result<SecretKey> {
    if std::io::stdin().is_terminal() {
        bail!(
            "--new-key-stdin reads the key from a pipe: printf %s \"$NEW_KEY\" | picloud admin rotate-secrets-key --new-key-stdin"
        );
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    SecretKey::parse(&text).map_err(|e| anyhow::anyhow!("the new key: {e}"))
}
