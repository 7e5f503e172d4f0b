//! Reading JSON values into domain values, naming the path of whatever is wrong.
//!
//! Inputs arrive as [`serde_json::Value`] parsed with `arbitrary_precision`, so
//! a number keeps its decimal text: `0.1` is exactly one tenth. Strings that
//! look like JSON numbers are accepted wherever a number is.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::arith;
use crate::error::{Error, ErrorCode, Result};
pub use crate::path::AsPath;
pub(crate) use crate::path::Path;

/// Which document is being read: catalog errors are all `INVALID_CATALOG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Doc {
    /// A catalog: every problem is `INVALID_CATALOG`.
    Catalog,
    /// A request, contract or operation: `MISSING_FIELD` or `INVALID_VALUE`.
    Request,
}

impl Doc {
    #[cold]
    #[inline(never)]
    pub(crate) fn missing<P: AsPath + ?Sized>(self, path: &P, what: &str) -> Error {
        let path = path.render();
        match self {
            Doc::Catalog => Error::new(ErrorCode::InvalidCatalog, path, format!("{what} is required")),
            Doc::Request => Error::new(ErrorCode::MissingField, path, format!("{what} is required")),
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn invalid<P: AsPath + ?Sized>(self, path: &P, message: impl Into<String>) -> Error {
        let path = path.render();
        let code = match self {
            Doc::Catalog => ErrorCode::InvalidCatalog,
            Doc::Request => ErrorCode::InvalidValue,
        };
        Error::new(code, path, message)
    }

    /// The field `key` of `obj`, `None` when absent or `null` (null means absent).
    pub(crate) fn field<'a>(self, obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    /// The field `key`, or a missing-field error at `path.key`.
    pub(crate) fn required<'a, P: AsPath + ?Sized>(
        self,
        obj: &'a Map<String, Value>,
        key: &str,
        path: &P,
    ) -> Result<&'a Value> {
        self.field(obj, key).ok_or_else(|| self.missing(&crate::path::join_path(&path.render(), key), key))
    }

    pub(crate) fn object<'a, P: AsPath + ?Sized>(self, v: &'a Value, path: &P) -> Result<&'a Map<String, Value>> {
        v.as_object().ok_or_else(|| self.invalid(path, "must be a JSON object"))
    }

    pub(crate) fn array<'a, P: AsPath + ?Sized>(self, v: &'a Value, path: &P) -> Result<&'a Vec<Value>> {
        v.as_array().ok_or_else(|| self.invalid(path, "must be a JSON array"))
    }

    pub(crate) fn string<'a, P: AsPath + ?Sized>(self, v: &'a Value, path: &P) -> Result<&'a str> {
        v.as_str().ok_or_else(|| self.invalid(path, "must be a string"))
    }

    /// A non-empty string (ids).
    pub(crate) fn id<'a, P: AsPath + ?Sized>(self, v: &'a Value, path: &P) -> Result<&'a str> {
        let s = self.string(v, path)?;
        if s.is_empty() {
            return Err(self.invalid(path, "must not be empty"));
        }
        Ok(s)
    }

    pub(crate) fn boolean<P: AsPath + ?Sized>(self, v: &Value, path: &P) -> Result<bool> {
        v.as_bool().ok_or_else(|| self.invalid(path, "must be true or false"))
    }

    /// A decimal from a JSON number or a numeric string, by its exact decimal text.
    pub(crate) fn decimal<P: AsPath + ?Sized>(self, v: &Value, path: &P) -> Result<Decimal> {
        let text = match v {
            Value::Number(n) => n.as_str(),
            Value::String(s) => s.as_str(),
            _ => return Err(self.invalid(path, "must be a number or a numeric string")),
        };
        parse_decimal(text).map_err(|why| self.invalid(path, why))
    }

    /// A decimal that must not be negative.
    pub(crate) fn non_negative<P: AsPath + ?Sized>(self, v: &Value, path: &P) -> Result<Decimal> {
        let d = self.decimal(v, path)?;
        if d.is_sign_negative() {
            return Err(self.invalid(path, "must not be negative"));
        }
        Ok(d)
    }

    /// A whole number in `0..=u32::MAX`.
    pub(crate) fn whole<P: AsPath + ?Sized>(self, v: &Value, path: &P) -> Result<u32> {
        let d = self.decimal(v, path)?;
        if d.is_sign_negative() || d.trunc() != d {
            return Err(self.invalid(path, "must be a whole number, 0 or more"));
        }
        u32::try_from(d.mantissa() / 10i128.pow(d.scale())).map_err(|_| self.invalid(path, "is too large"))
    }

    /// A strict `YYYY-MM-DD` calendar date.
    pub(crate) fn date<P: AsPath + ?Sized>(self, v: &Value, path: &P) -> Result<NaiveDate> {
        let s = v.as_str().ok_or_else(|| self.invalid(path, "must be a date string YYYY-MM-DD"))?;
        parse_date(s).ok_or_else(|| self.invalid(path, format!("'{}' is not a calendar date YYYY-MM-DD", clip(s))))
    }
}

