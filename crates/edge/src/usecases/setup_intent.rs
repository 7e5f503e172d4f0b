//! `POST /api/accounts/{id}/setupIntents`: a SetupIntent for the account's
//! Stripe customer (created if the account has none), for a new card.

use serde_json::{Value, json};

use crate::http::{ApiError, ApiResult};
use crate::ids::Random;
use crate::steps::account_view;
use crate::store::{Db, accounts};
use crate::stripe::Stripe;
use crate::{App, Now};

/// The SetupIntent's client secret for the pages.
pub async fn run<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    account: &str,
    scope: Option<&str>,
    now: &Now,
) -> ApiResult<Value> {
    account_view::view(&app.db, account, scope).await?;
    let row = accounts::load(&app.db, account).await?.ok_or_else(|| ApiError::not_found("account"))?;
    let customer = match row.stripe_customer_id {
        Some(c) => c,
        None => {
            let name = row.name.unwrap_or_default();
            let id = app
                .stripe
                .create_customer(&format!("{account}/customer"), &name, "", &[("quotekit_account", account)])
                .await
                .map_err(|e| ApiError::from_stripe(e, ""))?;
            app.db.batch(vec![accounts::set_stripe_customer(account, &id)]).await?;
            id
        }
    };
    let seti = app
        .stripe
        .create_setup_intent(&format!("{account}/seti/{}", now.instant), &customer)
        .await
        .map_err(|e| ApiError::from_stripe(e, ""))?;
    Ok(json!({ "customerId": customer, "setupIntentId": seti.id, "clientSecret": seti.client_secret,
               "publicKey": app.stripe.publishable_key() }))
}
