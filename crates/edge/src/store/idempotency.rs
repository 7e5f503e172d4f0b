//! `idempotency_keys`: a request's outcome under its `Idempotency-Key`, per caller.

use super::{Db, DbError, Read, Stmt, first};
use crate::stmt;

/// What is stored under a key.
#[derive(Clone, Debug)]
pub struct Stored {
    /// SHA-256 of method, path and body.
    pub request_hash: String,
    /// The answer's status; 0 while the request runs.
    pub status: i64,
    /// The answer's body.
    pub body: String,
    /// When the key was claimed.
    pub created_at: String,
}

/// The key's record, if any.
pub async fn find(db: &impl Db, principal: &str, key: &str) -> Result<Option<Stored>, DbError> {
    let row = first(
        db,
        stmt!(
            "SELECT request_hash, status, body, created_at FROM idempotency_keys WHERE principal = ?1 AND key = ?2",
            principal,
            key
        ),
    )
    .await?;
    row.map(|r| {
        let r = Read::new(&r, "idempotency_keys", "request_hash");
        Ok(Stored {
            request_hash: r.text("request_hash")?,
            status: r.int("status")?,
            body: r.opt_text("body")?.unwrap_or_default(),
            created_at: r.text("created_at")?,
        })
    })
    .transpose()
}

/// Claims the key for a running request (fails if someone holds it).
#[must_use]
pub fn claim(principal: &str, key: &str, hash: &str, at: &str) -> Stmt {
    stmt!(
        "INSERT INTO idempotency_keys (principal, key, request_hash, status, body, created_at) \
         VALUES (?1, ?2, ?3, 0, '', ?4)",
        principal,
        key,
        hash,
        at
    )
}

/// Drops a claim left by a request that stopped (started at `started`).
#[must_use]
pub fn drop_stale(principal: &str, key: &str, started: &str) -> Stmt {
    stmt!(
        "DELETE FROM idempotency_keys WHERE principal = ?1 AND key = ?2 AND status = 0 AND created_at = ?3",
        principal,
        key,
        started
    )
}

/// Keeps the answer under the key.
#[must_use]
pub fn keep(principal: &str, key: &str, status: u16, body: &str) -> Stmt {
    stmt!(
        "UPDATE idempotency_keys SET status = ?3, body = ?4 WHERE principal = ?1 AND key = ?2",
        principal,
        key,
        i64::from(status),
        body
    )
}

/// Frees the key.
#[must_use]
pub fn release(principal: &str, key: &str) -> Stmt {
    stmt!("DELETE FROM idempotency_keys WHERE principal = ?1 AND key = ?2", principal, key)
}
