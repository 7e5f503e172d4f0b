//! Currencies, their ISO 4217 minor units, and the one rounding step.

use rust_decimal::Decimal;

use crate::arith;
use crate::error::{Result, overflow};
use crate::json::AsPath;

/// How an amount is rounded to the currency's minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rounding {
    /// Half away from zero: 6.125 → 6.13, −6.125 → −6.13 (the default).
    #[default]
    HalfUp,
    /// Half to even (banker's): 6.125 → 6.12, 6.135 → 6.14.
    HalfEven,
}

impl Rounding {
    /// Reads `"HALF_UP"` or `"HALF_EVEN"`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "HALF_UP" => Some(Self::HalfUp),
            "HALF_EVEN" => Some(Self::HalfEven),
            _ => None,
        }
    }
}

/// An ISO 4217 currency with its minor-unit exponent and the catalog's rounding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    code: &'static str,
    exponent: u32,
    rounding: Rounding,
}

impl Currency {
    /// The currency `code` (upper case, ISO 4217), or `None` when unknown.
    #[must_use]
    pub fn new(code: &str, rounding: Rounding) -> Option<Self> {
        let (code, exponent) = iso_4217(code)?;
        Some(Self { code, exponent, rounding })
    }

    /// The ISO code, e.g. `USD`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Decimal places of the minor unit (USD 2, JPY 0, KWD 3).
    #[must_use]
    pub fn exponent(&self) -> u32 {
        self.exponent
    }

    /// The rounding strategy in force.
    #[must_use]
    pub fn rounding(&self) -> Rounding {
        self.rounding
    }

    /// Rounds a full-precision amount once to the minor unit, keeping exactly
    /// `exponent` decimals (`100` → `100.00`) and never a negative zero.
    /// `path` names the input blamed if the amount cannot be represented.
    pub fn round<P: AsPath + ?Sized>(&self, amount: Decimal, path: &P) -> Result<Decimal> {
        self.round_fraction(amount, 1, 1).ok_or_else(|| overflow(path))
    }

    /// `round(amount × num / den)` computed exactly: the product and the
    /// quotient are whole numbers of the minor unit's fractions, so no
    /// intermediate division truncates. `None` when it does not fit or
    /// `den ≤ 0`.
    #[must_use]
    pub fn round_fraction(&self, amount: Decimal, num: i64, den: i64) -> Option<Decimal> {
        if den <= 0 {
            return None;
        }
        if num == den && amount.scale() <= self.exponent {
            // A whole period of an amount with no more decimals than the currency: exact already.
            return self.rescaled(amount);
        }
        // amount = m / 10^s, so amount × num / den × 10^e = m·num·10^e / (den·10^s).
        let (m, s, e) = (amount.mantissa(), amount.scale(), self.exponent);
        let mut n = mul(m, i128::from(num))?;
        let mut d = i128::from(den);
        if s >= e {
            d = mul(d, *POW10.get(usize::try_from(s - e).ok()?)?)?;
        } else {
            n = mul(n, *POW10.get(usize::try_from(e - s).ok()?)?)?;
        }
        let half_even = self.rounding == Rounding::HalfEven;
        let q = match (i64::try_from(n), i64::try_from(d)) {
            // Most amounts fit a machine word, where division is far cheaper.
            (Ok(n), Ok(d)) => i128::from(round_div_i64(n, d, half_even)?),
            _ => round_div_i128(n, d, half_even)?,
        };
        Decimal::try_from_i128_with_scale(q, e).ok().map(|v| if v.is_zero() { self.zero() } else { v })
    }

    /// Zero in this currency (`0.00`).
    #[must_use]
    pub fn zero(&self) -> Decimal {
        Decimal::new(0, self.exponent)
    }

    /// Adds already-rounded amounts, keeping the currency's scale.
    pub fn sum<'a, P: AsPath + ?Sized>(
        &self,
        amounts: impl IntoIterator<Item = &'a Decimal>,
        path: &P,
    ) -> Result<Decimal> {
        self.total(&mut amounts.into_iter()).ok_or_else(|| overflow(path))
    }

    /// The sum, `None` on overflow (not generic: one copy in the wasm).
    fn total(&self, amounts: &mut dyn Iterator<Item = &Decimal>) -> Option<Decimal> {
        // Rounded amounts share the currency's scale: add their mantissas.
        let mut mantissa: i128 = 0;
        let mut decimal: Option<Decimal> = None;
        for a in amounts {
            match decimal.as_mut() {
                None if a.scale() == self.exponent => mantissa = mantissa.checked_add(a.mantissa())?,
                // Another scale (not a rounded amount): fall back to Decimal arithmetic.
                None => {
                    decimal = Some(arith::add(Decimal::try_from_i128_with_scale(mantissa, self.exponent).ok()?, *a)?)
                }
                Some(total) => *total = arith::add(*total, *a)?,
            }
        }
        let total = match decimal {
            Some(total) => total,
            None => Decimal::try_from_i128_with_scale(mantissa, self.exponent).ok()?,
        };
        self.rescaled(total)
    }

    /// `value` (of at most `exponent` decimals) written with exactly
    /// `exponent` decimals; `None` when the digits do not fit.
    fn rescaled(&self, value: Decimal) -> Option<Decimal> {
        if value.is_zero() {
            return Some(self.zero());
        }
        if value.scale() == self.exponent {
            return Some(value);
        }
        let mut out = value;
        out.rescale(self.exponent);
        (out.scale() == self.exponent && out == value).then_some(out)
    }
}

