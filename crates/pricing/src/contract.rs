//! The contract a finalized quote becomes, read back for changes.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::catalog::{Catalog, Id, METERED, Offering, Rate};
use crate::discount::Discount;
use crate::error::{Error, ErrorCode, Result, overflow};
use crate::json::{Doc, Path, clip};
use crate::period::{Schedule, add_months};
use crate::quantities::quantities;

/// Whether a contract is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractStatus {
    /// In force.
    Active,
    /// Ended by a cancellation (or the removal of its last line).
    Canceled,
}

/// A contract: what a customer has bought, one line per offering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// The contract's id (not checked by the engine).
    pub id: String,
    /// `ACTIVE` or `CANCELED`.
    pub status: ContractStatus,
    /// ISO currency code; equal to the catalog's.
    pub currency: String,
    /// The sign-up's start date.
    pub start_date: NaiveDate,
    /// Exclusive end; `null` is evergreen.
    pub end_date: Option<NaiveDate>,
    /// The deal a coupon made at sign-up (`discount`, absent when none).
    pub discount: Option<Discount>,
    /// The lines.
    pub offerings: Vec<ContractLine>,
    /// Stretches of `IN_ARREARS` lines on terms a change replaced, not yet
    /// invoiced: the billing run invoices each at the end of its period
    /// (`unbilledArrears` in JSON, absent when empty).
    pub unbilled: Vec<ArrearsPiece>,
    /// The published catalog version the contract's lines are priced on
    /// (`catalogVersion`, set by the API; the engine only reads it, to mark
    /// the pieces a change keeps on those terms).
    pub catalog_version: Option<i64>,
}

/// `[start, end)` of an `IN_ARREARS` line on the terms it had then (its
/// offering, rate, schedule and quantities), owed at the end of its period.
/// One piece never spans a boundary of its schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrearsPiece {
    /// The offering then.
    pub offering_id: Id,
    /// The rate then.
    pub rate_id: Id,
    /// That rate as it was priced then (read from the piece's own catalog
    /// version, so a later catalog never reprices time already used).
    pub rate: Rate,
    /// The published catalog version the piece is priced on
    /// (`catalogVersion`, absent for the contract's own version).
    pub catalog_version: Option<i64>,
    /// The line's periods then.
    pub schedule: Schedule,
    /// First day owed.
    pub start: NaiveDate,
    /// First day not owed (the change's effective date).
    pub end: NaiveDate,
    /// The quantities then (every product of the offering, in its order).
    pub products: Vec<ContractProduct>,
    /// The licensed products whose time `[start, end)` the piece bills (an
    /// `IN_ARREARS` line's, listed with their quantities): never a product
    /// billed in advance, which was paid already, and nothing filled in.
    pub licensed: Vec<Id>,
    /// The metered products whose usage of `[start, end)` the piece bills
    /// (`"metered": true` in its `products`).
    pub usage: Vec<Id>,
}

/// One offering on a contract, with its periods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractLine {
    /// The offering.
    pub offering_id: Id,
    /// Its rate.
    pub rate_id: Id,
    /// `serviceStart`, `anchorDate`, `anchorDay` and the rate's months.
    pub schedule: Schedule,
    /// The end of the time already invoiced.
    pub invoiced_through: NaiveDate,
    /// How far usage is billed (`meteredThrough`): only on a line whose rate
    /// prices a metered product.
    pub metered_through: Option<NaiveDate>,
    /// Every product of the offering, in catalog order.
    pub products: Vec<ContractProduct>,
}

/// A product's quantity on a contract line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractProduct {
    /// The product.
    pub product_id: Id,
    /// Its quantity.
    pub quantity: Decimal,
}

const DOC: Doc = Doc::Request;

impl ContractLine {
    /// The line's offering and rate in `catalog`; `None` only if the catalog
    /// lost them, which [`Contract::from_json`] rules out.
    #[must_use]
    pub fn terms<'c>(&self, catalog: &'c Catalog) -> Option<(&'c Offering, &'c Rate)> {
        let (_, offering) = catalog.offering(&self.offering_id)?;
        let (_, rate) = offering.rate(&self.rate_id)?;
        Some((offering, rate))
    }

    /// True while `date` lies before paid service (a trial).
    #[must_use]
    pub fn in_trial(&self, date: NaiveDate) -> bool {
        date < self.schedule.service_start
    }
}

impl Contract {
    /// Reads a contract, resolving its offerings, rates and products against
    /// `catalog`. Paths are prefixed `contract.`.
    pub fn from_json(catalog: &Catalog, v: &Value) -> Result<Self> {
        Self::from_json_versioned(catalog, v, &[])
    }

