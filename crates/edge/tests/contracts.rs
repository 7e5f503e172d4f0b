//! The Contract Management API natively: every action and rule against SQLite
//! (real migrations) and an in-memory Stripe; every change vector through the API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

mod support;

use serde_json::{Value, json};
use support::{Call, PUBLISHABLE, SECRET, app, demo_catalog, now, paying_customer, text};

const TODAY: &str = "2026-11-22";

fn setup_with(catalog: &Value) -> support::TestApp {
    let a = app();
    let c = Call { app: &a, now: now(TODAY) };
    assert_eq!(c.publish(catalog).0, 201);
    a
}

fn setup() -> support::TestApp {
    setup_with(&demo_catalog())
}

fn seats(contract: &str, n: u32) -> Value {
    json!({ "action": "QUANTITY_CHANGE", "contractId": contract,
            "payload": { "offerings": [{ "offeringId": "offr_team", "products": [{ "productId": "prod_seats", "quantity": n }] }] } })
}

/// Items back to the engine's `lines`, for comparing with vectors.
fn as_engine_invoice(mut inv: Value) -> Value {
    if let Value::Object(m) = &mut inv {
        let items = m.remove("items").unwrap_or(Value::Array(vec![]));
        m.insert("lines".into(), items);
    }
    inv
}

#[test]
fn every_change_vector_through_the_api() {
    let mut ran = 0;
    let mut applied = 0;
    for dir in ["../../../shared/vectors", "../../tests/vectors", "../../../shared/vectors-next"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let case: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            if case.get("operation").is_none_or(Value::is_null) {
                continue;
            }
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            for apply in [false, true] {
                let a = app();
                let c = Call { app: &a, now: now(case["today"].as_str().unwrap()) };
                let expected = &case["expected"];
                let error_of = |status: u16, body: &Value| json!({ "error": { "code": body["code"], "path": body["path"], "status": status } });
                let (status, published) = c.publish(&case["catalog"]);
                if status != 201 {
                    support::check(&name, expected, &error_of(status, &published));
                    continue;
                }
                let (status, imported) = c.secret(
                    "POST",
                    "/api/contracts",
                    Some(&json!({ "account": { "name": "Vector Inc" }, "billGroup": { "collectInvoiceBalanceAutomatically": false },
                                  "contract": case["contract"] })),
                );
                if status != 201 {
                    support::check(&name, expected, &error_of(status, &imported));
                    continue;
                }
                let id = text(&imported["contract"]["id"]);
                let mut op = case["operation"].clone();
                op["contractId"] = json!(id);
                op["preview"] = json!(!apply);
                let (status, r) = c.change(&op);
                let mut expected = expected.clone();
                let actual = if status == 200 && r["status"] == "SUCCESS" {
                    let scheduled = r.get("upcomingInvoice").is_some();
                    let invoice = match r.get("invoice").or_else(|| r.get("upcomingInvoice")) {
                        Some(i) => as_engine_invoice(i.clone()),
                        None => {
                            // Nothing to invoice: the engine's invoice had no lines, and none was issued.
                            let lines = expected.pointer("/change/invoice/lines").and_then(Value::as_array);
                            assert!(lines.is_none_or(Vec::is_empty), "{name}: an invoice with lines was not issued");
                            expected["change"].as_object_mut().unwrap().remove("invoice");
                            Value::Null
                        }
                    };
                    if scheduled {
                        // Scheduled: the contract changes on its date (the billing run); compare the invoice.
                        expected["change"].as_object_mut().unwrap().remove("contract");
                    }
                    let mut change = json!({ "contract": r["contract"] });
                    if !invoice.is_null() {
                        change["invoice"] = invoice;
                    }
                    json!({ "change": change })
                } else {
                    error_of(status, &r)
                };
                support::check(&name, &expected, &actual);
                if apply && r.get("invoice").is_some() {
                    // What was stored equals what was answered, and the engine's figures.
                    let inv = r["invoice"]["id"].as_str().unwrap();
                    let (_, stored) = c.secret("GET", &format!("/api/invoices/{inv}"), None);
                    assert_eq!(stored["amount"], r["invoice"]["amount"], "{name}");
                    applied += 1;
                }
                ran += 1;
            }
        }
    }
    assert!(ran >= 60, "only {ran} change cases ran");
    assert!(applied >= 10, "only {applied} applied with an invoice");
}

#[test]
fn a_quantity_change_today_is_invoiced_with_tax_and_charged() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, false, TODAY);
    let contract = signup["contract"]["id"].as_str().unwrap();
    let later = Call { app: &a, now: now("2026-12-07") };
    let (status, r) = later.change(&seats(contract, 15));
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["status"], "SUCCESS");
    assert_eq!(r["action"], "QUANTITY_CHANGE");
    assert_eq!(r["quote"]["status"], "PROCESSED");
    assert!(r["quote"]["id"].as_str().unwrap().starts_with("amd_"));
    // 5 more seats × 12 for [Dec 7, Dec 22) of [Nov 22, Dec 22): 15/30 → 30.00, tax 7.25 % → 2.18.
    assert_eq!(r["invoice"]["amountWithoutTax"].to_string(), "30.00");
    assert_eq!(r["invoice"]["tax"].to_string(), "2.18");
    assert_eq!(r["invoice"]["amount"].to_string(), "32.18");
    assert_eq!(r["invoice"]["status"], "PAID");
    assert_eq!(r["payment"]["amount"].to_string(), "32.18");
    assert_eq!(r["contract"]["offerings"][0]["products"][0]["quantity"], 15);
    assert_eq!(r["contract"]["amendments"][0]["status"], "APPLIED");
    assert_eq!(a.stripe.charges.borrow().last().unwrap().3, 3218);
    let (_, got) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert_eq!(got["offerings"][0]["products"][0]["quantity"], 15);
}

