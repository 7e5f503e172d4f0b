//! The billing run natively (SQLite with the real migrations, in-memory Stripe):
//! thirteen months of runs, scheduled changes on their dates, exactly-once
//! invoicing and charging, dunning to suspension.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

mod support;

use serde_json::{Value, json};
use support::{Call, demo_catalog, now, paying_customer, text};

use support::{BILLING_TODAY as TODAY, billing_app as setup, dates, run_billing as run};

fn invoices(a: &support::TestApp, contract: &str) -> Vec<Value> {
    let c = Call { app: a, now: now(TODAY) };
    let (_, page) = c.secret("GET", &format!("/api/accounts/{}/invoices?limit=100", account_of(a, contract)), None);
    let mut list: Vec<Value> = page["data"].as_array().unwrap().clone();
    list.sort_by_key(|i| i["invoiceDate"].as_str().unwrap().to_owned());
    list
}

fn account_of(a: &support::TestApp, contract: &str) -> String {
    let c = Call { app: a, now: now(TODAY) };
    text(&c.secret("GET", &format!("/api/contracts/{contract}"), None).1["accountId"])
}

#[test]
fn thirteen_months_of_daily_runs_invoice_each_period_once_and_charge_it() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, false, TODAY);
    let contract = text(&signup["contract"]["id"]);
    for day in dates(TODAY, 400) {
        let r = run(&a, &day);
        assert_eq!(r["failed"], 0, "{day}: {r}");
    }
    let list = invoices(&a, &contract);
    // The sign-up invoice, then Dec 22 … Dec 22 next year: 13 periods.
    assert_eq!(list.len(), 14, "{:?}", list.iter().map(|i| i["invoiceDate"].clone()).collect::<Vec<_>>());
    for inv in &list[1..] {
        assert_eq!(inv["amountWithoutTax"].to_string(), "120.00", "{inv}");
        assert_eq!(inv["tax"].to_string(), "8.70");
        assert_eq!(inv["status"], "PAID");
        assert_eq!(inv["items"][0]["prorationFactor"], "1.000000");
    }
    assert_eq!(list[1]["invoiceDate"], "2026-12-22");
    assert_eq!(list[13]["invoiceDate"], "2027-12-22");
    assert_eq!(a.stripe.charge_count(), 14);
    // Running a day again issues and charges nothing.
    let again = run(&a, "2027-12-22");
    assert_eq!((again["invoicesIssued"].as_i64(), again["charged"].as_i64()), (Some(0), Some(0)));
    assert_eq!(a.db.count("billing_runs"), 402);
}

#[test]
fn a_scheduled_change_takes_effect_on_its_date_before_that_days_invoice() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, false, TODAY);
    let contract = text(&signup["contract"]["id"]);
    let (status, r) = c
        .change(&json!({ "action": "RATE_CHANGE", "contractId": contract, "relativeEffectiveDate": "NEXT_BILL_CYCLE",
        "payload": { "offerings": [{ "offeringId": "offr_team", "rateId": "rate_team_annual" }] } }));
    assert_eq!(status, 200, "{r}");
    let upcoming = r["upcomingInvoice"].clone();
    for day in dates(TODAY, 40) {
        run(&a, &day);
    }
    let (_, after) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert_eq!(after["offerings"][0]["rateId"], "rate_team_annual");
    assert_eq!(after["amendments"][0]["status"], "APPLIED");
    let list = invoices(&a, &contract);
    assert_eq!(list.len(), 2, "the sign-up, then the change's invoice on Dec 22 (no monthly invoice that day)");
    assert_eq!(list[1]["invoiceDate"], "2026-12-22");
    assert_eq!(list[1]["amountWithoutTax"], upcoming["amountWithoutTax"], "as previewed when it was scheduled");
    assert!(r["nextInvoice"].is_null(), "the change's invoice is that day's only one: {r}");
}

#[test]
fn a_scheduled_quantity_change_answers_the_invoice_its_date_will_issue() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, false, TODAY);
    let contract = text(&signup["contract"]["id"]);
    let change = json!({ "action": "QUANTITY_CHANGE", "contractId": contract, "relativeEffectiveDate": "NEXT_BILL_CYCLE",
        "payload": { "offerings": [{ "offeringId": "offr_team", "products": [{ "productId": "prod_seats", "quantity": 4 }] }] } });
    let mut preview = change.clone();
    preview["preview"] = json!(true);
    let (status, p) = c.change(&preview);
    assert_eq!(status, 200, "{p}");
    let (status, r) = c.change(&change);
    assert_eq!(status, 200, "{r}");
    // Nothing for the change itself (it starts with a period), then the month at four seats.
    assert_eq!(r["upcomingInvoice"]["items"], json!([]), "{r}");
    let next = &r["nextInvoice"];
    assert_eq!(next["invoiceDate"], "2026-12-22", "{r}");
    assert_eq!(p["nextInvoice"]["amount"], next["amount"], "the preview says the same");
    assert_eq!(p["scheduled"], true);
    for day in dates(TODAY, 31) {
        run(&a, &day);
    }
    let list = invoices(&a, &contract);
    assert_eq!(list.len(), 2, "the sign-up, then Dec 22's");
    for k in ["invoiceDate", "amountWithoutTax", "tax", "amount"] {
        assert_eq!(list[1][k], next[k], "{k}: the invoice issued is the one answered when scheduling");
    }
    assert_eq!(list[1]["items"][0]["quantity"], 4, "{}", list[1]);
}

