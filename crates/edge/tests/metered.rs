//! Metered products through the API (issue 18): a catalog with one is
//! published, ESTIMATE prices its expected usage, a change may not set its
//! quantity; `POST /api/usage` checks each event and queues the accepted,
//! the consumer stores them once whatever the redelivery, and the billing
//! run bills each period's usage at its end; an event stored after its period
//! was billed is kept as late, never billed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

mod support;

use serde_json::{Value, json};
use support::{Call, app, customer_json, demo_catalog, now, run_billing};

const TODAY: &str = "2026-11-22";

/// A quote of the demo catalog's API plan: a 10.00 platform fee and metered calls,
/// the first 10 000 included, then 0.002 each up to 1 000 000 (every test here stays below).
fn quote(calls: u32) -> Value {
    json!({ "startDate": TODAY, "offerings": [{ "offeringId": "offr_api", "rateId": "rate_api_monthly",
            "items": [{ "productId": "prod_api_platform", "quantity": 1 }, { "productId": "prod_api_calls", "quantity": calls }] }] })
}

/// An API contract signed on TODAY, with its id and account (also checks ESTIMATE and METERED_PRODUCT).
fn signed() -> (support::TestApp, String, String) {
    let a = app();
    let c = Call { app: &a, now: now(TODAY) };
    let (status, published) = c.publish(&demo_catalog());
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
        { "offeringId": "offr_api", "products": [{ "productId": "prod_api_calls", "quantity": 5 }] }] } }));
    assert_eq!(
        (status, e["code"].as_str(), e["path"].as_str()),
        (400, Some("METERED_PRODUCT"), Some("payload.offerings[0].products[0].productId")),
        "{e}"
    );

    let account = done["customer"]["accountId"].as_str().unwrap().to_owned();
    (a, contract_id, account)
}

fn report(a: &support::TestApp, day: &str, time: &str, events: &Value) -> (u16, Value) {
    let c = Call { app: a, now: support::at(day, time) };
    c.secret("POST", "/api/usage", Some(&json!({ "events": events })))
}

/// Delivers what the queue holds to its consumer, as Cloudflare Queues would (`times` deliveries).
fn deliver(a: &support::TestApp, day: &str, times: usize) -> usize {
    let messages = a.usage.take();
    let mut stored = 0;
    for _ in 0..times {
        stored += pollster::block_on(edge::usecases::store_usage::run(&a.db, &messages, &now(day))).unwrap();
    }
    stored
}

fn event(id: &str, contract: &str, product: &str, quantity: Value, timestamp: &str) -> Value {
    json!({ "id": id, "contractId": contract, "productId": product, "quantity": quantity, "timestamp": timestamp })
}