#[test]
fn a_declined_charge_applies_nothing() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, true, TODAY);
    let contract = signup["contract"]["id"].as_str().unwrap();
    let (_, before) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    let (status, r) = c.change(&seats(contract, 20));
    assert_eq!(status, 402, "{r}");
    assert_eq!(r["status"], "FAILED");
    assert_eq!(r["errorMessage"], "Your card was declined.");
    let (_, after) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert_eq!(after["offerings"], before["offerings"], "the change is not applied");
    assert_eq!(after["amendments"][0]["status"], "FAILED");
    assert_eq!(a.db.count("invoices"), 1, "only the sign-up invoice");
}

#[test]
fn a_credit_is_kept_and_consumed_by_the_next_invoice() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, false, TODAY);
    let contract = signup["contract"]["id"].as_str().unwrap();
    let account = signup["customer"]["accountId"].as_str().unwrap();
    let mid = Call { app: &a, now: now("2026-12-07") };
    let (status, down) = mid.change(&seats(contract, 4));
    assert_eq!(status, 200, "{down}");
    // 6 fewer seats for half the period: −36.00, tax −2.61 → a credit of 38.61.
    assert_eq!(down["invoice"]["amount"].to_string(), "-38.61");
    assert_eq!(down["creditBalance"].to_string(), "38.61");
    assert!(down.get("payment").is_none());
    let charges = a.stripe.charge_count();
    let (status, up) = mid.change(&seats(contract, 14));
    assert_eq!(status, 200, "{up}");
    // +10 seats for half the period: 60.00 + 4.35 tax = 64.35, 38.61 of it from the credit.
    assert_eq!(up["invoice"]["amount"].to_string(), "64.35");
    assert_eq!(up["invoice"]["creditApplied"].to_string(), "38.61");
    assert_eq!(up["payment"]["amount"].to_string(), "25.74");
    assert_eq!(up["creditBalance"].to_string(), "0.00");
    assert_eq!(a.stripe.charge_count(), charges + 1);
    let (_, acct) = c.secret("GET", &format!("/api/accounts/{account}"), None);
    assert_eq!(acct["creditBalance"].to_string(), "0.00");
}

#[test]
fn next_bill_cycle_is_scheduled_and_blocks_other_changes_until_withdrawn() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, false, TODAY);
    let contract = signup["contract"]["id"].as_str().unwrap();
    let (status, r) = c
        .change(&json!({ "action": "RATE_CHANGE", "contractId": contract, "relativeEffectiveDate": "NEXT_BILL_CYCLE",
        "payload": { "offerings": [{ "offeringId": "offr_team", "rateId": "rate_team_annual" }] } }));
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["status"], "SUCCESS");
    assert_eq!(r["quote"]["effectiveDate"], "2026-12-22");
    assert_eq!(r["contract"]["offerings"][0]["rateId"], "rate_team_monthly", "unchanged until its date");
    assert_eq!(r["contract"]["scheduledChanges"][0]["effectiveDate"], "2026-12-22");
    assert_eq!(r["upcomingInvoice"]["invoiceDate"], "2026-12-22");
    assert_eq!(a.db.count("invoices"), 1);
    let amendment = r["quote"]["id"].as_str().unwrap();
    let (status, e) = c.change(&seats(contract, 12));
    assert_eq!((status, e["code"].as_str()), (409, Some("AMENDMENT_PENDING")));
    let mut preview = seats(contract, 12);
    preview["preview"] = json!(true);
    let (status, e) = c.change(&preview);
    assert_eq!(
        (status, e["code"].as_str()),
        (409, Some("AMENDMENT_PENDING")),
        "a preview answers what confirming would"
    );
    let (status, w) = c.secret("POST", &format!("/api/contracts/{contract}/amendments/{amendment}/reject"), None);
    assert_eq!((status, w["status"].as_str()), (200, Some("WITHDRAWN")));
    assert_eq!(c.change(&seats(contract, 12)).0, 200);
}

