//! Invoices and their lines: proration of a price over a piece of a period,
//! totals that are sums of rounded parts, and tax for a billing address.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::arith;
use crate::catalog::{Catalog, Id};
use crate::discount::discounted;
use crate::error::{Result, overflow};
use crate::json::AsPath;
use crate::money::Currency;
use crate::period::Piece;

/// An invoice: what one event (a sign-up, a change, a period) charges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// The date the invoice is issued.
    pub invoice_date: NaiveDate,
    /// Sum of the lines' amounts.
    pub amount_without_tax: Decimal,
    /// Sum of the lines' discounts.
    pub discount_amount: Decimal,
    /// Sum of the lines' tax.
    pub tax: Decimal,
    /// `amountWithoutTax + tax`; negative for a credit.
    pub amount: Decimal,
    /// The lines, charges positive and credits negative; none of zero amount.
    pub lines: Vec<InvoiceLine>,
}

/// One product's charge or credit for a piece of a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine {
    /// The offering billed.
    pub offering_id: Id,
    /// The rate whose price applied.
    pub rate_id: Id,
    /// The product billed.
    pub product_id: Id,
    /// A period's recurring charge or credit, or a one-time charge.
    pub line_type: LineType,
    /// The quantity priced.
    pub quantity: Decimal,
    /// First day covered.
    pub period_start: NaiveDate,
    /// First day not covered.
    pub period_end: NaiveDate,
    /// `days(periodStart, periodEnd) / days(whole period)`, shown with six decimals.
    pub proration_factor: ProrationFactor,
    /// `round(price × factor)`, from full precision; negative for a credit.
    pub amount: Decimal,
    /// What a discount took off `amount` (0 when none).
    pub discount_amount: Decimal,
    /// `round(amount × tax rate)`; 0 until tax is applied.
    pub tax: Decimal,
    /// A one-time line that sells prepaid credit (`grantsCredit`).
    pub grants_credit: bool,
}

/// What an invoice line bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineType {
    /// A piece of a period of a recurring price.
    Recurring,
    /// A one-time price, whole, on the day its line starts (or grows).
    OneTime,
    /// A metered product's usage over a period, billed at its end.
    Usage,
}

impl LineType {
    /// The JSON name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Recurring => "RECURRING",
            Self::OneTime => "ONE_TIME",
            Self::Usage => "USAGE",
        }
    }
}

/// What a line bills: ids, the full-precision price of one whole period, and
/// the percent a discount takes off (the window rule decided by the caller).
pub(crate) struct Billed<'a> {
    pub offering_id: &'a Id,
    pub rate_id: &'a Id,
    pub product_id: &'a Id,
    pub quantity: Decimal,
    pub price: Decimal,
    pub percent_off: Option<Decimal>,
}

/// `round(x)` and, discounted, `round(x × (100 − p) / 100)` with the
/// difference: `(amount, discountAmount)` of a line of full-precision `x`
/// given as `price × num / den`.
fn amounts(currency: &Currency, billed: &Billed<'_>, num: i64, den: i64) -> Option<(Decimal, Decimal)> {
    let whole = currency.round_fraction(billed.price, num, den)?;
    match billed.percent_off {
        None => Some((whole, currency.zero())),
        Some(p) => {
            let amount = currency.round_fraction(discounted(billed.price, p)?, num, den)?;
            Some((amount, arith::sub(whole, amount)?))
        }
    }
}

/// `round(price × days(piece) / days(whole period))`, negated for a credit;
/// `None` when it rounds to zero (zero lines are left out).
pub(crate) fn prorate<P: AsPath + ?Sized>(
    currency: &Currency,
    billed: &Billed<'_>,
    piece: &Piece,
    credit: bool,
    path: &P,
) -> Result<Option<InvoiceLine>> {
    prorated(currency, billed, piece, credit).ok_or_else(|| overflow(path))
}

/// [`prorate`] without the error's path (not generic: one copy in the wasm).
fn prorated(currency: &Currency, billed: &Billed<'_>, piece: &Piece, credit: bool) -> Option<Option<InvoiceLine>> {
    let (num, den) = piece.factor();
    let signed = if credit { num.checked_neg()? } else { num };
    // A line is left out when round(x) is zero; a 100 % discount still shows it.
    if currency.round_fraction(billed.price, signed, den)?.is_zero() {
        return Some(None);
    }
    let (amount, discount_amount) = amounts(currency, billed, signed, den)?;
    Some(Some(InvoiceLine {
        offering_id: Id::clone(billed.offering_id),
        rate_id: Id::clone(billed.rate_id),
        product_id: Id::clone(billed.product_id),
        quantity: billed.quantity,
        period_start: piece.start,
        period_end: piece.end,
        line_type: LineType::Recurring,
        proration_factor: ProrationFactor { days: num, of: den },
        amount,
        discount_amount,
        tax: currency.zero(),
        grants_credit: false,
    }))
}

/// A metered product's usage over `[start, end)`: `billed.quantity` the
/// period's usage, `billed.price` its full-precision price, never prorated;
/// `Some(None)` when it rounds to zero (left out), `None` on overflow.
pub(crate) fn usage_line(
    currency: &Currency,
    billed: &Billed<'_>,
    start: NaiveDate,
    end: NaiveDate,
) -> Option<Option<InvoiceLine>> {
    if currency.round_fraction(billed.price, 1, 1)?.is_zero() {
        return Some(None);
    }
    let (amount, discount_amount) = amounts(currency, billed, 1, 1)?;
    Some(Some(InvoiceLine {
        offering_id: Id::clone(billed.offering_id),
        rate_id: Id::clone(billed.rate_id),
        product_id: Id::clone(billed.product_id),
        line_type: LineType::Usage,
        quantity: billed.quantity,
        period_start: start,
        period_end: end,
        proration_factor: ProrationFactor { days: 1, of: 1 },
        amount,
        discount_amount,
        tax: currency.zero(),
        grants_credit: false,
    }))
}

