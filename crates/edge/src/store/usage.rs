//! `usage_events`: every reported usage event, once, by the vendor's id.
//! Lists of ids and events cross as one JSON parameter (`json_each`), so a
//! request of 1 000 events is one statement, whatever D1's parameter limit.

use super::{Db, DbError, Row, Stmt, text};
use crate::stmt;

/// An event as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The vendor's id.
    pub id: String,
    /// The metered product.
    pub product_id: String,
    /// The UTC day of its timestamp.
    pub day: String,
    /// Its quantity, exactly as sent.
    pub quantity: String,
    /// As sent.
    pub timestamp: String,
    /// Why it was stored after its period was billed (`None`: billable).
    pub late: Option<String>,
}

fn stored(r: &Row) -> Option<Stored> {
    Some(Stored {
        id: text(r, "id")?,
        product_id: text(r, "product_id")?,
        day: text(r, "day")?,
        quantity: text(r, "quantity")?,
        timestamp: text(r, "timestamp")?,
        late: text(r, "late"),
    })
}

/// Which ids of `ids_json` (a JSON array of strings) are stored already.
pub async fn known(db: &impl Db, ids_json: &str) -> Result<Vec<String>, DbError> {
    let rows =
        db.query(stmt!("SELECT id FROM usage_events WHERE id IN (SELECT value FROM json_each(?1))", ids_json)).await?;
    Ok(rows.iter().filter_map(|r| text(r, "id")).collect())
}

/// Stores the events of `events_json` (a JSON array of `{id, contractId,
/// productId, day, quantity, timestamp, receivedAt, late}`); an id stored
/// before is left as it is.
#[must_use]
pub fn insert(events_json: &str, at: &str) -> Stmt {
    stmt!(
        "INSERT OR IGNORE INTO usage_events (id, contract_id, product_id, day, quantity, timestamp, received_at, stored_at, late) \
         SELECT json_extract(value, '$.id'), json_extract(value, '$.contractId'), json_extract(value, '$.productId'), \
         json_extract(value, '$.day'), json_extract(value, '$.quantity'), json_extract(value, '$.timestamp'), \
         json_extract(value, '$.receivedAt'), ?2, json_extract(value, '$.late') FROM json_each(?1)",
        events_json,
        at
    )
}

/// A contract's events from `from_day` on, billable and late alike.
pub async fn of_contract(db: &impl Db, contract_id: &str, from_day: &str) -> Result<Vec<Stored>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT id, product_id, day, quantity, timestamp, late FROM usage_events \
             WHERE contract_id = ?1 AND day >= ?2 ORDER BY day, id",
            contract_id,
            from_day
        ))
        .await?;
    Ok(rows.iter().filter_map(stored).collect())
}

/// A contract's late events (stored after their period was billed).
pub async fn late(db: &impl Db, contract_id: &str) -> Result<Vec<Stored>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT id, product_id, day, quantity, timestamp, late FROM usage_events \
             WHERE contract_id = ?1 AND late IS NOT NULL ORDER BY day, id LIMIT 1000",
            contract_id
        ))
        .await?;
    Ok(rows.iter().filter_map(stored).collect())
}

/// A late event with its contract, for a billing run's report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Late {
    /// `ctr_…`.
    pub contract_id: String,
    /// The event as stored.
    pub event: Stored,
}

/// Late events no run has listed yet (at most 1 000).
pub async fn unreported_late(db: &impl Db) -> Result<Vec<Late>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT contract_id, id, product_id, day, quantity, timestamp, late FROM usage_events \
             WHERE late IS NOT NULL AND late_reported_in IS NULL ORDER BY stored_at, id LIMIT 1000"
        ))
        .await?;
    Ok(rows.iter().filter_map(|r| Some(Late { contract_id: text(r, "contract_id")?, event: stored(r)? })).collect())
}

/// Marks the late events of `ids_json` (a JSON array) as listed by run `run`.
#[must_use]
pub fn mark_late_reported(ids_json: &str, run: &str) -> Stmt {
    stmt!(
        "UPDATE usage_events SET late_reported_in = ?2 WHERE id IN (SELECT value FROM json_each(?1)) AND late_reported_in IS NULL",
        ids_json,
        run
    )
}
