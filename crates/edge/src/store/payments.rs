//! `payments` and `payment_attempts`: money received for invoices, and each
//! charge attempt (claimed before Stripe is called, so it runs once).

use rust_decimal::Decimal;

use super::{Db, DbError, Read, Row, Stmt, first, read_all};
use crate::stmt;

/// A successful payment of an invoice.
#[derive(Clone, Debug)]
pub struct Payment {
    /// `pay_…`.
    pub id: String,
    /// The account.
    pub account_id: String,
    /// The invoice paid.
    pub invoice_id: String,
    /// Amount charged.
    pub amount: Decimal,
    /// ISO currency.
    pub currency: String,
    /// Stripe's PaymentIntent.
    pub payment_intent: String,
    /// When.
    pub at: String,
}

impl Payment {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        let r = Read::new(r, "payments", "id");
        Ok(Self {
            id: r.text("id")?,
            account_id: r.text("account_id")?,
            invoice_id: r.text("invoice_id")?,
            amount: r.decimal("amount")?,
            currency: r.text("currency")?,
            payment_intent: r.text("stripe_payment_intent_id")?,
            at: r.text("created_at")?,
        })
    }

    /// Stores the payment (its id is unique).
    #[must_use]
    pub fn insert(&self) -> Stmt {
        stmt!(
            "INSERT INTO payments (id, account_id, invoice_id, amount, currency, status, \
             stripe_payment_intent_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'SUCCEEDED', ?6, ?7)",
            self.id.as_str(),
            self.account_id.as_str(),
            self.invoice_id.as_str(),
            self.amount.to_string(),
            self.currency.as_str(),
            self.payment_intent.as_str(),
            self.at.as_str()
        )
    }
}

/// A payment by id.
pub async fn load(db: &impl Db, id: &str) -> Result<Option<Payment>, DbError> {
    first(db, stmt!("SELECT * FROM payments WHERE id = ?1", id)).await?.as_ref().map(Payment::from_row).transpose()
}

/// An invoice's payments.
pub async fn of_invoice(db: &impl Db, invoice: &str) -> Result<Vec<Payment>, DbError> {
    read_all(&db.query(stmt!("SELECT * FROM payments WHERE invoice_id = ?1", invoice)).await?, Payment::from_row)
}

/// Claims attempt `attempt` of an invoice, PENDING, before Stripe is called.
#[must_use]
pub fn claim_attempt(invoice: &str, attempt: i64, at: &str, claimed_at: &str) -> Stmt {
    stmt!(
        "INSERT INTO payment_attempts (invoice_id, attempt, at, status, claimed_at) VALUES (?1, ?2, ?3, 'PENDING', ?4)",
        invoice,
        attempt,
        at,
        claimed_at
    )
}

/// An attempt's state: status, decline code, when claimed.
pub async fn attempt(
    db: &impl Db,
    invoice: &str,
    attempt: i64,
) -> Result<Option<(Option<String>, Option<String>, Option<String>)>, DbError> {
    let row = first(
        db,
        stmt!(
            "SELECT status, decline_code, claimed_at FROM payment_attempts WHERE invoice_id = ?1 AND attempt = ?2",
            invoice,
            attempt
        ),
    )
    .await?;
    row.map(|r| {
        let r = Read::new(&r, "payment_attempts", "invoice_id");
        Ok((Some(r.text("status")?), r.opt_text("decline_code")?, r.opt_text("claimed_at")?))
    })
    .transpose()
}

/// Takes a PENDING attempt over (claimed again now).
#[must_use]
pub fn take_over_attempt(invoice: &str, attempt: i64, at: &str) -> Stmt {
    stmt!(
        "UPDATE payment_attempts SET claimed_at = ?3, decline_code = NULL, message = NULL \
         WHERE invoice_id = ?1 AND attempt = ?2 AND status = 'PENDING'",
        invoice,
        attempt,
        at
    )
}

/// Marks a PENDING attempt's outcome as unknown (`code`), with why.
#[must_use]
pub fn attempt_unknown(invoice: &str, attempt: i64, code: &str, message: &str) -> Stmt {
    stmt!(
        "UPDATE payment_attempts SET decline_code = ?3, message = ?4 \
         WHERE invoice_id = ?1 AND attempt = ?2 AND status = 'PENDING'",
        invoice,
        attempt,
        code,
        message
    )
}

/// The attempt charged `payment_intent`.
#[must_use]
pub fn attempt_succeeded(invoice: &str, attempt: i64, payment_intent: &str) -> Stmt {
    stmt!(
        "UPDATE payment_attempts SET status = 'SUCCEEDED', stripe_payment_intent_id = ?3 \
         WHERE invoice_id = ?1 AND attempt = ?2",
        invoice,
        attempt,
        payment_intent
    )
}

/// The attempt failed with `code`.
#[must_use]
pub fn attempt_failed(invoice: &str, attempt: i64, code: &str, message: &str) -> Stmt {
    stmt!(
        "UPDATE payment_attempts SET status = 'FAILED', decline_code = ?3, message = ?4 \
         WHERE invoice_id = ?1 AND attempt = ?2",
        invoice,
        attempt,
        code,
        message
    )
}

/// Stripe said afterwards that `payment_intent` failed (a paid attempt stays paid).
#[must_use]
pub fn failed_later(invoice: &str, payment_intent: &str, code: &str) -> Stmt {
    stmt!(
        "UPDATE payment_attempts SET status = 'FAILED', decline_code = ?3 \
         WHERE invoice_id = ?1 AND stripe_payment_intent_id = ?2 AND status <> 'SUCCEEDED'",
        invoice,
        payment_intent,
        code
    )
}
