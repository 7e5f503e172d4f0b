//! Loud reads: a stored amount, date, quantity, status or body that does not
//! read as its column's type is never read as zero, "not found" or a skipped
//! row. In a billing run its contract is reported (`STORED_DATA_UNREADABLE`,
//! the column named) and the others are billed; anywhere else the request
//! answers 500 naming the column, with the cause logged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

mod support;

use serde_json::{Value, json};
use support::{Call, billing_app, customer_json, now, run_billing, text};

const TODAY: &str = "2026-11-22";

/// A contract of the API plan (a 10.00 platform fee and metered calls) on
/// its own account, not charged to a card: its id and account.
fn api_contract(a: &support::TestApp) -> (String, String) {
    let c = Call { app: a, now: now(TODAY) };
    let quote = json!({ "startDate": TODAY, "offerings": [{ "offeringId": "offr_api", "rateId": "rate_api_monthly",
        "items": [{ "productId": "prod_api_platform", "quantity": 1 }, { "productId": "prod_api_calls", "quantity": 0 }] }] });
    let (status, done) = c.secret(
        "POST",
        "/api/selfService/signup",
        Some(&json!({ "action": "CREATE_AND_FINALIZE", "customer": customer_json(), "quote": quote,
                      "billGroup": { "collectInvoiceBalanceAutomatically": false } })),
    );
    assert_eq!(status, 201, "{done}");
    (text(&done["contract"]["id"]), text(&done["customer"]["accountId"]))
}

/// Two API contracts with 20 000 calls each on 2026-12-01.
fn two_with_usage() -> (support::TestApp, [(String, String); 2]) {
    let a = billing_app();
    let both = [api_contract(&a), api_contract(&a)];
    let events: Vec<Value> = both
        .iter()
        .enumerate()
        .map(|(i, (contract, _))| {
            json!({ "id": format!("evt_{i}"), "contractId": contract,
            "productId": "prod_api_calls", "quantity": 20_000, "timestamp": "2026-12-01T10:00:00Z" })
        })
        .collect();
    let c = Call { app: &a, now: support::at("2026-12-01", "12:00:00") };
    let (status, answer) = c.secret("POST", "/api/usage", Some(&json!({ "events": events })));
    assert_eq!((status, answer["accepted"].as_u64()), (202, Some(2)), "{answer}");
    let messages = a.usage.take();
    pollster::block_on(edge::usecases::store_usage::run(&a.db, &messages, &now("2026-12-01"))).unwrap();
    (a, both)
}