#[test]
fn a_scheduled_change_is_priced_on_the_catalog_version_it_was_quoted_on() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, false, TODAY);
    let contract = text(&signup["contract"]["id"]);
    let change = json!({ "action": "QUANTITY_CHANGE", "contractId": contract, "relativeEffectiveDate": "NEXT_BILL_CYCLE",
        "payload": { "offerings": [{ "offeringId": "offr_team", "products": [{ "productId": "prod_seats", "quantity": 4 }] }] } });
    let (status, r) = c.change(&change);
    assert_eq!(status, 200, "{r}");
    let next = r["nextInvoice"].clone();
    assert_eq!(next["amountWithoutTax"].to_string(), "48.00", "four seats at 12.00: {r}");
    // Before the change's date the vendor raises the seat price for new business.
    let mut raised = demo_catalog();
    for rate in raised["offerings"][1]["rates"].as_array_mut().unwrap() {
        for price in rate["prices"].as_array_mut().unwrap() {
            if price["productId"] == "prod_seats" && price["unitAmount"] == "12" {
                price["unitAmount"] = json!("15");
            }
        }
    }
    let (status, published) = Call { app: &a, now: now("2026-12-01") }.publish(&raised);
    assert_eq!(status, 201, "{published}");
    for day in dates(TODAY, 31) {
        run(&a, &day);
    }
    let list = invoices(&a, &contract);
    assert_eq!(list.len(), 2, "the sign-up, then Dec 22's");
    for k in ["invoiceDate", "amountWithoutTax", "tax", "amount"] {
        assert_eq!(list[1][k], next[k], "{k}: the customer pays what the change answered when scheduled");
    }
    let (_, got) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert_eq!(got["catalogVersion"], 1, "still on the version it was quoted on: {got}");
}

#[test]
fn a_failing_card_is_retried_then_the_invoice_voided_and_the_contract_suspended() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, true, TODAY);
    let contract = text(&signup["contract"]["id"]);
    let mut failed = 0;
    for day in dates("2026-12-20", 10) {
        failed += run(&a, &day)["failed"].as_i64().unwrap();
    }
    assert_eq!(failed, 4, "the first attempt on Dec 22, then retries 1, 3 and 5 days later");
    let list = invoices(&a, &contract);
    assert_eq!(list[1]["status"], "VOID");
    let (_, got) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    let attempts = a.db.count("payment_attempts");
    assert_eq!(attempts, 4);
    let status: String =
        a.db.0.borrow().query_row("SELECT status FROM contracts WHERE id = ?1", [&contract], |r| r.get(0)).unwrap();
    assert_eq!(status, "SUSPENDED");
    let keys: Vec<String> = a.stripe.charges.borrow().iter().skip(1).map(|c| c.0.clone()).collect();
    let inv = list[1]["id"].as_str().unwrap();
    assert_eq!(keys, (1..=4).map(|n| format!("{inv}/attempt/{n}")).collect::<Vec<_>>());
    // Suspended: not billed further, no changes.
    for day in dates("2027-01-20", 5) {
        assert_eq!(run(&a, &day)["invoicesIssued"], 0);
    }
    let (status, e) = c.change(&json!({ "action": "CANCELLATION", "contractId": contract, "payload": null }));
    assert_eq!((status, e["code"].as_str()), (409, Some("CONTRACT_SUSPENDED")));
    assert!(got["id"].is_string());
}

#[test]
fn a_run_cut_off_after_issuing_is_finished_by_the_next() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    paying_customer(&c, 10, false, TODAY);
    a.db.fail_next_batch_with("INSERT INTO payment_attempts");
    let cut = Call { app: &a, now: now("2026-12-22") };
    let (status, _) = cut.secret("POST", "/api/billingRuns", Some(&json!({ "date": "2026-12-22" })));
    assert_eq!(status, 503, "the run stopped after issuing the invoice");
    assert_eq!(a.db.count("invoices"), 2);
    assert_eq!(a.stripe.charge_count(), 1);
    let r = run(&a, "2026-12-22");
    assert_eq!((r["invoicesIssued"].as_i64(), r["charged"].as_i64()), (Some(0), Some(1)));
    assert_eq!(a.db.count("invoices"), 2);
    assert_eq!(a.stripe.charge_count(), 2);
}

#[test]
fn runs_page_through_contracts() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    paying_customer(&c, 1, false, TODAY);
    paying_customer(&c, 2, false, TODAY);
    let (status, e) = c.secret("POST", "/api/billingRuns", Some(&json!({ "date": "2026-12-22" })));
    assert_eq!((status, e["path"].as_str()), (400, Some("date")), "no billing ahead of time");
    let c = Call { app: &a, now: now("2026-12-22") };
    let first = c.secret("POST", "/api/billingRuns", Some(&json!({ "date": "2026-12-22", "limit": 1 }))).1;
    assert_eq!(first["contracts"], 1);
    let cursor = first["nextCursor"].as_str().unwrap();
    let second =
        c.secret("POST", "/api/billingRuns", Some(&json!({ "date": "2026-12-22", "limit": 1, "cursor": cursor }))).1;
    assert_eq!(second["contracts"], 1);
    let third = c
        .secret(
            "POST",
            "/api/billingRuns",
            Some(&json!({ "date": "2026-12-22", "limit": 1, "cursor": second["nextCursor"] })),
        )
        .1;
    assert_eq!((third["contracts"].as_i64(), third["nextCursor"].is_null()), (Some(0), true));
    assert_eq!(first["invoicesIssued"].as_i64().unwrap() + second["invoicesIssued"].as_i64().unwrap(), 2);
    let (status, e) = c.secret("POST", "/api/billingRuns", Some(&json!({ "date": "22/12/2026" })));
    assert_eq!((status, e["path"].as_str()), (400, Some("date")));
    for (body, path) in
        [(json!("2026-12-22"), ""), (json!({ "cursor": 7 }), "cursor"), (json!({ "limit": 0 }), "limit")]
    {
        let (status, e) = c.secret("POST", "/api/billingRuns", Some(&body));
        assert_eq!((status, e["path"].as_str()), (400, Some(path)), "{body}");
    }
}

