//! Routing, authentication, CORS, body limits and `Idempotency-Key`, in front
//! of the handlers.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::{ApiError, ApiResult, MAX_BODY, Request, Response};
use crate::catalogs;
use crate::db::{Db, DbError, int, text};
use crate::ids::Random;
use crate::input;
use crate::stripe::Stripe;
use crate::{App, Now, stmt};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// The publishable or the secret key.
    Publishable,
    /// The secret key only.
    Secret,
}

/// Every route: method, path template, access. The OpenAPI document is
/// checked against this table by the tests.
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/healthz", Access::Public),
    ("GET", "/openapi.json", Access::Public),
    ("GET", "/api/catalog", Access::Publishable),
    ("PUT", "/api/catalog", Access::Secret),
    ("GET", "/api/catalog/versions/{version}", Access::Publishable),
    ("POST", "/api/selfService/signup", Access::Publishable),
    ("GET", "/api/selfService/signup/{sessionId}", Access::Publishable),
    ("PATCH", "/api/selfService/signup/{sessionId}", Access::Publishable),
];

/// The authenticated caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Principal {
    /// The secret key.
    Secret,
    /// The publishable key.
    Publishable,
}

impl Principal {
    fn as_str(self) -> &'static str {
        match self {
            Self::Secret => "secret",
            Self::Publishable => "publishable",
        }
    }
}

/// Compares without an early exit, so timing tells nothing about the key.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Which route `method path` is, with its path parameter.
fn find_route<'p>(method: &str, path: &'p str) -> Result<(usize, Option<&'p str>), ApiError> {
    let mut path_found = false;
    let mut allowed: Vec<&str> = Vec::new();
    for (i, (m, template, _)) in ROUTES.iter().enumerate() {
        if let Some(param) = match_template(template, path) {
            path_found = true;
            allowed.push(m);
            if *m == method {
                return Ok((i, param));
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

fn match_template<'p>(template: &str, path: &'p str) -> Option<Option<&'p str>> {
    let mut param = None;
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(param),
            (Some(ts), Some(ps)) if ts.starts_with('{') => {
                if ps.is_empty() {
                    return None;
                }
                param = Some(ps);
            }
            (Some(ts), Some(ps)) if ts == ps => {}
            _ => return None,
        }
    }
}

fn authenticate(config: &crate::Config, req: &Request) -> Option<Principal> {
    let token = req.header("authorization")?.strip_prefix("Bearer ")?.trim();
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
    let cors = allowed_origin(&app.config, req).map(str::to_owned);
    let mut response = if req.method == "OPTIONS" {
        preflight(cors.is_some())
    } else {
        match route(app, req, now).await {
            Ok(r) => r,
            Err(e) => e.response(),
        }
    };
    if let Some(origin) = cors {
        response = response
            .with_header("access-control-allow-origin", origin)
            .with_header("access-control-expose-headers", "ETag, Idempotent-Replayed, QuoteKit-Catalog-Version")
            .with_header("vary", "Origin");
    }
    response.with_header("x-content-type-options", "nosniff")
}

fn preflight(allowed: bool) -> Response {
    if !allowed {
        return ApiError::new(403, "CORS_ORIGIN_NOT_ALLOWED", "", "This origin may not call the API from a browser.")
            .response();
    }
    Response { status: 204, headers: vec![], body: String::new() }
        .with_header("access-control-allow-methods", "GET, POST, PATCH, PUT, OPTIONS")
        .with_header("access-control-allow-headers", "authorization, content-type, idempotency-key, if-none-match")
        .with_header("access-control-max-age", "600")
}

