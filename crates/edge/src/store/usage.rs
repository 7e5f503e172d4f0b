//! `usage_events`: every reported usage event, once, by its account and the
//! vendor's id; and
//! `usage_days`: their per-day aggregates, in parts (one per consumer batch),
//! which the billing run reads. Lists of ids and events cross as one JSON
//! parameter (`json_each`), so a request of 1 000 events is one statement,
//! whatever D1's parameter limit.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{Db, DbError, Read, Row, Stmt, read_all};
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

fn stored(r: &Row) -> Result<Stored, DbError> {
    let r = Read::new(r, "usage_events", "id");
    r.decimal("quantity")?;
    r.date("day")?;
    Ok(Stored {
        id: r.text("id")?,
        product_id: r.text("product_id")?,
        day: r.text("day")?,
        quantity: r.text("quantity")?,
        timestamp: r.text("timestamp")?,
        late: r.opt_text("late")?,
    })
}

/// Which events of `keys_json` (a JSON array of `[accountId, id]`) are stored
/// already: their keys.
pub async fn known(db: &impl Db, keys_json: &str) -> Result<Vec<(String, String)>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT e.account_id, e.id FROM usage_events e JOIN json_each(?1) AS k \
             ON e.account_id = k.value ->> 0 AND e.id = k.value ->> 1",
            keys_json
        ))
        .await?;
    read_all(&rows, |r| {
        let r = Read::new(r, "usage_events", "id");
        Ok((r.text("account_id")?, r.text("id")?))
    })
}

/// Stores the events of `events_json` (a JSON array of `{accountId, id,
/// contractId, productId, day, quantity, timestamp, receivedAt, late}`). A key
/// stored before fails the whole batch: the caller leaves out the keys it
/// found stored ([`known`]), so only a concurrent writer of the same key (whose
/// batch won) can, and the retry finds it stored.
#[must_use]
pub fn insert(events_json: &str, at: &str) -> Stmt {
    stmt!(
        "INSERT INTO usage_events (account_id, id, contract_id, product_id, day, quantity, timestamp, received_at, \
         stored_at, late) SELECT json_extract(value, '$.accountId'), \
         json_extract(value, '$.id'), json_extract(value, '$.contractId'), json_extract(value, '$.productId'), \
         json_extract(value, '$.day'), json_extract(value, '$.quantity'), json_extract(value, '$.timestamp'), \
         json_extract(value, '$.receivedAt'), ?2, json_extract(value, '$.late') FROM json_each(?1)",
        events_json,
        at
    )
}

/// One part of a day's aggregate: what one consumer batch stored of a
/// contract's product that day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayPart {
    /// The metered product.
    pub product_id: String,
    /// The UTC day.
    pub day: NaiveDate,
    /// The sum of its events' quantities.
    pub total: Decimal,
    /// The largest of them.
    pub peak: Decimal,
}

impl DayPart {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        let r = Read::new(r, "usage_days", "contract_id");
        Ok(Self {
            product_id: r.text("product_id")?,
            day: r.date("day")?,
            total: r.decimal("total")?,
            peak: r.decimal("peak")?,
        })
    }
}

/// Adds the parts of `parts_json` (a JSON array of `{contractId, day,
/// productId, total, peak, events}`) as part `part`, in the batch that
/// stores their events.
#[must_use]
pub fn add_day_parts(parts_json: &str, part: &str) -> Stmt {
    stmt!(
        "INSERT INTO usage_days (contract_id, day, product_id, part, total, peak, events) \
         SELECT json_extract(value, '$.contractId'), json_extract(value, '$.day'), json_extract(value, '$.productId'), \
         ?2, json_extract(value, '$.total'), json_extract(value, '$.peak'), json_extract(value, '$.events') \
         FROM json_each(?1)",
        parts_json,
        part
    )
}

/// Fails its batch (a conflict) unless the contract has exactly `parts` usage
/// parts of the days from `from_day` to before `until_day`: the billing run's
/// assertion that no event of a day it bills was stored for it between
/// reading its usage and issuing the invoice.
#[must_use]
pub fn parts_unchanged(contract_id: &str, from_day: &str, until_day: &str, parts: i64) -> Stmt {
    stmt!(PARTS_UNCHANGED, contract_id, from_day, until_day, parts)
}

