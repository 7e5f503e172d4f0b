//! Who is calling: the secret key, the publishable key or a customer token;
//! failed attempts are counted per client and throttled.

use super::{ApiError, Request};
use crate::secrets::constant_time_eq;
use crate::store::{Db, throttle};
use crate::{Config, Now, tokens};

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
    /// Whose `Idempotency-Key`s these are.
    pub fn idempotency_scope(&self) -> String {
        match self {
            Self::Secret => "secret".into(),
            Self::Publishable => "publishable".into(),
            Self::Customer(a) => format!("account:{a}"),
        }
    }
    /// The account a customer token limits the caller to.
    pub fn scope(&self) -> Option<&str> {
        match self {
            Self::Customer(a) => Some(a),
            _ => None,
        }
    }
}

/// The caller the `Authorization` header proves, if any.
pub fn authenticate(config: &Config, req: &Request, now: &Now) -> Option<Principal> {
    let token = req.header("authorization")?.strip_prefix("Bearer ")?.trim();
    if token.starts_with("ctok_") {
        let key = tokens::signing_key(config)?;
        return tokens::verify(&key, token, now.at.and_utc().timestamp()).map(Principal::Customer);
    }
    if !config.secret_key.is_empty() && constant_time_eq(token.as_bytes(), config.secret_key.as_bytes()) {
        return Some(Principal::Secret);
    }
    if !config.publishable_key.is_empty() && constant_time_eq(token.as_bytes(), config.publishable_key.as_bytes()) {
        return Some(Principal::Publishable);
    }
    None
}

/// Whether `principal` may call a route with `access`; else 403 saying what it needs.
pub fn permit(access: Access, principal: Option<&Principal>) -> Result<(), ApiError> {
    let permitted = matches!(
        (access, principal),
        (Access::Public, _)
            | (_, Some(Principal::Secret))
            | (Access::Publishable, Some(Principal::Publishable))
            | (Access::Account, Some(Principal::Customer(_)))
    );
    if permitted {
        return Ok(());
    }
    let need = match access {
        Access::Publishable => "the publishable or the secret key",
        Access::Account => "the secret key or a customer token",
        _ => "the secret key",
    };
    Err(ApiError::new(403, "FORBIDDEN", "", format!("This endpoint needs {need}.")))
}

/// A failed authentication, counted against the client (Cloudflare's
/// `CF-Connecting-IP`): 401, or 429 once the client is past
/// `AUTH_FAILURES_PER_MINUTE` this minute (a key is not guessed by trying).
pub async fn unauthorized(db: &impl Db, config: &Config, req: &Request, now: &Now) -> ApiError {
    let client = req.header("cf-connecting-ip").unwrap_or("unknown");
    let minute = now.at.format("%Y-%m-%dT%H:%M").to_string();
    let count = throttle::count_failure(db, client, &minute).await.unwrap_or(0);
    if count > config.auth_failures_per_minute {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_exactly() {
        assert!(constant_time_eq(b"sk_test_local", b"sk_test_local"));
        assert!(!constant_time_eq(b"sk_test_local", b"sk_test_locaL"));
        assert!(!constant_time_eq(b"sk_test_local", b"sk_test_loca"));
    }
}
