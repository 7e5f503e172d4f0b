//! Promotion codes through the API (issue 17): secret codes of the catalog,
//! looked up by pages, redeemed at FINALIZE within `maxRedemptions`, and
//! guessing that does not pay.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

mod support;

use serde_json::{Value, json};
use support::{Call, PUBLISHABLE, SECRET, app, customer_json, demo_catalog, now, text};

const TODAY: &str = "2026-11-22";

/// The demo catalog with 20 % off Team for three months and its codes.
fn catalog_with_codes() -> Value {
    let mut catalog = demo_catalog();
    catalog["coupons"] = json!([{ "id": "cpn_welcome", "name": "Welcome", "percentOff": "20", "duration": "REPEATING",
                                  "durationMonths": 3, "appliesTo": ["offr_team"] }]);
    catalog["promotionCodes"] = json!([
        { "code": "WELCOME20", "couponId": "cpn_welcome" },
        { "code": "ONCEONLY", "couponId": "cpn_welcome", "maxRedemptions": 1 },
        { "code": "OLD", "couponId": "cpn_welcome", "expiresOn": "2026-11-21" },
        { "code": "PAUSED", "couponId": "cpn_welcome", "active": false },
        { "code": "NEWBIE", "couponId": "cpn_welcome", "firstTimeOnly": true }
    ]);
    catalog
}

fn published() -> support::TestApp {
    let a = app();
    let (status, body) = Call { app: &a, now: now(TODAY) }.publish(&catalog_with_codes());
    assert_eq!(status, 201, "{body}");
    a
}

fn quote(code: &str) -> Value {
    quote_on(TODAY, Some(code))
}

/// Ten Team seats from `start`, with a promotion code or none.
fn quote_on(start: &str, code: Option<&str>) -> Value {
    let mut q = json!({ "startDate": start, "offerings": [{ "offeringId": "offr_team",
            "rateId": "rate_team_monthly", "items": [{ "productId": "prod_seats", "quantity": 10 }] }] });
    if let Some(code) = code {
        q["promotionCode"] = json!(code);
    }
    q
}

/// `GET /api/selfService/promotionCodes/{code}` from `ip`: status, body, `Retry-After`.
fn lookup(c: &Call<'_>, code: &str, ip: &str) -> (u16, Value, Option<String>) {
    let r = c.send(
        "GET",
        &format!("/api/selfService/promotionCodes/{code}"),
        Some(PUBLISHABLE),
        None,
        &[("cf-connecting-ip", ip)],
    );
    let retry = r.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("retry-after")).map(|(_, v)| v.clone());
    (r.status, serde_json::from_str(&r.body).unwrap_or(Value::Null), retry)
}

fn code_of(e: &Value) -> (Option<&str>, Option<&str>) {
    (e["code"].as_str(), e["path"].as_str())
}

#[test]
fn a_lookup_answers_the_terms_or_why_not() {
    let a = published();
    let c = Call { app: &a, now: now(TODAY) };
    let (status, terms, _) = lookup(&c, "welcome20", "10.0.0.1");
    assert_eq!(status, 200, "{terms}");
    assert_eq!(terms["code"], "WELCOME20", "codes compare case-insensitively and answer as written");
    assert_eq!(terms["coupon"]["id"], "cpn_welcome");
    assert_eq!(terms["coupon"]["percentOff"].to_string(), "20");
    assert_eq!(terms["coupon"]["duration"], "REPEATING");
    assert_eq!(terms["coupon"]["durationMonths"], 3);
    assert_eq!(terms["coupon"]["appliesTo"], json!(["offr_team"]));
    for (code, status, error) in [
        ("NOPE", 404, "PROMOTION_CODE_INVALID"),
        ("paused", 404, "PROMOTION_CODE_INVALID"),
        ("OLD", 410, "PROMOTION_CODE_EXPIRED"),
    ] {
        let (got, e, _) = lookup(&c, code, "10.0.0.1");
        assert_eq!((got, code_of(&e)), (status, (Some(error), Some("code"))), "{code}: {e}");
    }
    // The last day of expiresOn still redeems it.
    let on_the_day = Call { app: &a, now: now("2026-11-21") };
    assert_eq!(lookup(&on_the_day, "OLD", "10.0.0.1").0, 200);
}

