//! `GET /api/accounts?customId=` (secret key): the account with the vendor's reference.

use serde_json::{Value, json};

use crate::http::ApiResult;
use crate::steps::account_view::account_view;
use crate::store::{Db, accounts};

/// Accounts whose customId compares equal to `custom_id`.
pub async fn run(db: &impl Db, custom_id: &str) -> ApiResult<Value> {
    let found = accounts::by_custom_id_key(db, &crate::custom_ids::key(custom_id)).await?;
    Ok(json!({ "data": found.iter().map(account_view).collect::<Vec<_>>(), "nextCursor": null }))
}
