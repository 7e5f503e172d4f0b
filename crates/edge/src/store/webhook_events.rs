//! `webhook_events`: Stripe events already handled (each handled once).

use super::{Db, DbError, Stmt};
use crate::stmt;

/// Whether the event was handled before.
pub async fn seen(db: &impl Db, id: &str) -> Result<bool, DbError> {
    Ok(!db.query(stmt!("SELECT id FROM webhook_events WHERE id = ?1", id)).await?.is_empty())
}

/// Remembers a handled event.
#[must_use]
pub fn insert(id: &str, kind: &str, at: &str) -> Stmt {
    stmt!("INSERT INTO webhook_events (id, type, received_at) VALUES (?1, ?2, ?3)", id, kind, at)
}
