//! `accounts` with their `contacts`, `bill_groups` and `payment_methods`.

use rust_decimal::Decimal;
use serde_json::Value;

use super::{Db, DbError, Read, Row, Stmt, first, read_all};
use crate::stmt;

/// An account row.
#[derive(Clone, Debug, Default)]
pub struct Account {
    /// `acct_…`.
    pub id: String,
    /// The vendor's reference, as given.
    pub custom_id: Option<String>,
    /// The company's name.
    pub name: Option<String>,
    /// ISO currency.
    pub currency: String,
    /// The billing address (tax follows it).
    pub billing_address: Option<Value>,
    /// The Stripe customer.
    pub stripe_customer_id: Option<String>,
    /// The card charged.
    pub default_payment_method_id: Option<String>,
    /// Credit kept for later invoices.
    pub credit_balance: Decimal,
    /// When it was created.
    pub created_at: Option<String>,
}

impl Account {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        let r = Read::new(r, "accounts", "id");
        Ok(Self {
            id: r.text("id")?,
            custom_id: r.opt_text("custom_id")?,
            name: r.opt_text("name")?,
            currency: r.text("currency")?,
            billing_address: r.opt_json("billing_address")?,
            stripe_customer_id: r.opt_text("stripe_customer_id")?,
            default_payment_method_id: r.opt_text("default_payment_method_id")?,
            credit_balance: r.decimal("credit_balance")?,
            created_at: r.opt_text("created_at")?,
        })
    }
}

/// An account by id.
pub async fn load(db: &impl Db, id: &str) -> Result<Option<Account>, DbError> {
    first(db, stmt!("SELECT * FROM accounts WHERE id = ?1", id)).await?.as_ref().map(Account::from_row).transpose()
}

/// Accounts whose customId has this comparison key.
pub async fn by_custom_id_key(db: &impl Db, key: &str) -> Result<Vec<Account>, DbError> {
    let rows = db.query(stmt!("SELECT * FROM accounts WHERE custom_id_key = ?1", key)).await?;
    read_all(&rows, Account::from_row)
}

/// The account of a Stripe customer.
pub async fn by_stripe_customer(db: &impl Db, customer: &str) -> Result<Option<String>, DbError> {
    let row = first(db, stmt!("SELECT id FROM accounts WHERE stripe_customer_id = ?1", customer)).await?;
    row.map(|r| Read::new(&r, "accounts", "id").text("id")).transpose()
}

/// A new account.
pub struct NewAccount<'a> {
    /// `acct_…`.
    pub id: &'a str,
    /// The vendor's reference, as given.
    pub custom_id: Option<&'a str>,
    /// Its comparison key (unique).
    pub custom_id_key: Option<String>,
    /// The company's name.
    pub name: &'a str,
    /// ISO currency.
    pub currency: &'a str,
    /// The billing address.
    pub billing_address: Option<&'a Value>,
    /// The Stripe customer.
    pub stripe_customer_id: Option<&'a str>,
    /// The card charged.
    pub default_payment_method_id: Option<&'a str>,
    /// Credit it starts with (a credit pack paid at sign-up).
    pub credit_balance: Decimal,
    /// The session (or import) that created it.
    pub session_id: &'a str,
    /// When.
    pub at: &'a str,
}

impl NewAccount<'_> {
    /// Stores the account.
    #[must_use]
    pub fn insert(&self) -> Stmt {
        stmt!(
            "INSERT INTO accounts (id, custom_id, name, currency, billing_address, stripe_customer_id, \
             default_payment_method_id, session_id, created_at, custom_id_key, credit_balance) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            self.id,
            self.custom_id,
            self.name,
            self.currency,
            self.billing_address.map(Value::to_string),
            self.stripe_customer_id,
            self.default_payment_method_id,
            self.session_id,
            self.at,
            self.custom_id_key.clone(),
            self.credit_balance.to_string()
        )
    }
}

/// Sets the name.
#[must_use]
pub fn set_name(id: &str, name: &str) -> Stmt {
    stmt!("UPDATE accounts SET name = ?2 WHERE id = ?1", id, name)
}

/// Sets the billing address.
#[must_use]
pub fn set_billing_address(id: &str, address: &Value) -> Stmt {
    stmt!("UPDATE accounts SET billing_address = ?2 WHERE id = ?1", id, address.to_string())
}

/// Sets the credit balance.
#[must_use]
pub fn set_credit_balance(id: &str, balance: Decimal) -> Stmt {
    stmt!("UPDATE accounts SET credit_balance = ?2 WHERE id = ?1", id, balance.to_string())
}

/// Moves the credit balance from `before` (as read) to `after`; with the
/// guard after it, the whole batch fails if the balance changed meanwhile.
#[must_use]
pub fn move_credit_balance(id: &str, before: Decimal, after: Decimal) -> Vec<Stmt> {
    vec![
        stmt!(
            "UPDATE accounts SET credit_balance = ?3 WHERE id = ?1 AND credit_balance = ?2",
            id,
            before.to_string(),
            after.to_string()
        ),
        stmt!("INSERT INTO write_guards (id, why) SELECT 'changed-nothing', '' WHERE changes() = 0"),
    ]
}

