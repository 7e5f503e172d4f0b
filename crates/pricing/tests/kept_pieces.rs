//! What a kept piece (`unbilledArrears`) holds and bills: only what is still
//! owed for its time, the metered products' usage and, for an `IN_ARREARS`
//! line, its licensed products. Seats paid in advance are never billed again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use pricing::billing::{Usage, bill};
use pricing::{Catalog, NaiveDate, estimate, preview_change};
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn d(s: &str) -> NaiveDate {
    pricing::parse_date(s).unwrap()
}

/// A plan of 12/month seats (in advance or in arrears) with two metered
/// products (calls summed, storage at its peak), and a plan without them.
fn catalog(timing: &str) -> Catalog {
    Catalog::from_json(&json!({
        "currency": "USD",
        "settings": { "billingAnchor": { "type": "DAY_OF_MONTH", "day": 1 } },
        "products": [
            { "id": "seats", "name": "Seats", "minQuantity": 1, "defaultQuantity": 3 },
            { "id": "calls", "name": "Calls", "minQuantity": 0, "defaultQuantity": 0, "metered": { "aggregation": "SUM" } },
            { "id": "peak", "name": "Peak GB", "minQuantity": 0, "defaultQuantity": 0, "metered": { "aggregation": "MAX" } },
            { "id": "flat", "name": "Flat", "minQuantity": 1, "maxQuantity": 1 } ],
        "offerings": [
            { "id": "pro", "name": "Pro", "productIds": ["seats", "calls", "peak"], "rates": [ {
                "id": "pro_m", "name": "Monthly", "billingFrequency": "MONTHLY", "billingTiming": timing,
                "prices": [ { "productId": "seats", "model": "PER_UNIT", "unitAmount": "12" },
                            { "productId": "calls", "model": "TIERED", "tiers": [
                                { "upTo": 1000, "unitAmount": "0" }, { "upTo": null, "unitAmount": "0.01" } ] },
                            { "productId": "peak", "model": "PER_UNIT", "unitAmount": "0.5" } ] } ] },
            { "id": "basic", "name": "Basic", "productIds": ["flat"], "rates": [ {
                "id": "basic_m", "name": "Monthly", "billingFrequency": "MONTHLY", "billingTiming": "IN_ADVANCE",
                "prices": [ { "productId": "flat", "model": "FLAT", "amount": "20" } ] } ] } ]
    }))
    .unwrap()
}

fn signed(c: &Catalog, start: &str) -> Value {
    let q = estimate(
        c,
        &json!({ "quote": { "startDate": start, "offerings": [ { "offeringId": "pro", "rateId": "pro_m",
            "items": [ { "productId": "seats", "quantity": 12 } ] } ] } }),
        d(start),
    )
    .unwrap();
    serde_json::from_str(&pricing::to_json(&q.to_contract("c"))).unwrap()
}

fn usage() -> Vec<Usage> {
    let day = |date: &str, product: &str, q: i64| Usage {
        product_id: product.into(),
        date: d(date),
        quantity: Decimal::from(q),
    };
    vec![
        day("2027-06-02", "calls", 20_000),
        day("2027-06-10", "calls", 15_000),
        day("2027-06-03", "peak", 80),
        day("2027-06-12", "peak", 120),
        day("2027-06-20", "calls", 9_999),
        day("2027-06-20", "peak", 999),
    ]
}

fn after(c: &Catalog, contract: &Value, op: &Value, today: &str) -> Value {
    let p = preview_change(c, contract, op, d(today)).unwrap();
    serde_json::from_str(&pricing::to_json(&p.contract)).unwrap()
}

/// Every `(product, type, start, end, amount)` the invoices of a run bill.
fn lines(billing: &pricing::billing::Billing) -> Vec<(String, String, String, String, Decimal)> {
    billing
        .invoices
        .iter()
        .flat_map(|i| &i.lines)
        .map(|l| {
            (
                l.product_id.to_string(),
                l.line_type.as_str().to_owned(),
                l.period_start.to_string(),
                l.period_end.to_string(),
                l.amount,
            )
        })
        .collect()
}

