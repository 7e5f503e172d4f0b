//! `PATCH /api/accounts/{id}`: the details a customer keeps up to date after
//! signing up: the company's name, the billing address (tax on every later
//! invoice and change follows it) and the contact (whom Stripe's receipts reach).

use serde_json::Value;

use crate::http::input::account_update;
use crate::http::{ApiError, ApiResult};
use crate::ids::{Random, new_id};
use crate::steps::account_view;
use crate::steps::cards::push_customer;
use crate::store::{Db, accounts};
use crate::stripe::Stripe;
use crate::{App, Now};

/// Applies the update `body` asks for to the account (within `scope` for a
/// customer token: another account's is 404 before the body is read) and
/// answers the account as `GET` does. The Stripe customer hears a new
/// contact name or email first; if Stripe cannot be reached nothing is written.
pub async fn run<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    id: &str,
    scope: Option<&str>,
    body: &Value,
    now: &Now,
) -> ApiResult<Value> {
    let before = account_view::view(&app.db, id, scope).await?;
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
        push_customer(&app.stripe, &format!("{id}/details"), customer, name, email, "contact.email").await?;
    }
    let at = now.instant.as_str();
    let mut batch = Vec::new();
    if let Some(n) = &update.name {
        batch.push(accounts::set_name(id, n));
    }
    if let Some(a) = &update.billing_address {
        batch.push(accounts::set_billing_address(id, a));
    }
    if let Some((name, email)) = &new_contact {
        match contact.and_then(|c| c.get("id")).and_then(Value::as_str) {
            Some(cid) => batch.push(accounts::update_contact(cid, name, email)),
            None => batch.push(accounts::insert_contact(&new_id(&app.rng, "cont_"), id, name, email, at)),
        }
    }
    if !batch.is_empty() {
        app.db.batch(batch).await?;
    }
    account_view::view(&app.db, id, scope).await
}
