//! Billing that never silently stops: contracts priced on their own catalog
//! version (grandfathering) and moved to the current one only when the vendor
//! says so, one contract's failure reported while the others are billed, kept
//! arrears pieces billed once and let go, one status everywhere, suspension
//! that bills no suspended day, and no invoice without lines.
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

/// The contract's invoices as stored, in date order.
fn invoices(a: &support::TestApp, contract: &str) -> Vec<Value> {
    let conn = a.db.0.borrow();
    let mut st = conn
        .prepare("SELECT body, status FROM invoices WHERE contract_id = ?1 ORDER BY invoice_date, created_at, id")
        .unwrap();
    st.query_map([contract], |r| {
        let mut v: Value = serde_json::from_str(&r.get::<_, String>(0)?).unwrap();
        v["status"] = json!(r.get::<_, String>(1)?);
        Ok(v)
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn amount(v: &Value) -> String {
    v.to_string()
}

/// The demo catalog with Team seats at `seat` a month and, when `drop_support`,
/// without the Priority support offering.
fn edited(seat: &str, drop_support: bool) -> Value {
    let mut c = demo_catalog();
    let offerings = c["offerings"].as_array_mut().unwrap();
    for o in offerings.iter_mut().filter(|o| o["id"] == "offr_team") {
        for r in o["rates"].as_array_mut().unwrap().iter_mut().filter(|r| r["id"] == "rate_team_monthly") {
            r["prices"][0]["unitAmount"] = json!(seat);
        }
    }
    if drop_support {
        offerings.retain(|o| o["id"] != "offr_support");
    }
    c
}

fn import(a: &support::TestApp, name: &str, contract: Value) -> String {
    let c = Call { app: a, now: now(TODAY) };
    let (status, r) = c.secret("POST", "/api/contracts", Some(&json!({
        "account": { "name": name }, "billGroup": { "collectInvoiceBalanceAutomatically": false }, "contract": contract })));
    assert_eq!(status, 201, "{r}");
    text(&r["contract"]["id"])
}

fn support_contract(start: &str, rate: &str) -> Value {
    json!({ "status": "ACTIVE", "currency": "USD", "startDate": start, "endDate": null,
        "offerings": [{ "offeringId": "offr_support", "rateId": rate, "serviceStart": start, "anchorDate": start,
            "anchorDay": start[8..].parse::<u32>().unwrap(), "invoicedThrough": start,
            "products": [{ "productId": "prod_support", "quantity": 1 }] }] })
}

#[test]
fn a_catalog_that_drops_or_reprices_plans_leaves_existing_contracts_billed_on_their_own_version() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let team = text(&paying_customer(&c, 10, false, TODAY)["contract"]["id"]);
    let support = import(&a, "Support Co", support_contract("2026-11-01", "rate_support_quarterly_arrears"));
    // The vendor raises Team seats to 15 and retires Priority support.
    assert_eq!(c.publish(&edited("15", true)).0, 201);
    let r = run(&a, "2026-12-22");
    assert_eq!(r["failedContracts"], json!([]), "{r}");
    let team_invoices = invoices(&a, &team);
    assert_eq!(team_invoices.len(), 2);
    assert_eq!(amount(&team_invoices[1]["items"][0]["amount"]), "120.00", "10 seats at the price sold: 12, not 15");
    for day in dates("2026-12-23", 70) {
        assert_eq!(run(&a, &day)["failedContracts"], json!([]), "{day}");
    }
    let support_invoices = invoices(&a, &support);
    assert_eq!(support_invoices.len(), 1, "the retired plan is still billed at its quarter's end");
    assert_eq!(support_invoices[0]["invoiceDate"], "2027-02-01");
    assert_eq!(amount(&support_invoices[0]["amountWithoutTax"]), "139.00");
}

#[test]
fn a_change_credits_the_price_sold_and_charges_the_current_one_from_then_on() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let team = text(&paying_customer(&c, 10, false, TODAY)["contract"]["id"]);
    assert_eq!(c.publish(&edited("15", false)).0, 201);
    // Dec 7: 15 of 30 days of the period left; 10 → 12 seats.
    let later = Call { app: &a, now: now("2026-12-07") };
    let (status, r) = later
        .change(&json!({ "action": "QUANTITY_CHANGE", "contractId": team, "payload": { "offerings": [{
        "offeringId": "offr_team", "products": [{ "productId": "prod_seats", "quantity": 12 }] }] } }));
    assert_eq!(status, 200, "{r}");
    let items = &r["invoice"]["items"];
    assert_eq!(amount(&items[0]["amount"]), "-60.00", "10 × 12 × 15/30 credited at the price paid");
    assert_eq!(amount(&items[1]["amount"]), "90.00", "12 × 15 × 15/30 charged at the current price");
    assert_eq!(r["contract"]["catalogVersion"], 2);
    run(&a, "2026-12-22");
    let list = invoices(&a, &team);
    assert_eq!(amount(&list.last().unwrap()["items"][0]["amount"]), "180.00", "12 seats at 15 from the next period");
}

#[test]
fn a_change_that_leaves_a_retired_plan_on_the_contract_says_which_line_to_change() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let support = import(&a, "Support Co", support_contract("2026-11-01", "rate_support_monthly"));
    let mut retired = edited("12", true);
    retired["offerings"].as_array_mut().unwrap().retain(|o| o["id"] != "offr_support");
    assert_eq!(c.publish(&retired).0, 201);
    let (status, e) = c.change(&json!({ "action": "ADD_OFFERING", "contractId": support,
        "payload": { "offerings": [{ "offeringId": "offr_team" }] } }));
    assert_eq!(
        (status, e["code"].as_str(), e["path"].as_str()),
        (400, Some("UNKNOWN_OFFERING"), Some("contract.offerings[0].offeringId"))
    );
    assert!(e["message"].as_str().unwrap().contains("no longer in the catalog"), "{e}");
    // Cancelling the retired plan needs nothing of the current catalog.
    let (status, r) = c.change(&json!({ "action": "CANCELLATION", "contractId": support, "payload": null }));
    assert_eq!(status, 200, "{r}");
}

