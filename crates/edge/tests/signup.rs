//! The Sign-Up API natively: every action and rule against SQLite (with the
//! real migrations) and an in-memory Stripe.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

mod support;

use serde_json::{Value, json};
use support::{Call, PUBLISHABLE, SECRET, app, demo_catalog, now};

const TODAY: &str = "2026-11-22";

fn customer() -> Value {
    json!({
        "accountName": "Acme Inc", "name": "John Doe", "email": "john@acme.test",
        "billingAddress": { "line1": "123 Main St", "city": "San Francisco", "state": "CA", "postalCode": "94107", "country": "US" }
    })
}

fn quick_start_quote() -> Value {
    json!({ "startDate": TODAY, "offerings": [{
        "offeringId": "offr_EoqyNVChm1kwT", "rateId": "rate_aCTj2kwzyd0U5",
        "items": [{ "productId": "prod_a9sElJSR3TbyP", "quantity": 1 }] }] })
}

fn team_quote(seats: u32) -> Value {
    json!({ "startDate": TODAY, "offerings": [{
        "offeringId": "offr_team", "rateId": "rate_team_monthly",
        "items": [{ "productId": "prod_seats", "quantity": seats }] }] })
}

fn create(c: &Call<'_>, action: &str) -> Value {
    let (status, body) = c.post(&json!({
        "action": action, "customer": customer(),
        "billGroup": { "autoEmailInvoice": true, "collectInvoiceBalanceAutomatically": true },
        "quote": quick_start_quote(),
    }));
    assert_eq!(status, 201, "{body}");
    body
}

fn setup() -> support::TestApp {
    let a = app();
    let c = Call { app: &a, now: now(TODAY) };
    assert_eq!(c.publish(&demo_catalog()).0, 201);
    a
}

/// Confirms the session's SetupIntent as Stripe.js would, then saves it with UPDATE.
fn add_card(c: &Call<'_>, session: &Value, declining: bool) -> Value {
    let seti = session["paymentMethodInit"]["stripe"]["setupIntentId"].as_str().unwrap().to_owned();
    c.app.stripe.confirm(&seti, declining);
    let (status, body) = c.patch(
        session["sessionId"].as_str().unwrap(),
        &json!({ "action": "UPDATE", "paymentMethod": { "paymentMethodName": "visa", "paymentToken": seti } }),
    );
    assert_eq!(status, 200, "{body}");
    body
}

#[test]
fn estimate_prices_and_saves_nothing() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let before = a.db.dump();
    let (status, body) = c.post(&json!({ "action": "ESTIMATE", "customer": customer(), "quote": quick_start_quote() }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sessionId"], Value::Null);
    assert_eq!(body["quote"]["amount"].to_string(), "100.00");
    assert_eq!(body["quote"]["firstInvoice"]["tax"].to_string(), "0.00", "no tax in ESTIMATE");
    assert_eq!(a.db.dump(), before);
}

#[test]
fn create_in_pending_saves_a_priced_draft_and_get_shows_it() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let body = create(&c, "CREATE_IN_PENDING");
    let id = body["sessionId"].as_str().unwrap();
    assert!(id.starts_with("cart_") && id.len() == 27);
    assert_eq!(body["quote"]["status"], "DRAFT");
    assert_eq!(body["step"], "payment_method");
    assert!(body.get("paymentMethodInit").is_none());
    let (status, got) = c.get(id);
    assert_eq!(status, 200);
    assert_eq!(got["quote"], body["quote"]);
    // Not configured: the path on the Worker's own origin (never the request's Host).
    assert_eq!(got["urls"]["signup"], format!("/checkout/?session={id}"));
    assert_eq!(got["customer"]["contactEmail"], "john@acme.test");
    assert_eq!(a.db.count("accounts"), 0, "nothing but the session before FINALIZE");
}

#[test]
fn the_quick_start_flow_creates_customer_contract_invoice_and_payment() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let created = create(&c, "CREATE_WITH_PAYMENT_METHOD");
    let init = &created["paymentMethodInit"]["stripe"];
    assert!(init["customerId"].as_str().unwrap().starts_with("cus_"));
    assert!(init["clientSecret"].as_str().unwrap().contains("_secret_"));
    assert_eq!(init["publicKey"], "pk_test_fake");
    assert_eq!(created["quote"]["amount"].to_string(), "100.00");
    let updated = add_card(&c, &created, false);
    assert_eq!(updated["action"], "ADD_PAYMENT_METHOD");
    assert_eq!(updated["step"], "review");
    let id = created["sessionId"].as_str().unwrap();
    let (status, done) = c.patch(id, &json!({ "action": "FINALIZE" }));
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "FINALIZED");
    assert_eq!(done["quote"]["status"], "PROCESSED");
    assert_eq!(done["customer"]["accountId"], created["customer"]["accountId"]);
    let invoice = &done["invoice"];
    assert_eq!(invoice["amountWithoutTax"].to_string(), "100.00");
    assert_eq!(invoice["tax"].to_string(), "7.25", "CA 7.25 % at finalize");
    assert_eq!(invoice["amount"].to_string(), "107.25");
    assert_eq!(invoice["status"], "PAID");
    assert!(invoice["items"][0]["id"].as_str().unwrap().starts_with("ili_"));
    assert_eq!(done["payment"]["amount"].to_string(), "107.25");
    assert_eq!(
        *a.stripe.charges.borrow(),
        vec![(
            format!("{id}/charge/0"),
            init["customerId"].as_str().unwrap().to_owned(),
            updated["paymentMethod"]["stripePaymentMethodId"].as_str().unwrap().to_owned(),
            10725,
            "usd".to_owned()
        )]
    );
    assert!(done["contract"]["id"].as_str().unwrap().starts_with("ctr_"));
    assert!(done["billGroup"]["id"].as_str().unwrap().starts_with("bg_"));
    for table in
        ["accounts", "contacts", "bill_groups", "quotes", "contracts", "invoices", "payments", "payment_methods"]
    {
        assert_eq!(a.db.count(table), 1, "{table}");
    }
    // GET shows the same finished session.
    let (_, got) = c.get(id);
    assert_eq!(got["invoice"], done["invoice"]);
    assert_eq!(got["payment"], done["payment"]);
    assert_eq!(got["step"], "complete");
}

