//! The six price models. `price(q)` is the full-precision charge for one whole
//! period at quantity `q`; `explain(q)` shows how each tier contributes to it.
//!
//! Every model returns `None` only when the arithmetic leaves `Decimal`'s
//! range; callers report that as [`ErrorCode::Overflow`](crate::ErrorCode::Overflow).

mod charge;
mod flat;
mod package;
mod per_unit;
mod stairstep;
mod tiered;
mod tiers;
mod volume;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::error::Result;
use crate::json::{Doc, Path};

pub use charge::TierCharge;
pub use tiers::{Tier, TierTable};

/// How a product's price is computed from its quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceModel {
    /// `amount` if `q > 0`, else 0.
    Flat {
        /// The charge per period.
        amount: Decimal,
    },
    /// `unitAmount × q`.
    PerUnit {
        /// The charge per unit per period.
        unit_amount: Decimal,
    },
    /// Graduated: each tier prices the units that fall inside it.
    Tiered(TierTable),
    /// The tier that holds `q` prices every unit.
    Volume(TierTable),
    /// The flat amount of the tier that holds `q`.
    Stairstep(TierTable),
    /// `ceil(q / packageSize) × packageAmount`.
    Package {
        /// Units per package, above zero.
        size: Decimal,
        /// The charge per started package.
        amount: Decimal,
    },
}

impl PriceModel {
    /// The model's name as in the catalog (`"TIERED"`).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Flat { .. } => "FLAT",
            Self::PerUnit { .. } => "PER_UNIT",
            Self::Tiered(_) => "TIERED",
            Self::Volume(_) => "VOLUME",
            Self::Stairstep(_) => "STAIRSTEP",
            Self::Package { .. } => "PACKAGE",
        }
    }

    /// The full-precision price of one whole period at quantity `q` (`q ≥ 0`).
    #[must_use]
    pub fn price(&self, q: Decimal) -> Option<Decimal> {
        match self {
            Self::Flat { amount } => Some(flat::price(*amount, q)),
            Self::PerUnit { unit_amount } => per_unit::price(*unit_amount, q),
            Self::Tiered(t) => tiered::price(t, q),
            Self::Volume(t) => volume::price(t, q),
            Self::Stairstep(t) => Some(stairstep::price(t, q)),
            Self::Package { size, amount } => package::price(*size, *amount, q),
        }
    }

    /// The price at `q` tier by tier; the charges' amounts sum to [`price`](Self::price).
    /// Tiers that charge nothing are left out.
    #[must_use]
    pub fn explain(&self, q: Decimal) -> Option<Vec<TierCharge>> {
        match self {
            Self::Flat { amount } => Some(flat::explain(*amount, q)),
            Self::PerUnit { unit_amount } => per_unit::explain(*unit_amount, q),
            Self::Tiered(t) => tiered::explain(t, q),
            Self::Volume(t) => volume::explain(t, q),
            Self::Stairstep(t) => Some(stairstep::explain(t, q)),
            Self::Package { size, amount } => package::explain(*size, *amount, q),
        }
    }

    /// Reads a price's model and its fields from catalog JSON at `path`
    /// (`offerings[0].rates[1].prices[2]`).
    pub(crate) fn parse(obj: &Map<String, Value>, path: &Path<'_>) -> Result<Self> {
        let doc = Doc::Catalog;
        let at = |key: &'static str| path.key(key);
        let model = doc.string(doc.required(obj, "model", path)?, &at("model"))?;
        let amount =
            |key: &'static str| -> Result<Decimal> { doc.non_negative(doc.required(obj, key, path)?, &at(key)) };
        let tiers = || -> Result<TierTable> { TierTable::parse(doc.required(obj, "tiers", path)?, &at("tiers")) };
        Ok(match model {
            "FLAT" => Self::Flat { amount: amount("amount")? },
            "PER_UNIT" => Self::PerUnit { unit_amount: amount("unitAmount")? },
            "TIERED" => Self::Tiered(tiers()?),
            "VOLUME" => Self::Volume(tiers()?),
            "STAIRSTEP" => Self::Stairstep(tiers()?),
            "PACKAGE" => {
                let size = amount("packageSize")?;
                if size.is_zero() {
                    return Err(doc.invalid(&at("packageSize"), "must be above zero"));
                }
                Self::Package { size, amount: amount("packageAmount")? }
            }
            other => {
                return Err(doc.invalid(
                    &at("model"),
                    format!(
                        "unknown price model '{}': use FLAT, PER_UNIT, TIERED, VOLUME, STAIRSTEP or PACKAGE",
                        crate::json::clip(other)
                    ),
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests;
