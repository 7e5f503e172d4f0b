//! `quotes`: what a sign-up (or an import) was sold on.

use serde_json::Value;

use super::{Db, DbError, Read, Stmt, first};
use crate::stmt;

/// A new quote row.
pub struct NewQuote<'a> {
    /// `quo_…`.
    pub id: &'a str,
    /// The account.
    pub account_id: &'a str,
    /// The session that priced it (none for an import).
    pub session_id: Option<&'a str>,
    /// The quote's customId.
    pub custom_id: Option<&'a str>,
    /// The catalog version that priced it.
    pub catalog_version: i64,
    /// The quote as answered.
    pub body: &'a Value,
    /// When.
    pub at: &'a str,
}

impl NewQuote<'_> {
    /// Stores the quote, PROCESSED.
    #[must_use]
    pub fn insert(&self) -> Stmt {
        stmt!(
            "INSERT INTO quotes (id, account_id, session_id, custom_id, status, catalog_version, body, created_at) \
             VALUES (?1, ?2, ?3, ?4, 'PROCESSED', ?5, ?6, ?7)",
            self.id,
            self.account_id,
            self.session_id,
            self.custom_id,
            self.catalog_version,
            self.body.to_string(),
            self.at
        )
    }
}

/// A quote's body, with its account.
pub async fn find(db: &impl Db, id: &str) -> Result<Option<(Option<String>, Option<Value>)>, DbError> {
    let row = first(db, stmt!("SELECT account_id, body FROM quotes WHERE id = ?1", id)).await?;
    row.map(|r| {
        let r = Read::new(&r, "quotes", "account_id");
        Ok((r.opt_text("account_id")?, Some(r.object("body")?)))
    })
    .transpose()
}
