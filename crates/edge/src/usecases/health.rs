//! `GET /healthz`: the Worker answers and reads its storage.

use serde_json::{Value, json};

use crate::http::ApiResult;
use crate::store::{Db, catalogs};

/// `{ status, catalogVersion }`.
pub async fn run(db: &impl Db) -> ApiResult<Value> {
    let version = catalogs::current(db).await?.map(|p| p.version);
    Ok(json!({ "status": "ok", "catalogVersion": version }))
}
