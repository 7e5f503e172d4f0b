//! A contract as answered: its body with the stored status and version, its
//! amendments, scheduled changes and those waiting for review.

use serde_json::{Value, json};

use crate::http::{ApiError, ApiResult};
use crate::store::Db;
use crate::store::amendments;
use crate::store::contracts::{self, ContractRow};

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
