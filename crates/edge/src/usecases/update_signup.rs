//! `PATCH /api/selfService/signup/{id}`: UPDATE, INIT_PAYMENT_METHOD,
//! ESTIMATE, CANCEL and FINALIZE on a session (which is legal when: `life`).
//! FINALIZE claims the session before any money moves, charges once, then
//! writes everything it creates as one batch.

use pricing::Address;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::http::input::{Action, SignUpInput};
use crate::http::{ApiError, ApiResult};
use crate::ids::Random;
use crate::steps::charging;
use crate::steps::claims::claim_expired;
use crate::steps::documents::engine_json;
use crate::steps::signup::life::check_transition;
use crate::steps::signup::{self, Answer, due_at_signup, finalize, missing, payment, price_with_code};
use crate::store::Db;
use crate::store::sessions::{Session, Status};
use crate::stripe::{Charge, Stripe, StripeError};
use crate::{App, Now};

/// Applies `input` to session `id`.
/// `client` (Cloudflare's `CF-Connecting-IP`) pays for a guessed promotion code.
pub async fn run<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    id: &str,
    input: SignUpInput,
    client: &str,
    now: &Now,
) -> ApiResult<Answer> {
    let read = signup::require_session(&app.db, id).await?;
    let stale = read.status() == Status::Finalizing && claim_expired(&read.updated_at, now);
    check_transition(read.status(), input.action, stale)?;
    let mut s = read.next(&now.instant);
    s.status = Some(Status::Open);
    match input.action {
        Action::Estimate => estimate_session(app, &read, &input, client, now).await,
        Action::Cancel => {
            s.status = Some(Status::Canceled);
            app.db.batch(s.save("CANCEL")).await?;
            Ok((200, signup::view(app, &s, "CANCEL", now).await?))
        }
        Action::Update => {
            if input.customer.is_none()
                && input.quote.is_none()
                && input.bill_group.is_none()
                && input.payment_method.is_none()
            {
                return Err(ApiError::bad(
                    "MISSING_FIELD",
                    "",
                    "Send at least one of customer, billGroup, quote, paymentMethod with UPDATE.",
                ));
            }
            payment::apply(app, &mut s, &input, Some(client), now).await?;
            let action = if input.payment_method.is_some() { "ADD_PAYMENT_METHOD" } else { "UPDATE" };
            app.db.batch(s.save(action)).await?;
            Ok((200, signup::view(app, &s, action, now).await?))
        }
        Action::InitPaymentMethod => {
            payment::apply(app, &mut s, &input, Some(client), now).await?;
            payment::init_payment(app, &mut s).await?;
            app.db.batch(s.save("INIT_PAYMENT_METHOD")).await?;
            Ok((200, signup::view(app, &s, "INIT_PAYMENT_METHOD", now).await?))
        }
        Action::Finalize => {
            payment::apply(app, &mut s, &input, Some(client), now).await?;
            finalize(app, s, client, now).await
        }
        // (check_transition refuses the CREATE_* actions on a session.)
        a => Err(ApiError::internal(format_args!("{} reached a session", a.as_str()))),
    }
}

async fn estimate_session<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    s: &Session,
    input: &SignUpInput,
    client: &str,
    now: &Now,
) -> ApiResult<Answer> {
    let (published, catalog) = match &input.quote {
        Some(_) => signup::current_catalog(app, now).await?,
        None => signup::catalog_of(app, s.catalog_version).await?,
    };
    let quote = input.quote.as_ref().or(s.quote_request.as_ref()).ok_or_else(|| missing("quote"))?;
    let customer = input.customer.as_ref().or(s.customer.as_ref());
    let (q, _) = price_with_code(app, &published, &catalog, quote, customer, Some(client), now).await?;
    let mut body = json!({
        "sessionId": s.id, "error": false, "action": "ESTIMATE",
        "catalogVersion": published.version, "quote": engine_json(&q),
    });
    if let (Some(due), Value::Object(m)) = (due_at_signup(&catalog, &q, customer)?, &mut body) {
        m.insert("dueAtSignUp".into(), due);
    }
    Ok((200, body))
}