/// `10^k` for every scale a `Decimal` can have.
#[allow(clippy::indexing_slicing, reason = "evaluated at compile time: a bad index fails the build")]
const POW10: [i128; 29] = {
    let mut table = [1i128; 29];
    let mut k = 1;
    while k < 29 {
        table[k] = table[k - 1] * 10;
        k += 1;
    }
    table
};

/// `a × b`, checked; the product of two values that fit 64 bits always fits
/// 128, which spares the costly 128-bit overflow check in the common case.
fn mul(a: i128, b: i128) -> Option<i128> {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(a), Ok(b)) => Some(i128::from(a) * i128::from(b)),
        _ => a.checked_mul(b),
    }
}

/// `round(n / d)` for `d > 0`: half away from zero, or half to even.
macro_rules! round_div {
    ($name:ident, $t:ty) => {
        fn $name(n: $t, d: $t, half_even: bool) -> Option<$t> {
            let (q, r) = (n.checked_div(d)?, n.checked_rem(d)?);
            let twice = r.checked_abs()?.checked_mul(2)?;
            let away = if half_even { twice > d || (twice == d && q % 2 != 0) } else { twice >= d };
            if away { q.checked_add(n.signum()) } else { Some(q) }
        }
    };
}
round_div!(round_div_i64, i64);
round_div!(round_div_i128, i128);

/// The ISO 4217 exponent of `code`, `None` for codes that are not active
/// currencies with a minor unit.
#[must_use]
pub fn minor_units(code: &str) -> Option<u32> {
    iso_4217(code).map(|(_, e)| e)
}

/// `amount` (already rounded to the currency) in its minor units, as payment
/// providers take it (`107.25` USD is `10725`); `None` for an unknown
/// currency, an amount with more decimals than the currency has, or one
/// beyond `i64`.
#[must_use]
pub fn to_minor_units(amount: Decimal, code: &str) -> Option<i64> {
    let scale = 10_i64.checked_pow(minor_units(code)?)?;
    let scaled = amount.checked_mul(Decimal::from(scale))?;
    if !scaled.fract().is_zero() {
        return None;
    }
    i64::try_from(scaled).ok()
}

/// An amount given in minor units (`10725` USD is `107.25`); `None` for an
/// unknown currency.
#[must_use]
pub fn from_minor_units(units: i64, code: &str) -> Option<Decimal> {
    Decimal::try_new(units, minor_units(code)?).ok()
}

/// The table's own copy of `code` and its exponent.
fn iso_4217(code: &str) -> Option<(&'static str, u32)> {
    const ZERO: &[&str] = &[
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF",
        "XPF",
    ];
    const THREE: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    const FOUR: &[&str] = &["CLF", "UYW"];
    const TWO: &[&str] = &[
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BMD", "BND",
        "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CNY", "COP", "COU",
        "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
        "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR",
        "KPW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU",
        "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK",
        "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS",
        "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD",
        "USN", "UZS", "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG",
    ];
    [(TWO, 2), (ZERO, 0), (THREE, 3), (FOUR, 4)]
        .into_iter()
        .find_map(|(table, exponent)| table.iter().find(|c| **c == code).map(|c| (*c, exponent)))
}

#[cfg(test)]
mod tests {

    #[test]
    fn amounts_convert_to_and_from_minor_units_by_the_currencys_exponent() {
        let d = |t: &str| t.parse::<Decimal>().unwrap();
        assert_eq!(to_minor_units(d("107.25"), "USD"), Some(10725));
        assert_eq!(to_minor_units(d("1500"), "JPY"), Some(1500));
        assert_eq!(to_minor_units(d("1.234"), "KWD"), Some(1234));
        assert_eq!(to_minor_units(d("0.001"), "USD"), None, "more decimals than the currency has");
        assert_eq!(to_minor_units(d("1"), "XYZ"), None);
        assert_eq!(from_minor_units(10725, "USD"), Some(d("107.25")));
        assert_eq!(from_minor_units(1234, "KWD"), Some(d("1.234")));
        assert_eq!(from_minor_units(1, "XYZ"), None);
    }

    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn usd(r: Rounding) -> Currency {
        Currency::new("USD", r).unwrap()
    }