#[test]
fn the_customer_withdraws_a_change_not_yet_made_and_it_is_never_billed() {
    let mut catalog = demo_catalog();
    catalog["settings"]["approvalRules"] = json!({ "requireReview": ["CANCELLATION"] });
    let a = setup_with(&catalog);
    let c = Call { app: &a, now: now(TODAY) };
    let mine = paying_customer(&c, 10, false, TODAY);
    let theirs = paying_customer(&c, 3, false, TODAY);
    let contract = text(&mine["contract"]["id"]);
    let account = text(&mine["customer"]["accountId"]);
    let token = text(&c.secret("POST", "/api/customerTokens", Some(&json!({ "accountId": account }))).1["token"]);
    let as_customer = |path: &str| {
        let r = c.send("POST", path, Some(&token), None, &[]);
        (r.status, serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null))
    };
    let (status, r) = c
        .change(&json!({ "action": "RATE_CHANGE", "contractId": contract, "relativeEffectiveDate": "NEXT_BILL_CYCLE",
        "payload": { "offerings": [{ "offeringId": "offr_team", "rateId": "rate_team_annual" }] } }));
    assert_eq!(status, 200, "{r}");
    let scheduled = text(&r["quote"]["id"]);
    let withdraw = |amendment: &str| format!("/api/contracts/{contract}/amendments/{amendment}/withdraw");
    // Not with the publishable key; not another account's token; not another contract's path.
    assert_eq!(c.send("POST", &withdraw(&scheduled), Some(PUBLISHABLE), None, &[]).status, 403);
    let other = text(&theirs["contract"]["id"]);
    let (status, _) = as_customer(&format!("/api/contracts/{other}/amendments/{scheduled}/withdraw"));
    assert_eq!(status, 404);
    let before = a.db.dump();
    assert_eq!(as_customer(&withdraw("amd_nope")).0, 404);
    assert_eq!(a.db.dump(), before, "nothing written for a refused withdrawal");
    // The customer's own: withdrawn, gone from the scheduled changes, another change possible.
    let (status, w) = as_customer(&withdraw(&scheduled));
    assert_eq!((status, w["status"].as_str()), (200, Some("WITHDRAWN")), "{w}");
    assert_eq!(w["contract"]["scheduledChanges"], json!([]));
    assert_eq!(as_customer(&withdraw(&scheduled)).0, 409, "withdrawn once");
    // On its date the billing run bills the contract as it was: monthly, no annual invoice.
    let (status, run) = Call { app: &a, now: now("2026-12-22") }.secret(
        "POST",
        "/api/billingRuns",
        Some(&json!({ "date": "2026-12-22" })),
    );
    assert_eq!((status, run["changesApplied"].as_i64()), (200, Some(0)), "{run}");
    let (_, got) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert_eq!(got["offerings"][0]["rateId"], "rate_team_monthly");
    // A change waiting for review can be withdrawn too; one already made cannot.
    let (status, held) = c.change(&json!({ "action": "CANCELLATION", "contractId": contract, "payload": null,
        "evaluateApprovalRules": true }));
    assert_eq!(status, 202, "{held}");
    let (status, w) = as_customer(&withdraw(&text(&held["quote"]["id"])));
    assert_eq!((status, w["status"].as_str()), (200, Some("WITHDRAWN")), "{w}");
    assert_eq!(w["contract"]["pendingReview"], json!([]));
    let (_, done) = c.change(&seats(&contract, 12));
    let (status, e) = as_customer(&withdraw(&text(&done["quote"]["id"])));
    assert_eq!((status, e["code"].as_str()), (409, Some("AMENDMENT_NOT_PENDING")));
}

#[test]
fn approval_rules_hold_a_change_for_review() {
    let mut catalog = demo_catalog();
    catalog["settings"]["approvalRules"] = json!({ "requireReview": ["CANCELLATION"] });
    let a = setup_with(&catalog);
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, false, TODAY);
    let contract = signup["contract"]["id"].as_str().unwrap();
    let cancel =
        json!({ "action": "CANCELLATION", "contractId": contract, "payload": null, "evaluateApprovalRules": true });
    let (status, r) = c.change(&cancel);
    assert_eq!((status, r["status"].as_str()), (202, Some("REVIEW")), "{r}");
    assert_eq!(r["contract"]["status"], "ACTIVE");
    assert_eq!(r["contract"]["pendingReview"][0]["action"], "CANCELLATION");
    // Without evaluating the rules, the same request is not held (but another one is pending).
    let amendment = r["quote"]["id"].as_str().unwrap();
    let later = Call { app: &a, now: now("2026-12-01") };
    let (status, ok) = later.secret("POST", &format!("/api/contracts/{contract}/amendments/{amendment}/approve"), None);
    assert_eq!(status, 200, "{ok}");
    assert_eq!(ok["status"], "SUCCESS");
    assert_eq!(ok["contract"]["status"], "CANCELED");
    assert_eq!(ok["quote"]["id"], amendment);
    // The publishable key cannot approve; a second approval is 409.
    let r = c.send(
        "POST",
        &format!("/api/contracts/{contract}/amendments/{amendment}/approve"),
        Some(PUBLISHABLE),
        None,
        &[],
    );
    assert_eq!(r.status, 403);
    assert_eq!(c.secret("POST", &format!("/api/contracts/{contract}/amendments/{amendment}/approve"), None).0, 409);
    // A bad rule is refused at publish.
    let mut bad = demo_catalog();
    bad["settings"]["approvalRules"] = json!({ "requireReview": ["SELL_EVERYTHING"] });
    let (status, e) = c.publish(&bad);
    assert_eq!((status, e["path"].as_str()), (400, Some("settings.approvalRules.requireReview[0]")));
}