/// A one-time charge of `billed.price` (already rounded: the whole price,
/// or what a quantity grew by) on `day`: never prorated (`prorationFactor`
/// 1), dated `day` to `day`, discounted by `billed.percent_off`; `None` when
/// zero, or on overflow.
pub(crate) fn one_time_line(
    currency: &Currency,
    billed: &Billed<'_>,
    grants_credit: bool,
    day: NaiveDate,
) -> Option<InvoiceLine> {
    if billed.price.is_zero() {
        return None;
    }
    let (amount, discount_amount) = amounts(currency, billed, 1, 1)?;
    Some(InvoiceLine {
        offering_id: Id::clone(billed.offering_id),
        rate_id: Id::clone(billed.rate_id),
        product_id: Id::clone(billed.product_id),
        line_type: LineType::OneTime,
        quantity: billed.quantity,
        period_start: day,
        period_end: day,
        proration_factor: ProrationFactor { days: 1, of: 1 },
        amount,
        discount_amount,
        tax: currency.zero(),
        grants_credit,
    })
}

/// The share of a whole period a line covers: `days / of`, exact. Shown
/// (and serialised) as a decimal string rounded half-up to six places,
/// `"0.548387"`; amounts always use the exact ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProrationFactor {
    /// Days covered.
    pub days: i64,
    /// Days in the whole period.
    pub of: i64,
}

impl ProrationFactor {
    /// Appends the six-decimal text (`0.548387`) to `out`, rounded half-up,
    /// without `core::fmt` (this runs for every invoice line).
    pub fn write_to(&self, out: &mut String) {
        if self.of <= 0 {
            out.push_str("0.000000");
            return;
        }
        let scaled = i128::from(self.days) * 1_000_000;
        let of = i128::from(self.of);
        let (mut q, r) = (scaled / of, scaled % of);
        if 2 * r.abs() >= of {
            q += scaled.signum();
        }
        if q < 0 {
            out.push('-');
        }
        let q = q.unsigned_abs();
        let whole = u64::try_from(q / 1_000_000).unwrap_or(u64::MAX);
        let frac = u64::try_from(q % 1_000_000).unwrap_or(0);
        out.push_str(&whole.to_string());
        let mut digits = [b'0'; 7];
        digits[0] = b'.';
        let mut rest = frac;
        for slot in digits.iter_mut().skip(1).rev() {
            *slot = b'0' + u8::try_from(rest % 10).unwrap_or(0);
            rest /= 10;
        }
        out.push_str(std::str::from_utf8(&digits).unwrap_or(".000000"));
    }
}

impl std::fmt::Display for ProrationFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = String::with_capacity(12);
        self.write_to(&mut text);
        f.write_str(&text)
    }
}

/// `num / den` as the six-decimal text of a [`ProrationFactor`].
#[must_use]
pub fn factor_text(num: i64, den: i64) -> String {
    ProrationFactor { days: num, of: den }.to_string()
}

impl Invoice {
    /// An invoice dated `date` with `lines`, totals summed from them.
    pub fn new(currency: &Currency, invoice_date: NaiveDate, lines: Vec<InvoiceLine>) -> Result<Self> {
        let amount_without_tax = currency.sum(lines.iter().map(|l| &l.amount), "")?;
        let discount_amount = currency.sum(lines.iter().map(|l| &l.discount_amount), "")?;
        let tax = currency.sum(lines.iter().map(|l| &l.tax), "")?;
        let amount = currency.sum([&amount_without_tax, &tax], "")?;
        Ok(Self { invoice_date, amount_without_tax, discount_amount, tax, amount, lines })
    }

    /// The same invoice with tax for the billing address: the catalog's rate
    /// for the country and state (else the country alone), rounded per line
    /// with the catalog's rounding. No matching rate is no tax. A credit
    /// pack's line (`grantsCredit`) carries none: prepaid credit is taxed when
    /// it is spent, on the invoices it pays.
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
                let rate = if l.grants_credit { Decimal::ZERO } else { rate };
                let tax = arith::mul(l.amount, rate).ok_or_else(|| overflow(""))?;
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
        assert_eq!(factor_text(1, 3), "0.333333");
        assert_eq!(factor_text(12, 366), "0.032787");
        assert_eq!(factor_text(1, 2_000_000), "0.000001");
        assert_eq!(factor_text(1, 2_000_001), "0.000000");
        assert_eq!(factor_text(400, 366), "1.092896");
    }
}

/// What an account's credit balance does to an invoice of `amount`: credit
/// pays a positive invoice first; a negative one (a credit note) grows the
/// balance. One rule wherever money moves (sign-up, changes, billing runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditApplied {
    /// Credit the invoice consumed.
    pub applied: Decimal,
    /// What is left to pay.
    pub due: Decimal,
    /// The balance after.
    pub balance: Decimal,
}

/// [`CreditApplied`] for `balance` against an invoice of `amount`; `None` on
/// overflow.
#[must_use]
pub fn apply_credit(balance: Decimal, amount: Decimal) -> Option<CreditApplied> {
    if amount < Decimal::ZERO {
        return Some(CreditApplied {
            applied: Decimal::ZERO,
            due: Decimal::ZERO,
            balance: balance.checked_sub(amount)?,
        });
    }
    let applied = balance.min(amount).max(Decimal::ZERO);
    Some(CreditApplied { applied, due: amount.checked_sub(applied)?, balance: balance.checked_sub(applied)? })
}
