//! Many rows in one statement: several batches of single-row writes (a
//! billing run's page, one batch per contract) as one batch whose statements
//! each write the rows of one kind, their parameters as one JSON array of
//! arrays read with `json_each`.

use serde_json::Value;

use super::{Batch, Sql, Stmt, contracts, invoices, usage};

/// The writes a billing run's page makes for each of many contracts, each
/// beside its form that writes many rows in one statement (their parameters
/// as one JSON array of arrays, read with `json_each`).
const MANY: &[(&str, &str)] = &[
    (invoices::INSERT, invoices::INSERT_MANY),
    (contracts::CLAIM_EVENT, contracts::CLAIM_EVENTS),
    (contracts::CLAIM_BODY, contracts::CLAIM_BODIES),
    (invoices::CLAIM_PERIOD, invoices::CLAIM_PERIODS),
    (usage::PARTS_UNCHANGED, usage::PARTS_UNCHANGED_MANY),
];

/// The most JSON one statement of [`combine`] carries (D1 limits a statement to 100 KB).
const MANY_BYTES: usize = 90_000;

/// Whether every statement of `batch` has a form for many rows ([`combine`]).
#[must_use]
pub fn combinable(batch: &[Stmt]) -> bool {
    batch.iter().all(|s| MANY.iter().any(|(one, _)| *one == s.sql))
}

/// Several [`combinable`] batches as one: the rows of each kind of statement
/// written by as few statements as fit, kinds in the order of the table `MANY` (an
/// invoice before the periods that reference it). Written in one batch, it is
/// all of them or none, as each batch was.
#[must_use]
pub fn combine(batches: &[Batch]) -> Batch {
    let mut out = Vec::new();
    for (one, many) in MANY {
        let mut rows = String::new();
        for s in batches.iter().flatten().filter(|s| s.sql == *one) {
            let row = Value::Array(s.params.iter().map(to_json).collect()).to_string();
            if !rows.is_empty() && rows.len().saturating_add(row.len()) > MANY_BYTES {
                out.push(Stmt { sql: many, params: vec![Sql::Text(format!("[{rows}]"))] });
                rows.clear();
            }
            if !rows.is_empty() {
                rows.push(',');
            }
            rows.push_str(&row);
        }
        if !rows.is_empty() {
            out.push(Stmt { sql: many, params: vec![Sql::Text(format!("[{rows}]"))] });
        }
    }
    out
}

/// The parameter as a JSON value (what `->>` reads back as the same SQL value).
fn to_json(p: &Sql) -> Value {
    match p {
        Sql::Null => Value::Null,
        Sql::Int(n) => Value::from(*n),
        Sql::Text(t) => Value::String(t.clone()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::stmt;

    fn batch(i: usize, body: &str) -> Batch {
        let id = format!("ctr_{i}");
        let inv = format!("inv_{i}");
        vec![
            stmt!(
                invoices::INSERT,
                inv.as_str(),
                "acct",
                id.as_str(),
                "bg",
                "OPEN",
                "2026-02-01",
                "USD",
                "1.00",
                "0.00",
                "1.00",
                "1.00",
                body,
                "t"
            ),
            stmt!(contracts::CLAIM_EVENT, id.as_str(), 2_i64, "BILLED", "t"),
            stmt!(contracts::CLAIM_BODY, id.as_str(), 2_i64, "t", body, "ACTIVE"),
            stmt!(invoices::CLAIM_PERIOD, id.as_str(), "offr", "2026-02-01", inv.as_str(), Option::<&str>::None),
            stmt!(invoices::CLAIM_PERIOD, id.as_str(), "offr#usage", "2026-01-01", Option::<&str>::None, "{}"),
        ]
    }

    #[test]
    fn each_kind_is_one_statement_in_order_and_rows_keep_their_values() {
        let batches: Vec<Batch> = (0..3).map(|i| batch(i, "{}")).collect();
        assert!(batches.iter().all(|b| combinable(b)));
        let one = combine(&batches);
        let kinds: Vec<&str> = one.iter().map(|s| s.sql).collect();
        let expected =
            [invoices::INSERT_MANY, contracts::CLAIM_EVENTS, contracts::CLAIM_BODIES, invoices::CLAIM_PERIODS];
        assert_eq!(kinds, expected);
        let Sql::Text(rows) = &one[3].params[0] else { panic!("one JSON parameter") };
        let rows: Value = serde_json::from_str(rows).unwrap();
        assert_eq!(rows.as_array().unwrap().len(), 6);
        assert_eq!(rows[1], serde_json::json!(["ctr_0", "offr#usage", "2026-01-01", null, "{}"]));
        let Sql::Text(events) = &one[1].params[0] else { panic!("one JSON parameter") };
        assert_eq!(serde_json::from_str::<Value>(events).unwrap()[2], serde_json::json!(["ctr_2", 2, "BILLED", "t"]));
    }

    #[test]
    fn rows_past_the_size_of_one_statement_go_on_in_another() {
        let body = "x".repeat(20_000);
        let batches: Vec<Batch> = (0..10).map(|i| batch(i, &body)).collect();
        let one = combine(&batches);
        let invoices = one.iter().filter(|s| s.sql == invoices::INSERT_MANY).count();
        assert!(invoices >= 3, "10 invoices of 20 KB in {invoices} statements");
        for s in &one {
            let Sql::Text(rows) = &s.params[0] else { panic!("one JSON parameter") };
            assert!(rows.len() <= MANY_BYTES + 2, "{} bytes", rows.len());
        }
        assert!(!combinable(&[stmt!("UPDATE accounts SET credit_balance = ?2 WHERE id = ?1", "a", "1.00")]));
    }
}
