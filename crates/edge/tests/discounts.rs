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

/// Runs billing on each day: one invoice issued, before tax and discounted as given.
fn runs_issue(a: &support::TestApp, account: &str, expected: &[(&str, &str, &str)]) {
    for &(day, without_tax, discount) in expected {
        let report = run_billing(a, day);
        assert_eq!(report["invoicesIssued"], 1, "{day}: {report}");
        let (_, list) =
            Call { app: a, now: now(day) }.secret("GET", &format!("/api/accounts/{account}/invoices"), None);
        let newest = &list["data"][0];
        assert_eq!(newest["invoiceDate"], day);
        assert_eq!(
            (newest["amountWithoutTax"].to_string(), newest["discountAmount"].to_string()),
            (without_tax.to_owned(), discount.to_owned()),
            "{day}: {newest}"
        );
    }
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
    runs_issue(&a, &account, &[("2026-12-22", "96.00", "24.00"), ("2027-01-22", "120.00", "0.00")]);
}

/// A finalized Team contract with 10 seats under `cpn_launch`, not collected; answers the FINALIZE body.
fn discounted_contract(c: &Call<'_>, start: &str) -> Value {
    let mut q = quote("cpn_launch");
    q["startDate"] = json!(start);
    let (status, done) = c.secret(
        "POST",
        "/api/selfService/signup",
        Some(&json!({ "action": "CREATE_AND_FINALIZE", "customer": customer_json(), "quote": q,
                      "billGroup": { "collectInvoiceBalanceAutomatically": false } })),
    );
    assert_eq!(status, 201, "{done}");
    done
}

#[test]
fn a_quantity_change_inside_a_discounted_period_credits_what_was_charged() {
    let a = app();
    let c = Call { app: &a, now: now(TODAY) };
    assert_eq!(c.publish(&catalog_with_coupon()).0, 201);
    let done = discounted_contract(&c, TODAY);
    let contract = done["contract"]["id"].as_str().unwrap().to_owned();
    let charged = &done["invoice"]["items"][0];
    assert_eq!(charged["amount"].to_string(), "96.00", "{charged}");

    // Down to 5 seats the same day: the 10 seats' whole period is credited at
    // what it cost (96.00, not 120.00), and 5 seats are charged discounted.
    let (status, changed) = c.change(&json!({ "action": "QUANTITY_CHANGE", "contractId": contract,
        "payload": { "offerings": [{ "offeringId": "offr_team", "products": [{ "productId": "prod_seats", "quantity": 5 }] }] } }));
    assert_eq!(status, 200, "{changed}");
    let lines = changed["invoice"]["items"].as_array().unwrap();
    let amounts: Vec<String> = lines.iter().map(|l| l["amount"].to_string()).collect();
    assert!(amounts.contains(&"-96.00".to_owned()), "the credit is what was charged: {amounts:?}");
    assert!(amounts.contains(&"48.00".to_owned()), "{amounts:?}");
    assert_eq!(changed["invoice"]["amountWithoutTax"].to_string(), "-48.00");
    assert_eq!(changed["invoice"]["discountAmount"].to_string(), "-12.00", "a credit's discount is negative");

    // Mid-period (15 of 30 days left), back to 10 seats: the 5 seats' rest is
    // credited at the discounted rate they were charged, and 10 seats charged so.
    let mid = Call { app: &a, now: now("2026-12-07") };
    let (status, changed) = mid.change(&json!({ "action": "QUANTITY_CHANGE", "contractId": contract,
        "payload": { "offerings": [{ "offeringId": "offr_team", "products": [{ "productId": "prod_seats", "quantity": 10 }] }] } }));
    assert_eq!(status, 200, "{changed}");
    let amounts: Vec<String> =
        changed["invoice"]["items"].as_array().unwrap().iter().map(|l| l["amount"].to_string()).collect();
    assert!(amounts.contains(&"-24.00".to_owned()) && amounts.contains(&"48.00".to_owned()), "{amounts:?}");
}

#[test]
fn the_first_regular_invoice_from_the_window_end_is_undiscounted() {
    // Anchor day 1, signed mid-month: [01-15, 02-01) on the sign-up invoice,
    // then the runs of 02-01, 03-01 and 04-01 start before the window's end
    // (04-15: three months from the 15th); the 4th, 05-01, is full price.
    let a = app();
    let c = Call { app: &a, now: now("2026-01-15") };
    let mut catalog = catalog_with_coupon();
    catalog["settings"]["billingAnchor"] = json!({ "type": "DAY_OF_MONTH", "day": 1 });
    catalog["coupons"][1]["durationMonths"] = json!(3);
    assert_eq!(c.publish(&catalog).0, 201, "{}", c.publish(&catalog).1);
    let done = discounted_contract(&c, "2026-01-15");
    assert_eq!(done["contract"]["discount"]["endDate"], "2026-04-15");
    let account = done["customer"]["accountId"].as_str().unwrap().to_owned();
    runs_issue(
        &a,
        &account,
        &[
            ("2026-02-01", "96.00", "24.00"),
            ("2026-03-01", "96.00", "24.00"),
            ("2026-04-01", "96.00", "24.00"),
            ("2026-05-01", "120.00", "0.00"),
        ],
    );
}
