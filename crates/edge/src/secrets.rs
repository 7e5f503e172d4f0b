//! Comparing secrets (keys, token and webhook signatures) without leaking
//! through timing how much of a guess was right.

/// Compares without an early exit, so timing tells nothing about the key.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