#[test]
fn create_and_finalize_leaves_the_invoice_open_and_takes_no_payment_method() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let (status, e) = c.post(&json!({
        "action": "CREATE_AND_FINALIZE", "customer": customer(), "quote": quick_start_quote(),
        "paymentMethod": { "paymentToken": "pm_123" }
    }));
    assert_eq!((status, e["path"].as_str()), (400, Some("paymentMethod")));
    let body = create(&c, "CREATE_AND_FINALIZE");
    assert_eq!(body["status"], "FINALIZED");
    assert_eq!(body["invoice"]["status"], "OPEN");
    assert_eq!(body["invoice"]["amountDue"].to_string(), "107.25");
    assert!(body.get("payment").is_none());
    assert_eq!(a.stripe.charge_count(), 0);
}

#[test]
fn illegal_transitions_answer_409_and_change_nothing() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    // FINALIZE (and everything else) after CANCEL.
    let s = create(&c, "CREATE_IN_PENDING");
    let id = s["sessionId"].as_str().unwrap();
    assert_eq!(c.patch(id, &json!({ "action": "CANCEL" })).0, 200);
    let before = a.db.dump();
    for action in ["FINALIZE", "UPDATE", "CANCEL", "INIT_PAYMENT_METHOD", "ESTIMATE"] {
        let (status, e) = c.patch(id, &json!({ "action": action, "quote": team_quote(3) }));
        assert_eq!((status, e["code"].as_str()), (409, Some("SESSION_CANCELED")), "{action}");
        assert_eq!(e["sessionId"], id);
    }
    assert_eq!(a.db.dump(), before);
    // UPDATE after FINALIZE, a second FINALIZE.
    let s = create(&c, "CREATE_WITH_PAYMENT_METHOD");
    let id = s["sessionId"].as_str().unwrap();
    add_card(&c, &s, false);
    assert_eq!(c.patch(id, &json!({ "action": "FINALIZE" })).0, 200);
    let before = a.db.dump();
    for body in [json!({ "action": "UPDATE", "quote": team_quote(3) }), json!({ "action": "FINALIZE" })] {
        let (status, e) = c.patch(id, &body);
        assert_eq!((status, e["code"].as_str()), (409, Some("SESSION_FINALIZED")));
    }
    assert_eq!(a.db.dump(), before);
    assert_eq!(a.stripe.charge_count(), 1, "no second charge");
    // CREATE_* on PATCH, UPDATE on POST.
    assert_eq!(c.patch(id, &json!({ "action": "CREATE_IN_PENDING" })).0, 400);
    assert_eq!(c.post(&json!({ "action": "UPDATE" })).0, 400);
    assert_eq!(c.patch("cart_doesnotexist0000000000", &json!({ "action": "CANCEL" })).0, 404);
}

#[test]
fn update_replaces_what_it_carries() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let s = create(&c, "CREATE_IN_PENDING");
    let id = s["sessionId"].as_str().unwrap();
    let (status, u) = c.patch(id, &json!({ "action": "UPDATE", "quote": team_quote(10) }));
    assert_eq!(status, 200, "{u}");
    assert_ne!(u["quote"]["id"], s["quote"]["id"], "a new quote supersedes the old one");
    assert_eq!(u["quote"]["offerings"][0]["offeringId"], "offr_team");
    assert_eq!(u["quote"]["amount"].to_string(), "120.00");
    assert_eq!(u["customer"], s["customer"], "what UPDATE does not carry stays");
    let (status, u2) =
        c.patch(id, &json!({ "action": "UPDATE", "billGroup": { "collectInvoiceBalanceAutomatically": false } }));
    assert_eq!(status, 200);
    assert_eq!(u2["billGroup"]["collectInvoiceBalanceAutomatically"], false);
    assert_eq!(u2["billGroup"]["autoEmailInvoice"], true, "defaults from the catalog");
    assert_eq!(u2["step"], "review", "no card needed when the vendor invoices");
    let (status, e) = c.patch(id, &json!({ "action": "UPDATE" }));
    assert_eq!((status, e["code"].as_str()), (400, Some("MISSING_FIELD")));
    // Finalizing without automatic collection: an open invoice, no charge.
    let (status, done) = c.patch(id, &json!({ "action": "FINALIZE" }));
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["invoice"]["status"], "OPEN");
    assert_eq!(a.stripe.charge_count(), 0);
}

#[test]
fn a_declined_card_creates_nothing_and_a_second_card_succeeds() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let s = create(&c, "CREATE_WITH_PAYMENT_METHOD");
    let id = s["sessionId"].as_str().unwrap();
    add_card(&c, &s, true);
    let (status, e) = c.patch(id, &json!({ "action": "FINALIZE" }));
    assert_eq!((status, e["code"].as_str()), (402, Some("PAYMENT_DECLINED")), "{e}");
    assert_eq!(e["message"], "Your card was declined.");
    for table in ["accounts", "contracts", "invoices", "payments"] {
        assert_eq!(a.db.count(table), 0, "{table}");
    }
    let (_, open) = c.get(id);
    assert_eq!(open["status"], "OPEN");
    assert_eq!(open["step"], "payment_method");
    assert_eq!(open["lastError"]["declineCode"], "generic_decline");
    // Another card: INIT_PAYMENT_METHOD, confirm, FINALIZE with the token at once.
    let (status, init) = c.patch(id, &json!({ "action": "INIT_PAYMENT_METHOD" }));
    assert_eq!(status, 200, "{init}");
    let seti = init["paymentMethodInit"]["stripe"]["setupIntentId"].as_str().unwrap().to_owned();
    assert_eq!(init["paymentMethodInit"]["stripe"]["customerId"], s["paymentMethodInit"]["stripe"]["customerId"]);
    a.stripe.confirm(&seti, false);
    let (status, done) = c.patch(id, &json!({ "action": "FINALIZE", "paymentMethod": { "paymentToken": seti } }));
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["invoice"]["status"], "PAID");
    let keys: Vec<String> = a.stripe.charges.borrow().iter().map(|c| c.0.clone()).collect();
    assert_eq!(keys, vec![format!("{id}/charge/0"), format!("{id}/charge/1")], "a new key per card");
}

