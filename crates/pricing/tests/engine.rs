//! Behaviour of the engine's public API beyond the vectors: tax, the contract
//! a quote becomes, catalog validation paths and error shapes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use pricing::{Address, Catalog, Contract, ErrorCode, due_at_signup, estimate, preview_change, read_today, to_json};
use serde_json::{Value, json};

fn catalog() -> Value {
    json!({
        "currency": "USD",
        "settings": {
            "billingAnchor": { "type": "DAY_OF_MONTH", "day": 1 },
            "taxRates": [
                { "country": "US", "rate": "0.05", "name": "US federal-ish" },
                { "country": "US", "state": "CA", "rate": "0.0725", "name": "CA sales tax" },
                { "country": "DE", "rate": "0.19", "name": "USt" }
            ]
        },
        "products": [ { "id": "prod_seats", "name": "Seats", "minQuantity": 1, "maxQuantity": 500 },
                      { "id": "prod_support", "name": "Support", "minQuantity": 1, "maxQuantity": 1 } ],
        "offerings": [ {
            "id": "offr_team", "name": "Team", "productIds": ["prod_seats", "prod_support"],
            "rates": [ { "id": "rate_team_monthly", "name": "Monthly", "billingFrequency": "MONTHLY",
                         "billingTiming": "IN_ADVANCE", "termMonths": 12,
                         "prices": [ { "productId": "prod_seats", "model": "PER_UNIT", "unitAmount": "12" },
                                     { "productId": "prod_support", "model": "FLAT", "amount": "9.99" } ] } ]
        } ]
    })
}

fn request() -> Value {
    json!({ "quote": { "startDate": "2024-01-15", "offerings": [ { "offeringId": "offr_team", "rateId": "rate_team_monthly",
        "items": [ { "productId": "prod_seats", "quantity": 10 } ] } ] } })
}

fn address(country: &str, state: Option<&str>) -> Address {
    Address { country: Some(country.to_owned()), state: state.map(str::to_owned) }
}

#[test]
fn tax_for_a_country_and_state_beats_the_country_rate_and_rounds_per_line() {
    let catalog = Catalog::from_json(&catalog()).unwrap();
    let quote = estimate(&catalog, &request(), read_today("2024-01-15").unwrap()).unwrap();
    // Lines: seats 120 × 17/31 = 65.81; support 9.99 × 17/31 = 5.478… → 5.48.
    let amounts: Vec<String> = quote.first_invoice.lines.iter().map(|l| l.amount.to_string()).collect();
    assert_eq!(amounts, ["65.81", "5.48"]);
    let ca = quote.first_invoice.with_tax(&catalog, &address("us", Some("ca"))).unwrap();
    // 65.81 × 0.0725 = 4.771… → 4.77; 5.48 × 0.0725 = 0.3973 → 0.40.
    let taxes: Vec<String> = ca.lines.iter().map(|l| l.tax.to_string()).collect();
    assert_eq!(taxes, ["4.77", "0.40"]);
    assert_eq!(ca.tax.to_string(), "5.17");
    assert_eq!(ca.amount.to_string(), "76.46");
    assert_eq!(ca.amount_without_tax, quote.first_invoice.amount_without_tax);
    let ny = quote.first_invoice.with_tax(&catalog, &address("US", Some("NY"))).unwrap();
    assert_eq!(ny.tax.to_string(), "3.56"); // 3.2905 → 3.29, 0.274 → 0.27 (the country rate)
}

#[test]
fn an_address_without_a_matching_rate_pays_no_tax() {
    let catalog = Catalog::from_json(&catalog()).unwrap();
    let quote = estimate(&catalog, &request(), read_today("2024-01-15").unwrap()).unwrap();
    for a in [address("FR", None), Address::default()] {
        let taxed = quote.first_invoice.with_tax(&catalog, &a).unwrap();
        assert_eq!(taxed.tax.to_string(), "0.00");
        assert_eq!(taxed.amount, quote.first_invoice.amount);
    }
}

#[test]
fn estimate_applies_no_tax_even_with_a_taxable_address() {
    let catalog = Catalog::from_json(&catalog()).unwrap();
    let mut req = request();
    req["customer"] = json!({ "billingAddress": { "country": "US", "state": "CA" } });
    let quote = estimate(&catalog, &req, read_today("2024-01-15").unwrap()).unwrap();
    assert_eq!(quote.first_invoice.tax.to_string(), "0.00");
    assert_eq!(quote.amount, quote.amount_without_tax);
}