#[test]
fn a_preview_saves_nothing_and_operations_merge_into_one_invoice() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, false, TODAY);
    let contract = signup["contract"]["id"].as_str().unwrap();
    let mid = Call { app: &a, now: now("2026-12-07") };
    let before = a.db.dump();
    let ops = json!({ "contractId": contract, "preview": true, "operations": [
        { "action": "QUANTITY_CHANGE", "payload": { "offerings": [{ "offeringId": "offr_team", "products": [{ "productId": "prod_seats", "quantity": 12 }] }] } },
        { "action": "ADD_OFFERING", "payload": { "offerings": [{ "offeringId": "offr_support", "products": [{ "productId": "prod_support", "quantity": 1 }] }] } }
    ] });
    let (status, p) = mid.change(&ops);
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["action"], "MULTIPLE");
    assert_eq!((&p["preview"], &p["scheduled"]), (&json!(true), &json!(false)), "applied now when confirmed");
    assert_eq!(p["quote"]["status"], "DRAFT");
    assert_eq!(a.db.dump(), before, "preview writes nothing");
    let mut apply = ops.clone();
    apply["preview"] = json!(false);
    let (status, r) = mid.change(&apply);
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["invoice"]["amount"], p["invoice"]["amount"], "the preview is what is charged");
    assert_eq!(r["contract"]["offerings"].as_array().unwrap().len(), 2);
    assert_eq!(a.stripe.charge_count(), 2, "one charge for both operations");
}

#[test]
fn customer_tokens_are_scoped_to_their_account() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let mine = paying_customer(&c, 10, false, TODAY);
    let theirs = paying_customer(&c, 3, false, TODAY);
    let account = mine["customer"]["accountId"].as_str().unwrap();
    let (status, t) = c.secret("POST", "/api/customerTokens", Some(&json!({ "accountId": account, "expiresIn": 600 })));
    assert_eq!(status, 201, "{t}");
    let token = text(&t["token"]);
    let get = |path: &str, key: &str| c.send("GET", path, Some(key), None, &[]).status;
    assert_eq!(get(&format!("/api/accounts/{account}"), &token), 200);
    assert_eq!(get(&format!("/api/accounts/{account}/contracts"), &token), 200);
    assert_eq!(get(&format!("/api/accounts/{account}/invoices"), &token), 200);
    assert_eq!(get(&format!("/api/contracts/{}", mine["contract"]["id"].as_str().unwrap()), &token), 200);
    assert_eq!(get(&format!("/api/invoices/{}", mine["invoice"]["id"].as_str().unwrap()), &token), 200);
    assert_eq!(get(&format!("/api/quotes/{}", mine["quote"]["id"].as_str().unwrap()), &token), 200);
    // Another account's things are 404, not 403.
    let other = theirs["customer"]["accountId"].as_str().unwrap();
    assert_eq!(get(&format!("/api/accounts/{other}"), &token), 404);
    assert_eq!(get(&format!("/api/contracts/{}", theirs["contract"]["id"].as_str().unwrap()), &token), 404);
    assert_eq!(get(&format!("/api/invoices/{}", theirs["invoice"]["id"].as_str().unwrap()), &token), 404);
    let change = seats(theirs["contract"]["id"].as_str().unwrap(), 4).to_string();
    assert_eq!(c.send("POST", "/api/selfService/contract", Some(&token), Some(change), &[]).status, 404);
    let own = seats(mine["contract"]["id"].as_str().unwrap(), 11).to_string();
    assert_eq!(c.send("POST", "/api/selfService/contract", Some(&token), Some(own.clone()), &[]).status, 200);
    // Not for secret endpoints, not with the publishable key, not tampered, not expired.
    assert_eq!(c.send("PUT", "/api/catalog", Some(&token), Some(demo_catalog().to_string()), &[]).status, 403);
    assert_eq!(c.send("POST", "/api/selfService/contract", Some(PUBLISHABLE), Some(own), &[]).status, 403);
    let tampered = format!("{}A", token);
    assert_eq!(get(&format!("/api/accounts/{account}"), &tampered), 401);
    let late = Call { app: &a, now: edge::Now::from_naive(c.now.at + chrono::Duration::seconds(601)) };
    assert_eq!(late.send("GET", &format!("/api/accounts/{account}"), Some(&token), None, &[]).status, 401);
    // The vendor finds the account by its own reference.
    assert_eq!(c.send("GET", "/api/accounts?customId=nope", Some(SECRET), None, &[]).status, 200);
}

