//! `serde` support for the engine's values: decimals as JSON numbers with
//! their exact text (`65.81`, `100.00`, `2028`: never a float, never a
//! string), dates as `YYYY-MM-DD`. The text is `write_json`'s, so the serde
//! output and [`crate::ToJson`] agree byte for byte.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serializer;
use serde::ser::SerializeStruct;

/// The token by which `serde_json` (with `arbitrary_precision`) recognises a
/// number written as text; `serde_json::Number` itself serialises this way.
/// Using it directly keeps serde_json's number parser out of the wasm.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// A decimal as a JSON number carrying exactly its digits and scale.
pub(crate) fn decimal<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    let mut text = String::with_capacity(16);
    crate::write_json::decimal(&mut text, d);
    let mut number = s.serialize_struct(NUMBER_TOKEN, 1)?;
    number.serialize_field(NUMBER_TOKEN, &text)?;
    number.end()
}

/// An optional decimal: `null` when absent.
pub(crate) fn option_decimal<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => decimal(d, s),
        None => s.serialize_none(),
    }
}

/// A date as `YYYY-MM-DD`.
pub(crate) fn date<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    let mut text = String::with_capacity(12);
    crate::write_json::date(&mut text, *d);
    s.serialize_str(text.trim_matches('"'))
}

/// A date that serialises as `YYYY-MM-DD`, for hand-written `Serialize` impls.
pub(crate) struct Date<'a>(pub &'a NaiveDate);

impl serde::Serialize for Date<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        date(self.0, s)
    }
}

/// An optional date: `null` when absent.
pub(crate) fn option_date<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => date(d, s),
        None => s.serialize_none(),
    }
}
