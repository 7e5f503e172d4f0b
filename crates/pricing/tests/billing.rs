//! The billing run's arithmetic over simulated calendars: every anchor,
//! frequency and timing, month ends across February in a leap year, terms
//! that end mid-period; checked against the quote's own figures and against
//! itself (a run every day bills exactly what one run at the end bills).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use pricing::billing::{DuePeriod, due};
use pricing::{Catalog, Contract, NaiveDate, estimate};
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn d(s: &str) -> NaiveDate {
    pricing::parse_date(s).unwrap()
}

fn catalog(anchor: Value, frequency: &str, timing: &str, term: Option<u32>) -> Catalog {
    Catalog::from_json(&json!({
        "currency": "USD",
        "settings": { "billingAnchor": anchor },
        "products": [ { "id": "seats", "name": "Seats", "minQuantity": 1 }, { "id": "gb", "name": "GB", "minQuantity": 0 } ],
        "offerings": [ { "id": "o", "name": "O", "productIds": ["seats", "gb"], "rates": [ {
            "id": "r", "name": "R", "billingFrequency": frequency, "billingTiming": timing, "termMonths": term,
            "prices": [ { "productId": "seats", "model": "PER_UNIT", "unitAmount": "10" },
                        { "productId": "gb", "model": "TIERED", "tiers": [ { "upTo": 100, "unitAmount": "0" }, { "upTo": null, "unitAmount": "0.031" } ] } ] } ] } ]
    }))
    .unwrap()
}

/// The contract a sign-up on `start` becomes (7 seats, 350 GB).
fn signed_up(c: &Catalog, start: &str) -> (pricing::Quote, Contract) {
    let q = estimate(
        c,
        &json!({ "quote": { "startDate": start, "offerings": [ { "offeringId": "o", "rateId": "r",
        "items": [ { "productId": "seats", "quantity": 7 }, { "productId": "gb", "quantity": 350 } ] } ] } }),
        d(start),
    )
    .unwrap();
    let contract = q.to_contract("c");
    (q, contract)
}

fn total(p: &DuePeriod) -> Decimal {
    p.lines.iter().map(|l| l.amount).sum()
}

/// One run at `end` bills exactly what a run every day from `start` bills.
fn daily_equals_once(c: &Catalog, contract: &Contract, start: &str, end: &str) -> Vec<DuePeriod> {
    let (once, _) = due(c, contract, d(end), &[]).unwrap();
    let mut daily = Vec::new();
    let mut cur = contract.clone();
    let mut day = d(start);
    while day <= d(end) {
        let (periods, after) = due(c, &cur, day, &[]).unwrap();
        assert!(periods.iter().all(|p| p.invoice_date <= day), "nothing is billed before it is due");
        daily.extend(periods);
        cur = after;
        day = day.succ_opt().unwrap();
    }
    assert_eq!(daily, once);
    let (again, _) = due(c, &cur, d(end), &[]).unwrap();
    assert!(again.is_empty(), "a second run on the same day bills nothing");
    once
}

#[test]
fn anniversary_monthly_on_the_31st_through_a_leap_february() {
    let c = catalog(json!({ "type": "ANNIVERSARY" }), "MONTHLY", "IN_ADVANCE", None);
    let (q, contract) = signed_up(&c, "2028-01-31");
    assert_eq!(contract.offerings[0].invoiced_through, d("2028-02-29"), "the sign-up invoiced the first month");
    let periods = daily_equals_once(&c, &contract, "2028-01-31", "2029-01-31");
    let starts: Vec<String> = periods.iter().map(|p| p.period_start.to_string()).collect();
    assert_eq!(&starts[..4], ["2028-02-29", "2028-03-31", "2028-04-30", "2028-05-31"]);
    assert_eq!(periods.len(), 12, "Feb 29 2028 … Jan 31 2029");
    for p in &periods {
        assert_eq!(total(p), q.offerings[0].amount_without_tax, "a whole period costs the quote's period price");
        assert_eq!(p.invoice_date, p.period_start);
    }
}

