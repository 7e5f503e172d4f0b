//! `PATCH /api/accounts/{id}`: the details a customer keeps up to date after
//! signing up: the company's name, the billing address (tax on every later
//! invoice and change follows it) and the contact (whom Stripe's receipts reach).

use serde_json::Value;

use crate::api::{ApiError, ApiResult};
use crate::db::Db;
use crate::ids::{Random, new_id};
use crate::input::account_update;
use crate::stripe::Stripe;
use crate::{App, Now, stmt};

impl<D: Db, S: Stripe, R: Random> App<D, S, R> {
    /// Applies the update `body` asks for to the account (within `scope` for a
    /// customer token: another account's is 404 before the body is read) and
    /// answers the account as `GET` does. The Stripe customer hears a new
    /// contact name or email first; if Stripe cannot be reached nothing is written.
    pub async fn update_account(&self, id: &str, scope: Option<&str>, body: &Value, now: &Now) -> ApiResult<Value> {
        let before = self.account(id, scope).await?;
        let update = account_update(body)?;
        let contact = before.pointer("/contacts/0");
        let old = |k: &str| contact.and_then(|c| c.get(k)).and_then(Value::as_str).map(str::to_owned);
        // The contact as it will be, when the update touches it and changes it.
        let mut new_contact = None;
        if update.contact_name.is_some() || update.contact_email.is_some() {
            let name = update.contact_name.clone().or_else(|| old("name"));
            let email = update.contact_email.clone().or_else(|| old("email"));
            let (Some(name), Some(email)) = (name, email) else {
                let missing = if update.contact_name.is_none() { "contact.name" } else { "contact.email" };
                return Err(ApiError::bad(
                    "MISSING_FIELD",
                    missing,
                    "The account has no contact yet: send contact.name and contact.email.",
                ));
            };
            if old("name").as_deref() != Some(&*name) || old("email").as_deref() != Some(&*email) {
                new_contact = Some((name, email));
            }
        }
        if let (Some((name, email)), Some(customer)) =
            (&new_contact, before.get("stripeCustomerId").and_then(Value::as_str))
        {
            self.push_customer(&format!("{id}/details"), customer, name, email, "contact.email").await?;
        }
        let at = now.instant.as_str();
        let mut batch = Vec::new();
        if let Some(n) = &update.name {
            batch.push(stmt!("UPDATE accounts SET name = ?2 WHERE id = ?1", id, n.as_str()));
        }
        if let Some(a) = &update.billing_address {
            batch.push(stmt!("UPDATE accounts SET billing_address = ?2 WHERE id = ?1", id, a.to_string()));
        }
        if let Some((name, email)) = &new_contact {
            match contact.and_then(|c| c.get("id")).and_then(Value::as_str) {
                Some(cid) => batch.push(stmt!(
                    "UPDATE contacts SET name = ?2, email = ?3 WHERE id = ?1",
                    cid,
                    name.as_str(),
                    email.as_str()
                )),
                None => batch.push(stmt!(
                    "INSERT INTO contacts (id, account_id, name, email, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    new_id(&self.rng, "cont_"),
                    id,
                    name.as_str(),
                    email.as_str(),
                    at
                )),
            }
        }
        if !batch.is_empty() {
            self.db.batch(batch).await?;
        }
        self.account(id, scope).await
    }
}
