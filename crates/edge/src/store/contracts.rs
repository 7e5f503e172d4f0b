//! `contracts` and `contract_events`: a contract as stored (the engine's
//! contract JSON plus the API's own fields), each version claimed by its event.

use serde_json::Value;

use super::stored_enum;
use super::{Db, DbError, Read, Row, Stmt, first, read_all};
use crate::stmt;

stored_enum! {
    /// A contract's stored status.
    pub enum ContractStatus {
        /// Billed by the daily run.
        Active = "ACTIVE",
        /// Ended (its kept arrears pieces are still billed).
        Canceled = "CANCELED",
        /// Dunning gave up: nothing is billed until a new card resumes it.
        Suspended = "SUSPENDED",
    }
}

/// A version's event, its claim: a second writer of the version fails on the key.
pub(super) const CLAIM_EVENT: &str =
    "INSERT INTO contract_events (contract_id, version, action, at) VALUES (?1, ?2, ?3, ?4)";

/// [`CLAIM_EVENT`] for many contracts.
pub(super) const CLAIM_EVENTS: &str = "INSERT INTO contract_events (contract_id, version, action, at) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?1)";

/// A claimed version's row: version, time, body and status.
pub(super) const CLAIM_BODY: &str =
    "UPDATE contracts SET version = ?2, updated_at = ?3, body = ?4, status = ?5 WHERE id = ?1";

/// [`CLAIM_BODY`] for many contracts.
pub(super) const CLAIM_BODIES: &str = "UPDATE contracts SET version = u.value ->> 1, updated_at = u.value ->> 2, \
     body = u.value ->> 3, status = u.value ->> 4 FROM json_each(?1) AS u WHERE contracts.id = u.value ->> 0";

/// Fails its batch (a conflict) unless each contract of `read_json` (a JSON
/// array of `[id, version]`) is still at the version read: what a write that
/// read contracts asserts when it claims no version of its own (the usage
/// consumer, whose events' coverage depends on them).
#[must_use]
pub fn still_at(read_json: &str) -> Stmt {
    stmt!(
        "INSERT INTO stale_reads (ok) SELECT 0 FROM json_each(?1) AS r JOIN contracts c ON c.id = r.value ->> 0 \
         WHERE c.version <> r.value ->> 1",
        read_json
    )
}

/// A contract row.
#[derive(Clone, Debug)]
pub struct ContractRow {
    /// `ctr_…`.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// Bill group.
    pub bill_group_id: String,
    /// The stored status.
    pub status: ContractStatus,
    /// The engine's contract with the API's fields (JSON).
    pub body: Value,
    /// Bumped by every write.
    pub version: i64,
}

impl ContractRow {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        let r = Read::new(r, "contracts", "id");
        Ok(Self {
            id: r.text("id")?,
            account_id: r.text("account_id")?,
            bill_group_id: r.text("bill_group_id")?,
            status: r.parsed("status", ContractStatus::parse)?,
            body: r.object("body")?,
            version: r.int("version")?,
        })
    }

    /// Its stored body, read by the engine, is not a contract (`why`): the
    /// error that names the column, as for any stored value that does not read.
    #[must_use]
    pub fn unreadable_body(&self, why: impl std::fmt::Display) -> DbError {
        super::Unreadable::error("contracts.body", &self.id, why)
    }

    /// Statements claiming version `version` (a racing writer's batch fails whole).
    #[must_use]
    pub fn claim(&self, version: i64, action: &str, at: &str) -> Vec<Stmt> {
        vec![
            stmt!(CLAIM_EVENT, self.id.as_str(), version, action, at),
            stmt!("UPDATE contracts SET version = ?2, updated_at = ?3 WHERE id = ?1", self.id.as_str(), version, at),
        ]
    }

    /// `claim` and the version's stored body and status, in two statements
    /// (the version's event, then one update of the row).
    #[must_use]
    pub fn claim_with_body(
        &self,
        version: i64,
        action: &str,
        at: &str,
        body: &Value,
        status: ContractStatus,
    ) -> Vec<Stmt> {
        vec![
            stmt!(CLAIM_EVENT, self.id.as_str(), version, action, at),
            stmt!(CLAIM_BODY, self.id.as_str(), version, at, body.to_string(), status.as_str()),
        ]
    }
}

/// A contract a billing run's page bills, with what the page read once for it.
#[derive(Clone, Debug)]
pub struct Billable {
    /// The contract as the page read it.
    pub row: ContractRow,
    /// Whether its bill group charges the card.
    pub collects: bool,
    /// Its account's billing address (tax follows it).
    pub billing_address: Option<Value>,
    /// Its account's credit balance when the page read it.
    pub credit_balance: rust_decimal::Decimal,
}

/// A contract by id.
pub async fn load(db: &impl Db, id: &str) -> Result<Option<ContractRow>, DbError> {
    first(db, stmt!("SELECT * FROM contracts WHERE id = ?1", id)).await?.as_ref().map(ContractRow::from_row).transpose()
}

/// Sets the stored body.
#[must_use]
pub fn set_body(id: &str, body: &Value) -> Stmt {
    stmt!("UPDATE contracts SET body = ?2 WHERE id = ?1", id, body.to_string())
}

/// Sets the stored body and status.
#[must_use]
pub fn set_body_status(id: &str, body: &Value, status: ContractStatus) -> Stmt {
    stmt!("UPDATE contracts SET body = ?2, status = ?3 WHERE id = ?1", id, body.to_string(), status.as_str())
}