#[test]
fn a_new_card_retries_what_dunning_gave_up_on_and_resumes_the_contract() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, true, TODAY);
    let contract = text(&signup["contract"]["id"]);
    let account = text(&signup["customer"]["accountId"]);
    for day in dates("2026-12-22", 6) {
        run(&a, &day);
    }
    let later = Call { app: &a, now: now("2026-12-30") };
    let (status, seti) = later.secret("POST", &format!("/api/accounts/{account}/setupIntents"), None);
    assert_eq!(status, 201, "{seti}");
    let id = seti["setupIntentId"].as_str().unwrap();
    a.stripe.confirm(id, false);
    let (status, r) =
        later.secret("POST", &format!("/api/accounts/{account}/paymentMethod"), Some(&json!({ "paymentToken": id })));
    assert_eq!(status, 200, "{r}");
    // The voided invoice stays void; the resumption charges what was used
    // before the suspension (Dec 22–27) and the rest of the period from the
    // resume date (Dec 30 – Jan 22): never the suspended days.
    assert_eq!((r["retried"].as_i64(), r["charged"].as_i64()), (Some(0), Some(1)));
    let list = invoices(&a, &contract);
    assert_eq!(list[1]["status"], "VOID");
    assert_eq!(list[2]["status"], "PAID");
    let periods: Vec<(&str, &str)> = list[2]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["periodStart"].as_str().unwrap(), i["periodEnd"].as_str().unwrap()))
        .collect();
    assert_eq!(periods, [("2026-12-22", "2026-12-27"), ("2026-12-30", "2027-01-22")]);
    let status: String =
        a.db.0.borrow().query_row("SELECT status FROM contracts WHERE id = ?1", [&contract], |r| r.get(0)).unwrap();
    assert_eq!(status, "ACTIVE");
    // Billing goes on.
    assert_eq!(run(&a, "2027-01-22")["invoicesIssued"], 1);
}

#[test]
fn webhooks_are_verified_and_handled_once() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, true, TODAY);
    let contract = text(&signup["contract"]["id"]);
    run(&a, "2026-12-22");
    let invoice = text(&invoices(&a, &contract)[1]["id"]);
    let at = c.now.at.and_utc().timestamp();
    let event = json!({ "id": "evt_1", "type": "payment_intent.succeeded", "data": { "object": {
        "id": "pi_async", "amount": 12870, "amount_received": 12870, "currency": "usd", "metadata": { "quotekit_invoice": invoice } } } })
    .to_string();
    let post = |body: &str, sig: &str| {
        c.send("POST", "/api/webhooks/stripe", None, Some(body.to_owned()), &[("stripe-signature", sig)])
    };
    let before = a.db.dump();
    // Bad signature, stale timestamp, another secret: 400, nothing changes.
    assert_eq!(post(&event, "t=1,v1=00").status, 400);
    assert_eq!(
        post(&event, &edge::stripe::signature::sign(support::WEBHOOK_SECRET, event.as_bytes(), at - 301)).status,
        400
    );
    assert_eq!(post(&event, &edge::stripe::signature::sign("whsec_other", event.as_bytes(), at)).status, 400);
    assert_eq!(
        post(
            &event.replace("12870", "1"),
            &edge::stripe::signature::sign(support::WEBHOOK_SECRET, event.as_bytes(), at)
        )
        .status,
        400
    );
    assert_eq!(a.db.dump(), before);
    // A good one pays the invoice; its replay changes nothing.
    let sig = edge::stripe::signature::sign(support::WEBHOOK_SECRET, event.as_bytes(), at);
    let r = post(&event, &sig);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(invoices(&a, &contract)[1]["status"], "PAID");
    let after = a.db.dump();
    let again = post(&event, &sig);
    assert_eq!((again.status, again.body.contains("\"duplicate\":true")), (200, true));
    assert_eq!(a.db.dump(), after);
    // Out of order: a failure reported after the success leaves the invoice paid.
    let failed = json!({ "id": "evt_2", "type": "payment_intent.payment_failed", "data": { "object": {
        "id": "pi_async", "metadata": { "quotekit_invoice": invoice }, "last_payment_error": { "decline_code": "expired_card" } } } })
    .to_string();
    assert_eq!(
        post(&failed, &edge::stripe::signature::sign(support::WEBHOOK_SECRET, failed.as_bytes(), at)).status,
        200
    );
    assert_eq!(invoices(&a, &contract)[1]["status"], "PAID");
    let payments: i64 =
        a.db.0
            .borrow()
            .query_row("SELECT COUNT(*) FROM payments WHERE invoice_id = ?1", [&invoice], |r| r.get(0))
            .unwrap();
    assert_eq!(payments, 1);
}