#[test]
fn a_cancellation_keeps_only_the_usage_of_an_in_advance_line_and_bills_it_at_the_period_end() {
    let c = catalog("IN_ADVANCE");
    let contract = signed(&c, "2027-06-01");
    let canceled = after(&c, &contract, &json!({ "action": "CANCELLATION", "payload": null }), "2027-06-15");
    assert_eq!(canceled["status"], "CANCELED");
    let kept = &canceled["unbilledArrears"];
    assert_eq!(kept.as_array().unwrap().len(), 1, "{kept}");
    assert_eq!((kept[0]["start"].as_str(), kept[0]["end"].as_str()), (Some("2027-06-01"), Some("2027-06-15")));
    assert_eq!(
        kept[0]["products"],
        json!([{ "productId": "calls", "metered": true }, { "productId": "peak", "metered": true }]),
        "the seats were paid on 06-01: a kept piece never lists them"
    );
    let billed = bill(&c, &canceled, d("2027-07-01"), &usage()).unwrap();
    assert_eq!(billed.invoices.len(), 1);
    assert_eq!(billed.invoices[0].invoice_date, d("2027-07-01"));
    // Calls: 35 000 before the 15th, 1 000 free, then 0.01: 340.00. Peak: 120 × 0.5 = 60.00.
    // The events of the 20th are after the cancellation: not this contract's.
    assert_eq!(
        lines(&billed),
        [
            ("calls".into(), "USAGE".into(), "2027-06-01".into(), "2027-06-15".into(), Decimal::new(34000, 2)),
            ("peak".into(), "USAGE".into(), "2027-06-01".into(), "2027-06-15".into(), Decimal::new(6000, 2)),
        ]
    );
    assert!(billed.contract.unbilled.is_empty());
}

#[test]
fn an_offering_change_dropping_metered_products_never_bills_prepaid_seats_again() {
    let c = catalog("IN_ADVANCE");
    let contract = signed(&c, "2027-03-01");
    let op = json!({ "action": "OFFERING_CHANGE", "payload": { "offerings": [ { "offeringId": "pro", "newOfferingId": "basic" } ] } });
    let p = preview_change(&c, &contract, &op, d("2027-03-10")).unwrap();
    // The change credits the seats for [03-10, 04-01) and charges the new plan for the same days.
    let credited: Decimal = p.invoice.lines.iter().filter(|l| &*l.product_id == "seats").map(|l| l.amount).sum();
    assert_eq!(credited, Decimal::new(-10219, 2), "144 × 22/31");
    let changed: Value = serde_json::from_str(&pricing::to_json(&p.contract)).unwrap();
    assert_eq!(
        changed["unbilledArrears"][0]["products"],
        json!([{ "productId": "calls", "metered": true }, { "productId": "peak", "metered": true }])
    );
    let usage = vec![Usage { product_id: "calls".into(), date: d("2027-03-05"), quantity: Decimal::from(1500) }];
    let billed = bill(&c, &changed, d("2027-04-01"), &usage).unwrap();
    let seats: Vec<_> = lines(&billed).into_iter().filter(|l| l.0 == "seats").collect();
    assert!(seats.is_empty(), "the seats of [03-01, 03-10) were paid on 03-01: {seats:?}");
    assert!(lines(&billed).contains(&(
        "calls".into(),
        "USAGE".into(),
        "2027-03-01".into(),
        "2027-03-10".into(),
        Decimal::new(500, 2)
    )));
}

#[test]
fn an_in_arrears_line_keeps_its_seats_and_its_usage_in_one_piece() {
    let c = catalog("IN_ARREARS");
    let contract = signed(&c, "2027-06-01");
    let canceled = after(&c, &contract, &json!({ "action": "CANCELLATION", "payload": null }), "2027-06-15");
    let kept = &canceled["unbilledArrears"];
    assert_eq!(kept.as_array().unwrap().len(), 1, "{kept}");
    assert_eq!(
        kept[0]["products"],
        json!([{ "productId": "seats", "quantity": 12 }, { "productId": "calls", "metered": true },
               { "productId": "peak", "metered": true }])
    );
    let billed = bill(&c, &canceled, d("2027-07-01"), &usage()).unwrap();
    let seats: Vec<_> = lines(&billed).into_iter().filter(|l| l.0 == "seats").collect();
    assert_eq!(
        seats,
        [("seats".into(), "RECURRING".into(), "2027-06-01".into(), "2027-06-15".into(), Decimal::new(6720, 2))],
        "144 × 14/30"
    );
}

#[test]
fn a_piece_stored_listing_in_advance_seats_bills_only_its_usage() {
    // Contracts stored before pieces were trimmed listed every product; the
    // seats of an in-advance line were paid already and are not billed again.
    let c = catalog("IN_ADVANCE");
    let mut canceled =
        after(&c, &signed(&c, "2027-06-01"), &json!({ "action": "CANCELLATION", "payload": null }), "2027-06-15");
    canceled["unbilledArrears"][0]["products"] = json!([{ "productId": "seats", "quantity": 12 },
        { "productId": "calls", "metered": true }, { "productId": "peak", "metered": true }]);
    let billed = bill(&c, &canceled, d("2027-07-01"), &usage()).unwrap();
    assert!(lines(&billed).iter().all(|l| l.0 != "seats"));
    assert_eq!(billed.invoices[0].amount_without_tax, Decimal::new(40000, 2));
}

