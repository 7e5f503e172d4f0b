//! `POST /api/customerTokens` (secret key): a customer token for an account's portal.

use serde_json::Value;

use crate::http::ApiResult;
use crate::steps::account_view;
use crate::store::Db;
use crate::{Config, Now, tokens};

/// A token for `account`, valid `ttl` seconds (404 for an unknown account).
pub async fn run(db: &impl Db, config: &Config, account: &str, ttl: i64, now: &Now) -> ApiResult<Value> {
    account_view::view(db, account, None).await?;
    tokens::issue(config, account, ttl, now)
}
