//! QuoteKit's edge API: the Sign-Up API of `../shared/seeds/signup-api.txt`
//! on Cloudflare Workers, with D1 for storage and Stripe over `fetch`.
//!
//! Everything but the Worker glue (`glue`, wasm32 only) is plain Rust behind
//! three narrow interfaces, [`store::Db`], [`stripe::Http`] / [`stripe::Stripe`]
//! and [`ids::Random`], so `cargo test` runs the service natively.
//!
//! A request flows down the layers (see `ARCHITECTURE.md`): [`http`] reads
//! it into the service's types and picks the route's handler; a use case in
//! [`usecases`] loads what it needs from [`store`], lets the engine
//! (`pricing`) decide every amount, claims what it will change, calls Stripe
//! through [`stripe`], writes the outcome as one batch and builds the view.
//! Steps several use cases share (charging once, issuing an invoice,
//! applying a change) are in [`steps`].

pub mod custom_ids;
pub mod http;
pub mod ids;
pub mod queue;
pub mod secrets;
pub mod steps;
pub mod store;
pub mod stripe;
pub mod tokens;
pub mod usecases;

#[cfg(target_arch = "wasm32")]
mod glue;

use chrono::{NaiveDate, NaiveDateTime};

/// Deployment settings (Worker vars and secrets).
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// `SECRET_KEY`: may do everything.
    pub secret_key: String,
    /// `PUBLISHABLE_KEY`: what a browser may do.
    pub publishable_key: String,
    /// `CORS_ORIGINS`: origins allowed to call from a browser (`*` for any).
    pub cors_origins: Vec<String>,
    /// `SIGNUP_URL_BASE`: where `urls.signup` points (default: the API's own origin).
    pub signup_url_base: Option<String>,
    /// `CUSTOMER_TOKEN_SECRET`: signs customer tokens (default: derived from the secret key).
    pub customer_token_secret: Option<String>,
    /// `STRIPE_WEBHOOK_SECRET`: verifies `Stripe-Signature` on `/api/webhooks/stripe`.
    pub stripe_webhook_secret: Option<String>,
    /// `STRIPE_JS_URL`: where the pages load Stripe.js from (default Stripe's own).
    pub stripe_js_url: String,
    /// `TEST_CLOCK = "enabled"`: requests may set the time with a
    /// `QuoteKit-Test-Now` header (tests and `make dev` only; never in production).
    pub test_clock: bool,
    /// `AUTH_FAILURES_PER_MINUTE` (default 20): failed authentications one
    /// client may make in a minute; past it, 429 with `Retry-After`.
    pub auth_failures_per_minute: i64,
    /// `PROMOTION_CODE_GUESSES_PER_MINUTE` (default 10): requests naming an
    /// unknown or inactive promotion code one client may make in a minute;
    /// past it, 429 with `Retry-After` (valid codes never count).
    pub promotion_code_guesses_per_minute: i64,
}

/// The default of [`Config::auth_failures_per_minute`].
pub const AUTH_FAILURES_PER_MINUTE: i64 = 20;

/// The default of [`Config::promotion_code_guesses_per_minute`].
pub const PROMOTION_CODE_GUESSES_PER_MINUTE: i64 = 10;

impl Config {
    /// Reads the settings from a lookup of Worker vars (`None` when unset).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            secret_key: var("SECRET_KEY").unwrap_or_default(),
            publishable_key: var("PUBLISHABLE_KEY").unwrap_or_default(),
            cors_origins: var("CORS_ORIGINS")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().trim_end_matches('/').to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            signup_url_base: var("SIGNUP_URL_BASE").filter(|s| !s.is_empty()),
            customer_token_secret: var("CUSTOMER_TOKEN_SECRET").filter(|s| !s.is_empty()),
            stripe_webhook_secret: var("STRIPE_WEBHOOK_SECRET").filter(|s| !s.is_empty()),
            stripe_js_url: var("STRIPE_JS_URL")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "https://js.stripe.com/v3/".to_owned()),
            test_clock: var("TEST_CLOCK").is_some_and(|v| v == "enabled"),
            auth_failures_per_minute: var("AUTH_FAILURES_PER_MINUTE")
                .and_then(|v| v.parse().ok())
                .filter(|n| *n > 0)
                .unwrap_or(AUTH_FAILURES_PER_MINUTE),
            promotion_code_guesses_per_minute: var("PROMOTION_CODE_GUESSES_PER_MINUTE")
                .and_then(|v| v.parse().ok())
                .filter(|n| *n > 0)
                .unwrap_or(PROMOTION_CODE_GUESSES_PER_MINUTE),
        }
    }
}

/// The moment a request is handled (the Worker reads the clock; the engine never does).
#[derive(Clone, Debug)]
pub struct Now {
    /// The instant.
    pub at: NaiveDateTime,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub instant: String,
    /// The UTC calendar date: "today" for the engine.
    pub today: NaiveDate,
}

impl Now {
    /// From milliseconds since the Unix epoch.
    #[must_use]
    pub fn from_millis(ms: i64) -> Self {
        let at = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().naive_utc();
        Self::from_naive(at)
    }
    /// Milliseconds since the Unix epoch.
    #[must_use]
    pub fn millis(&self) -> i64 {
        self.at.and_utc().timestamp_millis()
    }
    /// From a UTC date-time.
    #[must_use]
    pub fn from_naive(at: NaiveDateTime) -> Self {
        Self { at, instant: at.format("%Y-%m-%dT%H:%M:%SZ").to_string(), today: at.date() }
    }
}

/// The service: storage, Stripe, randomness and settings.
pub struct App<D, S, R> {
    /// D1 (or SQLite natively).
    pub db: D,
    /// Stripe.
    pub stripe: S,
    /// Id generator.
    pub rng: R,
    /// Settings.
    pub config: Config,
    /// Where accepted usage events go to be stored.
    pub usage: Box<dyn queue::UsageQueue>,
}
