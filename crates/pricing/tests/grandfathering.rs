//! Contracts priced on the catalog version they were sold on, kept arrears
//! pieces (one per period piece, billed once at their period's end), and a
//! trial line starting anew that moves the contract's end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use pricing::{Catalog, Catalogs, ErrorCode, NaiveDate, preview_change, preview_change_on};
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn d(s: &str) -> NaiveDate {
    pricing::parse_date(s).unwrap()
}

/// Offerings `team` (seats at `seat` per month, in advance) and `support`
/// (one unit at `support` per month, in arrears), anniversary anchor.
fn catalog_json(seat: &str, support: &str) -> Value {
    json!({
        "currency": "EUR",
        "products": [ { "id": "seats", "name": "Seats", "minQuantity": 1 }, { "id": "unit", "name": "Unit" } ],
        "offerings": [
            { "id": "team", "name": "Team", "productIds": ["seats"], "rates": [
                { "id": "team_m", "name": "Monthly", "billingFrequency": "MONTHLY", "billingTiming": "IN_ADVANCE",
                  "prices": [ { "productId": "seats", "model": "PER_UNIT", "unitAmount": seat } ] },
                { "id": "team_y", "name": "Annual", "billingFrequency": "ANNUALLY", "billingTiming": "IN_ADVANCE",
                  "trialDays": 30, "prices": [ { "productId": "seats", "model": "PER_UNIT", "unitAmount": "100" } ] } ] },
            { "id": "support", "name": "Support", "productIds": ["unit"], "rates": [
                { "id": "support_m", "name": "Monthly", "billingFrequency": "MONTHLY", "billingTiming": "IN_ARREARS",
                  "prices": [ { "productId": "unit", "model": "PER_UNIT", "unitAmount": support } ] } ] }
        ]
    })
}

fn catalog(seat: &str, support: &str) -> Catalog {
    Catalog::from_json(&catalog_json(seat, support)).unwrap()
}

fn line(offering: &str, rate: &str, invoiced_through: &str, products: Value) -> Value {
    json!({ "offeringId": offering, "rateId": rate, "serviceStart": "2027-01-01", "anchorDate": "2027-01-01",
            "anchorDay": 1, "invoicedThrough": invoiced_through, "products": products })
}

fn contract(lines: Vec<Value>) -> Value {
    json!({ "id": "c", "status": "ACTIVE", "currency": "EUR", "startDate": "2027-01-01", "endDate": null,
            "offerings": lines, "catalogVersion": 1 })
}

fn seats(q: u32) -> Value {
    json!([{ "productId": "seats", "quantity": q }])
}

fn amounts(inv: &pricing::Invoice) -> Vec<Decimal> {
    inv.lines.iter().map(|l| l.amount).collect()
}

#[test]
fn a_change_credits_the_old_price_and_charges_the_current_one() {
    let v1 = catalog("10", "31");
    let v2 = catalog("12", "31");
    let c = contract(vec![line("team", "team_m", "2027-02-01", seats(10))]);
    let op = json!({ "action": "QUANTITY_CHANGE", "payload": { "offerings": [ { "offeringId": "team",
        "products": [ { "productId": "seats", "quantity": 20 } ] } ] } });
    let catalogs = Catalogs { current: &v2, contract: &v1, versions: &[] };
    let p = preview_change_on(&catalogs, &c, &op, d("2027-01-16")).unwrap();
    // 16 of 31 days left: credit 10 × 10 × 16/31, charge 20 × 12 × 16/31.
    assert_eq!(amounts(&p.invoice), [Decimal::new(-5161, 2), Decimal::new(12387, 2)]);
    // The same change priced on one catalog credits what the customer paid.
    let same = preview_change(&v1, &c, &op, d("2027-01-16")).unwrap();
    assert_eq!(amounts(&same.invoice), [Decimal::new(-5161, 2), Decimal::new(10323, 2)]);
}

#[test]
fn a_line_the_current_catalog_no_longer_sells_must_change_in_the_same_request() {
    let v1 = catalog("10", "31");
    let mut retired = catalog_json("12", "31");
    retired["offerings"].as_array_mut().unwrap().remove(1);
    let v2 = Catalog::from_json(&retired).unwrap();
    let c = contract(vec![
        line("team", "team_m", "2027-02-01", seats(10)),
        line("support", "support_m", "2027-01-01", json!([{ "productId": "unit", "quantity": 1 }])),
    ]);
    let more_seats = json!({ "action": "QUANTITY_CHANGE", "payload": { "offerings": [ { "offeringId": "team",
        "products": [ { "productId": "seats", "quantity": 11 } ] } ] } });
    let catalogs = Catalogs { current: &v2, contract: &v1, versions: &[] };
    let e = preview_change_on(&catalogs, &c, &more_seats, d("2027-01-16")).unwrap_err();
    assert_eq!((e.code, e.path.as_str()), (ErrorCode::UnknownOffering, "contract.offerings[1].offeringId"));
    // Removing the retired line in the same request works; its used time is kept on the old terms.
    let both = json!({ "operations": [ more_seats, { "action": "REMOVE_OFFERING",
        "payload": { "offerings": [ { "offeringId": "support" } ] } } ] });
    let p = preview_change_on(&catalogs, &c, &both, d("2027-01-16")).unwrap();
    assert_eq!(p.contract.offerings.len(), 1);
    assert_eq!(p.contract.unbilled.len(), 1);
    assert_eq!(p.contract.unbilled[0].catalog_version, Some(1));
    // A cancellation of a retired plan needs nothing of the current catalog.
    let cancel = json!({ "action": "CANCELLATION", "payload": null });
    assert!(preview_change_on(&catalogs, &c, &cancel, d("2027-01-16")).is_ok());
}

