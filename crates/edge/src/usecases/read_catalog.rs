//! `GET /api/catalog` and `GET /api/catalog/versions/{version}`. Coupons are
//! public terms; promotion codes are secret: the publishable key never sees
//! them, and the secret key's answer is not to be cached.

use crate::http::{ApiError, ApiResult};
use crate::steps::catalogs::{current_shared, etag_of};
use crate::steps::promotion::public_text;
use crate::store::Db;
use crate::store::catalogs::{self, Published};

/// A catalog version as one caller may see it.
pub struct Shown {
    /// 1, 2, 3, …
    pub version: i64,
    /// The text.
    pub body: String,
    /// Its strong ETag.
    pub etag: String,
    /// It holds promotion codes (the secret key's answer): `private, no-store`.
    pub private: bool,
}

fn shown(p: Published, publishable: bool) -> Shown {
    if !publishable {
        return Shown { version: p.version, body: p.body, etag: p.etag, private: true };
    }
    match public_text(&p.body) {
        Some(body) => Shown { version: p.version, etag: etag_of(&body), body, private: false },
        None => Shown { version: p.version, body: p.body, etag: p.etag, private: false },
    }
}

/// The current version (as the isolate knows it: `catalogs::current_shared`).
pub async fn current(db: &impl Db, publishable: bool, now_ms: i64) -> ApiResult<Shown> {
    Ok(shown(current_shared(db, now_ms).await?.0, publishable))
}

/// Version `v`, or 404.
pub async fn version(db: &impl Db, v: i64, publishable: bool) -> ApiResult<Shown> {
    let p = catalogs::version(db, v).await?.ok_or_else(|| ApiError::not_found("catalog version"))?;
    Ok(shown(p, publishable))
}
