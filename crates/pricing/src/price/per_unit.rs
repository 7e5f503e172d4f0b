//! `PER_UNIT`: the unit amount times the quantity.

use rust_decimal::Decimal;

use super::charge::TierCharge;
use crate::arith;

pub(super) fn price(unit_amount: Decimal, q: Decimal) -> Option<Decimal> {
    arith::mul(unit_amount, q)
}

pub(super) fn explain(unit_amount: Decimal, q: Decimal) -> Option<Vec<TierCharge>> {
    if q.is_zero() {
        return Some(Vec::new());
    }
    Some(vec![TierCharge {
        tier: None,
        from: Decimal::ZERO,
        up_to: None,
        units: q,
        unit_amount,
        flat_amount: Decimal::ZERO,
        amount: price(unit_amount, q)?,
    }])
}
