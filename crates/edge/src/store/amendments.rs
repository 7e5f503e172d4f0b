//! `amendments`: a contract's changes (applied, scheduled for a later date,
//! waiting for review, being charged, closed), each with the request that
//! asked for it and the quote it answered.

use serde_json::{Value, json};

use super::stored_enum;
use super::{Db, DbError, Read, Row, Stmt, first, read_all};
use crate::stmt;

stored_enum! {
    /// Where an amendment stands.
    pub enum AmendmentStatus {
        /// In force.
        Applied = "APPLIED",
        /// Takes effect on its date (the billing run applies it).
        Scheduled = "SCHEDULED",
        /// Waits for the vendor's approval.
        Review = "REVIEW",
        /// Its charge is under way (or its outcome unknown).
        PaymentPending = "PAYMENT_PENDING",
        /// Its charge failed, or it could not be applied on its date.
        Failed = "FAILED",
        /// The vendor refused it.
        Rejected = "REJECTED",
        /// Taken back before it took effect.
        Withdrawn = "WITHDRAWN",
    }
}

/// An amendment as written (inserted, or its state updated).
pub struct AmendmentWrite<'a> {
    /// `amd_…`.
    pub id: &'a str,
    /// The contract.
    pub contract_id: &'a str,
    /// Its account.
    pub account_id: &'a str,
    /// The action (`QUANTITY_CHANGE`, `MULTIPLE`, `RENEW`, …).
    pub action: &'a str,
    /// Its state.
    pub status: AmendmentStatus,
    /// When it takes effect.
    pub effective_date: &'a str,
    /// The operation asked for.
    pub request: &'a Value,
    /// The quote answered.
    pub quote: &'a Value,
    /// The catalog version it was priced on.
    pub catalog_version: i64,
    /// The invoice it issued.
    pub invoice_id: Option<&'a str>,
    /// Why it failed.
    pub error: Option<&'a Value>,
    /// When.
    pub at: &'a str,
}

impl AmendmentWrite<'_> {
    /// Inserts the amendment, or updates its state, quote, invoice, error and date.
    #[must_use]
    pub fn upsert(&self) -> Stmt {
        stmt!(
            "INSERT INTO amendments (id, contract_id, account_id, action, status, effective_date, request, quote, \
             catalog_version, invoice_id, error, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, quote = excluded.quote, \
             invoice_id = excluded.invoice_id, error = excluded.error, effective_date = excluded.effective_date, \
             updated_at = excluded.updated_at",
            self.id,
            self.contract_id,
            self.account_id,
            self.action,
            self.status.as_str(),
            self.effective_date,
            self.request.to_string(),
            self.quote.to_string(),
            self.catalog_version,
            self.invoice_id,
            self.error.map(Value::to_string),
            self.at
        )
    }
}

/// Keeps the plan of a change being charged on its amendment.
#[must_use]
pub fn set_plan(id: &str, plan: &Value) -> Stmt {
    stmt!("UPDATE amendments SET plan = ?2 WHERE id = ?1", id, plan.to_string())
}

/// Marks a PAYMENT_PENDING amendment as let go with `code` (its outcome unknown).
#[must_use]
pub fn let_go(id: &str, code: &str, at: &str) -> Stmt {
    stmt!(
        "UPDATE amendments SET error = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'PAYMENT_PENDING'",
        id,
        json!({ "code": code }).to_string(),
        at
    )
}

/// Closes a pending amendment.
#[must_use]
pub fn set_status(id: &str, status: AmendmentStatus, at: &str) -> Stmt {
    stmt!("UPDATE amendments SET status = ?2, updated_at = ?3 WHERE id = ?1", id, status.as_str(), at)
}

/// A scheduled amendment that could not be applied on its date.
#[must_use]
pub fn fail_scheduled(id: &str, error: &Value) -> Stmt {
    stmt!(
        "UPDATE amendments SET status = 'FAILED', error = ?2 WHERE id = ?1 AND status = 'SCHEDULED'",
        id,
        error.to_string()
    )
}

/// A contract's PAYMENT_PENDING amendment.
#[derive(Clone, Debug)]
pub struct Pending {
    /// `amd_…`.
    pub id: String,
    /// The operation asked for.
    pub request: Option<Value>,
    /// What applying it writes.
    pub plan: Option<Value>,
    /// Set when its request let it go.
    pub error: Option<Value>,
    /// When it was last claimed.
    pub updated_at: String,
}

/// Which contracts of `ids_json` (a JSON array) have a change waiting on its
/// payment, or one scheduled on or before `date`: a billing run's page asks
/// once for all its contracts, and only those need the per-contract reads.
pub async fn waiting_among(
    db: &impl Db,
    ids_json: &str,
    date: &str,
) -> Result<std::collections::BTreeSet<String>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT DISTINCT contract_id FROM amendments WHERE contract_id IN (SELECT value FROM json_each(?1)) \
             AND (status = 'PAYMENT_PENDING' OR (status = 'SCHEDULED' AND effective_date <= ?2))",
            ids_json,
            date
        ))
        .await?;
    rows.iter().map(|r| Read::new(r, "amendments", "contract_id").text("contract_id")).collect()
}

