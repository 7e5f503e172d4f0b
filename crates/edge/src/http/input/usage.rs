//! Reading `POST /api/usage`: `{ events: [{ id, contractId, productId,
//! quantity, timestamp }] }`, at most [`MAX_EVENTS`]. A malformed event is
//! that event's rejection (code and path), never the request's: one bad event
//! never loses the others.

use chrono::{DateTime, NaiveDate};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::http::{ApiError, ApiResult};

/// Events per request.
pub const MAX_EVENTS: usize = 1_000;

/// The longest event id.
pub const MAX_ID: usize = 255;

/// One event, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageEvent {
    /// The vendor's id: an event is counted once, forever.
    pub id: String,
    /// `ctr_…`.
    pub contract_id: String,
    /// The metered product.
    pub product_id: String,
    /// How much (at least 0).
    pub quantity: Decimal,
    /// RFC 3339 with an offset, as sent.
    pub timestamp: String,
    /// The UTC date of `timestamp`: the usage day.
    pub day: NaiveDate,
    /// `timestamp` in milliseconds since 1970 (for the future check).
    pub at_millis: i64,
}

/// Why an event is rejected: its code, the field's path and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// `UNKNOWN_CONTRACT`, `NOT_METERED`, …
    pub code: &'static str,
    /// `events[3].productId`.
    pub path: String,
    /// For a person.
    pub message: String,
}

impl Rejection {
    /// A rejection at `events[i].field`.
    #[must_use]
    pub fn at(code: &'static str, i: usize, field: &str, message: impl Into<String>) -> Self {
        Self { code, path: format!("events[{i}].{field}"), message: message.into() }
    }
}

/// One event of a request: its id when readable (for the answer), and the event or why not.
pub type Reported = (Option<String>, Result<UsageEvent, Rejection>);

/// The request's events, each read or rejected.
pub fn events(body: &Value) -> ApiResult<Vec<Reported>> {
    let list = match body.get("events") {
        None | Some(Value::Null) => return Err(ApiError::bad("MISSING_FIELD", "events", "events is required.")),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(ApiError::bad("INVALID_VALUE", "events", "events is a list of usage events.")),
    };
    if list.len() > MAX_EVENTS {
        return Err(ApiError::bad(
            "INVALID_VALUE",
            "events",
            format!("At most {MAX_EVENTS} events per request ({} sent): send the rest in another.", list.len()),
        ));
    }
    Ok(list.iter().enumerate().map(|(i, v)| event(i, v)).collect())
}

fn event(i: usize, v: &Value) -> Reported {
    let id = v.get("id").and_then(Value::as_str).map(str::to_owned);
    (id, read(i, v))
}

fn text<'a>(i: usize, v: &'a Value, field: &str) -> Result<&'a str, Rejection> {
    match v.get(field) {
        None | Some(Value::Null) => Err(Rejection::at("MISSING_FIELD", i, field, format!("{field} is required."))),
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(Rejection::at("INVALID_VALUE", i, field, format!("{field} is a non-empty string."))),
    }
}

fn read(i: usize, v: &Value) -> Result<UsageEvent, Rejection> {
    if !v.is_object() {
        return Err(Rejection {
            code: "INVALID_VALUE",
            path: format!("events[{i}]"),
            message: "Each event is an object.".into(),
        });
    }
    let id = text(i, v, "id")?;
    if id.chars().count() > MAX_ID || id.chars().any(char::is_control) {
        return Err(Rejection::at("INVALID_VALUE", i, "id", format!("id is 1 to {MAX_ID} printable characters.")));
    }
    let contract_id = text(i, v, "contractId")?;
    let product_id = text(i, v, "productId")?;
    let quantity = match v.get("quantity") {
        None | Some(Value::Null) => return Err(Rejection::at("MISSING_FIELD", i, "quantity", "quantity is required.")),
        Some(q @ (Value::Number(_) | Value::String(_))) => {
            let text = q.as_str().map_or_else(|| q.to_string(), str::to_owned);
            pricing::parse_decimal(&text)
                .ok()
                .filter(|d| !d.is_sign_negative())
                .ok_or_else(|| Rejection::at("INVALID_VALUE", i, "quantity", "quantity is a number, at least 0."))?
        }
        Some(_) => return Err(Rejection::at("INVALID_VALUE", i, "quantity", "quantity is a number, at least 0.")),
    };
    let timestamp = text(i, v, "timestamp")?;
    let at = DateTime::parse_from_rfc3339(timestamp).map_err(|_| {
        Rejection::at(
            "INVALID_VALUE",
            i,
            "timestamp",
            "timestamp is an RFC 3339 date-time with an offset (2026-12-01T09:30:00Z).",
        )
    })?;
    let utc = at.naive_utc();
    Ok(UsageEvent {
        id: id.to_owned(),
        contract_id: contract_id.to_owned(),
        product_id: product_id.to_owned(),
        quantity: quantity.normalize(),
        timestamp: timestamp.to_owned(),
        day: utc.date(),
        at_millis: utc.and_utc().timestamp_millis(),
    })
}
