//! `Stripe-Signature`: HMAC-SHA256 over `timestamp.body` under the endpoint
//! secret, five minutes of tolerance, compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secrets::constant_time_eq;

/// Oldest (and most future) timestamp accepted, in seconds.
pub const TOLERANCE: i64 = 300;

/// Checks a `Stripe-Signature` header for `body` at `now` (Unix seconds).
#[must_use]
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", s)) => signatures.push(s),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    if now.abs_diff(t) > TOLERANCE.unsigned_abs() || secret.is_empty() {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    signatures.iter().any(|s| constant_time_eq(s.as_bytes(), expected.as_bytes()))
}

/// The header Stripe would send (for tests and tools).
#[must_use]
pub fn sign(secret: &str, body: &[u8], t: i64) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}
