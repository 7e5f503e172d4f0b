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
//! the customer may give up on, a billing attempt), [`App::settle`] finds out
//! how a charge whose answer was lost stands, and cancels a PaymentIntent
//! still unconfirmed so that it can never be charged later.

use crate::db::{Db, text};
use crate::ids::Random;
use crate::stmt;
use crate::stripe::{CANCELED, Charge, PaymentIntent, Stripe, StripeError};
use crate::{App, Now};

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

impl<D: Db, S: Stripe, R: Random> App<D, S, R> {
    /// Charges `charge` once under `key` (one key per attempt: a declined
    /// attempt's caller moves to a new key). Storage failures surface as
    /// `Unavailable` (retry), never after money moved unrecorded.
    pub async fn charge_once(&self, key: &str, charge: &Charge<'_>, now: &Now) -> Result<PaymentIntent, StripeError> {
        let unavailable = |e: crate::db::DbError| StripeError::Unavailable(format!("storage: {e:?}"));
        let recorded = |rows: Vec<crate::db::Row>| rows.first().and_then(|r| text(r, "payment_intent_id"));
        let find = stmt!("SELECT payment_intent_id FROM stripe_charges WHERE key = ?1", key);
        if let Some(id) = recorded(self.db.query(find.clone()).await.map_err(unavailable)?) {
            // Started before: Stripe knows whether it went through.
            let pi = self.stripe.payment_intent(&id).await?;
            if pi.status != "requires_confirmation" {
                return Ok(pi);
            }
            return self.confirm(key, &id).await;
        }
        let id = self.stripe.create_payment_intent(&format!("{key}/create"), charge).await?;
        self.db
            .batch(vec![stmt!(
                "INSERT OR IGNORE INTO stripe_charges (key, payment_intent_id, created_at) VALUES (?1, ?2, ?3)",
                key,
                id.as_str(),
                now.instant.as_str()
            )])
            .await
            .map_err(unavailable)?;
        // Whoever recorded first owns the charge (a concurrent twin confirms the same one).
        let id = recorded(self.db.query(find).await.map_err(unavailable)?).unwrap_or(id);
        self.confirm(key, &id).await
    }

    async fn confirm(&self, key: &str, id: &str) -> Result<PaymentIntent, StripeError> {
        let pi = self.stripe.confirm_payment_intent(&format!("{key}/confirm"), id).await?;
        if pi.status == "requires_confirmation" {
            return Err(StripeError::Unavailable("Stripe left the payment unconfirmed".into()));
        }
        Ok(pi)
    }

    /// Where the charge under `key` stands: the recorded PaymentIntent as
    /// Stripe has it; one still waiting for confirmation is canceled (if it
    /// was confirmed meanwhile, the cancel fails and Stripe is asked again).
    pub async fn settle(&self, key: &str) -> Settled {
        let find = stmt!("SELECT payment_intent_id FROM stripe_charges WHERE key = ?1", key);
        let id = match self.db.query(find).await {
            Ok(rows) => rows.first().and_then(|r| text(r, "payment_intent_id")),
            Err(e) => return Settled::Unknown(StripeError::Unavailable(format!("storage: {e:?}"))),
        };
        // Never recorded: never confirmed, so never charged.
        let Some(id) = id else { return Settled::NotCharged };
        for _ in 0..3 {
            match self.stripe.payment_intent(&id).await {
                Ok(pi) if pi.status == "requires_confirmation" => {
                    match self.stripe.cancel_payment_intent(&format!("{key}/cancel"), &id).await {
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
}
