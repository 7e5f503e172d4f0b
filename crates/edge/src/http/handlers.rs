//! One handler per route: read the request into the service's types, run
//! the use case, answer. No handler decides anything a use case decides.

use serde_json::{Value, json};

use super::call::Call;
use super::input;
use super::{ApiError, ApiResult, Request, Response};
use crate::ids::Random;
use crate::store::Db;
use crate::stripe::Stripe;
use crate::usecases as uc;
use crate::usecases::read_catalog::Shown;
use crate::{App, Now};

/// The client a guess budget is kept for: Cloudflare's `CF-Connecting-IP`.
fn client(req: &Request) -> &str {
    req.header("cf-connecting-ip").unwrap_or("unknown")
}

fn ok(status: u16, body: &Value) -> ApiResult<Response> {
    Ok(Response::json(status, body))
}

/// A body that may be empty (then `{}`).
fn optional_body(req: &Request) -> ApiResult<Value> {
    if req.body.is_empty() { Ok(json!({})) } else { input::parse_body(&req.body) }
}

macro_rules! handler {
    ($(#[$doc:meta])* $name:ident($app:ident, $req:ident, $now:ident, $call:ident) $body:block) => {
        $(#[$doc])*
        #[allow(unused_variables)]
        pub async fn $name<D: Db, S: Stripe, R: Random>(
            $app: &App<D, S, R>,
            $req: &Request,
            $now: &Now,
            $call: &Call<'_>,
        ) -> ApiResult<Response> $body
    };
}

handler!(
    /// `GET /healthz`.
    health(app, req, now, call) { ok(200, &uc::health::run(&app.db).await?) }
);

handler!(
    /// `GET /openapi.json`.
    openapi(app, req, now, call) {
        Ok(Response::json_text(200, super::openapi::DOCUMENT.to_owned())
            .with_header("cache-control", "public, max-age=300"))
    }
);

handler!(
    /// `GET /api/selfService/config`.
    self_service_config(app, req, now, call) { ok(200, &uc::self_service_config::run(app)) }
);

handler!(
    /// `GET /api/catalog`.
    read_catalog(app, req, now, call) {
        let p = uc::read_catalog::current(&app.db, call.publishable, now.millis()).await?;
        Ok(catalog_response(req, p, "public, max-age=60"))
    }
);

handler!(
    /// `GET /api/catalog/versions/{version}`.
    read_catalog_version(app, req, now, call) {
        let v: i64 =
            call.param(0).parse().map_err(|_| ApiError::bad("INVALID_VALUE", "version", "version is a number."))?;
        let p = uc::read_catalog::version(&app.db, v, call.publishable).await?;
        Ok(catalog_response(req, p, "public, max-age=31536000, immutable"))
    }
);

handler!(
    /// `PUT /api/catalog`.
    publish_catalog(app, req, now, call) {
        let body = input::parse_body(&req.body)?;
        let (p, created) = uc::publish_catalog::run(&app.db, &body, now).await?;
        Ok(Response::json(
            if created { 201 } else { 200 },
            &json!({ "version": p.version, "etag": p.etag, "createdAt": p.created_at, "created": created }),
        )
        .with_header("etag", p.etag))
    }
);

handler!(
    /// `POST /api/selfService/signup`.
    start_signup(app, req, now, call) {
        let input = input::signup(&input::parse_body(&req.body)?)?;
        input::coupon_allowed(&input, call.publishable)?;
        let (status, body) = uc::start_signup::run(app, input, client(req), now).await?;
        ok(status, &body)
    }
);

handler!(
    /// `GET /api/selfService/signup/{sessionId}`.
    read_signup(app, req, now, call) {
        ok(200, &uc::read_signup::run(app, call.param(0), call.publishable, now).await?)
    }
);

handler!(
    /// `PATCH /api/selfService/signup/{sessionId}`: every error names the session.
    update_signup(app, req, now, call) {
        let id = call.param(0);
        let input = input::parse_body(&req.body)
            .and_then(|v| input::signup(&v))
            .and_then(|i| input::coupon_allowed(&i, call.publishable).map(|()| i))
            .map_err(|e| e.for_session(id))?;
        let (status, body) =
            uc::update_signup::run(app, id, input, client(req), now).await.map_err(|e| e.for_session(id))?;
        ok(status, &body)
    }
);

handler!(
    /// `POST /api/selfService/signup/{sessionId}/customerToken`.
    portal_token(app, req, now, call) { ok(201, &uc::portal_token::run(&app.db, &app.config, call.param(0), now).await?) }
);

handler!(
    /// `POST /api/usage`: each event's outcome, by index (202: the accepted are queued).
    report_usage(app, req, now, call) {
        let events = input::usage::events(&input::parse_body(&req.body)?)?;
        ok(202, &uc::report_usage::run(app, events, now).await?)
    }
);

handler!(
    /// `GET /api/selfService/promotionCodes/{code}`.
    promotion_code(app, req, now, call) {
        ok(200, &uc::promotion_code::run(&app.db, &app.config, call.param(0), client(req), now).await?)
    }
);

handler!(
    /// `POST /api/selfService/contract`.
    change_contract(app, req, now, call) {
        let mut change = input::change(&input::parse_body(&req.body)?)?;
        // The vendor's approval rules always hold for a customer; only the secret key may skip them.
        change.evaluate_approval_rules |= call.scope.is_some();
        let (status, body) = uc::change_contract::run(app, call.scope, &change, now).await?;
        ok(status, &body)
    }
);

handler!(
    /// `POST /api/customerTokens` `{ accountId, expiresIn? }`.
    customer_token(app, req, now, call) {
        let (account, ttl) = input::customer_token(&input::parse_body(&req.body)?)?;
        ok(201, &uc::customer_token::run(&app.db, &app.config, &account, ttl, now).await?)
    }
);

handler!(
    /// `GET /api/accounts?customId=`.
    find_accounts(app, req, now, call) {
        let custom_id = req
            .query("customId")
            .ok_or_else(|| ApiError::bad("MISSING_FIELD", "customId", "Look accounts up by ?customId=."))?;
        ok(200, &uc::find_accounts::run(&app.db, custom_id).await?)
    }
);

handler!(
    /// `GET /api/accounts/{accountId}`.
    read_account(app, req, now, call) { ok(200, &uc::read_account::run(&app.db, call.param(0), call.scope).await?) }
);

handler!(
    /// `PATCH /api/accounts/{accountId}`.
    update_account(app, req, now, call) {
        let body = input::parse_body(&req.body)?;
        ok(200, &uc::update_account::run(app, call.param(0), call.scope, &body, now).await?)
    }
);

handler!(
    /// `GET /api/accounts/{accountId}/contracts`.
    list_contracts(app, req, now, call) {
        let page = (req.query("limit"), req.query("cursor"));
        ok(200, &uc::list_contracts::run(&app.db, call.param(0), call.scope, page).await?)
    }
);

handler!(
    /// `GET /api/accounts/{accountId}/invoices`.
    list_invoices(app, req, now, call) {
        let page = (req.query("limit"), req.query("cursor"));
        ok(200, &uc::list_invoices::run(&app.db, call.param(0), call.scope, page).await?)
    }
);

handler!(
    /// `POST /api/contracts`.
    import_contract(app, req, now, call) {
        let (status, body) = uc::import_contract::run(app, &input::parse_body(&req.body)?, now).await?;
        ok(status, &body)
    }
);

handler!(
    /// `GET /api/contracts/{contractId}`.
    read_contract(app, req, now, call) { ok(200, &uc::read_contract::run(app, call.param(0), call.scope, now).await?) }
);

handler!(
    /// `GET /api/contracts/{contractId}/usage`.
    contract_usage(app, req, now, call) { ok(200, &uc::contract_usage::run(&app.db, call.param(0), call.scope, now).await?) }
);

handler!(
    /// `POST …/amendments/{amendmentId}/approve`.
    approve_amendment(app, req, now, call) {
        let (status, body) = uc::review_amendment::run(app, call.param(0), call.param(1), true, now).await?;
        ok(status, &body)
    }
);

handler!(
    /// `POST …/amendments/{amendmentId}/reject`.
    reject_amendment(app, req, now, call) {
        let (status, body) = uc::review_amendment::run(app, call.param(0), call.param(1), false, now).await?;
        ok(status, &body)
    }
);

handler!(
    /// `POST …/amendments/{amendmentId}/withdraw`.
    withdraw_amendment(app, req, now, call) {
        let (status, body) =
            uc::withdraw_amendment::run(&app.db, call.param(0), call.param(1), call.scope, now).await?;
        ok(status, &body)
    }
);

handler!(
    /// `POST /api/contracts/{contractId}/reprice` `{ preview? }`.
    reprice_contract(app, req, now, call) {
        let preview = input::reprice(&optional_body(req)?)?;
        let (status, body) = uc::reprice_contract::run(app, call.param(0), preview, now).await?;
        ok(status, &body)
    }
);

handler!(
    /// `GET /api/invoices/{invoiceId}`.
    read_invoice(app, req, now, call) { ok(200, &uc::read_invoice::run(&app.db, call.param(0), call.scope).await?) }
);

handler!(
    /// `GET /api/quotes/{quoteId}`.
    read_quote(app, req, now, call) { ok(200, &uc::read_quote::run(&app.db, call.param(0), call.scope).await?) }
);

handler!(
    /// `POST /api/billingRuns` `{ date?, cursor?, limit? }`.
    billing_run(app, req, now, call) {
        let run = input::billing_run(&optional_body(req)?, now.today)?;
        ok(200, &uc::billing_run::run(app, run.date, &run.cursor, run.limit, now).await?)
    }
);

handler!(
    /// `POST /api/accounts/{accountId}/setupIntents`.
    setup_intent(app, req, now, call) { ok(201, &uc::setup_intent::run(app, call.param(0), call.scope, now).await?) }
);

handler!(
    /// `POST /api/accounts/{accountId}/paymentMethod` `{ paymentToken }`.
    payment_method(app, req, now, call) {
        let body = input::parse_body(&req.body)?;
        ok(200, &uc::payment_method::run(app, call.param(0), call.scope, &body, now).await?)
    }
);

handler!(
    /// `POST /api/webhooks/stripe`.
    stripe_webhook(app, req, now, call) {
        let signature = req.header("stripe-signature").unwrap_or_default();
        ok(200, &uc::stripe_webhook::run(app, signature, &req.body, now).await?)
    }
);

/// A catalog version's answer: its ETag (304 when it matches), cached
/// publicly, except the secret key's (with promotion codes): never stored.
fn catalog_response(req: &Request, p: Shown, cache: &str) -> Response {
    let base = if req.header("if-none-match").is_some_and(|v| v.split(',').any(|t| t.trim() == p.etag)) {
        Response::empty(304)
    } else {
        Response::json_text(200, p.body)
    };
    base.with_header("etag", p.etag)
        .with_header("cache-control", if p.private { "private, no-store" } else { cache })
        .with_header("quotekit-catalog-version", p.version.to_string())
}
