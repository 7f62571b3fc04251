//! Domain claims as stored.

use picloud_shared::{AppId, DomainId};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Db;
use crate::error::{Error, Result, is_unique_violation};
use crate::with_db;

/// A domain claim as stored.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Domain {
    pub id: DomainId,
    pub app_id: AppId,
    pub pattern: String,
    #[serde(with = "picloud_shared::timestamp")]
    pub created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct DomainRow {
    id: Uuid,
    app_id: Uuid,
    pattern: String,
    created_at: OffsetDateTime,
}

impl From<DomainRow> for Domain {
    fn from(r: DomainRow) -> Self {
        Domain {
            id: DomainId(r.id),
            app_id: AppId(r.app_id),
            pattern: r.pattern,
            created_at: r.created_at,
        }
    }
}

const DOMAIN_COLUMNS: &str = "id, app_id, pattern, created_at";

impl Db {
    // ----- domains -----

    pub(crate) async fn insert_domain(&self, d: &Domain) -> Result<Domain> {
        let sql = format!(
            "INSERT INTO domains ({DOMAIN_COLUMNS}) VALUES ($1, $2, $3, $4) RETURNING {DOMAIN_COLUMNS}"
        );
        let row: std::result::Result<DomainRow, sqlx::Error> = with_db!(self, pool => sqlx::query_as(&sql)
            .bind(d.id.0).bind(d.app_id.0).bind(&d.pattern).bind(d.created_at)
            .fetch_one(pool).await);
        match row {
            Ok(r) => Ok(r.into()),
            Err(e) if is_unique_violation(&e) => Err(Error::Conflict(format!(
                "the domain {:?} is already claimed",
                d.pattern
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Every claim of every app.
    pub(crate) async fn domains(&self) -> Result<Vec<Domain>> {
        let sql = format!("SELECT {DOMAIN_COLUMNS} FROM domains ORDER BY id");
        let rows: Vec<DomainRow> =
            with_db!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(Domain::from).collect())
    }

    pub(crate) async fn domains_of_app(&self, app: AppId) -> Result<Vec<Domain>> {
        let sql =
            format!("SELECT {DOMAIN_COLUMNS} FROM domains WHERE app_id = $1 ORDER BY pattern");
        let rows: Vec<DomainRow> =
            with_db!(self, pool => sqlx::query_as(&sql).bind(app.0).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(Domain::from).collect())
    }

    /// Deletes a claim of `app` (a claim of another app is not touched);
    /// the released pattern, if there was such a claim.
    pub(crate) async fn delete_domain(&self, app: AppId, id: DomainId) -> Result<Option<String>> {
        const SQL: &str = "DELETE FROM domains WHERE id = $1 AND app_id = $2 RETURNING pattern";
        Ok(
            with_db!(self, pool => sqlx::query_scalar(SQL).bind(id.0).bind(app.0)
            .fetch_optional(pool).await)?,
        )
    }
}
