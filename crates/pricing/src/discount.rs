//! Discounts (`docs/pricing.md`, "Discounts"): coupons in the catalog, the
//! one a quote names (`quote.couponId`), and the record a contract keeps of
//! the deal (`discount`), whose window decides which pieces are discounted.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::arith;
use crate::error::{Error, ErrorCode, Result};
use crate::json::{Doc, clip};
use crate::period::add_months;

/// An id, as the catalog keeps them (`catalog::Id`; the same type).
type Id = std::sync::Arc<str>;

/// The longest a `REPEATING` coupon may last, in months (a hundred years).
const MAX_DURATION_MONTHS: u32 = 1_200;

/// How long a coupon's discount lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CouponDuration {
    /// The first paid period of the first covered offering.
    Once,
    /// This many months from the start date.
    Repeating(u32),
    /// For good.
    Forever,
}

/// A coupon of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coupon {
    /// Unique id.
    pub id: Id,
    /// Display name.
    pub name: String,
    /// In `(0, 100]`.
    pub percent_off: Decimal,
    /// How long it lasts.
    pub duration: CouponDuration,
    /// The offerings it covers; `None` is all.
    pub applies_to: Option<Vec<Id>>,
    /// The last day a quote may redeem it.
    pub redeem_by: Option<NaiveDate>,
}

impl Coupon {
    /// Whether it covers `offering`.
    #[must_use]
    pub fn covers(&self, offering: &str) -> bool {
        self.applies_to.as_ref().is_none_or(|ids| ids.iter().any(|id| **id == *offering))
    }
}

/// A contract's record of its deal: later catalog edits never change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discount {
    /// The coupon redeemed.
    pub coupon_id: String,
    /// In `(0, 100]`.
    pub percent_off: Decimal,
    /// The offerings it covers; `None` is all.
    pub applies_to: Option<Vec<String>>,
    /// Pieces of periods starting before it are discounted; `None`: always.
    pub end_date: Option<NaiveDate>,
}

impl Discount {
    /// The deal a quote starting on `start` makes with `coupon`; `once_end`
    /// is the end of the first paid period of the quote's first covered
    /// offering (what a `ONCE` coupon covers).
    #[must_use]
    pub fn of(coupon: &Coupon, start: NaiveDate, once_end: NaiveDate) -> Option<Self> {
        let end_date = match coupon.duration {
            CouponDuration::Forever => None,
            CouponDuration::Repeating(months) => Some(add_months(start, i64::from(months), start.day())?),
            CouponDuration::Once => Some(once_end),
        };
        Some(Self {
            coupon_id: coupon.id.to_string(),
            percent_off: coupon.percent_off,
            applies_to: coupon.applies_to.as_ref().map(|ids| ids.iter().map(ToString::to_string).collect()),
            end_date,
        })
    }

    /// Whether it covers `offering`.
    #[must_use]
    pub fn covers(&self, offering: &str) -> bool {
        self.applies_to.as_ref().is_none_or(|ids| ids.iter().any(|id| id == offering))
    }

    /// The percent taken off a piece of `offering` whose period starts on
    /// `period_start` (the window rule), if any.
    #[must_use]
    pub fn percent_for(&self, offering: &str, period_start: NaiveDate) -> Option<Decimal> {
        (self.covers(offering) && self.end_date.is_none_or(|end| period_start < end)).then_some(self.percent_off)
    }

