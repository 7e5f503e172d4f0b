//! `POST /api/webhooks/stripe`: verified with `Stripe-Signature` (HMAC-SHA256
//! over `timestamp.body` under the endpoint secret; five minutes of tolerance;
//! constant-time comparison), each event handled once, whatever the order.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::api::{ApiError, ApiResult, Request};
use crate::db::{Db, DbError, text};
use crate::ids::Random;
use crate::secrets::constant_time_eq;
use crate::stripe::Stripe;
use crate::{App, Now, stmt};

/// Oldest (and most future) timestamp accepted, in seconds.
pub const TOLERANCE: i64 = 300;

/// Checks a `Stripe-Signature` header for `body` at `now` (Unix seconds).
#[must_use]
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", s)) => signatures.push(s),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    if now.abs_diff(t) > TOLERANCE.unsigned_abs() || secret.is_empty() {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    signatures.iter().any(|s| constant_time_eq(s.as_bytes(), expected.as_bytes()))
}

/// The header Stripe would send (for tests and tools).
#[must_use]
pub fn sign(secret: &str, body: &[u8], t: i64) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

impl<D: Db, S: Stripe, R: Random> App<D, S, R> {
    /// Verifies and handles one event.
    pub async fn stripe_webhook(&self, req: &Request, now: &Now) -> ApiResult<Value> {
        let secret = self.config.stripe_webhook_secret.as_deref().unwrap_or_default();
        let header = req.header("stripe-signature").unwrap_or_default();
        if !verify(secret, header, &req.body, now.at.and_utc().timestamp()) {
            return Err(ApiError::bad(
                "INVALID_SIGNATURE",
                "Stripe-Signature",
                "The Stripe-Signature header does not match this body, or is older than five minutes.",
            ));
        }
        let event: Value = crate::input::parse_body(&req.body)?;
        let id = event.get("id").and_then(Value::as_str).unwrap_or_default();
        let kind = event.get("type").and_then(Value::as_str).unwrap_or_default();
        let object = event.pointer("/data/object").cloned().unwrap_or(Value::Null);
        if id.is_empty() || kind.is_empty() {
            return Err(ApiError::bad("INVALID_VALUE", "id", "An event has an id and a type."));
        }
        let seen = stmt!(
            "INSERT INTO webhook_events (id, type, received_at) VALUES (?1, ?2, ?3)",
            id,
            kind,
            now.instant.as_str()
        );
        // Handle first, then remember: a failure leaves the event to Stripe's retry.
        let seen_before = self.db.query(stmt!("SELECT id FROM webhook_events WHERE id = ?1", id)).await?;
        if !seen_before.is_empty() {
            return Ok(json!({ "received": true, "duplicate": true }));
        }
        let handled = match kind {
            "payment_intent.succeeded" => self.payment_succeeded(&object, now).await?,
            "payment_intent.payment_failed" => self.payment_failed(&object, now).await?,
            "setup_intent.succeeded" => self.card_saved(&object, now).await?,
            _ => false,
        };
        match self.db.batch(vec![seen]).await {
            Ok(()) | Err(DbError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(json!({ "received": true, "handled": handled }))
    }

    /// A PaymentIntent succeeded (an asynchronous confirmation): its invoice is paid.
    async fn payment_succeeded(&self, pi: &Value, now: &Now) -> ApiResult<bool> {
        let Some(invoice) = pi.pointer("/metadata/quotekit_invoice").and_then(Value::as_str) else { return Ok(false) };
        let pi_id = pi.get("id").and_then(Value::as_str).unwrap_or_default();
        let rows = self.db.query(stmt!("SELECT * FROM invoices WHERE id = ?1", invoice)).await?;
        let Some(row) = rows.first() else { return Ok(false) };
        if text(row, "status").as_deref() == Some("PAID") {
            return Ok(false); // already recorded (the charge answered first)
        }
        let amount = pi.get("amount_received").or_else(|| pi.get("amount")).and_then(Value::as_i64).unwrap_or(0);
        let currency = text(row, "currency").unwrap_or_default();
        let paid = pricing::from_minor_units(amount, &currency).unwrap_or_default();
        let payment_id = crate::ids::new_id(&self.rng, "pay_");
        let account = text(row, "account_id").unwrap_or_default();
        let payment = crate::records::Payment {
            id: &payment_id,
            account_id: &account,
            invoice_id: invoice,
            amount: paid,
            currency: &currency,
            payment_intent: pi_id,
            at: &now.instant,
        };
        let batch = vec![
            stmt!(
                "UPDATE invoices SET status = 'PAID', amount_due = '0', next_attempt_on = NULL WHERE id = ?1",
                invoice
            ),
            payment.insert(),
        ];
        match self.db.batch(batch).await {
            Ok(()) => Ok(true),
            Err(DbError::Conflict(_)) => Ok(false), // the payment row exists: recorded by the run
            Err(e) => Err(e.into()),
        }
    }

    /// A PaymentIntent failed after the fact: recorded on the invoice's attempt (a paid invoice stays paid).
    async fn payment_failed(&self, pi: &Value, _now: &Now) -> ApiResult<bool> {
        let Some(invoice) = pi.pointer("/metadata/quotekit_invoice").and_then(Value::as_str) else { return Ok(false) };
        let pi_id = pi.get("id").and_then(Value::as_str).unwrap_or_default();
        let code = pi.pointer("/last_payment_error/decline_code").and_then(Value::as_str).unwrap_or("failed");
        self.db
            .batch(vec![stmt!(
                "UPDATE payment_attempts SET status = 'FAILED', decline_code = ?3 \
                 WHERE invoice_id = ?1 AND stripe_payment_intent_id = ?2 AND status <> 'SUCCEEDED'",
                invoice,
                pi_id,
                code
            )])
            .await?;
        Ok(true)
    }

    /// A SetupIntent succeeded for one of our accounts' customers: the card
    /// becomes the account's default and what dunning gave up on is retried.
    async fn card_saved(&self, seti: &Value, now: &Now) -> ApiResult<bool> {
        let (Some(customer), Some(pm)) =
            (seti.get("customer").and_then(Value::as_str), seti.get("payment_method").and_then(Value::as_str))
        else {
            return Ok(false);
        };
        let rows = self.db.query(stmt!("SELECT id FROM accounts WHERE stripe_customer_id = ?1", customer)).await?;
        let Some(account) = rows.first().and_then(|r| text(r, "id")) else { return Ok(false) };
        self.use_card(&account, customer, pm, now).await?;
        Ok(true)
    }
}
