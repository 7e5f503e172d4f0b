//! The catalog: products, offerings, their rates and prices, and the settings
//! that govern billing. Parsed and validated once; everything that holds a
//! [`Catalog`] holds a valid one.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::discount::{Coupon, coupons};
use crate::error::{Error, Result};
use crate::json::{Doc, Path, clip};
use crate::money::Currency;
#[cfg(feature = "operations")]
use crate::operating::{Operations, operations};
use crate::period::{Anchor, Frequency, Timing};
use crate::price::PriceModel;
pub use crate::settings::{BillGroup, TaxRate};
use crate::settings::{anchor, bill_group, rounding, tax_rates};

/// An id from the catalog: shared, so quotes and invoices copy it cheaply.
pub type Id = Arc<str>;

/// Ids to positions. The keys are the operator's own ids, so a fast
/// non-cryptographic hash is safe: request ids only look up.
type IdIndex = HashMap<String, usize, BuildHasherDefault<Fnv1a>>;

/// FNV-1a: a few cycles per byte for short ids, no dependency.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The longest trial a rate may offer, in days (ten years).
pub const MAX_TRIAL_DAYS: u32 = 3_650;
/// The longest term a rate may have, in months (a hundred years).
pub const MAX_TERM_MONTHS: u32 = 1_200;

/// A validated catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// The one currency every price is in, with the catalog's rounding.
    pub currency: Currency,
    /// How periods are anchored.
    pub anchor: Anchor,
    /// Bill-group defaults for new customers.
    pub bill_group: BillGroup,
    /// Tax rates by country and state, applied when the API finalizes.
    pub tax_rates: Vec<TaxRate>,
    /// Review, dunning and renewal settings.
    #[cfg(feature = "operations")]
    pub operations: Operations,
    /// Products in catalog order.
    pub products: Vec<Product>,
    /// Offerings in catalog order.
    pub offerings: Vec<Offering>,
    /// Coupons a quote may name (`quote.couponId`).
    pub coupons: Vec<Coupon>,
    product_index: IdIndex,
    offering_index: IdIndex,
}

/// A product: what is bought, in a quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Unique id.
    pub id: Id,
    /// Display name.
    pub name: String,
    /// Smallest quantity allowed (default 0).
    pub min_quantity: Decimal,
    /// Largest quantity allowed; `None` is unbounded.
    pub max_quantity: Option<Decimal>,
    /// Quantity when a request names none (default `min_quantity`).
    pub default_quantity: Decimal,
    /// Metered: priced on each period's reported usage, aggregated so.
    pub metered: Option<Aggregation>,
}

/// Whether this build prices metered products (the `metered` feature: the
/// API's build does; the npm package's does not yet, for its size budget).
/// Every metered path reads it first, so a build without it carries none of them.
pub const METERED: bool = cfg!(feature = "metered");

/// How a metered product's usage over a period becomes its quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// The sum of the days' usage.
    Sum,
    /// The largest day's value.
    Max,
}

impl Product {
    /// How its usage aggregates, when metered (never without [`METERED`]).
    #[must_use]
    pub const fn aggregation(&self) -> Option<Aggregation> {
        if METERED { self.metered } else { None }
    }

    /// True when `q` lies in `[min_quantity, max_quantity]`.
    #[must_use]
    pub fn allows(&self, q: Decimal) -> bool {
        q >= self.min_quantity && self.max_quantity.is_none_or(|max| q <= max)
    }
}

/// An offering (bundle): products sold together under one of its rates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offering {
    /// Unique id.
    pub id: Id,
    /// Display name.
    pub name: String,
    /// Indices into [`Catalog::products`], in the offering's order.
    pub products: Vec<usize>,
    /// At least one rate.
    pub rates: Vec<Rate>,
}

impl Offering {
    /// The rate with `id`, with its index.
    #[must_use]
    pub fn rate(&self, id: &str) -> Option<(usize, &Rate)> {
        self.rates.iter().enumerate().find(|(_, r)| &*r.id == id)
    }

    /// The first rate billed at `frequency`, else the first rate.
    #[must_use]
    pub fn rate_for_frequency(&self, frequency: Option<Frequency>) -> Option<&Rate> {
        frequency.and_then(|f| self.rates.iter().find(|r| r.frequency == f)).or_else(|| self.rates.first())
    }

    /// The position of the product with `id` in this offering.
    #[must_use]
    pub fn position_of_id(&self, catalog: &Catalog, id: &str) -> Option<usize> {
        self.products.iter().position(|p| catalog.products.get(*p).is_some_and(|p| &*p.id == id))
    }
}

