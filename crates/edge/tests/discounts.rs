//! Coupons through the API (issue 17): `quote.couponId` is the vendor's to
//! give (secret key only), a finalized quote's contract keeps the deal, and
//! the billing run discounts exactly the periods that start in its window.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

mod support;

use serde_json::{Value, json};
use support::{Call, app, customer_json, demo_catalog, now, run_billing};

const TODAY: &str = "2026-11-22";

/// The demo catalog with 20 % off Team for two months.
fn catalog_with_coupon() -> Value {
    let mut catalog = demo_catalog();
    catalog["coupons"].as_array_mut().unwrap().push(json!({ "id": "cpn_launch", "name": "Launch", "percentOff": "20",
                                  "duration": "REPEATING", "durationMonths": 2, "appliesTo": ["offr_team"] }));
    catalog
}

fn quote(coupon: &str) -> Value {
    json!({ "startDate": TODAY, "couponId": coupon, "offerings": [{ "offeringId": "offr_team", "rateId": "rate_team_monthly",
            "items": [{ "productId": "prod_seats", "quantity": 10 }] }] })
}

#[test]
fn a_coupon_needs_the_secret_key() {
    let a = app();
    let c = Call { app: &a, now: now(TODAY) };
    assert_eq!(c.publish(&catalog_with_coupon()).0, 201);
    let estimate = json!({ "action": "ESTIMATE", "quote": quote("cpn_launch") });
    let (status, refused) = c.post(&estimate);
    assert_eq!(
        (status, refused["code"].as_str(), refused["path"].as_str()),
        (403, Some("FORBIDDEN"), Some("quote.couponId"))
    );
    let (status, priced) = c.secret("POST", "/api/selfService/signup", Some(&estimate));
    assert_eq!(status, 200, "{priced}");
    assert_eq!(priced["quote"]["discount"]["couponId"], "cpn_launch");
    assert_eq!(priced["quote"]["discount"]["endDate"], "2027-01-22");
    assert_eq!(priced["quote"]["amountWithoutTax"].to_string(), "96.00");
    assert_eq!(priced["quote"]["discountAmount"].to_string(), "24.00");
    // An unknown coupon is the engine's error, at the field.
    let unknown = json!({ "action": "ESTIMATE", "quote": quote("cpn_nope") });
    let (status, e) = c.secret("POST", "/api/selfService/signup", Some(&unknown));
    assert_eq!((status, e["code"].as_str(), e["path"].as_str()), (400, Some("UNKNOWN_COUPON"), Some("quote.couponId")));
}

#[test]
fn the_contract_keeps_the_deal_and_the_run_discounts_its_window() {
    let a = app();
    let c = Call { app: &a, now: now(TODAY) };
    assert_eq!(c.publish(&catalog_with_coupon()).0, 201);
    let (status, done) = c.secret(
        "POST",
        "/api/selfService/signup",
        Some(&json!({ "action": "CREATE_AND_FINALIZE", "customer": customer_json(), "quote": quote("cpn_launch"),
                      "billGroup": { "collectInvoiceBalanceAutomatically": false } })),
    );
    assert_eq!(status, 201, "{done}");
    assert_eq!(done["contract"]["discount"]["couponId"], "cpn_launch");
    assert_eq!(done["invoice"]["discountAmount"].to_string(), "24.00");
    assert_eq!(done["invoice"]["amountWithoutTax"].to_string(), "96.00");
    let account = done["customer"]["accountId"].as_str().unwrap().to_owned();

    // [12-22, 01-22) starts before the window's end (2027-01-22): discounted;
    // [01-22, 02-22) starts on it: full price.
    for (day, issued_without_tax, discount) in [("2026-12-22", "96.00", "24.00"), ("2027-01-22", "120.00", "0.00")] {
        let report = run_billing(&a, day);
        assert_eq!(report["invoicesIssued"], 1, "{day}: {report}");
        let (_, list) =
            Call { app: &a, now: now(day) }.secret("GET", &format!("/api/accounts/{account}/invoices"), None);
        let newest = &list["data"][0];
        assert_eq!(newest["invoiceDate"], day);
        assert_eq!(newest["amountWithoutTax"].to_string(), issued_without_tax, "{day}: {newest}");
        assert_eq!(newest["discountAmount"].to_string(), discount, "{day}: {newest}");
    }
}
