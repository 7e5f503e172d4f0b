//! `GET /api/contracts/{id}`: a contract with its amendments.

use serde_json::Value;

use crate::http::ApiResult;
use crate::steps::contract_view;
use crate::store::Db;

/// The contract, visible to `scope`.
pub async fn run(db: &impl Db, id: &str, scope: Option<&str>) -> ApiResult<Value> {
    contract_view::view(db, id, scope).await
}
