//! `catalog_versions`: published catalogs, immutable numbered versions; the
//! current one is the highest.

use super::{Db, DbError, Read, Row, Stmt, first};
use crate::stmt;

/// A stored catalog version.
#[derive(Clone, Debug)]
pub struct Published {
    /// 1, 2, 3, …
    pub version: i64,
    /// Strong ETag of the body.
    pub etag: String,
    /// The catalog JSON text as published.
    pub body: String,
    /// When it was published.
    pub created_at: String,
}

impl Published {
    fn from_row(row: &Row) -> Result<Self, DbError> {
        let r = Read::new(row, "catalog_versions", "etag");
        Ok(Self {
            version: r.int("version")?,
            etag: r.text("etag")?,
            body: r.text("body")?,
            created_at: r.text("created_at")?,
        })
    }

    /// Stores this version (a racing publisher of the same number fails whole).
    #[must_use]
    pub fn insert(&self) -> Stmt {
        stmt!(
            "INSERT INTO catalog_versions (version, etag, body, created_at) VALUES (?1, ?2, ?3, ?4)",
            self.version,
            self.etag.as_str(),
            self.body.as_str(),
            self.created_at.as_str()
        )
    }
}

/// The current catalog, if any was published.
pub async fn current(db: &impl Db) -> Result<Option<Published>, DbError> {
    let row =
        first(db, stmt!("SELECT version, etag, body, created_at FROM catalog_versions ORDER BY version DESC LIMIT 1"))
            .await?;
    row.as_ref().map(Published::from_row).transpose()
}

/// A given version.
pub async fn version(db: &impl Db, version: i64) -> Result<Option<Published>, DbError> {
    let row =
        first(db, stmt!("SELECT version, etag, body, created_at FROM catalog_versions WHERE version = ?1", version))
            .await?;
    row.as_ref().map(Published::from_row).transpose()
}

/// The current version's number (1 when none is stored).
pub async fn current_version(db: &impl Db) -> Result<i64, DbError> {
    let row = first(db, stmt!("SELECT MAX(version) AS v FROM catalog_versions")).await?;
    Ok(row.map(|r| Read::new(&r, "catalog_versions", "v").opt_int("v")).transpose()?.flatten().unwrap_or(1))
}