/// The contract's oldest PAYMENT_PENDING amendment.
pub async fn payment_pending(db: &impl Db, contract: &str) -> Result<Option<Pending>, DbError> {
    let row = first(
        db,
        stmt!(
            "SELECT id, request, plan, error, updated_at FROM amendments \
             WHERE contract_id = ?1 AND status = 'PAYMENT_PENDING' ORDER BY created_at LIMIT 1",
            contract
        ),
    )
    .await?;
    row.map(|r| {
        let r = Read::new(&r, "amendments", "id");
        Ok(Pending {
            id: r.text("id")?,
            request: Some(r.json("request")?),
            plan: r.opt_json("plan")?,
            error: r.opt_json("error")?,
            updated_at: r.text("updated_at")?,
        })
    })
    .transpose()
}

/// Ids of the contract's amendments still to happen (scheduled, under review, being charged).
pub async fn open_ids(db: &impl Db, contract: &str) -> Result<Vec<String>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT id, status FROM amendments WHERE contract_id = ?1 \
             AND status IN ('SCHEDULED', 'REVIEW', 'PAYMENT_PENDING')",
            contract
        ))
        .await?;
    read_all(&rows, |r| Read::new(r, "amendments", "id").text("id"))
}

/// An amendment as listed on its contract.
#[derive(Clone, Debug)]
pub struct Listed {
    /// `amd_…`.
    pub id: Option<String>,
    /// The action.
    pub action: Option<String>,
    /// Its state.
    pub status: Option<String>,
    /// When it takes effect.
    pub effective_date: Option<String>,
    /// The invoice it issued.
    pub invoice_id: Option<String>,
    /// Why it failed.
    pub error: Option<Value>,
    /// When it was asked for.
    pub created_at: Option<String>,
    /// The operation asked for.
    pub request: Option<Value>,
    /// The quote answered.
    pub quote: Option<Value>,
}

/// Every amendment of the contract, oldest first.
pub async fn of_contract(db: &impl Db, contract: &str) -> Result<Vec<Listed>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT id, action, status, effective_date, invoice_id, error, created_at, request, quote FROM amendments \
             WHERE contract_id = ?1 ORDER BY created_at, id",
            contract
        ))
        .await?;
    read_all(&rows, |r| {
        let r = Read::new(r, "amendments", "id");
        Ok(Listed {
            id: Some(r.text("id")?),
            action: Some(r.text("action")?),
            status: Some(r.text("status")?),
            effective_date: Some(r.text("effective_date")?),
            invoice_id: r.opt_text("invoice_id")?,
            error: r.opt_json("error")?,
            created_at: Some(r.text("created_at")?),
            request: Some(r.json("request")?),
            quote: Some(r.json("quote")?),
        })
    })
}

/// One amendment of a contract: its status (as stored) and request.
pub async fn find(db: &impl Db, id: &str, contract: &str) -> Result<Option<(String, Value)>, DbError> {
    let row = first(db, stmt!("SELECT * FROM amendments WHERE id = ?1 AND contract_id = ?2", id, contract)).await?;
    row.map(|r| {
        let r = Read::new(&r, "amendments", "id");
        Ok((r.text("status")?, r.json("request")?))
    })
    .transpose()
}

/// A SCHEDULED amendment as the billing run applies it.
#[derive(Clone, Debug)]
pub struct Scheduled {
    /// `amd_…`.
    pub id: String,
    /// Its effective date.
    pub effective: chrono::NaiveDate,
    /// The operation(s) as sent.
    pub request: Value,
    /// The catalog version it was quoted on.
    pub catalog_version: i64,
}

/// The contract's next SCHEDULED amendment dated on or before `date`.
pub async fn next_scheduled(db: &impl Db, contract: &str, date: &str) -> Result<Option<Scheduled>, DbError> {
    let row = first(
        db,
        stmt!(
            "SELECT id, effective_date, request, catalog_version FROM amendments WHERE contract_id = ?1 AND status = 'SCHEDULED' \
             AND effective_date <= ?2 ORDER BY effective_date, id LIMIT 1",
            contract,
            date
        ),
    )
    .await?;
    row.map(|r: Row| {
        let r = Read::new(&r, "amendments", "id");
        Ok(Scheduled {
            id: r.text("id")?,
            effective: r.date("effective_date")?,
            request: r.json("request")?,
            catalog_version: r.int("catalog_version")?,
        })
    })
    .transpose()
}

/// An amendment's quote, with its account (for `GET /api/quotes/{id}`).
pub async fn quote(db: &impl Db, id: &str) -> Result<Option<(Option<String>, Option<Value>)>, DbError> {
    let row = first(db, stmt!("SELECT account_id, quote AS body FROM amendments WHERE id = ?1", id)).await?;
    row.map(|r| {
        let r = Read::new(&r, "amendments", "account_id");
        Ok((Some(r.text("account_id")?), Some(r.object("body").map_err(|_| r.unreadable("quote"))?)))
    })
    .transpose()
}