#[test]
fn in_arrears_a_change_splits_the_period_and_a_cancellation_still_bills_what_was_used() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let (status, imported) = c.secret("POST", "/api/contracts", Some(&json!({
        "account": { "name": "Arrears Co" }, "billGroup": { "collectInvoiceBalanceAutomatically": false },
        "contract": { "status": "ACTIVE", "currency": "USD", "startDate": "2026-01-01", "endDate": null,
            "offerings": [{ "offeringId": "offr_support", "rateId": "rate_support_quarterly_arrears", "serviceStart": "2026-01-01",
                "anchorDate": "2026-01-01", "anchorDay": 1, "invoicedThrough": "2026-01-01",
                "products": [{ "productId": "prod_support", "quantity": 1 }] }] }
    })));
    assert_eq!(status, 201, "{imported}");
    let id = text(&imported["contract"]["id"]);
    run(&a, "2026-02-10");
    let cancel = Call { app: &a, now: now("2026-02-10") };
    let (status, r) = cancel.change(&json!({ "action": "CANCELLATION", "contractId": id, "payload": null }));
    assert_eq!(status, 200, "{r}");
    assert!(r.get("invoice").is_none(), "nothing on the day of the change");
    assert_eq!(r["contract"]["unbilledArrears"][0]["end"], "2026-02-10");
    for day in dates("2026-02-11", 60) {
        run(&a, &day);
    }
    let list = invoices(&a, &id);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["invoiceDate"], "2026-04-01", "at the end of the quarter");
    assert_eq!(list[0]["items"][0]["periodEnd"], "2026-02-10");
    // 139 × 40/90 = 61.78 for Jan 1 – Feb 10 of the Jan–Mar quarter.
    assert_eq!(list[0]["amountWithoutTax"].to_string(), "61.78");
}

fn termed(a: &support::TestApp, auto_renew: Option<bool>) -> String {
    let c = Call { app: a, now: now(TODAY) };
    let mut contract = json!({ "status": "ACTIVE", "currency": "USD", "startDate": "2026-01-01", "endDate": "2027-01-01",
        "offerings": [{ "offeringId": "offr_team", "rateId": "rate_team_annual", "serviceStart": "2026-01-01",
            "anchorDate": "2026-01-01", "anchorDay": 1, "invoicedThrough": "2027-01-01",
            "products": [{ "productId": "prod_seats", "quantity": 2 }, { "productId": "prod_storage", "quantity": 100 }] }] });
    if let Some(auto) = auto_renew {
        contract["autoRenew"] = json!(auto);
    }
    let (status, imported) = c.secret("POST", "/api/contracts", Some(&json!({
        "account": { "name": "Term Co" }, "billGroup": { "collectInvoiceBalanceAutomatically": false }, "contract": contract })));
    assert_eq!(status, 201, "{imported}");
    text(&imported["contract"]["id"])
}

#[test]
fn a_termed_contract_renews_at_its_end_when_it_auto_renews_and_ends_otherwise() {
    let a = setup();
    let renewing = termed(&a, Some(true));
    let ending = termed(&a, None);
    let r = run(&a, "2027-01-01");
    assert_eq!((r["renewed"].as_i64(), r["ended"].as_i64()), (Some(1), Some(1)), "{r}");
    let c = Call { app: &a, now: now(TODAY) };
    let (_, renewed) = c.secret("GET", &format!("/api/contracts/{renewing}"), None);
    assert_eq!(renewed["endDate"], "2028-01-01");
    assert_eq!(renewed["amendments"][0]["action"], "RENEW");
    let list = invoices(&a, &renewing);
    assert_eq!(list.len(), 1, "the new term's first year, on the day it starts");
    assert_eq!(list[0]["invoiceDate"], "2027-01-01");
    assert_eq!(list[0]["amountWithoutTax"].to_string(), "240.00");
    let (_, ended) = c.secret("GET", &format!("/api/contracts/{ending}"), None);
    assert_eq!(ended["status"], "CANCELED");
    assert!(invoices(&a, &ending).is_empty());
    assert_eq!(run(&a, "2027-01-02")["invoicesIssued"], 0);
}

/// The invoice's payment attempts: (attempt, status).
fn attempts(a: &support::TestApp) -> Vec<(i64, String)> {
    a.db.rows("SELECT attempt, status FROM payment_attempts ORDER BY invoice_id, attempt")
        .iter()
        .map(|r| (r["attempt"].as_i64().unwrap(), text(&r["status"])))
        .collect()
}