/// At most 40 characters of user text, for messages.
#[cold]
#[inline(never)]
pub(crate) fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().nth(40).is_some() {
        out.push('…');
    }
    out
}

/// Parses a strict `YYYY-MM-DD` date (`2024-5-1` and `2024-02-30` are rejected).
#[must_use]
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        part.iter().try_fold(0u32, |acc, c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
    };
    let year = i32::try_from(digits(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(5..7)?, digits(8..10)?)
}

/// Parses an RFC 3339 date-time with seconds and an offset, returning its
/// calendar date in its own offset (`2024-03-19T23:30:00-08:00` is 2024-03-19).
#[must_use]
pub fn parse_date_time_date(s: &str) -> Option<NaiveDate> {
    // date "T" HH:MM:SS [.fraction] (Z | ±HH:MM), RFC 3339 section 5.6.
    let date = parse_date(s.get(..10)?)?;
    let rest = s.get(10..)?.strip_prefix(['T', 't', ' '])?;
    let two = |t: &str, max: u32| {
        t.get(..2).filter(|d| d.bytes().all(|b| b.is_ascii_digit()))?.parse::<u32>().ok().filter(|v| *v <= max)
    };
    // Hours, minutes and seconds (60 for a leap second) are checked, not kept.
    two(rest, 23)?;
    two(rest.get(3..)?, 59)?;
    two(rest.get(6..)?, 60)?;
    if rest.get(2..3)? != ":" || rest.get(5..6)? != ":" {
        return None;
    }
    let mut zone = rest.get(8..)?;
    if let Some(fraction) = zone.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        zone = fraction.get(digits..)?;
    }
    let offset_ok = match zone {
        "Z" | "z" => true,
        _ => {
            let sign = zone.get(..1)?;
            (sign == "+" || sign == "-")
                && zone.len() == 6
                && zone.get(3..4)? == ":"
                && two(zone.get(1..)?, 23).is_some()
                && two(zone.get(4..)?, 59).is_some()
        }
    };
    offset_ok.then_some(date)
}

/// Parses the text of a JSON number exactly (`"1E+9"` is one billion; `" 1"`,
/// `".5"`, `"1."`, `"+1"`, `"NaN"` and `""` are not numbers). `-0` is zero.
pub fn parse_decimal(text: &str) -> std::result::Result<Decimal, String> {
    // Fast path: a plain whole number such as a seat count.
    if (1..=18).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text.len() == 1 || !text.starts_with('0'))
        && let Ok(n) = text.parse::<i64>()
    {
        return Ok(Decimal::from(n));
    }
    let not_a_number = || format!("'{}' is not a number", clip(text));
    let (mantissa, exponent) = split_json_number(text).ok_or_else(not_a_number)?;
    let out_of_range = || format!("'{}' is outside the supported range (28 significant digits)", clip(text));
    let mut d = Decimal::from_str_exact(mantissa).map_err(|_| out_of_range())?;
    if exponent < 0 {
        let scale = d.scale().checked_add(exponent.unsigned_abs()).filter(|s| *s <= 28).ok_or_else(out_of_range)?;
        d.set_scale(scale).map_err(|_| out_of_range())?;
    } else {
        for _ in 0..exponent {
            if d.is_zero() {
                break;
            }
            d = arith::mul(d, Decimal::TEN).ok_or_else(out_of_range)?;
        }
    }
    if d.is_zero() {
        return Ok(Decimal::ZERO);
    }
    Ok(d.normalize())
}

