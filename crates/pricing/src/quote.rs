//! ESTIMATE: a Sign-Up request's quote priced against the catalog.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::arith;
use crate::catalog::{Catalog, Id, METERED, RatePrice};
use crate::contract::{Contract, ContractLine, ContractProduct, ContractStatus};
use crate::discount::{self, Discount, discounted};
use crate::error::{Error, ErrorCode, Result, overflow};
use crate::invoice::{Billed, Invoice, LineType, one_time_line, prorate};
use crate::json::{AsPath, Doc, Path, clip};
use crate::period::{Frequency, Schedule, Timing, add_days, add_months};
use crate::quantities::quantities;

/// A validated sign-up quote request: ids resolved, every product of each
/// offering given a quantity within its bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteRequest {
    /// The start of service (never before today).
    pub start_date: NaiveDate,
    /// The offerings, in request order.
    pub offerings: Vec<RequestedOffering>,
    /// The coupon redeemed (`quote.couponId`), an index into [`Catalog::coupons`].
    pub coupon: Option<usize>,
}

/// One offering of a [`QuoteRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedOffering {
    /// Index into [`Catalog::offerings`].
    pub offering: usize,
    /// Index into that offering's rates.
    pub rate: usize,
    /// One quantity per product of the offering, in the offering's order.
    pub quantities: Vec<Decimal>,
}

const DOC: Doc = Doc::Request;

impl QuoteRequest {
    /// Reads and checks the `quote` of a Sign-Up request (other fields are
    /// ignored). Errors come first in schema order: `quote` → `startDate` →
    /// `offerings[i]` → `offeringId` → `rateId` → `items[j]` → `productId` →
    /// `quantity`.
    pub fn from_json(catalog: &Catalog, request: &Value, today: NaiveDate) -> Result<Self> {
        let root = DOC.object(request, "")?;
        let quote = DOC.object(DOC.required(root, "quote", "")?, "quote")?;
        let start_date = match DOC.field(quote, "startDate") {
            None => today,
            Some(v) => DOC.date(v, "quote.startDate")?,
        };
        if start_date < today {
            return Err(Error::new(
                ErrorCode::StartDateInPast,
                "quote.startDate",
                format!("startDate {start_date} is before today ({today}): sign-ups are not backdated"),
            ));
        }
        let list = DOC.array(DOC.required(quote, "offerings", "quote")?, "quote.offerings")?;
        if list.is_empty() {
            return Err(DOC.invalid("quote.offerings", "at least one offering is required"));
        }
        let base = Path::Text("quote.offerings");
        let mut offerings: Vec<RequestedOffering> = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            let requested = requested_offering(catalog, v, &base.index(i), &offerings)?;
            offerings.push(requested);
        }
        let chosen: Vec<&str> =
            offerings.iter().filter_map(|o| catalog.offerings.get(o.offering)).map(|o| &*o.id).collect();
        let coupon = discount::redeem(&catalog.coupons, quote, &chosen, today)?;
        Ok(Self { start_date, offerings, coupon })
    }
}

fn requested_offering(
    catalog: &Catalog,
    v: &Value,
    path: &Path<'_>,
    earlier: &[RequestedOffering],
) -> Result<RequestedOffering> {
    let obj = DOC.object(v, path)?;
    let id_path = path.key("offeringId");
    let id = DOC.string(DOC.required(obj, "offeringId", path)?, &id_path)?;
    let (index, offering) = catalog.offering(id).ok_or_else(|| {
        Error::new(ErrorCode::UnknownOffering, id_path.render(), format!("no offering '{}' in the catalog", clip(id)))
    })?;
    if earlier.iter().any(|o| o.offering == index) {
        return Err(Error::new(
            ErrorCode::DuplicateOffering,
            id_path.render(),
            format!("offering '{}' is already in the quote", clip(id)),
        ));
    }
    // A metered product is priced by one line at most: its usage names only the product.
    if crate::catalog::METERED {
        let metered = |o: &crate::catalog::Offering| -> Vec<usize> {
            o.products
                .iter()
                .copied()
                .filter(|p| catalog.products.get(*p).is_some_and(|p| p.aggregation().is_some()))
                .collect()
        };
        let mine = metered(offering);
        let twice = earlier
            .iter()
            .filter_map(|o| catalog.offerings.get(o.offering))
            .flat_map(metered)
            .find(|p| mine.contains(p));
        if let Some(p) = twice.and_then(|p| catalog.products.get(p)) {
            return Err(Error::new(
                ErrorCode::DuplicateProduct,
                id_path.render(),
                format!("the metered product '{}' is already priced by another offering of the quote", p.id),
            ));
        }
    }
    let rate_path = path.key("rateId");
    let rate_id = DOC.string(DOC.required(obj, "rateId", path)?, &rate_path)?;
    let (rate, _) = offering.rate(rate_id).ok_or_else(|| {
        Error::new(
            ErrorCode::UnknownRate,
            rate_path.render(),
            format!("offering '{}' has no rate '{}'", clip(id), clip(rate_id)),
        )
    })?;
    let items_path = path.key("items");
    let items = match DOC.field(obj, "items") {
        None => &[][..],
        Some(v) => DOC.array(v, &items_path)?.as_slice(),
    };
    let quantities = quantities(catalog, offering, items, &items_path, false, None)?;
    Ok(RequestedOffering { offering: index, rate, quantities })
}

