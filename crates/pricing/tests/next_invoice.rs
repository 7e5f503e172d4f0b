//! `billing::next_invoice`: what a contract will invoice next as things
//! stand is exactly what `billing::due` bills on that date; days that come to
//! nothing (a trial) are passed over; nothing more owed is `None`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use pricing::billing::{Usage, due, next_invoice};
use pricing::{Catalog, Contract, NaiveDate, estimate};
use rust_decimal::Decimal;
use serde_json::json;

fn d(s: &str) -> NaiveDate {
    pricing::parse_date(s).unwrap()
}

/// Seats at 12/month in advance with a 14-day trial, and calls metered at 0.01.
fn catalog() -> Catalog {
    Catalog::from_json(&json!({
        "currency": "USD",
        "products": [
            { "id": "seats", "name": "Seats", "minQuantity": 1, "defaultQuantity": 3 },
            { "id": "calls", "name": "Calls", "minQuantity": 0, "defaultQuantity": 0, "metered": { "aggregation": "SUM" } } ],
        "offerings": [ { "id": "pro", "name": "Pro", "productIds": ["seats", "calls"], "rates": [ {
            "id": "pro_m", "name": "Monthly", "billingFrequency": "MONTHLY", "billingTiming": "IN_ADVANCE", "trialDays": 14,
            "prices": [ { "productId": "seats", "model": "PER_UNIT", "unitAmount": "12" },
                        { "productId": "calls", "model": "PER_UNIT", "unitAmount": "0.01" } ] } ] } ]
    }))
    .unwrap()
}

fn signed(c: &Catalog, start: &str) -> Contract {
    let q = estimate(
        c,
        &json!({ "quote": { "startDate": start, "offerings": [ { "offeringId": "pro", "rateId": "pro_m",
            "items": [ { "productId": "seats", "quantity": 10 } ] } ] } }),
        d(start),
    )
    .unwrap();
    let body: serde_json::Value = serde_json::from_str(&pricing::to_json(&q.to_contract("c"))).unwrap();
    Contract::from_json(c, &body).unwrap()
}

#[test]
fn the_next_invoice_is_what_is_due_on_its_date_past_a_trial_with_usage_so_far() {
    let c = catalog();
    let contract = signed(&c, "2027-06-01");
    let usage = vec![Usage { product_id: "calls".into(), date: d("2027-06-20"), quantity: Decimal::from(500) }];
    let next = next_invoice(&c, &contract, &usage).unwrap().expect("an invoice is owed");
    // The trial's free days come to nothing: the first charge is on its end.
    assert!(next.invoice_date > d("2027-06-01"), "{next:?}");
    let (periods, _) = due(&c, &contract, next.invoice_date, &usage).unwrap();
    let lines: Vec<_> = periods.into_iter().flat_map(|p| p.lines).collect();
    assert!(!lines.is_empty());
    assert_eq!(next.lines, lines, "exactly what is due that day");
    assert!(next.amount > Decimal::ZERO);
    // Usage reported so far is on the invoice of its period's end.
    let with_usage = next.lines.iter().any(|l| l.product_id.to_string() == "calls");
    let without = next_invoice(&c, &contract, &[]).unwrap().unwrap();
    assert_eq!(with_usage, next.amount != without.amount, "{next:?} / {without:?}");
}

#[test]
fn a_contract_that_owes_nothing_more_has_no_next_invoice() {
    let c = catalog();
    let mut contract = signed(&c, "2027-06-01");
    contract.end_date = Some(d("2027-06-10"));
    // Ends inside its trial: nothing is ever charged.
    assert_eq!(next_invoice(&c, &contract, &[]).unwrap(), None);
}