/// Two monthly plans: `a` (seats, calls at 0.01, or at 0.02 on its second
/// rate) and `b` (seats, calls at 0.03 and storage at its peak): found by the
/// lifecycle property (tests/lifecycle.rs), shrunk to these histories.
fn two_plans() -> Catalog {
    Catalog::from_json(&json!({
        "currency": "USD",
        "settings": { "billingAnchor": { "type": "DAY_OF_MONTH", "day": 1 } },
        "products": [
            { "id": "seats", "name": "Seats", "minQuantity": 1, "defaultQuantity": 1 },
            { "id": "calls", "name": "Calls", "minQuantity": 0, "defaultQuantity": 0, "metered": { "aggregation": "SUM" } },
            { "id": "gb", "name": "GB", "minQuantity": 0, "defaultQuantity": 0, "metered": { "aggregation": "MAX" } } ],
        "offerings": [
            { "id": "a", "name": "A", "productIds": ["seats", "calls"], "rates": [
                { "id": "a1", "name": "M", "billingFrequency": "MONTHLY", "billingTiming": "IN_ADVANCE",
                  "prices": [ { "productId": "seats", "model": "PER_UNIT", "unitAmount": "10" },
                              { "productId": "calls", "model": "PER_UNIT", "unitAmount": "0.01" } ] },
                { "id": "a2", "name": "M2", "billingFrequency": "MONTHLY", "billingTiming": "IN_ADVANCE",
                  "prices": [ { "productId": "seats", "model": "PER_UNIT", "unitAmount": "10" },
                              { "productId": "calls", "model": "PER_UNIT", "unitAmount": "0.02" } ] } ] },
            { "id": "b", "name": "B", "productIds": ["seats", "calls", "gb"], "rates": [
                { "id": "b1", "name": "M", "billingFrequency": "MONTHLY", "billingTiming": "IN_ADVANCE",
                  "prices": [ { "productId": "seats", "model": "PER_UNIT", "unitAmount": "20" },
                              { "productId": "calls", "model": "PER_UNIT", "unitAmount": "0.03" },
                              { "productId": "gb", "model": "PER_UNIT", "unitAmount": "1" } ] } ] } ]
    }))
    .unwrap()
}

fn on_a(c: &Catalog) -> Value {
    let q = estimate(
        c,
        &json!({ "quote": { "startDate": "2027-03-01", "offerings": [ { "offeringId": "a", "rateId": "a1" } ] } }),
        d("2027-03-01"),
    )
    .unwrap();
    serde_json::from_str(&pricing::to_json(&q.to_contract("c"))).unwrap()
}

fn day_of(product: &str, date: &str, q: i64) -> Usage {
    Usage { product_id: product.into(), date: d(date), quantity: Decimal::from(q) }
}

#[test]
fn a_change_on_the_boundary_bills_the_finished_periods_usage_on_the_terms_it_was_used_on() {
    // The change of 04-01 is applied before the run of 04-01 bills March: March's calls stay at 0.01.
    let c = two_plans();
    let op = json!({ "action": "RATE_CHANGE", "payload": { "offerings": [ { "offeringId": "a", "rateId": "a2" } ] } });
    let changed = after(&c, &on_a(&c), &op, "2027-04-01");
    let usage = [day_of("calls", "2027-03-10", 1000), day_of("calls", "2027-04-10", 1000)];
    let billed = bill(&c, &changed, d("2027-05-01"), &usage).unwrap();
    let calls: Vec<_> = lines(&billed).into_iter().filter(|l| l.0 == "calls").collect();
    assert_eq!(
        calls,
        [
            ("calls".into(), "USAGE".into(), "2027-03-01".into(), "2027-04-01".into(), Decimal::new(1000, 2)),
            ("calls".into(), "USAGE".into(), "2027-04-01".into(), "2027-05-01".into(), Decimal::new(2000, 2)),
        ]
    );
}

#[test]
fn an_offering_change_that_meters_a_new_product_bills_each_usage_day_once() {
    // a -> b on 03-10: calls before it on a's terms, after it on b's; gb (new) from 03-10 only.
    let c = two_plans();
    let op = json!({ "action": "OFFERING_CHANGE", "payload": { "offerings": [ { "offeringId": "a", "newOfferingId": "b" } ] } });
    let changed = after(&c, &on_a(&c), &op, "2027-03-10");
    let usage =
        [day_of("calls", "2027-03-05", 1000), day_of("calls", "2027-03-20", 500), day_of("gb", "2027-03-15", 10)];
    let billed = bill(&c, &changed, d("2027-04-01"), &usage).unwrap();
    let used: Vec<_> = lines(&billed).into_iter().filter(|l| l.1 == "USAGE").collect();
    assert_eq!(
        used,
        [
            ("calls".into(), "USAGE".into(), "2027-03-10".into(), "2027-04-01".into(), Decimal::new(1500, 2)),
            ("gb".into(), "USAGE".into(), "2027-03-10".into(), "2027-04-01".into(), Decimal::new(1000, 2)),
            ("calls".into(), "USAGE".into(), "2027-03-01".into(), "2027-03-10".into(), Decimal::new(1000, 2)),
        ]
    );
}
