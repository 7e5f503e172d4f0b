//! `GET /api/catalog` and `GET /api/catalog/versions/{version}`.

use crate::http::{ApiError, ApiResult};
use crate::steps::catalogs::require_current;
use crate::store::Db;
use crate::store::catalogs::{self, Published};

/// The current version.
pub async fn current(db: &impl Db) -> ApiResult<Published> {
    require_current(db).await
}

/// Version `v`, or 404.
pub async fn version(db: &impl Db, v: i64) -> ApiResult<Published> {
    catalogs::version(db, v).await?.ok_or_else(|| ApiError::not_found("catalog version"))
}