/// The priced quote: one period of everything, and the first invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// ISO currency code.
    pub currency: &'static str,
    /// Start of service.
    pub start_date: NaiveDate,
    /// The latest offering end date; `null` when no offering has a term.
    pub end_date: Option<NaiveDate>,
    /// One period of every offering.
    pub amount_without_tax: Decimal,
    /// Equal to `amountWithoutTax` (ESTIMATE applies no tax).
    pub amount: Decimal,
    /// What discounts took off the items (0 without a coupon).
    pub discount_amount: Decimal,
    /// The deal the coupon makes, which the contract keeps (`None` without one).
    pub discount: Option<Discount>,
    /// The recurring items' `amountWithoutTax` grouped by frequency.
    pub recurring: Vec<Recurring>,
    /// The one-time items' `amountWithoutTax` (0 when none).
    pub one_time: Decimal,
    /// The offerings, in request order.
    pub offerings: Vec<QuoteOffering>,
    /// What the customer pays at sign-up.
    pub first_invoice: Invoice,
    /// The earliest date after `startDate` on which anything is invoiced;
    /// `None` when nothing recurs (a purchase of one-time prices only).
    pub next_invoice_date: Option<NaiveDate>,
}

/// The sum for one billing frequency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurring {
    /// The frequency.
    pub billing_frequency: Frequency,
    /// One period of every offering billed at it.
    pub amount_without_tax: Decimal,
}

/// One offering of a quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteOffering {
    /// The offering.
    pub offering_id: Id,
    /// Its rate.
    pub rate_id: Id,
    /// The rate's frequency.
    pub billing_frequency: Frequency,
    /// The rate's timing.
    pub billing_timing: Timing,
    /// `addMonths(startDate, termMonths)`; `null` when evergreen.
    pub end_date: Option<NaiveDate>,
    /// Sum of the items.
    pub amount_without_tax: Decimal,
    /// Equal to `amountWithoutTax`.
    pub amount: Decimal,
    /// Every product of the offering, in catalog order.
    pub items: Vec<QuoteItem>,
    /// The line's periods (kept for the contract, not serialised).
    pub schedule: Schedule,
}

/// One product of a quoted offering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteItem {
    /// The product.
    pub product_id: Id,
    /// `RECURRING`, or `ONE_TIME` for a price charged once.
    pub item_type: LineType,
    /// A metered product: `quantity` is the expected usage per period.
    pub metered: bool,
    /// Its quantity.
    pub quantity: Decimal,
    /// `round(price(q))`: one whole period, or the one-time charge.
    pub amount_without_tax: Decimal,
    /// Equal to `amountWithoutTax`.
    pub amount: Decimal,
    /// What a discount took off (0 without a coupon).
    pub discount_amount: Decimal,
}