/// Corrupts what `sql` sets on the first contract (`{c}`, `{a}`: its id and
/// account), runs billing on 2026-12-22, and checks the report names `column`
/// for it while the second contract is billed as usual.
fn run_reports(sql: &str, column: &str) {
    let (a, [(first, first_account), (second, _)]) = two_with_usage();
    a.db.exec(&sql.replace("{c}", &first).replace("{a}", &first_account));
    let report = run_billing(&a, "2026-12-22");
    let failed = report["failedContracts"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{column}: {report}");
    assert_eq!(
        (failed[0]["contractId"].as_str(), failed[0]["code"].as_str(), failed[0]["path"].as_str()),
        (Some(first.as_str()), Some("STORED_DATA_UNREADABLE"), Some(column)),
        "{report}"
    );
    assert_eq!(report["invoicesIssued"], 1, "{column}: the other contract is billed: {report}");
    let invoices = a.db.rows("SELECT contract_id, amount_without_tax FROM invoices WHERE invoice_date = '2026-12-22'");
    assert_eq!(invoices.len(), 1, "{column}");
    // The platform fee of the next period and 10 000 calls past the included 10 000 at 0.002.
    assert_eq!(
        (invoices[0]["contract_id"].as_str(), invoices[0]["amount_without_tax"].as_str()),
        (Some(second.as_str()), Some("30.00"))
    );
}

#[test]
fn a_contract_whose_stored_body_does_not_read_is_reported_by_the_run_and_the_others_billed() {
    run_reports("UPDATE contracts SET body = 'not json' WHERE id = '{c}'", "contracts.body");
    run_reports("UPDATE contracts SET body = '[1, 2]' WHERE id = '{c}'", "contracts.body");
    run_reports(r#"UPDATE contracts SET body = json_set(body, '$.offerings', 5) WHERE id = '{c}'"#, "contracts.body");
    run_reports(
        r#"UPDATE contracts SET body = json_set(body, '$.offerings[0].meteredThrough', '2026-13-45') WHERE id = '{c}'"#,
        "contracts.body",
    );
    run_reports("UPDATE contracts SET version = 'seven' WHERE id = '{c}'", "contracts.version");
}

#[test]
fn an_unreadable_credit_balance_or_usage_part_is_reported_never_read_as_zero() {
    run_reports("UPDATE accounts SET credit_balance = 'plenty' WHERE id = '{a}'", "accounts.credit_balance");
    run_reports("UPDATE accounts SET billing_address = '{' WHERE id = '{a}'", "accounts.billing_address");
    run_reports("UPDATE usage_days SET total = '2O000' WHERE contract_id = '{c}'", "usage_days.total");
    run_reports("UPDATE usage_days SET day = '2026-12-0x' WHERE contract_id = '{c}'", "usage_days.day");
}

/// `GET path` (secret key) after `sql` answers 500 naming `column`.
fn answers_500(a: &support::TestApp, sql: &str, path: &str, column: &str) {
    a.db.exec(sql);
    let (status, e) = Call { app: a, now: now("2026-12-22") }.secret("GET", path, None);
    assert_eq!(
        (status, e["code"].as_str(), e["path"].as_str()),
        (500, Some("STORED_DATA_UNREADABLE"), Some(column)),
        "{sql}: {e}"
    );
}

#[test]
fn elsewhere_an_unreadable_stored_value_answers_500_naming_the_column() {
    let (a, [(contract, account), (second, _)]) = two_with_usage();
    run_billing(&a, "2026-12-22");
    let cases: Vec<(String, String, &str)> = vec![
        (
            format!("UPDATE accounts SET credit_balance = '1,00' WHERE id = '{account}'"),
            format!("/api/accounts/{account}"),
            "accounts.credit_balance",
        ),
        (
            format!(
                "UPDATE accounts SET credit_balance = '0' WHERE id = '{account}'; UPDATE bill_groups SET collect_automatically = 7 WHERE account_id = '{account}'"
            ),
            format!("/api/accounts/{account}"),
            "bill_groups.collect_automatically",
        ),
        (
            format!("UPDATE contracts SET status = 'PAUSED' WHERE id = '{contract}'"),
            format!("/api/contracts/{contract}"),
            "contracts.status",
        ),
        (
            format!("UPDATE contracts SET status = 'ACTIVE', body = '{{' WHERE id = '{contract}'"),
            format!("/api/contracts/{contract}"),
            "contracts.body",
        ),
    ];
    for (sql, path, column) in &cases {
        answers_500(&a, sql, path, column);
    }
    // A late usage event whose quantity does not read: the contract's usage view fails loudly.
    let late = format!(
        "INSERT INTO usage_events (account_id, id, contract_id, product_id, day, quantity, timestamp, received_at, stored_at, late) \
         SELECT account_id, 'evt_late', id, 'prod_api_calls', '2026-12-05', 'lots', '2026-12-05T00:00:00Z', \
         '2026-12-05T00:00:00Z', '2026-12-22T00:00:00Z', 'PERIOD_BILLED_BEFORE_STORED' FROM contracts WHERE id = '{second}'"
    );
    answers_500(&a, &late, &format!("/api/contracts/{second}/usage"), "usage_events.quantity");
    let invoice = text(&a.db.rows("SELECT id FROM invoices WHERE invoice_date = '2026-12-22' LIMIT 1")[0]["id"]);
    let path = format!("/api/invoices/{invoice}");
    answers_500(
        &a,
        &format!("UPDATE invoices SET amount_due = 'ten' WHERE id = '{invoice}'"),
        &path,
        "invoices.amount_due",
    );
    answers_500(
        &a,
        &format!("UPDATE invoices SET amount_due = '0', body = 'null' WHERE id = '{invoice}'"),
        &path,
        "invoices.body",
    );
}

#[test]
fn an_unreadable_payment_amount_answers_500_on_its_invoice() {
    let a = billing_app();
    let c = Call { app: &a, now: now(TODAY) };
    let done = support::paying_customer(&c, 3, false, TODAY);
    let invoice = text(&done["invoice"]["id"]);
    assert_eq!(a.db.count("payments"), 1);
    answers_500(&a, "UPDATE payments SET amount = '12.3.4'", &format!("/api/invoices/{invoice}"), "payments.amount");
}
