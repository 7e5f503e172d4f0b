//! The catalog's `settings` that no price is made of but every invoice
//! follows: the billing anchor, rounding, the default bill group and the tax
//! rates (the operating settings are `operating.rs`'s).

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::error::Result;
use crate::json::{Doc, clip};
use crate::money::Rounding;
use crate::period::Anchor;

const DOC: Doc = Doc::Catalog;

/// Bill-group settings (`settings.defaultBillGroup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillGroup {
    /// Email each invoice to the customer.
    pub auto_email_invoice: bool,
    /// Charge each invoice to the saved payment method.
    pub collect_automatically: bool,
}

impl Default for BillGroup {
    fn default() -> Self {
        Self { auto_email_invoice: true, collect_automatically: true }
    }
}

/// A tax rate for a country, or a country and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRate {
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// State or region code; `None` applies to the whole country.
    pub state: Option<String>,
    /// The rate as a fraction (`0.0725`).
    pub rate: Decimal,
    /// A name for invoices (`CA sales tax`).
    pub name: String,
}

/// `settings.rounding`: HALF_UP unless it says HALF_EVEN.
pub(crate) fn rounding(settings: &Map<String, Value>) -> Result<Rounding> {
    let Some(r) = DOC.field(settings, "rounding") else { return Ok(Rounding::default()) };
    let s = DOC.string(r, "settings.rounding")?;
    Rounding::parse(s).ok_or_else(|| {
        DOC.invalid("settings.rounding", format!("unknown rounding '{}': use HALF_UP or HALF_EVEN", clip(s)))
    })
}

/// `settings.billingAnchor` (ANNIVERSARY when absent).
pub(crate) fn anchor(settings: &Map<String, Value>) -> Result<Anchor> {
    let Some(v) = DOC.field(settings, "billingAnchor") else {
        return Ok(Anchor::default());
    };
    let path = "settings.billingAnchor";
    let obj = DOC.object(v, path)?;
    let kind = DOC.string(DOC.required(obj, "type", path)?, "settings.billingAnchor.type")?;
    match kind {
        "ANNIVERSARY" => Ok(Anchor::Anniversary),
        "DAY_OF_MONTH" => {
            let day_path = "settings.billingAnchor.day";
            let day = DOC.whole(DOC.required(obj, "day", path)?, day_path)?;
            if !(1..=31).contains(&day) {
                return Err(DOC.invalid(day_path, "day must be from 1 to 31 (31 means the month's last day)"));
            }
            Ok(Anchor::DayOfMonth(day))
        }
        other => Err(DOC.invalid(
            "settings.billingAnchor.type",
            format!("unknown anchor '{}': use ANNIVERSARY or DAY_OF_MONTH", clip(other)),
        )),
    }
}

/// `settings.defaultBillGroup` (both flags on when absent).
pub(crate) fn bill_group(settings: &Map<String, Value>) -> Result<BillGroup> {
    let Some(v) = DOC.field(settings, "defaultBillGroup") else {
        return Ok(BillGroup::default());
    };
    let path = "settings.defaultBillGroup";
    let obj = DOC.object(v, path)?;
    let flag = |key: &str| -> Result<bool> {
        DOC.field(obj, key).map_or(Ok(true), |v| DOC.boolean(v, &format!("{path}.{key}")))
    };
    Ok(BillGroup {
        auto_email_invoice: flag("autoEmailInvoice")?,
        collect_automatically: flag("collectInvoiceBalanceAutomatically")?,
    })
}

/// `settings.taxRates`, each checked at its path.
pub(crate) fn tax_rates(settings: &Map<String, Value>) -> Result<Vec<TaxRate>> {
    let Some(v) = DOC.field(settings, "taxRates") else {
        return Ok(Vec::new());
    };
    let list = DOC.array(v, "settings.taxRates")?;
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            let path = format!("settings.taxRates[{i}]");
            let at = |k: &str| format!("{path}.{k}");
            let obj = DOC.object(t, &path)?;
            let country = DOC.string(DOC.required(obj, "country", &path)?, &at("country"))?;
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(DOC.invalid(&at("country"), "country must be an ISO 3166-1 alpha-2 code"));
            }
            let state = DOC.field(obj, "state").map(|s| DOC.id(s, &at("state"))).transpose()?;
            let rate = DOC.non_negative(DOC.required(obj, "rate", &path)?, &at("rate"))?;
            if rate > Decimal::ONE {
                return Err(DOC.invalid(&at("rate"), "rate is a fraction: 0.0725 is 7.25%"));
            }
            let name = DOC.field(obj, "name").map_or(Ok("Tax"), |n| DOC.string(n, &at("name")))?;
            Ok(TaxRate {
                country: country.to_ascii_uppercase(),
                state: state.map(str::to_owned),
                rate,
                name: name.to_owned(),
            })
        })
        .collect()
}