#[test]
fn a_contract_that_cannot_be_billed_is_reported_and_skipped_and_the_others_are_billed() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let good = text(&paying_customer(&c, 10, false, TODAY)["contract"]["id"]);
    let broken = text(&paying_customer(&c, 3, false, TODAY)["contract"]["id"]);
    // Its stored catalog version is gone (a hand edit in the database).
    a.db.0
        .borrow()
        .execute("UPDATE contracts SET body = json_set(body, '$.catalogVersion', 99) WHERE id = ?1", [&broken])
        .unwrap();
    let r = run(&a, "2026-12-22");
    assert_eq!(r["invoicesIssued"], 1, "{r}");
    assert_eq!(r["failedContracts"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["failedContracts"][0]["contractId"], json!(broken));
    assert_eq!(r["failedContracts"][0]["code"], "CATALOG_VERSION_MISSING");
    assert_eq!(invoices(&a, &good).len(), 2);
    // The report is kept with the run.
    let stored: String =
        a.db.0
            .borrow()
            .query_row("SELECT report FROM billing_runs ORDER BY started_at DESC", [], |r| r.get(0))
            .unwrap();
    assert!(stored.contains(&broken), "{stored}");
}

#[test]
fn an_in_arrears_change_goes_on_billing_every_quarter_and_a_canceled_contract_leaves_the_run() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let mut catalog = demo_catalog();
    catalog["products"].as_array_mut().unwrap().iter_mut().filter(|p| p["id"] == "prod_support").for_each(|p| {
        p["maxQuantity"] = json!(10);
    });
    for o in catalog["offerings"].as_array_mut().unwrap().iter_mut().filter(|o| o["id"] == "offr_support") {
        for r in o["rates"].as_array_mut().unwrap() {
            r["prices"][0] = json!({ "productId": "prod_support", "model": "PER_UNIT", "unitAmount": "90" });
        }
    }
    assert_eq!(c.publish(&catalog).0, 201);
    let id = import(&a, "Arrears Co", support_contract("2027-01-01", "rate_support_quarterly_arrears"));
    for day in dates("2027-01-01", 40) {
        run(&a, &day);
    }
    // Feb 10: 1 → 2 units for the rest of the quarter.
    let change = Call { app: &a, now: now("2027-02-10") };
    let (status, r) = change
        .change(&json!({ "action": "QUANTITY_CHANGE", "contractId": id, "payload": { "offerings": [{
        "offeringId": "offr_support", "products": [{ "productId": "prod_support", "quantity": 2 }] }] } }));
    assert_eq!(status, 200, "{r}");
    for day in dates("2027-02-10", 240) {
        run(&a, &day);
    }
    let list = invoices(&a, &id);
    let dates_billed: Vec<&str> = list.iter().map(|i| i["invoiceDate"].as_str().unwrap()).collect();
    assert_eq!(dates_billed, ["2027-04-01", "2027-07-01", "2027-10-01"], "every quarter, not just the changed one");
    // 2 × 90 × 50/90 = 100 for Feb 10 – Apr 1, then the kept 1 × 90 × 40/90 = 40.
    let first: Vec<String> = list[0]["items"].as_array().unwrap().iter().map(|i| amount(&i["amount"])).collect();
    assert_eq!(first, ["100.00", "40.00"]);
    assert_eq!(amount(&list[1]["amountWithoutTax"]), "180.00");
    let stored: String =
        a.db.0.borrow().query_row("SELECT body FROM contracts WHERE id = ?1", [&id], |r| r.get(0)).unwrap();
    assert!(!stored.contains("unbilledArrears"), "a billed piece is let go: {stored}");
    // Canceled on Oct 15: the used piece is billed at the quarter's end, then the contract leaves the runs.
    let cancel = Call { app: &a, now: now("2027-10-15") };
    assert_eq!(cancel.change(&json!({ "action": "CANCELLATION", "contractId": id, "payload": null })).0, 200);
    for day in dates("2027-10-15", 80) {
        run(&a, &day);
    }
    let list = invoices(&a, &id);
    assert_eq!(list.len(), 4);
    assert_eq!(list[3]["invoiceDate"], "2028-01-01");
    assert_eq!(run(&a, "2028-01-05")["contracts"], 0, "nothing left to bill: not in the run");
}