#[test]
fn an_attempt_whose_outcome_stripe_cannot_tell_is_taken_up_by_the_next_run_and_charged_once() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let contract = text(&paying_customer(&c, 10, false, TODAY)["contract"]["id"]);
    assert_eq!(a.stripe.charge_count(), 1);
    a.stripe.silent_after_next_confirm.set(true);
    let r = run(&a, "2026-12-22");
    assert_eq!((r["charged"].as_i64(), r["failed"].as_i64(), r["unsettled"].as_i64()), (Some(0), Some(0), Some(1)));
    assert_eq!(a.stripe.charge_count(), 2, "charged, but the run never heard");
    assert_eq!(
        attempts(&a),
        vec![(1, "PENDING".into())],
        "held: neither failed (no dunning) nor retried under a new key"
    );
    assert_eq!(invoices(&a, &contract)[1]["status"], "OPEN");
    // Still silent: the next run leaves it held.
    let r = run(&a, "2026-12-22");
    assert_eq!(r["unsettled"].as_i64(), Some(1));
    a.stripe.down.set(false);
    let r = run(&a, "2026-12-22");
    assert_eq!((r["charged"].as_i64(), r["unsettled"].as_i64()), (Some(1), Some(0)), "{r}");
    assert_eq!(a.stripe.charge_count(), 2, "the same attempt, settled from its PaymentIntent");
    assert_eq!(attempts(&a), vec![(1, "SUCCEEDED".into())]);
    assert_eq!(invoices(&a, &contract)[1]["status"], "PAID");
    assert_eq!(a.db.count("payments"), 2);
}

#[test]
fn an_attempt_left_pending_by_a_stopped_run_is_resumed_once_its_claim_expires() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    paying_customer(&c, 10, false, TODAY);
    // The run charges, then loses D1 before writing the outcome.
    a.db.fail_next_batch_with("INSERT INTO payments");
    let first = Call { app: &a, now: support::at("2026-12-22", "03:00:00") };
    let (status, _) = first.secret("POST", "/api/billingRuns", Some(&json!({ "date": "2026-12-22" })));
    assert_eq!(status, 503);
    assert_eq!(a.stripe.charge_count(), 2);
    assert_eq!(attempts(&a), vec![(1, "PENDING".into())]);
    // A run within the minute leaves the claim to its (possibly live) holder.
    let soon = Call { app: &a, now: support::at("2026-12-22", "03:00:40") };
    let (_, r) = soon.secret("POST", "/api/billingRuns", Some(&json!({ "date": "2026-12-22" })));
    assert_eq!(r["charged"].as_i64(), Some(0), "{r}");
    let later = Call { app: &a, now: support::at("2026-12-22", "03:02:00") };
    let (_, r) = later.secret("POST", "/api/billingRuns", Some(&json!({ "date": "2026-12-22" })));
    assert_eq!(r["charged"].as_i64(), Some(1), "{r}");
    assert_eq!(a.stripe.charge_count(), 2, "resumed under the same key: not charged again");
    assert_eq!(attempts(&a), vec![(1, "SUCCEEDED".into())]);
}

#[test]
fn a_change_held_for_an_unknown_outcome_is_settled_by_the_billing_run() {
    let a = setup();
    let c = Call { app: &a, now: now("2026-12-01") };
    let signup = Call { app: &a, now: now(TODAY) };
    let contract = text(&paying_customer(&signup, 10, false, TODAY)["contract"]["id"]);
    a.stripe.silent_after_next_confirm.set(true);
    let change = json!({ "action": "QUANTITY_CHANGE", "contractId": contract,
        "payload": { "offerings": [{ "offeringId": "offr_team", "products": [{ "productId": "prod_seats", "quantity": 15 }] }] } });
    assert_eq!(c.change(&change).0, 502);
    let r = run(&a, "2026-12-01");
    assert_eq!(r["unsettled"].as_i64(), Some(1), "Stripe still silent: the contract waits");
    a.stripe.down.set(false);
    let r = run(&a, "2026-12-01");
    assert_eq!(r["unsettled"].as_i64(), Some(0), "{r}");
    let (_, got) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert_eq!(got["offerings"][0]["products"][0]["quantity"], 15);
    assert_eq!(got["amendments"][0]["status"], "APPLIED");
    assert_eq!(a.stripe.charge_count(), 2);
    assert_eq!(a.db.count("payments"), 2);
}

#[test]
fn a_new_cards_retry_with_an_unknown_outcome_is_settled_by_the_next_run() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, true, TODAY);
    let contract = text(&signup["contract"]["id"]);
    let account = text(&signup["customer"]["accountId"]);
    for day in dates("2026-12-22", 6) {
        run(&a, &day);
    }
    assert_eq!(invoices(&a, &contract)[1]["status"], "VOID");
    let later = Call { app: &a, now: now("2026-12-30") };
    let (_, seti) = later.secret("POST", &format!("/api/accounts/{account}/setupIntents"), None);
    let id = seti["setupIntentId"].as_str().unwrap();
    a.stripe.confirm(id, false);
    let charges = a.stripe.charge_count();
    a.stripe.silent_after_next_confirm.set(true);
    let (status, r) =
        later.secret("POST", &format!("/api/accounts/{account}/paymentMethod"), Some(&json!({ "paymentToken": id })));
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["charged"].as_i64(), Some(0));
    assert_eq!(a.stripe.charge_count(), charges + 1, "Stripe charged; the Worker never heard");
    assert_eq!(invoices(&a, &contract)[2]["status"], "OPEN", "the resumption's invoice, its attempt held");
    a.stripe.down.set(false);
    let r = run(&a, "2026-12-30");
    assert_eq!(r["charged"].as_i64(), Some(1), "{r}");
    assert_eq!(invoices(&a, &contract)[1]["status"], "VOID");
    assert_eq!(invoices(&a, &contract)[2]["status"], "PAID");
    assert_eq!(a.stripe.charge_count(), charges + 1, "not charged again");
}

