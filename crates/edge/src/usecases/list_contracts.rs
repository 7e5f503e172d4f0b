//! `GET /api/accounts/{id}/contracts`: an account's contracts, newest first.

use serde_json::{Value, json};

use crate::http::ApiResult;
use crate::steps::{account_view, pages};
use crate::store::{Db, contracts};

/// One page; `page` is the query's `limit` and `cursor`.
pub async fn run(db: &impl Db, id: &str, scope: Option<&str>, page: (Option<&str>, Option<&str>)) -> ApiResult<Value> {
    account_view::view(db, id, scope).await?;
    let p = pages::page_params(page.0, page.1)?;
    let rows = contracts::page_for_account(db, id, &p.before_at, &p.before_id, p.read()).await?;
    Ok(pages::page(
        rows,
        p.limit,
        |r| Some((r.created_at.clone()?, r.id.clone()?)),
        |r| {
            let mut v = r.body.clone().unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("status".into(), json!(r.status));
                m.insert("version".into(), json!(r.version));
            }
            v
        },
    ))
}
