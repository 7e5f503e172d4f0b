//! Routing, authentication, CORS, body limits and `Idempotency-Key`, in front
//! of the handlers.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::{ApiError, ApiResult, MAX_BODY, Request, Response};
use crate::catalogs;
use crate::db::{Db, DbError, int, text};
use crate::ids::Random;
use crate::input;
use crate::secrets::constant_time_eq;
use crate::stripe::Stripe;
use crate::{App, Now, stmt};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// The publishable or the secret key.
    Publishable,
    /// The secret key, or a customer token (then only its own account).
    Account,
    /// The secret key only.
    Secret,
}

/// Every route: method, path template, access. The OpenAPI document is
/// checked against this table by the tests.
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/healthz", Access::Public),
    ("GET", "/openapi.json", Access::Public),
    ("GET", "/api/selfService/config", Access::Public),
    ("GET", "/api/catalog", Access::Publishable),
    ("PUT", "/api/catalog", Access::Secret),
    ("GET", "/api/catalog/versions/{version}", Access::Publishable),
    ("POST", "/api/selfService/signup", Access::Publishable),
    ("GET", "/api/selfService/signup/{sessionId}", Access::Publishable),
    ("PATCH", "/api/selfService/signup/{sessionId}", Access::Publishable),
    ("POST", "/api/selfService/signup/{sessionId}/customerToken", Access::Publishable),
    ("POST", "/api/selfService/contract", Access::Account),
    ("POST", "/api/customerTokens", Access::Secret),
    ("GET", "/api/accounts", Access::Secret),
    ("GET", "/api/accounts/{accountId}", Access::Account),
    ("PATCH", "/api/accounts/{accountId}", Access::Account),
    ("GET", "/api/accounts/{accountId}/contracts", Access::Account),
    ("GET", "/api/accounts/{accountId}/invoices", Access::Account),
    ("POST", "/api/contracts", Access::Secret),
    ("GET", "/api/contracts/{contractId}", Access::Account),
    ("POST", "/api/contracts/{contractId}/amendments/{amendmentId}/approve", Access::Secret),
    ("POST", "/api/contracts/{contractId}/amendments/{amendmentId}/reject", Access::Secret),
    ("POST", "/api/contracts/{contractId}/amendments/{amendmentId}/withdraw", Access::Account),
    ("POST", "/api/contracts/{contractId}/reprice", Access::Secret),
    ("GET", "/api/invoices/{invoiceId}", Access::Account),
    ("GET", "/api/quotes/{quoteId}", Access::Account),
    ("POST", "/api/billingRuns", Access::Secret),
    ("POST", "/api/accounts/{accountId}/setupIntents", Access::Account),
    ("POST", "/api/accounts/{accountId}/paymentMethod", Access::Account),
    ("POST", "/api/webhooks/stripe", Access::Public),
];

/// The authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// The secret key.
    Secret,
    /// The publishable key.
    Publishable,
    /// A customer token for this account.
    Customer(String),
}

impl Principal {
    fn idempotency_scope(&self) -> String {
        match self {
            Self::Secret => "secret".into(),
            Self::Publishable => "publishable".into(),
            Self::Customer(a) => format!("account:{a}"),
        }
    }
    /// The account a customer token limits the caller to.
    fn scope(&self) -> Option<&str> {
        match self {
            Self::Customer(a) => Some(a),
            _ => None,
        }
    }
}

/// Which route `method path` is, with its path parameters.
fn find_route<'p>(method: &str, path: &'p str) -> Result<(usize, Vec<&'p str>), ApiError> {
    let mut path_found = false;
    let mut allowed: Vec<&str> = Vec::new();
    for (i, (m, template, _)) in ROUTES.iter().enumerate() {
        if let Some(params) = match_template(template, path) {
            path_found = true;
            allowed.push(m);
            if *m == method {
                return Ok((i, params));
            }
        }
    }
    if path_found {
        return Err(ApiError::new(
            405,
            "METHOD_NOT_ALLOWED",
            "",
            format!("{method} is not allowed here; use {}.", allowed.join(", ")),
        ));
    }
    Err(ApiError::new(404, "NOT_FOUND", "", "No such endpoint; see /openapi.json."))
}

/// The `Allow` header of a path: its methods, HEAD beside GET, and OPTIONS.
fn allowed_methods(path: &str) -> String {
    let mut methods: Vec<&str> =
        ROUTES.iter().filter(|(_, t, _)| match_template(t, path).is_some()).map(|(m, _, _)| *m).collect();
    if methods.contains(&"GET") {
        methods.push("HEAD");
    }
    methods.push("OPTIONS");
    methods.join(", ")
}

