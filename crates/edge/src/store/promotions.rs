//! `promotion_redemptions`: each redemption of a promotion code, by its
//! comparison key (lower case), across catalog versions; and the lookups
//! `firstTimeOnly` needs (does an email or a customId already have a contract).

use super::{Db, DbError, Stmt, first, int};
use crate::stmt;

/// How many times the code was redeemed.
pub async fn redemptions(db: &impl Db, key: &str) -> Result<i64, DbError> {
    let row = first(db, stmt!("SELECT COUNT(*) AS n FROM promotion_redemptions WHERE code_key = ?1", key)).await?;
    Ok(row.and_then(|r| int(&r, "n")).unwrap_or(0))
}

/// Redeems the code for `session`, unless it has `max` redemptions already:
/// then the guard after it fails the whole batch (nothing of it is written),
/// so concurrent FINALIZEs never exceed `max`.
#[must_use]
pub fn redeem(key: &str, session: &str, max: Option<i64>, at: &str) -> Vec<Stmt> {
    vec![
        stmt!(
            "INSERT INTO promotion_redemptions (code_key, n, session_id, redeemed_at) \
             SELECT ?1, COALESCE(MAX(n), 0) + 1, ?2, ?3 FROM promotion_redemptions WHERE code_key = ?1 \
             HAVING ?4 IS NULL OR COUNT(*) < ?4",
            key,
            session,
            at,
            max
        ),
        stmt!("INSERT INTO write_guards (id, why) SELECT 'changed-nothing', '' WHERE changes() = 0"),
    ]
}

/// Gives a session's redemption back (its payment failed).
#[must_use]
pub fn release(key: &str, session: &str) -> Stmt {
    stmt!("DELETE FROM promotion_redemptions WHERE code_key = ?1 AND session_id = ?2", key, session)
}

/// Whether an account with this email (any case) or customId key already has a contract.
pub async fn has_contract(db: &impl Db, email: Option<&str>, custom_id_key: Option<&str>) -> Result<bool, DbError> {
    if let Some(email) = email {
        let row = first(
            db,
            stmt!(
                "SELECT 1 AS hit FROM contacts c JOIN contracts k ON k.account_id = c.account_id \
                 WHERE lower(c.email) = lower(?1) LIMIT 1",
                email
            ),
        )
        .await?;
        if row.is_some() {
            return Ok(true);
        }
    }
    if let Some(key) = custom_id_key {
        let row = first(
            db,
            stmt!(
                "SELECT 1 AS hit FROM accounts a JOIN contracts k ON k.account_id = a.id WHERE a.custom_id_key = ?1 LIMIT 1",
                key
            ),
        )
        .await?;
        return Ok(row.is_some());
    }
    Ok(false)
}