#[test]
fn usage_is_checked_queued_stored_once_and_billed_at_the_period_end() {
    let (a, contract, account) = signed();
    let events = json!([
        event("evt_1", &contract, "prod_api_calls", json!(120_000), "2026-11-25T10:00:00Z"),
        event("evt_1", &contract, "prod_api_calls", json!(120_000), "2026-11-25T10:00:00Z"),
        event("evt_2", "ctr_none", "prod_api_calls", json!(1), "2026-11-25T10:00:00Z"),
        event("evt_3", &contract, "prod_api_platform", json!(1), "2026-11-25T10:00:00Z"),
        event("evt_4", &contract, "prod_api_calls", json!(1), "2026-11-20T10:00:00Z"),
        event("evt_5", &contract, "prod_api_calls", json!(1), "2026-12-10T12:10:00Z"),
        json!({ "id": "evt_6", "contractId": contract, "productId": "prod_api_calls", "timestamp": "2026-11-25T10:00:00Z" }),
        // 23:30 in New York on Dec 1 is Dec 2 in UTC: the usage day.
        event("evt_7", &contract, "prod_api_calls", json!("30000"), "2026-12-01T23:30:00-05:00"),
    ]);
    let (status, answer) = report(&a, "2026-12-10", "12:00:00", &events);
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        (answer["accepted"].as_u64(), answer["duplicates"].as_u64(), answer["rejected"].as_u64()),
        (Some(2), Some(1), Some(5)),
        "{answer}"
    );
    let outcome = |i: usize| {
        let e = &answer["events"][i];
        (
            e["status"].as_str().unwrap().to_owned(),
            e["code"].as_str().map(str::to_owned),
            e["path"].as_str().map(str::to_owned),
        )
    };
    let rejected = |code: &str, path: &str| ("rejected".to_owned(), Some(code.to_owned()), Some(path.to_owned()));
    assert_eq!(outcome(0).0, "accepted");
    assert_eq!(outcome(1).0, "duplicate", "the same id twice in one request counts once");
    assert_eq!(outcome(2), rejected("UNKNOWN_CONTRACT", "events[2].contractId"));
    assert_eq!(outcome(3), rejected("NOT_METERED", "events[3].productId"));
    assert_eq!(outcome(4), rejected("NOT_ON_CONTRACT", "events[4].timestamp"));
    assert_eq!(outcome(5), rejected("TIMESTAMP_IN_FUTURE", "events[5].timestamp"));
    assert_eq!(outcome(6), rejected("MISSING_FIELD", "events[6].quantity"));
    assert_eq!(outcome(7).0, "accepted");

    // Nothing is stored until the consumer runs; delivered twice, stored once.
    assert_eq!(a.db.count("usage_events"), 0);
    assert_eq!(deliver(&a, "2026-12-10", 2), 2);
    assert_eq!(a.db.count("usage_events"), 2);
    let (_, again) = report(
        &a,
        "2026-12-10",
        "12:05:00",
        &json!([event("evt_1", &contract, "prod_api_calls", json!(5), "2026-11-26T00:00:00Z")]),
    );
    assert_eq!(again["events"][0]["status"], "duplicate", "an id stored before counts once, forever: {again}");

    // An event accepted before the run, stored after it billed its period: late, never billed.
    let (_, late) = report(
        &a,
        "2026-12-21",
        "12:00:00",
        &json!([event("evt_8", &contract, "prod_api_calls", json!(1_000_000), "2026-12-20T08:00:00Z")]),
    );
    assert_eq!(late["accepted"], 1, "{late}");
    let run = run_billing(&a, "2026-12-22");
    assert_eq!(run["invoicesIssued"], 1, "{run}");
    assert_eq!(deliver(&a, "2026-12-22", 1), 1);
    let rows = a.db.rows("SELECT late FROM usage_events WHERE id = 'evt_8'");
    assert_eq!(rows[0]["late"], "PERIOD_BILLED_BEFORE_STORED");

    // [11-22, 12-22): 150 000 calls, the first 10 000 free: 280.00, before the next period's fee.
    let (_, list) =
        Call { app: &a, now: now("2026-12-22") }.secret("GET", &format!("/api/accounts/{account}/invoices"), None);
    let invoice = &list["data"][0];
    assert_eq!(invoice["invoiceDate"], "2026-12-22");
    let lines: Vec<(String, String, String, String)> = invoice["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["type"].as_str().unwrap().to_owned(),
                l["quantity"].to_string(),
                l["periodStart"].as_str().unwrap().to_owned(),
                l["amount"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            ("USAGE".to_owned(), "150000".to_owned(), "2026-11-22".to_owned(), "280.00".to_owned()),
            ("RECURRING".to_owned(), "1".to_owned(), "2026-12-22".to_owned(), "10.00".to_owned()),
        ],
        "{invoice}"
    );
    let (_, contract_view) =
        Call { app: &a, now: now("2026-12-22") }.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert_eq!(contract_view["offerings"][0]["meteredThrough"], "2026-12-22");

    // The usage view: the billed period, the current one so far (7 000 calls, inside the
    // free tier: 0.00), the late event with its reason.
    let (_, more) = report(
        &a,
        "2026-12-23",
        "12:00:00",
        &json!([event("evt_10", &contract, "prod_api_calls", json!(7000), "2026-12-23T09:00:00Z")]),
    );
    assert_eq!(more["accepted"], 1, "{more}");
    deliver(&a, "2026-12-23", 1);
    let c = Call { app: &a, now: now("2026-12-23") };
    let (status, view) = c.secret("GET", &format!("/api/contracts/{contract}/usage"), None);
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (
            view["current"][0]["periodStart"].as_str(),
            view["current"][0]["quantity"].to_string(),
            view["current"][0]["amount"].to_string()
        ),
        (Some("2026-12-22"), "7000".to_owned(), "0.00".to_owned()),
        "{view}"
    );
    // At this pace (7 000 in 2 of the period's 31 days): 108 500 calls, 197.00.
    let projected = &view["current"][0]["projected"];
    assert_eq!(
        (projected["quantity"].to_string(), projected["amount"].to_string()),
        ("108500".to_owned(), "197.00".to_owned())
    );
    assert_eq!(
        (view["billed"][0]["quantity"].to_string(), view["billed"][0]["amount"].to_string()),
        ("150000".to_owned(), "280.00".to_owned())
    );
    assert_eq!(
        (view["late"][0]["id"].as_str(), view["late"][0]["reason"].as_str()),
        (Some("evt_8"), Some("PERIOD_BILLED_BEFORE_STORED"))
    );
    // Its own customer token sees it; another account's token sees nothing of it (404).
    let mut someone = customer_json();
    someone["email"] = json!("someone@else.test");
    let (status, theirs) = c.secret(
        "POST",
        "/api/selfService/signup",
        Some(&json!({ "action": "CREATE_AND_FINALIZE", "customer": someone,
                      "quote": { "startDate": "2026-12-23", "offerings": [{ "offeringId": "offr_team", "rateId": "rate_team_monthly" }] },
                      "billGroup": { "collectInvoiceBalanceAutomatically": false } })),
    );
    assert_eq!(status, 201, "{theirs}");
    for (owner, expected) in [(account.as_str(), 200), (theirs["customer"]["accountId"].as_str().unwrap(), 404)] {
        let (_, token) = c.secret("POST", "/api/customerTokens", Some(&json!({ "accountId": owner })));
        let r = c.send(
            "GET",
            &format!("/api/contracts/{contract}/usage"),
            Some(support::text(&token["token"]).as_str()),
            None,
            &[],
        );
        assert_eq!(r.status, expected, "{}", r.body);
    }

    // The next period's usage is billed at its end too: its claim is apart from the
    // platform fee of the same start, charged in advance a month before.
    let (_, jan) = report(
        &a,
        "2027-01-05",
        "12:00:00",
        &json!([event("evt_11", &contract, "prod_api_calls", json!(20_000), "2027-01-05T08:00:00Z")]),
    );
    assert_eq!(jan["accepted"], 1, "{jan}");
    deliver(&a, "2027-01-05", 1);
    let run = run_billing(&a, "2027-01-22");
    assert_eq!(run["invoicesIssued"], 1);
    // The first run after the late event was stored lists it, with its reason; later runs do not.
    assert_eq!(
        (run["lateUsage"][0]["id"].as_str(), run["lateUsage"][0]["reason"].as_str()),
        (Some("evt_8"), Some("PERIOD_BILLED_BEFORE_STORED")),
        "{run}"
    );
    assert_eq!(run_billing(&a, "2027-01-22")["lateUsage"], json!([]));
    let (_, list) =
        Call { app: &a, now: now("2027-01-22") }.secret("GET", &format!("/api/accounts/{account}/invoices"), None);
    let usage_line =
        list["data"][0]["items"].as_array().unwrap().iter().find(|l| l["type"] == "USAGE").cloned().unwrap_or_default();
    assert_eq!(
        (usage_line["periodStart"].as_str(), usage_line["quantity"].to_string(), usage_line["amount"].to_string()),
        (Some("2026-12-22"), "27000".to_owned(), "34.00".to_owned()),
        "{}",
        list["data"][0]
    );

    // The billed period takes no more usage.
    let (_, refused) = report(
        &a,
        "2026-12-23",
        "12:00:00",
        &json!([event("evt_9", &contract, "prod_api_calls", json!(1), "2026-12-05T00:00:00Z")]),
    );
    assert_eq!(refused["events"][0]["code"], "PERIOD_ALREADY_BILLED", "{refused}");
}

