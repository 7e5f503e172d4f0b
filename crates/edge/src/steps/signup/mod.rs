//! Sign-up sessions: pricing a session's quote, what FINALIZE will charge,
//! and the session as answered. `life` holds which action is legal when,
//! `payment` the card steps, `finalize` what FINALIZE writes.

pub mod finalize;
pub mod life;
pub mod payment;

use std::rc::Rc;

use pricing::{Address, Catalog, NaiveDate};
use serde_json::{Map, Value, json};

use super::catalogs;
use super::documents::{engine_json, payment_view};
use super::promotion::{self, PromotionCode};
use crate::http::{ApiError, ApiResult};
use crate::ids::Random;
use crate::store::catalogs::Published;
use crate::store::sessions::{Session, Status};
use crate::store::{Db, contracts, invoices, payments};
use crate::stripe::Stripe;
use crate::{App, Now};

/// A successful answer: status and body.
pub type Answer = (u16, Value);

/// What FINALIZE charges for `quote` (the package's `dueAtSignUp`): its first
/// invoice with the tax of `customer.billingAddress`; `None` without an address.
pub fn due_at_signup(catalog: &Catalog, quote: &pricing::Quote, customer: Option<&Value>) -> ApiResult<Option<Value>> {
    let Some(address) = customer.and_then(|c| c.get("billingAddress")).filter(|a| a.is_object()) else {
        return Ok(None);
    };
    let invoice = quote
        .first_invoice
        .with_tax(catalog, &Address::from_json(address))
        .map_err(|e| ApiError::from_engine(&e, ""))?;
    Ok(Some(engine_json(&invoice)))
}

/// Prices a session's quote as ESTIMATE and FINALIZE do, its promotion code
/// (if any) resolved to its coupon first (`client` counts a guessed code).
#[allow(clippy::too_many_arguments)]
pub async fn price_with_code<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    published: &Published,
    catalog: &Catalog,
    quote: &Value,
    customer: Option<&Value>,
    client: Option<&str>,
    now: &Now,
) -> ApiResult<(pricing::Quote, Option<PromotionCode>)> {
    let (engine_quote, code) =
        promotion::resolve(&app.db, &app.config, published, catalog, quote, customer, client, now).await?;
    Ok((price(catalog, &engine_quote, now.today)?, code))
}

/// Prices a session's quote as ESTIMATE and FINALIZE do.
pub fn price(catalog: &Catalog, quote: &Value, today: NaiveDate) -> ApiResult<pricing::Quote> {
    pricing::estimate(catalog, &json!({ "quote": quote }), today).map_err(|e| ApiError::from_engine(&e, ""))
}

/// `{autoEmailInvoice, collectInvoiceBalanceAutomatically}` with the catalog's defaults filled in.
pub fn bill_group(catalog: &Catalog, given: Option<&Value>) -> Value {
    let pick = |key: &str, default: bool| given.and_then(|g| g.get(key)).and_then(Value::as_bool).unwrap_or(default);
    json!({
        "autoEmailInvoice": pick("autoEmailInvoice", catalog.bill_group.auto_email_invoice),
        "collectInvoiceBalanceAutomatically":
            pick("collectInvoiceBalanceAutomatically", catalog.bill_group.collect_automatically),
    })
}

/// How long after FINALIZE the session may be exchanged for a portal token.
pub const PORTAL_WINDOW_SECONDS: i64 = 3_600;

/// The resume link: built from configuration only (`SIGNUP_URL_BASE`),
/// never from a request header an attacker could set. Unconfigured, it is
/// the path on the Worker's own origin, where it serves the pages.
pub fn signup_url<D: Db, S: Stripe, R: Random>(app: &App<D, S, R>, id: &str) -> String {
    let base = app.config.signup_url_base.as_deref().unwrap_or("").trim_end_matches('/');
    format!("{base}/checkout/?session={id}")
}

/// The catalog version a session was priced on.
pub async fn catalog_of<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    version: i64,
) -> ApiResult<(Published, Rc<Catalog>)> {
    catalogs::version_parsed(&app.db, version).await
}

/// The current catalog a quote is priced on (as the isolate knows it: `catalogs::current_shared`).
pub async fn current_catalog<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    now: &Now,
) -> ApiResult<(Published, Rc<Catalog>)> {
    catalogs::current_shared(&app.db, now.millis()).await
}

/// A session as answered: once finalized, what it created; before, with
/// an address, what FINALIZE will charge today (`dueAtSignUp`, taxed).
pub async fn view<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    s: &Session,
    action: &str,
    now: &Now,
) -> ApiResult<Value> {
    let mut extra = if s.status() == Status::Finalized { finalized_parts(app, s).await? } else { Map::new() };
    if s.status() == Status::Open
        && let Some(quote) = &s.quote_request
        && s.customer.as_ref().and_then(|c| c.get("billingAddress")).is_some_and(Value::is_object)
    {
        let (published, catalog) = catalog_of(app, s.catalog_version).await?;
        // Priced as FINALIZE would price it today; a quote that no longer prices (its
        // start date passed, its code used up) has nothing to show here and is refused by FINALIZE.
        if let Ok((q, _)) = price_with_code(app, &published, &catalog, quote, s.customer.as_ref(), None, now).await
            && let Some(due) = due_at_signup(&catalog, &q, s.customer.as_ref())?
        {
            extra.insert("dueAtSignUp".into(), due);
        }
    }
    Ok(view_with(app, s, action, extra))
}

/// A session as answered, with `extra` (what FINALIZE created).
pub fn view_with<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    s: &Session,
    action: &str,
    extra: Map<String, Value>,
) -> Value {
    s.view(action, &signup_url(app, &s.id), app.stripe.publishable_key(), extra)
}

/// The contract, invoice and payment a finalized session created.
async fn finalized_parts<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    s: &Session,
) -> ApiResult<Map<String, Value>> {
    let mut m = Map::new();
    if let Some(id) = &s.contract_id
        && let Some(v) = contracts::body(&app.db, id).await?
    {
        m.insert("contract".into(), v);
    }
    if let Some(id) = &s.invoice_id
        && let Some(r) = invoices::load(&app.db, id).await?
        && let Some(mut v) = r.body
    {
        if let (Value::Object(o), Some(st)) = (&mut v, r.status) {
            o.insert("status".into(), json!(st.as_str()));
        }
        m.insert("invoice".into(), v);
    }
    if let Some(id) = &s.payment_id
        && let Some(p) = payments::load(&app.db, id).await?
    {
        m.insert("payment".into(), payment_view(&p));
    }
    Ok(m)
}

/// A text field of a JSON object, or "".
pub fn field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// 400 for a field the action needs.
pub fn missing(field: &str) -> ApiError {
    ApiError::bad("MISSING_FIELD", field, format!("{field} is required for this action."))
}

/// Loads a session or answers 404.
pub async fn require_session(db: &impl Db, id: &str) -> ApiResult<Session> {
    Session::load(db, id).await?.ok_or_else(|| ApiError::not_found("sign-up session"))
}
