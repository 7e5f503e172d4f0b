//! Golden vectors: one file of truth, many consumers. A case is
//! `{ name, description, catalog, today, request | contract + operation,
//! expected }`; `expected` is `{ quote }`, `{ change }` or `{ error }`, and
//! only the fields it holds are compared, numbers as decimals.
//!
//! Used by the test suites of every runtime (native, wasm in a browser and in
//! Node) and the parity check, as a dev-dependency: nothing here is needed to
//! price, so none of it ships in the engine.

use serde_json::{Value, json};

use pricing::{Catalog, Error, estimate, preview_change, read_today, to_json};

/// Runs a case: `("quote" | "change", the engine's JSON text)` or its error.
pub fn run(case: &Value) -> Result<(&'static str, String), Error> {
    let catalog = Catalog::from_json(case.get("catalog").unwrap_or(&Value::Null))?;
    let today = read_today(case.get("today").and_then(Value::as_str).unwrap_or_default())?;
    // A billing case: what the billing run issues for `contract` through `through`.
    if let Some(through) = case.get("through").and_then(Value::as_str) {
        let contract = case.get("contract").unwrap_or(&Value::Null);
        let usage = pricing::billing::Usage::list_from_json(case.get("usage").unwrap_or(&Value::Null))?;
        let through = pricing::read_date(through, "through")?;
        return Ok(("billing", to_json(&pricing::billing::bill(&catalog, contract, through, &usage)?)));
    }
    match case.get("operation").filter(|o| !o.is_null()) {
        Some(op) => {
            let contract = case.get("contract").unwrap_or(&Value::Null);
            Ok(("change", to_json(&preview_change(&catalog, contract, op, today)?)))
        }
        None => {
            let request = case.get("request").unwrap_or(&Value::Null);
            Ok(("quote", to_json(&estimate(&catalog, request, today)?)))
        }
    }
}

/// The engine's answer to a case, in the shape of `expected`: `{ "quote" }`,
/// `{ "change" }` or `{ "error": { code, path, message } }`.
#[must_use]
pub fn outcome(case: &Value) -> Value {
    match run(case) {
        Ok((key, text)) => json!({ key: serde_json::from_str::<Value>(&text).unwrap_or(Value::Null) }),
        Err(e) => error_outcome(&e),
    }
}

/// `{ "error": { code, path, message } }`.
#[must_use]
pub fn error_outcome(e: &Error) -> Value {
    json!({ "error": { "code": e.code.as_str(), "path": e.path, "message": e.message } })
}

/// Checks that every field present in `expected` matches `actual`; numbers
/// compare as decimals (`65.81` equals `65.810`). The error names the first
/// mismatching path.
pub fn matches(expected: &Value, actual: &Value) -> Result<(), String> {
    matches_at(expected, actual, "expected")
}

fn matches_at(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().try_for_each(|(k, ev)| {
            let av = a.get(k).ok_or_else(|| format!("{path}.{k}: missing"))?;
            matches_at(ev, av, &format!("{path}.{k}"))
        }),
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!("{path}: {} elements expected, {} found", e.len(), a.len()));
            }
            e.iter().zip(a).enumerate().try_for_each(|(i, (ev, av))| matches_at(ev, av, &format!("{path}[{i}]")))
        }
        (Value::Number(e), Value::Number(a)) => {
            let (ed, ad) = (pricing::parse_decimal(e.as_str()), pricing::parse_decimal(a.as_str()));
            match (ed, ad) {
                (Ok(ed), Ok(ad)) if ed == ad => Ok(()),
                _ => Err(format!("{path}: expected {e}, found {a}")),
            }
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, found {a}")),
    }
}

/// Runs a case natively: `Ok` when the answer matches `expected`.
pub fn check(case: &Value) -> Result<(), String> {
    let actual = outcome(case);
    matches(case.get("expected").unwrap_or(&Value::Null), &actual).map_err(|why| format!("{why}\n  actual: {actual}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_comparison_takes_numbers_as_decimals_and_ignores_extra_fields() {
        let expected = json!({ "amount": 65.81, "lines": [ { "a": "x" } ] });
        assert!(matches(&expected, &json!({ "amount": 65.810, "lines": [ { "a": "x", "b": 1 } ] })).is_ok());
    }

    #[test]
    fn the_comparison_rejects_a_wrong_amount_a_missing_field_or_another_length() {
        let expected = json!({ "amount": 65.81, "lines": [ { "a": "x" } ] });
        assert!(matches(&expected, &json!({ "amount": 65.8, "lines": [ { "a": "x" } ] })).is_err());
        assert!(matches(&expected, &json!({ "amount": 65.81, "lines": [] })).is_err());
        assert!(matches(&expected, &json!({ "lines": [ { "a": "x" } ] })).is_err());
        assert!(matches(&json!({ "endDate": null }), &json!({ "endDate": "2024-01-01" })).is_err());
    }
}