#[test]
fn payment_tokens_are_checked_with_stripe() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let pending = create(&c, "CREATE_IN_PENDING");
    let (status, e) = c.patch(
        pending["sessionId"].as_str().unwrap(),
        &json!({ "action": "UPDATE", "paymentMethod": { "paymentToken": "seti_x" } }),
    );
    assert_eq!((status, e["code"].as_str()), (409, Some("PAYMENT_METHOD_NOT_INITIALIZED")));
    let s1 = create(&c, "CREATE_WITH_PAYMENT_METHOD");
    let s2 = create(&c, "CREATE_WITH_PAYMENT_METHOD");
    let id1 = s1["sessionId"].as_str().unwrap();
    let seti1 = s1["paymentMethodInit"]["stripe"]["setupIntentId"].as_str().unwrap();
    let seti2 = s2["paymentMethodInit"]["stripe"]["setupIntentId"].as_str().unwrap();
    let before = a.db.dump();
    let token = |t: &str| json!({ "action": "UPDATE", "paymentMethod": { "paymentToken": t } });
    let (status, e) = c.patch(id1, &token(seti1));
    assert_eq!((status, e["code"].as_str()), (400, Some("PAYMENT_METHOD_NOT_CONFIRMED")));
    a.stripe.confirm(seti2, false);
    let (status, e) = c.patch(id1, &token(seti2));
    assert_eq!((status, e["code"].as_str()), (400, Some("PAYMENT_TOKEN_NOT_OWNED")), "another session's card");
    let (status, e) = c.patch(id1, &token("seti_unknown"));
    assert_eq!(
        (status, e["code"].as_str(), e["path"].as_str()),
        (400, Some("INVALID_PAYMENT_TOKEN"), Some("paymentMethod.paymentToken"))
    );
    assert_eq!(a.db.dump(), before);
    // FINALIZE without a card when one is needed.
    let (status, e) = c.patch(id1, &json!({ "action": "FINALIZE" }));
    assert_eq!((status, e["code"].as_str()), (400, Some("PAYMENT_METHOD_REQUIRED")));
    assert_eq!(a.db.dump(), before);
}

#[test]
fn a_new_name_or_email_reaches_the_stripe_customer_and_a_failed_push_changes_nothing() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let s = create(&c, "CREATE_WITH_PAYMENT_METHOD");
    let id = s["sessionId"].as_str().unwrap();
    let stripe = |i: usize| a.stripe.customers.borrow()[i].clone();
    assert_eq!((stripe(0).1, stripe(0).2), ("John Doe".into(), "john@acme.test".into()));
    // Stripe unreachable: 502 naming the customer, the session as it was.
    let moved = json!({ "action": "UPDATE", "customer": { "accountName": "Acme Inc", "name": "Jane Roe",
        "email": "jane@acme.test", "billingAddress": customer()["billingAddress"] } });
    a.stripe.down.set(true);
    let before = a.db.dump();
    let (status, e) = c.patch(id, &moved);
    assert_eq!((status, e["code"].as_str()), (502, Some("PAYMENT_PROVIDER_UNAVAILABLE")));
    assert_eq!(a.db.dump(), before);
    a.stripe.down.set(false);
    let (status, r) = c.patch(id, &moved);
    assert_eq!(status, 200, "{r}");
    assert_eq!((stripe(0).1, stripe(0).2), ("Jane Roe".into(), "jane@acme.test".into()));
    // The same details again, or only the address: nothing to tell Stripe.
    a.stripe.down.set(true);
    let (status, r) = c.patch(id, &moved);
    assert_eq!(status, 200, "{r}");
    let mut address = moved.clone();
    address["customer"]["billingAddress"]["line2"] = json!("Suite 5");
    assert_eq!(c.patch(id, &address).0, 200);
    a.stripe.down.set(false);
    // FINALIZE carrying a new email pushes it before the charge.
    add_card(&c, &c.get(id).1, false);
    let mut last = address.clone();
    last["action"] = json!("FINALIZE");
    last["customer"]["email"] = json!("billing@acme.test");
    let (status, done) = c.patch(id, &last);
    assert_eq!(status, 200, "{done}");
    assert_eq!(stripe(0).2, "billing@acme.test");
    assert_eq!(a.stripe.customers.borrow().len(), 1, "one Stripe customer throughout");
}

#[test]
fn stripe_down_is_502_and_changes_nothing() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    a.stripe.down.set(true);
    let before = a.db.dump();
    let (status, e) = c
        .post(&json!({ "action": "CREATE_WITH_PAYMENT_METHOD", "customer": customer(), "quote": quick_start_quote() }));
    assert_eq!((status, e["code"].as_str()), (502, Some("PAYMENT_PROVIDER_UNAVAILABLE")));
    assert_eq!(a.db.dump(), before);
    a.stripe.down.set(false);
    let s = create(&c, "CREATE_WITH_PAYMENT_METHOD");
    let id = s["sessionId"].as_str().unwrap();
    add_card(&c, &s, false);
    a.stripe.down.set(true);
    let (status, _) = c.patch(id, &json!({ "action": "FINALIZE" }));
    assert_eq!(status, 502);
    assert_eq!(a.db.count("accounts"), 0);
    let (_, open) = c.get(id);
    assert_eq!((open["status"].as_str(), open["step"].as_str()), (Some("OPEN"), Some("review")), "card kept: retry");
    a.stripe.down.set(false);
    let (status, done) = c.patch(id, &json!({ "action": "FINALIZE" }));
    assert_eq!(status, 200, "{done}");
    assert_eq!(a.stripe.charge_count(), 1);
}

