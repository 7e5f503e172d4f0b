//! `POST /api/accounts/{id}/paymentMethod` `{ paymentToken }`: the card is
//! checked with Stripe, becomes the account's default, and what dunning
//! gave up on is charged at once; a suspended contract with nothing left
//! unpaid resumes.

use serde_json::Value;

use crate::http::{ApiError, ApiResult};
use crate::ids::Random;
use crate::steps::account_view;
use crate::steps::cards::{confirm_payment_token, use_card};
use crate::store::{Db, accounts};
use crate::stripe::Stripe;
use crate::{App, Now};

/// Saves the card `body.paymentToken` names.
pub async fn run<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    account: &str,
    scope: Option<&str>,
    body: &Value,
    now: &Now,
) -> ApiResult<Value> {
    account_view::view(&app.db, account, scope).await?;
    let token = body
        .get("paymentToken")
        .and_then(Value::as_str)
        .filter(|t| (t.starts_with("seti_") || t.starts_with("pm_")) && t.len() <= 255)
        .ok_or_else(|| ApiError::bad("INVALID_VALUE", "paymentToken", "paymentToken is a seti_… or pm_… id."))?;
    let customer = accounts::load(&app.db, account).await?.and_then(|a| a.stripe_customer_id).ok_or_else(|| {
        ApiError::conflict("PAYMENT_METHOD_NOT_INITIALIZED", "Create a SetupIntent for the account first.")
    })?;
    let method = confirm_payment_token(&app.stripe, &customer, token, account, "paymentToken").await?;
    use_card(app, account, &method.id, now).await
}