#[test]
fn a_request_over_a_thousand_events_or_the_queue_down_accepts_nothing() {
    let (a, contract, _) = signed();
    let many: Vec<Value> = (0..1001)
        .map(|i| event(&format!("e{i}"), &contract, "prod_api_calls", json!(1), "2026-11-25T10:00:00Z"))
        .collect();
    let (status, e) = report(&a, "2026-12-10", "12:00:00", &json!(many));
    assert_eq!((status, e["code"].as_str(), e["path"].as_str()), (400, Some("INVALID_VALUE"), Some("events")), "{e}");
    // A thousand is fine, and bodies up to 1 MB are read on this route.
    let (status, ok) = report(&a, "2026-12-10", "12:00:00", &json!(&many[..1000]));
    assert_eq!((status, ok["accepted"].as_u64()), (202, Some(1000)));
    assert_eq!(a.usage.take().len(), 10, "100 events per message");
}

#[test]
fn the_queue_unreachable_accepts_nothing_and_the_same_events_again_are_safe() {
    let (mut a, contract, _) = signed();
    let down = edge::queue::MemoryQueue::default();
    *down.fail_next.borrow_mut() = true;
    a.usage = Box::new(down);
    let events = json!([event("evt_a", &contract, "prod_api_calls", json!(7), "2026-11-25T10:00:00Z")]);
    let (status, e) = report(&a, "2026-12-10", "12:00:00", &events);
    assert_eq!((status, e["code"].as_str()), (503, Some("USAGE_QUEUE_UNAVAILABLE")), "{e}");
    assert!(a.usage.take().is_empty());
    let (status, ok) = report(&a, "2026-12-10", "12:01:00", &events);
    assert_eq!((status, ok["accepted"].as_u64()), (202, Some(1)), "{ok}");
}