    /// Reads a contract's `discount` record at `path`.
    pub(crate) fn from_json(v: &Value, path: &str) -> Result<Self> {
        const DOC: Doc = Doc::Request;
        let at = |k: &str| format!("{path}.{k}");
        let obj = DOC.object(v, path)?;
        let coupon_id = DOC.id(DOC.required(obj, "couponId", path)?, &at("couponId"))?.to_owned();
        let percent_off = DOC.decimal(DOC.required(obj, "percentOff", path)?, &at("percentOff"))?;
        if percent_off <= Decimal::ZERO || percent_off > Decimal::ONE_HUNDRED {
            return Err(DOC.invalid(&at("percentOff"), "percentOff lies in (0, 100]"));
        }
        let applies_to = match DOC.field(obj, "appliesTo") {
            None => None,
            Some(list) => Some(
                DOC.array(list, &at("appliesTo"))?
                    .iter()
                    .enumerate()
                    .map(|(i, id)| DOC.id(id, &format!("{path}.appliesTo[{i}]")).map(str::to_owned))
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        let end_date = DOC.field(obj, "endDate").map(|d| DOC.date(d, &at("endDate"))).transpose()?;
        Ok(Self { coupon_id, percent_off, applies_to, end_date })
    }
}

/// `round(x × (100 − p) / 100)` needs `x × (100 − p) / 100` exactly: the price
/// with the discount taken off, at full precision.
pub(crate) fn discounted(price: Decimal, percent_off: Decimal) -> Option<Decimal> {
    let keep = arith::sub(Decimal::ONE_HUNDRED, percent_off)?;
    arith::div(arith::mul(price, keep)?, Decimal::ONE_HUNDRED)
}

const DOC: Doc = Doc::Catalog;

/// Reads the catalog's `coupons` (after its offerings, in layout order);
/// `offerings`: the catalog's offering ids.
pub(crate) fn coupons(root: &Map<String, Value>, offerings: &[Id]) -> Result<Vec<Coupon>> {
    let Some(list) = DOC.field(root, "coupons") else { return Ok(Vec::new()) };
    let mut out: Vec<Coupon> = Vec::new();
    for (i, v) in DOC.array(list, "coupons")?.iter().enumerate() {
        let path = format!("coupons[{i}]");
        let at = |k: &str| format!("{path}.{k}");
        let obj = DOC.object(v, &path)?;
        let id = DOC.id(DOC.required(obj, "id", &path)?, &at("id"))?;
        if out.iter().any(|c| *c.id == *id) {
            return Err(DOC.invalid(&at("id"), format!("coupon id '{}' is used twice", clip(id))));
        }
        let name = DOC.field(obj, "name").map_or(Ok(id), |n| DOC.string(n, &at("name")))?.to_owned();
        let percent_off = DOC.non_negative(DOC.required(obj, "percentOff", &path)?, &at("percentOff"))?;
        if percent_off.is_zero() || percent_off > Decimal::ONE_HUNDRED {
            return Err(DOC.invalid(&at("percentOff"), "percentOff lies in (0, 100]"));
        }
        let duration = match DOC.string(DOC.required(obj, "duration", &path)?, &at("duration"))? {
            "ONCE" => CouponDuration::Once,
            "FOREVER" => CouponDuration::Forever,
            "REPEATING" => {
                let months = DOC.whole(DOC.required(obj, "durationMonths", &path)?, &at("durationMonths"))?;
                if months == 0 || months > MAX_DURATION_MONTHS {
                    return Err(DOC.invalid(&at("durationMonths"), "durationMonths is at least 1"));
                }
                CouponDuration::Repeating(months)
            }
            other => {
                return Err(DOC.invalid(
                    &at("duration"),
                    format!("unknown duration '{}': use ONCE, REPEATING or FOREVER", clip(other)),
                ));
            }
        };
        if !matches!(duration, CouponDuration::Repeating(_)) && DOC.field(obj, "durationMonths").is_some() {
            return Err(DOC.invalid(&at("durationMonths"), "durationMonths goes only with duration REPEATING"));
        }
        let applies_to = match DOC.field(obj, "appliesTo") {
            None => None,
            Some(ids) => {
                let ids = DOC.array(ids, &at("appliesTo"))?;
                if ids.is_empty() {
                    return Err(
                        DOC.invalid(&at("appliesTo"), "appliesTo names at least one offering (omit it for all)")
                    );
                }
                let mut covered = Vec::with_capacity(ids.len());
                for (k, id) in ids.iter().enumerate() {
                    let id_path = format!("{path}.appliesTo[{k}]");
                    let id = DOC.id(id, &id_path)?;
                    let offering = offerings.iter().find(|o| ***o == *id).ok_or_else(|| {
                        DOC.invalid(&id_path, format!("'{}' is not an offering of the catalog", clip(id)))
                    })?;
                    covered.push(Id::clone(offering));
                }
                Some(covered)
            }
        };
        let redeem_by = DOC.field(obj, "redeemBy").map(|d| DOC.date(d, &at("redeemBy"))).transpose()?;
        out.push(Coupon { id: Id::from(id), name, percent_off, duration, applies_to, redeem_by });
    }
    Ok(out)
}

/// Reads `quote.couponId` against the quote's offerings (after them):
/// `UNKNOWN_COUPON`, `COUPON_EXPIRED` (today after `redeemBy`),
/// `COUPON_NOT_APPLICABLE` (it covers none of them), all at `quote.couponId`.
pub(crate) fn redeem(
    coupons: &[Coupon],
    quote: &Map<String, Value>,
    offerings: &[&str],
    today: NaiveDate,
) -> Result<Option<usize>> {
    const PATH: &str = "quote.couponId";
    let Some(v) = Doc::Request.field(quote, "couponId") else { return Ok(None) };
    let id = Doc::Request.string(v, PATH)?;
    let (index, coupon) = coupons.iter().enumerate().find(|(_, c)| *c.id == *id).ok_or_else(|| {
        Error::new(ErrorCode::UnknownCoupon, PATH, format!("no coupon '{}' in the catalog", clip(id)))
    })?;
    if let Some(last) = coupon.redeem_by.filter(|last| today > *last) {
        return Err(Error::new(
            ErrorCode::CouponExpired,
            PATH,
            format!("coupon '{}' could be redeemed until {last}", coupon.id),
        ));
    }
    if !offerings.iter().any(|o| coupon.covers(o)) {
        return Err(Error::new(
            ErrorCode::CouponNotApplicable,
            PATH,
            format!("coupon '{}' covers none of the quote's offerings", coupon.id),
        ));
    }
    Ok(Some(index))
}