/// FINALIZE on an open session `s` (the next version, carried fields applied).
async fn finalize<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    mut s: Session,
    client: &str,
    now: &Now,
) -> ApiResult<Answer> {
    if s.customer.is_none() {
        return Err(missing("customer"));
    }
    let quote_request = s.quote_request.clone().ok_or_else(|| missing("quote"))?;
    let (published, catalog) = signup::catalog_of(app, s.catalog_version).await?;
    // The code is checked again (expired, used up, not eligible by now: refused, nothing charged).
    let customer = s.customer.clone();
    let (quote, code) =
        price_with_code(app, &published, &catalog, &quote_request, customer.as_ref(), Some(client), now).await?;
    s.quote = Some(engine_json(&quote));
    let address = Address::from_json(s.customer.as_ref().and_then(|c| c.get("billingAddress")).unwrap_or(&Value::Null));
    let invoice = quote.first_invoice.with_tax(&catalog, &address).map_err(|e| ApiError::from_engine(&e, ""))?;
    let must_charge = s.collects_automatically() && invoice.amount > Decimal::ZERO;
    finalize::check_custom_id(&app.db, &s).await?;
    if !must_charge {
        let (f, extra) = finalize::records(app, s, &catalog, &quote, None, now)?;
        let mut batch = f.finalize_batch.clone();
        batch.extend(finalize::redemption(code.as_ref(), &f.session.id, &now.instant));
        if let Err(e) = app.db.batch(batch).await {
            return Err(finalize::redemption_failed(&app.db, e, &f.session, code.as_ref(), now.today).await);
        }
        return Ok((200, signup::view_with(app, &f.session, "FINALIZE", extra)));
    }
    let (pm, customer) = match (&s.payment_method_id, &s.stripe_customer_id) {
        (Some(pm), Some(c)) => (pm.clone(), c.clone()),
        _ => {
            return Err(ApiError::bad(
                "PAYMENT_METHOD_REQUIRED",
                "paymentMethod",
                "This bill group collects automatically and the first invoice is due: save a payment method first.",
            ));
        }
    };
    // Claim the session (and its customId) before any money moves.
    s.status = Some(Status::Finalizing);
    let mut claim = s.save("FINALIZE_STARTED");
    claim.extend(finalize::claim_custom_id(&s));
    // The code is redeemed in the batch that claims the session: never past its limit.
    claim.extend(finalize::redemption(code.as_ref(), &s.id, &now.instant));
    if let Err(e) = app.db.batch(claim).await {
        return Err(finalize::redemption_failed(&app.db, e, &s, code.as_ref(), now.today).await);
    }

    let currency = quote.currency.to_ascii_lowercase();
    let charge = Charge {
        customer: &customer,
        payment_method: &pm,
        amount: pricing::to_minor_units(invoice.amount, quote.currency)
            .ok_or_else(|| ApiError::internal(format_args!("{} {} in minor units", invoice.amount, quote.currency)))?,
        currency,
        metadata: vec![("quotekit_session", s.id.clone()), ("quotekit_account", s.account_id.clone())],
    };
    let idem = format!("{}/charge/{}", s.id, s.charge_attempts);
    match charging::charge_once(&app.db, &app.stripe, &idem, &charge, now).await {
        Ok(pi) => {
            let (f, extra) = finalize::records(app, s, &catalog, &quote, Some(&pi.id), now)?;
            app.db.batch(f.finalize_batch.clone()).await?;
            Ok((200, signup::view_with(app, &f.session, "FINALIZE", extra)))
        }
        Err(e) => {
            let mut back = s.next(&now.instant);
            back.status = Some(Status::Open);
            let error = match &e {
                StripeError::Declined { code, decline_code, message } => {
                    // A declined card is spent: the next attempt uses a new key and needs a new card.
                    back.charge_attempts = back.charge_attempts.saturating_add(1);
                    back.payment_method_id = None;
                    back.payment_method_card = None;
                    back.payment_method_name = None;
                    back.setup_intent_id = None;
                    back.setup_client_secret = None;
                    json!({ "code": "PAYMENT_DECLINED", "stripeCode": code, "declineCode": decline_code,
                            "message": message, "at": now.instant })
                }
                _ => json!({ "code": "PAYMENT_PROVIDER_UNAVAILABLE",
                             "message": "The payment provider could not be reached; retry FINALIZE.", "at": now.instant }),
            };
            back.last_error = Some(error);
            let mut stmts = back.save("PAYMENT_FAILED");
            stmts.extend(finalize::release_custom_id(&back));
            // Nothing was bought: the code's redemption is given back.
            if let Some(c) = &code {
                stmts.push(crate::store::promotions::release(&c.key, &back.id));
            }
            app.db.batch(stmts).await?;
            Err(match e {
                StripeError::Rejected { .. } => ApiError::new(
                    502,
                    "PAYMENT_PROVIDER_ERROR",
                    "",
                    "The payment provider refused the charge request; nothing was created. Retry, or contact support.",
                ),
                other => ApiError::from_stripe(other, "paymentMethod"),
            })
        }
    }
}