/// A rate: how an offering is billed, with one price per product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    /// Unique id across the catalog.
    pub id: Id,
    /// Display name.
    pub name: String,
    /// Period length.
    pub frequency: Frequency,
    /// In advance or in arrears.
    pub timing: Timing,
    /// Free days before service is paid for.
    pub trial_days: u32,
    /// Contract length in months; `None` is evergreen.
    pub term_months: Option<u32>,
    /// One price per product of the offering, in the offering's product order.
    pub prices: Vec<RatePrice>,
}

/// A rate's price for one product: its model, and whether it recurs every
/// period or is charged once (`"type": "ONE_TIME"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatePrice {
    /// What `q` units cost: one period's worth, or the whole one-time charge.
    pub model: PriceModel,
    /// Charged once, whole, on the invoice of the day its line starts; never
    /// prorated, billed by the billing run or credited.
    pub one_time: bool,
    /// A one-time price that sells prepaid credit (`"grantsCredit": true`).
    pub grants_credit: bool,
    /// Its product is metered: priced on each period's usage, billed at the
    /// period's end, never prorated nor charged or credited by a change.
    pub metered: bool,
}

impl RatePrice {
    /// Priced on usage (never without [`METERED`]).
    #[must_use]
    pub const fn is_metered(&self) -> bool {
        METERED && self.metered
    }

    /// `price(q)` at full precision; `None` on overflow.
    #[must_use]
    pub fn price(&self, q: Decimal) -> Option<Decimal> {
        self.model.price(q)
    }
}

impl Catalog {
    /// Parses and validates catalog JSON. Every problem is `INVALID_CATALOG`
    /// at a path relative to the catalog, the first in layout order.
    pub fn from_json(v: &Value) -> Result<Self> {
        Parser::default().catalog(v)
    }

    /// The product with `id`, with its index.
    #[must_use]
    pub fn product(&self, id: &str) -> Option<(usize, &Product)> {
        let i = *self.product_index.get(id)?;
        self.products.get(i).map(|p| (i, p))
    }

    /// The offering with `id`, with its index.
    #[must_use]
    pub fn offering(&self, id: &str) -> Option<(usize, &Offering)> {
        let i = *self.offering_index.get(id)?;
        self.offerings.get(i).map(|o| (i, o))
    }

    /// The tax rate for an address: one naming the country and state beats one
    /// for the country alone. Codes compare without regard to case.
    #[must_use]
    pub fn tax_rate_for(&self, country: &str, state: Option<&str>) -> Option<&TaxRate> {
        let country_matches = |t: &&TaxRate| t.country.eq_ignore_ascii_case(country.trim());
        let with_state = state.and_then(|s| {
            self.tax_rates
                .iter()
                .filter(country_matches)
                .find(|t| t.state.as_deref().is_some_and(|ts| ts.eq_ignore_ascii_case(s.trim())))
        });
        with_state.or_else(|| self.tax_rates.iter().filter(country_matches).find(|t| t.state.is_none()))
    }
}

/// Reads a catalog in layout order, remembering ids seen so far.
#[derive(Default)]
struct Parser {
    product_index: IdIndex,
    offering_index: IdIndex,
    rate_ids: IdIndex,
}

const DOC: Doc = Doc::Catalog;

impl Parser {
    fn catalog(mut self, v: &Value) -> Result<Catalog> {
        let root = DOC.object(v, "")?;
        let code = DOC.string(DOC.required(root, "currency", "")?, "currency")?;
        let settings = DOC.field(root, "settings").map(|s| DOC.object(s, "settings")).transpose()?;
        let empty = Map::new();
        let settings = settings.unwrap_or(&empty);
        let rounding = rounding(settings)?;
        let currency = Currency::new(code, rounding).ok_or_else(|| {
            DOC.invalid("currency", format!("'{}' is not an ISO 4217 currency code with minor units", clip(code)))
        })?;
        let anchor = anchor(settings)?;
        let bill_group = bill_group(settings)?;
        let tax_rates = tax_rates(settings)?;
        #[cfg(feature = "operations")]
        let operations = operations(settings)?;

        let products = DOC.array(DOC.required(root, "products", "")?, "products")?;
        let products = products.iter().enumerate().map(|(i, p)| self.product(p, i)).collect::<Result<Vec<_>>>()?;
        let offerings = DOC.array(DOC.required(root, "offerings", "")?, "offerings")?;
        let offerings =
            offerings.iter().enumerate().map(|(i, o)| self.offering(o, i, &products)).collect::<Result<Vec<_>>>()?;
        let coupons = coupons(root, &offerings.iter().map(|o| Id::clone(&o.id)).collect::<Vec<_>>())?;
        Ok(Catalog {
            currency,
            anchor,
            bill_group,
            tax_rates,
            #[cfg(feature = "operations")]
            operations,
            products,
            offerings,
            coupons,
            product_index: self.product_index,
            offering_index: self.offering_index,
        })
    }