#[test]
fn a_suspended_contract_reads_suspended_everywhere() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, true, TODAY);
    let contract = text(&signup["contract"]["id"]);
    let account = text(&signup["customer"]["accountId"]);
    for day in dates("2026-12-22", 6) {
        run(&a, &day);
    }
    let (_, one) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    let (_, list) = c.secret("GET", &format!("/api/accounts/{account}/contracts"), None);
    assert_eq!(list["data"][0]["status"], "SUSPENDED", "{list}");
    assert_eq!(one["status"], "SUSPENDED", "{one}");
}

#[test]
fn a_suspended_contract_is_charged_no_suspended_day_and_restarts_on_the_resume_date() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, true, TODAY);
    let contract = text(&signup["contract"]["id"]);
    let account = text(&signup["customer"]["accountId"]);
    // Dec 22's invoice fails, is retried on the 23rd, 25th and 27th, then voided: suspended on Dec 27.
    for day in dates("2026-12-22", 41) {
        assert_eq!(run(&a, &day)["failedContracts"], json!([]));
    }
    assert_eq!(invoices(&a, &contract).len(), 2, "nothing billed while suspended (Jan 22 passed)");
    let r = new_card(&a, &account, "2027-02-02", false);
    assert_eq!(r["charged"], 1, "{r}");
    for day in dates("2027-02-02", 50) {
        run(&a, &day);
    }
    let list = invoices(&a, &contract);
    let summary: Vec<(String, String, String)> =
        list.iter().map(|i| (text(&i["invoiceDate"]), text(&i["status"]), amount(&i["amountWithoutTax"]))).collect();
    assert_eq!(
        summary,
        [
            ("2026-11-22".into(), "PAID".into(), "120.00".into()),
            ("2026-12-22".into(), "VOID".into(), "120.00".into()),
            // 120 × 5/31 for Dec 22–27, then 120 × 20/31 for Feb 2–22.
            ("2027-02-02".into(), "PAID".into(), "96.77".into()),
            ("2027-02-22".into(), "PAID".into(), "120.00".into()),
            ("2027-03-22".into(), "PAID".into(), "120.00".into()),
        ]
    );
    let resumed: Vec<String> = list[2]["items"].as_array().unwrap().iter().map(|i| amount(&i["amount"])).collect();
    assert_eq!(resumed, ["19.35", "77.42"]);
    let (_, one) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert_eq!(one["status"], "ACTIVE");
    assert!(one.get("suspendedOn").is_none(), "{one}");
}