#[test]
fn idempotency_keys_replay_the_first_answer() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let body =
        json!({ "action": "CREATE_IN_PENDING", "customer": customer(), "quote": quick_start_quote() }).to_string();
    let send = |b: &str| {
        c.send("POST", "/api/selfService/signup", Some(PUBLISHABLE), Some(b.to_owned()), &[("idempotency-key", "k-1")])
    };
    let first = send(&body);
    assert_eq!(first.status, 201);
    let again = send(&body);
    assert_eq!((again.status, &again.body), (201, &first.body));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(a.db.count("sessions"), 1);
    let other = send(&body.replace("Acme", "Other"));
    assert_eq!(other.status, 422);
    // The same key under the other key (principal) is another request.
    let secret =
        c.send("POST", "/api/selfService/signup", Some(SECRET), Some(body.clone()), &[("idempotency-key", "k-1")]);
    assert_eq!(secret.status, 201);
    assert_eq!(a.db.count("sessions"), 2);
    // A 409 is not kept: after the conflict is gone, the key runs again.
    let id = support::Call::json(&c, "POST", "/api/selfService/signup", &serde_json::from_str(&body).unwrap()).1;
    let id = id["sessionId"].as_str().unwrap().to_owned();
    c.patch(&id, &json!({ "action": "CANCEL" }));
    let path = format!("/api/selfService/signup/{id}");
    let r = c.send(
        "PATCH",
        &path,
        Some(PUBLISHABLE),
        Some(json!({ "action": "CANCEL" }).to_string()),
        &[("idempotency-key", "k-2")],
    );
    assert_eq!(r.status, 409);
    let r2 = c.send(
        "PATCH",
        &path,
        Some(PUBLISHABLE),
        Some(json!({ "action": "CANCEL" }).to_string()),
        &[("idempotency-key", "k-2")],
    );
    assert_eq!((r2.status, r2.header("idempotent-replayed")), (409, None));
}

#[test]
fn a_request_refused_for_bad_input_keeps_no_result_so_a_corrected_retry_runs_under_the_same_key() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let send = |b: &Value| {
        c.send("POST", "/api/selfService/signup", Some(PUBLISHABLE), Some(b.to_string()), &[("idempotency-key", "k-3")])
    };
    let mut bad = json!({ "action": "CREATE_IN_PENDING", "customer": customer(), "quote": quick_start_quote() });
    bad["customer"]["email"] = json!("not an email");
    let refused = send(&bad);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(a.db.count("idempotency_keys"), 0, "nothing kept for a request that did nothing");
    let good = json!({ "action": "CREATE_IN_PENDING", "customer": customer(), "quote": quick_start_quote() });
    let r = send(&good);
    assert_eq!(r.status, 201, "{}", r.body);
    // A request that ran is kept and replayed.
    let again = send(&good);
    assert_eq!((again.status, again.header("idempotent-replayed")), (201, Some("true")));
    assert_eq!(a.db.count("sessions"), 1);
}

#[test]
fn a_stale_writer_loses_and_writes_nothing() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let s = create(&c, "CREATE_IN_PENDING");
    let id = s["sessionId"].as_str().unwrap();
    let stale = pollster::block_on(edge::store::sessions::Session::load(&a.db, id)).unwrap().unwrap();
    assert_eq!(c.patch(id, &json!({ "action": "UPDATE", "quote": team_quote(2) })).0, 200);
    let before = a.db.dump();
    let mut lost = stale.next("2026-11-22T12:00:01Z");
    lost.status = Some(edge::store::sessions::Status::Canceled);
    let r = pollster::block_on(edge::store::Db::batch(&a.db, lost.save("CANCEL")));
    assert!(matches!(r, Err(edge::store::DbError::Conflict(_))), "{r:?}");
    assert_eq!(a.db.dump(), before);
}

#[test]
fn a_custom_id_belongs_to_one_account() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let mut cust = customer();
    cust["customId"] = json!("JOHNDOE001");
    let body = json!({ "action": "CREATE_AND_FINALIZE", "customer": cust, "quote": quick_start_quote() });
    let (status, first) = c.post(&body);
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["customer"]["customId"], "JOHNDOE001");
    let before = a.db.dump();
    let (status, e) = c.post(&body);
    assert_eq!(
        (status, e["code"].as_str(), e["path"].as_str()),
        (409, Some("CUSTOM_ID_TAKEN"), Some("customer.customId"))
    );
    assert_eq!(a.db.dump(), before);
}

#[test]
fn a_custom_id_is_compared_without_case_or_unicode_form_and_keeps_its_spelling() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let with = |id: &str| {
        let mut cust = customer();
        cust["customId"] = json!(id);
        json!({ "action": "CREATE_AND_FINALIZE", "customer": cust, "quote": quick_start_quote() })
    };
    let (status, first) = c.post(&with("ACME"));
    assert_eq!(status, 201, "{first}");
    for other in ["acme", "ＡＣＭＥ", "Acme"] {
        let (status, e) = c.post(&with(other));
        assert_eq!((status, e["code"].as_str()), (409, Some("CUSTOM_ID_TAKEN")), "{other}: {e}");
    }
    let (status, found) = c.secret("GET", "/api/accounts?customId=Ａcme", None);
    assert_eq!(status, 200);
    assert_eq!(found["data"][0]["customId"], "ACME", "the spelling given is kept: {found}");
    // Imports share the rule.
    let (status, e) = c.secret("POST", "/api/contracts", Some(&json!({
        "account": { "name": "Dup", "customId": "acme" }, "billGroup": {},
        "contract": { "status": "ACTIVE", "currency": "USD", "startDate": TODAY, "endDate": null,
            "offerings": [{ "offeringId": "offr_free", "rateId": "rate_free_monthly", "serviceStart": TODAY,
                "anchorDay": 22, "invoicedThrough": TODAY, "products": [{ "productId": "prod_seats", "quantity": 1 }] }] } })));
    assert_eq!((status, e["code"].as_str()), (409, Some("CUSTOM_ID_TAKEN")), "{e}");
}

