//! One-time prices through the API (issue 17): a setup fee and a credit pack
//! on the sign-up invoice; the pack carries no tax and, once paid, becomes
//! the account's credit, which the next invoice consumes first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

mod support;

use serde_json::{Value, json};
use support::{Call, app, customer_json, demo_catalog, now, run_billing};

const TODAY: &str = "2026-11-22";

/// The demo catalog with a credit pack: 50.00 per 100 credits, bought once.
fn catalog_with_credit_pack() -> Value {
    let mut catalog = demo_catalog();
    catalog["products"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "id": "prod_credits", "name": "Credits", "defaultQuantity": 100 }));
    catalog["offerings"].as_array_mut().unwrap().push(json!({
        "id": "offr_credits", "name": "Credit pack", "productIds": ["prod_credits"],
        "rates": [{ "id": "rate_credit_pack", "billingFrequency": "ANNUALLY", "billingTiming": "IN_ARREARS",
                    "prices": [{ "productId": "prod_credits", "model": "PACKAGE", "packageSize": 100, "packageAmount": "50",
                                 "type": "ONE_TIME", "grantsCredit": true }] }]
    }));
    catalog
}

#[test]
fn a_paid_credit_pack_is_untaxed_credit_that_the_next_invoice_spends() {
    let a = app();
    let c = Call { app: &a, now: now(TODAY) };
    assert_eq!(c.publish(&catalog_with_credit_pack()).0, 201);
    let (status, s) = c.post(&json!({
        "action": "CREATE_WITH_PAYMENT_METHOD", "customer": customer_json(),
        "quote": { "startDate": TODAY, "offerings": [
            { "offeringId": "offr_team", "rateId": "rate_team_monthly", "items": [{ "productId": "prod_seats", "quantity": 10 }] },
            { "offeringId": "offr_credits", "rateId": "rate_credit_pack", "items": [{ "productId": "prod_credits", "quantity": 250 }] }] }
    }));
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["quote"]["oneTime"]["amountWithoutTax"].to_string(), "150.00");
    let id = s["sessionId"].as_str().unwrap();
    let seti = s["paymentMethodInit"]["stripe"]["setupIntentId"].as_str().unwrap();
    a.stripe.confirm(seti, false);
    let (status, done) = c.patch(id, &json!({ "action": "FINALIZE", "paymentMethod": { "paymentToken": seti } }));
    assert_eq!(status, 200, "{done}");
    let items = done["invoice"]["items"].as_array().unwrap();
    let pack = items.iter().find(|l| l["productId"] == "prod_credits").unwrap();
    assert_eq!((pack["type"].as_str(), pack["grantsCredit"].as_bool()), (Some("ONE_TIME"), Some(true)));
    assert_eq!((pack["amount"].to_string(), pack["tax"].to_string()), ("150.00".to_owned(), "0.00".to_owned()));
    // Seats 120.00 with CA tax 7.25 % (8.70), the pack untaxed: 278.70 charged.
    assert_eq!(done["invoice"]["amount"].to_string(), "278.70");
    assert_eq!(done["payment"]["amount"].to_string(), "278.70");
    let account = done["customer"]["accountId"].as_str().unwrap().to_owned();
    let (_, view) = c.secret("GET", &format!("/api/accounts/{account}"), None);
    assert_eq!(view["creditBalance"].to_string(), "150.00", "{view}");

    // The next month's seats (128.70 with tax) are paid by the credit first.
    let report = run_billing(&a, "2026-12-22");
    assert_eq!(report["invoicesIssued"], 1, "{report}");
    let (_, list) =
        Call { app: &a, now: now("2026-12-22") }.secret("GET", &format!("/api/accounts/{account}/invoices"), None);
    let newest = &list["data"][0];
    assert_eq!((newest["creditApplied"].to_string(), newest["status"].as_str()), ("128.70".to_owned(), Some("PAID")));
    let (_, view) = c.secret("GET", &format!("/api/accounts/{account}"), None);
    assert_eq!(view["creditBalance"].to_string(), "21.30", "{view}");
    // The pack is never billed again: the run issued only the seats.
    assert!(newest["items"].as_array().unwrap().iter().all(|l| l["productId"] != "prod_credits"), "{newest}");
}

#[test]
fn a_credit_pack_paid_by_credit_adds_its_amount_too() {
    let a = app();
    let c = Call { app: &a, now: now(TODAY) };
    assert_eq!(c.publish(&catalog_with_credit_pack()).0, 201);
    let (status, done) = c.secret(
        "POST",
        "/api/selfService/signup",
        Some(&json!({ "action": "CREATE_AND_FINALIZE", "customer": customer_json(),
            "billGroup": { "collectInvoiceBalanceAutomatically": false },
            "quote": { "startDate": TODAY, "offerings": [{ "offeringId": "offr_team", "rateId": "rate_team_monthly",
                "items": [{ "productId": "prod_seats", "quantity": 10 }] }] } })),
    );
    assert_eq!(status, 201, "{done}");
    let account = done["customer"]["accountId"].as_str().unwrap().to_owned();
    let contract = done["contract"]["id"].as_str().unwrap().to_owned();
    // The customer pays the sign-up invoice by bank transfer; the operator records it.
    a.db.exec("UPDATE invoices SET status = 'PAID', amount_due = '0.00'");
    // A pack of 100 credits (50.00) bought with the contract: its invoice stays open (not collected).
    let (status, bought) = c.change(&json!({ "action": "ADD_OFFERING", "contractId": contract, "payload": { "offerings": [
        { "offeringId": "offr_credits", "rateId": "rate_credit_pack", "products": [{ "productId": "prod_credits", "quantity": 100 }] }] } }));
    assert_eq!(status, 200, "{bought}");
    assert_eq!(
        (bought["invoice"]["amount"].to_string(), bought["invoice"]["status"].as_str()),
        ("50.00".to_owned(), Some("OPEN"))
    );
    // Down to 1 seat: the credit (9 seats with tax, 115.83) pays the pack's invoice whole,
    // so the pack's 50.00 joins what is left: 65.83 + 50.00.
    let (status, fewer) = c
        .change(&json!({ "action": "QUANTITY_CHANGE", "contractId": contract, "payload": { "offerings": [
        { "offeringId": "offr_team", "products": [{ "productId": "prod_seats", "quantity": 1 }] }] } }));
    assert_eq!(status, 200, "{fewer}");
    assert_eq!(fewer["invoice"]["amount"].to_string(), "-115.83");
    let (_, pack) = c.secret("GET", &format!("/api/invoices/{}", bought["invoice"]["id"].as_str().unwrap()), None);
    assert_eq!(
        (pack["status"].as_str(), pack["creditApplied"].to_string()),
        (Some("PAID"), "50.00".to_owned()),
        "{pack}"
    );
    let (_, view) = c.secret("GET", &format!("/api/accounts/{account}"), None);
    assert_eq!(view["creditBalance"].to_string(), "115.83", "{view}");
}