#[test]
fn the_vendor_moves_a_grandfathered_contract_to_the_current_catalog_from_its_next_period() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let team = text(&paying_customer(&c, 10, false, TODAY)["contract"]["id"]);
    let path = format!("/api/contracts/{team}/reprice");
    let (status, e) = c.secret("POST", &path, None);
    assert_eq!((status, e["code"].as_str()), (409, Some("CONTRACT_ON_CURRENT_CATALOG")), "{e}");
    assert_eq!(c.publish(&edited("15", false)).0, 201);
    let later = Call { app: &a, now: now("2026-12-07") };
    let (status, preview) = later.secret("POST", &path, Some(&json!({ "preview": true })));
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["nextInvoice"]["invoiceDate"], "2026-12-22", "{preview}");
    assert_eq!(amount(&preview["nextInvoice"]["amountWithoutTax"]), "150.00");
    let (status, r) = later.secret("POST", &path, None);
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["contract"]["scheduledChanges"][0]["action"], "REPRICE", "{r}");
    assert_eq!(r["contract"]["scheduledChanges"][0]["effectiveDate"], "2026-12-22");
    assert_eq!(invoices(&a, &team).len(), 1, "nothing charged on the day");
    let (status, e) = later.secret("POST", &path, Some(&json!({ "preview": "yes" })));
    assert_eq!((status, e["path"].as_str()), (400, Some("preview")));
    // Billed at 12 up to the move, at 15 from the period that starts on it.
    run(&a, "2026-12-21");
    run(&a, "2026-12-22");
    let list = invoices(&a, &team);
    assert_eq!(list.len(), 2);
    assert_eq!(amount(&list[1]["items"][0]["amount"]), "150.00");
    let (_, after) = c.secret("GET", &format!("/api/contracts/{team}"), None);
    assert_eq!(after["catalogVersion"], 2);
    // The publishable key cannot reprice.
    let r = c.send("POST", &path, Some(support::PUBLISHABLE), None, &[]);
    assert_eq!(r.status, 403);
}

#[test]
fn a_sign_up_that_owes_nothing_today_issues_no_invoice() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let (status, s) = c.post(&json!({
        "action": "CREATE_WITH_PAYMENT_METHOD", "customer": support::customer_json(),
        "quote": { "startDate": TODAY, "offerings": [{ "offeringId": "offr_support", "rateId": "rate_support_quarterly_arrears" }] }
    }));
    assert_eq!(status, 201, "{s}");
    let id = text(&s["sessionId"]);
    let seti = text(&s["paymentMethodInit"]["stripe"]["setupIntentId"]);
    a.stripe.confirm(&seti, false);
    let (status, done) = c.patch(&id, &json!({ "action": "FINALIZE", "paymentMethod": { "paymentToken": seti } }));
    assert_eq!(status, 200, "{done}");
    assert!(done.get("invoice").is_none(), "{done}");
    let contract = text(&done["contract"]["id"]);
    assert!(invoices(&a, &contract).is_empty(), "no OPEN 0.00 invoice without lines");
    let (_, again) = c.get(&id);
    assert!(again.get("invoice").is_none(), "{again}");
    // The quarter is billed at its end, as usual.
    run(&a, "2027-02-22");
    let list = invoices(&a, &contract);
    assert_eq!(list.len(), 1);
    assert_eq!(amount(&list[0]["amountWithoutTax"]), "139.00");
    let empty: i64 =
        a.db.0
            .borrow()
            .query_row("SELECT COUNT(*) FROM invoices WHERE body NOT LIKE '%periodStart%'", [], |r| r.get(0))
            .unwrap();
    assert_eq!(empty, 0);
}