#[test]
fn bad_changes_answer_with_the_field() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, false, TODAY);
    let contract = signup["contract"]["id"].as_str().unwrap();
    let before = a.db.dump();
    let cases = [
        (seats("ctr_nope", 3), 404, "NOT_FOUND", ""),
        (json!({ "contractId": contract }), 400, "MISSING_FIELD", "action"),
        (json!({ "action": "UPGRADE", "contractId": contract }), 400, "INVALID_VALUE", "action"),
        (json!({ "action": "QUANTITY_CHANGE", "contractId": contract }), 400, "MISSING_FIELD", "payload"),
        (seats(contract, 501), 400, "QUANTITY_OUT_OF_RANGE", "payload.offerings[0].products[0].quantity"),
        (
            json!({ "action": "ADD_OFFERING", "contractId": contract, "payload": { "offerings": [{ "offeringId": "offr_nope", "products": [] }] } }),
            400,
            "UNKNOWN_OFFERING",
            "payload.offerings[0].offeringId",
        ),
        (
            json!({ "action": "RATE_CHANGE", "contractId": contract, "payload": { "offerings": [{ "offeringId": "offr_team", "rateId": "rate_nope" }] } }),
            400,
            "UNKNOWN_RATE",
            "payload.offerings[0].rateId",
        ),
        (
            json!({ "action": "CANCELLATION", "contractId": contract, "payload": null, "effectiveDate": "2026-11-01" }),
            400,
            "EFFECTIVE_DATE_IN_PAST",
            "effectiveDate",
        ),
        (
            json!({ "action": "CANCELLATION", "contractId": contract, "payload": null, "surprise": 1 }),
            400,
            "UNKNOWN_FIELD",
            "surprise",
        ),
    ];
    for (body, status, code, path) in cases {
        let (s, e) = c.change(&body);
        assert_eq!((s, e["code"].as_str(), e["path"].as_str()), (status, Some(code), Some(path)), "{body}");
    }
    assert_eq!(a.db.dump(), before);
    // A canceled contract takes no more changes.
    assert_eq!(c.change(&json!({ "action": "CANCELLATION", "contractId": contract, "payload": null })).0, 200);
    let (s, e) = c.change(&seats(contract, 3));
    assert_eq!((s, e["code"].as_str()), (409, Some("CONTRACT_NOT_ACTIVE")));
}

#[test]
fn lists_paginate_by_cursor() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, false, TODAY);
    let contract = signup["contract"]["id"].as_str().unwrap();
    let account = signup["customer"]["accountId"].as_str().unwrap();
    for (i, n) in [11, 12, 13].into_iter().enumerate() {
        let day = Call { app: &a, now: now(&format!("2026-11-2{}", 3 + i)) };
        assert_eq!(day.change(&seats(contract, n)).0, 200);
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) =
            c.secret("GET", &format!("/api/accounts/{account}/invoices?limit=3&cursor={cursor}"), None);
        assert_eq!(status, 200, "{page}");
        seen.extend(page["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match page["nextCursor"].as_str() {
            Some(n) => cursor = n.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4, "the sign-up invoice and three changes, each once");
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 4);
    assert_eq!(c.secret("GET", &format!("/api/accounts/{account}/invoices?limit=0"), None).0, 400);
}

#[test]
fn renew_and_term_change_move_the_end_of_a_termed_contract() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let (status, imported) = c.secret("POST", "/api/contracts", Some(&json!({
        "account": { "name": "Termed Co" }, "billGroup": { "collectInvoiceBalanceAutomatically": false },
        "contract": { "status": "ACTIVE", "currency": "USD", "startDate": "2026-11-01", "endDate": "2027-11-01",
            "offerings": [{ "offeringId": "offr_team", "rateId": "rate_team_annual", "serviceStart": "2026-11-01",
                "anchorDate": "2026-11-01", "anchorDay": 1, "invoicedThrough": "2027-11-01",
                "products": [{ "productId": "prod_seats", "quantity": 5 }, { "productId": "prod_storage", "quantity": 100 }] }] }
    })));
    assert_eq!(status, 201, "{imported}");
    let id = imported["contract"]["id"].as_str().unwrap();
    let renew = json!({ "action": "RENEW", "contractId": id, "payload": null });
    let (status, r) = c.change(&renew);
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["contract"]["endDate"], "2028-11-01", "extended by the rate's 12-month term");
    assert_eq!(r["quote"]["previousEndDate"], "2027-11-01");
    let (status, r) = c.change(&json!({ "action": "TERM_CHANGE", "contractId": id, "payload": { "months": -6 } }));
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["contract"]["endDate"], "2028-05-01");
    let before = a.db.dump();
    let (status, e) = c.change(&json!({ "action": "TERM_CHANGE", "contractId": id, "payload": { "months": -7 } }));
    assert_eq!((status, e["path"].as_str()), (400, Some("payload.months")), "before what is invoiced: {e}");
    let (status, _) = c.change(&json!({ "action": "TERM_CHANGE", "contractId": id, "payload": { "months": 0 } }));
    assert_eq!(status, 400);
    let (status, _) = c.change(&json!({ "contractId": id, "operations": [{ "action": "RENEW", "payload": null }] }));
    assert_eq!(status, 400, "a request of its own");
    assert_eq!(a.db.dump(), before);
    // An evergreen contract has no term.
    let signup = paying_customer(&c, 2, false, TODAY);
    let (status, e) =
        c.change(&json!({ "action": "RENEW", "contractId": signup["contract"]["id"], "payload": { "months": 12 } }));
    assert_eq!((status, e["code"].as_str()), (409, Some("CONTRACT_NOT_TERMED")));
}

