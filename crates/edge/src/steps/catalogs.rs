//! The published catalog as the engine's `Catalog`: each version parsed
//! once per isolate (versions are immutable); the current one looked up per
//! request, except where a quote is only priced or a version recorded
//! ([`current_shared`]: ESTIMATE, new sessions, the catalog's and promotion
//! codes' reads), which an isolate answers from memory for [`CURRENT_TTL_MS`];
//! publishing validates with the engine (operating settings included) and
//! stores the next version.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use pricing::Catalog;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::http::{ApiError, ApiResult};
use crate::store::Db;
use crate::store::catalogs::{self, Published};

/// Parsed catalogs kept per isolate, by ETag (a version's text never
/// changes; the ETag also tells apart two databases in one test process).
const CACHE_SIZE: usize = 16;

/// How long an isolate keeps answering the current catalog from memory
/// without asking D1. A publish takes effect at once in the isolate that
/// stored it, and in every other within this.
pub const CURRENT_TTL_MS: i64 = 5_000;

/// The current catalog an isolate knows: its database, when it was read (ms), the version.
type Current = (u64, i64, Published, Rc<Catalog>);

thread_local! {
    static PARSED: RefCell<Vec<(String, Rc<Catalog>)>> = const { RefCell::new(Vec::new()) };
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// The engine's catalog of a stored version (parsed once per isolate).
pub fn parse(p: &Published) -> ApiResult<Rc<Catalog>> {
    if let Some(hit) = PARSED.with_borrow(|c| c.iter().find(|(etag, _)| *etag == p.etag).map(|(_, c)| Rc::clone(c))) {
        return Ok(hit);
    }
    let v: Value = serde_json::from_str(&p.body).map_err(ApiError::internal)?;
    let catalog = Rc::new(Catalog::from_json(&v).map_err(|e| ApiError::internal(e.message))?);
    PARSED.with_borrow_mut(|c| {
        if c.len() >= CACHE_SIZE {
            c.remove(0);
        }
        c.push((p.etag.clone(), Rc::clone(&catalog)));
    });
    Ok(catalog)
}

/// The current catalog, or 503 when none has been published yet.
pub async fn require_current(db: &impl Db) -> ApiResult<Published> {
    catalogs::current(db).await?.ok_or_else(no_catalog)
}

/// The current catalog, stored and parsed.
pub async fn current_parsed(db: &impl Db) -> ApiResult<(Published, Rc<Catalog>)> {
    let p = require_current(db).await?;
    let c = parse(&p)?;
    Ok((p, c))
}

/// The current catalog for what only prices a quote or records the version
/// it was priced on: read from D1 at most once per [`CURRENT_TTL_MS`] in an
/// isolate (`now_ms`: the request's clock; a clock that moved back reads
/// again). Billing, changes and usage read [`current_parsed`] every time.
pub async fn current_shared(db: &impl Db, now_ms: i64) -> ApiResult<(Published, Rc<Catalog>)> {
    let fresh = |(identity, read_at, _, _): &Current| {
        *identity == db.identity() && (0..CURRENT_TTL_MS).contains(&now_ms.saturating_sub(*read_at))
    };
    if let Some((_, _, p, c)) = CURRENT.with_borrow(|k| k.as_ref().filter(|k| fresh(k)).cloned()) {
        return Ok((p, c));
    }
    let (p, c) = current_parsed(db).await?;
    remember(db, now_ms, &p, &c);
    Ok((p, c))
}

/// Keeps `p` as the isolate's current catalog, read at `now_ms`.
fn remember(db: &impl Db, now_ms: i64, p: &Published, c: &Rc<Catalog>) {
    CURRENT.with_borrow_mut(|k| *k = Some((db.identity(), now_ms, p.clone(), Rc::clone(c))));
}

/// A version a session or contract was priced on, stored and parsed.
pub async fn version_parsed(db: &impl Db, version: i64) -> ApiResult<(Published, Rc<Catalog>)> {
    let p = catalogs::version(db, version)
        .await?
        .ok_or_else(|| ApiError::internal(format_args!("catalog version {version} is not stored")))?;
    let c = parse(&p)?;
    Ok((p, c))
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

/// The ETag of a catalog text.
#[must_use]
pub fn etag_of(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Validates `body` with the engine and stores it as the next version.
/// Publishing the current text again creates nothing (answers `false`).
pub async fn publish(db: &impl Db, body: &Value, now: &str, now_ms: i64) -> ApiResult<(Published, bool)> {
    let catalog = Catalog::from_json(body).map_err(|e| ApiError::from_engine(&e, ""))?;
    super::promotion::read_all(body, &catalog.coupons)?;
    let text = body.to_string();
    let etag = etag_of(&text);
    let latest = catalogs::current(db).await?;
    if let Some(p) = latest.as_ref().filter(|p| p.etag == etag) {
        return Ok((p.clone(), false));
    }
    let next = latest.map_or(1, |p| p.version.saturating_add(1));
    let published = Published { version: next, etag, body: text, created_at: now.to_owned() };
    db.batch(vec![published.insert()]).await?;
    // This isolate answers the new version at once.
    remember(db, now_ms, &published, &Rc::new(catalog));
    Ok((published, true))
}

/// Published versions a billing run or a change prices on, each looked up
/// once, for pricing a contract on the versions it was sold on.
#[derive(Default)]
pub struct Parsed(BTreeMap<i64, Rc<Catalog>>);

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
            let published = catalogs::version(db, v).await?.ok_or_else(|| {
                ApiError::new(
                    500,
                    "CATALOG_VERSION_MISSING",
                    "catalogVersion",
                    format!("catalog version {v} that the contract is priced on is not stored"),
                )
            })?;
            self.0.insert(v, parse(&published)?);
        }
        Ok(())
    }

    /// A loaded version.
    pub fn get(&self, v: i64) -> ApiResult<&Catalog> {
        self.0.get(&v).map(AsRef::as_ref).ok_or_else(|| ApiError::internal(format_args!("version {v} not loaded")))
    }

    /// Every loaded version, for kept pieces priced on other versions.
    #[must_use]
    pub fn all(&self) -> Vec<(i64, &Catalog)> {
        self.0.iter().map(|(v, c)| (*v, c.as_ref())).collect()
    }

    /// Keeps an already parsed version (the current catalog of a request).
    pub fn insert(&mut self, v: i64, catalog: Rc<Catalog>) {
        self.0.entry(v).or_insert(catalog);
    }
}