/// Splits a JSON number into its mantissa text and its exponent, or `None`
/// when `text` does not follow the JSON number grammar.
fn split_json_number(text: &str) -> Option<(&str, i32)> {
    let b = text.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i = 1;
    }
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let int_len = i - int_start;
    if int_len == 0 || (int_len > 1 && b.get(int_start) == Some(&b'0')) {
        return None;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == frac_start {
            return None;
        }
    }
    let mantissa = text.get(..i)?;
    if i == b.len() {
        return Some((mantissa, 0));
    }
    if !matches!(b.get(i), Some(b'e' | b'E')) {
        return None;
    }
    let exp_text = text.get(i + 1..)?;
    let digits = exp_text.strip_prefix(['+', '-']).unwrap_or(exp_text);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // Exponents beyond ±10000 can never yield a representable decimal.
    let magnitude: i32 = if digits.len() > 5 { 100_000 } else { digits.parse().ok()? };
    let exponent = if exp_text.starts_with('-') { -magnitude } else { magnitude };
    Some((mantissa, exponent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn numbers_are_read_by_their_exact_decimal_text() {
        assert_eq!(parse_decimal("0.1"), Ok(d("0.1")));
        assert_eq!(parse_decimal("1E+9"), Ok(d("1000000000")));
        assert_eq!(parse_decimal("1e9"), Ok(d("1000000000")));
        assert_eq!(parse_decimal("2.5E-3"), Ok(d("0.0025")));
        assert_eq!(parse_decimal("1536.50"), Ok(d("1536.5")));
    }

    #[test]
    fn minus_zero_is_zero_and_not_negative() {
        let z = parse_decimal("-0").unwrap();
        assert!(z.is_zero());
        assert!(!z.is_sign_negative());
        assert!(!parse_decimal("-0.00").unwrap().is_sign_negative());
    }

    #[test]
    fn text_that_is_not_a_json_number_is_rejected() {
        for bad in [" 1", ".5", "1.", "+1", "NaN", "", "01", "1e", "1e+", "0x10", "1 ", "--1", "Infinity", "1.2.3"] {
            assert!(parse_decimal(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn numbers_beyond_the_decimal_range_are_errors_not_panics() {
        for bad in ["1e400", "1e-400", "99999999999999999999999999999999", "1e99999999999", "1E29"] {
            assert!(parse_decimal(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(parse_decimal("0e99999999999"), Ok(Decimal::ZERO));
    }

    #[test]
    fn dates_are_strict_calendar_dates() {
        assert_eq!(parse_date("2024-02-29"), NaiveDate::from_ymd_opt(2024, 2, 29));
        for bad in
            ["2024-5-1", "2024-02-30", "2023-02-29", "24-01-01", "2024-01-01T00:00:00Z", "2024/01/01", "２０２４-01-01"]
        {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_date_time_is_taken_as_its_calendar_date_in_its_own_offset() {
        assert_eq!(parse_date_time_date("2024-03-19T23:30:00-08:00"), NaiveDate::from_ymd_opt(2024, 3, 19));
        assert_eq!(parse_date_time_date("2024-03-19T23:30:00Z"), NaiveDate::from_ymd_opt(2024, 3, 19));
        assert_eq!(parse_date_time_date("2024-03-19T23:30-08:00"), None);
        assert_eq!(parse_date_time_date("2024-03-19T23:30:00"), None);
        assert_eq!(parse_date_time_date("2024-03-19T23:30:00.123456+05:30"), NaiveDate::from_ymd_opt(2024, 3, 19));
        assert_eq!(parse_date_time_date("2024-03-19t23:30:00z"), NaiveDate::from_ymd_opt(2024, 3, 19));
        for bad in [
            "2024-03-19T24:00:00Z",
            "2024-03-19T23:60:00Z",
            "2024-03-19T23:30:00+5:30",
            "2024-03-19T23:30:00.Z",
            "2024-03-19T23:30:00+05:30x",
            "2024-02-30T00:00:00Z",
            "2024-03-19",
            "2024-03-19T23:30:00+24:00",
        ] {
            assert_eq!(parse_date_time_date(bad), None, "{bad}");
        }
    }
}
