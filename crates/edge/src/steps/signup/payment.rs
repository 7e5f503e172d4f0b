//! A session's card and details: the Stripe customer and SetupIntent, the
//! card confirmed with Stripe, and what an UPDATE-like request carries.

use serde_json::{Value, json};

use super::{bill_group, catalog_of, current_catalog, field, missing, price_with_code};
use crate::http::input::{PaymentMethodInput, SignUpInput};
use crate::http::{ApiError, ApiResult};
use crate::ids::{Random, new_id};
use crate::steps::cards;
use crate::steps::documents::engine_json;
use crate::store::Db;
use crate::store::sessions::Session;
use crate::stripe::Stripe;
use crate::{App, Now};

/// A Stripe customer (once per session) and a new SetupIntent.
pub async fn init_payment<D: Db, S: Stripe, R: Random>(app: &App<D, S, R>, s: &mut Session) -> ApiResult<()> {
    let customer = match &s.stripe_customer_id {
        Some(c) => c.clone(),
        None => {
            let c = s.customer.as_ref().ok_or_else(|| missing("customer"))?;
            let id = app
                .stripe
                .create_customer(
                    &format!("{}/customer", s.id),
                    field(c, "name"),
                    field(c, "email"),
                    &[("quotekit_session", &s.id), ("quotekit_account", &s.account_id)],
                )
                .await
                .map_err(|e| ApiError::from_stripe(e, "paymentMethod"))?;
            s.stripe_customer_id = Some(id.clone());
            id
        }
    };
    let seti = app
        .stripe
        .create_setup_intent(&format!("{}/seti/{}", s.id, s.version), &customer)
        .await
        .map_err(|e| ApiError::from_stripe(e, "paymentMethod"))?;
    s.setup_intent_id = Some(seti.id);
    s.setup_client_secret = Some(seti.client_secret);
    s.payment_method_id = None;
    s.payment_method_name = None;
    s.payment_method_card = None;
    Ok(())
}

/// Confirms with Stripe that the token is a succeeded SetupIntent (or a
/// PaymentMethod) of this session's customer, attaches it and makes it the default.
async fn save_payment_method<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    s: &mut Session,
    pm: &PaymentMethodInput,
) -> ApiResult<()> {
    let customer = s.stripe_customer_id.clone().ok_or_else(|| {
        ApiError::conflict(
            "PAYMENT_METHOD_NOT_INITIALIZED",
            "This session has no payment method collection yet: use INIT_PAYMENT_METHOD first.",
        )
    })?;
    let method =
        cards::confirm_payment_token(&app.stripe, &customer, &pm.token, &s.id, "paymentMethod.paymentToken").await?;
    s.payment_method_id = Some(method.id);
    s.payment_method_name = pm.name.clone().or_else(|| method.brand.clone());
    s.payment_method_card = Some(json!({ "brand": method.brand, "last4": method.last4 }));
    s.last_error = None;
    Ok(())
}

/// Applies what an UPDATE-like request carries to `s` (in memory; on
/// Stripe, a new name or email for a customer already there, so its
/// receipts go where the customer now says). The quote's promotion code is
/// checked with the customer as it now is; `client` pays for a guessed one.
pub async fn apply<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    s: &mut Session,
    input: &SignUpInput,
    client: Option<&str>,
    now: &Now,
) -> ApiResult<()> {
    if let Some(c) = &input.customer {
        let (name, email) = (field(c, "name"), field(c, "email"));
        let before = s.customer.as_ref().map(|b| (field(b, "name"), field(b, "email")));
        if let Some(id) = &s.stripe_customer_id
            && before.as_ref() != Some(&(name, email))
        {
            let scope = format!("{}/customer/{}", s.id, s.version);
            cards::push_customer(&app.stripe, &scope, id, name, email, "customer.email").await?;
        }
        s.customer = Some(c.clone());
    }
    if let Some(q) = &input.quote {
        // The code belongs to the quote: a new quote without one removes it.
        let (published, catalog) = current_catalog(app, now).await?;
        let (quote, _) = price_with_code(app, &published, &catalog, q, s.customer.as_ref(), client, now).await?;
        s.catalog_version = published.version;
        s.quote_request = Some(q.clone());
        s.quote = Some(engine_json(&quote));
        s.quote_id = new_id(&app.rng, "quo_");
        s.quote_custom_id = q.get("customId").and_then(Value::as_str).map(str::to_owned);
        let given = input.bill_group.as_ref().or(s.bill_group.as_ref()).cloned();
        s.bill_group = Some(bill_group(&catalog, given.as_ref()));
    } else {
        let (published, catalog) = catalog_of(app, s.catalog_version).await?;
        if let Some(b) = &input.bill_group {
            s.bill_group = Some(bill_group(&catalog, Some(b)));
        }
        // A first-time-only code is checked again as soon as the email is known.
        if let (Some(_), Some(q)) = (&input.customer, &s.quote_request) {
            price_with_code(app, &published, &catalog, q, s.customer.as_ref(), client, now).await?;
        }
    }
    if let Some(pm) = &input.payment_method {
        save_payment_method(app, s, pm).await?;
    }
    Ok(())
}
