//! Invoices and their lines: proration of a price over a piece of a period,
//! totals that are sums of rounded parts, and tax for a billing address.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::{Result, overflow};
use crate::money::Currency;
use crate::period::Piece;
use crate::serde_money;

/// An invoice: what one event (a sign-up, a change, a period) charges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    /// The date the invoice is issued.
    pub invoice_date: NaiveDate,
    /// Sum of the lines' amounts.
    #[serde(serialize_with = "serde_money::decimal")]
    pub amount_without_tax: Decimal,
    /// Sum of the lines' tax.
    #[serde(serialize_with = "serde_money::decimal")]
    pub tax: Decimal,
    /// `amountWithoutTax + tax`; negative for a credit.
    #[serde(serialize_with = "serde_money::decimal")]
    pub amount: Decimal,
    /// The lines, charges positive and credits negative; none of zero amount.
    pub lines: Vec<InvoiceLine>,
}

/// One product's charge or credit for a piece of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceLine {
    /// The offering billed.
    pub offering_id: String,
    /// The rate whose price applied.
    pub rate_id: String,
    /// The product billed.
    pub product_id: String,
    /// The quantity priced.
    #[serde(serialize_with = "serde_money::decimal")]
    pub quantity: Decimal,
    /// First day covered.
    pub period_start: NaiveDate,
    /// First day not covered.
    pub period_end: NaiveDate,
    /// `days(periodStart, periodEnd) / days(whole period)`, six decimals (display only).
    pub proration_factor: String,
    /// `round(price × factor)`, from full precision; negative for a credit.
    #[serde(serialize_with = "serde_money::decimal")]
    pub amount: Decimal,
    /// `round(amount × tax rate)`; 0 until tax is applied.
    #[serde(serialize_with = "serde_money::decimal")]
    pub tax: Decimal,
}

/// What a line bills: ids and the full-precision price of one whole period.
pub(crate) struct Billed<'a> {
    pub offering_id: &'a str,
    pub rate_id: &'a str,
    pub product_id: &'a str,
    pub quantity: Decimal,
    pub price: Decimal,
}

/// `round(price × days(piece) / days(whole period))`, negated for a credit;
/// `None` when it rounds to zero (zero lines are left out).
pub(crate) fn prorate(
    currency: &Currency,
    billed: &Billed<'_>,
    piece: &Piece,
    credit: bool,
    path: &str,
) -> Result<Option<InvoiceLine>> {
    let (num, den) = piece.factor();
    let full = if num == den || den <= 0 {
        billed.price
    } else {
        billed
            .price
            .checked_mul(Decimal::from(num))
            .and_then(|x| x.checked_div(Decimal::from(den)))
            .ok_or_else(|| overflow(path))?
    };
    let full = if credit { -full } else { full };
    let amount = currency.round(full, path)?;
    if amount.is_zero() {
        return Ok(None);
    }
    Ok(Some(InvoiceLine {
        offering_id: billed.offering_id.to_owned(),
        rate_id: billed.rate_id.to_owned(),
        product_id: billed.product_id.to_owned(),
        quantity: billed.quantity,
        period_start: piece.start,
        period_end: piece.end,
        proration_factor: factor_text(num, den),
        amount,
        tax: currency.zero(),
    }))
}

/// `num / den` rounded half-up to six decimals, always with six digits.
#[must_use]
pub fn factor_text(num: i64, den: i64) -> String {
    let ratio = if den == 0 { Decimal::ZERO } else { Decimal::from(num) / Decimal::from(den) };
    let mut r = ratio.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    r.rescale(6);
    r.to_string()
}

impl Invoice {
    /// An invoice dated `date` with `lines`, totals summed from them.
    pub fn new(currency: &Currency, invoice_date: NaiveDate, lines: Vec<InvoiceLine>) -> Result<Self> {
        let amount_without_tax = currency.sum(lines.iter().map(|l| &l.amount), "")?;
        let tax = currency.sum(lines.iter().map(|l| &l.tax), "")?;
        let amount = currency.sum([&amount_without_tax, &tax], "")?;
        Ok(Self { invoice_date, amount_without_tax, tax, amount, lines })
    }

    /// The same invoice with tax for the billing address: the catalog's rate
    /// for the country and state (else the country alone), rounded per line
    /// with the catalog's rounding. No matching rate is no tax.
    pub fn with_tax(&self, catalog: &Catalog, address: &Address) -> Result<Self> {
        let currency = &catalog.currency;
        let rate = address
            .country
            .as_deref()
            .and_then(|c| catalog.tax_rate_for(c, address.state.as_deref()))
            .map_or(Decimal::ZERO, |t| t.rate);
        let lines = self
            .lines
            .iter()
            .map(|l| {
                let tax = l.amount.checked_mul(rate).ok_or_else(|| overflow(""))?;
                Ok(InvoiceLine { tax: currency.round(tax, "")?, ..l.clone() })
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(currency, self.invoice_date, lines)
    }
}

/// The part of a billing address that tax depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// State or region code.
    pub state: Option<String>,
}

impl Address {
    /// Reads `{ country?, state? }` from a billing address object; other
    /// fields are ignored and a non-object is no address.
    #[must_use]
    pub fn from_json(v: &serde_json::Value) -> Self {
        let text = |k: &str| v.get(k).and_then(|s| s.as_str()).map(str::to_owned);
        Self { country: text("country"), state: text("state") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proration_factor_always_has_six_decimals() {
        assert_eq!(factor_text(31, 31), "1.000000");
        assert_eq!(factor_text(17, 31), "0.548387");
        assert_eq!(factor_text(15, 30), "0.500000");
        assert_eq!(factor_text(2, 3), "0.666667");
    }
}
