//! `GET /api/quotes/{id}`: a sign-up quote or an amendment quote.

use serde_json::Value;

use crate::http::{ApiError, ApiResult};
use crate::steps::account_view::within;
use crate::store::{Db, amendments, quotes};

/// The quote, visible to `scope`.
pub async fn run(db: &impl Db, id: &str, scope: Option<&str>) -> ApiResult<Value> {
    let found = match quotes::find(db, id).await? {
        Some(q) => Some(q),
        None => amendments::quote(db, id).await?,
    };
    found
        .filter(|(account, _)| within(scope, account.as_deref()))
        .and_then(|(_, body)| body)
        .ok_or_else(|| ApiError::not_found("quote"))
}
