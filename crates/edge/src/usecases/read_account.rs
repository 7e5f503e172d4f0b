//! `GET /api/accounts/{id}`: an account with its contacts and bill groups.

use serde_json::Value;

use crate::http::ApiResult;
use crate::steps::account_view;
use crate::store::Db;

/// The account, visible to `scope`.
pub async fn run(db: &impl Db, id: &str, scope: Option<&str>) -> ApiResult<Value> {
    account_view::view(db, id, scope).await
}