#[test]
fn bad_input_is_400_with_the_field_and_changes_nothing() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let s = create(&c, "CREATE_IN_PENDING");
    let id = s["sessionId"].as_str().unwrap();
    let before = a.db.dump();
    // The doc's own PATCH example, trailing comma and all.
    let printed = "{\n  \"action\": \"UPDATE\",\n  \"paymentMethod\": {\n    \"paymentMethodName\": \"visa\",\n    \"paymentToken\": \"seti_1P0qjFFlgb12q7baCrgo9cfu\",\n  }\n}";
    let r = c.send("PATCH", &format!("/api/selfService/signup/{id}"), Some(PUBLISHABLE), Some(printed.into()), &[]);
    let e: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!((r.status, e["code"].as_str(), e["sessionId"].as_str()), (400, Some("MALFORMED_JSON"), Some(id)));
    assert!(e["message"].as_str().unwrap().contains("trailing comma (line 6, column 3)"), "{e}");
    let mut many = team_quote(1);
    many["offerings"] = Value::Array(vec![many["offerings"][0].clone(); 101]);
    let cases = [
        (
            json!({ "action": "UPDATE", "quote": { "startDate": TODAY, "offerings": [{ "offeringId": "offr_nope", "rateId": "r" }] } }),
            "UNKNOWN_OFFERING",
            "quote.offerings[0].offeringId",
        ),
        (
            json!({ "action": "UPDATE", "quote": team_quote(501) }),
            "QUANTITY_OUT_OF_RANGE",
            "quote.offerings[0].items[0].quantity",
        ),
        (
            json!({ "action": "UPDATE", "quote": { "offerings": [{ "offeringId": "offr_team", "rateId": "rate_team_monthly", "items": [{ "productId": "prod_seats", "quantity": "ten" }] }] } }),
            "INVALID_VALUE",
            "quote.offerings[0].items[0].quantity",
        ),
        (json!({ "action": "UPDATE", "quote": many }), "TOO_MANY", "quote.offerings"),
        (
            json!({ "action": "UPDATE", "quote": { "startDate": "2026-11-21", "offerings": team_quote(1)["offerings"] } }),
            "START_DATE_IN_PAST",
            "quote.startDate",
        ),
        (
            json!({ "action": "UPDATE", "customer": { "accountName": "A", "name": "B", "email": 5 } }),
            "INVALID_VALUE",
            "customer.email",
        ),
        (json!({ "action": 1 }), "INVALID_VALUE", "action"),
    ];
    for (body, code, path) in cases {
        let (status, e) = c.patch(id, &body);
        assert_eq!((status, e["code"].as_str(), e["path"].as_str()), (400, Some(code), Some(path)), "{body}");
    }
    let big = format!("{{\"action\":\"ESTIMATE\",\"pad\":\"{}\"}}", "x".repeat(70_000));
    let r = c.send("POST", "/api/selfService/signup", Some(PUBLISHABLE), Some(big), &[]);
    assert_eq!(r.status, 413);
    assert_eq!(a.db.dump(), before);
    let e: Value = serde_json::from_str(&c.send("GET", "/nope", None, None, &[]).body).unwrap();
    assert!(!e.to_string().contains("sqlite") && !e.to_string().contains("panicked"));
}

#[test]
fn keys_guard_the_endpoints() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let est = json!({ "action": "ESTIMATE", "quote": quick_start_quote() }).to_string();
    assert_eq!(c.send("POST", "/api/selfService/signup", None, Some(est.clone()), &[]).status, 401);
    assert_eq!(c.send("POST", "/api/selfService/signup", Some("pk_wrong"), Some(est.clone()), &[]).status, 401);
    assert_eq!(c.send("POST", "/api/selfService/signup", Some(SECRET), Some(est), &[]).status, 200);
    assert_eq!(c.send("PUT", "/api/catalog", Some(PUBLISHABLE), Some(demo_catalog().to_string()), &[]).status, 403);
    assert_eq!(c.send("GET", "/api/catalog", None, None, &[]).status, 401);
    assert_eq!(c.send("GET", "/healthz", None, None, &[]).status, 200);
    assert_eq!(c.send("GET", "/openapi.json", None, None, &[]).status, 200);
    // CORS: the allow-listed origin only.
    let ok = c.send("OPTIONS", "/api/selfService/signup", None, None, &[("origin", "https://shop.example")]);
    assert_eq!((ok.status, ok.header("access-control-allow-origin")), (204, Some("https://shop.example")));
    let no = c.send("OPTIONS", "/api/selfService/signup", None, None, &[("origin", "https://evil.example")]);
    assert_eq!((no.status, no.header("access-control-allow-origin")), (403, None));
}

