//! `invoices` and `billed_periods`: issued invoices (the body as answered,
//! the figures and the dunning state beside it) and which contract periods
//! each bills (a period is billed once: its claim is the primary key).

use rust_decimal::Decimal;
use serde_json::Value;

use super::stored_enum;
use super::{Db, DbError, Read, Row, Stmt, first, read_all};
use crate::stmt;

stored_enum! {
    /// Where an invoice stands.
    pub enum InvoiceStatus {
        /// Something is left to pay.
        Open = "OPEN",
        /// Paid (by card, credit or both).
        Paid = "PAID",
        /// Voided by dunning.
        Void = "VOID",
    }
}

impl InvoiceStatus {
    /// PAID when nothing is left to pay, else OPEN.
    #[must_use]
    pub fn of_due(due: Decimal) -> Self {
        if due.is_zero() { Self::Paid } else { Self::Open }
    }
}

/// Why an invoice is void: dunning gave up on it and its contract was
/// suspended; its periods are billed again, for the days before the
/// suspension, when the contract resumes (never reopened).
pub const VOID_SUSPENDED: &str = "SUSPENDED";

/// Whose invoice it is and how it stands.
pub struct InvoiceHead<'a> {
    /// `inv_…`.
    pub id: &'a str,
    /// `OPEN` or `PAID` (`DRAFT` for one not issued).
    pub status: &'a str,
    /// ISO currency.
    pub currency: &'a str,
    /// The account.
    pub account_id: &'a str,
    /// The contract.
    pub contract_id: &'a str,
    /// The bill group.
    pub bill_group_id: &'a str,
    /// Credit balance consumed by this invoice.
    pub credit_applied: Decimal,
    /// What is left to pay.
    pub amount_due: Decimal,
    /// When it was issued.
    pub at: &'a str,
}

/// The figures an invoice row keeps beside its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceFigures {
    /// `YYYY-MM-DD`.
    pub invoice_date: String,
    /// Before tax.
    pub amount_without_tax: Decimal,
    /// Tax.
    pub tax: Decimal,
    /// With tax.
    pub amount: Decimal,
}

impl InvoiceFigures {
    /// An engine invoice's figures.
    #[must_use]
    pub fn of(invoice: &pricing::Invoice) -> Self {
        Self {
            invoice_date: invoice.invoice_date.to_string(),
            amount_without_tax: invoice.amount_without_tax,
            tax: invoice.tax,
            amount: invoice.amount,
        }
    }
}

/// An invoice row ([`insert`]).
pub(super) const INSERT: &str = "INSERT INTO invoices (id, account_id, contract_id, bill_group_id, status, invoice_date, \
     currency, amount_without_tax, tax, amount, amount_due, body, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

/// [`INSERT`] for many invoices: their parameters as one JSON array of arrays.
pub(super) const INSERT_MANY: &str = "INSERT INTO invoices (id, account_id, contract_id, bill_group_id, status, \
     invoice_date, currency, amount_without_tax, tax, amount, amount_due, body, created_at) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, \
     value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11, value ->> 12 FROM json_each(?1)";

/// A period's claim ([`claim_period`]).
pub(super) const CLAIM_PERIOD: &str = "INSERT INTO billed_periods (contract_id, offering_id, period_start, invoice_id, \
     piece) VALUES (?1, ?2, ?3, ?4, ?5)";

/// [`CLAIM_PERIOD`] for many periods.
pub(super) const CLAIM_PERIODS: &str = "INSERT INTO billed_periods (contract_id, offering_id, period_start, invoice_id, \
     piece) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?1)";

/// Stores an invoice (`view` is the body as answered).
#[must_use]
pub fn insert(figures: &InvoiceFigures, head: &InvoiceHead<'_>, view: &Value) -> Stmt {
    stmt!(
        INSERT,
        head.id,
        head.account_id,
        head.contract_id,
        head.bill_group_id,
        head.status,
        figures.invoice_date.as_str(),
        head.currency,
        figures.amount_without_tax.to_string(),
        figures.tax.to_string(),
        figures.amount.to_string(),
        head.amount_due.to_string(),
        view.to_string(),
        head.at
    )
}

