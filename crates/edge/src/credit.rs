//! An account's credit pays its open invoices first: a credit a change
//! issues (fewer seats, a cancellation) settles what the customer still owes
//! before anything is kept as a balance for later invoices.

use rust_decimal::Decimal;
use serde_json::Value;

use crate::api::ApiResult;
use crate::db::{Db, Stmt, json as json_col, text};
use crate::ids::Random;
use crate::records::money_json;
use crate::stripe::Stripe;
use crate::{App, stmt};

impl<D: Db, S: Stripe, R: Random> App<D, S, R> {
    /// Applies `credit` to the account's open invoices, oldest first (none
    /// being charged at this moment): the statements that do so, and the
    /// credit left for the balance. An invoice paid whole by credit is PAID.
    pub(crate) async fn credit_open_invoices(
        &self,
        account: &str,
        credit: Decimal,
        currency: &str,
    ) -> ApiResult<(Vec<Stmt>, Decimal)> {
        let mut left = credit;
        let mut statements = Vec::new();
        if left <= Decimal::ZERO {
            return Ok((statements, left));
        }
        let rows = self
            .db
            .query(stmt!(
                "SELECT id, amount_due, body FROM invoices WHERE account_id = ?1 AND status = 'OPEN' \
                 AND id NOT IN (SELECT invoice_id FROM payment_attempts WHERE status = 'PENDING') \
                 ORDER BY invoice_date, created_at, id",
                account
            ))
            .await?;
        for row in &rows {
            let (Some(id), Some(due_text)) = (text(row, "id"), text(row, "amount_due")) else { continue };
            let Ok(due) = due_text.parse::<Decimal>() else { continue };
            if due <= Decimal::ZERO || left <= Decimal::ZERO {
                continue;
            }
            let applied = left.min(due);
            let (Some(after), Some(rest)) = (due.checked_sub(applied), left.checked_sub(applied)) else { continue };
            let before: Decimal = json_col(row, "body")
                .and_then(|b| b.get("creditApplied").map(Value::to_string))
                .and_then(|t| t.parse().ok())
                .unwrap_or_default();
            let Some(total) = before.checked_add(applied) else { continue };
            let status = if after.is_zero() { "PAID" } else { "OPEN" };
            statements.push(stmt!(
                "UPDATE invoices SET amount_due = ?2, status = ?3, next_attempt_on = CASE WHEN ?3 = 'PAID' THEN NULL \
                 ELSE next_attempt_on END, body = json_set(body, '$.amountDue', json(?4), '$.creditApplied', json(?5), \
                 '$.status', ?3) WHERE id = ?1 AND status = 'OPEN' AND amount_due = ?6",
                id.as_str(),
                after.to_string(),
                status,
                money_json(after, currency).to_string(),
                money_json(total, currency).to_string(),
                due_text.as_str()
            ));
            // Paid or changed meanwhile: the whole batch fails (409, retried), so
            // no credit is counted as applied that was not.
            statements
                .push(stmt!("INSERT INTO write_guards (id, why) SELECT 'changed-nothing', '' WHERE changes() = 0"));
            left = rest;
        }
        Ok((statements, left))
    }
}
