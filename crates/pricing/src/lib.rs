#![doc = include_str!("../README.md")]

mod action;
mod arith;
pub mod billing;
mod catalog;
mod change;
mod contract;
mod discount;
mod error;
mod invoice;
mod json;
mod money;
#[cfg(feature = "operations")]
mod operating;
mod path;
mod period;
pub mod price;
mod quantities;
mod quote;
mod settings;
mod usage;
mod write_json;

pub use chrono::NaiveDate;
use serde_json::Value;

pub use catalog::{
    Aggregation, BillGroup, Catalog, MAX_TERM_MONTHS, MAX_TRIAL_DAYS, METERED, Offering, Product, Rate, RatePrice,
    TaxRate, validate_catalog,
};
pub use change::{Action, Catalogs, ChangePreview, preview_change, preview_change_on};
pub use contract::{ArrearsPiece, Contract, ContractLine, ContractProduct, ContractStatus};
pub use discount::{Coupon, CouponDuration, Discount};
pub use error::{Error, ErrorCode, Result};
pub use invoice::{Address, CreditApplied, Invoice, InvoiceLine, LineType, ProrationFactor, apply_credit, factor_text};
pub use json::{AsPath, parse_date, parse_date_time_date, parse_decimal};
pub use money::{Currency, Rounding, from_minor_units, minor_units, to_minor_units};
#[cfg(feature = "operations")]
pub use operating::{DEFAULT_RETRY_DAYS, Operations};
pub use period::{Anchor, Frequency, Piece, Schedule, Timing, add_months, days};
pub use price::{PriceModel, Tier, TierCharge, TierTable};
pub use quote::{Quote, QuoteItem, QuoteOffering, QuoteRequest, Recurring, RequestedOffering, price_quote};
pub use write_json::{JsonOut, ToJson};

/// ESTIMATE: prices the `quote` of a Sign-Up request against a parsed catalog.
/// `today` is the caller's calendar date (the engine reads no clock).
pub fn estimate(catalog: &Catalog, request: &Value, today: NaiveDate) -> Result<Quote> {
    let request = QuoteRequest::from_json(catalog, request, today)?;
    price_quote(catalog, &request)
}

/// What FINALIZE charges for a Sign-Up request: the ESTIMATE's first invoice
/// with tax for `customer.billingAddress` (no address, or a country without a
/// rate, is no tax). A checkout page shows this before the visitor pays.
pub fn due_at_signup(catalog: &Catalog, request: &Value, today: NaiveDate) -> Result<Invoice> {
    let quote = estimate(catalog, request, today)?;
    let address =
        request.get("customer").and_then(|c| c.get("billingAddress")).map(Address::from_json).unwrap_or_default();
    quote.first_invoice.with_tax(catalog, &address)
}

/// Parses `today` as strict `YYYY-MM-DD` (`INVALID_VALUE` at `today`).
pub fn read_today(today: &str) -> Result<NaiveDate> {
    quote::read_today(today)
}

/// Parses `text` as strict `YYYY-MM-DD`, given as `field` (`INVALID_VALUE` at
/// `field`: `through` for a billing run's date).
pub fn read_date(text: &str, field: &str) -> Result<NaiveDate> {
    quote::read_date(text, field)
}

/// An engine value (a quote, a change preview, a contract, an invoice, an
/// error) as JSON text, amounts as numbers with their currency's decimals.
#[must_use]
pub fn to_json<T: ToJson>(value: &T) -> String {
    value.to_json()
}
