//! Metered products through the API (issue 18, its engine part): a catalog
//! with one is published, ESTIMATE prices its expected usage, a change may not
//! set its quantity, and the billing run bills the licensed products while
//! leaving usage unbilled (`meteredThrough` where it was) until usage can be
//! reported: never billed as zero.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

mod support;

use serde_json::{Value, json};
use support::{Call, app, customer_json, demo_catalog, now, run_billing};

const TODAY: &str = "2026-11-22";

/// The demo catalog with an API plan: a 10.00 platform fee and metered calls,
/// the first 10 000 free, then 0.002 each.
fn catalog_with_metering() -> Value {
    let mut catalog = demo_catalog();
    let products = catalog["products"].as_array_mut().unwrap();
    products.push(json!({ "id": "prod_platform", "name": "Platform", "minQuantity": 1, "maxQuantity": 1 }));
    products.push(json!({ "id": "prod_calls", "name": "API calls", "minQuantity": 0, "defaultQuantity": 50000,
                          "metered": { "aggregation": "SUM" } }));
    catalog["offerings"].as_array_mut().unwrap().push(json!({
        "id": "offr_api", "name": "API", "productIds": ["prod_platform", "prod_calls"],
        "rates": [{ "id": "rate_api_monthly", "billingFrequency": "MONTHLY", "billingTiming": "IN_ADVANCE",
                    "prices": [{ "productId": "prod_platform", "model": "FLAT", "amount": "10" },
                               { "productId": "prod_calls", "model": "TIERED", "tiers": [
                                   { "upTo": 10000, "unitAmount": "0" }, { "upTo": null, "unitAmount": "0.002" }] }] }]
    }));
    catalog
}

fn quote(calls: u32) -> Value {
    json!({ "startDate": TODAY, "offerings": [{ "offeringId": "offr_api", "rateId": "rate_api_monthly",
            "items": [{ "productId": "prod_platform", "quantity": 1 }, { "productId": "prod_calls", "quantity": calls }] }] })
}

#[test]
fn estimate_prices_expected_usage_and_the_run_leaves_usage_unbilled() {
    let a = app();
    let c = Call { app: &a, now: now(TODAY) };
    let (status, published) = c.publish(&catalog_with_metering());
    assert_eq!(status, 201, "{published}");
    let (status, priced) = c.post(&json!({ "action": "ESTIMATE", "quote": quote(250_000) }));
    assert_eq!(status, 200, "{priced}");
    let calls = &priced["quote"]["offerings"][0]["items"][1];
    assert_eq!((calls["metered"].as_bool(), calls["amountWithoutTax"].to_string()), (Some(true), "480.00".to_owned()));
    assert_eq!(priced["quote"]["amountWithoutTax"].to_string(), "490.00", "expected usage counts as recurring");
    assert_eq!(
        priced["quote"]["firstInvoice"]["amountWithoutTax"].to_string(),
        "10.00",
        "no usage on the first invoice"
    );

    let (status, done) = c.secret(
        "POST",
        "/api/selfService/signup",
        Some(&json!({ "action": "CREATE_AND_FINALIZE", "customer": customer_json(), "quote": quote(250_000),
                      "billGroup": { "collectInvoiceBalanceAutomatically": false } })),
    );
    assert_eq!(status, 201, "{done}");
    let contract_id = done["contract"]["id"].as_str().unwrap().to_owned();
    assert_eq!(done["contract"]["offerings"][0]["meteredThrough"], TODAY);

    // A change may not set a metered product's quantity: usage prices it.
    let (status, e) = c
        .change(&json!({ "action": "QUANTITY_CHANGE", "contractId": contract_id, "payload": { "offerings": [
        { "offeringId": "offr_api", "products": [{ "productId": "prod_calls", "quantity": 5 }] }] } }));
    assert_eq!(
        (status, e["code"].as_str(), e["path"].as_str()),
        (400, Some("METERED_PRODUCT"), Some("payload.offerings[0].products[0].productId")),
        "{e}"
    );

    // The next period's platform fee is billed; no usage line (none can be reported
    // yet), and meteredThrough stays, so those days remain billable.
    let report = run_billing(&a, "2026-12-22");
    assert_eq!(report["invoicesIssued"], 1, "{report}");
    let (_, contract) =
        Call { app: &a, now: now("2026-12-22") }.secret("GET", &format!("/api/contracts/{contract_id}"), None);
    assert_eq!(contract["offerings"][0]["invoicedThrough"], "2027-01-22", "{contract}");
    assert_eq!(contract["offerings"][0]["meteredThrough"], TODAY, "{contract}");
    let account = done["customer"]["accountId"].as_str().unwrap();
    let (_, list) =
        Call { app: &a, now: now("2026-12-22") }.secret("GET", &format!("/api/accounts/{account}/invoices"), None);
    let newest = &list["data"][0];
    assert_eq!(newest["amountWithoutTax"].to_string(), "10.00", "{newest}");
    assert!(
        newest["items"].as_array().unwrap().iter().all(|l| l["type"] != "USAGE" && l["productId"] != "prod_calls"),
        "{newest}"
    );
}
