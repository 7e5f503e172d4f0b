//! `GET /api/selfService/config`: what the pages need to start (public).

use serde_json::{Value, json};

use crate::stripe::Stripe;
use crate::{App, Config};

/// The publishable keys and where Stripe.js loads from.
pub fn run<D, S: Stripe, R>(app: &App<D, S, R>) -> Value {
    let Config { publishable_key, stripe_js_url, .. } = &app.config;
    json!({
        "publishableKey": publishable_key,
        "stripe": { "publishableKey": app.stripe.publishable_key(), "jsUrl": stripe_js_url },
    })
}
