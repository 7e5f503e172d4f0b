//! `sessions` and `session_events`: a sign-up session as stored, each
//! version claimed by its event row; and `custom_id_claims`, the customIds
//! sessions hold while they finalize.

use serde_json::Value;

use super::stored_enum;
use super::{Db, DbError, Read, Row, Sql, Stmt, first};
use crate::stmt;

stored_enum! {
    /// Where a session is in its life.
    pub enum Status {
        /// Saved; can be updated, given a payment method, finalized or canceled.
        Open = "OPEN",
        /// A FINALIZE holds it while the payment is taken.
        Finalizing = "FINALIZING",
        /// Done: account, contract, invoice (and payment) exist.
        Finalized = "FINALIZED",
        /// Canceled by the visitor or the vendor.
        Canceled = "CANCELED",
    }
}

/// Writes a whole session row (an update keeps the row, so its events stay attached).
const UPSERT: &str = "INSERT INTO sessions (id, version, status, catalog_version, customer, bill_group, quote_request, quote, quote_id, quote_custom_id, account_id, contact_id, stripe_customer_id, setup_intent_id, setup_client_secret, payment_method_id, payment_method_name, payment_method_card, charge_attempts, last_error, bill_group_id, contract_id, invoice_id, payment_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26) ON CONFLICT (id) DO UPDATE SET version = excluded.version, status = excluded.status, catalog_version = excluded.catalog_version, customer = excluded.customer, bill_group = excluded.bill_group, quote_request = excluded.quote_request, quote = excluded.quote, quote_id = excluded.quote_id, quote_custom_id = excluded.quote_custom_id, account_id = excluded.account_id, contact_id = excluded.contact_id, stripe_customer_id = excluded.stripe_customer_id, setup_intent_id = excluded.setup_intent_id, setup_client_secret = excluded.setup_client_secret, payment_method_id = excluded.payment_method_id, payment_method_name = excluded.payment_method_name, payment_method_card = excluded.payment_method_card, charge_attempts = excluded.charge_attempts, last_error = excluded.last_error, bill_group_id = excluded.bill_group_id, contract_id = excluded.contract_id, invoice_id = excluded.invoice_id, payment_id = excluded.payment_id, updated_at = excluded.updated_at";

