//! Checked `Decimal` arithmetic. In wasm each operation is compiled once:
//! `rust_decimal` inlines its operations into every caller, which costs the
//! package kilobytes per call site. Natively they inline as usual, for speed.
//! `None` is an overflow.

use rust_decimal::Decimal;

/// `a + b`.
#[cfg_attr(target_arch = "wasm32", inline(never))]
pub(crate) fn add(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_add(b)
}

/// `a − b`.
#[cfg_attr(target_arch = "wasm32", inline(never))]
pub(crate) fn sub(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_sub(b)
}

/// `a × b`.
#[cfg_attr(target_arch = "wasm32", inline(never))]
pub(crate) fn mul(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_mul(b)
}

/// `a ÷ b`; `None` also for `b = 0`.
#[cfg_attr(target_arch = "wasm32", inline(never))]
pub(crate) fn div(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_div(b)
}