#[test]
fn day_of_month_quarterly_in_arrears_with_a_partial_first_period() {
    let c = catalog(json!({ "type": "DAY_OF_MONTH", "day": 1 }), "QUARTERLY", "IN_ARREARS", None);
    let (q, contract) = signed_up(&c, "2027-11-15");
    assert_eq!(contract.offerings[0].invoiced_through, d("2027-11-15"), "nothing billed at sign-up in arrears");
    let periods = daily_equals_once(&c, &contract, "2027-11-15", "2028-12-31");
    // [Nov 15, Dec 1) of [Sep 1, Dec 1), then whole quarters from Dec 1, each due at its end.
    assert_eq!((periods[0].period_start, periods[0].period_end), (d("2027-11-15"), d("2027-12-01")));
    assert_eq!(periods[0].invoice_date, d("2027-12-01"));
    assert_eq!(periods[0].lines[0].proration_factor.days, 16);
    assert_eq!(periods[0].lines[0].proration_factor.of, 91);
    let ends: Vec<String> = periods.iter().skip(1).map(|p| p.period_end.to_string()).collect();
    assert_eq!(ends, ["2028-03-01", "2028-06-01", "2028-09-01", "2028-12-01"]);
    for p in periods.iter().skip(1) {
        assert_eq!(total(p), q.offerings[0].amount_without_tax);
        assert_eq!(p.invoice_date, p.period_end);
    }
}

#[test]
fn annual_with_a_term_stops_at_the_end_and_prorates_the_last_piece() {
    let c = catalog(json!({ "type": "DAY_OF_MONTH", "day": 1 }), "ANNUALLY", "IN_ADVANCE", Some(18));
    let (q, contract) = signed_up(&c, "2028-03-01");
    assert_eq!(contract.end_date, Some(d("2029-09-01")));
    let periods = daily_equals_once(&c, &contract, "2028-03-01", "2031-01-01");
    assert_eq!(periods.len(), 1, "the second year is cut at the term's end; nothing after");
    let last = &periods[0];
    assert_eq!((last.period_start, last.period_end), (d("2029-03-01"), d("2029-09-01")));
    let f = &last.lines[0].proration_factor;
    assert_eq!((f.days, f.of), (184, 365));
    assert!(total(last) < q.offerings[0].amount_without_tax);
}

#[test]
fn a_trial_is_billed_from_its_end() {
    let c = Catalog::from_json(&json!({
        "currency": "EUR", "settings": { "billingAnchor": { "type": "ANNIVERSARY" } },
        "products": [ { "id": "seats", "name": "Seats" } ],
        "offerings": [ { "id": "o", "name": "O", "productIds": ["seats"], "rates": [ { "id": "r", "name": "R",
            "billingFrequency": "MONTHLY", "billingTiming": "IN_ADVANCE", "trialDays": 14,
            "prices": [ { "productId": "seats", "model": "PER_UNIT", "unitAmount": "9.99" } ] } ] } ] }))
    .unwrap();
    let q = estimate(
        &c,
        &json!({ "quote": { "startDate": "2028-02-20", "offerings": [ { "offeringId": "o", "rateId": "r",
        "items": [ { "productId": "seats", "quantity": 3 } ] } ] } }),
        d("2028-02-20"),
    )
    .unwrap();
    let contract = q.to_contract("c");
    let periods = daily_equals_once(&c, &contract, "2028-02-20", "2028-06-10");
    let starts: Vec<String> = periods.iter().map(|p| p.period_start.to_string()).collect();
    assert_eq!(starts, ["2028-03-05", "2028-04-05", "2028-05-05", "2028-06-05"]);
    assert!(periods.iter().all(|p| total(p) == Decimal::new(2997, 2)));
}

#[test]
fn every_frequency_and_timing_over_thirteen_months_bills_each_period_once() {
    for anchor in [json!({ "type": "ANNIVERSARY" }), json!({ "type": "DAY_OF_MONTH", "day": 31 })] {
        for frequency in ["MONTHLY", "QUARTERLY", "SEMI_ANNUALLY", "ANNUALLY"] {
            for timing in ["IN_ADVANCE", "IN_ARREARS"] {
                let c = catalog(anchor.clone(), frequency, timing, None);
                let (_, contract) = signed_up(&c, "2027-12-30");
                let periods = daily_equals_once(&c, &contract, "2027-12-30", "2029-01-30");
                // Contiguous: each period starts where the previous ended.
                let mut at = contract.offerings[0].invoiced_through;
                for p in &periods {
                    assert_eq!(p.period_start, at, "{anchor} {frequency} {timing}");
                    at = p.period_end;
                }
            }
        }
    }
}