#[test]
fn a_consumer_batch_that_fails_stores_nothing_and_its_redelivery_stores_each_event_once() {
    let (a, contract, _) = signed();
    let events: Vec<Value> = (0..250)
        .map(|i| event(&format!("f{i}"), &contract, "prod_api_calls", json!(i), "2026-11-25T10:00:00Z"))
        .collect();
    let (status, answer) = report(&a, "2026-12-10", "12:00:00", &json!(events));
    assert_eq!((status, answer["accepted"].as_u64()), (202, Some(250)));
    let messages = a.usage.take();
    assert_eq!(messages.len(), 3);
    // D1 fails in the middle of the consumer's batch: nothing of it is written.
    // D1 fails at the batch's last statement (the day's aggregate): nothing of it is written.
    a.db.fail_next_batch_with("INSERT INTO usage_days");
    assert!(pollster::block_on(edge::usecases::store_usage::run(&a.db, &messages, &now("2026-12-10"))).is_err());
    assert_eq!((a.db.count("usage_events"), a.db.count("usage_days")), (0, 0));
    // Redelivered (twice, as at-least-once delivery may): each event once, in one aggregate part.
    let stored: Vec<usize> = (0..2)
        .map(|_| pollster::block_on(edge::usecases::store_usage::run(&a.db, &messages, &now("2026-12-10"))).unwrap())
        .collect();
    assert_eq!(stored, [250, 0]);
    assert_eq!((a.db.count("usage_events"), a.db.count("usage_days")), (250, 1));
    let day: Vec<Value> =
        a.db.rows("SELECT day, total, peak, events FROM usage_days").into_iter().map(Value::Object).collect();
    assert_eq!(day, vec![json!({ "day": "2026-11-25", "total": "31125", "peak": "249", "events": 250 })]);
    // Resent in other groupings (a copy of some, new ones beside them): only the new ones count.
    let (_, answer) = report(
        &a,
        "2026-12-10",
        "12:10:00",
        &json!([
            event("f7", &contract, "prod_api_calls", json!(7), "2026-11-25T10:00:00Z"),
            event("g1", &contract, "prod_api_calls", json!("0.5"), "2026-11-25T11:00:00Z"),
        ]),
    );
    assert_eq!((answer["accepted"].as_u64(), answer["duplicates"].as_u64()), (Some(1), Some(1)));
    let mut again = a.usage.take();
    again.extend(messages.iter().take(1).cloned());
    assert_eq!(pollster::block_on(edge::usecases::store_usage::run(&a.db, &again, &now("2026-12-10"))).unwrap(), 1);
    let totals: Vec<Value> =
        a.db.rows("SELECT total, events FROM usage_days ORDER BY events").into_iter().map(Value::Object).collect();
    assert_eq!(totals, vec![json!({ "total": "0.5", "events": 1 }), json!({ "total": "31125", "events": 250 })]);
}