    /// [`Contract::from_json`] where kept pieces may be priced on other
    /// published versions: a piece's `catalogVersion` is looked up in
    /// `versions` (a piece without one, or whose version is not given, is
    /// read against `catalog`, the contract's own version).
    pub fn from_json_versioned(catalog: &Catalog, v: &Value, versions: &[(i64, &Catalog)]) -> Result<Self> {
        let obj = DOC.object(v, "contract")?;
        let at = |k: &str| format!("contract.{k}");
        let id = DOC.field(obj, "id").map_or(Ok(""), |v| DOC.string(v, &at("id")))?;
        let status = match DOC.string(DOC.required(obj, "status", "contract")?, &at("status"))? {
            "ACTIVE" => ContractStatus::Active,
            "CANCELED" => ContractStatus::Canceled,
            other => {
                return Err(
                    DOC.invalid(&at("status"), format!("unknown status '{}': use ACTIVE or CANCELED", clip(other)))
                );
            }
        };
        let currency = DOC.string(DOC.required(obj, "currency", "contract")?, &at("currency"))?;
        if currency != catalog.currency.code() {
            return Err(DOC.invalid(
                &at("currency"),
                format!("the contract is in {}, the catalog in {}", clip(currency), catalog.currency.code()),
            ));
        }
        let start_date = DOC.date(DOC.required(obj, "startDate", "contract")?, &at("startDate"))?;
        let end_date = DOC.field(obj, "endDate").map(|v| DOC.date(v, &at("endDate"))).transpose()?;
        if end_date.is_some_and(|e| e < start_date) {
            return Err(DOC.invalid(&at("endDate"), "endDate must not be before startDate"));
        }
        let discount = DOC.field(obj, "discount").map(|d| Discount::from_json(d, &at("discount"))).transpose()?;
        let lines = DOC.array(DOC.required(obj, "offerings", "contract")?, &at("offerings"))?;
        let mut offerings: Vec<ContractLine> = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            let path = format!("contract.offerings[{i}]");
            let line = read_line(catalog, line, &path, None, None)?;
            if offerings.iter().any(|l| l.offering_id == line.offering_id) {
                return Err(Error::new(
                    ErrorCode::DuplicateOffering,
                    format!("{path}.offeringId"),
                    format!("offering '{}' is on the contract twice", line.offering_id),
                ));
            }
            offerings.push(line);
        }
        let mut unbilled = Vec::new();
        if let Some(list) = DOC.field(obj, "unbilledArrears") {
            for (i, v) in DOC.array(list, &at("unbilledArrears"))?.iter().enumerate() {
                let path = format!("contract.unbilledArrears[{i}]");
                let piece = DOC.object(v, &path)?;
                let start = DOC.date(DOC.required(piece, "start", &path)?, &format!("{path}.start"))?;
                let end = DOC.date(DOC.required(piece, "end", &path)?, &format!("{path}.end"))?;
                if end <= start {
                    return Err(DOC.invalid(&format!("{path}.end"), "end must be after start"));
                }
                let version_path = format!("{path}.catalogVersion");
                let version = DOC.field(piece, "catalogVersion").map(|v| DOC.whole(v, &version_path)).transpose()?;
                let terms = version
                    .and_then(|n| versions.iter().find(|(k, _)| i64::from(n) == *k))
                    .map_or(catalog, |(_, c)| *c);
                // The same fields as a line, with `start` where a line has
                // `invoicedThrough`; metered products (`"metered": true`) bill their usage.
                let (line, usage, licensed) = if METERED {
                    let listed = match DOC.field(piece, "products") {
                        None => &[][..],
                        Some(v) => DOC.array(v, &format!("{path}.products"))?.as_slice(),
                    };
                    let is_usage = |p: &Value| p.get("metered").and_then(Value::as_bool) == Some(true);
                    let licensed: Vec<Value> = listed.iter().filter(|p| !is_usage(p)).cloned().collect();
                    let line = read_line(terms, v, &path, Some(start), Some(&licensed))?;
                    let ids = |usage: bool| -> Vec<Id> {
                        listed
                            .iter()
                            .filter(|p| is_usage(p) == usage)
                            .filter_map(|p| p.get("productId").and_then(Value::as_str))
                            .filter_map(|id| terms.product(id).map(|(_, p)| p.id.clone()))
                            .collect()
                    };
                    (line, ids(true), ids(false))
                } else {
                    let line = read_line(terms, v, &path, Some(start), None)?;
                    let licensed = line.products.iter().map(|p| p.product_id.clone()).collect();
                    (line, Vec::new(), licensed)
                };
                let rate = line.terms(terms).map(|(_, r)| r.clone()).ok_or_else(|| overflow(&path))?;
                // Time billed in advance was paid when its period began: a piece
                // never bills it again, even one stored listing it.
                let licensed = if rate.timing == crate::period::Timing::InAdvance { Vec::new() } else { licensed };
                unbilled.push(ArrearsPiece {
                    offering_id: line.offering_id,
                    rate_id: line.rate_id,
                    rate,
                    catalog_version: version.map(i64::from),
                    schedule: line.schedule,
                    start,
                    end,
                    products: line.products,
                    licensed,
                    usage,
                });
            }
        }
        let version_path = at("catalogVersion");
        let catalog_version = DOC.field(obj, "catalogVersion").map(|v| DOC.whole(v, &version_path)).transpose()?;
        Ok(Self {
            id: id.to_owned(),
            status,
            currency: currency.to_owned(),
            start_date,
            end_date,
            discount,
            offerings,
            unbilled,
            catalog_version: catalog_version.map(i64::from),
        })
    }

    /// The index of the line for `offering_id`.
    #[must_use]
    pub fn line_of(&self, offering_id: &str) -> Option<usize> {
        self.offerings.iter().position(|l| &*l.offering_id == offering_id)
    }
}

