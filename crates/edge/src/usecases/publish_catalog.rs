//! `PUT /api/catalog` (secret key): validated by the engine (its prices,
//! and its approval, dunning and renewal settings), stored as the next version.

use serde_json::Value;

use crate::Now;
use crate::http::ApiResult;
use crate::steps::catalogs;
use crate::store::Db;
use crate::store::catalogs::Published;

/// Publishes `body`; `false` when it is the current version's text already.
pub async fn run(db: &impl Db, body: &Value, now: &Now) -> ApiResult<(Published, bool)> {
    catalogs::publish(db, body, &now.instant, now.millis()).await
}