#[test]
fn card_retries_are_not_starved_by_invoices_collected_by_hand_and_every_due_one_is_tried() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, true, TODAY);
    let contract = text(&signup["contract"]["id"]);
    let account = text(&signup["customer"]["accountId"]);
    let group: String =
        a.db.0
            .borrow()
            .query_row("SELECT bill_group_id FROM contracts WHERE id = ?1", [&contract], |r| r.get(0))
            .unwrap();
    assert_eq!(run(&a, "2026-12-22")["failed"], 1, "the first attempt; the retry is due on Dec 23");
    let first = text(&invoices(&a, &contract)[1]["id"]);
    // 600 open invoices paid by hand (bank transfer), their ids before every
    // other, and 250 more card retries due on the 23rd (more than a page).
    let mut sql = format!(
        "INSERT INTO bill_groups (id, account_id, currency, auto_email_invoice, collect_automatically, created_at) \
         VALUES ('bg_byhand', '{account}', 'USD', 1, 0, '2026-11-01T00:00:00Z');"
    );
    let invoice = |id: &str, group: &str, attempts: u8, next: &str| {
        format!(
            "INSERT INTO invoices (id, account_id, contract_id, bill_group_id, status, invoice_date, currency, \
             amount_without_tax, tax, amount, amount_due, body, created_at, attempts, next_attempt_on) VALUES \
             ('{id}', '{account}', '{contract}', '{group}', 'OPEN', '2026-12-01', 'USD', '10.00', '0.00', '10.00', \
             '10.00', '{{}}', '2026-12-01T00:00:00Z', {attempts}, {next});"
        )
    };
    for i in 0..600 {
        let id = format!("inv_0000{i:04}");
        sql += &invoice(&id, "bg_byhand", 0, "NULL");
        sql += &format!(
            "INSERT INTO billed_periods (contract_id, offering_id, period_start, invoice_id) \
             VALUES ('{contract}', 'offr_byhand', '2026-{i:04}', '{id}');"
        );
    }
    for i in 0..250 {
        sql += &invoice(&format!("inv_0001{i:04}"), &group, 1, "'2026-12-23'");
    }
    a.db.0.borrow().execute_batch(&sql).unwrap();
    let r = run(&a, "2026-12-23");
    assert_eq!(r["failed"], 251, "every card retry due is tried, the hand-paid ones are not: {r}");
    let keys: Vec<String> = a.stripe.charges.borrow().iter().map(|c| c.0.clone()).collect();
    assert!(keys.contains(&format!("{first}/attempt/2")), "the contract's own retry: {keys:?}");
    assert!(!keys.iter().any(|k| k.starts_with("inv_0000")), "nothing charged on a hand-paid invoice");
}

#[test]
fn a_contract_that_ends_is_billed_on_its_end_date_for_its_last_usage_and_its_last_arrears_piece() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    // Both end on 2026-03-01 without renewing: an API plan (February paid ahead; its usage)
    // and quarterly support in arrears (the piece of its quarter used: Jan–Feb).
    let mut ids = Vec::new();
    for (line, products) in [
        (
            ("offr_api", "rate_api_monthly", "2026-03-01"),
            json!([{ "productId": "prod_api_platform", "quantity": 1 },
                                                               { "productId": "prod_api_calls", "quantity": 50000 }]),
        ),
        (
            ("offr_support", "rate_support_quarterly_arrears", "2026-01-01"),
            json!([{ "productId": "prod_support", "quantity": 1 }]),
        ),
    ] {
        let (offering, rate, invoiced) = line;
        let mut l = json!({ "offeringId": offering, "rateId": rate, "serviceStart": "2026-01-01", "anchorDate": "2026-01-01",
            "anchorDay": 1, "invoicedThrough": invoiced, "products": products });
        if offering == "offr_api" {
            l["meteredThrough"] = json!("2026-02-01");
        }
        let (status, imported) = c.secret("POST", "/api/contracts", Some(&json!({
            "account": { "name": format!("Ending {offering}") }, "billGroup": { "collectInvoiceBalanceAutomatically": false },
            "contract": { "status": "ACTIVE", "currency": "USD", "startDate": "2026-01-01", "endDate": "2026-03-01",
                "autoRenew": false, "offerings": [l] } })));
        assert_eq!(status, 201, "{imported}");
        ids.push(text(&imported["contract"]["id"]));
    }
    let usage = Call { app: &a, now: support::at("2026-02-20", "12:00:00") };
    let (status, answer) = usage.secret("POST", "/api/usage", Some(&json!({ "events": [
        { "id": "end-1", "contractId": ids[0], "productId": "prod_api_calls", "quantity": 60000, "timestamp": "2026-02-10T09:00:00Z" }] })));
    assert_eq!((status, answer["accepted"].as_u64()), (202, Some(1)), "{answer}");
    let messages = a.usage.take();
    pollster::block_on(edge::usecases::store_usage::run(&a.db, &messages, &now("2026-02-20"))).unwrap();
    for day in dates("2026-02-21", 12) {
        run(&a, &day);
    }
    let api = invoices(&a, &ids[0]);
    assert_eq!(api.len(), 1, "{api:?}");
    assert_eq!(api[0]["invoiceDate"], "2026-03-01");
    let lines: Vec<(String, String)> =
        api[0]["items"].as_array().unwrap().iter().map(|l| (text(&l["type"]), l["amount"].to_string())).collect();
    assert_eq!(lines, [("USAGE".to_owned(), "100.00".to_owned())], "February's 60 000 calls, and no fee after the end");
    let support = invoices(&a, &ids[1]);
    assert_eq!(support.len(), 1, "{support:?}");
    assert_eq!(
        (&support[0]["invoiceDate"], &support[0]["items"][0]["periodEnd"]),
        (&json!("2026-03-01"), &json!("2026-03-01"))
    );
    // 139 × 59/90 = 91.12 for Jan 1 – Mar 1 of the Jan–Mar quarter.
    assert_eq!(support[0]["amountWithoutTax"].to_string(), "91.12");
    for id in &ids {
        let (_, contract) = c.secret("GET", &format!("/api/contracts/{id}"), None);
        assert_eq!(contract["status"], "CANCELED", "{contract}");
    }
}

