//! What pricing.md implies about input, each refused with the field's path:
//! `durationMonths` only on a `REPEATING` coupon, a metered product priced by
//! one line of a quote, usage only for what a contract meters, a metered
//! line's `meteredThrough`, and a billing date that is a date.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use pricing::billing::{Usage, bill};
use pricing::{Catalog, NaiveDate, estimate};
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn d(s: &str) -> NaiveDate {
    pricing::parse_date(s).unwrap()
}

fn catalog_json() -> Value {
    json!({
        "currency": "USD",
        "settings": { "billingAnchor": { "type": "DAY_OF_MONTH", "day": 1 } },
        "products": [
            { "id": "seats", "name": "Seats", "minQuantity": 1 },
            { "id": "calls", "name": "Calls", "minQuantity": 0, "defaultQuantity": 0, "metered": { "aggregation": "SUM" } } ],
        "offerings": [
            { "id": "a", "name": "A", "productIds": ["seats", "calls"], "rates": [ {
                "id": "a_m", "name": "Monthly", "billingFrequency": "MONTHLY", "billingTiming": "IN_ADVANCE",
                "prices": [ { "productId": "seats", "model": "PER_UNIT", "unitAmount": "12" },
                            { "productId": "calls", "model": "PER_UNIT", "unitAmount": "0.01" } ] } ] },
            { "id": "b", "name": "B", "productIds": ["calls"], "rates": [ {
                "id": "b_m", "name": "Monthly", "billingFrequency": "MONTHLY", "billingTiming": "IN_ARREARS",
                "prices": [ { "productId": "calls", "model": "PER_UNIT", "unitAmount": "0.02" } ] } ] },
            { "id": "c", "name": "C", "productIds": ["seats"], "rates": [ {
                "id": "c_m", "name": "Monthly", "billingFrequency": "MONTHLY", "billingTiming": "IN_ADVANCE",
                "prices": [ { "productId": "seats", "model": "PER_UNIT", "unitAmount": "5" } ] } ] } ]
    })
}

fn catalog() -> Catalog {
    Catalog::from_json(&catalog_json()).unwrap()
}

fn code_and_path(e: &pricing::Error) -> (&str, &str) {
    (e.code.as_str(), e.path.as_str())
}

#[test]
fn duration_months_goes_only_with_a_repeating_coupon() {
    for duration in ["ONCE", "FOREVER"] {
        let mut c = catalog_json();
        c["coupons"] = json!([
            { "id": "ok", "percentOff": "10", "duration": "REPEATING", "durationMonths": 3 },
            { "id": "bad", "percentOff": "10", "duration": duration, "durationMonths": 3 } ]);
        let e = Catalog::from_json(&c).unwrap_err();
        assert_eq!(code_and_path(&e), ("INVALID_CATALOG", "coupons[1].durationMonths"), "{duration}");
    }
    let mut c = catalog_json();
    c["coupons"] = json!([{ "id": "ok", "percentOff": "10", "duration": "ONCE" }]);
    assert!(Catalog::from_json(&c).is_ok());
}

#[test]
fn a_quote_whose_two_lines_price_one_metered_product_is_refused_at_the_second() {
    let request = json!({ "quote": { "startDate": "2027-01-01", "offerings": [
        { "offeringId": "c", "rateId": "c_m" },
        { "offeringId": "a", "rateId": "a_m" },
        { "offeringId": "b", "rateId": "b_m" } ] } });
    let e = estimate(&catalog(), &request, d("2027-01-01")).unwrap_err();
    assert_eq!(code_and_path(&e), ("DUPLICATE_PRODUCT", "quote.offerings[2].offeringId"));
    // Licensed products may be on two lines (seats on a and c).
    let request = json!({ "quote": { "startDate": "2027-01-01", "offerings": [
        { "offeringId": "c", "rateId": "c_m" }, { "offeringId": "a", "rateId": "a_m" } ] } });
    assert!(estimate(&catalog(), &request, d("2027-01-01")).is_ok());
}

fn contract() -> Value {
    json!({ "id": "k", "status": "ACTIVE", "currency": "USD", "startDate": "2027-01-01", "endDate": null,
        "offerings": [ { "offeringId": "a", "rateId": "a_m", "serviceStart": "2027-01-01", "anchorDay": 1,
            "invoicedThrough": "2027-02-01", "meteredThrough": "2027-01-01",
            "products": [ { "productId": "seats", "quantity": 2 }, { "productId": "calls", "quantity": 0 } ] },
          { "offeringId": "c", "rateId": "c_m", "serviceStart": "2027-01-01", "anchorDay": 1,
            "invoicedThrough": "2027-02-01", "products": [ { "productId": "seats", "quantity": 1 } ] } ] })
}

#[test]
fn usage_for_a_product_the_contract_does_not_meter_is_refused_at_its_index() {
    let c = catalog();
    let day = |p: &str| Usage { product_id: p.into(), date: d("2027-01-05"), quantity: Decimal::from(10) };
    let billed = bill(&c, &contract(), d("2027-02-01"), &[day("calls")]).unwrap();
    assert_eq!(billed.invoices[0].lines.iter().filter(|l| &*l.product_id == "calls").count(), 1);
    for (usage, index) in [(vec![day("calls"), day("seats")], 1), (vec![day("nothing")], 0)] {
        let e = bill(&c, &contract(), d("2027-02-01"), &usage).unwrap_err();
        assert_eq!(code_and_path(&e), ("UNKNOWN_PRODUCT", format!("usage[{index}].productId").as_str()));
    }
}

#[test]
fn a_line_pricing_a_metered_product_needs_metered_through() {
    let mut k = contract();
    k["offerings"][0].as_object_mut().unwrap().remove("meteredThrough");
    let e = bill(&catalog(), &k, d("2027-02-01"), &[]).unwrap_err();
    assert_eq!(code_and_path(&e), ("INVALID_VALUE", "contract.offerings[0].meteredThrough"));
    // A line with no metered product needs none.
    let mut k = contract();
    k["offerings"].as_array_mut().unwrap().remove(0);
    assert!(bill(&catalog(), &k, d("2027-02-01"), &[]).is_ok());
}

#[test]
fn a_billing_date_that_is_not_a_date_is_reported_at_through() {
    let e = pricing::read_date("2027-02-30", "through").unwrap_err();
    assert_eq!(code_and_path(&e), ("INVALID_VALUE", "through"));
}
