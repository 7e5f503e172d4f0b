//! `POST /api/selfService/signup`: ESTIMATE (priced, nothing saved), or a
//! new session (CREATE_IN_PENDING, CREATE_WITH_PAYMENT_METHOD, or
//! CREATE_AND_FINALIZE when nothing is charged today).

use serde_json::{Map, Value, json};

use crate::http::ApiError;
use crate::http::ApiResult;
use crate::http::input::{Action, SignUpInput};
use crate::ids::{Random, new_id};
use crate::steps::documents::engine_json;
use crate::steps::signup::{self, Answer, bill_group, due_at_signup, finalize, missing, payment, price_with_code};
use crate::store::Db;
use crate::store::sessions::{Session, Status};
use crate::stripe::Stripe;
use crate::{App, Now};

/// ESTIMATE, or one of the three CREATE_* actions.
/// `client` (Cloudflare's `CF-Connecting-IP`) pays for a guessed promotion code.
pub async fn run<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    input: SignUpInput,
    client: &str,
    now: &Now,
) -> ApiResult<Answer> {
    match input.action {
        Action::Estimate => {
            let quote = input.quote.as_ref().ok_or_else(|| missing("quote"))?;
            let (published, catalog) = signup::current_catalog(app, now).await?;
            let customer = input.customer.as_ref();
            let (q, _) = price_with_code(app, &published, &catalog, quote, customer, Some(client), now).await?;
            let mut body = Map::new();
            body.insert("sessionId".into(), Value::Null);
            body.insert("error".into(), json!(false));
            body.insert("action".into(), json!("ESTIMATE"));
            body.insert("catalogVersion".into(), json!(published.version));
            body.insert("quote".into(), engine_json(&q));
            if let Some(due) = due_at_signup(&catalog, &q, input.customer.as_ref())? {
                body.insert("dueAtSignUp".into(), due);
            }
            Ok((200, Value::Object(body)))
        }
        a if a.creates() => create(app, input, client, now).await,
        a => Err(ApiError::bad(
            "INVALID_ACTION",
            "action",
            format!("{} needs a session: PATCH /api/selfService/signup/{{sessionId}}.", a.as_str()),
        )),
    }
}

async fn create<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    input: SignUpInput,
    client: &str,
    now: &Now,
) -> ApiResult<Answer> {
    let customer = input.customer.clone().ok_or_else(|| missing("customer"))?;
    let quote_request = input.quote.clone().ok_or_else(|| missing("quote"))?;
    if input.action == Action::CreateAndFinalize && input.payment_method.is_some() {
        return Err(ApiError::bad(
            "INVALID_FIELD",
            "paymentMethod",
            "CREATE_AND_FINALIZE takes no payment method; use CREATE_WITH_PAYMENT_METHOD, then FINALIZE.",
        ));
    }
    let (published, catalog) = signup::current_catalog(app, now).await?;
    let (quote, code) =
        price_with_code(app, &published, &catalog, &quote_request, Some(&customer), Some(client), now).await?;
    let mut s = Session {
        id: new_id(&app.rng, "cart_"),
        version: 1,
        status: Some(Status::Open),
        catalog_version: published.version,
        bill_group: Some(bill_group(&catalog, input.bill_group.as_ref())),
        quote_custom_id: quote_request.get("customId").and_then(Value::as_str).map(str::to_owned),
        quote_request: Some(quote_request),
        quote: Some(engine_json(&quote)),
        quote_id: new_id(&app.rng, "quo_"),
        customer: Some(customer),
        account_id: new_id(&app.rng, "acct_"),
        contact_id: new_id(&app.rng, "cont_"),
        created_at: now.instant.clone(),
        updated_at: now.instant.clone(),
        ..Session::default()
    };
    match input.action {
        Action::CreateAndFinalize => {
            finalize::check_custom_id(&app.db, &s).await?;
            let (s, extra) = finalize::records(app, s, &catalog, &quote, None, now)?;
            // The code is redeemed in the batch that writes the sign-up (never past its limit).
            let mut batch = s.finalize_batch.clone();
            batch.extend(finalize::redemption(code.as_ref(), &s.session.id, &now.instant));
            if let Err(e) = app.db.batch(batch).await {
                return Err(finalize::redemption_failed(&app.db, e, &s.session, code.as_ref(), now.today).await);
            }
            let url = signup::signup_url(app, &s.session.id);
            let body = s.session.view("CREATE_AND_FINALIZE", &url, app.stripe.publishable_key(), extra);
            Ok((201, body))
        }
        Action::CreateWithPaymentMethod => {
            payment::init_payment(app, &mut s).await?;
            app.db.batch(s.save("CREATE_WITH_PAYMENT_METHOD")).await?;
            Ok((201, signup::view(app, &s, "CREATE_WITH_PAYMENT_METHOD", now).await?))
        }
        _ => {
            app.db.batch(s.save("CREATE_IN_PENDING")).await?;
            Ok((201, signup::view(app, &s, "CREATE_IN_PENDING", now).await?))
        }
    }
}
