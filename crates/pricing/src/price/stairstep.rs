//! `STAIRSTEP`: the flat amount of the tier holding `q`; 0 when `q = 0`.

use rust_decimal::Decimal;

use super::charge::TierCharge;
use super::tiers::TierTable;

pub(super) fn price(table: &TierTable, q: Decimal) -> Decimal {
    if q.is_zero() {
        return Decimal::ZERO;
    }
    table.holding(q).map_or(Decimal::ZERO, |(_, _, tier)| tier.flat_amount)
}

pub(super) fn explain(table: &TierTable, q: Decimal) -> Vec<TierCharge> {
    if q.is_zero() {
        return Vec::new();
    }
    table
        .holding(q)
        .map(|(i, from, tier)| TierCharge {
            tier: Some(i),
            from,
            up_to: tier.up_to,
            units: q,
            unit_amount: Decimal::ZERO,
            flat_amount: tier.flat_amount,
            amount: tier.flat_amount,
        })
        .into_iter()
        .collect()
}