/// [`parts_unchanged`].
pub(super) const PARTS_UNCHANGED: &str = "INSERT INTO stale_reads (ok) SELECT 0 WHERE \
     (SELECT COUNT(*) FROM usage_days WHERE contract_id = ?1 AND day >= ?2 AND day < ?3) <> ?4";

/// [`PARTS_UNCHANGED`] for many contracts.
pub(super) const PARTS_UNCHANGED_MANY: &str = "INSERT INTO stale_reads (ok) SELECT 0 FROM json_each(?1) AS g \
     WHERE (SELECT COUNT(*) FROM usage_days WHERE contract_id = g.value ->> 0 AND day >= g.value ->> 1 \
     AND day < g.value ->> 2) <> g.value ->> 3";

/// The billable usage of each contract of `read_json` (a JSON array of
/// `[contractId, fromDay]`) from its day on, as per-day parts, by contract:
/// a billing run's page reads them once. A contract with a part that cannot
/// be read has that error instead (the run reports it and bills the others).
pub async fn days_of_contracts(
    db: &impl Db,
    read_json: &str,
) -> Result<std::collections::BTreeMap<String, Result<Vec<DayPart>, DbError>>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT d.contract_id, d.product_id, d.day, d.total, d.peak FROM usage_days d \
             JOIN json_each(?1) AS r ON d.contract_id = r.value ->> 0 AND d.day >= r.value ->> 1 \
             ORDER BY d.contract_id, d.day, d.product_id, d.part",
            read_json
        ))
        .await?;
    let mut parts: std::collections::BTreeMap<String, Result<Vec<DayPart>, DbError>> =
        std::collections::BTreeMap::new();
    for r in &rows {
        let contract_id = Read::new(r, "usage_days", "contract_id").text("contract_id")?;
        let entry = parts.entry(contract_id).or_insert_with(|| Ok(Vec::new()));
        if let Ok(list) = entry {
            match DayPart::from_row(r) {
                Ok(part) => list.push(part),
                Err(e) => *entry = Err(e),
            }
        }
    }
    Ok(parts)
}

/// A contract's billable usage from `from_day` on, as per-day parts.
pub async fn days_of_contract(db: &impl Db, contract_id: &str, from_day: &str) -> Result<Vec<DayPart>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT product_id, day, total, peak FROM usage_days WHERE contract_id = ?1 AND day >= ?2 \
             ORDER BY day, product_id, part",
            contract_id,
            from_day
        ))
        .await?;
    read_all(&rows, DayPart::from_row)
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
    read_all(&rows, stored)
}

/// A late event with its contract, for a billing run's report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Late {
    /// `acct_…`.
    pub account_id: String,
    /// `ctr_…`.
    pub contract_id: String,
    /// The event as stored.
    pub event: Stored,
}

/// Late events no run has listed yet (at most 1 000).
pub async fn unreported_late(db: &impl Db) -> Result<Vec<Late>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT account_id, contract_id, id, product_id, day, quantity, timestamp, late FROM usage_events \
             WHERE late IS NOT NULL AND late_reported_in IS NULL ORDER BY stored_at, id LIMIT 1000"
        ))
        .await?;
    read_all(&rows, |r| {
        let read = Read::new(r, "usage_events", "id");
        Ok(Late { account_id: read.text("account_id")?, contract_id: read.text("contract_id")?, event: stored(r)? })
    })
}

/// Marks the late events of `keys_json` (a JSON array of `[accountId, id]`) as listed by run `run`.
#[must_use]
pub fn mark_late_reported(keys_json: &str, run: &str) -> Stmt {
    stmt!(
        "UPDATE usage_events SET late_reported_in = ?2 WHERE late_reported_in IS NULL AND EXISTS \
         (SELECT 1 FROM json_each(?1) AS k WHERE k.value ->> 0 = usage_events.account_id \
         AND k.value ->> 1 = usage_events.id)",
        keys_json,
        run
    )
}
