//! `VOLUME`: the tier holding `q` prices every unit, `q × unitAmount + flatAmount`.

use rust_decimal::Decimal;

use super::charge::{TierCharge, mul_add};
use super::tiers::TierTable;

pub(super) fn price(table: &TierTable, q: Decimal) -> Option<Decimal> {
    if q.is_zero() {
        return Some(Decimal::ZERO);
    }
    let (_, _, tier) = table.holding(q)?;
    mul_add(q, tier.unit_amount, tier.flat_amount)
}

pub(super) fn explain(table: &TierTable, q: Decimal) -> Option<Vec<TierCharge>> {
    if q.is_zero() {
        return Some(Vec::new());
    }
    let (i, from, tier) = table.holding(q)?;
    Some(vec![TierCharge {
        tier: Some(i),
        from,
        up_to: tier.up_to,
        units: q,
        unit_amount: tier.unit_amount,
        flat_amount: tier.flat_amount,
        amount: mul_add(q, tier.unit_amount, tier.flat_amount)?,
    }])
}