#[test]
fn catalogs_are_versioned_and_a_later_publish_keeps_shown_prices() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let r = c.send("GET", "/api/catalog", Some(PUBLISHABLE), None, &[]);
    assert_eq!(r.status, 200);
    let etag = r.header("etag").unwrap().to_owned();
    assert_eq!(r.header("quotekit-catalog-version"), Some("1"));
    assert!(r.header("cache-control").unwrap().contains("max-age"));
    let r304 = c.send("GET", "/api/catalog", Some(PUBLISHABLE), None, &[("if-none-match", &etag)]);
    assert_eq!((r304.status, r304.body.as_str()), (304, ""));
    // Same text again: no new version.
    assert_eq!(c.publish(&demo_catalog()).0, 200);
    let s = create(&c, "CREATE_AND_FINALIZE");
    assert_eq!(s["quote"]["catalogVersion"], 1);
    let pending = create(&c, "CREATE_IN_PENDING");
    // The vendor doubles the Starter price.
    let mut dearer = demo_catalog();
    dearer["offerings"][0]["rates"][0]["prices"][0]["unitAmount"] = json!("200");
    let (status, published) = c.publish(&dearer);
    assert_eq!((status, published["version"].as_i64()), (201, Some(2)));
    let (status, done) = c.patch(
        pending["sessionId"].as_str().unwrap(),
        &json!({ "action": "FINALIZE", "billGroup": { "collectInvoiceBalanceAutomatically": false } }),
    );
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["invoice"]["amountWithoutTax"].to_string(), "100.00", "priced on version 1 as shown");
    assert_eq!(
        c.post(&json!({ "action": "ESTIMATE", "quote": quick_start_quote() })).1["quote"]["amount"].to_string(),
        "200.00"
    );
    let old = c.send("GET", "/api/catalog/versions/1", Some(PUBLISHABLE), None, &[]);
    assert!(old.header("cache-control").unwrap().contains("immutable"));
    // As published, but for its promotion codes: the vendor's secret.
    let mut public = demo_catalog();
    public.as_object_mut().unwrap().remove("promotionCodes");
    assert_eq!(serde_json::from_str::<Value>(&old.body).unwrap(), public);
    // An invalid catalog: 400 with the engine's path, nothing stored.
    let mut bad = demo_catalog();
    bad["offerings"][1]["rates"][0]["prices"][0]["unitAmount"] = json!("-1");
    let (status, e) = c.publish(&bad);
    assert_eq!(
        (status, e["code"].as_str(), e["path"].as_str()),
        (400, Some("INVALID_CATALOG"), Some("offerings[1].rates[0].prices[0].unitAmount"))
    );
    assert_eq!(a.db.count("catalog_versions"), 2);
}

#[test]
fn no_catalog_yet_is_a_clear_503() {
    let a = app();
    let c = Call { app: &a, now: now(TODAY) };
    let (status, e) = c.post(&json!({ "action": "ESTIMATE", "quote": quick_start_quote() }));
    assert_eq!((status, e["code"].as_str()), (503, Some("NO_CATALOG")));
}

#[test]
fn the_openapi_document_describes_every_route() {
    let doc: Value = serde_json::from_str(edge::http::openapi::DOCUMENT).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path, _) in edge::http::ROUTES {
        let op = &doc["paths"][path][method.to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {path} is not in openapi.json");
        assert!(op["responses"].is_object(), "{method} {path} has no responses");
    }
    let documented: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, edge::http::ROUTES.len(), "openapi.json documents a route the Worker does not serve");
}

#[test]
fn a_payment_method_id_is_attached_to_the_sessions_customer() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let s = create(&c, "CREATE_WITH_PAYMENT_METHOD");
    let id = s["sessionId"].as_str().unwrap();
    let customer = s["paymentMethodInit"]["stripe"]["customerId"].as_str().unwrap();
    // A PaymentMethod made in the browser without a SetupIntent: not attached yet.
    a.stripe.pms.borrow_mut().insert("pm_fresh".into(), support::FakePm { customer: None, declines: false });
    let (status, body) = c.patch(id, &json!({ "action": "FINALIZE", "paymentMethod": { "paymentToken": "pm_fresh" } }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(a.stripe.pms.borrow()["pm_fresh"].customer.as_deref(), Some(customer));
    // One attached to someone else is refused.
    let s2 = create(&c, "CREATE_WITH_PAYMENT_METHOD");
    let (status, e) = c.patch(
        s2["sessionId"].as_str().unwrap(),
        &json!({ "action": "UPDATE", "paymentMethod": { "paymentToken": "pm_fresh" } }),
    );
    assert_eq!((status, e["code"].as_str()), (400, Some("PAYMENT_TOKEN_NOT_OWNED")));
}

#[test]
fn a_finalize_cut_off_after_the_charge_is_finished_by_a_retry_without_a_second_charge() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let s = create(&c, "CREATE_WITH_PAYMENT_METHOD");
    let id = s["sessionId"].as_str().unwrap();
    add_card(&c, &s, false);
    // Stripe charges, then D1 fails to take the records.
    a.db.fail_next_batch_with("INSERT INTO accounts");
    let (status, e) = c.patch(id, &json!({ "action": "FINALIZE" }));
    assert_eq!((status, e["code"].as_str()), (503, Some("STORAGE_UNAVAILABLE")), "{e}");
    assert_eq!(a.stripe.charge_count(), 1);
    assert_eq!(a.db.count("accounts"), 0);
    assert_eq!(c.get(id).1["step"], "processing");
    // Right away, the claim still holds.
    let (status, e) = c.patch(id, &json!({ "action": "FINALIZE" }));
    assert_eq!((status, e["code"].as_str()), (409, Some("FINALIZE_IN_PROGRESS")));
    // Once the claim is stale, a retry takes over with the same Stripe idempotency key.
    let later = Call { app: &a, now: edge::Now::from_naive(c.now.at + chrono::Duration::seconds(61)) };
    let (status, done) = later.patch(id, &json!({ "action": "FINALIZE" }));
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["invoice"]["status"], "PAID");
    assert_eq!(a.stripe.charge_count(), 1, "Stripe replayed the first charge for the same key");
    assert_eq!(a.db.count("payments"), 1);
}