#[test]
fn a_kept_piece_is_billed_on_its_own_version_after_the_contract_moves_on() {
    let v1 = catalog("10", "31");
    let v2 = catalog("10", "62");
    let c = contract(vec![line("support", "support_m", "2027-01-01", json!([{ "productId": "unit", "quantity": 1 }]))]);
    let op = json!({ "action": "QUANTITY_CHANGE", "payload": { "offerings": [ { "offeringId": "support",
        "products": [ { "productId": "unit", "quantity": 2 } ] } ] } });
    let catalogs = Catalogs { current: &v2, contract: &v1, versions: &[] };
    let p = preview_change_on(&catalogs, &c, &op, d("2027-01-11")).unwrap();
    let mut after: Value = serde_json::from_str(&pricing::to_json(&p.contract)).unwrap();
    assert_eq!(after["unbilledArrears"][0]["catalogVersion"], 1);
    after["catalogVersion"] = json!(2);
    // The contract is now on version 2; its piece still on version 1.
    let parsed = pricing::Contract::from_json_versioned(&v2, &after, &[(1, &v1)]).unwrap();
    let (periods, _) = pricing::billing::due(&v2, &parsed, d("2027-02-01"), &[]).unwrap();
    let lines: Vec<Decimal> = periods.iter().flat_map(|p| p.lines.iter().map(|l| l.amount)).collect();
    // The line in force: 2 × 62 × 21/31 = 84.00; then the piece: 1 × 31 × 10/31 = 10.00.
    assert_eq!(lines, [Decimal::new(8400, 2), Decimal::new(1000, 2)]);
}

#[test]
fn a_kept_piece_spanning_a_boundary_is_kept_per_period_and_billed_whole() {
    let v1 = catalog("10", "31");
    // The run has not billed January yet when the unit count changes on Feb 10.
    let c = contract(vec![line("support", "support_m", "2027-01-01", json!([{ "productId": "unit", "quantity": 1 }]))]);
    let op = json!({ "action": "QUANTITY_CHANGE", "payload": { "offerings": [ { "offeringId": "support",
        "products": [ { "productId": "unit", "quantity": 3 } ] } ] } });
    let p = preview_change(&v1, &c, &op, d("2027-02-10")).unwrap();
    let pieces: Vec<(String, String)> =
        p.contract.unbilled.iter().map(|u| (u.start.to_string(), u.end.to_string())).collect();
    assert_eq!(
        pieces,
        [("2027-01-01".into(), "2027-02-01".into()), ("2027-02-01".into(), "2027-02-10".into())],
        "one piece per period piece"
    );
    let json: Value = serde_json::from_str(&pricing::to_json(&p.contract)).unwrap();
    let billing = pricing::billing::bill(&v1, &json, d("2027-03-01"), &[]).unwrap();
    let dates: Vec<String> = billing.invoices.iter().map(|i| i.invoice_date.to_string()).collect();
    assert_eq!(dates, ["2027-02-01", "2027-03-01"]);
    // January whole (31.00), then February: 3 × 31 × 19/28 line, 1 × 31 × 9/28 piece.
    assert_eq!(amounts(&billing.invoices[0]), [Decimal::new(3100, 2)]);
    assert_eq!(amounts(&billing.invoices[1]), [Decimal::new(6311, 2), Decimal::new(996, 2)]);
    assert!(billing.contract.unbilled.is_empty(), "billed pieces are removed");
}

#[test]
fn a_piece_stored_across_a_boundary_by_an_older_version_is_billed_to_its_last_day() {
    let v1 = catalog("10", "31");
    let mut c = contract(vec![]);
    c["status"] = json!("CANCELED");
    c["endDate"] = json!("2027-02-10");
    c["unbilledArrears"] = json!([{ "offeringId": "support", "rateId": "support_m", "serviceStart": "2027-01-01",
        "anchorDate": "2027-01-01", "anchorDay": 1, "start": "2027-01-01", "end": "2027-02-10",
        "products": [ { "productId": "unit", "quantity": 1 } ] }]);
    let billing = pricing::billing::bill(&v1, &c, d("2027-03-01"), &[]).unwrap();
    let total: Decimal = billing.invoices.iter().map(|i| i.amount_without_tax).sum();
    // 31.00 for January and 31 × 9/28 = 9.96 for February: nothing dropped.
    assert_eq!(total, Decimal::new(4096, 2));
    assert!(billing.contract.unbilled.is_empty());
}

