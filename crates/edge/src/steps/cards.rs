//! Cards: confirming a payment token with Stripe, making a card the
//! account's default (and retrying what is unpaid with it), and keeping the
//! Stripe customer's name and email current.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::billing::Report;
use super::catalogs;
use super::collection::charge_invoice;
use super::resumption::resume;
use crate::http::{ApiError, ApiResult};
use crate::ids::{Random, new_id};
use crate::store::accounts::NewPaymentMethod;
use crate::store::invoices::{self, InvoiceStatus};
use crate::store::{Db, contracts};
use crate::stripe::{Stripe, StripeError};
use crate::{App, Now};

/// Makes `pm` the account's card and retries what is unpaid with it; a
/// suspended contract with nothing left unpaid by dunning resumes.
pub async fn use_card<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    account: &str,
    pm: &str,
    now: &Now,
) -> ApiResult<Value> {
    let id = new_id(&app.rng, "pmt_");
    let card = NewPaymentMethod {
        id: &id,
        account_id: account,
        stripe_payment_method_id: pm,
        name: None,
        card: None,
        at: &now.instant,
    };
    app.db.batch(card.make_default()).await?;
    let (_, catalog) = catalogs::current_parsed(&app.db).await?;
    let retry_days = &catalog.operations.retry_days;
    // What dunning gave up on is tried again, except invoices voided with a
    // suspension: their periods are billed again when the contract resumes.
    let unpaid = invoices::unpaid_after_dunning(&app.db, account).await?;
    let mut report = Report::default();
    for (invoice, status) in &unpaid {
        if *status == Some(InvoiceStatus::Void) {
            app.db.batch(vec![invoices::reopen(invoice)]).await?;
        }
        charge_invoice(app, invoice, now.today, retry_days, &mut report, now).await?;
    }
    // A suspended contract resumes once none of its invoices is left unpaid by dunning.
    for id in contracts::resumable(&app.db, account).await? {
        resume(app, &id, retry_days, &mut report, now).await?;
    }
    let active = contracts::active_count(&app.db, account).await?;
    Ok(json!({ "accountId": account, "stripePaymentMethodId": pm, "retried": unpaid.len(),
               "charged": report.charged, "failed": report.failed, "activeContracts": active }))
}

/// Confirms with Stripe that `token` is a succeeded SetupIntent (or a
/// PaymentMethod) of `customer`, attaches it and makes it the default.
/// `scope` makes the Stripe idempotency keys; `path` names the field in errors.
pub async fn confirm_payment_token(
    stripe: &impl Stripe,
    customer: &str,
    token: &str,
    scope: &str,
    path: &str,
) -> ApiResult<crate::stripe::PaymentMethod> {
    let not_ours =
        || ApiError::bad("PAYMENT_TOKEN_NOT_OWNED", path, "The payment token belongs to another Stripe customer.");
    let pm_id = if token.starts_with("seti_") {
        let seti = stripe.setup_intent(token).await.map_err(|e| ApiError::from_stripe(e, path))?;
        if seti.customer.as_deref() != Some(customer) {
            return Err(not_ours());
        }
        if seti.status != "succeeded" {
            return Err(ApiError::bad(
                "PAYMENT_METHOD_NOT_CONFIRMED",
                path,
                format!(
                    "The SetupIntent is '{}', not 'succeeded': confirm the card with Stripe.js first.",
                    seti.status
                ),
            ));
        }
        seti.payment_method.ok_or_else(|| {
            ApiError::bad("PAYMENT_METHOD_NOT_CONFIRMED", path, "The SetupIntent has no payment method.")
        })?
    } else {
        token.to_owned()
    };
    let mut method = stripe.payment_method(&pm_id).await.map_err(|e| ApiError::from_stripe(e, path))?;
    match method.customer.as_deref() {
        Some(c) if c == customer => {}
        Some(_) => return Err(not_ours()),
        None => {
            method = stripe
                .attach(&format!("{scope}/attach/{pm_id}"), &pm_id, customer)
                .await
                .map_err(|e| ApiError::from_stripe(e, path))?;
        }
    }
    stripe
        .set_default(&format!("{scope}/default/{pm_id}"), customer, &pm_id)
        .await
        .map_err(|e| ApiError::from_stripe(e, path))?;
    Ok(method)
}

/// Sends a customer's name and email to its Stripe customer. Keyed by
/// `scope` and what is sent: a retry is the same request, other details
/// after a failed write a new one (Stripe refuses a key reused with other
/// parameters). Unreachable: 502; refused: 400 at `email_path`.
pub async fn push_customer(
    stripe: &impl Stripe,
    scope: &str,
    id: &str,
    name: &str,
    email: &str,
    email_path: &str,
) -> ApiResult<()> {
    let sent: String = Sha256::digest(format!("{name}\n{email}")).iter().take(8).map(|b| format!("{b:02x}")).collect();
    stripe.update_customer(&format!("{scope}/{sent}"), id, name, email).await.map_err(|e| match e {
        StripeError::Rejected { message, .. } => {
            ApiError::bad("INVALID_VALUE", email_path, format!("Stripe refused the customer's details: {message}"))
        }
        e => ApiError::from_stripe(e, ""),
    })
}