async fn route<D: Db, S: Stripe, R: Random>(app: &App<D, S, R>, req: &Request, now: &Now) -> ApiResult<Response> {
    let (index, param) = find_route(&req.method, &req.path)?;
    let access = ROUTES.get(index).map_or(Access::Secret, |r| r.2);
    let principal =
        match access {
            Access::Public => None,
            _ => Some(authenticate(&app.config, req).ok_or_else(|| {
                ApiError::new(401, "UNAUTHORIZED", "", "Send a valid key: Authorization: Bearer <key>.")
            })?),
        };
    if access == Access::Secret && principal != Some(Principal::Secret) {
        return Err(ApiError::new(403, "FORBIDDEN", "", "This endpoint needs the secret key."));
    }
    if req.body.len() > MAX_BODY {
        return Err(ApiError::new(413, "BODY_TOO_LARGE", "", format!("The body is over {} KB.", MAX_BODY / 1024)));
    }
    let param = param.unwrap_or_default();
    match (req.method.as_str(), principal, req.header("idempotency-key")) {
        ("POST" | "PATCH", Some(p), Some(key)) => idempotent(app, req, now, p, key, index, param).await,
        _ => dispatch(app, req, now, index, param).await,
    }
}

async fn dispatch<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    req: &Request,
    now: &Now,
    index: usize,
    param: &str,
) -> ApiResult<Response> {
    let template = ROUTES.get(index).map_or("", |r| r.1);
    match (req.method.as_str(), template) {
        ("GET", "/healthz") => {
            let version = catalogs::current(&app.db).await?.map(|p| p.version);
            Ok(Response::json(200, &json!({ "status": "ok", "catalogVersion": version })))
        }
        ("GET", "/openapi.json") => Ok(Response::json_text(200, crate::openapi::DOCUMENT.to_owned())
            .with_header("cache-control", "public, max-age=300")),
        ("GET", "/api/catalog") => {
            let p = catalogs::require_current(&app.db).await?;
            Ok(catalog_response(req, p, "public, max-age=60"))
        }
        ("GET", "/api/catalog/versions/{version}") => {
            let v: i64 =
                param.parse().map_err(|_| ApiError::bad("INVALID_VALUE", "version", "version is a number."))?;
            let p = catalogs::version(&app.db, v).await?.ok_or_else(|| ApiError::not_found("catalog version"))?;
            Ok(catalog_response(req, p, "public, max-age=31536000, immutable"))
        }
        ("PUT", "/api/catalog") => {
            let body = input::parse_body(&req.body)?;
            let (p, created) = catalogs::publish(&app.db, &body, &now.instant).await?;
            Ok(Response::json(
                if created { 201 } else { 200 },
                &json!({ "version": p.version, "etag": p.etag, "createdAt": p.created_at, "created": created }),
            )
            .with_header("etag", p.etag))
        }
        ("POST", "/api/selfService/signup") => {
            let input = input::signup(&input::parse_body(&req.body)?)?;
            let (status, body) = app.signup_post(input, now, &req.origin).await?;
            Ok(Response::json(status, &body))
        }
        ("GET", "/api/selfService/signup/{sessionId}") => {
            Ok(Response::json(200, &app.signup_get(param, &req.origin).await?))
        }
        ("PATCH", "/api/selfService/signup/{sessionId}") => {
            let input =
                input::parse_body(&req.body).and_then(|v| input::signup(&v)).map_err(|e| e.for_session(param))?;
            let (status, body) = app.signup_patch(param, input, now, &req.origin).await?;
            Ok(Response::json(status, &body))
        }
        _ => Err(ApiError::internal()),
    }
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
    principal: Principal,
    key: &str,
    index: usize,
    param: &str,
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
    let who = principal.as_str();
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
    let response = match dispatch(app, req, now, index, param).await {
        Ok(r) => r,
        Err(e) => e.response(),
    };
    // Conflicts and failures on our side or Stripe's are not final: free the key for a retry.
    let keep = response.status != 409 && response.status < 500;
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
        assert_eq!(find_route("GET", "/healthz").ok(), Some((0, None)));
        assert_eq!(find_route("PATCH", "/api/selfService/signup/cart_x").map(|r| r.1).ok(), Some(Some("cart_x")));
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
