//! `billing_runs`: each page of a billing run and its report.

use super::Stmt;
use crate::stmt;

/// Records one run page's report.
#[must_use]
pub fn insert(id: &str, run_date: &str, started_at: &str, report: &str) -> Stmt {
    stmt!(
        "INSERT INTO billing_runs (id, run_date, started_at, report) VALUES (?1, ?2, ?3, ?4)",
        id,
        run_date,
        started_at,
        report
    )
}