#[test]
fn the_catalog_keeps_its_codes_from_the_publishable_key() {
    let a = published();
    let c = Call { app: &a, now: now(TODAY) };
    for path in ["/api/catalog", "/api/catalog/versions/1"] {
        let public = c.send("GET", path, Some(PUBLISHABLE), None, &[]);
        assert_eq!(public.status, 200, "{path}: {}", public.body);
        assert!(
            !public.body.contains("promotionCodes") && !public.body.contains("WELCOME20"),
            "{path}: {}",
            public.body
        );
        assert!(public.body.contains("cpn_welcome"), "coupons are public terms: {}", public.body);
        let private = c.send("GET", path, Some(SECRET), None, &[]);
        assert_eq!(private.status, 200);
        assert!(private.body.contains("WELCOME20"), "{path}: {}", private.body);
        let cache =
            private.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("cache-control")).map(|(_, v)| v.as_str());
        assert_eq!(cache, Some("private, no-store"), "{path}");
        // Different bodies, different ETags: a shared cache never serves one for the other.
        let etag = |r: &edge::http::Response| r.headers.iter().find(|(k, _)| k == "etag").map(|(_, v)| v.clone());
        assert_ne!(etag(&public), etag(&private), "{path}");
    }
}

#[test]
fn a_catalog_with_bad_codes_is_refused_at_the_field() {
    let a = app();
    let c = Call { app: &a, now: now(TODAY) };
    for (codes, path) in [
        (
            json!([{ "code": "A", "couponId": "cpn_welcome" }, { "code": "a", "couponId": "cpn_welcome" }]),
            "promotionCodes[1].code",
        ),
        (json!([{ "code": "A", "couponId": "cpn_none" }]), "promotionCodes[0].couponId"),
        (json!([{ "code": "A", "couponId": "cpn_welcome", "maxRedemptions": 0 }]), "promotionCodes[0].maxRedemptions"),
        (json!([{ "code": "A", "couponId": "cpn_welcome", "expiresOn": "soon" }]), "promotionCodes[0].expiresOn"),
        (json!([{ "code": "", "couponId": "cpn_welcome" }]), "promotionCodes[0].code"),
    ] {
        let mut catalog = catalog_with_codes();
        catalog["promotionCodes"] = codes;
        let (status, e) = c.publish(&catalog);
        assert_eq!((status, code_of(&e)), (400, (Some("INVALID_CATALOG"), Some(path))), "{e}");
    }
    assert_eq!(a.db.count("catalog_versions"), 0, "nothing published");
}

#[test]
fn guessing_is_throttled_and_valid_codes_never_use_the_budget() {
    let a = published();
    let c = Call { app: &a, now: now(TODAY) };
    // Fifty checkouts from one office: valid codes never count.
    for _ in 0..50 {
        assert_eq!(lookup(&c, "WELCOME20", "10.0.0.9").0, 200);
    }
    for i in 0..edge::PROMOTION_CODE_GUESSES_PER_MINUTE {
        assert_eq!(lookup(&c, &format!("GUESS{i}"), "10.0.0.7").0, 404);
    }
    // Past the budget, every code is 429 for that client, valid or not: no answer tells which exist.
    for code in ["GUESS-MORE", "WELCOME20"] {
        let (status, e, retry) = lookup(&c, code, "10.0.0.7");
        assert_eq!(status, 429, "{code}: {e}");
        assert!(retry.is_some_and(|s| s.parse::<u32>().is_ok_and(|s| (1..=60).contains(&s))), "Retry-After");
    }
    // Sign-up guesses count too, and are refused the same way.
    let r = c.send(
        "POST",
        "/api/selfService/signup",
        Some(PUBLISHABLE),
        Some(json!({ "action": "ESTIMATE", "quote": quote("WELCOME20") }).to_string()),
        &[("cf-connecting-ip", "10.0.0.7")],
    );
    assert_eq!(r.status, 429, "{}", r.body);
    // Another client is not affected; the next minute the budget is back.
    assert_eq!(lookup(&c, "WELCOME20", "10.0.0.8").0, 200);
    let later = Call { app: &a, now: support::at(TODAY, "12:01:00") };
    assert_eq!(lookup(&later, "WELCOME20", "10.0.0.7").0, 200);
}

