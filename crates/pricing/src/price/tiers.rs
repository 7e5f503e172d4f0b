//! A validated tier table: non-empty, `upTo` strictly ascending and above
//! zero, only the last tier open (`upTo: null`).

use rust_decimal::Decimal;
use serde_json::Value;

use crate::error::Result;
use crate::json::{Doc, Path};

/// One tier: covers `(previous upTo, upTo]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    /// Inclusive upper bound; `None` for the open last tier.
    pub up_to: Option<Decimal>,
    /// Charge per unit in the tier (0 when absent).
    pub unit_amount: Decimal,
    /// Flat charge of the tier (0 when absent).
    pub flat_amount: Decimal,
}

/// Tiers that always ascend and end open: built only by [`TierTable::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierTable(Vec<Tier>);

impl TierTable {
    /// Checks the table's shape; on failure says which tier is wrong and why
    /// (the index of the tier, and whether its `upTo` is at fault).
    pub fn new(tiers: Vec<Tier>) -> std::result::Result<Self, (usize, &'static str)> {
        if tiers.is_empty() {
            return Err((0, "at least one tier is required"));
        }
        let last = tiers.len() - 1;
        let mut previous = Decimal::ZERO;
        for (i, tier) in tiers.iter().enumerate() {
            match tier.up_to {
                None if i != last => return Err((i, "only the last tier may have upTo null")),
                Some(_) if i == last => return Err((i, "the last tier must have upTo null (no bound)")),
                Some(u) if u <= previous => {
                    return Err((i, "upTo must be above zero and above the previous tier's upTo"));
                }
                Some(u) => previous = u,
                None => {}
            }
            if tier.unit_amount.is_sign_negative() || tier.flat_amount.is_sign_negative() {
                return Err((i, "amounts must not be negative"));
            }
        }
        Ok(Self(tiers))
    }

    /// The tiers, in ascending order.
    #[must_use]
    pub fn tiers(&self) -> &[Tier] {
        &self.0
    }

    /// `(L_i, tier_i)` for every tier: `L_0 = 0`, `L_i = upTo_{i-1}`.
    pub fn with_lower_bounds(&self) -> impl Iterator<Item = (Decimal, &Tier)> {
        let mut lower = Decimal::ZERO;
        self.0.iter().map(move |t| {
            let l = lower;
            lower = t.up_to.unwrap_or(lower);
            (l, t)
        })
    }

    /// The index, lower bound and tier holding `q`: the first with `q ≤ upTo`.
    #[must_use]
    pub fn holding(&self, q: Decimal) -> Option<(usize, Decimal, &Tier)> {
        self.with_lower_bounds()
            .enumerate()
            .find(|(_, (_, t))| t.up_to.is_none_or(|u| q <= u))
            .map(|(i, (l, t))| (i, l, t))
    }

    pub(crate) fn parse(v: &Value, path: &Path<'_>) -> Result<Self> {
        let doc = Doc::Catalog;
        let items = doc.array(v, path)?;
        let mut tiers = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let tier_path = path.index(i);
            let obj = doc.object(item, &tier_path)?;
            let amount = |key: &str| -> Result<Decimal> {
                doc.field(obj, key).map_or(Ok(Decimal::ZERO), |v| doc.non_negative(v, &tier_path.key(key)))
            };
            let up_to = doc.field(obj, "upTo").map(|v| doc.decimal(v, &tier_path.key("upTo"))).transpose()?;
            tiers.push(Tier { up_to, unit_amount: amount("unitAmount")?, flat_amount: amount("flatAmount")? });
        }
        Self::new(tiers).map_err(|(i, why)| {
            if items.is_empty() { doc.invalid(path, why) } else { doc.invalid(&path.index(i).key("upTo"), why) }
        })
    }
}
