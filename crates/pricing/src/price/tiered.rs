//! `TIERED` (graduated): tier `i` prices `u_i = clamp(q − L_i, 0, upTo_i − L_i)`
//! units, plus its flat amount when `u_i > 0`.

use rust_decimal::Decimal;

use super::charge::{TierCharge, mul_add};
use super::tiers::TierTable;
use crate::arith;

/// The tiers that charge something at `q`, with their units: lazily, so the
/// price needs no allocation.
fn charged(table: &TierTable, q: Decimal) -> impl Iterator<Item = Option<(usize, Decimal, Decimal)>> + '_ {
    table.with_lower_bounds().enumerate().take_while(move |(_, (lower, _))| q > *lower).map(
        move |(i, (lower, tier))| {
            let above = arith::sub(q, lower)?;
            let units = match tier.up_to {
                Some(u) => above.min(arith::sub(u, lower)?),
                None => above,
            };
            Some((i, lower, units))
        },
    )
}

pub(super) fn price(table: &TierTable, q: Decimal) -> Option<Decimal> {
    let mut total = Decimal::ZERO;
    for step in charged(table, q) {
        let (i, _, units) = step?;
        let tier = table.tiers().get(i)?;
        total = arith::add(total, mul_add(units, tier.unit_amount, tier.flat_amount)?)?;
    }
    Some(total)
}

pub(super) fn explain(table: &TierTable, q: Decimal) -> Option<Vec<TierCharge>> {
    charged(table, q)
        .map(|step| {
            let (i, from, units) = step?;
            let tier = table.tiers().get(i)?;
            Some(TierCharge {
                tier: Some(i),
                from,
                up_to: tier.up_to,
                units,
                unit_amount: tier.unit_amount,
                flat_amount: tier.flat_amount,
                amount: mul_add(units, tier.unit_amount, tier.flat_amount)?,
            })
        })
        .collect()
}