/// Sets the stored body, status and the catalog version it is priced on.
#[must_use]
pub fn set_terms(id: &str, body: &Value, status: ContractStatus, catalog_version: i64) -> Stmt {
    stmt!(
        "UPDATE contracts SET body = ?2, status = ?3, catalog_version = ?4 WHERE id = ?1",
        id,
        body.to_string(),
        status.as_str(),
        catalog_version
    )
}

/// A new contract.
pub struct NewContract<'a> {
    /// `ctr_…`.
    pub id: &'a str,
    /// Owner.
    pub account_id: &'a str,
    /// Bill group.
    pub bill_group_id: &'a str,
    /// The quote it was sold on.
    pub quote_id: &'a str,
    /// The catalog version it is priced on.
    pub catalog_version: i64,
    /// Its status.
    pub status: ContractStatus,
    /// Its body.
    pub body: &'a Value,
    /// When.
    pub at: &'a str,
}

impl NewContract<'_> {
    /// Stores the contract.
    #[must_use]
    pub fn insert(&self) -> Stmt {
        stmt!(
            "INSERT INTO contracts (id, account_id, bill_group_id, quote_id, catalog_version, status, body, created_at, \
             updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            self.id,
            self.account_id,
            self.bill_group_id,
            self.quote_id,
            self.catalog_version,
            self.status.as_str(),
            self.body.to_string(),
            self.at
        )
    }
}

/// The stored body of a contract.
pub async fn body(db: &impl Db, id: &str) -> Result<Option<Value>, DbError> {
    let row = first(db, stmt!("SELECT id, body FROM contracts WHERE id = ?1", id)).await?;
    row.map(|r| Read::new(&r, "contracts", "id").object("body")).transpose()
}

/// One page of the contracts a billing run looks at (active, or canceled
/// with arrears still to bill), by id after `cursor` and (unless `until` is
/// empty) before `until`: each contract's id with its row, or why the row
/// cannot be read (the run reports that contract and bills the others).
pub async fn billable_page(
    db: &impl Db,
    cursor: &str,
    until: &str,
    limit: i64,
) -> Result<Vec<(String, Result<Billable, DbError>)>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT c.*, b.collect_automatically AS page_collects, a.billing_address AS page_address, \
             a.credit_balance AS page_credit FROM contracts c \
             LEFT JOIN bill_groups b ON b.id = c.bill_group_id LEFT JOIN accounts a ON a.id = c.account_id \
             WHERE (c.status = 'ACTIVE' OR (c.status = 'CANCELED' AND \
             json_extract(c.body, '$.unbilledArrears') IS NOT NULL)) AND c.id > ?1 AND (?3 = '' OR c.id < ?3) \
             ORDER BY c.id LIMIT ?2",
            cursor,
            limit,
            until
        ))
        .await?;
    read_all(&rows, |r| {
        let read = Read::new(r, "contracts", "id");
        // The account's columns, read under their page names.
        let account = Read::new(r, "accounts", "account_id");
        let billable = || {
            Ok(Billable {
                row: ContractRow::from_row(r)?,
                collects: read.opt_int("page_collects")? == Some(1),
                billing_address: account.opt_json("page_address").map_err(|_| account.unreadable("billing_address"))?,
                credit_balance: account.decimal("page_credit").map_err(|_| account.unreadable("credit_balance"))?,
            })
        };
        Ok((read.text("id")?, billable()))
    })
}

/// The account's suspended contracts with no invoice left unpaid by dunning.
pub async fn resumable(db: &impl Db, account: &str) -> Result<Vec<String>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT id FROM contracts WHERE account_id = ?1 AND status = 'SUSPENDED' \
             AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.contract_id = contracts.id AND i.attempts > 0 \
             AND i.status = 'OPEN') ORDER BY id",
            account
        ))
        .await?;
    read_all(&rows, |r| Read::new(r, "contracts", "id").text("id"))
}

/// How many of the account's contracts are active.
pub async fn active_count(db: &impl Db, account: &str) -> Result<Option<i64>, DbError> {
    let row =
        first(db, stmt!("SELECT COUNT(*) AS n FROM contracts WHERE account_id = ?1 AND status = 'ACTIVE'", account))
            .await?;
    row.map(|r| Read::new(&r, "contracts", "account_id").int("n")).transpose()
}

/// A contract as listed: its body, status and version.
#[derive(Clone, Debug)]
pub struct Listed {
    /// The stored body.
    pub body: Option<Value>,
    /// The stored status.
    pub status: Option<String>,
    /// The version.
    pub version: Option<i64>,
    /// For the cursor.
    pub created_at: Option<String>,
    /// For the cursor.
    pub id: Option<String>,
}

/// One page of an account's contracts, newest first, before the cursor's
/// time and id; `limit` rows.
pub async fn page_for_account(
    db: &impl Db,
    account: &str,
    before_at: &str,
    before_id: &str,
    limit: i64,
) -> Result<Vec<Listed>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT id, status, body, version, created_at FROM contracts WHERE account_id = ?1 \
             AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) ORDER BY created_at DESC, id DESC LIMIT ?4",
            account,
            before_at,
            before_id,
            limit
        ))
        .await?;
    read_all(&rows, |r| {
        let r = Read::new(r, "contracts", "id");
        Ok(Listed {
            body: Some(r.object("body")?),
            status: Some(r.text("status")?),
            version: Some(r.int("version")?),
            created_at: Some(r.text("created_at")?),
            id: Some(r.text("id")?),
        })
    })
}