/// An invoice row.
#[derive(Clone, Debug)]
pub struct InvoiceRow {
    /// `inv_…`.
    pub id: String,
    /// The account.
    pub account_id: String,
    /// The contract.
    pub contract_id: String,
    /// The bill group.
    pub bill_group_id: String,
    /// Its status as stored.
    pub status: Option<InvoiceStatus>,
    /// ISO currency.
    pub currency: String,
    /// Left to pay.
    pub amount_due: Decimal,
    /// Charge attempts so far.
    pub attempts: i64,
    /// When dunning first failed.
    pub first_failed_on: Option<String>,
    /// The body as answered when issued.
    pub body: Option<Value>,
    /// When issued.
    pub created_at: Option<String>,
}

impl InvoiceRow {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        let r = Read::new(r, "invoices", "id");
        Ok(Self {
            id: r.text("id")?,
            account_id: r.text("account_id")?,
            contract_id: r.text("contract_id")?,
            bill_group_id: r.text("bill_group_id")?,
            status: Some(r.parsed("status", InvoiceStatus::parse)?),
            currency: r.text("currency")?,
            amount_due: r.decimal("amount_due")?,
            attempts: r.int("attempts")?,
            first_failed_on: r.opt_text("first_failed_on")?,
            body: Some(r.object("body")?),
            created_at: r.opt_text("created_at")?,
        })
    }
}

/// A contract's latest invoices (at most `limit`), newest first.
pub async fn latest_of_contract(db: &impl Db, contract: &str, limit: i64) -> Result<Vec<InvoiceRow>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT * FROM invoices WHERE contract_id = ?1 ORDER BY invoice_date DESC, created_at DESC LIMIT ?2",
            contract,
            limit
        ))
        .await?;
    read_all(&rows, InvoiceRow::from_row)
}

/// An invoice by id.
pub async fn load(db: &impl Db, id: &str) -> Result<Option<InvoiceRow>, DbError> {
    first(db, stmt!("SELECT * FROM invoices WHERE id = ?1", id)).await?.as_ref().map(InvoiceRow::from_row).transpose()
}

/// One page of an account's invoices, newest first, before the cursor's
/// time and id; `limit` rows.
pub async fn page_for_account(
    db: &impl Db,
    account: &str,
    before_at: &str,
    before_id: &str,
    limit: i64,
) -> Result<Vec<InvoiceRow>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT * FROM invoices WHERE account_id = ?1 \
             AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) ORDER BY created_at DESC, id DESC LIMIT ?4",
            account,
            before_at,
            before_id,
            limit
        ))
        .await?;
    read_all(&rows, InvoiceRow::from_row)
}

/// Paid by attempt `attempt`.
#[must_use]
pub fn paid_by_attempt(id: &str, attempt: i64) -> Stmt {
    stmt!(
        "UPDATE invoices SET status = 'PAID', amount_due = '0', attempts = ?2, next_attempt_on = NULL WHERE id = ?1",
        id,
        attempt
    )
}

/// Paid (Stripe said so by webhook).
#[must_use]
pub fn paid(id: &str) -> Stmt {
    stmt!("UPDATE invoices SET status = 'PAID', amount_due = '0', next_attempt_on = NULL WHERE id = ?1", id)
}

/// Attempt `attempt` failed: the next one is on `next`.
#[must_use]
pub fn retry_on(id: &str, attempt: i64, next: &str, first_failed: &str) -> Stmt {
    stmt!(
        "UPDATE invoices SET attempts = ?2, next_attempt_on = ?3, first_failed_on = ?4 WHERE id = ?1",
        id,
        attempt,
        next,
        first_failed
    )
}

/// The last retry failed: void.
#[must_use]
pub fn void_after(id: &str, attempt: i64) -> Stmt {
    stmt!("UPDATE invoices SET status = 'VOID', attempts = ?2, next_attempt_on = NULL WHERE id = ?1", id, attempt)
}

/// Every open run invoice of a suspended contract (and `invoice`) is void.
#[must_use]
pub fn void_for_suspension(contract: &str, invoice: &str) -> Stmt {
    stmt!(
        "UPDATE invoices SET status = 'VOID', void_reason = ?2, next_attempt_on = NULL WHERE contract_id = ?1 \
         AND (status = 'OPEN' OR id = ?3) AND id IN (SELECT invoice_id FROM billed_periods WHERE contract_id = ?1)",
        contract,
        VOID_SUSPENDED,
        invoice
    )
}

/// Opens a voided invoice again (a new card retries it).
#[must_use]
pub fn reopen(id: &str) -> Stmt {
    stmt!("UPDATE invoices SET status = 'OPEN' WHERE id = ?1", id)
}

