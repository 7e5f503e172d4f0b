//! An account's credit pays its open invoices first: a credit a change
//! issues (fewer seats, a cancellation) settles what the customer still owes
//! before anything is kept as a balance for later invoices.

use rust_decimal::Decimal;

use super::documents::money_json;
use crate::http::ApiResult;
use crate::store::invoices::{self, InvoiceStatus};
use crate::store::{Batch, Db};

/// Applies `credit` to the account's open invoices, oldest first (none
/// being charged at this moment): the statements that do so, and the
/// credit left for the balance. An invoice paid whole by credit is PAID.
pub async fn pay_open_invoices(
    db: &impl Db,
    account: &str,
    credit: Decimal,
    currency: &str,
) -> ApiResult<(Batch, Decimal)> {
    let mut left = credit;
    let mut statements = Vec::new();
    if left <= Decimal::ZERO {
        return Ok((statements, left));
    }
    for open in invoices::creditable(db, account).await? {
        let Ok(due) = open.due_text.parse::<Decimal>() else { continue };
        if due <= Decimal::ZERO || left <= Decimal::ZERO {
            continue;
        }
        let Some(credit) = pricing::apply_credit(left, due) else { continue };
        let (after, rest) = (credit.due, credit.balance);
        let Some(total) = open.credit_applied.checked_add(credit.applied) else { continue };
        let status = InvoiceStatus::of_due(after);
        let due_json = money_json(after, currency).to_string();
        let credit_json = money_json(total, currency).to_string();
        // Paid or changed meanwhile: the whole batch fails (409, retried), so
        // no credit is counted as applied that was not.
        statements.extend(invoices::apply_credit(&open, after, status, &due_json, &credit_json));
        left = rest;
    }
    Ok((statements, left))
}
