//! `catalog_versions`: published catalogs, immutable numbered versions; the
//! current one is the highest.

use super::{Db, DbError, Row, Stmt, first, int, text};
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
    fn from_row(row: &Row) -> Option<Self> {
        Some(Self {
            version: int(row, "version")?,
            etag: text(row, "etag")?,
            body: text(row, "body")?,
            created_at: text(row, "created_at")?,
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
    Ok(row.as_ref().and_then(Published::from_row))
}

/// A given version.
pub async fn version(db: &impl Db, version: i64) -> Result<Option<Published>, DbError> {
    let row =
        first(db, stmt!("SELECT version, etag, body, created_at FROM catalog_versions WHERE version = ?1", version))
            .await?;
    Ok(row.as_ref().and_then(Published::from_row))
}

/// The current version's number (1 when none is stored).
pub async fn current_version(db: &impl Db) -> Result<i64, DbError> {
    let row = first(db, stmt!("SELECT MAX(version) AS v FROM catalog_versions")).await?;
    Ok(row.and_then(|r| int(&r, "v")).unwrap_or(1))
}