#[test]
fn a_trial_line_starting_anew_moves_the_end_to_cover_its_first_period() {
    let v1 = catalog("10", "31");
    let c = json!({ "id": "c", "status": "ACTIVE", "currency": "EUR", "startDate": "2027-01-01",
        "endDate": "2027-03-01", "offerings": [ { "offeringId": "team", "rateId": "team_y",
        "serviceStart": "2027-01-31", "anchorDay": 31, "invoicedThrough": "2027-01-31", "products": seats(2) } ] });
    let op = json!({ "action": "RATE_CHANGE", "payload": { "offerings": [ { "offeringId": "team", "rateId": "team_m" } ] } });
    let p = preview_change(&v1, &c, &op, d("2027-01-10")).unwrap();
    assert!(p.invoice.lines.is_empty(), "in trial, nothing is charged");
    // Monthly from the trial's end (Jan 31): the first period ends Feb 28, before the end: unchanged.
    assert_eq!(p.contract.end_date, Some(d("2027-03-01")));
    let mut short = c.clone();
    short["endDate"] = json!("2027-02-15");
    let p = preview_change(&v1, &short, &op, d("2027-01-10")).unwrap();
    assert_eq!(p.contract.end_date, Some(d("2027-02-28")), "the end moves to the first period's end");
}

fn resumed(
    c: &Catalog,
    contract: &Value,
    voided: &[(&str, &str)],
    suspended: &str,
    resumed: &str,
) -> (Vec<(String, String, Decimal)>, pricing::Contract) {
    let parsed = pricing::Contract::from_json(c, contract).unwrap();
    let voided: Vec<pricing::billing::VoidedPeriod> = voided
        .iter()
        .map(|(o, s)| pricing::billing::VoidedPeriod { offering_id: (*o).to_owned(), period_start: d(s), usage: false })
        .collect();
    let unbilled = pricing::billing::unbill(&parsed, &voided, &[]);
    let (periods, after) = pricing::billing::resume(c, &unbilled, d(suspended), d(resumed), &[]).unwrap();
    assert!(periods.iter().all(|p| p.invoice_date == d(resumed)));
    let lines = periods
        .iter()
        .flat_map(|p| p.lines.iter().map(|l| (l.period_start.to_string(), l.period_end.to_string(), l.amount)))
        .collect();
    (lines, after)
}

#[test]
fn a_resumed_contract_pays_the_days_before_its_suspension_and_from_the_resume_date_never_between() {
    let v1 = catalog("12", "31");
    // 10 seats at 12 a month; May's invoice (dated May 1) was voided when the contract was suspended on May 6.
    let c = contract(vec![line("team", "team_m", "2027-06-01", seats(10))]);
    let (lines, after) = resumed(&v1, &c, &[("team", "2027-05-01")], "2027-05-06", "2027-07-02");
    assert_eq!(
        lines,
        [
            ("2027-05-01".into(), "2027-05-06".into(), Decimal::new(1935, 2)),
            ("2027-07-02".into(), "2027-08-01".into(), Decimal::new(11613, 2)),
        ],
        "120 × 5/31 owed before the suspension, then 120 × 30/31 from the resume date; June is never billed"
    );
    assert_eq!(after.offerings[0].invoiced_through, d("2027-08-01"));
    // The next regular invoice is August's, whole.
    let (next, _) = pricing::billing::due(&v1, &after, d("2027-08-01"), &[]).unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!((next[0].period_start, next[0].lines[0].amount), (d("2027-08-01"), Decimal::new(12000, 2)));
}

#[test]
fn a_resumed_arrears_line_pays_what_it_used_before_and_restarts_its_period_at_the_resume_date() {
    let v1 = catalog("12", "31");
    // Support (31 a month, in arrears): April's invoice (dated May 1) voided, suspended May 6, resumed May 20.
    let c = contract(vec![line("support", "support_m", "2027-05-01", json!([{ "productId": "unit", "quantity": 1 }]))]);
    let (lines, after) = resumed(&v1, &c, &[("support", "2027-04-01")], "2027-05-06", "2027-05-20");
    assert_eq!(
        lines,
        [
            ("2027-04-01".into(), "2027-05-01".into(), Decimal::new(3100, 2)),
            ("2027-05-01".into(), "2027-05-06".into(), Decimal::new(500, 2)),
        ]
    );
    assert_eq!(after.offerings[0].invoiced_through, d("2027-05-20"));
    let (next, _) = pricing::billing::due(&v1, &after, d("2027-06-01"), &[]).unwrap();
    assert_eq!((next[0].period_start, next[0].lines[0].amount), (d("2027-05-20"), Decimal::new(1200, 2)), "31 × 12/31");
}

#[test]
fn resuming_on_the_day_of_the_suspension_bills_the_period_exactly_once() {
    let v1 = catalog("12", "31");
    let c = contract(vec![line("team", "team_m", "2027-06-01", seats(10))]);
    let (lines, _) = resumed(&v1, &c, &[("team", "2027-05-01")], "2027-05-06", "2027-05-06");
    let total: Decimal = lines.iter().map(|l| l.2).sum();
    assert_eq!(total, Decimal::new(12000, 2), "19.35 + 100.65: the whole of May, nothing twice");
}
