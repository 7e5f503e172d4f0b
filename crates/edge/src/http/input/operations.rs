//! The small bodies of the vendor's operations: customer tokens, repricing,
//! billing runs.

use serde_json::Value;

use crate::http::{ApiError, ApiResult};

/// `POST /api/customerTokens`: the account and the lifetime in seconds
/// (`expiresIn`, default 3600, at most 86400).
pub fn customer_token(body: &Value) -> ApiResult<(String, i64)> {
    let account = body
        .get("accountId")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad("MISSING_FIELD", "accountId", "accountId is required."))?;
    let ttl = match body.get("expiresIn") {
        None | Some(Value::Null) => crate::tokens::DEFAULT_TTL,
        Some(v) => v
            .as_i64()
            .filter(|t| (1..=crate::tokens::MAX_TTL).contains(t))
            .ok_or_else(|| ApiError::bad("INVALID_VALUE", "expiresIn", "expiresIn is 1 to 86400 seconds."))?,
    };
    Ok((account.to_owned(), ttl))
}

/// `POST /api/contracts/{id}/reprice` `{ preview? }`: whether only to preview.
pub fn reprice(body: &Value) -> ApiResult<bool> {
    if !body.is_object() {
        return Err(ApiError::bad("INVALID_VALUE", "", "The body must be a JSON object."));
    }
    let preview = match body.get("preview") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::bad("INVALID_VALUE", "preview", "preview must be true or false.")),
    };
    if let Some(k) = body.as_object().and_then(|o| o.keys().find(|k| k.as_str() != "preview")) {
        let k: String = k.chars().take(60).collect();
        return Err(ApiError::bad("UNKNOWN_FIELD", &k, format!("Unknown field '{k}'.")));
    }
    Ok(preview)
}

/// A billing run page asked for.
#[derive(Clone, Debug)]
pub struct BillingRunInput {
    /// The day billed (today or a past day).
    pub date: chrono::NaiveDate,
    /// After which contract (the last page's `nextCursor`).
    pub cursor: String,
    /// Contracts in the page.
    pub limit: i64,
}

/// `POST /api/billingRuns` `{ date?, cursor?, limit? }` on `today`.
pub fn billing_run(body: &Value, today: chrono::NaiveDate) -> ApiResult<BillingRunInput> {
    use crate::steps::billing::{DEFAULT_PAGE, MAX_PAGE};
    if !body.is_object() {
        return Err(ApiError::bad("INVALID_VALUE", "", "The body is a JSON object: { date?, cursor?, limit? }."));
    }
    let date = match body.get("date") {
        None | Some(Value::Null) => today,
        Some(v) => v
            .as_str()
            .and_then(pricing::parse_date)
            .ok_or_else(|| ApiError::bad("INVALID_VALUE", "date", "date is YYYY-MM-DD."))?,
    };
    // Billing ahead of time would issue invoices for periods not yet due
    // (and a far date is unbounded work): a run is for today or a past day.
    if date > today {
        return Err(ApiError::bad(
            "INVALID_VALUE",
            "date",
            format!("date may not be after today ({today}): a run bills what is due."),
        ));
    }
    let cursor = match body.get("cursor") {
        None | Some(Value::Null) => "",
        Some(v) => v
            .as_str()
            .ok_or_else(|| ApiError::bad("INVALID_VALUE", "cursor", "cursor is the nextCursor of the page before."))?,
    };
    let limit = match body.get("limit") {
        None | Some(Value::Null) => DEFAULT_PAGE,
        Some(v) => v
            .as_i64()
            .filter(|l| (1..=MAX_PAGE).contains(l))
            .ok_or_else(|| ApiError::bad("INVALID_VALUE", "limit", format!("limit is 1 to {MAX_PAGE}.")))?,
    };
    Ok(BillingRunInput { date, cursor: cursor.to_owned(), limit })
}
