//! `GET /api/invoices/{id}`: an invoice with its payments.

use serde_json::Value;

use crate::http::{ApiError, ApiResult};
use crate::steps::account_view::within;
use crate::steps::documents::{invoice_row_view, payment_view};
use crate::store::{Db, invoices, payments};

/// The invoice, visible to `scope`.
pub async fn run(db: &impl Db, id: &str, scope: Option<&str>) -> ApiResult<Value> {
    let r = invoices::load(db, id)
        .await?
        .filter(|r| within(scope, Some(&r.account_id)))
        .ok_or_else(|| ApiError::not_found("invoice"))?;
    let mut v = invoice_row_view(&r);
    let payments = payments::of_invoice(db, id).await?;
    if let Value::Object(m) = &mut v {
        m.insert("payments".into(), payments.iter().map(payment_view).collect());
    }
    Ok(v)
}