/// Seats on the contract and its amendments' statuses, as the API shows them.
fn state(c: &Call<'_>, contract: &str) -> (u64, Vec<String>) {
    let (_, got) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    let statuses = got["amendments"].as_array().unwrap().iter().map(|a| text(&a["status"]));
    (got["offerings"][0]["products"][0]["quantity"].as_u64().unwrap(), statuses.collect())
}

#[test]
fn a_lost_answer_is_settled_within_the_request() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let contract = text(&paying_customer(&c, 10, false, TODAY)["contract"]["id"]);
    let charges = a.stripe.charge_count();
    a.stripe.lose_next_answer.set(true);
    let (status, r) = c.change(&seats(&contract, 15));
    assert_eq!(status, 200, "Stripe is asked where the charge stands: {r}");
    assert!(r["payment"]["stripePaymentIntentId"].is_string());
    assert_eq!(a.stripe.charge_count(), charges + 1);
    assert_eq!(state(&c, &contract), (15, vec!["APPLIED".into()]));
}

#[test]
fn an_unknown_outcome_holds_the_change_and_the_same_change_sent_again_answers_how_it_ended() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let contract = text(&paying_customer(&c, 10, false, TODAY)["contract"]["id"]);
    let charges = a.stripe.charge_count();
    // Stripe charges, then neither answers nor can be asked.
    a.stripe.silent_after_next_confirm.set(true);
    let (status, e) = c.change(&seats(&contract, 15));
    assert_eq!((status, e["code"].as_str()), (502, Some("PAYMENT_PROVIDER_UNAVAILABLE")), "{e}");
    assert_eq!(state(&c, &contract), (10, vec!["PAYMENT_PENDING".into()]), "held, nothing applied yet");
    assert_eq!(a.db.count("invoices"), 1);
    // While Stripe stays silent, every change (previews too) says so; nothing is charged again.
    let (status, _) = c.change(&seats(&contract, 12));
    assert_eq!(status, 502);
    a.stripe.down.set(false);
    // The same change again: the held one went through, so that is the answer, and no second charge.
    let (status, r) = c.change(&seats(&contract, 15));
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["payment"]["amount"], r["invoice"]["amount"]);
    assert_eq!(r["invoice"]["status"], "PAID");
    assert_eq!(a.stripe.charge_count(), charges + 1);
    assert_eq!(state(&c, &contract), (15, vec!["APPLIED".into()]));
    assert_eq!(a.db.count("invoices"), 2);
    assert_eq!(a.db.count("payments"), 2);
}

#[test]
fn a_held_change_that_was_charged_is_applied_before_another_change() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let contract = text(&paying_customer(&c, 10, false, TODAY)["contract"]["id"]);
    let charges = a.stripe.charge_count();
    a.stripe.silent_after_next_confirm.set(true);
    assert_eq!(c.change(&seats(&contract, 15)).0, 502);
    a.stripe.down.set(false);
    // Another change: the held one is settled (applied: it was charged), then this one is priced from 15.
    let (status, r) = c.change(&seats(&contract, 20));
    assert_eq!(status, 200, "{r}");
    assert_eq!(a.stripe.charge_count(), charges + 2);
    assert_eq!(state(&c, &contract), (20, vec!["APPLIED".into(), "APPLIED".into()]));
}

#[test]
fn a_charge_that_never_reached_stripe_is_canceled_and_the_retry_charges_once() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let contract = text(&paying_customer(&c, 10, false, TODAY)["contract"]["id"]);
    let charges = a.stripe.charge_count();
    a.stripe.drop_next_confirm.set(true);
    let (status, e) = c.change(&seats(&contract, 15));
    assert_eq!((status, e["code"].as_str()), (502, Some("PAYMENT_PROVIDER_UNAVAILABLE")), "{e}");
    assert_eq!(state(&c, &contract), (10, vec!["FAILED".into()]), "not charged: failed at once");
    let canceled = a.stripe.intents.borrow().values().filter(|i| {
        matches!(&i.outcome, Some(Err(edge::stripe::StripeError::Declined { code, .. })) if code == edge::stripe::CANCELED)
    }).count();
    assert_eq!(canceled, 1, "the unconfirmed PaymentIntent can never be charged later");
    let (status, r) = c.change(&seats(&contract, 15));
    assert_eq!(status, 200, "{r}");
    assert_eq!(a.stripe.charge_count(), charges + 1);
    assert_eq!(state(&c, &contract).0, 15);
}

#[test]
fn a_change_left_pending_by_a_stopped_request_is_settled_once_its_claim_expires() {
    let a = setup();
    let c = Call { app: &a, now: support::at(TODAY, "12:00:00") };
    let contract = text(&paying_customer(&c, 10, false, TODAY)["contract"]["id"]);
    let charges = a.stripe.charge_count();
    // Charged, then the Worker loses D1 before writing the outcome (as if it stopped there).
    a.db.fail_next_batch_with("UPDATE contracts SET body");
    assert_eq!(c.change(&seats(&contract, 15)).0, 503);
    assert_eq!(a.stripe.charge_count(), charges + 1);
    assert_eq!(state(&c, &contract), (10, vec!["PAYMENT_PENDING".into()]));
    // Within the minute a live request may still hold it.
    let soon = Call { app: &a, now: support::at(TODAY, "12:00:30") };
    let (status, e) = soon.change(&seats(&contract, 15));
    assert_eq!((status, e["code"].as_str()), (409, Some("CHANGE_IN_PROGRESS")), "{e}");
    let later = Call { app: &a, now: support::at(TODAY, "12:01:01") };
    let (status, r) = later.change(&seats(&contract, 15));
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["invoice"]["status"], "PAID");
    assert_eq!(a.stripe.charge_count(), charges + 1, "settled from the recorded PaymentIntent, not charged again");
    assert_eq!(state(&c, &contract), (15, vec!["APPLIED".into()]));
}