#[test]
fn due_at_signup_is_the_first_invoice_with_the_billing_address_tax() {
    let catalog = Catalog::from_json(&catalog()).unwrap();
    let today = read_today("2024-01-15").unwrap();
    let mut req = request();
    let untaxed = due_at_signup(&catalog, &req, today).unwrap();
    assert_eq!(untaxed, estimate(&catalog, &req, today).unwrap().first_invoice, "no address, no tax");
    req["customer"] = json!({ "billingAddress": { "line1": "1 Main", "country": "US", "state": "CA" } });
    let taxed = due_at_signup(&catalog, &req, today).unwrap();
    assert_eq!((taxed.tax.to_string(), taxed.amount.to_string()), ("5.17".into(), "76.46".into()));
    req["quote"]["offerings"][0]["items"][0]["quantity"] = json!(0);
    let e = due_at_signup(&catalog, &req, today).unwrap_err();
    assert_eq!((e.code, e.path.as_str()), (ErrorCode::QuantityOutOfRange, "quote.offerings[0].items[0].quantity"));
}

#[test]
fn a_finalized_quote_becomes_the_contract_of_the_spec() {
    let catalog = Catalog::from_json(&catalog()).unwrap();
    let quote = estimate(&catalog, &request(), read_today("2024-01-15").unwrap()).unwrap();
    let contract = quote.to_contract("ctrct_1");
    let json: Value = serde_json::from_str(&to_json(&contract)).unwrap();
    assert_eq!(
        json,
        serde_json::from_str::<Value>(
            r#"{ "id": "ctrct_1", "status": "ACTIVE", "currency": "USD", "startDate": "2024-01-15", "endDate": "2025-01-15",
                 "offerings": [ { "offeringId": "offr_team", "rateId": "rate_team_monthly", "serviceStart": "2024-01-15",
                   "anchorDate": "2024-02-01", "anchorDay": 1, "invoicedThrough": "2024-02-01",
                   "products": [ { "productId": "prod_seats", "quantity": 10 }, { "productId": "prod_support", "quantity": 1 } ] } ] }"#
        )
        .unwrap()
    );
    // What the API stores reads back as the same contract.
    assert_eq!(Contract::from_json(&catalog, &json).unwrap(), contract);
}

#[test]
fn a_stored_contract_may_omit_its_anchor_date() {
    let catalog = Catalog::from_json(&catalog()).unwrap();
    let mut stored = json!({ "id": "c", "status": "ACTIVE", "currency": "USD", "startDate": "2024-01-15", "endDate": null,
        "offerings": [ { "offeringId": "offr_team", "rateId": "rate_team_monthly", "serviceStart": "2024-01-15",
                         "anchorDay": 1, "invoicedThrough": "2024-02-01", "products": [] } ] });
    let contract = Contract::from_json(&catalog, &stored).unwrap();
    assert_eq!(contract.offerings[0].schedule.anchor_date.to_string(), "2024-02-01");
    stored["offerings"][0]["anchorDate"] = json!("2024-03-01");
    let e = Contract::from_json(&catalog, &stored).unwrap_err();
    assert_eq!((e.code, e.path.as_str()), (ErrorCode::InvalidValue, "contract.offerings[0].anchorDate"));
}

#[test]
fn a_contract_without_invoiced_through_is_invalid_at_that_field() {
    let catalog = Catalog::from_json(&catalog()).unwrap();
    let contract = json!({ "id": "c", "status": "ACTIVE", "currency": "USD", "startDate": "2024-01-15",
        "offerings": [ { "offeringId": "offr_team", "rateId": "rate_team_monthly", "serviceStart": "2024-01-15",
                         "anchorDay": 1, "products": [] } ] });
    let op = json!({ "action": "CANCELLATION", "contractId": "c", "payload": null });
    let e = preview_change(&catalog, &contract, &op, read_today("2024-01-20").unwrap()).unwrap_err();
    assert_eq!((e.code, e.path.as_str()), (ErrorCode::InvalidValue, "contract.offerings[0].invoicedThrough"));
}

/// Breaks one field of a catalog.
type Breaker = Box<dyn Fn(&mut Value)>;