#[test]
fn a_finalized_session_gets_a_portal_token_for_its_account_within_the_hour() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let open = create(&c, "CREATE_WITH_PAYMENT_METHOD");
    let id = open["sessionId"].as_str().unwrap();
    let path = format!("/api/selfService/signup/{id}/customerToken");
    let (status, body) = c.json("POST", &path, &json!({}));
    assert_eq!((status, body["code"].as_str()), (409, Some("SESSION_NOT_FINALIZED")), "{body}");
    let done = add_card(&c, &open, false);
    let (status, done) = c.patch(done["sessionId"].as_str().unwrap(), &json!({ "action": "FINALIZE" }));
    assert_eq!(status, 200, "{done}");
    let account = done["customer"]["accountId"].as_str().unwrap();

    let (status, token) = c.json("POST", &path, &json!({}));
    assert_eq!(status, 201, "{token}");
    assert_eq!(token["accountId"], account);
    let t = token["token"].as_str().unwrap();
    let read = |c: &Call<'_>, acct: &str| c.send("GET", &format!("/api/accounts/{acct}"), Some(t), None, &[]).status;
    assert_eq!(read(&c, account), 200);
    assert_eq!(read(&c, "acct_someoneelse0000000000"), 404, "only its own account");
    let no_key = c.send("POST", &path, None, None, &[]);
    assert_eq!(no_key.status, 401);
    assert_eq!(c.json("POST", "/api/selfService/signup/cart_nope/customerToken", &json!({})).0, 404);

    // Finalized at 12:00; at 13:00:01 the window has closed (and the token has expired).
    let later = Call { app: &a, now: edge::Now::from_naive(now(TODAY).at + chrono::Duration::seconds(3601)) };
    let (status, body) = later.json("POST", &path, &json!({}));
    assert_eq!(
        (status, body["code"].as_str(), body["path"].as_str()),
        (403, Some("PORTAL_WINDOW_CLOSED"), Some("sessionId"))
    );
    assert_eq!(read(&later, account), 401, "the token lives an hour");
}

#[test]
fn the_site_config_is_public_and_names_the_publishable_keys() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let r = c.send("GET", "/api/selfService/config", None, None, &[]);
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["publishableKey"], PUBLISHABLE);
    assert_eq!(v["stripe"]["jsUrl"], "https://js.stripe.com/v3/");
    assert!(!r.body.contains(SECRET), "never the secret key");
}

#[test]
fn an_answer_lost_after_the_charge_is_found_on_retry_never_charged_twice() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let open = create(&c, "CREATE_WITH_PAYMENT_METHOD");
    let s = add_card(&c, &open, false);
    let id = s["sessionId"].as_str().unwrap();
    a.stripe.lose_next_answer.set(true); // Stripe charges, the answer never arrives
    let (status, e) = c.patch(id, &json!({ "action": "FINALIZE" }));
    assert_eq!((status, e["code"].as_str()), (502, Some("PAYMENT_PROVIDER_UNAVAILABLE")), "{e}");
    assert_eq!(a.stripe.charge_count(), 1);
    assert_eq!(a.db.count("invoices"), 0, "nothing recorded yet");
    let (status, done) = c.patch(id, &json!({ "action": "FINALIZE" }));
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["payment"]["status"], "SUCCEEDED");
    assert_eq!(a.stripe.charge_count(), 1, "the retry found the charge instead of making another");
    assert_eq!(a.db.count("invoices"), 1);
}

#[test]
fn the_resume_link_comes_from_configuration_never_from_the_host_header() {
    let mut a = setup();
    a.config.signup_url_base = Some("https://shop.example/".into());
    let c = Call { app: &a, now: now(TODAY) };
    let r = c.send(
        "POST",
        "/api/selfService/signup",
        Some(support::PUBLISHABLE),
        Some(
            json!({ "action": "CREATE_IN_PENDING", "customer": support::customer_json(),
            "quote": { "offerings": [{ "offeringId": "offr_team", "rateId": "rate_team_monthly" }] } })
            .to_string(),
        ),
        &[("host", "evil.example"), ("x-forwarded-host", "evil.example")],
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let body: Value = serde_json::from_str(&r.body).unwrap();
    let id = body["sessionId"].as_str().unwrap();
    assert_eq!(body["urls"]["signup"], format!("https://shop.example/checkout/?session={id}"));
    assert!(!r.body.contains("evil.example"));
}

#[test]
fn a_finalized_session_shows_the_publishable_key_only_its_status_once_the_portal_window_closes() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let created = create(&c, "CREATE_WITH_PAYMENT_METHOD");
    add_card(&c, &created, false);
    let id = created["sessionId"].as_str().unwrap();
    assert_eq!(c.patch(id, &json!({ "action": "FINALIZE" })).0, 200);
    let (_, soon) = c.get(id);
    assert!(
        soon["invoice"].is_object() && soon["customer"].is_object(),
        "within the hour: the confirmation page's view"
    );
    let later = Call { app: &a, now: support::at(TODAY, "14:00:01") };
    let (status, got) = later.get(id);
    assert_eq!(status, 200);
    let mut keys: Vec<&str> = got.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["action", "error", "sessionId", "status", "step", "urls"], "{got}");
    assert_eq!((got["status"].as_str(), got["step"].as_str()), (Some("FINALIZED"), Some("complete")));
    // The secret key still sees everything.
    let (_, all) = later.secret("GET", &format!("/api/selfService/signup/{id}"), None);
    assert!(all["invoice"].is_object() && all["customer"]["contactEmail"].is_string(), "{all}");
}

