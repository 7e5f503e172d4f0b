//! What a price charges, tier by tier.

use rust_decimal::Decimal;

use crate::arith;

/// One tier's share of a price: what `explain` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierCharge {
    /// The tier's index in the table (`None` for untiered models).
    pub tier: Option<usize>,
    /// Units above this bound fall in the tier (exclusive).
    pub from: Decimal,
    /// The tier's inclusive upper bound, `None` when open.
    pub up_to: Option<Decimal>,
    /// The units this tier charges (packages, for `PACKAGE`).
    pub units: Decimal,
    /// The amount per unit applied.
    pub unit_amount: Decimal,
    /// The flat amount applied.
    pub flat_amount: Decimal,
    /// `units × unitAmount + flatAmount`, full precision.
    pub amount: Decimal,
}

/// `a × b + c`, checked.
pub(super) fn mul_add(a: Decimal, b: Decimal, c: Decimal) -> Option<Decimal> {
    arith::add(arith::mul(a, b)?, c)
}
