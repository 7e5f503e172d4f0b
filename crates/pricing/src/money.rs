//! Currencies, their ISO 4217 minor units, and the one rounding step.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::{Result, overflow};

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

    fn strategy(self) -> RoundingStrategy {
        match self {
            Self::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Self::HalfEven => RoundingStrategy::MidpointNearestEven,
        }
    }
}

/// An ISO 4217 currency with its minor-unit exponent and the catalog's rounding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    code: String,
    exponent: u32,
    rounding: Rounding,
}

impl Currency {
    /// The currency `code` (upper case, ISO 4217), or `None` when unknown.
    #[must_use]
    pub fn new(code: &str, rounding: Rounding) -> Option<Self> {
        let exponent = minor_units(code)?;
        Some(Self { code: code.to_owned(), exponent, rounding })
    }

    /// The ISO code, e.g. `USD`.
    #[must_use]
    pub fn code(&self) -> &str {
        &self.code
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
    pub fn round(&self, amount: Decimal, path: &str) -> Result<Decimal> {
        let rounded = amount.round_dp_with_strategy(self.exponent, self.rounding.strategy());
        self.rescaled(rounded).ok_or_else(|| overflow(path))
    }

    /// Zero in this currency (`0.00`).
    #[must_use]
    pub fn zero(&self) -> Decimal {
        Decimal::new(0, self.exponent)
    }

    /// Adds already-rounded amounts, keeping the currency's scale.
    pub fn sum<'a>(&self, amounts: impl IntoIterator<Item = &'a Decimal>, path: &str) -> Result<Decimal> {
        let mut total = self.zero();
        for a in amounts {
            total = total.checked_add(*a).ok_or_else(|| overflow(path))?;
        }
        self.rescaled(total).ok_or_else(|| overflow(path))
    }

    fn rescaled(&self, value: Decimal) -> Option<Decimal> {
        if value.is_zero() {
            return Some(self.zero());
        }
        let mut out = value;
        out.rescale(self.exponent);
        (out == value).then_some(out)
    }
}

/// The ISO 4217 exponent of `code`, `None` for codes that are not active
/// currencies with a minor unit.
#[must_use]
pub fn minor_units(code: &str) -> Option<u32> {
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
    if TWO.contains(&code) {
        Some(2)
    } else if ZERO.contains(&code) {
        Some(0)
    } else if THREE.contains(&code) {
        Some(3)
    } else if FOUR.contains(&code) {
        Some(4)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
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
    fn an_amount_too_large_for_its_decimals_is_an_overflow() {
        let huge = Decimal::MAX;
        assert!(usd(Rounding::HalfUp).round(huge, "x").is_err());
    }
}
