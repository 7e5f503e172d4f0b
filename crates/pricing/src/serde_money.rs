//! Serialising decimals as JSON numbers with their exact text: `65.81`,
//! `100.00`, `2028`, never a float and never a string.

use rust_decimal::Decimal;
use serde::Serializer;
use serde::ser::SerializeStruct;

/// The token by which `serde_json` (with `arbitrary_precision`) recognises a
/// number written as text; `serde_json::Number` itself serialises this way.
/// Using it directly keeps serde_json's number parser out of the wasm.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// A decimal as a JSON number carrying exactly its digits and scale.
pub(crate) fn decimal<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    let mut number = s.serialize_struct(NUMBER_TOKEN, 1)?;
    number.serialize_field(NUMBER_TOKEN, &d.to_string())?;
    number.end()
}

/// An optional decimal: `null` when absent.
pub(crate) fn option_decimal<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => decimal(d, s),
        None => s.serialize_none(),
    }
}
