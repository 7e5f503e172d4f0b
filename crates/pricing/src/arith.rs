//! Checked `Decimal` arithmetic, each operation compiled once: `rust_decimal`
//! inlines its operations into every caller, which costs the wasm package
//! kilobytes per call site. `None` is an overflow.

use rust_decimal::Decimal;

/// `a + b`.
#[inline(never)]
pub(crate) fn add(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_add(b)
}

/// `a − b`.
#[inline(never)]
pub(crate) fn sub(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_sub(b)
}

/// `a × b`.
#[inline(never)]
pub(crate) fn mul(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_mul(b)
}

/// `a ÷ b`; `None` also for `b = 0`.
#[inline(never)]
pub(crate) fn div(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_div(b)
}
