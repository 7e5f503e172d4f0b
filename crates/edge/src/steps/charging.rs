//! Charging exactly once. A charge is two Stripe calls around one D1 write:
//! create the PaymentIntent unconfirmed (no money moves), record it under
//! our key, then confirm it. A retry of the same key finds the record and
//! asks Stripe where that PaymentIntent stands, so an answer lost after
//! Stripe charged (a timeout, a dropped connection) never leads to a second
//! charge, whether or not Stripe honours the Idempotency-Key (it does; the
//! stand-ins may not). A PaymentIntent created but never recorded is never
//! confirmed: nothing is charged on it.
//!
//! Where even the retry cannot wait for the same request (a contract change
//! the customer may give up on, a billing attempt), [`settle`] finds out
//! how a charge whose answer was lost stands, and cancels a PaymentIntent
//! still unconfirmed so that it can never be charged later.

use crate::Now;
use crate::store::{Db, DbError, charges};
use crate::stripe::{CANCELED, Charge, PaymentIntent, Stripe, StripeError};

/// How a charge whose answer was lost turned out.
#[derive(Debug)]
pub enum Settled {
    /// The money moved.
    Charged(PaymentIntent),
    /// The card was declined (Stripe's reason).
    Declined(StripeError),
    /// Nothing was charged, and nothing can be any more.
    NotCharged,
    /// Stripe could not be asked: the outcome is still unknown.
    Unknown(StripeError),
}

fn unavailable(e: DbError) -> StripeError {
    StripeError::Unavailable(format!("storage: {e:?}"))
}

/// Charges `charge` once under `key` (one key per attempt: a declined
/// attempt's caller moves to a new key). Storage failures surface as
/// `Unavailable` (retry), never after money moved unrecorded.
pub async fn charge_once(
    db: &impl Db,
    stripe: &impl Stripe,
    key: &str,
    charge: &Charge<'_>,
    now: &Now,
) -> Result<PaymentIntent, StripeError> {
    if let Some(id) = charges::payment_intent(db, key).await.map_err(unavailable)? {
        // Started before: Stripe knows whether it went through.
        let pi = stripe.payment_intent(&id).await?;
        if pi.status != "requires_confirmation" {
            return Ok(pi);
        }
        return confirm(stripe, key, &id).await;
    }
    let id = stripe.create_payment_intent(&format!("{key}/create"), charge).await?;
    db.batch(vec![charges::record(key, &id, &now.instant)]).await.map_err(unavailable)?;
    // Whoever recorded first owns the charge (a concurrent twin confirms the same one).
    let id = charges::payment_intent(db, key).await.map_err(unavailable)?.unwrap_or(id);
    confirm(stripe, key, &id).await
}

async fn confirm(stripe: &impl Stripe, key: &str, id: &str) -> Result<PaymentIntent, StripeError> {
    let pi = stripe.confirm_payment_intent(&format!("{key}/confirm"), id).await?;
    if pi.status == "requires_confirmation" {
        return Err(StripeError::Unavailable("Stripe left the payment unconfirmed".into()));
    }
    Ok(pi)
}

/// Where the charge under `key` stands: the recorded PaymentIntent as
/// Stripe has it; one still waiting for confirmation is canceled (if it
/// was confirmed meanwhile, the cancel fails and Stripe is asked again).
pub async fn settle(db: &impl Db, stripe: &impl Stripe, key: &str) -> Settled {
    let id = match charges::payment_intent(db, key).await {
        Ok(id) => id,
        Err(e) => return Settled::Unknown(unavailable(e)),
    };
    // Never recorded: never confirmed, so never charged.
    let Some(id) = id else { return Settled::NotCharged };
    for _ in 0..3 {
        match stripe.payment_intent(&id).await {
            Ok(pi) if pi.status == "requires_confirmation" => {
                match stripe.cancel_payment_intent(&format!("{key}/cancel"), &id).await {
                    Ok(()) => return Settled::NotCharged,
                    Err(e @ StripeError::Unavailable(_)) => return Settled::Unknown(e),
                    Err(_) => {} // it moved on meanwhile: ask again
                }
            }
            Ok(pi) => return Settled::Charged(pi),
            Err(StripeError::Declined { code, .. }) if code == CANCELED => return Settled::NotCharged,
            Err(e @ StripeError::Declined { .. }) => return Settled::Declined(e),
            Err(e) => return Settled::Unknown(e),
        }
    }
    Settled::Unknown(StripeError::Unavailable("the payment kept changing state".into()))
}

/// Charges once under `key`; when the answer is lost or refused, finds out
/// where the charge stands (and stops it if it has not run).
pub async fn charge_or_settle(
    db: &impl Db,
    stripe: &impl Stripe,
    key: &str,
    charge: &Charge<'_>,
    now: &Now,
) -> Settled {
    match charge_once(db, stripe, key, charge, now).await {
        Ok(pi) => Settled::Charged(pi),
        Err(e @ StripeError::Declined { .. }) => Settled::Declined(e),
        Err(_) => settle(db, stripe, key).await,
    }
}
