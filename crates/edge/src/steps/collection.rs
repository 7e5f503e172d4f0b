//! Collecting what invoices owe: a charge attempt claims
//! `payment_attempts(invoice, attempt)` before Stripe is called, under the
//! Stripe key `{invoice}/attempt/{n}`; a failure schedules the catalog's
//! next dunning retry, and after the last one the invoice is voided and its
//! contract suspended. An attempt whose outcome is unknown stays PENDING
//! and is taken up again, under the same key, by the next run.

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde_json::Value;

use super::billing::{Report, midnight};
use super::charging::{self, Settled};
use super::claims::claim_expired;
use super::credit;
use super::suspension;
use crate::http::{ApiError, ApiResult};
use crate::ids::{Random, new_id};
use crate::store::invoices::{self, InvoiceStatus};
use crate::store::payments::{self, Payment};
use crate::store::{Db, DbError, accounts};
use crate::stripe::{Charge, Stripe, StripeError};
use crate::{App, Now};

/// The `decline_code` of a PENDING attempt whose run ended without knowing
/// whether the charge went through.
const OUTCOME_UNKNOWN: &str = "outcome_unknown";

/// Charges an open invoice (attempt n+1) when its bill group collects
/// automatically and a card is saved; records the attempt and the dunning
/// step (`retry_days`: the current catalog's, days after the first failure).
pub async fn charge_invoice<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    invoice_id: &str,
    day: NaiveDate,
    retry_days: &[i64],
    report: &mut Report,
    now: &Now,
) -> ApiResult<()> {
    if !report.tried.insert(invoice_id.to_owned()) {
        return Ok(());
    }
    let Some(inv) = invoices::load(&app.db, invoice_id).await? else { return Ok(()) };
    let due = inv.amount_due;
    if inv.status != Some(InvoiceStatus::Open) || due <= Decimal::ZERO {
        return Ok(());
    }
    if !accounts::collects_automatically(&app.db, &inv.bill_group_id).await? {
        return Ok(());
    }
    let account = accounts::load(&app.db, &inv.account_id)
        .await?
        .ok_or_else(|| ApiError::internal(format_args!("account {} is not stored", inv.account_id)))?;
    let (Some(customer), Some(pm)) = (account.stripe_customer_id, account.default_payment_method_id) else {
        return Ok(());
    };
    let attempt = inv.attempts.saturating_add(1);
    let at = midnight(day).instant;
    match app.db.batch(vec![payments::claim_attempt(invoice_id, attempt, &at, &now.instant)]).await {
        Ok(()) => {}
        // Claimed before: by a live run (left to it), or by one that stopped or let it go.
        Err(DbError::Conflict(_)) if !take_over_attempt(&app.db, invoice_id, attempt, now).await? => return Ok(()),
        Err(DbError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let charge = Charge {
        customer: &customer,
        payment_method: &pm,
        amount: pricing::to_minor_units(due, &inv.currency)
            .ok_or_else(|| ApiError::internal(format_args!("{due} {} in minor units", inv.currency)))?,
        currency: inv.currency.to_ascii_lowercase(),
        metadata: vec![("quotekit_invoice", invoice_id.to_owned()), ("quotekit_contract", inv.contract_id.clone())],
    };
    let key = format!("{invoice_id}/attempt/{attempt}");
    let result = match charging::charge_or_settle(&app.db, &app.stripe, &key, &charge, now).await {
        Settled::Charged(pi) => Ok(pi),
        Settled::Declined(e) => Err(e),
        Settled::NotCharged => Err(StripeError::Unavailable("Stripe could not be reached; nothing was charged".into())),
        Settled::Unknown(e) => {
            report.unsettled = report.unsettled.saturating_add(1);
            // Should this write fail too, the claim expires in a minute instead.
            let unknown = payments::attempt_unknown(invoice_id, attempt, OUTCOME_UNKNOWN, &format!("{e:?}"));
            app.db.batch(vec![unknown]).await.ok();
            return Ok(());
        }
    };
    let mut batch = Vec::new();
    let paid = result.is_ok();
    match result {
        Ok(pi) => {
            report.charged = report.charged.saturating_add(1);
            let payment = Payment {
                id: new_id(&app.rng, "pay_"),
                account_id: inv.account_id.clone(),
                invoice_id: invoice_id.to_owned(),
                amount: due,
                currency: inv.currency.clone(),
                payment_intent: pi.id.clone(),
                at: at.clone(),
            };
            batch.push(payment.insert());
            batch.push(invoices::paid_by_attempt(invoice_id, attempt));
            batch.push(payments::attempt_succeeded(invoice_id, attempt, &pi.id));
        }
        Err(e) => {
            let (code, message) = match &e {
                StripeError::Declined { decline_code, code, message } => {
                    (decline_code.clone().unwrap_or_else(|| code.clone()), message.clone())
                }
                StripeError::Unavailable(m) => ("provider_unavailable".to_owned(), m.clone()),
                StripeError::Rejected { message, .. } => ("rejected".to_owned(), message.clone()),
            };
            report.failed = report.failed.saturating_add(1);
            let first_failed = inv.first_failed_on.as_deref().and_then(pricing::parse_date).unwrap_or(day);
            let retry_index = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
            batch.push(payments::attempt_failed(invoice_id, attempt, &code, &message));
            match retry_days.get(retry_index) {
                Some(days) => {
                    let next = first_failed.checked_add_signed(Duration::days(*days)).unwrap_or(first_failed);
                    batch.push(invoices::retry_on(invoice_id, attempt, &next.to_string(), &first_failed.to_string()));
                }
                None => {
                    // The last retry failed: void the invoice, suspend the contract
                    // (no day of the suspension is ever billed).
                    report.voided = report.voided.saturating_add(1);
                    batch.push(invoices::void_after(invoice_id, attempt));
                    let suspension = suspension::suspend(&app.db, &inv.contract_id, invoice_id, day, &at).await?;
                    if !suspension.is_empty() {
                        report.suspended = report.suspended.saturating_add(1);
                    }
                    batch.extend(suspension);
                }
            }
        }
    }
    match app.db.batch(batch).await {
        // A twin taking up the same attempt recorded the same outcome.
        Err(DbError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
        // A paid credit pack adds to the account's credit.
        Ok(()) if paid => credit::grant(&app.db, &inv.account_id, inv.body.as_ref().unwrap_or(&Value::Null)).await,
        Ok(()) => Ok(()),
    }
}

/// Whether a PENDING attempt's claim was let go (outcome unknown) or
/// expired (its run stopped); if so, this run takes it over.
async fn take_over_attempt(db: &impl Db, invoice_id: &str, attempt: i64, now: &Now) -> ApiResult<bool> {
    let free = payments::attempt(db, invoice_id, attempt).await?.is_some_and(|(status, decline, claimed_at)| {
        status.as_deref() == Some("PENDING")
            && (decline.as_deref() == Some(OUTCOME_UNKNOWN) || claimed_at.is_none_or(|t| claim_expired(&t, now)))
    });
    if free {
        db.batch(vec![payments::take_over_attempt(invoice_id, attempt, &now.instant)]).await?;
    }
    Ok(free)
}

/// Dunning: open invoices whose next attempt is due, invoices a run
/// issued but never tried (it stopped half-way), and attempts left
/// PENDING (outcome unknown, or their run stopped).
pub async fn collect_due<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    date: NaiveDate,
    retry_days: &[i64],
    report: &mut Report,
    now: &Now,
) -> ApiResult<()> {
    let mut after = String::new();
    loop {
        let ids = invoices::due_for_collection(&app.db, &date.to_string(), &after).await?;
        for id in &ids {
            charge_invoice(app, id, date, retry_days, report, now).await?;
            after.clone_from(id);
        }
        if i64::try_from(ids.len()).unwrap_or(0) < invoices::COLLECT_PAGE {
            return Ok(());
        }
    }
}