/// A contract line (or a kept arrears piece: `invoiced_through` its start,
/// `listed` its licensed products).
fn read_line(
    catalog: &Catalog,
    v: &Value,
    path: &str,
    invoiced_through: Option<NaiveDate>,
    listed: Option<&[Value]>,
) -> Result<ContractLine> {
    let obj = DOC.object(v, path)?;
    let at = |k: &str| format!("{path}.{k}");
    let offering_id = DOC.string(DOC.required(obj, "offeringId", path)?, &at("offeringId"))?;
    let (_, offering) = catalog.offering(offering_id).ok_or_else(|| {
        Error::new(
            ErrorCode::UnknownOffering,
            at("offeringId"),
            format!("no offering '{}' in the catalog", clip(offering_id)),
        )
    })?;
    let rate_id = DOC.string(DOC.required(obj, "rateId", path)?, &at("rateId"))?;
    let (_, rate) = offering.rate(rate_id).ok_or_else(|| {
        Error::new(
            ErrorCode::UnknownRate,
            at("rateId"),
            format!("offering '{}' has no rate '{}'", offering.id, clip(rate_id)),
        )
    })?;
    let service_start = DOC.date(DOC.required(obj, "serviceStart", path)?, &at("serviceStart"))?;
    let anchor_day = DOC.whole(DOC.required(obj, "anchorDay", path)?, &at("anchorDay"))?;
    if !(1..=31).contains(&anchor_day) {
        return Err(DOC.invalid(&at("anchorDay"), "anchorDay must be from 1 to 31"));
    }
    let derived = Schedule::with_anchor_day(service_start, anchor_day, rate.frequency)
        .ok_or_else(|| DOC.invalid(&at("serviceStart"), "serviceStart is out of range"))?;
    let schedule = match DOC.field(obj, "anchorDate") {
        None => derived,
        Some(v) => {
            let anchor_date = DOC.date(v, &at("anchorDate"))?;
            let schedule = Schedule { anchor_date, ..derived };
            check_anchor(&schedule).map_err(|why| DOC.invalid(&at("anchorDate"), why))?;
            schedule
        }
    };
    let it_path = at("invoicedThrough");
    let invoiced_through_given = invoiced_through.is_some();
    let invoiced_through = match (invoiced_through, DOC.field(obj, "invoicedThrough")) {
        (Some(d), _) => d,
        (None, None) => {
            return Err(DOC.invalid(&it_path, "invoicedThrough is required: the end of the time already invoiced"));
        }
        (None, Some(v)) => DOC.date(v, &it_path)?,
    };
    if invoiced_through < service_start {
        return Err(DOC.invalid(&it_path, "invoicedThrough must not be before serviceStart"));
    }
    let products = match (listed, DOC.field(obj, "products")) {
        (Some(listed), _) => listed,
        (None, None) => &[][..],
        (None, Some(v)) => DOC.array(v, &at("products"))?.as_slice(),
    };
    // Usage is billed from `meteredThrough` (initially the service start).
    let metered_through = if rate.prices.iter().any(crate::catalog::RatePrice::is_metered) {
        Some(match (DOC.field(obj, "meteredThrough"), invoiced_through_given) {
            // A kept piece bills its usage from its start.
            (None, true) => service_start,
            (None, false) => {
                return Err(DOC.invalid(
                    &at("meteredThrough"),
                    "meteredThrough is required on a line pricing a metered product: how far its usage is billed",
                ));
            }
            (Some(v), _) => DOC.date(v, &at("meteredThrough"))?,
        })
    } else {
        None
    };
    let quantities = quantities(catalog, offering, products, &Path::Text(&at("products")), true, None)?;
    let products = offering
        .products
        .iter()
        .zip(quantities)
        .filter_map(|(p, quantity)| {
            catalog.products.get(*p).map(|p| ContractProduct { product_id: p.id.clone(), quantity })
        })
        .collect();
    Ok(ContractLine {
        offering_id: offering.id.clone(),
        rate_id: rate.id.clone(),
        schedule,
        invoiced_through,
        metered_through,
        products,
    })
}

/// An explicit `anchorDate` must keep the anchor day and be the first
/// boundary on or after the service start.
fn check_anchor(s: &Schedule) -> std::result::Result<(), &'static str> {
    let a = s.anchor_date;
    if add_months(a, 0, s.anchor_day) != Some(a) {
        return Err("anchorDate must fall on anchorDay (or the month's last day)");
    }
    if a < s.service_start {
        return Err("anchorDate must not be before serviceStart");
    }
    let previous = s.boundary(-1).ok_or("anchorDate is out of range")?;
    if a != s.service_start && previous >= s.service_start {
        return Err("anchorDate must be the first boundary on or after serviceStart");
    }
    Ok(())
}