    #[test]
    fn half_up_rounds_an_exact_half_away_from_zero() {
        assert_eq!(usd(Rounding::HalfUp).round(d("6.125"), "").unwrap().to_string(), "6.13");
        assert_eq!(usd(Rounding::HalfUp).round(d("-6.125"), "").unwrap().to_string(), "-6.13");
    }

    #[test]
    fn half_even_rounds_an_exact_half_to_the_even_digit() {
        assert_eq!(usd(Rounding::HalfEven).round(d("6.125"), "").unwrap().to_string(), "6.12");
        assert_eq!(usd(Rounding::HalfEven).round(d("2.355"), "").unwrap().to_string(), "2.36");
    }

    #[test]
    fn rounded_amounts_carry_the_currency_decimals() {
        assert_eq!(usd(Rounding::HalfUp).round(d("100"), "").unwrap().to_string(), "100.00");
        let jpy = Currency::new("JPY", Rounding::HalfUp).unwrap();
        assert_eq!(jpy.round(d("2027.586"), "").unwrap().to_string(), "2028");
        let kwd = Currency::new("KWD", Rounding::HalfUp).unwrap();
        assert_eq!(kwd.round(d("51.85152"), "").unwrap().to_string(), "51.852");
    }

    #[test]
    fn a_fraction_is_rounded_exactly_not_after_a_truncated_division() {
        let usd = usd(Rounding::HalfUp);
        assert_eq!(usd.round_fraction(d("120"), 17, 31).unwrap().to_string(), "65.81");
        assert_eq!(usd.round_fraction(d("12.25"), 15, 30).unwrap().to_string(), "6.13");
        assert_eq!(usd.round_fraction(d("-12.25"), 15, 30).unwrap().to_string(), "-6.13");
        let even = super::Currency::new("USD", Rounding::HalfEven).unwrap();
        assert_eq!(even.round_fraction(d("12.25"), 15, 30).unwrap().to_string(), "6.12");
        assert_eq!(even.round_fraction(d("-12.25"), 15, 30).unwrap().to_string(), "-6.12");
        // 1/3 of a cent-and-a-half: 0.005 exactly is a half, 0.00499… is not.
        assert_eq!(usd.round_fraction(d("0.015"), 1, 3).unwrap().to_string(), "0.01");
        assert_eq!(usd.round_fraction(d("0.0149999999999999999999999999"), 1, 3).unwrap().to_string(), "0.00");
        assert_eq!(usd.round_fraction(d("1"), 1, 0), None);
    }

    #[test]
    fn rounding_agrees_with_rust_decimal_on_ordinary_amounts() {
        use rust_decimal::RoundingStrategy::{MidpointAwayFromZero, MidpointNearestEven};
        for text in ["0.005", "0.015", "2.345", "2.355", "-2.345", "1234567.8949999", "0.0049", "99.995", "-0.125"] {
            let x = d(text);
            assert_eq!(usd(Rounding::HalfUp).round(x, "").unwrap(), x.round_dp_with_strategy(2, MidpointAwayFromZero));
            assert_eq!(usd(Rounding::HalfEven).round(x, "").unwrap(), x.round_dp_with_strategy(2, MidpointNearestEven));
        }
    }

    #[test]
    fn a_rounded_zero_is_never_negative() {
        let z = usd(Rounding::HalfUp).round(d("-0.001"), "").unwrap();
        assert_eq!(z.to_string(), "0.00");
    }

    #[test]
    fn unknown_and_unit_less_codes_are_not_currencies() {
        assert_eq!(minor_units("usd"), None);
        assert_eq!(minor_units("XAU"), None);
        assert_eq!(minor_units("ABC"), None);
        assert_eq!(minor_units("KRW"), Some(0));
        assert_eq!(minor_units("BHD"), Some(3));
    }

    #[test]
    fn an_amount_too_large_to_carry_the_currency_decimals_is_an_overflow() {
        let e = usd(Rounding::HalfUp).round(d("1000000000000000000000000000"), "x").unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::Overflow);
        assert_eq!(e.path, "x");
    }

    #[test]
    fn an_amount_too_large_for_its_decimals_is_an_overflow() {
        let huge = Decimal::MAX;
        assert!(usd(Rounding::HalfUp).round(huge, "x").is_err());
    }
}
