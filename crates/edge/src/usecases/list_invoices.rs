//! `GET /api/accounts/{id}/invoices`: an account's invoices, newest first.

use serde_json::Value;

use crate::http::ApiResult;
use crate::steps::documents::invoice_row_view;
use crate::steps::{account_view, pages};
use crate::store::{Db, invoices};

/// One page; `page` is the query's `limit` and `cursor`.
pub async fn run(db: &impl Db, id: &str, scope: Option<&str>, page: (Option<&str>, Option<&str>)) -> ApiResult<Value> {
    account_view::view(db, id, scope).await?;
    let p = pages::page_params(page.0, page.1)?;
    let rows = invoices::page_for_account(db, id, &p.before_at, &p.before_id, p.read()).await?;
    Ok(pages::page(rows, p.limit, |r| Some((r.created_at.clone()?, r.id.clone())), invoice_row_view))
}
