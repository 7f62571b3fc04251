//! The store: sealed values per app, the scripts' side
//! ([`SecretService`]) and re-keying.

use std::sync::Arc;

use picloud_shared::secrets::{SecretService, check_secret_name};
use picloud_shared::{AppId, BoxFuture, SdkCallCx};
use serde::Serialize;
use time::OffsetDateTime;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::with_db;

use super::cache::{Lookup, SecretCache};
use super::key::*;

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
    /// SQLite: the values scripts read, in memory (see cache.rs). `None`
    /// on PostgreSQL, where other processes write the table.
    cache: Option<Arc<SecretCache>>,
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
    pub(crate) fn new(db: Db, key: Option<SecretKey>) -> Arc<SecretStore> {
        let cache = matches!(db, Db::Sqlite(..)).then(Arc::default);
        Arc::new(SecretStore { db, key, cache })
    }

    fn key(&self) -> Result<&SecretKey> {
        self.key
            .as_ref()
            .ok_or_else(|| Error::Conflict(NO_KEY.into()))
    }

    /// Sets `name` in `app`; `true` when it is new.
    pub(crate) async fn put(
        self: &Arc<Self>,
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
        let (this, owned, by_owned) = (Arc::clone(self), name.to_owned(), by.to_owned());
        let updated = self
            .told(app, name, async move {
                let (name, by) = (owned.as_str(), by_owned.as_str());
                let updated = with_db!(&this.db, pool => sqlx::query(UPDATE).bind(app.0)
                    .bind(name).bind(&sealed).bind(now).bind(by).execute(pool).await
                    .map(|d| d.rows_affected()))?;
                if updated == 0 {
                    with_db!(&this.db, pool => sqlx::query(INSERT).bind(app.0).bind(name)
                        .bind(&sealed).bind(now).bind(by).execute(pool).await.map(drop))
                    .map_err(gone_app)?;
                }
                Ok(updated)
            })
            .await?;
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
    pub(crate) async fn remove(self: &Arc<Self>, app: AppId, name: &str) -> Result<bool> {
        const SQL: &str = "DELETE FROM secrets WHERE app_id = $1 AND name = $2";
        let (this, owned) = (Arc::clone(self), name.to_owned());
        let removed = self
            .told(app, name, async move {
                with_db!(&this.db, pool => sqlx::query(SQL).bind(app.0).bind(owned.as_str())
                    .execute(pool).await.map(|done| done.rows_affected()))
                .map_err(Error::from)
            })
            .await?;
        Ok(removed > 0)
    }

    /// Runs `write`, a change of `name` in `app`, then tells the cache (see
    /// cache.rs), as one task: a caller that goes away meanwhile (its
    /// connection closed) cannot leave a committed change untold, and a
    /// script reading the old value for good.
    async fn told<T: Send + 'static>(
        &self,
        app: AppId,
        name: &str,
        write: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        let Some(cache) = &self.cache else {
            return write.await;
        };
        let cache = Arc::clone(cache);
        let name = name.to_owned();
        // Marked and spawned in the same poll: both or neither.
        cache.writing(app, &name);
        tokio::spawn(async move {
            let written = write.await;
            // Committed or not: told either way, before the caller hears.
            cache.changed(app, &name);
            written
        })
        .await
        .map_err(|e| Error::Internal(format!("a secret's write stopped: {e}")))?
    }

    /// `app` was deleted, and its secrets with it (foreign keys cascade):
    /// the cache forgets them.
    pub(crate) fn forget_app(&self, app: AppId) {
        if let Some(cache) = &self.cache {
            cache.forget_app(app);
        }
    }

    /// The value of `name` in `app`, decrypted.
    pub(crate) async fn value(&self, app: AppId, name: &str) -> Result<Option<String>> {
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
            let miss = match self.cache.as_ref().map(|c| c.lookup(cx.app_id, name)) {
                Some(Lookup::Hit(known)) => return Ok(owned(known)),
                Some(Lookup::Miss(epoch)) => Some(epoch),
                None => None,
            };
            let value = self
                .value(cx.app_id, name)
                .await
                .map_err(|e| e.into_shared("the secret store"))?;
            if let (Some(cache), Some(epoch)) = (&self.cache, miss) {
                cache.fill(epoch, cx.app_id, name, value.as_deref().map(Arc::from));
            }
            Ok(value)
        })
    }

    fn get_now(
        &self,
        cx: &SdkCallCx,
        name: &str,
    ) -> Option<picloud_shared::Result<Option<String>>> {
        // A malformed name is never cached: it misses, and `get` refuses it.
        match self.cache.as_ref()?.lookup(cx.app_id, name) {
            Lookup::Hit(known) => Some(Ok(owned(known))),
            Lookup::Miss(_) => None,
        }
    }
}

/// A cached value as `get` answers it.
fn owned(known: super::cache::Known) -> Option<String> {
    known.map(|v| v.as_ref().to_owned())
}