/// Prices a validated request (see [`estimate`](crate::estimate) for JSON).
pub fn price_quote(catalog: &Catalog, request: &QuoteRequest) -> Result<Quote> {
    let currency = &catalog.currency;
    let start = request.start_date;
    let mut offerings = Vec::with_capacity(request.offerings.len());
    let mut lines = Vec::with_capacity(request.offerings.iter().map(|o| o.quantities.len()).sum());
    let mut next_invoice_date: Option<NaiveDate> = None;
    let discount = match request.coupon.and_then(|i| catalog.coupons.get(i)) {
        None => None,
        Some(coupon) => {
            // ONCE covers the first paid period of the quote's first covered offering.
            let once_end = request
                .offerings
                .iter()
                .find(|r| catalog.offerings.get(r.offering).is_some_and(|o| coupon.covers(&o.id)))
                .and_then(|r| first_period_end(catalog, r, start))
                .unwrap_or(start);
            Some(Discount::of(coupon, start, once_end).ok_or_else(|| overflow("quote.couponId"))?)
        }
    };
    for (i, req) in request.offerings.iter().enumerate() {
        let base = Path::Text("quote.offerings");
        let path = base.index(i);
        let offering = catalog.offerings.get(req.offering).ok_or_else(|| overflow(&path))?;
        let rate = offering.rates.get(req.rate).ok_or_else(|| overflow(&path))?;
        let service_start = add_days(start, rate.trial_days).ok_or_else(|| overflow(&path))?;
        let schedule = Schedule::start(catalog.anchor, service_start, rate.frequency).ok_or_else(|| overflow(&path))?;
        let first = schedule.first_period().ok_or_else(|| overflow(&path))?;
        let in_trial = rate.trial_days > 0;
        let invoiced_on = match (in_trial, rate.timing) {
            (true, Timing::InAdvance) => service_start,
            _ => first.end,
        };
        // A line of one-time prices only has nothing to invoice after the start;
        // a metered product's usage is invoiced at its first period's end.
        let mut next = rate.prices.iter().any(|p| !p.one_time && !p.is_metered()).then_some(invoiced_on);
        if METERED && rate.prices.iter().any(RatePrice::is_metered) {
            next = Some(next.map_or(first.end, |d| d.min(first.end)));
        }
        if let Some(next) = next {
            next_invoice_date = Some(next_invoice_date.map_or(next, |d| d.min(next)));
        }
        let end_date = rate
            .term_months
            .map(|t| add_months(start, i64::from(t), chrono::Datelike::day(&start)).ok_or_else(|| overflow(&path)))
            .transpose()?;
        let mut items = Vec::with_capacity(req.quantities.len());
        let mut one_time_lines = Vec::new();
        for ((product, price), q) in offering.products.iter().zip(&rate.prices).zip(&req.quantities) {
            let product = catalog.products.get(*product).ok_or_else(|| overflow(&path))?;
            let full = price.price(*q).ok_or_else(|| overflow(&path))?;
            let whole = currency.round(full, &path)?;
            // A covered item shows its discounted whole amount (coverage alone
            // decides, not the window); the first invoice follows the window.
            let (amount, discount_amount) = match discount.as_ref().filter(|d| d.covers(&offering.id)) {
                None => (whole, currency.zero()),
                Some(d) => {
                    let off = discounted(full, d.percent_off).ok_or_else(|| overflow(&path))?;
                    let amount = currency.round(off, &path)?;
                    (amount, arith::sub(whole, amount).ok_or_else(|| overflow(&path))?)
                }
            };
            let window = |period_start| discount.as_ref().and_then(|d| d.percent_for(&offering.id, period_start));
            let mut billed = Billed {
                offering_id: &offering.id,
                rate_id: &rate.id,
                product_id: &product.id,
                quantity: *q,
                price: full,
                percent_off: None,
            };
            // One-time prices are charged on the sign-up invoice, dated startDate,
            // whatever the rate's timing or trial; after the offering's recurring lines.
            let item_type = if price.one_time {
                billed.percent_off = window(start);
                one_time_lines.extend(one_time_line(currency, &billed, price.grants_credit, start));
                LineType::OneTime
            } else {
                // A metered item is its expected usage, priced for one period:
                // no line on the first invoice (usage is billed at the period's end).
                if rate.timing == Timing::InAdvance && !in_trial && !price.is_metered() {
                    billed.percent_off = window(first.period_start);
                    lines.extend(prorate(currency, &billed, &first, false, &path)?);
                }
                LineType::Recurring
            };
            items.push(QuoteItem {
                product_id: product.id.clone(),
                item_type,
                metered: price.is_metered(),
                quantity: *q,
                amount_without_tax: amount,
                amount,
                discount_amount,
            });
        }
        lines.append(&mut one_time_lines);
        let total = currency.sum(items.iter().map(|i| &i.amount_without_tax), &path)?;
        offerings.push(QuoteOffering {
            offering_id: offering.id.clone(),
            rate_id: rate.id.clone(),
            billing_frequency: rate.frequency,
            billing_timing: rate.timing,
            end_date,
            amount_without_tax: total,
            amount: total,
            items,
            schedule,
        });
    }
    let amount = currency.sum(offerings.iter().map(|o| &o.amount_without_tax), "quote")?;
    let items_of = |kind: LineType, frequency: Option<Frequency>| {
        offerings
            .iter()
            .filter(move |o| frequency.is_none_or(|f| o.billing_frequency == f))
            .flat_map(|o| o.items.iter())
            .filter(move |i| i.item_type == kind)
            .map(|i| &i.amount_without_tax)
    };
    let recurring = Frequency::ALL
        .into_iter()
        .filter(|f| offerings.iter().any(|o| o.billing_frequency == *f))
        .map(|f| {
            let sum = currency.sum(items_of(LineType::Recurring, Some(f)), "quote")?;
            Ok(Recurring { billing_frequency: f, amount_without_tax: sum })
        })
        .collect::<Result<Vec<_>>>()?;
    let one_time = currency.sum(items_of(LineType::OneTime, None), "quote")?;
    let discount_amount =
        currency.sum(offerings.iter().flat_map(|o| o.items.iter()).map(|i| &i.discount_amount), "quote")?;
    Ok(Quote {
        currency: currency.code(),
        start_date: start,
        end_date: offerings.iter().filter_map(|o| o.end_date).max(),
        amount_without_tax: amount,
        amount,
        discount_amount,
        discount,
        recurring,
        one_time,
        first_invoice: Invoice::new(currency, start, lines)?,
        next_invoice_date,
        offerings,
    })
}