/// The invoice of 2026-12-22: its usage line's quantity and amount, if it has one.
fn usage_line(a: &support::TestApp, account: &str) -> Option<(String, String)> {
    let (_, list) =
        Call { app: a, now: now("2026-12-22") }.secret("GET", &format!("/api/accounts/{account}/invoices"), None);
    let invoices = list["data"].as_array().unwrap();
    let billed: Vec<&Value> = invoices.iter().filter(|i| i["invoiceDate"] == "2026-12-22").collect();
    assert_eq!(billed.len(), 1, "one invoice on the period's end: {list}");
    let line = billed[0]["items"].as_array().unwrap().iter().find(|l| l["type"] == "USAGE")?;
    Some((line["quantity"].to_string(), line["amount"].to_string()))
}

#[test]
fn a_run_that_bills_the_contract_between_the_consumers_read_and_write_leaves_its_events_late_not_lost() {
    let (a, contract, account) = signed();
    let (_, answer) = report(
        &a,
        "2026-12-21",
        "12:00:00",
        &json!([event("race_1", &contract, "prod_api_calls", json!(30_000), "2026-12-21T10:00:00Z")]),
    );
    assert_eq!(answer["accepted"], 1, "{answer}");
    let messages = a.usage.take();
    // The consumer reads the contract (the period not billed yet); before its
    // batch is written, another writer claims the contract's next version (here
    // by hand; in production the day's billing run).
    a.db.write_before_next_batch_with(
        "INSERT INTO usage_days",
        &format!("UPDATE contracts SET version = version + 1 WHERE id = '{contract}'"),
    );
    let first = pollster::block_on(edge::usecases::store_usage::run(&a.db, &messages, &now("2026-12-22")));
    assert_eq!(first.err().map(|e| e.status), Some(409), "the batch fails whole (a conflict), to be retried");
    assert_eq!((a.db.count("usage_events"), a.db.count("usage_days")), (0, 0));
    // The run bills the period without the event, which is not stored yet...
    assert_eq!(run_billing(&a, "2026-12-22")["invoicesIssued"], 1);
    // ...and the redelivered batch finds the period billed: the event is kept late, in no aggregate.
    assert_eq!(pollster::block_on(edge::usecases::store_usage::run(&a.db, &messages, &now("2026-12-22"))).unwrap(), 1);
    let rows = a.db.rows("SELECT late FROM usage_events WHERE id = 'race_1'");
    assert_eq!(rows[0]["late"], "PERIOD_BILLED_BEFORE_STORED");
    assert_eq!(a.db.count("usage_days"), 0);
    assert_eq!(usage_line(&a, &account), None, "no usage billed: the period had none when it was billed");
    let late = run_billing(&a, "2026-12-23")["lateUsage"].clone();
    assert_eq!(late.as_array().map(|l| l.iter().map(|e| e["id"].clone()).collect()), Some(vec![json!("race_1")]));
}