fn match_template<'p>(template: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut params = Vec::new();
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) if ts.starts_with('{') => {
                if ps.is_empty() || ps.len() > 100 {
                    return None;
                }
                params.push(ps);
            }
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return None,
        }
    }
}

fn authenticate(config: &crate::Config, req: &Request, now: &Now) -> Option<Principal> {
    let token = req.header("authorization")?.strip_prefix("Bearer ")?.trim();
    if token.starts_with("ctok_") {
        let key = crate::tokens::signing_key(config)?;
        return crate::tokens::verify(&key, token, now.at.and_utc().timestamp()).map(Principal::Customer);
    }
    if !config.secret_key.is_empty() && constant_time_eq(token.as_bytes(), config.secret_key.as_bytes()) {
        return Some(Principal::Secret);
    }
    if !config.publishable_key.is_empty() && constant_time_eq(token.as_bytes(), config.publishable_key.as_bytes()) {
        return Some(Principal::Publishable);
    }
    None
}

fn allowed_origin<'r>(config: &crate::Config, req: &'r Request) -> Option<&'r str> {
    let origin = req.header("origin")?;
    config.cors_origins.iter().any(|o| o == "*" || o == origin).then_some(origin)
}

/// Handles one request; never panics, never fails: every error is a response.
pub async fn handle<D: Db, S: Stripe, R: Random>(app: &App<D, S, R>, req: &Request, now: &Now) -> Response {
    let test_now = app
        .config
        .test_clock
        .then(|| req.header("quotekit-test-now"))
        .flatten()
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%SZ").ok())
        .map(Now::from_naive);
    let now = test_now.as_ref().unwrap_or(now);
    let cors = allowed_origin(&app.config, req).map(str::to_owned);
    // HEAD is GET without the body.
    let head = req.method == "HEAD";
    let as_get;
    let req = if head {
        as_get = Request { method: "GET".into(), ..req.clone() };
        &as_get
    } else {
        req
    };
    let mut response = if req.method == "OPTIONS" {
        preflight(cors.is_some())
    } else {
        match route(app, req, now).await {
            Ok(r) => r,
            Err(e) => e.response(),
        }
    };
    match response.status {
        405 => response = response.with_header("allow", allowed_methods(&req.path)),
        401 => response = response.with_header("www-authenticate", "Bearer realm=\"QuoteKit\""),
        429 => {
            use chrono::Timelike;
            let wait = 60u32.saturating_sub(now.at.second()).max(1);
            response = response.with_header("retry-after", wait.to_string());
        }
        _ => {}
    }
    if head {
        response.body.clear();
    }
    if let Some(origin) = cors {
        response = response
            .with_header("access-control-allow-origin", origin)
            .with_header("access-control-expose-headers", "ETag, Idempotent-Replayed, QuoteKit-Catalog-Version")
            .with_header("vary", "Origin");
    }
    response.with_header("x-content-type-options", "nosniff")
}

/// A failed authentication, counted against the client (Cloudflare's
/// `CF-Connecting-IP`): 401, or 429 once the client is past
/// `AUTH_FAILURES_PER_MINUTE` this minute (a key is not guessed by trying).
async fn unauthorized<D: Db, S: Stripe, R: Random>(app: &App<D, S, R>, req: &Request, now: &Now) -> ApiError {
    let client = req.header("cf-connecting-ip").unwrap_or("unknown");
    let minute = now.at.format("%Y-%m-%dT%H:%M").to_string();
    let counted = app
        .db
        .query(stmt!(
            "INSERT INTO auth_failures (client, minute, count) VALUES (?1, ?2, 1) \
             ON CONFLICT (client, minute) DO UPDATE SET count = count + 1 RETURNING count",
            client,
            minute.as_str()
        ))
        .await;
    // Earlier minutes are let go (a failure here changes no answer).
    let _ = app.db.batch(vec![stmt!("DELETE FROM auth_failures WHERE minute < ?1", minute.as_str())]).await;
    let count = counted.ok().and_then(|rows| rows.first().and_then(|r| int(r, "count"))).unwrap_or(0);
    if count > app.config.auth_failures_per_minute {
        return ApiError::new(
            429,
            "TOO_MANY_FAILED_AUTHENTICATIONS",
            "",
            "Too many requests with a wrong key or token from this client; wait a minute (Retry-After).",
        );
    }
    ApiError::new(
        401,
        "UNAUTHORIZED",
        "",
        "Send a valid key or an unexpired customer token: Authorization: Bearer <key>.",
    )
}