    fn product(&mut self, v: &Value, i: usize) -> Result<Product> {
        let base = Path::Text("products");
        let path = base.index(i);
        let at = |k: &'static str| path.key(k);
        let obj = DOC.object(v, &path)?;
        let id = DOC.id(DOC.required(obj, "id", &path)?, &at("id"))?;
        if self.product_index.insert(id.to_owned(), i).is_some() {
            return Err(DOC.invalid(&at("id"), format!("duplicate product id '{}'", clip(id))));
        }
        let name = name(obj, id, &path)?;
        let min_quantity =
            DOC.field(obj, "minQuantity").map_or(Ok(Decimal::ZERO), |v| DOC.non_negative(v, &at("minQuantity")))?;
        let max_quantity =
            DOC.field(obj, "maxQuantity").map(|v| DOC.non_negative(v, &at("maxQuantity"))).transpose()?;
        if max_quantity.is_some_and(|max| max < min_quantity) {
            return Err(DOC.invalid(&at("maxQuantity"), "maxQuantity must not be below minQuantity"));
        }
        let default_quantity = DOC
            .field(obj, "defaultQuantity")
            .map_or(Ok(min_quantity), |v| DOC.non_negative(v, &at("defaultQuantity")))?;
        let metered = match DOC.field(obj, "metered") {
            None => None,
            Some(_) if !METERED => {
                return Err(DOC.invalid(&at("metered"), "metered products are priced by the API, not this build"));
            }
            Some(m) => {
                let m_path = at("metered");
                let mobj = DOC.object(m, &m_path)?;
                let agg_path = m_path.key("aggregation");
                Some(match DOC.string(DOC.required(mobj, "aggregation", &m_path)?, &agg_path)? {
                    "SUM" => Aggregation::Sum,
                    "MAX" => Aggregation::Max,
                    other => {
                        return Err(
                            DOC.invalid(&agg_path, format!("unknown aggregation '{}': use SUM or MAX", clip(other)))
                        );
                    }
                })
            }
        };
        let product = Product { id: Id::from(id), name, min_quantity, max_quantity, default_quantity, metered };
        if !product.allows(default_quantity) {
            return Err(
                DOC.invalid(&at("defaultQuantity"), "defaultQuantity must lie between minQuantity and maxQuantity")
            );
        }
        Ok(product)
    }

    fn offering(&mut self, v: &Value, i: usize, products: &[Product]) -> Result<Offering> {
        let base = Path::Text("offerings");
        let path = base.index(i);
        let at = |k: &'static str| path.key(k);
        let obj = DOC.object(v, &path)?;
        let id = DOC.id(DOC.required(obj, "id", &path)?, &at("id"))?;
        if self.offering_index.insert(id.to_owned(), i).is_some() {
            return Err(DOC.invalid(&at("id"), format!("duplicate offering id '{}'", clip(id))));
        }
        let name = name(obj, id, &path)?;
        let ids = DOC.array(DOC.required(obj, "productIds", &path)?, &at("productIds"))?;
        if ids.is_empty() {
            return Err(DOC.invalid(&at("productIds"), "an offering needs at least one product"));
        }
        let mut members: Vec<usize> = Vec::with_capacity(ids.len());
        for (k, pid) in ids.iter().enumerate() {
            let ids_path = path.key("productIds");
            let p = ids_path.index(k);
            let pid = DOC.id(pid, &p)?;
            let idx = *self
                .product_index
                .get(pid)
                .ok_or_else(|| DOC.invalid(&p, format!("unknown product '{}'", clip(pid))))?;
            if members.contains(&idx) {
                return Err(DOC.invalid(&p, format!("product '{}' is listed twice", clip(pid))));
            }
            members.push(idx);
        }
        let rates_path = path.key("rates");
        let rates = DOC.array(DOC.required(obj, "rates", &path)?, &rates_path)?;
        if rates.is_empty() {
            return Err(DOC.invalid(&at("rates"), "an offering needs at least one rate"));
        }
        let rates = rates
            .iter()
            .enumerate()
            .map(|(j, r)| self.rate(r, &rates_path.index(j), &members, products))
            .collect::<Result<Vec<_>>>()?;
        Ok(Offering { id: Id::from(id), name, products: members, rates })
    }

