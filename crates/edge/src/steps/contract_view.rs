//! A contract as answered: its body with the stored status and version, its
//! amendments, scheduled changes and those waiting for review, and the
//! invoice it will issue next as things stand.

use pricing::Address;
use serde_json::{Value, json};

use super::catalogs::{self, Parsed};
use super::documents::draft_view;
use super::usage;
use crate::http::{ApiError, ApiResult};
use crate::ids::Random;
use crate::store::amendments;
use crate::store::contracts::{self, ContractRow, ContractStatus};
use crate::store::{Db, accounts};
use crate::{App, Now};

/// Loads a contract visible to `scope` (a customer token's account, or
/// `None` for the secret key); 404 otherwise.
pub async fn load_contract(db: &impl Db, id: &str, scope: Option<&str>) -> ApiResult<ContractRow> {
    contracts::load(db, id)
        .await?
        .filter(|c| scope.is_none_or(|a| a == c.account_id))
        .ok_or_else(|| ApiError::not_found("contract"))
}

/// A contract with its amendments and scheduled changes (`GET /api/contracts/{id}`).
pub async fn view(db: &impl Db, id: &str, scope: Option<&str>) -> ApiResult<Value> {
    let c = load_contract(db, id, scope).await?;
    let amendments: Vec<Value> = amendments::of_contract(db, id)
        .await?
        .into_iter()
        .map(|a| {
            // What it asks (the operation) and what its date invoices, for
            // pages that say "switch to Annual on Jan 1: $1,440.00".
            let quote = a.quote.unwrap_or(Value::Null);
            json!({
                "id": a.id, "action": a.action, "status": a.status,
                "effectiveDate": a.effective_date, "invoiceId": a.invoice_id,
                "error": a.error, "createdAt": a.created_at,
                "request": a.request, "amount": quote.get("amount"),
                "nextInvoice": quote.get("nextInvoice"),
            })
        })
        .collect();
    let pick = |s: &str| -> Vec<Value> {
        amendments.iter().filter(|a| a.get("status").and_then(Value::as_str) == Some(s)).cloned().collect()
    };
    let mut body = c.body.clone();
    if let Value::Object(m) = &mut body {
        // One status everywhere: the stored one (SUSPENDED is the API's, not the engine's).
        m.insert("status".into(), json!(c.status.as_str()));
        m.insert("version".into(), json!(c.version));
        m.insert("scheduledChanges".into(), Value::Array(pick(amendments::AmendmentStatus::Scheduled.as_str())));
        m.insert("pendingReview".into(), Value::Array(pick(amendments::AmendmentStatus::Review.as_str())));
        m.insert("amendments".into(), Value::Array(amendments.clone()));
    }
    Ok(body)
}

/// The invoice `c` will issue next as things stand (`GET /api/contracts/{id}`'s
/// `nextInvoice`, a DRAFT): dated the earliest day anything still unbilled is
/// due, with everything due by then, usage as reported so far, tax and the
/// account's credit as they are now. Scheduled changes are not in it (each
/// answers its own `nextInvoice`); `null` for a suspended contract or when
/// nothing more is owed.
pub async fn next_invoice<D: Db, S, R: Random>(app: &App<D, S, R>, c: &ContractRow, now: &Now) -> ApiResult<Value> {
    if c.status == ContractStatus::Suspended {
        return Ok(Value::Null);
    }
    let current = catalogs::require_current(&app.db).await?.version;
    let mut versions = Parsed::default();
    let metering = usage::read_contract(&app.db, &mut versions, c, current).await?;
    let own = Parsed::version_of(&c.body, current);
    let catalog = versions.get(own)?;
    let used = usage::billable(&app.db, &c.id, &metering.contract, (&versions, own), None).await?;
    let next =
        pricing::billing::next_invoice(catalog, &metering.contract, &used).map_err(|e| c.unreadable_body(e.message))?;
    let Some(invoice) = next else { return Ok(Value::Null) };
    let account = accounts::load(&app.db, &c.account_id)
        .await?
        .ok_or_else(|| ApiError::internal(format_args!("account {} is not stored", c.account_id)))?;
    let address = Address::from_json(account.billing_address.as_ref().unwrap_or(&Value::Null));
    let invoice = invoice.with_tax(catalog, &address).map_err(|e| c.unreadable_body(e.message))?;
    Ok(draft_view(&app.rng, c, catalog.currency.code(), &invoice, account.credit_balance, now))
}