fn preflight(allowed: bool) -> Response {
    if !allowed {
        return ApiError::new(403, "CORS_ORIGIN_NOT_ALLOWED", "", "This origin may not call the API from a browser.")
            .response();
    }
    Response { status: 204, headers: vec![], body: String::new() }
        .with_header("access-control-allow-methods", "GET, HEAD, POST, PATCH, PUT, OPTIONS")
        .with_header(
            "access-control-allow-headers",
            "authorization, content-type, idempotency-key, if-none-match, quotekit-test-now",
        )
        .with_header("access-control-max-age", "600")
}

async fn route<D: Db, S: Stripe, R: Random>(app: &App<D, S, R>, req: &Request, now: &Now) -> ApiResult<Response> {
    let (index, params) = find_route(&req.method, &req.path)?;
    let access = ROUTES.get(index).map_or(Access::Secret, |r| r.2);
    let principal = match access {
        Access::Public => None,
        _ => match authenticate(&app.config, req, now) {
            Some(p) => Some(p),
            None => return Err(unauthorized(app, req, now).await),
        },
    };
    let permitted = matches!(
        (access, &principal),
        (Access::Public, _)
            | (_, Some(Principal::Secret))
            | (Access::Publishable, Some(Principal::Publishable))
            | (Access::Account, Some(Principal::Customer(_)))
    );
    if !permitted {
        let need = match access {
            Access::Publishable => "the publishable or the secret key",
            Access::Account => "the secret key or a customer token",
            _ => "the secret key",
        };
        return Err(ApiError::new(403, "FORBIDDEN", "", format!("This endpoint needs {need}.")));
    }
    if req.body.len() > MAX_BODY {
        return Err(ApiError::new(413, "BODY_TOO_LARGE", "", format!("The body is over {} KB.", MAX_BODY / 1024)));
    }
    let call = Call {
        index,
        params,
        scope: principal.as_ref().and_then(Principal::scope),
        publishable: principal == Some(Principal::Publishable),
    };
    match (req.method.as_str(), &principal, req.header("idempotency-key")) {
        ("POST" | "PATCH", Some(p), Some(key)) => idempotent(app, req, now, p, key, &call).await,
        _ => dispatch(app, req, now, &call).await,
    }
}

/// A matched route: which, its path parameters, and the caller's account scope.
struct Call<'a> {
    index: usize,
    params: Vec<&'a str>,
    scope: Option<&'a str>,
    /// The caller holds only the publishable key (public, in every page).
    publishable: bool,
}

impl Call<'_> {
    fn param(&self, i: usize) -> &str {
        self.params.get(i).copied().unwrap_or_default()
    }
}

fn ok(status: u16, body: &Value) -> ApiResult<Response> {
    Ok(Response::json(status, body))
}