/// A new card on the account (confirmed with Stripe), as of `date`; answers the route's report.
fn new_card(a: &support::TestApp, account: &str, date: &str, declining: bool) -> Value {
    let c = Call { app: a, now: now(date) };
    let (_, seti) = c.secret("POST", &format!("/api/accounts/{account}/setupIntents"), None);
    let id = seti["setupIntentId"].as_str().unwrap();
    a.stripe.confirm(id, declining);
    let (status, r) =
        c.secret("POST", &format!("/api/accounts/{account}/paymentMethod"), Some(&json!({ "paymentToken": id })));
    assert_eq!(status, 200, "{r}");
    r
}

#[test]
fn a_contract_with_an_invoice_in_dunning_takes_only_a_cancellation_and_its_scheduled_change_waits() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, true, TODAY);
    let contract = text(&signup["contract"]["id"]);
    let account = text(&signup["customer"]["accountId"]);
    // Down to 4 seats on Dec 24, scheduled now; the card declines from now on.
    let down = json!({ "action": "QUANTITY_CHANGE", "contractId": contract, "effectiveDate": "2026-12-24",
        "payload": { "offerings": [{ "offeringId": "offr_team", "products": [{ "productId": "prod_seats", "quantity": 4 }] }] } });
    let (status, r) = c.change(&down);
    assert_eq!((status, &r["contract"]["scheduledChanges"][0]["status"]), (200, &json!("SCHEDULED")), "{r}");
    // Another customer whose card declines too, with nothing scheduled.
    let other = text(&paying_customer(&c, 3, true, TODAY)["contract"]["id"]);
    // Dec 22's charges fail: both invoices are in dunning.
    run(&a, "2026-12-22");
    let on = Call { app: &a, now: now("2026-12-23") };
    let more = json!({ "action": "QUANTITY_CHANGE", "contractId": other,
        "payload": { "offerings": [{ "offeringId": "offr_team", "products": [{ "productId": "prod_seats", "quantity": 2 }] }] } });
    let (status, r) = on.change(&more);
    assert_eq!((status, &r["code"], &r["path"]), (409, &json!("CONTRACT_PAST_DUE"), &json!("contractId")), "{r}");
    let cancel = json!({ "action": "CANCELLATION", "contractId": other, "payload": null, "preview": true });
    let (status, r) = on.change(&cancel);
    assert_eq!(status, 200, "a cancellation is still taken: {r}");
    // Dec 24: the scheduled change waits (it would credit seats not paid for).
    run(&a, "2026-12-24");
    let (_, one) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert_eq!(one["scheduledChanges"][0]["status"], "SCHEDULED", "{one}");
    // A new card on Dec 26 pays Dec 22's invoice; that day's run applies the change, as of Dec 24.
    assert_eq!(new_card(&a, &account, "2026-12-26", false)["charged"], 1);
    run(&a, "2026-12-26");
    let (_, one) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert_eq!(one["scheduledChanges"], json!([]), "{one}");
    assert_eq!(one["offerings"][0]["products"][0]["quantity"], 4, "{one}");
    let applied = one["amendments"].as_array().unwrap().iter().find(|m| m["action"] == "QUANTITY_CHANGE").unwrap();
    assert_eq!((&applied["status"], &applied["effectiveDate"]), (&json!("APPLIED"), &json!("2026-12-24")), "{one}");
}

#[test]
fn suspended_again_after_a_resumption_the_first_suspensions_days_stay_unbilled() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, true, TODAY);
    let contract = text(&signup["contract"]["id"]);
    let account = text(&signup["customer"]["accountId"]);
    for day in dates("2026-12-22", 10) {
        run(&a, &day);
    }
    // Suspended Dec 27. A card that declines too on Feb 2: the resumption's invoice fails and is dunned.
    assert_eq!(new_card(&a, &account, "2027-02-02", true)["failed"], 1);
    for day in dates("2027-02-03", 5) {
        run(&a, &day);
    }
    let (_, one) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert_eq!(one["status"], "SUSPENDED", "suspended again on Feb 7");
    assert_eq!(new_card(&a, &account, "2027-02-15", false)["charged"], 1);
    let list = invoices(&a, &contract);
    let last = list.last().unwrap();
    assert_eq!(text(&last["invoiceDate"]), "2027-02-15");
    let periods: Vec<(&str, &str)> = last["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["periodStart"].as_str().unwrap(), i["periodEnd"].as_str().unwrap()))
        .collect();
    assert_eq!(
        periods,
        [("2026-12-22", "2026-12-27"), ("2027-02-02", "2027-02-07"), ("2027-02-15", "2027-02-22")],
        "the days used before each suspension, then from the resume date; never Dec 27 – Feb 2 nor Feb 7–15"
    );
}