#[test]
fn the_customer_updates_the_account_details_tax_follows_the_address_and_stripe_the_contact() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let mine = paying_customer(&c, 10, false, TODAY);
    let theirs = paying_customer(&c, 3, false, TODAY);
    let account = text(&mine["customer"]["accountId"]);
    let contract = text(&mine["contract"]["id"]);
    let token = text(&c.secret("POST", "/api/customerTokens", Some(&json!({ "accountId": account }))).1["token"]);
    let patch = |path: &str, key: &str, body: &Value| {
        let r = c.send("PATCH", path, Some(key), Some(body.to_string()), &[]);
        (r.status, serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null))
    };
    let me = format!("/api/accounts/{account}");
    let tax_of_a_change = || {
        let mut p = seats(&contract, 12);
        p["preview"] = json!(true);
        c.change(&p).1["invoice"]["tax"].clone()
    };
    let ca_tax = tax_of_a_change();
    // Bad input names the field and writes nothing; not with the publishable key; not another account.
    let before = a.db.dump();
    for (body, code, path) in [
        (json!({}), "MISSING_FIELD", ""),
        (json!({ "contact": { "email": "not-an-email" } }), "INVALID_VALUE", "contact.email"),
        (json!({ "billingAddress": { "country": "USA" } }), "INVALID_VALUE", "billingAddress.country"),
        (json!({ "name": "x".repeat(201) }), "INVALID_VALUE", "name"),
        (json!({ "surprise": 1 }), "UNKNOWN_FIELD", "surprise"),
    ] {
        let (status, e) = patch(&me, &token, &body);
        assert_eq!((status, e["code"].as_str(), e["path"].as_str()), (400, Some(code), Some(path)), "{body}: {e}");
    }
    assert_eq!(patch(&me, PUBLISHABLE, &json!({ "name": "X" })).0, 403);
    let other = text(&theirs["customer"]["accountId"]);
    assert_eq!(patch(&format!("/api/accounts/{other}"), &token, &json!({ "name": "X" })).0, 404);
    assert_eq!(patch(&format!("/api/accounts/{other}"), &token, &json!({})).0, 404, "404 before the body is read");
    // Stripe unreachable: 502, nothing written.
    a.stripe.down.set(true);
    let (status, _) = patch(&me, &token, &json!({ "contact": { "email": "ap@acme.test" } }));
    assert_eq!(status, 502);
    assert_eq!(a.db.dump(), before, "nothing written for a refused update");
    a.stripe.down.set(false);
    // The customer moves to New York and hands billing to accounts payable.
    let ny =
        json!({ "line1": "1 Broadway", "city": "New York", "state": "NY", "postalCode": "10004", "country": "US" });
    let (status, got) = patch(
        &me,
        &token,
        &json!({ "name": "Acme East", "billingAddress": ny, "contact": { "email": "ap@acme.test" } }),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!((got["name"].as_str(), got["billingAddress"]["state"].as_str()), (Some("Acme East"), Some("NY")));
    assert_eq!(got["contacts"][0]["email"], "ap@acme.test");
    assert_eq!(got["contacts"][0]["name"], mine["customer"]["contactName"], "the name kept");
    let stripe_id = text(&got["stripeCustomerId"]);
    let held = a.stripe.customers.borrow().iter().find(|x| x.0 == stripe_id).cloned().unwrap();
    assert_eq!(held.2, "ap@acme.test", "Stripe's receipts go to the new address");
    let ny_tax = tax_of_a_change();
    assert_ne!(ny_tax, ca_tax, "tax follows the address: {ca_tax} in CA, {ny_tax} in NY");
    // The same again changes nothing more (and asks nothing of Stripe).
    a.stripe.down.set(true);
    assert_eq!(patch(&me, SECRET, &json!({ "contact": { "email": "ap@acme.test" } })).0, 200);
    a.stripe.down.set(false);
}