async fn dispatch<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    req: &Request,
    now: &Now,
    call: &Call<'_>,
) -> ApiResult<Response> {
    let template = ROUTES.get(call.index).map_or("", |r| r.1);
    let (p0, p1, scope) = (call.param(0), call.param(1), call.scope);
    match (req.method.as_str(), template) {
        ("GET", "/healthz") => {
            let version = catalogs::current(&app.db).await?.map(|p| p.version);
            ok(200, &json!({ "status": "ok", "catalogVersion": version }))
        }
        ("GET", "/openapi.json") => Ok(Response::json_text(200, crate::openapi::DOCUMENT.to_owned())
            .with_header("cache-control", "public, max-age=300")),
        ("GET", "/api/selfService/config") => ok(
            200,
            &json!({
                "publishableKey": app.config.publishable_key,
                "stripe": { "publishableKey": app.stripe.publishable_key(), "jsUrl": app.config.stripe_js_url },
            }),
        ),
        ("GET", "/api/catalog") => {
            let p = catalogs::require_current(&app.db).await?;
            Ok(catalog_response(req, p, "public, max-age=60"))
        }
        ("GET", "/api/catalog/versions/{version}") => {
            let v: i64 = p0.parse().map_err(|_| ApiError::bad("INVALID_VALUE", "version", "version is a number."))?;
            let p = catalogs::version(&app.db, v).await?.ok_or_else(|| ApiError::not_found("catalog version"))?;
            Ok(catalog_response(req, p, "public, max-age=31536000, immutable"))
        }
        ("PUT", "/api/catalog") => {
            let body = input::parse_body(&req.body)?;
            crate::contracts::check_approval_rules(&body)?;
            crate::billing::check_dunning(&body)?;
            let (p, created) = catalogs::publish(&app.db, &body, &now.instant).await?;
            Ok(Response::json(
                if created { 201 } else { 200 },
                &json!({ "version": p.version, "etag": p.etag, "createdAt": p.created_at, "created": created }),
            )
            .with_header("etag", p.etag))
        }
        ("POST", "/api/selfService/signup") => {
            let input = input::signup(&input::parse_body(&req.body)?)?;
            let (status, body) = app.signup_post(input, now).await?;
            ok(status, &body)
        }
        ("GET", "/api/selfService/signup/{sessionId}") => ok(200, &app.signup_get(p0, call.publishable, now).await?),
        ("PATCH", "/api/selfService/signup/{sessionId}") => {
            let input = input::parse_body(&req.body).and_then(|v| input::signup(&v)).map_err(|e| e.for_session(p0))?;
            let (status, body) = app.signup_patch(p0, input, now).await?;
            ok(status, &body)
        }
        ("POST", "/api/selfService/signup/{sessionId}/customerToken") => {
            let account = app.finalized_account(p0, now).await?;
            ok(201, &mint_token(app, &account, crate::tokens::DEFAULT_TTL, now)?)
        }
        ("POST", "/api/selfService/contract") => {
            let mut change = crate::contracts::parse_change(&input::parse_body(&req.body)?)?;
            // The vendor's approval rules always hold for a customer; only the secret key may skip them.
            change.evaluate_approval_rules |= scope.is_some();
            let (status, body) = app.contract_change(scope, &change, now).await?;
            ok(status, &body)
        }
        ("POST", "/api/customerTokens") => ok(201, &customer_token(app, req, now).await?),
        ("GET", "/api/accounts") => {
            let custom_id = req
                .query("customId")
                .ok_or_else(|| ApiError::bad("MISSING_FIELD", "customId", "Look accounts up by ?customId=."))?;
            ok(200, &app.accounts_by_custom_id(custom_id).await?)
        }
        ("GET", "/api/accounts/{accountId}") => ok(200, &app.account(p0, scope).await?),
        ("GET", "/api/accounts/{accountId}/contracts") => ok(200, &app.account_contracts(p0, scope, req).await?),
        ("PATCH", "/api/accounts/{accountId}") => {
            ok(200, &app.update_account(p0, scope, &input::parse_body(&req.body)?, now).await?)
        }
        ("GET", "/api/accounts/{accountId}/invoices") => ok(200, &app.account_invoices(p0, scope, req).await?),
        ("POST", "/api/contracts") => {
            let (status, body) = app.import_contract(&input::parse_body(&req.body)?, now).await?;
            ok(status, &body)
        }
        ("GET", "/api/contracts/{contractId}") => ok(200, &app.contract_view(p0, scope).await?),
        ("POST", "/api/contracts/{contractId}/amendments/{amendmentId}/approve") => {
            let (status, body) = app.review(p0, p1, true, now).await?;
            ok(status, &body)
        }
        ("POST", "/api/contracts/{contractId}/amendments/{amendmentId}/reject") => {
            let (status, body) = app.review(p0, p1, false, now).await?;
            ok(status, &body)
        }
        ("POST", "/api/contracts/{contractId}/amendments/{amendmentId}/withdraw") => {
            let (status, body) = app.withdraw(p0, p1, scope, now).await?;
            ok(status, &body)
        }
        ("POST", "/api/contracts/{contractId}/reprice") => {
            let body = if req.body.is_empty() { json!({}) } else { input::parse_body(&req.body)? };
            let (status, body) = app.reprice(p0, &body, now).await?;
            ok(status, &body)
        }
        ("GET", "/api/invoices/{invoiceId}") => ok(200, &app.invoice(p0, scope).await?),
        ("GET", "/api/quotes/{quoteId}") => ok(200, &app.quote(p0, scope).await?),
        ("POST", "/api/accounts/{accountId}/setupIntents") => ok(201, &app.account_setup_intent(p0, scope, now).await?),
        ("POST", "/api/accounts/{accountId}/paymentMethod") => {
            ok(200, &app.account_payment_method(p0, scope, &input::parse_body(&req.body)?, now).await?)
        }
        ("POST", "/api/webhooks/stripe") => ok(200, &app.stripe_webhook(req, now).await?),
        ("POST", "/api/billingRuns") => {
            let body = if req.body.is_empty() { json!({}) } else { input::parse_body(&req.body)? };
            if !body.is_object() {
                return Err(ApiError::bad(
                    "INVALID_VALUE",
                    "",
                    "The body is a JSON object: { date?, cursor?, limit? }.",
                ));
            }
            let date = match body.get("date") {
                None | Some(Value::Null) => now.today,
                Some(v) => v
                    .as_str()
                    .and_then(pricing::parse_date)
                    .ok_or_else(|| ApiError::bad("INVALID_VALUE", "date", "date is YYYY-MM-DD."))?,
            };
            // Billing ahead of time would issue invoices for periods not yet due
            // (and a far date is unbounded work): a run is for today or a past day.
            if date > now.today {
                return Err(ApiError::bad(
                    "INVALID_VALUE",
                    "date",
                    format!("date may not be after today ({}): a run bills what is due.", now.today),
                ));
            }
            let cursor = match body.get("cursor") {
                None | Some(Value::Null) => "",
                Some(v) => v.as_str().ok_or_else(|| {
                    ApiError::bad("INVALID_VALUE", "cursor", "cursor is the nextCursor of the page before.")
                })?,
            };
            let limit = match body.get("limit") {
                None | Some(Value::Null) => crate::billing::DEFAULT_PAGE,
                Some(v) => v.as_i64().filter(|l| (1..=crate::billing::MAX_PAGE).contains(l)).ok_or_else(|| {
                    ApiError::bad("INVALID_VALUE", "limit", format!("limit is 1 to {}.", crate::billing::MAX_PAGE))
                })?,
            };
            ok(200, &app.billing_run(date, cursor, limit, now).await?)
        }
        _ => Err(ApiError::internal()),
    }
}

