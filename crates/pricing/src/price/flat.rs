//! `FLAT`: the amount whenever anything is bought.

use rust_decimal::Decimal;

use super::charge::TierCharge;

pub(super) fn price(amount: Decimal, q: Decimal) -> Decimal {
    if q > Decimal::ZERO { amount } else { Decimal::ZERO }
}

pub(super) fn explain(amount: Decimal, q: Decimal) -> Vec<TierCharge> {
    if q <= Decimal::ZERO {
        return Vec::new();
    }
    vec![TierCharge {
        tier: None,
        from: Decimal::ZERO,
        up_to: None,
        units: q,
        unit_amount: Decimal::ZERO,
        flat_amount: amount,
        amount,
    }]
}