#[test]
fn a_kept_piece_billed_on_an_invoice_voided_at_suspension_is_billed_again_with_the_resumption() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    // Ten Team seats monthly in advance, and Priority support quarterly in arrears.
    let (status, s) = c.post(&json!({
        "action": "CREATE_WITH_PAYMENT_METHOD", "customer": support::customer_json(),
        "quote": { "startDate": TODAY, "offerings": [
            { "offeringId": "offr_team", "rateId": "rate_team_monthly", "items": [{ "productId": "prod_seats", "quantity": 10 }] },
            { "offeringId": "offr_support", "rateId": "rate_support_quarterly_arrears" }] }
    }));
    assert_eq!(status, 201, "{s}");
    let seti = text(&s["paymentMethodInit"]["stripe"]["setupIntentId"]);
    a.stripe.confirm(&seti, false);
    let (status, done) =
        c.patch(&text(&s["sessionId"]), &json!({ "action": "FINALIZE", "paymentMethod": { "paymentToken": seti } }));
    assert_eq!(status, 200, "{done}");
    let contract = text(&done["contract"]["id"]);
    let account = text(&done["customer"]["accountId"]);
    // On Dec 10 support moves to monthly in advance: Nov 22 – Dec 10 of the
    // quarter in arrears is kept, owed at the quarter's end (Feb 22).
    let change = json!({ "action": "RATE_CHANGE", "contractId": contract, "effectiveDate": "2026-12-10",
        "payload": { "offerings": [{ "offeringId": "offr_support", "rateId": "rate_support_monthly" }] } });
    let (status, r) = Call { app: &a, now: now("2026-12-10") }.change(&change);
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["contract"]["unbilledArrears"][0]["end"], "2026-12-10", "{r}");
    for day in dates("2026-12-11", 71) {
        run(&a, &day);
    }
    // From Feb 21 the card declines: Feb 22's invoice (with the kept piece) is
    // retried, then voided, and the contract suspended on Feb 27.
    let pm = text(&done["paymentMethod"]["stripePaymentMethodId"]);
    a.stripe.pms.borrow_mut().get_mut(&pm).unwrap().declines = true;
    for day in dates("2027-02-22", 9) {
        run(&a, &day);
    }
    let kept_line = |i: &Value| {
        i["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["offeringId"] == "offr_support" && l["periodEnd"] == "2026-12-10")
            .cloned()
    };
    let list = invoices(&a, &contract);
    let voided: Vec<&Value> = list.iter().filter(|i| i["status"] == "VOID").collect();
    assert_eq!(voided.len(), 1, "{list:?}");
    let owed = kept_line(voided[0]).unwrap_or_else(|| panic!("the kept piece was on the voided invoice: {list:#?}"));
    let (_, one) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert_eq!(one["status"], "SUSPENDED", "{one}");
    assert_eq!(one["unbilledArrears"][0]["end"], "2026-12-10", "held again while suspended: {one}");
    // A new card resumes it: the resumption's invoice bills the piece again.
    let r = new_card(&a, &account, "2027-03-05", false);
    assert_eq!(r["charged"], 1, "{r}");
    for day in dates("2027-03-05", 40) {
        run(&a, &day);
    }
    let list = invoices(&a, &contract);
    let paid: Vec<Value> = list.iter().filter(|i| i["status"] == "PAID").filter_map(kept_line).collect();
    assert_eq!(paid.len(), 1, "billed once more, and only once: {list:?}");
    assert_eq!((amount(&paid[0]["amount"]), &paid[0]["periodStart"]), (amount(&owed["amount"]), &owed["periodStart"]));
    let resumed = list.iter().find(|i| i["invoiceDate"] == "2027-03-05").expect("the resumption's invoice");
    assert!(kept_line(resumed).is_some(), "on the resumption's invoice: {resumed}");
    let (_, one) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert!(one.get("unbilledArrears").is_none_or(Value::is_null), "{one}");
}