#[test]
fn events_stored_between_the_runs_read_of_usage_and_its_invoice_are_billed_with_it_by_a_second_pass() {
    let (a, contract, account) = signed();
    let (_, answer) = report(
        &a,
        "2026-12-21",
        "12:00:00",
        &json!([event("seen_1", &contract, "prod_api_calls", json!(20_000), "2026-12-21T10:00:00Z")]),
    );
    assert_eq!(answer["accepted"], 1, "{answer}");
    assert_eq!(deliver(&a, "2026-12-21", 1), 1);
    // Another consumer stores 5 000 more calls for the same day after the run
    // read the contract's usage, before its invoice is written.
    a.db.write_before_next_batch_with(
        "INSERT INTO invoices",
        &format!(
            "INSERT INTO usage_events (account_id, id, contract_id, product_id, day, quantity, timestamp, received_at, \
         stored_at) VALUES ('{account}', 'seen_2', '{contract}', 'prod_api_calls', '2026-12-21', '5000', '2026-12-21T11:00:00Z', \
         '2026-12-21T11:00:01Z', '2026-12-21T11:00:02Z'); \
         INSERT INTO usage_days (contract_id, day, product_id, part, total, peak, events) \
         VALUES ('{contract}', '2026-12-21', 'prod_api_calls', 'seen_2', '5000', '5000', 1)"
        ),
    );
    // The invoice priced without the new calls is not written; the run bills
    // the contract once more from what is stored: 25 000 calls, 15 000 past
    // the included 10 000 at 0.002.
    let run = run_billing(&a, "2026-12-22");
    assert_eq!(run["invoicesIssued"], 1, "{run}");
    assert_eq!(usage_line(&a, &account), Some(("25000".to_owned(), "30.00".to_owned())));
    assert_eq!(run_billing(&a, "2026-12-22")["invoicesIssued"], 0, "billed once");
}

#[test]
fn events_of_the_new_period_stored_while_the_run_bills_the_last_one_do_not_hold_its_invoice() {
    let (a, contract, account) = signed();
    let (_, answer) = report(
        &a,
        "2026-12-21",
        "12:00:00",
        &json!([event("old_1", &contract, "prod_api_calls", json!(20_000), "2026-12-21T10:00:00Z")]),
    );
    assert_eq!(answer["accepted"], 1, "{answer}");
    assert_eq!(deliver(&a, "2026-12-21", 1), 1);
    // Calls of the run's own day (the new period) keep arriving while it bills.
    a.db.write_before_next_batch_with(
        "INSERT INTO invoices",
        &format!(
            "INSERT INTO usage_days (contract_id, day, product_id, part, total, peak, events) \
         VALUES ('{contract}', '2026-12-22', 'prod_api_calls', 'new_1', '700', '700', 1)"
        ),
    );
    assert_eq!(run_billing(&a, "2026-12-22")["invoicesIssued"], 1);
    assert_eq!(usage_line(&a, &account), Some(("20000".to_owned(), "20.00".to_owned())));
}

/// The usage before an immediate cancellation is billed at the end of its
/// period, with nothing else: the platform fee was paid in advance by the run
/// that billed the period's start, and the kept piece starts that same day.
#[test]
fn usage_before_an_immediate_cancellation_is_billed_at_its_period_end_and_prepaid_fees_are_not_billed_again() {
    let (a, contract, account) = signed();
    // The run of 12-22 bills the second period's fee in advance (claiming its start).
    assert_eq!(run_billing(&a, "2026-12-22")["invoicesIssued"], 1);
    let (_, answer) = report(
        &a,
        "2027-01-05",
        "12:00:00",
        &json!([
            event("cut_1", &contract, "prod_api_calls", json!(40_000), "2026-12-25T10:00:00Z"),
            event("cut_2", &contract, "prod_api_calls", json!(15_000), "2027-01-04T10:00:00Z")
        ]),
    );
    assert_eq!(answer["accepted"], 2, "{answer}");
    assert_eq!(deliver(&a, "2027-01-05", 1), 2);
    let c = Call { app: &a, now: now("2027-01-05") };
    let (status, canceled) = c.change(&json!({ "action": "CANCELLATION", "contractId": contract, "payload": null }));
    assert_eq!(status, 200, "{canceled}");
    let (_, stored) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert_eq!(stored["status"], "CANCELED", "{stored}");
    assert_eq!(
        stored["unbilledArrears"][0]["products"],
        json!([{ "productId": "prod_api_calls", "metered": true }]),
        "the platform fee was paid on 12-22: only the usage is kept"
    );
    assert_eq!(run_billing(&a, "2027-01-21")["invoicesIssued"], 0, "owed at the period's end, not before");
    let run = run_billing(&a, "2027-01-22");
    assert_eq!(run["invoicesIssued"], 1, "{run}");
    assert_eq!(run["failedContracts"], json!([]), "{run}");
    let (_, list) = c.secret("GET", &format!("/api/accounts/{account}/invoices"), None);
    let billed: Vec<&Value> =
        list["data"].as_array().unwrap().iter().filter(|i| i["invoiceDate"] == "2027-01-22").collect();
    assert_eq!(billed.len(), 1, "{list}");
    let lines: Vec<(String, String, String)> = billed[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["productId"].as_str().unwrap().to_owned(),
                l["type"].as_str().unwrap().to_owned(),
                l["amount"].to_string(),
            )
        })
        .collect();
    // 55 000 calls, 45 000 past the included 10 000 at 0.002: 90.00; no platform fee.
    assert_eq!(lines, [("prod_api_calls".to_owned(), "USAGE".to_owned(), "90.00".to_owned())]);
    let (_, after) = c.secret("GET", &format!("/api/contracts/{contract}"), None);
    assert!(after.get("unbilledArrears").is_none(), "billed pieces are removed: {after}");
    assert_eq!(run_billing(&a, "2027-01-23")["invoicesIssued"], 0, "billed once");
}