    fn rate(&mut self, v: &Value, path: &Path<'_>, members: &[usize], products: &[Product]) -> Result<Rate> {
        let at = |k: &'static str| path.key(k);
        let obj = DOC.object(v, path)?;
        let id = DOC.id(DOC.required(obj, "id", path)?, &at("id"))?;
        if self.rate_ids.insert(id.to_owned(), 0).is_some() {
            return Err(DOC.invalid(
                &at("id"),
                format!("duplicate rate id '{}': rate ids are unique across the catalog", clip(id)),
            ));
        }
        let name = name(obj, id, path)?;
        let f = DOC.string(DOC.required(obj, "billingFrequency", path)?, &at("billingFrequency"))?;
        let frequency = Frequency::parse(f).ok_or_else(|| {
            DOC.invalid(
                &at("billingFrequency"),
                format!("unknown billingFrequency '{}': use MONTHLY, QUARTERLY, SEMI_ANNUALLY or ANNUALLY", clip(f)),
            )
        })?;
        let t = DOC.string(DOC.required(obj, "billingTiming", path)?, &at("billingTiming"))?;
        let timing = Timing::parse(t).ok_or_else(|| {
            DOC.invalid(
                &at("billingTiming"),
                format!("unknown billingTiming '{}': use IN_ADVANCE or IN_ARREARS", clip(t)),
            )
        })?;
        let trial_days = DOC.field(obj, "trialDays").map_or(Ok(0), |v| DOC.whole(v, &at("trialDays")))?;
        if trial_days > MAX_TRIAL_DAYS {
            return Err(DOC.invalid(&at("trialDays"), format!("trialDays must be at most {MAX_TRIAL_DAYS}")));
        }
        let term_months = DOC.field(obj, "termMonths").map(|v| DOC.whole(v, &at("termMonths"))).transpose()?;
        if term_months.is_some_and(|t| !(1..=MAX_TERM_MONTHS).contains(&t)) {
            return Err(DOC
                .invalid(&at("termMonths"), format!("termMonths must be a whole number from 1 to {MAX_TERM_MONTHS}")));
        }
        let prices_path = at("prices");
        let list = DOC.array(DOC.required(obj, "prices", path)?, &prices_path)?;
        let mut prices: Vec<Option<RatePrice>> = vec![None; members.len()];
        for (k, pv) in list.iter().enumerate() {
            let p = prices_path.index(k);
            let pobj = DOC.object(pv, &p)?;
            let pid_path = p.key("productId");
            let pid = DOC.id(DOC.required(pobj, "productId", &p)?, &pid_path)?;
            let slot = self
                .product_index
                .get(pid)
                .and_then(|idx| members.iter().position(|m| m == idx))
                .and_then(|pos| prices.get_mut(pos))
                .ok_or_else(|| DOC.invalid(&pid_path, format!("'{}' is not a product of this offering", clip(pid))))?;
            if slot.is_some() {
                return Err(DOC.invalid(&pid_path, format!("product '{}' is priced twice", clip(pid))));
            }
            let model = PriceModel::parse(pobj, &p)?;
            let one_time = match DOC.field(pobj, "type") {
                None => false,
                Some(t) => match DOC.string(t, &p.key("type"))? {
                    "RECURRING" => false,
                    "ONE_TIME" => true,
                    other => {
                        return Err(DOC.invalid(
                            &p.key("type"),
                            format!("unknown price type '{}': use RECURRING or ONE_TIME", clip(other)),
                        ));
                    }
                },
            };
            let grants_credit =
                DOC.field(pobj, "grantsCredit").map_or(Ok(false), |v| DOC.boolean(v, &p.key("grantsCredit")))?;
            if grants_credit && !one_time {
                return Err(DOC.invalid(&p.key("grantsCredit"), "only a ONE_TIME price grants credit"));
            }
            let metered = METERED
                && self
                    .product_index
                    .get(pid)
                    .and_then(|idx| products.get(*idx))
                    .is_some_and(|product| product.aggregation().is_some());
            if metered && one_time {
                return Err(DOC.invalid(&p.key("type"), "a metered product's price recurs with its usage"));
            }
            *slot = Some(RatePrice { model, one_time, grants_credit, metered });
        }
        let prices = prices
            .into_iter()
            .zip(members)
            .map(|(price, m)| {
                price.ok_or_else(|| {
                    let pid = products.get(*m).map_or("?", |p| &*p.id);
                    DOC.invalid(&prices_path, format!("no price for product '{}'", clip(pid)))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Rate { id: Id::from(id), name, frequency, timing, trial_days, term_months, prices })
    }
}

/// `name`, defaulting to the id.
fn name(obj: &Map<String, Value>, id: &str, path: &Path<'_>) -> Result<String> {
    DOC.field(obj, "name").map_or(Ok(id), |v| DOC.string(v, &path.key("name"))).map(str::to_owned)
}

/// Validates catalog JSON without keeping it.
pub fn validate_catalog(v: &Value) -> Result<(), Error> {
    Catalog::from_json(v).map(|_| ())
}
