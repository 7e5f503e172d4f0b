//! `GET /api/contracts/{id}`: a contract with its amendments and the invoice
//! it will issue next.

use serde_json::Value;

use crate::http::ApiResult;
use crate::ids::Random;
use crate::steps::contract_view;
use crate::store::Db;
use crate::{App, Now};

/// The contract, visible to `scope`, with its `nextInvoice`.
pub async fn run<D: Db, S, R: Random>(
    app: &App<D, S, R>,
    id: &str,
    scope: Option<&str>,
    now: &Now,
) -> ApiResult<Value> {
    let mut body = contract_view::view(&app.db, id, scope).await?;
    let c = contract_view::load_contract(&app.db, id, scope).await?;
    let next = contract_view::next_invoice(app, &c, now).await?;
    if let Value::Object(m) = &mut body {
        m.insert("nextInvoice".into(), next);
    }
    Ok(body)
}
