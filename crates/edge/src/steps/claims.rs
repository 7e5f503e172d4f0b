//! Claims taken before money moves: how long one holds before another
//! request (or billing run) may take over from a writer that stopped.

use crate::Now;

/// How long a claim holds before another may take over (a Worker that died
/// mid-payment leaves its claim behind).
pub const CLAIM_SECONDS: i64 = 60;

/// Whether a claim taken at `at` (`YYYY-MM-DDTHH:MM:SSZ`) is older than
/// [`CLAIM_SECONDS`]: whoever took it stopped, another may take over. (A
/// request holding a claim makes a few Stripe calls, each cut at 10 s.)
#[must_use]
pub fn claim_expired(at: &str, now: &Now) -> bool {
    seconds_since(at, now).is_some_and(|s| s > CLAIM_SECONDS)
}

/// Seconds from a stored instant (`YYYY-MM-DDTHH:MM:SSZ`) to `now`.
#[must_use]
pub fn seconds_since(at: &str, now: &Now) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%SZ")
        .ok()
        .map(|t| now.at.signed_duration_since(t).num_seconds())
}
