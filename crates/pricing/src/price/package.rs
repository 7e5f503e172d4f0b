//! `PACKAGE`: every started package of `packageSize` units costs `packageAmount`.

use rust_decimal::Decimal;

use super::TierCharge;

fn packages(size: Decimal, q: Decimal) -> Option<Decimal> {
    Some(q.checked_div(size)?.ceil())
}

pub(super) fn price(size: Decimal, amount: Decimal, q: Decimal) -> Option<Decimal> {
    packages(size, q)?.checked_mul(amount)
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
        amount: units.checked_mul(amount)?,
    }])
}
