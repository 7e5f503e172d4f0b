//! Customer tokens: short-lived, scoped to one account, signed with
//! HMAC-SHA256 under a Worker secret. A browser portal holds one; with it a
//! caller may read that account and change its contracts, nothing else.
//!
//! Format: `ctok_` + base64url(`{"a": accountId, "e": expiresAtUnixSeconds}`)
//! + `.` + base64url(HMAC-SHA256(key, that base64 text)).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::secrets::constant_time_eq;

type HmacSha256 = Hmac<Sha256>;

/// Default and longest lifetimes, in seconds.
pub const DEFAULT_TTL: i64 = 3_600;
/// The longest a token may live.
pub const MAX_TTL: i64 = 86_400;

/// The signing key: `CUSTOMER_TOKEN_SECRET` when set, else derived from the
/// secret key (so a deployment works with one secret; rotating the secret key
/// then also ends every token).
#[must_use]
pub fn signing_key(config: &crate::Config) -> Option<Vec<u8>> {
    if let Some(k) = config.customer_token_secret.as_ref().filter(|k| !k.is_empty()) {
        return Some(k.as_bytes().to_vec());
    }
    if config.secret_key.is_empty() {
        return None;
    }
    let mut mac = HmacSha256::new_from_slice(config.secret_key.as_bytes()).ok()?;
    mac.update(b"quotekit customer tokens v1");
    Some(mac.finalize().into_bytes().to_vec())
}

fn sign(key: &[u8], payload: &str) -> Option<String> {
    let mut mac = HmacSha256::new_from_slice(key).ok()?;
    mac.update(payload.as_bytes());
    Some(B64.encode(mac.finalize().into_bytes()))
}

/// Mints a token for `account` valid until `expires` (Unix seconds).
#[must_use]
pub fn mint(key: &[u8], account: &str, expires: i64) -> Option<String> {
    let payload = B64.encode(json!({ "a": account, "e": expires }).to_string());
    Some(format!("ctok_{payload}.{}", sign(key, &payload)?))
}

/// The account a token grants, if it is genuine and unexpired at `now` (Unix seconds).
#[must_use]
pub fn verify(key: &[u8], token: &str, now: i64) -> Option<String> {
    let (payload, sig) = token.strip_prefix("ctok_")?.split_once('.')?;
    let expected = sign(key, payload)?;
    if !constant_time_eq(expected.as_bytes(), sig.as_bytes()) {
        return None;
    }
    let claims: Value = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
    let expires = claims.get("e")?.as_i64()?;
    (expires > now).then(|| claims.get("a")?.as_str().map(str::to_owned))?
}

/// A customer token for `account`, valid `ttl` seconds from now, as answered.
pub fn issue(config: &crate::Config, account: &str, ttl: i64, now: &crate::Now) -> crate::http::ApiResult<Value> {
    use crate::http::ApiError;
    let key = signing_key(config).ok_or_else(|| ApiError::internal("no key to sign customer tokens with"))?;
    let expires = now.at.and_utc().timestamp().saturating_add(ttl);
    let token = mint(&key, account, expires).ok_or_else(|| ApiError::internal("token signing failed"))?;
    let at = chrono::DateTime::from_timestamp(expires, 0).map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    Ok(json!({ "token": token, "accountId": account, "expiresAt": at }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_they_expire_and_not_when_touched() {
        let key = b"k".repeat(32);
        let t = mint(&key, "acct_1", 1_000).unwrap_or_default();
        assert_eq!(verify(&key, &t, 999).as_deref(), Some("acct_1"));
        assert_eq!(verify(&key, &t, 1_000), None, "expired");
        assert_eq!(verify(b"other key", &t, 999), None, "another key");
        let (payload, sig) = t.split_once('.').unwrap_or_default();
        let forged = B64.encode(json!({ "a": "acct_2", "e": 1_000 }).to_string());
        assert_eq!(verify(&key, &format!("ctok_{forged}.{sig}"), 999), None, "payload swapped");
        assert_eq!(verify(&key, &format!("{payload}.{sig}x"), 999), None, "signature changed");
        assert_eq!(verify(&key, "ctok_", 0), None);
    }
}