/// Each broken catalog and the path its error names.
#[test]
fn catalog_errors_name_the_offending_path_first_in_layout_order() {
    let cases: Vec<(&str, Breaker)> = vec![
        ("currency", Box::new(|c| c["currency"] = json!("usd"))),
        ("settings.rounding", Box::new(|c| c["settings"]["rounding"] = json!("HALF_DOWN"))),
        ("settings.billingAnchor.type", Box::new(|c| c["settings"]["billingAnchor"] = json!({ "type": "WEEKLY" }))),
        ("settings.taxRates[0].rate", Box::new(|c| c["settings"]["taxRates"][0]["rate"] = json!("7.25"))),
        ("products[1].id", Box::new(|c| c["products"][1]["id"] = json!("prod_seats"))),
        ("products[0].defaultQuantity", Box::new(|c| c["products"][0]["defaultQuantity"] = json!(0))),
        ("products[0].minQuantity", Box::new(|c| c["products"][0]["minQuantity"] = json!("-1"))),
        ("offerings[0].productIds[1]", Box::new(|c| c["offerings"][0]["productIds"][1] = json!("prod_seats"))),
        ("offerings[0].productIds[0]", Box::new(|c| c["offerings"][0]["productIds"][0] = json!("prod_nope"))),
        ("offerings[0].rates", Box::new(|c| c["offerings"][0]["rates"] = json!([]))),
        (
            "offerings[0].rates[0].billingFrequency",
            Box::new(|c| c["offerings"][0]["rates"][0]["billingFrequency"] = json!("WEEKLY")),
        ),
        (
            "offerings[0].rates[0].billingTiming",
            Box::new(|c| {
                c["offerings"][0]["rates"][0].as_object_mut().unwrap().remove("billingTiming");
            }),
        ),
        ("offerings[0].rates[0].trialDays", Box::new(|c| c["offerings"][0]["rates"][0]["trialDays"] = json!(1.5))),
        ("offerings[0].rates[0].termMonths", Box::new(|c| c["offerings"][0]["rates"][0]["termMonths"] = json!(0))),
        (
            "offerings[0].rates[0].prices[1].productId",
            Box::new(|c| c["offerings"][0]["rates"][0]["prices"][1]["productId"] = json!("prod_seats")),
        ),
        (
            "offerings[0].rates[0].prices[0].model",
            Box::new(|c| c["offerings"][0]["rates"][0]["prices"][0]["model"] = json!("FREE")),
        ),
        (
            "offerings[0].rates[0].prices[0].unitAmount",
            Box::new(|c| c["offerings"][0]["rates"][0]["prices"][0]["unitAmount"] = json!("NaN")),
        ),
        (
            "offerings[0].rates[0].prices[0].tiers[1].upTo",
            Box::new(|c| {
                c["offerings"][0]["rates"][0]["prices"][0] =
                    json!({ "productId": "prod_seats", "model": "TIERED", "tiers": [ { "upTo": 10 }, { "upTo": 20 } ] })
            }),
        ),
        (
            "offerings[0].rates[0].prices[0].tiers",
            Box::new(|c| {
                c["offerings"][0]["rates"][0]["prices"][0] =
                    json!({ "productId": "prod_seats", "model": "VOLUME", "tiers": [] })
            }),
        ),
    ];
    for (path, break_it) in cases {
        let mut c = catalog();
        break_it(&mut c);
        let e = Catalog::from_json(&c).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidCatalog, "{path}");
        assert_eq!(e.path, path, "{}", e.message);
        assert!(!e.message.is_empty());
    }
}

#[test]
fn an_error_serialises_as_code_path_and_message() {
    let catalog = Catalog::from_json(&catalog()).unwrap();
    let e = estimate(
        &catalog,
        &json!({ "quote": { "offerings": [ { "offeringId": "offr_team" } ] } }),
        read_today("2024-01-15").unwrap(),
    )
    .unwrap_err();
    let v: Value = serde_json::from_str(&to_json(&e)).unwrap();
    assert_eq!(v["code"], "MISSING_FIELD");
    assert_eq!(v["path"], "quote.offerings[0].rateId");
    assert_eq!(v["message"], "rateId is required");
}

#[test]
fn a_quantity_so_large_its_price_overflows_is_an_overflow_error() {
    let mut c = catalog();
    c["products"][0]["maxQuantity"] = Value::Null;
    c["offerings"][0]["rates"][0]["prices"][0]["unitAmount"] = json!("79228162514264337593543950335");
    let catalog = Catalog::from_json(&c).unwrap();
    let e = estimate(&catalog, &request(), read_today("2024-01-15").unwrap()).unwrap_err();
    assert_eq!(e.code, ErrorCode::Overflow);
    assert_eq!(e.path, "quote.offerings[0]");
}

#[test]
fn amounts_leave_the_engine_as_json_numbers_with_the_currency_decimals() {
    let catalog = Catalog::from_json(&catalog()).unwrap();
    let text = to_json(&estimate(&catalog, &request(), read_today("2024-01-15").unwrap()).unwrap());
    assert!(text.contains(r#""amountWithoutTax":129.99"#), "{text}");
    assert!(text.contains(r#""amount":120.00"#), "{text}");
    assert!(text.contains(r#""prorationFactor":"0.548387""#), "{text}");
}
