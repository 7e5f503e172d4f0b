//! The route table (method, path, who may call, handler) and the front door
//! every request goes through: test clock, CORS, HEAD, authentication, body
//! limit, `Idempotency-Key`, then the route's handler.

use super::auth::{self, Access, Principal};
use super::call::Call;
use super::{ApiError, ApiResult, Request, Response, body_limit, handlers, idempotency};
use crate::ids::Random;
use crate::store::Db;
use crate::stripe::Stripe;
use crate::{App, Now};

/// A route as listed: method, path template, who may call it.
pub type Route = (&'static str, &'static str, Access);

/// The table: one line per route. `ROUTES` (what the OpenAPI document is
/// checked against) and `dispatch` are both generated from it.
macro_rules! routes {
    ($($method:literal $path:literal $access:ident => $handler:ident,)*) => {
        /// Every route: method, path template, access.
        pub const ROUTES: &[Route] = &[$(($method, $path, Access::$access),)*];

        /// Each route's handler, in the order of `ROUTES`.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug)]
        enum Handler {
            $($handler,)*
        }

        /// `HANDLERS[i]` handles `ROUTES[i]`.
        const HANDLERS: &[Handler] = &[$(Handler::$handler,)*];

        /// Runs the handler of the matched route.
        async fn dispatch<D: Db, S: Stripe, R: Random>(
            app: &App<D, S, R>,
            req: &Request,
            now: &Now,
            call: &Call<'_>,
        ) -> ApiResult<Response> {
            match HANDLERS.get(call.route) {
                $(Some(Handler::$handler) => handlers::$handler(app, req, now, call).await,)*
                None => Err(ApiError::internal(format_args!("no handler for route {}", call.route))),
            }
        }
    };
}

routes! {
    "GET" "/healthz" Public => health,
    "GET" "/openapi.json" Public => openapi,
    "GET" "/api/selfService/config" Public => self_service_config,
    "GET" "/api/catalog" Publishable => read_catalog,
    "PUT" "/api/catalog" Secret => publish_catalog,
    "GET" "/api/catalog/versions/{version}" Publishable => read_catalog_version,
    "POST" "/api/selfService/signup" Publishable => start_signup,
    "GET" "/api/selfService/signup/{sessionId}" Publishable => read_signup,
    "PATCH" "/api/selfService/signup/{sessionId}" Publishable => update_signup,
    "POST" "/api/selfService/signup/{sessionId}/customerToken" Publishable => portal_token,
    "GET" "/api/selfService/promotionCodes/{code}" Publishable => promotion_code,
    "POST" "/api/selfService/contract" Account => change_contract,
    "POST" "/api/customerTokens" Secret => customer_token,
    "GET" "/api/accounts" Secret => find_accounts,
    "GET" "/api/accounts/{accountId}" Account => read_account,
    "PATCH" "/api/accounts/{accountId}" Account => update_account,
    "GET" "/api/accounts/{accountId}/contracts" Account => list_contracts,
    "GET" "/api/accounts/{accountId}/invoices" Account => list_invoices,
    "POST" "/api/contracts" Secret => import_contract,
    "GET" "/api/contracts/{contractId}" Account => read_contract,
    "GET" "/api/contracts/{contractId}/usage" Account => contract_usage,
    "POST" "/api/contracts/{contractId}/amendments/{amendmentId}/approve" Secret => approve_amendment,
    "POST" "/api/contracts/{contractId}/amendments/{amendmentId}/reject" Secret => reject_amendment,
    "POST" "/api/contracts/{contractId}/amendments/{amendmentId}/withdraw" Account => withdraw_amendment,
    "POST" "/api/contracts/{contractId}/reprice" Secret => reprice_contract,
    "GET" "/api/invoices/{invoiceId}" Account => read_invoice,
    "GET" "/api/quotes/{quoteId}" Account => read_quote,
    "POST" "/api/billingRuns" Secret => billing_run,
    "POST" "/api/usage" Secret => report_usage,
    "POST" "/api/accounts/{accountId}/setupIntents" Account => setup_intent,
    "POST" "/api/accounts/{accountId}/paymentMethod" Account => payment_method,
    "POST" "/api/webhooks/stripe" Public => stripe_webhook,
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

fn preflight(allowed: bool) -> Response {
    if !allowed {
        return ApiError::new(403, "CORS_ORIGIN_NOT_ALLOWED", "", "This origin may not call the API from a browser.")
            .response();
    }
    Response::empty(204)
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
        _ => match auth::authenticate(&app.config, req, now) {
            Some(p) => Some(p),
            None => return Err(auth::unauthorized(&app.db, &app.config, req, now).await),
        },
    };
    auth::permit(access, principal.as_ref())?;
    let limit = body_limit(&req.path);
    if req.body.len() > limit {
        return Err(ApiError::new(413, "BODY_TOO_LARGE", "", format!("The body is over {} KB.", limit / 1024)));
    }
    let call = Call {
        route: index,
        params,
        scope: principal.as_ref().and_then(Principal::scope),
        publishable: principal == Some(Principal::Publishable),
    };
    match (req.method.as_str(), &principal, req.header("idempotency-key")) {
        ("POST" | "PATCH", Some(p), Some(key)) => {
            idempotency::once(&app.db, req, now, p, key, dispatch(app, req, now, &call)).await
        }
        _ => dispatch(app, req, now, &call).await,
    }
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
}
