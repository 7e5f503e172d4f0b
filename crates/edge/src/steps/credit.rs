//! An account's credit pays its open invoices first: a credit a change
//! issues (fewer seats, a cancellation) settles what the customer still owes
//! before anything is kept as a balance for later invoices. A paid credit
//! pack (a one-time line marked `grantsCredit`) adds its amount to it.

use rust_decimal::Decimal;
use serde_json::Value;

use super::documents::money_json;
use crate::http::{ApiError, ApiResult};
use crate::store::invoices::{self, InvoiceStatus};
use crate::store::{Batch, Db, DbError, accounts};

/// The credit an invoice grants once paid: its credit-pack lines' amounts
/// (after discount, before tax), from the invoice as answered (`items`) or
/// as the engine writes it (`lines`).
#[must_use]
pub fn granted(invoice: &Value) -> Decimal {
    let lines = invoice.get("items").or_else(|| invoice.get("lines")).and_then(Value::as_array);
    lines
        .into_iter()
        .flatten()
        .filter(|l| l.get("grantsCredit").and_then(Value::as_bool) == Some(true))
        .filter_map(|l| l.get("amount").map(Value::to_string).and_then(|a| a.parse::<Decimal>().ok()))
        .fold(Decimal::ZERO, |sum, a| sum.checked_add(a).unwrap_or(sum))
}

/// Adds what a just-paid invoice grants to the account's balance, guarded
/// against a concurrent write (read again and retried, three times).
pub async fn grant(db: &impl Db, account: &str, invoice: &Value) -> ApiResult<()> {
    let amount = granted(invoice);
    if amount.is_zero() {
        return Ok(());
    }
    for _ in 0..3 {
        let before = accounts::load(db, account)
            .await?
            .ok_or_else(|| ApiError::internal(format_args!("account {account} is not stored")))?
            .credit_balance;
        let after = before.checked_add(amount).ok_or_else(|| ApiError::internal("credit balance overflow"))?;
        match db.batch(accounts::move_credit_balance(account, before, after)).await {
            Ok(()) => return Ok(()),
            Err(DbError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict("CONFLICT", "The account's credit balance kept changing; retry."))
}

/// Applies `credit` to the account's open invoices, oldest first (none
/// being charged at this moment): the statements that do so, and the
/// credit left for the balance. An invoice paid whole by credit is PAID, and
/// a credit pack it sells adds its amount to the credit from then on.
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
        if status == InvoiceStatus::Paid {
            left = left.checked_add(granted(&open.body)).ok_or_else(|| ApiError::internal("credit overflow"))?;
        }
    }
    Ok((statements, left))
}