#[test]
fn bill_groups_periods_into_one_invoice_per_date() {
    let c = catalog(json!({ "type": "DAY_OF_MONTH", "day": 1 }), "MONTHLY", "IN_ADVANCE", None);
    let (_, contract) = signed_up(&c, "2028-01-15");
    let json: Value = serde_json::from_str(&pricing::to_json(&contract)).unwrap();
    let billing = pricing::billing::bill(&c, &json, d("2028-04-01"), &[]).unwrap();
    let dates: Vec<String> = billing.invoices.iter().map(|i| i.invoice_date.to_string()).collect();
    assert_eq!(dates, ["2028-02-01", "2028-03-01", "2028-04-01"]);
    assert_eq!(billing.contract.offerings[0].invoiced_through, d("2028-05-01"));
    assert!(billing.invoices.iter().all(|i| i.lines.len() == 2 && i.tax.is_zero()));
    let text = pricing::to_json(&billing);
    assert!(text.starts_with("{\"invoices\":[{\"invoiceDate\":\"2028-02-01\""), "{text}");
}

fn arrears_contract(c: &Catalog) -> Value {
    let (_, contract) = signed_up(c, "2028-01-01");
    serde_json::from_str(&pricing::to_json(&contract)).unwrap()
}

#[test]
fn in_arrears_a_period_changed_midway_is_billed_on_the_old_terms_then_the_new() {
    let c = catalog(json!({ "type": "ANNIVERSARY" }), "MONTHLY", "IN_ARREARS", None);
    let contract = arrears_contract(&c);
    let op = json!({ "action": "QUANTITY_CHANGE", "payload": { "offerings": [{ "offeringId": "o",
        "products": [{ "productId": "seats", "quantity": 20 }] }] } });
    let changed = pricing::preview_change(&c, &contract, &op, d("2028-01-11")).unwrap();
    assert!(changed.invoice.lines.is_empty(), "in arrears, a change issues nothing on its day");
    assert_eq!(changed.contract.unbilled.len(), 1);
    let json: Value = serde_json::from_str(&pricing::to_json(&changed.contract)).unwrap();
    assert_eq!(json["unbilledArrears"][0]["start"], "2028-01-01");
    assert_eq!(json["unbilledArrears"][0]["end"], "2028-01-11");
    let billing = pricing::billing::bill(&c, &json, d("2028-02-01"), &[]).unwrap();
    assert_eq!(billing.invoices.len(), 1);
    let inv = &billing.invoices[0];
    assert_eq!(inv.invoice_date, d("2028-02-01"));
    let seats: Vec<(String, String, Decimal)> = inv
        .lines
        .iter()
        .filter(|l| &*l.product_id == "seats")
        .map(|l| (l.period_start.to_string(), l.period_end.to_string(), l.amount))
        .collect();
    assert_eq!(
        seats,
        [
            ("2028-01-11".into(), "2028-02-01".into(), Decimal::new(13548, 2)),
            ("2028-01-01".into(), "2028-01-11".into(), Decimal::new(2258, 2)),
        ],
        "20 seats × 10 for 21/31 of January (the line in force), then the kept piece: 7 seats × 10 for 10/31"
    );
    assert!(billing.contract.unbilled.is_empty(), "billed pieces are gone");
    // Written back and read again, the contract bills nothing more for January.
    let after: Value = serde_json::from_str(&pricing::to_json(&billing.contract)).unwrap();
    assert!(pricing::billing::bill(&c, &after, d("2028-02-01"), &[]).unwrap().invoices.is_empty());
}

#[test]
fn in_arrears_a_cancellation_still_bills_the_time_used() {
    let c = catalog(json!({ "type": "ANNIVERSARY" }), "MONTHLY", "IN_ARREARS", None);
    let contract = arrears_contract(&c);
    let canceled =
        pricing::preview_change(&c, &contract, &json!({ "action": "CANCELLATION", "payload": null }), d("2028-01-20"))
            .unwrap();
    let json: Value = serde_json::from_str(&pricing::to_json(&canceled.contract)).unwrap();
    assert_eq!(json["status"], "CANCELED");
    let billing = pricing::billing::bill(&c, &json, d("2028-03-01"), &[]).unwrap();
    assert_eq!(billing.invoices.len(), 1);
    assert_eq!(billing.invoices[0].invoice_date, d("2028-02-01"));
    let seats = billing.invoices[0].lines.iter().find(|l| &*l.product_id == "seats").unwrap();
    assert_eq!((seats.period_start, seats.period_end), (d("2028-01-01"), d("2028-01-20")));
    assert_eq!((seats.proration_factor.days, seats.proration_factor.of), (19, 31));
}
