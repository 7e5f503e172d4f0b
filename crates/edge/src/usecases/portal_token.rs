//! `POST /api/selfService/signup/{id}/customerToken`: the visitor who just
//! signed up gets a customer token for the portal.

use serde_json::Value;

use crate::http::{ApiError, ApiResult};
use crate::steps::claims::seconds_since;
use crate::steps::signup::{PORTAL_WINDOW_SECONDS, require_session};
use crate::store::Db;
use crate::store::sessions::Status;
use crate::{Config, Now, tokens};

/// A token for the account a session created: only for a FINALIZED
/// session, and only within `PORTAL_WINDOW_SECONDS` of its finalization
/// (whoever holds the session id just signed up).
pub async fn run(db: &impl Db, config: &Config, id: &str, now: &Now) -> ApiResult<Value> {
    let s = require_session(db, id).await?;
    if s.status() != Status::Finalized {
        return Err(ApiError::new(
            409,
            "SESSION_NOT_FINALIZED",
            "sessionId",
            "A portal token is issued only for a finalized session.",
        ));
    }
    let age = seconds_since(&s.updated_at, now)
        .ok_or_else(|| ApiError::internal(format_args!("session {id} has no readable updated_at")))?;
    if age > PORTAL_WINDOW_SECONDS {
        return Err(ApiError::new(
            403,
            "PORTAL_WINDOW_CLOSED",
            "sessionId",
            "This session was finalized over an hour ago; ask the vendor for a portal link.",
        ));
    }
    tokens::issue(config, &s.account_id, tokens::DEFAULT_TTL, now)
}
