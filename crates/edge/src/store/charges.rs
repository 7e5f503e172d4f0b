//! `stripe_charges`: the PaymentIntent recorded under each of our charge keys.

use super::{Db, DbError, Stmt, first, text};
use crate::stmt;

/// The PaymentIntent recorded under `key`.
pub async fn payment_intent(db: &impl Db, key: &str) -> Result<Option<String>, DbError> {
    let row = first(db, stmt!("SELECT payment_intent_id FROM stripe_charges WHERE key = ?1", key)).await?;
    Ok(row.and_then(|r| text(&r, "payment_intent_id")))
}

/// Records `payment_intent` under `key` unless one is recorded already.
#[must_use]
pub fn record(key: &str, payment_intent: &str, at: &str) -> Stmt {
    stmt!(
        "INSERT OR IGNORE INTO stripe_charges (key, payment_intent_id, created_at) VALUES (?1, ?2, ?3)",
        key,
        payment_intent,
        at
    )
}