#[test]
fn a_customer_token_cannot_skip_the_vendors_approval_rules() {
    let mut catalog = demo_catalog();
    catalog["settings"]["approvalRules"] = json!({ "requireReview": ["CANCELLATION"] });
    let a = setup_with(&catalog);
    let c = Call { app: &a, now: now(TODAY) };
    let signup = paying_customer(&c, 10, false, TODAY);
    let contract = text(&signup["contract"]["id"]);
    let account = text(&signup["customer"]["accountId"]);
    let token = text(&c.secret("POST", "/api/customerTokens", Some(&json!({ "accountId": account }))).1["token"]);
    for flag in [None, Some(false)] {
        let mut cancel = json!({ "action": "CANCELLATION", "contractId": contract, "payload": null });
        if let Some(f) = flag {
            cancel["evaluateApprovalRules"] = json!(f);
        }
        let r = c.send("POST", "/api/selfService/contract", Some(&token), Some(cancel.to_string()), &[]);
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!((r.status, body["status"].as_str()), (202, Some("REVIEW")), "{flag:?}: {body}");
        let amendment = text(&body["quote"]["id"]);
        let withdraw = format!("/api/contracts/{contract}/amendments/{amendment}/withdraw");
        assert_eq!(c.send("POST", &withdraw, Some(&token), None, &[]).status, 200);
    }
    // The secret key may still skip them.
    let (status, r) = c.change(&json!({ "action": "CANCELLATION", "contractId": contract, "payload": null }));
    assert_eq!((status, r["status"].as_str()), (200, Some("SUCCESS")), "{r}");
}

#[test]
fn a_preview_applies_the_credit_balance_as_confirming_does() {
    let a = setup();
    let c = Call { app: &a, now: now("2026-12-07") };
    let signup = paying_customer(&Call { app: &a, now: now(TODAY) }, 10, false, TODAY);
    let contract = text(&signup["contract"]["id"]);
    // 10 → 9 seats leaves a credit on the account.
    let (status, down) = c.change(&seats(&contract, 9));
    assert_eq!(status, 200, "{down}");
    let (status, preview) = c.change(&json!({ "action": "QUANTITY_CHANGE", "contractId": contract, "preview": true,
        "payload": { "offerings": [{ "offeringId": "offr_team", "products": [{ "productId": "prod_seats", "quantity": 12 }] }] } }));
    assert_eq!(status, 200, "{preview}");
    let shown = &preview["invoice"];
    assert_ne!(shown["creditApplied"].to_string(), "0.00", "the balance is applied in the preview: {shown}");
    let (status, done) = c.change(&seats(&contract, 12));
    assert_eq!(status, 200, "{done}");
    let charged = &done["invoice"];
    for k in ["amountWithoutTax", "tax", "amount", "creditApplied"] {
        assert_eq!(shown[k].to_string(), charged[k].to_string(), "{k}: preview {shown} vs charged {charged}");
    }
    assert_eq!(
        done["payment"]["amount"].to_string(),
        shown["amountDue"].to_string(),
        "charged what the preview said was due"
    );
}

#[test]
fn reverting_a_change_credits_the_open_invoice_it_left_so_the_customer_owes_nothing() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    // Invoiced, not charged: the bill group collects by invoice.
    let (status, imported) = c.secret(
        "POST",
        "/api/contracts",
        Some(&json!({
        "account": { "name": "Revert Co" }, "billGroup": { "collectInvoiceBalanceAutomatically": false },
        "contract": { "status": "ACTIVE", "currency": "USD", "startDate": "2026-11-01", "endDate": null,
            "offerings": [{ "offeringId": "offr_team", "rateId": "rate_team_monthly", "serviceStart": "2026-11-01",
                "anchorDate": "2026-11-01", "anchorDay": 1, "invoicedThrough": "2026-12-01",
                "products": [{ "productId": "prod_seats", "quantity": 10 }] }] } })),
    );
    assert_eq!(status, 201, "{imported}");
    let contract = text(&imported["contract"]["id"]);
    let account = text(&imported["account"]["id"]);
    let (status, up) = c.change(&seats(&contract, 11));
    assert_eq!(status, 200, "{up}");
    assert_eq!(up["invoice"]["status"], "OPEN");
    let owed = up["invoice"]["amountDue"].to_string();
    let (status, down) = c.change(&seats(&contract, 10));
    assert_eq!(status, 200, "{down}");
    assert_eq!(down["invoice"]["amount"].to_string(), format!("-{owed}"), "the same amount back");
    let (_, invoice) = c.secret("GET", &format!("/api/invoices/{}", text(&up["invoice"]["id"])), None);
    assert_eq!(
        (invoice["status"].as_str(), invoice["amountDue"].to_string()),
        (Some("PAID"), "0.00".to_owned()),
        "{invoice}"
    );
    assert_eq!(invoice["creditApplied"].to_string(), owed);
    let (_, acct) = c.secret("GET", &format!("/api/accounts/{account}"), None);
    assert_eq!(acct["creditBalance"].to_string(), "0.00", "nothing owed, nothing left over: {acct}");
}

#[test]
fn a_guarded_update_that_changed_nothing_fails_its_whole_batch() {
    use edge::store::{Db, DbError, Stmt};
    let a = setup();
    let before = a.db.dump();
    let batch = vec![
        Stmt { sql: "UPDATE accounts SET name = 'x' WHERE id = 'acct_none'", params: vec![] },
        Stmt {
            sql: "INSERT INTO write_guards (id, why) SELECT 'changed-nothing', '' WHERE changes() = 0",
            params: vec![],
        },
    ];
    assert!(matches!(pollster::block_on(a.db.batch(batch)), Err(DbError::Conflict(_))));
    assert_eq!(a.db.dump(), before);
}