/// A monthly contract imported with its next invoice due 2026-02-01.
fn monthly_due_feb_1(c: &Call, name: &str, collects: bool) -> String {
    let (status, imported) = c.secret("POST", "/api/contracts", Some(&json!({
        "account": { "name": name }, "billGroup": { "collectInvoiceBalanceAutomatically": collects },
        "contract": { "status": "ACTIVE", "currency": "USD", "startDate": "2026-01-01", "endDate": null,
            "offerings": [{ "offeringId": "offr_team", "rateId": "rate_team_monthly", "serviceStart": "2026-01-01",
                "anchorDate": "2026-01-01", "anchorDay": 1, "invoicedThrough": "2026-02-01",
                "products": [{ "productId": "prod_seats", "quantity": 2 }, { "productId": "prod_storage", "quantity": 100 }] }] } })));
    assert_eq!(status, 201, "{imported}");
    text(&imported["contract"]["id"])
}

#[test]
fn a_page_writes_its_contracts_invoices_in_a_few_statements_and_leaves_a_contract_claimed_meanwhile_to_its_writer() {
    use edge::steps::billing::Page;
    use edge::usecases::billing_run::run_message;
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let ids: Vec<String> = (0..60).map(|i| monthly_due_feb_1(&c, &format!("Page {i}"), false)).collect();
    let date = pricing::parse_date("2026-02-01").unwrap();
    let at = now("2026-02-01");
    let page = |after: &str| Page { date, after: after.to_owned(), until: String::new(), limit: 30 }.message();
    // The first page of 30: reads for the page, then one batch for all its invoices.
    let (report, next) = pollster::block_on(run_message(&a, &page(""), &at)).unwrap();
    assert_eq!(report["invoicesIssued"], 30, "{report}");
    let statements = report["d1Statements"].as_u64().unwrap();
    assert!(statements <= 10, "30 contracts in {statements} statements (4 each, written one by one)");
    // The next page: another writer claims one contract's next version first
    // (a change applied meanwhile): the page's batch conflicts, so each
    // contract is written on its own and that one is left to the other writer.
    let next = next.expect("a page follows");
    let mut sorted = ids.clone();
    sorted.sort();
    let claimed = sorted[40].clone();
    a.db.exec(&format!(
        "INSERT INTO contract_events (contract_id, version, action, at) \
         SELECT id, version + 1, 'CHANGE_APPLIED', '2026-02-01T00:00:00Z' FROM contracts WHERE id = '{claimed}'"
    ));
    let (report, _) = pollster::block_on(run_message(&a, &next, &at)).unwrap();
    assert_eq!(
        (report["invoicesIssued"].as_i64(), report["failedContracts"].as_array().map(Vec::len)),
        (Some(29), Some(0))
    );
    assert!(invoices(&a, &claimed).is_empty(), "nothing written over the other writer's version");
    // The other writer's version stored, the next run bills that contract, and nothing twice.
    a.db.exec(&format!("UPDATE contracts SET version = version + 1 WHERE id = '{claimed}'"));
    let (report, _) = pollster::block_on(run_message(&a, &page(""), &at)).unwrap();
    let (again, _) = pollster::block_on(run_message(&a, &page(&sorted[29]), &at)).unwrap();
    assert_eq!((report["invoicesIssued"].as_i64(), again["invoicesIssued"].as_i64()), (Some(0), Some(1)));
    for id in &ids {
        let list = invoices(&a, id);
        assert_eq!(list.len(), 1, "{id}: {list:?}");
        assert_eq!(list[0]["invoiceDate"], "2026-02-01");
        assert!(list[0]["amount"].as_f64().unwrap() > 0.0, "{}", list[0]);
    }
}

