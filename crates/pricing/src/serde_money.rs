//! Serialising decimals as JSON numbers with their exact text: `65.81`,
//! `100.00`, `2028`, never a float and never a string.

use rust_decimal::Decimal;
use serde::Serializer;
use serde::ser::Error as _;

/// A decimal as a JSON number carrying exactly its digits and scale.
pub(crate) fn decimal<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    let n: serde_json::Number = d.to_string().parse().map_err(S::Error::custom)?;
    s.serialize_some(&n)
}

/// An optional decimal: `null` when absent.
pub(crate) fn option_decimal<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => decimal(d, s),
        None => s.serialize_none(),
    }
}