#[test]
fn a_code_prices_the_quote_and_bad_ones_are_refused_at_the_field() {
    let a = published();
    let c = Call { app: &a, now: now(TODAY) };
    let (status, priced) = c.post(&json!({ "action": "ESTIMATE", "quote": quote("Welcome20") }));
    assert_eq!(status, 200, "{priced}");
    assert_eq!(priced["quote"]["discount"]["couponId"], "cpn_welcome");
    assert_eq!(priced["quote"]["discountAmount"].to_string(), "24.00");
    assert_eq!(priced["quote"]["amountWithoutTax"].to_string(), "96.00");
    for (code, status, error) in [
        ("NOPE", 400, "PROMOTION_CODE_INVALID"),
        ("PAUSED", 400, "PROMOTION_CODE_INVALID"),
        ("OLD", 410, "PROMOTION_CODE_EXPIRED"),
    ] {
        let (got, e) = c.post(&json!({ "action": "ESTIMATE", "quote": quote(code) }));
        assert_eq!((got, code_of(&e)), (status, (Some(error), Some("quote.promotionCode"))), "{code}: {e}");
    }
    // A code and a couponId naming another coupon: name one.
    let mut catalog = catalog_with_codes();
    catalog["coupons"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "id": "cpn_other", "percentOff": "5", "duration": "FOREVER" }));
    assert_eq!(c.publish(&catalog).0, 201);
    let mut both = quote("WELCOME20");
    both["couponId"] = json!("cpn_other");
    let (status, e) =
        c.secret("POST", "/api/selfService/signup", Some(&json!({ "action": "ESTIMATE", "quote": both })));
    assert_eq!((status, code_of(&e).1), (400, Some("quote.promotionCode")), "{e}");
    assert_eq!(a.db.count("sessions"), 0);
}

/// Creates a session for `code`, its card confirmed; answers its id and SetupIntent.
fn open_session(c: &Call<'_>, code: &str, email: &str, declines: bool) -> (String, String) {
    let mut customer = customer_json();
    customer["email"] = json!(email);
    let (status, s) =
        c.post(&json!({ "action": "CREATE_WITH_PAYMENT_METHOD", "customer": customer, "quote": quote(code) }));
    assert_eq!(status, 201, "{s}");
    let seti = text(&s["paymentMethodInit"]["stripe"]["setupIntentId"]);
    c.app.stripe.confirm(&seti, declines);
    (text(&s["sessionId"]), seti)
}

#[test]
fn finalize_redeems_within_max_redemptions_and_a_late_one_charges_nothing() {
    let a = published();
    let c = Call { app: &a, now: now(TODAY) };
    // Both sessions were priced while the code had redemptions left.
    let (first, first_card) = open_session(&c, "ONCEONLY", "ann@one.test", false);
    let (second, second_card) = open_session(&c, "onceonly", "bob@two.test", false);
    let (status, done) =
        c.patch(&first, &json!({ "action": "FINALIZE", "paymentMethod": { "paymentToken": first_card } }));
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["invoice"]["discountAmount"].to_string(), "24.00");
    assert_eq!(done["contract"]["discount"]["couponId"], "cpn_welcome");
    let charges = a.stripe.charge_count();
    let contracts = a.db.count("contracts");

    let (status, e) =
        c.patch(&second, &json!({ "action": "FINALIZE", "paymentMethod": { "paymentToken": second_card.clone() } }));
    assert_eq!((status, code_of(&e)), (409, (Some("PROMOTION_CODE_EXHAUSTED"), Some("quote.promotionCode"))), "{e}");
    assert_eq!(a.stripe.charge_count(), charges, "nothing charged");
    assert_eq!(a.db.count("contracts"), contracts, "nothing written");
    assert_eq!(c.get(&second).1["status"], "OPEN");
    // The lookup now says so.
    assert_eq!(lookup(&c, "ONCEONLY", "10.0.0.1").0, 409);

    // The visitor goes on without the code: full price.
    let (status, s) = c.patch(
        &second,
        &json!({ "action": "UPDATE", "quote": {
        "startDate": TODAY, "offerings": [{ "offeringId": "offr_team", "rateId": "rate_team_monthly",
        "items": [{ "productId": "prod_seats", "quantity": 10 }] }] } }),
    );
    assert_eq!(status, 200, "{s}");
    let (status, done) =
        c.patch(&second, &json!({ "action": "FINALIZE", "paymentMethod": { "paymentToken": second_card } }));
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["invoice"]["amountWithoutTax"].to_string(), "120.00");
    assert!(done["contract"]["discount"].is_null(), "{}", done["contract"]);
    assert_eq!(a.db.count("promotion_redemptions"), 1);
}