/// A session row.
#[derive(Clone, Debug, Default, PartialEq)]
#[allow(missing_docs)]
pub struct Session {
    pub id: String,
    pub version: i64,
    pub status: Option<Status>,
    pub catalog_version: i64,
    pub customer: Option<Value>,
    pub bill_group: Option<Value>,
    pub quote_request: Option<Value>,
    pub quote: Option<Value>,
    pub quote_id: String,
    pub quote_custom_id: Option<String>,
    pub account_id: String,
    pub contact_id: String,
    pub stripe_customer_id: Option<String>,
    pub setup_intent_id: Option<String>,
    pub setup_client_secret: Option<String>,
    pub payment_method_id: Option<String>,
    pub payment_method_name: Option<String>,
    pub payment_method_card: Option<Value>,
    pub charge_attempts: i64,
    pub last_error: Option<Value>,
    pub bill_group_id: Option<String>,
    pub contract_id: Option<String>,
    pub invoice_id: Option<String>,
    pub payment_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Session {
    /// The status (a row always has one).
    #[must_use]
    pub fn status(&self) -> Status {
        self.status.unwrap_or(Status::Open)
    }

    fn from_row(r: &Row) -> Result<Self, DbError> {
        let r = Read::new(r, "sessions", "id");
        Ok(Self {
            id: r.text("id")?,
            version: r.int("version")?,
            status: Some(r.parsed("status", Status::parse)?),
            catalog_version: r.int("catalog_version")?,
            customer: r.opt_json("customer")?,
            bill_group: r.opt_json("bill_group")?,
            quote_request: r.opt_json("quote_request")?,
            quote: r.opt_json("quote")?,
            quote_id: r.text("quote_id")?,
            quote_custom_id: r.opt_text("quote_custom_id")?,
            account_id: r.text("account_id")?,
            contact_id: r.text("contact_id")?,
            stripe_customer_id: r.opt_text("stripe_customer_id")?,
            setup_intent_id: r.opt_text("setup_intent_id")?,
            setup_client_secret: r.opt_text("setup_client_secret")?,
            payment_method_id: r.opt_text("payment_method_id")?,
            payment_method_name: r.opt_text("payment_method_name")?,
            payment_method_card: r.opt_json("payment_method_card")?,
            charge_attempts: r.int("charge_attempts")?,
            last_error: r.opt_json("last_error")?,
            bill_group_id: r.opt_text("bill_group_id")?,
            contract_id: r.opt_text("contract_id")?,
            invoice_id: r.opt_text("invoice_id")?,
            payment_id: r.opt_text("payment_id")?,
            created_at: r.text("created_at")?,
            updated_at: r.text("updated_at")?,
        })
    }

    /// Loads a session.
    pub async fn load(db: &impl Db, id: &str) -> Result<Option<Self>, DbError> {
        first(db, stmt!("SELECT * FROM sessions WHERE id = ?1", id)).await?.as_ref().map(Self::from_row).transpose()
    }

    fn columns(&self) -> Vec<Sql> {
        let j = |v: &Option<Value>| v.as_ref().map(Value::to_string);
        vec![
            self.id.as_str().into(),
            self.version.into(),
            self.status().as_str().into(),
            self.catalog_version.into(),
            j(&self.customer).into(),
            j(&self.bill_group).into(),
            j(&self.quote_request).into(),
            j(&self.quote).into(),
            self.quote_id.as_str().into(),
            self.quote_custom_id.clone().into(),
            self.account_id.as_str().into(),
            self.contact_id.as_str().into(),
            self.stripe_customer_id.clone().into(),
            self.setup_intent_id.clone().into(),
            self.setup_client_secret.clone().into(),
            self.payment_method_id.clone().into(),
            self.payment_method_name.clone().into(),
            j(&self.payment_method_card).into(),
            self.charge_attempts.into(),
            j(&self.last_error).into(),
            self.bill_group_id.clone().into(),
            self.contract_id.clone().into(),
            self.invoice_id.clone().into(),
            self.payment_id.clone().into(),
            self.created_at.as_str().into(),
            self.updated_at.as_str().into(),
        ]
    }

    /// Statements that write this session as version `self.version`, which
    /// must be one more than what the writer read: the event row's primary key
    /// makes a second writer of the same version fail (and its whole batch with it).
    #[must_use]
    pub fn save(&self, action: &str) -> Vec<Stmt> {
        let event = stmt!(
            "INSERT INTO session_events (session_id, version, action, at) VALUES (?1, ?2, ?3, ?4)",
            self.id.as_str(),
            self.version,
            action,
            self.updated_at.as_str()
        );
        let upsert = Stmt { sql: UPSERT, params: self.columns() };
        // The row first (session_events references it), then the version claim.
        vec![upsert, event]
    }

    /// The next version of this session, stamped `now`.
    #[must_use]
    pub fn next(&self, now: &str) -> Self {
        let mut s = self.clone();
        s.version = s.version.saturating_add(1);
        s.updated_at = now.to_owned();
        s
    }
}

/// The session holding a customId key, if any.
pub async fn custom_id_owner(db: &impl Db, key: &str) -> Result<Option<String>, DbError> {
    let row = first(db, stmt!("SELECT session_id FROM custom_id_claims WHERE custom_id = ?1", key)).await?;
    row.map(|r| Read::new(&r, "sessions", "session_id").text("session_id")).transpose()
}

/// Claims a customId key for a session: re-claiming one's own is fine;
/// another session's claim makes the INSERT (and so the whole batch) fail.
#[must_use]
pub fn claim_custom_id(key: &str, session: &str) -> Vec<Stmt> {
    vec![
        stmt!("DELETE FROM custom_id_claims WHERE custom_id = ?1 AND session_id = ?2", key, session),
        stmt!("INSERT INTO custom_id_claims (custom_id, session_id) VALUES (?1, ?2)", key, session),
    ]
}

/// Gives a session's claim on a customId key back.
#[must_use]
pub fn release_custom_id(key: &str, session: &str) -> Stmt {
    stmt!("DELETE FROM custom_id_claims WHERE custom_id = ?1 AND session_id = ?2", key, session)
}