/// Another API contract, for another account, in the same app: its id and account.
fn another_signed(a: &support::TestApp) -> (String, String) {
    let c = Call { app: a, now: now(TODAY) };
    let (status, done) = c.secret(
        "POST",
        "/api/selfService/signup",
        Some(&json!({ "action": "CREATE_AND_FINALIZE", "customer": customer_json(), "quote": quote(250_000),
                      "billGroup": { "collectInvoiceBalanceAutomatically": false } })),
    );
    assert_eq!(status, 201, "{done}");
    (support::text(&done["contract"]["id"]), support::text(&done["customer"]["accountId"]))
}

#[test]
fn the_same_event_id_sent_for_two_accounts_is_two_events_each_billed_once() {
    let (a, first, first_account) = signed();
    let (second, second_account) = another_signed(&a);
    assert_ne!(first_account, second_account);
    // Each vendor-side system numbers its own events: both send "evt_1".
    let events = json!([
        event("evt_1", &first, "prod_api_calls", json!(20_000), "2026-12-21T10:00:00Z"),
        event("evt_1", &second, "prod_api_calls", json!(30_000), "2026-12-21T10:00:00Z"),
    ]);
    let (status, answer) = report(&a, "2026-12-21", "12:00:00", &events);
    assert_eq!(
        (status, answer["accepted"].as_u64(), answer["duplicates"].as_u64()),
        (202, Some(2), Some(0)),
        "{answer}"
    );
    // Redelivered, and sent again: nothing twice, per account.
    assert_eq!(deliver(&a, "2026-12-21", 2), 2);
    let (_, again) = report(&a, "2026-12-21", "12:05:00", &events);
    assert_eq!((again["accepted"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(2)), "{again}");
    assert_eq!(a.db.count("usage_events"), 2);
    // A message queued before events carried their account is stored under its contract's.
    let old_message = json!([{ "id": "evt_2", "contractId": second, "productId": "prod_api_calls", "day": "2026-12-21",
        "quantity": "1000", "timestamp": "2026-12-21T11:00:00Z", "receivedAt": "2026-12-21T11:00:01Z" }]);
    let stored =
        pollster::block_on(edge::usecases::store_usage::run(&a.db, &[old_message.to_string()], &now("2026-12-21")));
    assert_eq!(stored.unwrap(), 1);
    let rows = a.db.rows("SELECT account_id FROM usage_events WHERE id = 'evt_2'");
    assert_eq!(rows[0]["account_id"], json!(second_account));

    run_billing(&a, "2026-12-22");
    // 20 000 calls: 10 000 past the included at 0.002; 31 000: 21 000 past.
    assert_eq!(usage_line(&a, &first_account), Some(("20000".to_owned(), "20.00".to_owned())));
    assert_eq!(usage_line(&a, &second_account), Some(("31000".to_owned(), "42.00".to_owned())));
}
