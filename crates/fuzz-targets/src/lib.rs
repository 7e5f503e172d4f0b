//! The bodies of QuoteKit's fuzz targets. `fuzz/` wraps each in libFuzzer
//! (`make fuzz`); `tests/corpora.rs` replays every committed corpus file
//! through them in `make test`.
//!
//! Each target takes any bytes. Inputs that are not JSON, or not the shape a
//! target wants, return early: the fuzzer learns the shape from the corpora
//! and `fuzz/json.dict`. Beyond "no panic", a target checks what must hold of
//! every answer: totals add up, output is JSON, errors name a field.

use pricing::{Catalog, Invoice, NaiveDate};
use rust_decimal::Decimal;
use serde_json::Value;

/// The dates a target prices on: the input's `today`, else a fixed one.
fn today(v: &Value) -> NaiveDate {
    v.get("today")
        .and_then(Value::as_str)
        .and_then(|t| pricing::read_today(t).ok())
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(2026, 1, 15).unwrap_or_default())
}

fn json(data: &[u8]) -> Option<Value> {
    serde_json::from_slice(data).ok()
}

/// An invoice's totals are the sums of its lines; its amount is subtotal plus tax.
fn check_invoice(i: &Invoice) {
    let sum = |f: fn(&pricing::InvoiceLine) -> Decimal| {
        i.lines.iter().map(f).try_fold(Decimal::ZERO, |a, b| a.checked_add(b))
    };
    assert_eq!(sum(|l| l.amount), Some(i.amount_without_tax), "subtotal is the sum of the lines");
    assert_eq!(sum(|l| l.tax), Some(i.tax), "tax is the sum of the lines' tax");
    assert_eq!(sum(|l| l.discount_amount), Some(i.discount_amount), "the discount is the sum of the lines'");
    for l in i.lines.iter().filter(|l| l.line_type == pricing::LineType::OneTime) {
        assert_eq!(l.period_start, l.period_end, "a one-time line is dated its day");
    }
    assert_eq!(i.amount_without_tax.checked_add(i.tax), Some(i.amount), "amount is subtotal plus tax");
}

fn check_error(e: &pricing::Error) {
    assert!(!e.message.is_empty(), "every error says what is wrong");
}

/// Engine output must be JSON.
fn check_json<T: pricing::ToJson>(value: &T) {
    assert!(serde_json::from_str::<Value>(&pricing::to_json(value)).is_ok(), "the engine writes JSON");
}

/// Catalog parsing and validation: any JSON as a catalog.
pub fn catalog(data: &[u8]) {
    let Some(v) = json(data) else { return };
    if let Err(e) = Catalog::from_json(&v) {
        check_error(&e);
    }
}

/// `estimate` (and the taxed first invoice): `{ catalog, request, today? }`.
pub fn estimate(data: &[u8]) {
    let Some(v) = json(data) else { return };
    let (Some(c), Some(request)) = (v.get("catalog"), v.get("request")) else { return };
    let Ok(catalog) = Catalog::from_json(c) else { return };
    match pricing::estimate(&catalog, request, today(&v)) {
        Ok(quote) => {
            check_invoice(&quote.first_invoice);
            check_json(&quote);
            if let Ok(due) = pricing::due_at_signup(&catalog, request, today(&v)) {
                check_invoice(&due);
                assert_eq!(
                    due.amount_without_tax, quote.first_invoice.amount_without_tax,
                    "tax never changes the subtotal"
                );
            }
        }
        Err(e) => check_error(&e),
    }
}

/// `preview_change` and the billing run's arithmetic: `{ catalog, contract, operation, today?, through?, usage? }`.
pub fn preview_change(data: &[u8]) {
    let Some(v) = json(data) else { return };
    let (Some(c), Some(contract)) = (v.get("catalog"), v.get("contract")) else { return };
    let Ok(catalog) = Catalog::from_json(c) else { return };
    if let Some(op) = v.get("operation") {
        match pricing::preview_change(&catalog, contract, op, today(&v)) {
            Ok(p) => {
                check_invoice(&p.invoice);
                check_json(&p);
            }
            Err(e) => check_error(&e),
        }
    }
    let through = v.get("through").and_then(Value::as_str).and_then(|t| pricing::read_today(t).ok());
    if let Some(through) = through {
        let usage = match pricing::billing::Usage::list_from_json(v.get("usage").unwrap_or(&Value::Null)) {
            Ok(u) => u,
            Err(e) => return check_error(&e),
        };
        match pricing::billing::bill(&catalog, contract, through, &usage) {
            Ok(b) => b.invoices.iter().for_each(check_invoice),
            Err(e) => check_error(&e),
        }
    }
}

/// The API's request parsing: any bytes as a body, read as a Sign-Up request,
/// a contract change, an account update and a usage report. Errors name a
/// code and a message; a usage event's rejection names its own index.
pub fn api_request(data: &[u8]) {
    let v = match edge::http::input::parse_body(data) {
        Ok(v) => v,
        Err(e) => {
            assert!(!e.code.is_empty() && !e.message.is_empty(), "a bad body gets a clear error");
            return;
        }
    };
    if let Err(e) = edge::http::input::signup(&v) {
        assert!(!e.code.is_empty() && !e.message.is_empty());
    }
    if let Err(e) = edge::http::input::change(&v) {
        assert!(!e.code.is_empty() && !e.message.is_empty());
    }
    if let Err(e) = edge::http::input::account_update(&v) {
        assert!(!e.code.is_empty() && !e.message.is_empty());
    }
    // POST /api/usage: the request's error, or each event read or rejected at its own path.
    match edge::http::input::usage::events(&v) {
        Err(e) => assert!(!e.code.is_empty() && !e.message.is_empty()),
        Ok(events) => {
            for (i, (_, event)) in events.iter().enumerate() {
                if let Err(r) = event {
                    assert!(r.path.starts_with(&format!("events[{i}]")) && !r.message.is_empty(), "{r:?}");
                }
            }
        }
    }
}

/// Runs the invoice check on an invoice whose total is wrong (for the test
/// that proves the checks can fail).
#[doc(hidden)]
pub fn check_sums_for_test() {
    let mut i = Invoice {
        invoice_date: NaiveDate::default(),
        amount_without_tax: Decimal::ONE,
        discount_amount: Decimal::ZERO,
        tax: Decimal::ZERO,
        amount: Decimal::ONE,
        lines: vec![],
    };
    i.amount = Decimal::TWO;
    check_invoice(&i);
}

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus folder.
pub const TARGETS: &[(&str, Target)] =
    &[("catalog", catalog), ("estimate", estimate), ("preview_change", preview_change), ("api_request", api_request)];