#[test]
fn methods_a_route_does_not_take_are_405_with_allow_head_is_get_without_a_body_and_401_names_bearer() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    for (method, path, allow) in [
        ("PROPFIND", "/api/catalog", "GET, PUT, HEAD, OPTIONS"),
        ("LOCK", "/api/invoices/inv_x", "GET, HEAD, OPTIONS"),
        ("DELETE", "/api/billingRuns", "POST, OPTIONS"),
    ] {
        let r = c.send(method, path, Some(SECRET), None, &[]);
        assert_eq!(r.status, 405, "{method} {path}: {}", r.body);
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
        assert!(!r.body.contains("currency"), "never served as a read");
    }
    let get = c.send("GET", "/api/catalog", Some(PUBLISHABLE), None, &[]);
    let head = c.send("HEAD", "/api/catalog", Some(PUBLISHABLE), None, &[]);
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    assert_eq!(head.header("etag"), get.header("etag"));
    let r = c.send("GET", "/api/catalog", None, None, &[]);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"QuoteKit\""));
}

#[test]
fn a_session_with_an_address_answers_what_finalize_will_charge_with_tax() {
    let a = setup();
    let c = Call { app: &a, now: now(TODAY) };
    let created = create(&c, "CREATE_WITH_PAYMENT_METHOD");
    // The quote is before tax (ESTIMATE applies none); dueAtSignUp is taxed for the CA address.
    assert_eq!(created["quote"]["firstInvoice"]["tax"].to_string(), "0.00");
    let due = &created["dueAtSignUp"];
    assert_eq!((due["tax"].to_string(), due["amount"].to_string()), ("7.25".into(), "107.25".into()), "{created}");
    let id = created["sessionId"].as_str().unwrap();
    let (_, got) = c.get(id);
    assert_eq!(got["dueAtSignUp"], *due);
    let (_, estimate) = c.patch(id, &json!({ "action": "ESTIMATE" }));
    assert_eq!(estimate["dueAtSignUp"], *due);
    let (status, stateless) = c.post(&json!({ "action": "ESTIMATE", "quote": quick_start_quote(),
        "customer": support::customer_json() }));
    assert_eq!(status, 200);
    assert_eq!(stateless["dueAtSignUp"]["amount"].to_string(), "107.25");
    add_card(&c, &created, false);
    let (_, done) = c.patch(id, &json!({ "action": "FINALIZE" }));
    assert_eq!(done["invoice"]["amount"].to_string(), due["amount"].to_string(), "FINALIZE charged what was shown");
    assert!(done.get("dueAtSignUp").is_none(), "once finalized, the invoice itself answers");
}

#[test]
fn failed_authentication_is_throttled_per_client_with_retry_after_and_good_keys_still_work() {
    let a = setup();
    let c = Call { app: &a, now: support::at(TODAY, "12:00:30") };
    let wrong = |ip: &str| c.send("GET", "/api/catalog", Some("sk_wrong"), None, &[("cf-connecting-ip", ip)]);
    for i in 0..edge::AUTH_FAILURES_PER_MINUTE {
        assert_eq!(wrong("203.0.113.7").status, 401, "failure {i}");
    }
    let r = wrong("203.0.113.7");
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("30"));
    assert!(r.body.contains("TOO_MANY_FAILED_AUTHENTICATIONS"));
    // Another client is not held back; a right key is never throttled.
    assert_eq!(wrong("198.51.100.1").status, 401);
    let ok = c.send("GET", "/api/catalog", Some(PUBLISHABLE), None, &[("cf-connecting-ip", "203.0.113.7")]);
    assert_eq!(ok.status, 200);
    // The next minute, the client starts afresh.
    let later = Call { app: &a, now: support::at(TODAY, "12:01:05") };
    let r = later.send("GET", "/api/catalog", Some("sk_wrong"), None, &[("cf-connecting-ip", "203.0.113.7")]);
    assert_eq!(r.status, 401);
}

#[test]
fn an_isolate_prices_on_the_catalog_it_knows_for_five_seconds_and_a_publish_here_at_once() {
    let a = setup();
    let at = |time: &str| Call { app: &a, now: support::at(TODAY, time) };
    let version = |c: &Call<'_>| {
        let (status, body) = c.post(&json!({ "action": "ESTIMATE", "quote": quick_start_quote() }));
        assert_eq!(status, 200, "{body}");
        (body["catalogVersion"].as_i64().unwrap(), body["quote"]["amount"].to_string())
    };
    assert_eq!(version(&at("12:00:00")), (1, "100.00".to_owned()));
    // A publish in this isolate: its very next quote prices on it.
    let mut dearer = demo_catalog();
    dearer["offerings"][0]["rates"][0]["prices"][0]["unitAmount"] = json!("120");
    assert_eq!(at("12:00:01").publish(&dearer).0, 201);
    assert_eq!(version(&at("12:00:01")), (2, "120.00".to_owned()));
    // Another isolate publishes (the row written straight to D1): this one
    // keeps pricing on what it read until five seconds after reading it.
    let mut dearest = demo_catalog();
    dearest["offerings"][0]["rates"][0]["prices"][0]["unitAmount"] = json!("150");
    let text = dearest.to_string();
    let other = edge::store::catalogs::Published {
        version: 3,
        etag: edge::steps::catalogs::etag_of(&text),
        body: text,
        created_at: format!("{TODAY}T12:00:02Z"),
    };
    pollster::block_on(edge::store::Db::batch(&a.db, vec![other.insert()])).unwrap();
    assert_eq!(version(&at("12:00:05")), (2, "120.00".to_owned()), "4 s after this isolate read it");
    assert_eq!(version(&at("12:00:06")), (3, "150.00".to_owned()), "5 s after: read again");
    // What bills or changes a contract never waits: a strict read sees it at once.
    let strict = pollster::block_on(edge::steps::catalogs::current_parsed(&a.db)).unwrap();
    assert_eq!(strict.0.version, 3);
    // A clock that moved back (a test clock) reads again rather than trust the memory.
    assert_eq!(version(&at("11:00:00")).0, 3);
}
