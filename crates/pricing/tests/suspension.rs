//! The suspension vectors (`tests/suspension/`): a contract suspended when
//! dunning gave up, resumed with a new card. Each case gives the contract, the
//! periods billed on the voided invoices (`usage: true` for a period of
//! usage alone), `suspendedOn`, `resumedOn` and the
//! contract's `earlierSuspensions` (`[{ from, to }]`, never owed), and
//! expects `{ "resumption": { "invoices", "contract" } }` (the billing-case
//! shape), compared like every vector: the fields it holds, numbers as decimals.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use pricing::billing::VoidedPeriod;
use pricing::{Catalog, NaiveDate};
use serde_json::{Value, json};

fn d(v: &Value) -> NaiveDate {
    pricing::parse_date(v.as_str().unwrap()).unwrap()
}

#[test]
fn every_suspension_vector_resumes_as_expected() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/suspension");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 4, "the suspension vectors were not found");
    for f in files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let catalog = Catalog::from_json(&case["catalog"]).unwrap();
        let voided: Vec<VoidedPeriod> = case["voided"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| VoidedPeriod {
                offering_id: v["offeringId"].as_str().unwrap().to_owned(),
                period_start: d(&v["periodStart"]),
                usage: v.get("usage").and_then(Value::as_bool).unwrap_or(false),
            })
            .collect();
        let earlier: Vec<(NaiveDate, NaiveDate)> = case
            .get("earlierSuspensions")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|g| (d(&g["from"]), d(&g["to"])))
            .collect();
        let billing = pricing::billing::resumption(
            &catalog,
            &case["contract"],
            &voided,
            d(&case["suspendedOn"]),
            d(&case["resumedOn"]),
            &earlier,
        )
        .unwrap();
        let actual = json!({ "resumption": serde_json::from_str::<Value>(&pricing::to_json(&billing)).unwrap() });
        if let Err(why) = golden::matches(&case["expected"], &actual) {
            panic!("{}: {why}\n  actual: {actual}", f.display());
        }
    }
}

#[test]
fn the_runner_fails_on_a_wrong_figure() {
    let expected = json!({ "resumption": { "invoices": [ { "amountWithoutTax": 135.48 } ] } });
    let actual = json!({ "resumption": { "invoices": [ { "amountWithoutTax": 240 } ] } });
    assert!(golden::matches(&expected, &actual).is_err());
}