#[test]
fn the_run_fanned_out_on_the_queue_bills_every_contract_once_whatever_the_delivery() {
    use edge::steps::billing::Page;
    use edge::usecases::billing_run::run_message;
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let ids: Vec<String> = (0..24).map(|i| monthly_due_feb_1(&c, &format!("Fan {i}"), false)).collect();
    let date = pricing::parse_date("2026-02-01").unwrap();
    let at = now("2026-02-01");
    // The cron's messages: 8 ranges covering every id once; pages of 2 send the rest of their range on.
    let mut queue: Vec<String> = Page::ranges(date).into_iter().map(|p| Page { limit: 2, ..p }.message()).collect();
    assert_eq!(queue.len(), edge::steps::billing::RANGES);
    let (mut issued, mut looked_at, mut pages) = (0, 0, 0);
    let mut sent = std::collections::BTreeSet::new();
    while let Some(message) = queue.pop() {
        // Every page delivered twice (at-least-once); both deliveries send the
        // same rest of the range on, which the queue here holds once.
        for _ in 0..2 {
            let (report, next) = pollster::block_on(run_message(&a, &message, &at)).unwrap();
            issued += report["invoicesIssued"].as_i64().unwrap();
            looked_at += report["contracts"].as_i64().unwrap();
            pages += 1;
            queue.extend(next.filter(|n| sent.insert(n.clone())));
        }
        assert!(pages < 1000, "the ranges end");
    }
    assert_eq!(looked_at, 2 * 24, "each contract in exactly one range, each page twice");
    // A consumer on a page that overlaps all of them (the whole run at once) finds nothing left.
    let whole = Page { date, after: String::new(), until: String::new(), limit: 200 };
    let (report, next) = pollster::block_on(run_message(&a, &whole.message(), &at)).unwrap();
    issued += report["invoicesIssued"].as_i64().unwrap();
    assert_eq!((report["contracts"].as_i64(), next), (Some(24), None));
    // A consumer that fails mid-page (D1 refuses an invoice's batch) is retried: still once.
    let extra = monthly_due_feb_1(&c, "Fan late", false);
    a.db.fail_next_batch_with("INSERT INTO invoices");
    let failed = pollster::block_on(run_message(&a, &whole.message(), &at));
    assert_eq!(
        failed.map(|(r, _)| r).err().map(|e| e.status),
        Some(503),
        "storage down: the page fails, to be retried"
    );
    assert!(invoices(&a, &extra).is_empty(), "nothing of the failed batch written");
    let (report, _) = pollster::block_on(run_message(&a, &whole.message(), &at)).unwrap();
    issued += report["invoicesIssued"].as_i64().unwrap();
    assert_eq!(issued, 25, "one invoice per contract");
    for id in ids.iter().chain(std::iter::once(&extra)) {
        let list = invoices(&a, id);
        assert_eq!(list.len(), 1, "{id}: {list:?}");
        assert_eq!(list[0]["invoiceDate"], "2026-02-01");
    }
}

/// `GET /api/contracts/{id}`'s `nextInvoice` as of `day`.
fn next_invoice(a: &support::TestApp, contract: &str, day: &str) -> Value {
    let (status, got) = Call { app: a, now: now(day) }.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert_eq!(status, 200, "{got}");
    got["nextInvoice"].clone()
}

/// What a customer is told comes next is what comes: figures and lines.
fn same_invoice(told: &Value, issued: &Value) {
    for k in ["invoiceDate", "amountWithoutTax", "discountAmount", "tax", "amount"] {
        assert_eq!(told[k], issued[k], "{k}: told {told}\nissued {issued}");
    }
    let lines = |i: &Value| -> Vec<(Value, Value, Value, Value)> {
        i["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["productId"].clone(), l["quantity"].clone(), l["periodStart"].clone(), l["amount"].clone()))
            .collect()
    };
    assert_eq!(lines(told), lines(issued));
}

#[test]
fn the_next_invoice_a_contract_answers_is_the_one_the_run_issues() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    // Seats in advance: the next period's charge on Dec 22.
    let team = text(&paying_customer(&c, 10, false, TODAY)["contract"]["id"]);
    let told = next_invoice(&a, &team, "2026-12-01");
    assert_eq!((told["status"].as_str(), told["invoiceDate"].as_str()), (Some("DRAFT"), Some("2026-12-22")), "{told}");
    assert_eq!(told["amountWithoutTax"].to_string(), "120.00");
    // An API plan: the platform fee ahead and the usage reported so far, at the period's end.
    let quote = json!({ "startDate": TODAY, "offerings": [{ "offeringId": "offr_api", "rateId": "rate_api_monthly",
        "items": [{ "productId": "prod_api_platform", "quantity": 1 }, { "productId": "prod_api_calls", "quantity": 0 }] }] });
    let (status, done) = c.secret("POST", "/api/selfService/signup", Some(&json!({ "action": "CREATE_AND_FINALIZE",
        "customer": support::customer_json(), "quote": quote, "billGroup": { "collectInvoiceBalanceAutomatically": false } })));
    assert_eq!(status, 201, "{done}");
    let api = text(&done["contract"]["id"]);
    let event = json!({ "id": "evt_1", "contractId": api, "productId": "prod_api_calls", "quantity": 30_000,
        "timestamp": "2026-12-01T10:00:00Z" });
    let (status, r) = Call { app: &a, now: support::at("2026-12-01", "12:00:00") }.secret(
        "POST",
        "/api/usage",
        Some(&json!({ "events": [event] })),
    );
    assert_eq!(status, 202, "{r}");
    let messages = a.usage.take();
    pollster::block_on(edge::usecases::store_usage::run(&a.db, &messages, &now("2026-12-01"))).unwrap();
    let told_api = next_invoice(&a, &api, "2026-12-02");
    // 20 000 calls past the included 10 000 at 0.002, and next month's fee.
    assert_eq!(told_api["amountWithoutTax"].to_string(), "50.00", "{told_api}");
    for day in dates(TODAY, 30) {
        run(&a, &day);
    }
    let issued =
        |contract: &str| invoices(&a, contract).into_iter().find(|i| i["invoiceDate"] == "2026-12-22").unwrap();
    same_invoice(&told, &issued(&team));
    same_invoice(&told_api, &issued(&api));
    // Afterwards it tells the one after.
    assert_eq!(next_invoice(&a, &team, "2026-12-23")["invoiceDate"], "2027-01-22");
}
