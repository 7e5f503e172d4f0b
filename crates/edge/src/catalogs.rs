//! Published catalogs: immutable numbered versions; the current one is the
//! highest. Sessions and quotes record the version that priced them.

use pricing::Catalog;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::api::{ApiError, ApiResult};
use crate::db::{Db, Row, int, text};
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

    /// Parses the stored text into the engine's catalog (it was validated when published).
    pub fn parse(&self) -> ApiResult<Catalog> {
        let v: Value = serde_json::from_str(&self.body).map_err(|_| ApiError::internal())?;
        Catalog::from_json(&v).map_err(|_| ApiError::internal())
    }
}

/// The current catalog, if any was published.
pub async fn current(db: &impl Db) -> ApiResult<Option<Published>> {
    let rows = db
        .query(stmt!("SELECT version, etag, body, created_at FROM catalog_versions ORDER BY version DESC LIMIT 1"))
        .await?;
    Ok(rows.first().and_then(Published::from_row))
}

/// The current catalog, or 503 when none has been published yet.
pub async fn require_current(db: &impl Db) -> ApiResult<Published> {
    current(db).await?.ok_or_else(no_catalog)
}

/// The error when nothing is published.
#[must_use]
pub fn no_catalog() -> ApiError {
    ApiError::new(
        503,
        "NO_CATALOG",
        "",
        "No catalog has been published yet: PUT /api/catalog with the secret key first.",
    )
}

/// A given version.
pub async fn version(db: &impl Db, version: i64) -> ApiResult<Option<Published>> {
    let rows = db
        .query(stmt!("SELECT version, etag, body, created_at FROM catalog_versions WHERE version = ?1", version))
        .await?;
    Ok(rows.first().and_then(Published::from_row))
}

/// The ETag of a catalog text.
#[must_use]
pub fn etag_of(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Validates `body` with the engine and stores it as the next version.
/// Publishing the current text again creates nothing (answers `false`).
pub async fn publish(db: &impl Db, body: &Value, now: &str) -> ApiResult<(Published, bool)> {
    Catalog::from_json(body).map_err(|e| ApiError::from_engine(&e, ""))?;
    let text = body.to_string();
    let etag = etag_of(&text);
    let latest = current(db).await?;
    if let Some(p) = latest.as_ref().filter(|p| p.etag == etag) {
        return Ok((p.clone(), false));
    }
    let next = latest.map_or(1, |p| p.version.saturating_add(1));
    db.batch(vec![stmt!(
        "INSERT INTO catalog_versions (version, etag, body, created_at) VALUES (?1, ?2, ?3, ?4)",
        next,
        etag.as_str(),
        text.as_str(),
        now
    )])
    .await?;
    Ok((Published { version: next, etag, body: text, created_at: now.to_owned() }, true))
}

/// Published versions, each read and parsed once (per billing run or
/// request), for pricing a contract on the versions it was sold on.
#[derive(Default)]
pub struct Parsed(std::collections::BTreeMap<i64, Catalog>);

impl Parsed {
    /// The version a contract's lines are priced on: its `catalogVersion`
    /// (written at sign-up and by every change), else `fallback`.
    #[must_use]
    pub fn version_of(body: &Value, fallback: i64) -> i64 {
        body.get("catalogVersion").and_then(Value::as_i64).unwrap_or(fallback)
    }

    /// Every version `body` (a stored contract) is priced on: its own, then
    /// each kept piece's.
    fn versions_of(body: &Value, own: i64) -> Vec<i64> {
        let mut out = vec![own];
        let pieces = body.get("unbilledArrears").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        out.extend(pieces.iter().filter_map(|p| p.get("catalogVersion").and_then(Value::as_i64)));
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Loads (once each) the versions `body` is priced on. A version that
    /// is not stored is `CATALOG_VERSION_MISSING`.
    pub async fn load_for(&mut self, db: &impl Db, body: &Value, own: i64) -> ApiResult<()> {
        for v in Self::versions_of(body, own) {
            if self.0.contains_key(&v) {
                continue;
            }
            let published = version(db, v).await?.ok_or_else(|| {
                ApiError::new(
                    500,
                    "CATALOG_VERSION_MISSING",
                    "catalogVersion",
                    format!("catalog version {v} that the contract is priced on is not stored"),
                )
            })?;
            self.0.insert(v, published.parse()?);
        }
        Ok(())
    }

    /// A loaded version.
    pub fn get(&self, v: i64) -> ApiResult<&Catalog> {
        self.0.get(&v).ok_or_else(ApiError::internal)
    }

    /// Every loaded version, for kept pieces priced on other versions.
    #[must_use]
    pub fn all(&self) -> Vec<(i64, &Catalog)> {
        self.0.iter().map(|(v, c)| (*v, c)).collect()
    }

    /// Keeps an already parsed version (the current catalog of a request).
    pub fn insert(&mut self, v: i64, catalog: Catalog) {
        self.0.entry(v).or_insert(catalog);
    }
}