/// The contract's oldest invoice in dunning (open after a failed charge), if any.
pub async fn in_dunning(db: &impl Db, contract: &str) -> Result<Option<String>, DbError> {
    let row = first(
        db,
        stmt!(
            "SELECT id FROM invoices WHERE contract_id = ?1 AND status = 'OPEN' AND attempts > 0 ORDER BY id LIMIT 1",
            contract
        ),
    )
    .await?;
    row.map(|r| Read::new(&r, "invoices", "id").text("id")).transpose()
}

/// What dunning gave up on for an account (open after attempts, or void but
/// not for a suspension): ids and statuses.
pub async fn unpaid_after_dunning(
    db: &impl Db,
    account: &str,
) -> Result<Vec<(String, Option<InvoiceStatus>)>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT id, status FROM invoices WHERE account_id = ?1 AND attempts > 0 AND (status = 'OPEN' \
             OR (status = 'VOID' AND void_reason IS NOT ?2)) ORDER BY id",
            account,
            VOID_SUSPENDED
        ))
        .await?;
    read_all(&rows, |r| {
        let r = Read::new(r, "invoices", "id");
        Ok((r.text("id")?, Some(r.parsed("status", InvoiceStatus::parse)?)))
    })
}

/// An open invoice credit may pay: its id, what is due (as stored, the
/// guard of the update) and the credit it has had.
#[derive(Clone, Debug)]
pub struct Creditable {
    /// `inv_…`.
    pub id: String,
    /// `amount_due` exactly as stored.
    pub due_text: String,
    /// The body's `creditApplied` so far.
    pub credit_applied: Decimal,
    /// The invoice as answered (its lines say what paying it grants).
    pub body: Value,
}

/// The account's open invoices no charge is running on, oldest first.
pub async fn creditable(db: &impl Db, account: &str) -> Result<Vec<Creditable>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT id, amount_due, body FROM invoices WHERE account_id = ?1 AND status = 'OPEN' \
             AND id NOT IN (SELECT invoice_id FROM payment_attempts WHERE status = 'PENDING') \
             ORDER BY invoice_date, created_at, id",
            account
        ))
        .await?;
    read_all(&rows, |r| {
        let r = Read::new(r, "invoices", "id");
        r.decimal("amount_due")?;
        let body = r.object("body")?;
        let credit_applied = match body.get("creditApplied") {
            None | Some(Value::Null) => Decimal::ZERO,
            Some(v) => {
                pricing::parse_decimal(v.as_str().map_or(&v.to_string(), |s| s)).map_err(|_| r.unreadable("body"))?
            }
        };
        Ok(Creditable { id: r.text("id")?, due_text: r.text("amount_due")?, credit_applied, body })
    })
}

/// Credit pays part (or all) of an open invoice whose `amount_due` is still
/// `due_text`; with the guard after it, the whole batch fails if the invoice
/// was paid or changed meanwhile (so no credit counts as applied that was not).
/// `amount_due_json` and `credit_json` are the body's new figures.
#[must_use]
pub fn apply_credit(
    c: &Creditable,
    due_after: Decimal,
    status: InvoiceStatus,
    amount_due_json: &str,
    credit_json: &str,
) -> Vec<Stmt> {
    vec![
        stmt!(
            "UPDATE invoices SET amount_due = ?2, status = ?3, next_attempt_on = CASE WHEN ?3 = 'PAID' THEN NULL \
             ELSE next_attempt_on END, body = json_set(body, '$.amountDue', json(?4), '$.creditApplied', json(?5), \
             '$.status', ?3) WHERE id = ?1 AND status = 'OPEN' AND amount_due = ?6",
            c.id.as_str(),
            due_after.to_string(),
            status.as_str(),
            amount_due_json,
            credit_json,
            c.due_text.as_str()
        ),
        stmt!("INSERT INTO write_guards (id, why) SELECT 'changed-nothing', '' WHERE changes() = 0"),
    ]
}

/// Invoices read at a time when collecting those due.
pub const COLLECT_PAGE: i64 = 200;