#[test]
fn a_declined_card_gives_the_redemption_back() {
    let a = published();
    let c = Call { app: &a, now: now(TODAY) };
    let (id, declining) = open_session(&c, "ONCEONLY", "ann@one.test", true);
    let (status, e) = c.patch(&id, &json!({ "action": "FINALIZE", "paymentMethod": { "paymentToken": declining } }));
    assert_eq!(status, 402, "{e}");
    assert_eq!(a.db.count("promotion_redemptions"), 0, "the failed payment used nothing up");
    assert_eq!(lookup(&c, "ONCEONLY", "10.0.0.1").0, 200);
}

#[test]
fn first_time_only_codes_refuse_known_customers() {
    let a = published();
    let c = Call { app: &a, now: now(TODAY) };
    let mut customer = customer_json();
    customer["customId"] = json!("ACME-1");
    let (status, done) = c.secret(
        "POST",
        "/api/selfService/signup",
        Some(&json!({ "action": "CREATE_AND_FINALIZE", "customer": customer, "quote": quote("NEWBIE"),
                      "billGroup": { "collectInvoiceBalanceAutomatically": false } })),
    );
    assert_eq!(status, 201, "a new customer may: {done}");
    // The same email in another case, or the same customId, already has a contract.
    for (email, custom_id) in [("JOHN@ACME.TEST", None), ("someone@else.test", Some("ACME-1"))] {
        let mut again = customer_json();
        again["email"] = json!(email);
        if let Some(id) = custom_id {
            again["customId"] = json!(id);
        }
        let (status, e) =
            c.post(&json!({ "action": "CREATE_WITH_PAYMENT_METHOD", "customer": again, "quote": quote("NEWBIE") }));
        assert_eq!(
            (status, code_of(&e)),
            (409, (Some("PROMOTION_CODE_NOT_ELIGIBLE"), Some("quote.promotionCode"))),
            "{email}: {e}"
        );
    }
}

#[test]
fn a_code_expired_or_no_longer_eligible_at_finalize_charges_nothing_and_keeps_the_session_open() {
    let a = app();
    let c = Call { app: &a, now: now("2026-11-21") };
    assert_eq!(c.publish(&catalog_with_codes()).0, 201);
    // OLD's last day is 11-21: priced then, finalized the next day.
    let (old, old_card) = open_session(&c, "OLD", "late@one.test", false);
    // NEWBIE is for new customers: eligible when the session started...
    let (newbie, newbie_card) = open_session(&c, "NEWBIE", "twice@two.test", false);
    // ...until the same email signs up elsewhere first.
    let mut again = customer_json();
    again["email"] = json!("TWICE@two.test");
    let (status, first) = c.secret(
        "POST",
        "/api/selfService/signup",
        Some(&json!({ "action": "CREATE_AND_FINALIZE", "customer": again, "quote": quote_on("2026-11-21", None),
                      "billGroup": { "collectInvoiceBalanceAutomatically": false } })),
    );
    assert_eq!(status, 201, "{first}");
    let next_day = Call { app: &a, now: now(TODAY) };
    let (charges, contracts) = (a.stripe.charge_count(), a.db.count("contracts"));
    for (id, card, status, code) in
        [(&old, old_card, 410, "PROMOTION_CODE_EXPIRED"), (&newbie, newbie_card, 409, "PROMOTION_CODE_NOT_ELIGIBLE")]
    {
        let (got, e) = next_day.patch(id, &json!({ "action": "FINALIZE", "paymentMethod": { "paymentToken": card } }));
        assert_eq!((got, code_of(&e)), (status, (Some(code), Some("quote.promotionCode"))), "{e}");
        assert_eq!(next_day.get(id).1["status"], "OPEN");
    }
    assert_eq!((a.stripe.charge_count(), a.db.count("contracts")), (charges, contracts), "nothing charged or written");
    assert_eq!(a.db.count("promotion_redemptions"), 0);
}
