//! Metered usage as the billing arithmetic takes it: a contract's usage per
//! product and day ([`Usage`], read from `[{ productId, date, quantity }]`),
//! a period's aggregate, and the period's usage lines.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::arith;
use crate::catalog::{Aggregation, Catalog, Id, Rate};
use crate::contract::ContractProduct;
use crate::discount::Discount;
use crate::error::{Error, ErrorCode, Result};
use crate::invoice::{Billed, InvoiceLine, usage_line};
use crate::json::Doc;

/// One day's usage of a metered product of a contract (the API aggregates
/// raw events per day: sums for `SUM`, maxima for `MAX`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// The metered product.
    pub product_id: String,
    /// The usage day.
    pub date: NaiveDate,
    /// That day's usage.
    pub quantity: Decimal,
}

impl Usage {
    /// Reads `[{ productId, date, quantity }]` (`null` is none); errors at `usage[i].…`.
    pub fn list_from_json(v: &Value) -> Result<Vec<Self>> {
        const DOC: Doc = Doc::Request;
        if v.is_null() {
            return Ok(Vec::new());
        }
        let list = DOC.array(v, "usage")?;
        let mut out = Vec::with_capacity(list.len());
        for (i, u) in list.iter().enumerate() {
            let path = format!("usage[{i}]");
            let obj = DOC.object(u, &path)?;
            let product_id = DOC.string(DOC.required(obj, "productId", &path)?, &format!("{path}.productId"))?;
            let date = DOC.date(DOC.required(obj, "date", &path)?, &format!("{path}.date"))?;
            let quantity = DOC.non_negative(DOC.required(obj, "quantity", &path)?, &format!("{path}.quantity"))?;
            out.push(Self { product_id: product_id.to_owned(), date, quantity });
        }
        Ok(out)
    }
}

/// A product's usage `U` over `[from, to)`: the sum, or the largest day's value (0 when none).
pub(crate) fn aggregate(
    usage: &[Usage],
    product_id: &str,
    how: Aggregation,
    from: NaiveDate,
    to: NaiveDate,
) -> Option<Decimal> {
    let mut u = Decimal::ZERO;
    for day in usage.iter().filter(|d| d.product_id == product_id && d.date >= from && d.date < to) {
        u = match how {
            Aggregation::Sum => arith::add(u, day.quantity)?,
            Aggregation::Max => u.max(day.quantity),
        };
    }
    Some(u)
}

/// The usage lines of `[from, to)` of a line (or kept piece) on `rate`: each
/// metered product (of `only`, when given) priced on its usage `U` over those
/// days, never prorated, discounted by the window rule at `from`; zero lines
/// left out.
pub(crate) fn usage_lines(
    catalog: &Catalog,
    discount: Option<&Discount>,
    (offering_id, rate, products, only): (&Id, &Rate, &[ContractProduct], Option<&[Id]>),
    (from, to): (NaiveDate, NaiveDate),
    usage: &[Usage],
    path: &str,
) -> Result<Vec<InvoiceLine>> {
    let too_large = || Error::new(ErrorCode::Overflow, path, "a date or an amount is out of range");
    let mut lines = Vec::new();
    for (p, price) in products.iter().zip(&rate.prices).filter(|(_, price)| price.is_metered()) {
        if only.is_some_and(|ids| !ids.contains(&p.product_id)) {
            continue;
        }
        let Some(how) = catalog.product(&p.product_id).and_then(|(_, product)| product.aggregation()) else { continue };
        let u = aggregate(usage, &p.product_id, how, from, to).ok_or_else(too_large)?;
        let billed = Billed {
            offering_id,
            rate_id: &rate.id,
            product_id: &p.product_id,
            quantity: u,
            price: price.price(u).ok_or_else(too_large)?,
            percent_off: discount.and_then(|d| d.percent_for(offering_id, from)),
        };
        lines.extend(usage_line(&catalog.currency, &billed, from, to).ok_or_else(too_large)?);
    }
    Ok(lines)
}
