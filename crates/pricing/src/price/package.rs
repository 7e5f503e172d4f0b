//! `PACKAGE`: every started package of `packageSize` units costs `packageAmount`.

use rust_decimal::Decimal;

use super::charge::TierCharge;
use crate::arith;

fn packages(size: Decimal, q: Decimal) -> Option<Decimal> {
    let exact = arith::div(q, size)?;
    let whole = exact.trunc();
    if whole == exact { Some(whole) } else { arith::add(whole, Decimal::ONE) }
}

pub(super) fn price(size: Decimal, amount: Decimal, q: Decimal) -> Option<Decimal> {
    arith::mul(packages(size, q)?, amount)
}

pub(super) fn explain(size: Decimal, amount: Decimal, q: Decimal) -> Option<Vec<TierCharge>> {
    if q.is_zero() {
        return Some(Vec::new());
    }
    let units = packages(size, q)?;
    Some(vec![TierCharge {
        tier: None,
        from: Decimal::ZERO,
        up_to: None,
        units,
        unit_amount: amount,
        flat_amount: Decimal::ZERO,
        amount: arith::mul(units, amount)?,
    }])
}
