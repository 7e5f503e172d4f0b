//! `POST /api/webhooks/stripe`: verified with `Stripe-Signature`, each event
//! handled once, whatever the order.

use serde_json::{Value, json};

use crate::http::input::parse_body;
use crate::http::{ApiError, ApiResult};
use crate::ids::{Random, new_id};
use crate::steps::cards::use_card;
use crate::steps::credit;
use crate::store::invoices::{self, InvoiceStatus};
use crate::store::payments::{self, Payment};
use crate::store::{Db, DbError, accounts, webhook_events};
use crate::stripe::Stripe;
use crate::stripe::signature::verify;
use crate::{App, Now};

/// Verifies `body` against its `Stripe-Signature` header and handles the event.
pub async fn run<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    signature: &str,
    body: &[u8],
    now: &Now,
) -> ApiResult<Value> {
    let secret = app.config.stripe_webhook_secret.as_deref().unwrap_or_default();
    if !verify(secret, signature, body, now.at.and_utc().timestamp()) {
        return Err(ApiError::bad(
            "INVALID_SIGNATURE",
            "Stripe-Signature",
            "The Stripe-Signature header does not match this body, or is older than five minutes.",
        ));
    }
    let event: Value = parse_body(body)?;
    let id = event.get("id").and_then(Value::as_str).unwrap_or_default();
    let kind = event.get("type").and_then(Value::as_str).unwrap_or_default();
    let object = event.pointer("/data/object").cloned().unwrap_or(Value::Null);
    if id.is_empty() || kind.is_empty() {
        return Err(ApiError::bad("INVALID_VALUE", "id", "An event has an id and a type."));
    }
    // Handle first, then remember: a failure leaves the event to Stripe's retry.
    if webhook_events::seen(&app.db, id).await? {
        return Ok(json!({ "received": true, "duplicate": true }));
    }
    let handled = match kind {
        "payment_intent.succeeded" => payment_succeeded(app, &object, now).await?,
        "payment_intent.payment_failed" => payment_failed(&app.db, &object).await?,
        "setup_intent.succeeded" => card_saved(app, &object, now).await?,
        _ => false,
    };
    match app.db.batch(vec![webhook_events::insert(id, kind, &now.instant)]).await {
        Ok(()) | Err(DbError::Conflict(_)) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(json!({ "received": true, "handled": handled }))
}

/// A PaymentIntent succeeded (an asynchronous confirmation): its invoice is paid.
async fn payment_succeeded<D: Db, S: Stripe, R: Random>(app: &App<D, S, R>, pi: &Value, now: &Now) -> ApiResult<bool> {
    let Some(invoice) = pi.pointer("/metadata/quotekit_invoice").and_then(Value::as_str) else { return Ok(false) };
    let pi_id = pi.get("id").and_then(Value::as_str).unwrap_or_default();
    let Some(row) = invoices::load(&app.db, invoice).await? else { return Ok(false) };
    if row.status == Some(InvoiceStatus::Paid) {
        return Ok(false); // already recorded (the charge answered first)
    }
    let amount = pi.get("amount_received").or_else(|| pi.get("amount")).and_then(Value::as_i64).unwrap_or(0);
    let payment = Payment {
        id: new_id(&app.rng, "pay_"),
        account_id: row.account_id.clone(),
        invoice_id: invoice.to_owned(),
        amount: pricing::from_minor_units(amount, &row.currency).unwrap_or_default(),
        currency: row.currency.clone(),
        payment_intent: pi_id.to_owned(),
        at: now.instant.clone(),
    };
    match app.db.batch(vec![invoices::paid(invoice), payment.insert()]).await {
        Ok(()) => {
            // A paid credit pack adds to the account's credit.
            credit::grant(&app.db, &row.account_id, row.body.as_ref().unwrap_or(&Value::Null)).await?;
            Ok(true)
        }
        Err(DbError::Conflict(_)) => Ok(false), // the payment row exists: recorded by the run
        Err(e) => Err(e.into()),
    }
}

/// A PaymentIntent failed after the fact: recorded on the invoice's attempt (a paid invoice stays paid).
async fn payment_failed(db: &impl Db, pi: &Value) -> ApiResult<bool> {
    let Some(invoice) = pi.pointer("/metadata/quotekit_invoice").and_then(Value::as_str) else { return Ok(false) };
    let pi_id = pi.get("id").and_then(Value::as_str).unwrap_or_default();
    let code = pi.pointer("/last_payment_error/decline_code").and_then(Value::as_str).unwrap_or("failed");
    db.batch(vec![payments::failed_later(invoice, pi_id, code)]).await?;
    Ok(true)
}

/// A SetupIntent succeeded for one of our accounts' customers: the card
/// becomes the account's default and what dunning gave up on is retried.
async fn card_saved<D: Db, S: Stripe, R: Random>(app: &App<D, S, R>, seti: &Value, now: &Now) -> ApiResult<bool> {
    let (Some(customer), Some(pm)) =
        (seti.get("customer").and_then(Value::as_str), seti.get("payment_method").and_then(Value::as_str))
    else {
        return Ok(false);
    };
    let Some(account) = accounts::by_stripe_customer(&app.db, customer).await? else { return Ok(false) };
    use_card(app, &account, pm, now).await?;
    Ok(true)
}
