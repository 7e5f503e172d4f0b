//! `GET /api/selfService/signup/{id}`: a sign-up session as it stands.

use serde_json::{Value, json};

use crate::http::ApiResult;
use crate::ids::Random;
use crate::steps::claims::seconds_since;
use crate::steps::signup::{self, PORTAL_WINDOW_SECONDS};
use crate::store::Db;
use crate::store::sessions::Status;
use crate::stripe::Stripe;
use crate::{App, Now};

/// `GET` of a session. With the publishable key (public, in every page), a
/// session finalized longer ago than its portal window answers only its
/// status and step: the customer's details, contract and invoice are no
/// longer for anyone holding the link (the secret key still sees them).
pub async fn run<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    id: &str,
    publishable: bool,
    now: &Now,
) -> ApiResult<Value> {
    let s = signup::require_session(&app.db, id).await?;
    let closed =
        s.status() == Status::Finalized && seconds_since(&s.updated_at, now).is_none_or(|t| t > PORTAL_WINDOW_SECONDS);
    if publishable && closed {
        return Ok(json!({
            "sessionId": s.id, "error": false, "action": "GET", "status": s.status().as_str(),
            "step": s.step(), "urls": { "signup": signup::signup_url(app, &s.id) },
        }));
    }
    signup::view(app, &s, "GET", now).await
}