/// `POST /api/customerTokens` `{ accountId, expiresIn? }` (seconds, default 3600, at most 86400).
async fn customer_token<D: Db, S: Stripe, R: Random>(app: &App<D, S, R>, req: &Request, now: &Now) -> ApiResult<Value> {
    let body = input::parse_body(&req.body)?;
    let account = body
        .get("accountId")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad("MISSING_FIELD", "accountId", "accountId is required."))?;
    let ttl = match body.get("expiresIn") {
        None | Some(Value::Null) => crate::tokens::DEFAULT_TTL,
        Some(v) => v
            .as_i64()
            .filter(|t| (1..=crate::tokens::MAX_TTL).contains(t))
            .ok_or_else(|| ApiError::bad("INVALID_VALUE", "expiresIn", "expiresIn is 1 to 86400 seconds."))?,
    };
    app.account(account, None).await?;
    mint_token(app, account, ttl, now)
}

/// A customer token for `account`, valid `ttl` seconds from now.
fn mint_token<D, S, R>(app: &App<D, S, R>, account: &str, ttl: i64, now: &Now) -> ApiResult<Value> {
    let key = crate::tokens::signing_key(&app.config).ok_or_else(ApiError::internal)?;
    let expires = now.at.and_utc().timestamp().saturating_add(ttl);
    let token = crate::tokens::mint(&key, account, expires).ok_or_else(ApiError::internal)?;
    let at = chrono::DateTime::from_timestamp(expires, 0).map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    Ok(json!({ "token": token, "accountId": account, "expiresAt": at }))
}

fn catalog_response(req: &Request, p: catalogs::Published, cache: &str) -> Response {
    let base = if req.header("if-none-match").is_some_and(|v| v.split(',').any(|t| t.trim() == p.etag)) {
        Response { status: 304, headers: vec![], body: String::new() }
    } else {
        Response::json_text(200, p.body)
    };
    base.with_header("etag", p.etag)
        .with_header("cache-control", cache)
        .with_header("quotekit-catalog-version", p.version.to_string())
}

/// How long an unfinished Idempotency-Key blocks others (a request that died mid-way).
const IDEMPOTENCY_LOCK_SECONDS: i64 = 60;