/// The end of the first paid period of a requested offering starting `start`.
fn first_period_end(catalog: &Catalog, req: &RequestedOffering, start: NaiveDate) -> Option<NaiveDate> {
    let rate = catalog.offerings.get(req.offering)?.rates.get(req.rate)?;
    let schedule = Schedule::start(catalog.anchor, add_days(start, rate.trial_days)?, rate.frequency)?;
    schedule.first_period().map(|p| p.end)
}

impl Quote {
    /// The contract this quote becomes when finalized: one line per offering,
    /// `invoicedThrough` at the end of the first period for a line charged at
    /// sign-up (in advance, no trial), else at its service start.
    #[must_use]
    pub fn to_contract(&self, id: &str) -> Contract {
        let offerings = self
            .offerings
            .iter()
            .map(|o| {
                let charged_at_signup =
                    o.billing_timing == Timing::InAdvance && o.schedule.service_start == self.start_date;
                let invoiced_through = if charged_at_signup {
                    o.schedule.first_period().map_or(o.schedule.service_start, |p| p.end)
                } else {
                    o.schedule.service_start
                };
                ContractLine {
                    offering_id: o.offering_id.clone(),
                    rate_id: o.rate_id.clone(),
                    schedule: o.schedule,
                    invoiced_through,
                    metered_through: (METERED && o.items.iter().any(|i| i.metered)).then_some(o.schedule.service_start),
                    products: o
                        .items
                        .iter()
                        .map(|i| ContractProduct { product_id: i.product_id.clone(), quantity: i.quantity })
                        .collect(),
                }
            })
            .collect();
        Contract {
            id: id.to_owned(),
            status: ContractStatus::Active,
            currency: self.currency.to_owned(),
            start_date: self.start_date,
            end_date: self.end_date,
            discount: self.discount.clone(),
            offerings,
            unbilled: Vec::new(),
            catalog_version: None,
        }
    }
}

/// Reads `today` for the JSON entry points.
pub(crate) fn read_today(today: &str) -> Result<NaiveDate> {
    read_date(today, "today")
}

/// Parses a strict `YYYY-MM-DD` date given as `field` (`INVALID_VALUE` there).
pub(crate) fn read_date(text: &str, field: &str) -> Result<NaiveDate> {
    crate::json::parse_date(text)
        .ok_or_else(|| DOC.invalid(field, format!("'{}' is not a calendar date YYYY-MM-DD", clip(text))))
}