/// One page (after `after`) of the invoices a charge can be tried on for
/// `date`: open, in a bill group that collects automatically, the account
/// with a card; their next attempt due, or issued by a run but never tried,
/// or an attempt left PENDING. (Invoices paid by bank transfer stay open for
/// weeks; were they read here, each run would spend its pages on them.)
pub async fn due_for_collection(db: &impl Db, date: &str, after: &str) -> Result<Vec<String>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT i.id FROM invoices i \
             JOIN bill_groups b ON b.id = i.bill_group_id AND b.collect_automatically = 1 \
             JOIN accounts a ON a.id = i.account_id AND a.default_payment_method_id IS NOT NULL \
             WHERE i.status = 'OPEN' AND i.id > ?2 AND \
             ((i.next_attempt_on IS NOT NULL AND i.next_attempt_on <= ?1) OR (i.attempts = 0 AND i.invoice_date <= ?1 \
             AND i.id IN (SELECT invoice_id FROM billed_periods)) \
             OR i.id IN (SELECT invoice_id FROM payment_attempts WHERE status = 'PENDING')) ORDER BY i.id LIMIT ?3",
            date,
            after,
            COLLECT_PAGE
        ))
        .await?;
    read_all(&rows, |r| Read::new(r, "invoices", "id").text("id"))
}

/// What a period claim names (`billed_periods.offering_id`), beside the
/// period's start: a contract line's period (its recurring charge, and its
/// usage when billed with it), a period of its usage alone (billed on
/// another date than the line's advance charge of the same start), or a
/// kept piece ending on a day (the line may have billed that start already).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// `{offering}`.
    Period(String),
    /// `{offering}#usage`.
    Usage(String),
    /// `{offering}#kept@{end}`.
    Kept(String, String),
}

impl Claimed {
    /// The stored key.
    #[must_use]
    pub fn key(&self) -> String {
        match self {
            Self::Period(o) => o.clone(),
            Self::Usage(o) => format!("{o}#usage"),
            Self::Kept(o, end) => format!("{o}#kept@{end}"),
        }
    }

    /// A stored key read back (every text is one of the three).
    #[must_use]
    pub fn parse(key: &str) -> Self {
        if let Some((o, end)) = key.rsplit_once("#kept@") {
            return Self::Kept(o.to_owned(), end.to_owned());
        }
        key.strip_suffix("#usage").map_or_else(|| Self::Period(key.to_owned()), |o| Self::Usage(o.to_owned()))
    }
}

/// Claims a contract line's period for `invoice` (a second claim fails the
/// batch); a kept piece's claim keeps the piece (`piece`: its JSON as the
/// contract held it).
#[must_use]
pub fn claim_period(contract: &str, claim: &Claimed, period_start: &str, invoice: &str, piece: Option<String>) -> Stmt {
    stmt!(CLAIM_PERIOD, contract, claim.key(), period_start, invoice, piece)
}

/// The kept pieces billed on `invoice` or on the contract's open invoices
/// (what a suspension voids), as the contract held them (JSON text).
pub async fn pieces_open_or(db: &impl Db, contract: &str, invoice: &str) -> Result<Vec<String>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT b.offering_id, b.piece FROM billed_periods b JOIN invoices i ON i.id = b.invoice_id \
             WHERE b.contract_id = ?1 AND (i.id = ?2 OR i.status = 'OPEN') AND b.piece IS NOT NULL",
            contract,
            invoice
        ))
        .await?;
    read_all(&rows, |r| Read::new(r, "billed_periods", "offering_id").text("piece"))
}

/// The periods (claim, start) billed on `invoice` or on the contract's open invoices.
pub async fn periods_open_or(
    db: &impl Db,
    contract: &str,
    invoice: &str,
) -> Result<Vec<(Claimed, chrono::NaiveDate)>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT b.offering_id, b.period_start FROM billed_periods b JOIN invoices i ON i.id = b.invoice_id \
             WHERE b.contract_id = ?1 AND (i.id = ?2 OR i.status = 'OPEN')",
            contract,
            invoice
        ))
        .await?;
    read_all(&rows, |r| {
        let r = Read::new(r, "billed_periods", "offering_id");
        Ok((Claimed::parse(&r.text("offering_id")?), r.date("period_start")?))
    })
}

/// The period claims of a contract's invoices voided for its suspension give way.
#[must_use]
pub fn release_suspended_periods(contract: &str) -> Stmt {
    stmt!(
        "DELETE FROM billed_periods WHERE contract_id = ?1 AND invoice_id IN \
         (SELECT id FROM invoices WHERE contract_id = ?1 AND status = 'VOID' AND void_reason = ?2)",
        contract,
        VOID_SUSPENDED
    )
}