async fn idempotent<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    req: &Request,
    now: &Now,
    principal: &Principal,
    key: &str,
    call: &Call<'_>,
) -> ApiResult<Response> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(ApiError::bad(
            "INVALID_VALUE",
            "Idempotency-Key",
            "Idempotency-Key is 1 to 255 printable ASCII characters.",
        ));
    }
    let mut hasher = Sha256::new();
    hasher.update(req.method.as_bytes());
    hasher.update(b"\n");
    hasher.update(req.path.as_bytes());
    hasher.update(b"\n");
    hasher.update(&req.body);
    let hash: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let who_owned = principal.idempotency_scope();
    let who = who_owned.as_str();
    let rows = app
        .db
        .query(stmt!(
            "SELECT request_hash, status, body, created_at FROM idempotency_keys WHERE principal = ?1 AND key = ?2",
            who,
            key
        ))
        .await?;
    let mut take_over = None;
    if let Some(row) = rows.first() {
        if text(row, "request_hash").as_deref() != Some(hash.as_str()) {
            return Err(ApiError::new(
                422,
                "IDEMPOTENCY_KEY_REUSED",
                "Idempotency-Key",
                "This Idempotency-Key was used with a different request; use a new key for a new request.",
            ));
        }
        let status = int(row, "status").unwrap_or(0);
        if status > 0 {
            let status = u16::try_from(status).unwrap_or(500);
            return Ok(Response::json_text(status, text(row, "body").unwrap_or_default())
                .with_header("idempotent-replayed", "true"));
        }
        let started = text(row, "created_at").unwrap_or_default();
        let stale = chrono::NaiveDateTime::parse_from_str(&started, "%Y-%m-%dT%H:%M:%SZ")
            .is_ok_and(|t| now.at.signed_duration_since(t).num_seconds() > IDEMPOTENCY_LOCK_SECONDS);
        if !stale {
            return Err(in_use());
        }
        take_over = Some(started);
    }
    let mut claim = Vec::new();
    if let Some(started) = take_over {
        claim.push(stmt!(
            "DELETE FROM idempotency_keys WHERE principal = ?1 AND key = ?2 AND status = 0 AND created_at = ?3",
            who,
            key,
            started
        ));
    }
    claim.push(stmt!(
        "INSERT INTO idempotency_keys (principal, key, request_hash, status, body, created_at) \
         VALUES (?1, ?2, ?3, 0, '', ?4)",
        who,
        key,
        hash.as_str(),
        now.instant.as_str()
    ));
    match app.db.batch(claim).await {
        Ok(()) => {}
        Err(DbError::Conflict(_)) => return Err(in_use()),
        Err(e) => return Err(e.into()),
    }
    let response = match dispatch(app, req, now, call).await {
        Ok(r) => r,
        Err(e) => e.response(),
    };
    // Like Stripe: a result is kept only for a request that ran (a success, or a
    // charge declined). A request refused before doing anything (bad input, no
    // such object), a conflict, and failures on our side or Stripe's are not
    // final: the key is freed, so a corrected retry under it goes through.
    let keep = response.status < 300 || response.status == 402;
    let finish = if keep {
        stmt!(
            "UPDATE idempotency_keys SET status = ?3, body = ?4 WHERE principal = ?1 AND key = ?2",
            who,
            key,
            i64::from(response.status),
            response.body.as_str()
        )
    } else {
        stmt!("DELETE FROM idempotency_keys WHERE principal = ?1 AND key = ?2", who, key)
    };
    // If this write fails the key stays locked until it goes stale; the answer stands.
    let _ = app.db.batch(vec![finish]).await;
    Ok(response)
}

fn in_use() -> ApiError {
    ApiError::conflict(
        "IDEMPOTENCY_KEY_IN_USE",
        "A request with this Idempotency-Key is still being processed; retry shortly.",
    )
}

/// The value of a JSON body (for tests and tools).
#[must_use]
pub fn body_json(r: &Response) -> Value {
    serde_json::from_str(&r.body).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_their_templates() {
        assert_eq!(find_route("GET", "/healthz").ok(), Some((0, vec![])));
        assert_eq!(find_route("PATCH", "/api/selfService/signup/cart_x").map(|r| r.1).ok(), Some(vec!["cart_x"]));
        assert_eq!(
            find_route("POST", "/api/contracts/c1/amendments/a1/approve").map(|r| r.1).ok(),
            Some(vec!["c1", "a1"])
        );
        assert_eq!(find_route("DELETE", "/api/catalog").err().map(|e| e.status), Some(405));
        assert_eq!(find_route("GET", "/api/selfService/signup/").err().map(|e| e.status), Some(404));
        assert_eq!(find_route("GET", "/nope").err().map(|e| e.status), Some(404));
    }

    #[test]
    fn keys_compare_exactly() {
        assert!(constant_time_eq(b"sk_test_local", b"sk_test_local"));
        assert!(!constant_time_eq(b"sk_test_local", b"sk_test_locaL"));
        assert!(!constant_time_eq(b"sk_test_local", b"sk_test_loca"));
    }
}