/// Gives the account its Stripe customer (if it has none yet).
#[must_use]
pub fn set_stripe_customer(id: &str, customer: &str) -> Stmt {
    stmt!("UPDATE accounts SET stripe_customer_id = ?2 WHERE id = ?1 AND stripe_customer_id IS NULL", id, customer)
}

/// A contact of an account.
#[derive(Clone, Debug)]
pub struct Contact {
    /// `cont_…`.
    pub id: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
}

/// The account's contacts, oldest first.
pub async fn contacts(db: &impl Db, account: &str) -> Result<Vec<Contact>, DbError> {
    let rows = db
        .query(stmt!("SELECT id, name, email FROM contacts WHERE account_id = ?1 ORDER BY created_at, id", account))
        .await?;
    read_all(&rows, |c| {
        let c = Read::new(c, "contacts", "id");
        Ok(Contact { id: Some(c.text("id")?), name: c.opt_text("name")?, email: c.opt_text("email")? })
    })
}

/// Stores a contact.
#[must_use]
pub fn insert_contact(id: &str, account: &str, name: &str, email: &str, at: &str) -> Stmt {
    stmt!(
        "INSERT INTO contacts (id, account_id, name, email, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        id,
        account,
        name,
        email,
        at
    )
}

/// Changes a contact's name and email.
#[must_use]
pub fn update_contact(id: &str, name: &str, email: &str) -> Stmt {
    stmt!("UPDATE contacts SET name = ?2, email = ?3 WHERE id = ?1", id, name, email)
}

/// A bill group's settings.
#[derive(Clone, Debug)]
pub struct BillGroup {
    /// `bg_…`.
    pub id: Option<String>,
    /// Invoices are emailed.
    pub auto_email_invoice: bool,
    /// Invoices are charged to the card.
    pub collect_automatically: bool,
}

/// The account's bill groups.
pub async fn bill_groups(db: &impl Db, account: &str) -> Result<Vec<BillGroup>, DbError> {
    let rows = db
        .query(stmt!(
            "SELECT id, auto_email_invoice, collect_automatically FROM bill_groups WHERE account_id = ?1",
            account
        ))
        .await?;
    read_all(&rows, |g| {
        let g = Read::new(g, "bill_groups", "id");
        Ok(BillGroup {
            id: Some(g.text("id")?),
            auto_email_invoice: g.flag("auto_email_invoice")?,
            collect_automatically: g.flag("collect_automatically")?,
        })
    })
}

/// Whether the bill group charges its invoices to the card.
pub async fn collects_automatically(db: &impl Db, bill_group: &str) -> Result<bool, DbError> {
    let row = first(db, stmt!("SELECT collect_automatically FROM bill_groups WHERE id = ?1", bill_group)).await?;
    // A bill group that is not there collects nothing.
    Ok(row.map(|r| Read::new(&r, "bill_groups", "id").flag("collect_automatically")).transpose()?.unwrap_or(false))
}

/// Stores a bill group.
#[must_use]
pub fn insert_bill_group(
    id: &str,
    account: &str,
    currency: &str,
    settings: &BillGroup,
    payment_method: Option<&str>,
    at: &str,
) -> Stmt {
    stmt!(
        "INSERT INTO bill_groups (id, account_id, currency, auto_email_invoice, collect_automatically, \
         payment_method_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        id,
        account,
        currency,
        settings.auto_email_invoice,
        settings.collect_automatically,
        payment_method,
        at
    )
}

/// A saved card.
pub struct NewPaymentMethod<'a> {
    /// `pmt_…`.
    pub id: &'a str,
    /// The account.
    pub account_id: &'a str,
    /// Stripe's `pm_…`.
    pub stripe_payment_method_id: &'a str,
    /// Display name.
    pub name: Option<&'a str>,
    /// `{ brand, last4 }`.
    pub card: Option<&'a Value>,
    /// When.
    pub at: &'a str,
}

impl NewPaymentMethod<'_> {
    /// Stores the card.
    #[must_use]
    pub fn insert(&self) -> Stmt {
        stmt!(
            "INSERT INTO payment_methods (id, account_id, stripe_payment_method_id, name, card, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            self.id,
            self.account_id,
            self.stripe_payment_method_id,
            self.name,
            self.card.map(Value::to_string),
            self.at
        )
    }

    /// Stores the card and makes it the account's default.
    #[must_use]
    pub fn make_default(&self) -> Vec<Stmt> {
        vec![
            stmt!(
                "UPDATE accounts SET default_payment_method_id = ?2 WHERE id = ?1",
                self.account_id,
                self.stripe_payment_method_id
            ),
            self.insert(),
        ]
    }
}
