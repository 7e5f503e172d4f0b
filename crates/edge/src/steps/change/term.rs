//! RENEW (extend the term by `payload.months`, default the first line's
//! rate's `termMonths`) and TERM_CHANGE (move `endDate` by ± months, never
//! before today nor before what is already invoiced). No invoice: billing
//! simply continues, or stops, at the new end.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::apply::amendment;
use super::request::ChangeRequest;
use crate::http::{ApiError, ApiResult};
use crate::ids::{Random, new_id};
use crate::steps::catalogs::{self, Parsed};
use crate::steps::contract_view::view;
use crate::steps::documents::money_json;
use crate::store::amendments::AmendmentStatus;
use crate::store::contracts::{self, ContractRow, ContractStatus};
use crate::store::{Db, catalogs as stored};
use crate::stripe::Stripe;
use crate::{App, Now};

/// Runs a term action on `c`.
pub async fn run<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    c: ContractRow,
    req: &ChangeRequest,
    now: &Now,
) -> ApiResult<(u16, Value)> {
    use chrono::Datelike;
    let action = req.label().to_owned();
    let body = &c.body;
    let date = |k: &str| body.get(k).and_then(Value::as_str).and_then(pricing::parse_date);
    if c.status != ContractStatus::Active {
        return Err(ApiError::new(409, "CONTRACT_NOT_ACTIVE", "contractId", "The contract is not active."));
    }
    let (Some(start), Some(end)) = (date("startDate"), date("endDate")) else {
        return Err(ApiError::new(
            409,
            "CONTRACT_NOT_TERMED",
            "contractId",
            "This contract is evergreen: it has no term to change.",
        ));
    };
    let published = catalogs::require_current(&app.db).await?;
    // The term the contract was sold with: its own catalog version's.
    let own = Parsed::version_of(body, published.version);
    let catalog = catalogs::parse(stored::version(&app.db, own).await?.as_ref().unwrap_or(&published))?;
    let months = match req.op.pointer("/payload/months").and_then(Value::as_i64) {
        Some(m) => m,
        None => body
            .pointer("/offerings/0/rateId")
            .and_then(Value::as_str)
            .and_then(|rate| catalog.offerings.iter().flat_map(|o| o.rates.iter()).find(|r| &*r.id == rate))
            .and_then(|r| r.term_months)
            .map(i64::from)
            .ok_or_else(|| {
                ApiError::bad("MISSING_FIELD", "payload.months", "The rate has no term: give payload.months.")
            })?,
    };
    let new_end = pricing::add_months(end, months, start.day())
        .ok_or_else(|| ApiError::bad("INVALID_VALUE", "payload.months", "That end date is out of range."))?;
    let invoiced = body
        .get("offerings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| l.get("invoicedThrough").and_then(Value::as_str).and_then(pricing::parse_date))
        .max()
        .unwrap_or(start);
    if new_end < now.today || new_end < invoiced || new_end <= start {
        return Err(ApiError::bad(
            "INVALID_VALUE",
            "payload.months",
            format!(
                "The new end {new_end} would be before today or before what is already invoiced ({invoiced}); \
                 cancel instead."
            ),
        ));
    }
    let mut after = body.clone();
    if let Value::Object(m) = &mut after {
        m.insert("endDate".into(), json!(new_end.to_string()));
    }
    let currency = body.get("currency").and_then(Value::as_str).unwrap_or("USD").to_owned();
    let zero = money_json(Decimal::ZERO, &currency);
    let quote = |id: Option<&str>, status: &str| {
        json!({ "id": id, "type": "AMENDMENT", "status": status, "contractId": c.id, "accountId": c.account_id,
                "catalogVersion": published.version, "effectiveDate": now.today.to_string(), "actions": req.action_names(),
                "previousEndDate": end.to_string(), "endDate": new_end.to_string(), "months": months,
                "amountWithoutTax": zero, "tax": zero, "amount": zero, "request": req.op })
    };
    if req.preview {
        let answer = json!({ "action": action, "status": "SUCCESS", "preview": true,
                             "quote": quote(None, "DRAFT"), "contract": after });
        return Ok((200, answer));
    }
    let id = new_id(&app.rng, "amd_");
    let q = quote(Some(&id), "PROCESSED");
    let at = now.instant.as_str();
    let mut batch = c.claim(c.version.saturating_add(1), &action, at);
    batch.push(contracts::set_body(&c.id, &after));
    let today = now.today.to_string();
    batch.push(amendment(&id, &c, req, AmendmentStatus::Applied, &today, &q, published.version, at).upsert());
    app.db.batch(batch).await?;
    let contract = view(&app.db, &c.id, None).await?;
    Ok((200, json!({ "action": action, "status": "SUCCESS", "quote": q, "contract": contract })))
}
