//! `previewChange`: a contract change priced, giving the contract in force
//! after it and the invoice it issues at its effective date `E`.
//!
//! The rules (see `docs/pricing.md`, "Contract changes"):
//! - a line whose terms change keeps its periods; if `E < invoicedThrough`
//!   each piece of `[E, invoicedThrough)` credits the old price and charges
//!   the new, for every product whose full-precision price changes;
//! - a line that starts anew (an add-on, another frequency) charges its first
//!   period when in advance, and the line it replaces is credited;
//! - a line that ends is credited for `[E, invoicedThrough)`;
//! - credits only where the old terms were in advance, charges only where the
//!   new ones are; nothing for a line still in trial.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

pub use crate::action::Action;
use crate::arith;
use crate::catalog::{Catalog, Id, METERED, Offering, Rate, RatePrice};
use crate::contract::{ArrearsPiece, Contract, ContractLine, ContractProduct, ContractStatus};
use crate::error::{Error, ErrorCode, Result, overflow};
use crate::invoice::{Billed, Invoice, InvoiceLine, one_time_line, prorate};
use crate::json::{Doc, Path, clip, parse_date, parse_date_time_date};
use crate::period::{Piece, Schedule, Timing};
use crate::quantities::quantities;

mod lines;
mod operations;

/// The contract after a change and the invoice the change issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePreview {
    /// The contract in force after the change.
    pub contract: Contract,
    /// The invoice dated at the (earliest) effective date; credits are
    /// negative lines and its amount may be negative. No tax.
    pub invoice: Invoice,
}

const DOC: Doc = Doc::Request;

/// When an operation takes effect.
#[derive(Debug, Clone, Copy)]
enum When {
    /// On this date.
    On(NaiveDate),
    /// Per line, at the end of its period holding today.
    NextBillCycle,
}

/// What a line bills after (or before) a change, and the catalog version
/// they come from (the contract's own for the old terms, the current one for
/// the new).
#[derive(Debug, Clone)]
struct Terms<'c> {
    catalog: &'c Catalog,
    offering: &'c Offering,
    rate: &'c Rate,
    quantities: Vec<Decimal>,
}

/// A product of a line priced for one whole period (or, one-time, whole).
struct PricedProduct<'c> {
    product_id: &'c Id,
    quantity: Decimal,
    price: Decimal,
    /// Charged once, when the line starts or the quantity grows.
    one_time: bool,
    /// Priced on usage at the period's end: never charged or credited by a change.
    metered: bool,
}

/// Prices a change given as JSON: one operation, or `{ "operations": [...] }`
/// applied in order (paths then prefixed `operations[k].`).
pub fn preview_change(
    catalog: &Catalog,
    contract: &Value,
    operation: &Value,
    today: NaiveDate,
) -> Result<ChangePreview> {
    preview_change_on(&Catalogs { current: catalog, contract: catalog, versions: &[] }, contract, operation, today)
}

/// The catalogs a change of a grandfathered contract is priced on.
#[derive(Debug, Clone, Copy)]
pub struct Catalogs<'c> {
    /// The current catalog: the new terms (and every line after the change).
    pub current: &'c Catalog,
    /// The version the contract's lines were sold or last changed on: the
    /// old terms (what is credited, what a kept piece owes).
    pub contract: &'c Catalog,
    /// Other versions its kept pieces (`unbilledArrears`) are priced on.
    pub versions: &'c [(i64, &'c Catalog)],
}

/// [`preview_change`] for a contract priced on an older catalog version: the
/// old terms on `catalogs.contract`, the new ones on `catalogs.current`; the
/// contract after the change is priced on the current catalog, so each of its
/// lines must still be sold there (`UNKNOWN_OFFERING` / `UNKNOWN_RATE` at
/// `contract.offerings[i]` otherwise: change or remove that line in the same
/// request). Pieces it keeps carry the contract's `catalogVersion`.
pub fn preview_change_on(
    catalogs: &Catalogs<'_>,
    contract: &Value,
    operation: &Value,
    today: NaiveDate,
) -> Result<ChangePreview> {
    let contract = Contract::from_json_versioned(catalogs.contract, contract, catalogs.versions)?;
    if contract.currency != catalogs.current.currency.code() {
        return Err(DOC.invalid(
            "contract.currency",
            format!("the contract is in {}, the catalog in {}", contract.currency, catalogs.current.currency.code()),
        ));
    }
    let root = DOC.object(operation, "")?;
    let mut change = Change {
        catalog: catalogs.current,
        old: catalogs.contract,
        today,
        contract,
        lines: Vec::new(),
        earliest: None,
    };
    match DOC.field(root, "operations") {
        None => change.apply(root)?,
        Some(list) => {
            let list = DOC.array(list, "operations")?;
            if list.is_empty() {
                return Err(DOC.invalid("operations", "at least one operation is required"));
            }
            for (k, op) in list.iter().enumerate() {
                let prefix = format!("operations[{k}]");
                let op = DOC.object(op, &prefix)?;
                change.apply(op).map_err(|e| e.prefixed(&prefix))?;
            }
        }
    }
    change.finish()
}

struct Change<'c> {
    /// The current catalog (new terms).
    catalog: &'c Catalog,
    /// The contract's own version (the terms it has).
    old: &'c Catalog,
    today: NaiveDate,
    contract: Contract,
    lines: Vec<InvoiceLine>,
    earliest: Option<NaiveDate>,
}

impl<'c> Change<'c> {
    fn finish(mut self) -> Result<ChangePreview> {
        if !std::ptr::eq(self.catalog, self.old) {
            self.move_to_current()?;
        }
        let date = self.earliest.unwrap_or(self.today);
        let invoice = Invoice::new(&self.catalog.currency, date, self.lines)?;
        Ok(ChangePreview { contract: self.contract, invoice })
    }

    /// Every line left on the contract's own version is read again on the
    /// current catalog (same offering and rate; products by id, a product new
    /// to the offering at its default quantity): from its next period, the
    /// contract bills on current prices.
    fn move_to_current(&mut self) -> Result<()> {
        for (i, line) in self.contract.offerings.iter_mut().enumerate() {
            let path = format!("contract.offerings[{i}]");
            let (_, offering) = self.catalog.offering(&line.offering_id).ok_or_else(|| {
                Error::new(
                    ErrorCode::UnknownOffering,
                    format!("{path}.offeringId"),
                    format!(
                        "offering '{}' is no longer in the catalog: change it to a current offering \
                         (OFFERING_CHANGE) or remove it in the same request",
                        line.offering_id
                    ),
                )
            })?;
            let (_, rate) = offering.rate(&line.rate_id).ok_or_else(|| {
                Error::new(
                    ErrorCode::UnknownRate,
                    format!("{path}.rateId"),
                    format!(
                        "rate '{}' is no longer in the catalog: change the line to a current rate \
                         (RATE_CHANGE) in the same request",
                        line.rate_id
                    ),
                )
            })?;
            let quantities = carried(self.catalog, offering, &line.products);
            let terms = Terms { catalog: self.catalog, offering, rate, quantities };
            *line = line_for(&terms, line.schedule, line.invoiced_through, line.metered_through);
        }
        Ok(())
    }

    /// Applies one operation. Order of checks: contract status → action →
    /// effective date → payload entries in order.
    fn apply(&mut self, op: &Map<String, Value>) -> Result<()> {
        if self.contract.status != ContractStatus::Active {
            return Err(Error::new(ErrorCode::ContractNotActive, "contractId", "the contract is not ACTIVE"));
        }
        let name = DOC.string(DOC.required(op, "action", "")?, "action")?;
        let action = Action::parse(name).ok_or_else(|| {
            DOC.invalid(
                "action",
                format!(
                    "unknown action '{}': use QUANTITY_CHANGE, RATE_CHANGE, OFFERING_CHANGE, ADD_OFFERING, REMOVE_OFFERING or CANCELLATION",
                    clip(name)
                ),
            )
        })?;
        let when = self.when(op)?;
        if action == Action::Cancellation {
            if DOC.field(op, "payload").is_some_and(|p| !p.as_object().is_some_and(Map::is_empty)) {
                return Err(DOC.invalid("payload", "a CANCELLATION carries no payload (null)"));
            }
            return self.cancel(when);
        }
        let payload = DOC.object(DOC.required(op, "payload", "")?, "payload")?;
        let entries = DOC.array(DOC.required(payload, "offerings", "payload")?, "payload.offerings")?;
        if entries.is_empty() {
            return Err(DOC.invalid("payload.offerings", "at least one offering is required"));
        }
        let mut named: Vec<&str> = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let path = format!("payload.offerings[{i}]");
            let entry = DOC.object(entry, &path)?;
            let id_path = format!("{path}.offeringId");
            let id = DOC.string(DOC.required(entry, "offeringId", &path)?, &id_path)?;
            if named.contains(&id) {
                return Err(duplicate(&id_path, id));
            }
            named.push(id);
            match action {
                Action::QuantityChange => self.quantity_change(entry, id, &path, when)?,
                Action::RateChange => self.rate_change(entry, id, &path, when)?,
                Action::OfferingChange => {
                    let new_id_path = format!("{path}.newOfferingId");
                    let new_id = DOC.string(DOC.required(entry, "newOfferingId", &path)?, &new_id_path)?;
                    if named.contains(&new_id) {
                        return Err(duplicate(&new_id_path, new_id));
                    }
                    self.offering_change(entry, id, new_id, &path, when)?;
                    named.push(new_id);
                }
                Action::AddOffering => self.add_offering(entry, id, &path, when)?,
                Action::RemoveOffering => self.remove_offering(id, &path, when)?,
                Action::Cancellation => {}
            }
        }
        Ok(())
    }

    /// Reads `relativeEffectiveDate` (which wins) or `effectiveDate` (a date or
    /// an RFC 3339 date-time), else today; checks a fixed date against today
    /// and the contract's end.
    fn when(&self, op: &Map<String, Value>) -> Result<When> {
        if let Some(rel) = DOC.field(op, "relativeEffectiveDate") {
            return match rel.as_str() {
                Some("NEXT_BILL_CYCLE") => Ok(When::NextBillCycle),
                _ => Err(DOC.invalid("relativeEffectiveDate", "the only relative effective date is NEXT_BILL_CYCLE")),
            };
        }
        let e = match DOC.field(op, "effectiveDate") {
            None => self.today,
            Some(v) => {
                let s = v.as_str().unwrap_or_default();
                parse_date(s).or_else(|| parse_date_time_date(s)).ok_or_else(|| {
                    DOC.invalid(
                        "effectiveDate",
                        format!("'{}' is neither a date YYYY-MM-DD nor an RFC 3339 date-time", clip(s)),
                    )
                })?
            }
        };
        if e < self.today {
            return Err(Error::new(
                ErrorCode::EffectiveDateInPast,
                "effectiveDate",
                format!("effective date {e} is before today ({})", self.today),
            ));
        }
        self.check_end(e, "effectiveDate")?;
        Ok(When::On(e))
    }

    fn check_end(&self, e: NaiveDate, path: &str) -> Result<()> {
        match self.contract.end_date {
            Some(end) if e > end => Err(Error::new(
                ErrorCode::EffectiveDateAfterEnd,
                path,
                format!("effective date {e} is after the contract's end ({end})"),
            )),
            _ => Ok(()),
        }
    }

    /// `E` for a line with `schedule` (for NEXT_BILL_CYCLE: the end of its period
    /// holding today, or its trial's end), remembered for the invoice date.
    fn effective(&mut self, when: When, schedule: Option<Schedule>, path: &str) -> Result<NaiveDate> {
        let e = match (when, schedule) {
            (When::On(e), _) => e,
            (When::NextBillCycle, Some(s)) => {
                let e = s.next_boundary(self.today).ok_or_else(|| overflow(path))?;
                self.check_end(e, "relativeEffectiveDate")?;
                e
            }
            (When::NextBillCycle, None) => self.today,
        };
        self.earliest = Some(self.earliest.map_or(e, |d| d.min(e)));
        Ok(e)
    }

    /// The line holding `id`, or `UNKNOWN_OFFERING` at `path.offeringId`.
    fn line_index(&self, id: &str, path: &str) -> Result<usize> {
        self.contract.line_of(id).ok_or_else(|| {
            Error::new(
                ErrorCode::UnknownOffering,
                format!("{path}.offeringId"),
                format!("offering '{}' is not on the contract", clip(id)),
            )
        })
    }

    fn line(&self, index: usize, path: &str) -> Result<&ContractLine> {
        self.contract.offerings.get(index).ok_or_else(|| overflow(path))
    }

    /// The terms a line bills now.
    fn current_terms(&self, index: usize, path: &str) -> Result<Terms<'c>> {
        let line = self.line(index, path)?;
        let (offering, rate) = line.terms(self.old).ok_or_else(|| overflow(path))?;
        Ok(Terms { catalog: self.old, offering, rate, quantities: line.products.iter().map(|p| p.quantity).collect() })
    }

    /// The line's offering as the current catalog sells it (itself when the
    /// contract is on the current version), and its quantities carried over
    /// by product id.
    fn current_offering(&self, old: &Terms<'c>, path: &str) -> Result<(&'c Offering, Vec<Decimal>)> {
        if std::ptr::eq(old.catalog, self.catalog) {
            return Ok((old.offering, old.quantities.clone()));
        }
        let (_, offering) = self.catalog.offering(&old.offering.id).ok_or_else(|| {
            Error::new(
                ErrorCode::UnknownOffering,
                format!("{path}.offeringId"),
                format!(
                    "offering '{}' is no longer in the catalog: change it to a current offering (OFFERING_CHANGE)",
                    old.offering.id
                ),
            )
        })?;
        let products: Vec<ContractProduct> = old
            .offering
            .products
            .iter()
            .zip(&old.quantities)
            .filter_map(|(p, q)| {
                old.catalog.products.get(*p).map(|p| ContractProduct { product_id: p.id.clone(), quantity: *q })
            })
            .collect();
        Ok((offering, carried(self.catalog, offering, &products)))
    }

    /// Reads `products` of a payload entry for `offering`; unlisted products
    /// keep `base` (else their default).
    fn products(
        &self,
        entry: &Map<String, Value>,
        offering: &Offering,
        path: &str,
        required: bool,
        base: Option<&[Decimal]>,
    ) -> Result<Vec<Decimal>> {
        let items = match DOC.field(entry, "products") {
            None if required => return Err(DOC.missing(&format!("{path}.products"), "products")),
            None => &[][..],
            Some(v) => DOC.array(v, &format!("{path}.products"))?.as_slice(),
        };
        let products_path = format!("{path}.products");
        // Usage prices a metered product, never a quantity: the first item naming
        // one is METERED_PRODUCT, once the items before it are read without error.
        for (j, item) in items.iter().enumerate().filter(|_| METERED) {
            let pid = item.get("productId").and_then(Value::as_str);
            let metered = pid
                .and_then(|pid| offering.position_of_id(self.catalog, pid))
                .and_then(|pos| offering.products.get(pos))
                .and_then(|p| self.catalog.products.get(*p))
                .is_some_and(|p| p.aggregation().is_some());
            if metered {
                let before = items.get(..j).unwrap_or_default();
                quantities(self.catalog, offering, before, &Path::Text(&products_path), true, base)?;
                return Err(Error::new(
                    ErrorCode::MeteredProduct,
                    format!("{products_path}[{j}].productId"),
                    format!("'{}' is metered: its usage prices it, not a quantity", clip(pid.unwrap_or_default())),
                ));
            }
        }
        quantities(self.catalog, offering, items, &Path::Text(&products_path), true, base)
    }
}

/// The quantities of `products` for `offering`'s products, matched by id; a
/// product the line did not have takes its default quantity.
fn carried(catalog: &Catalog, offering: &Offering, products: &[ContractProduct]) -> Vec<Decimal> {
    offering
        .products
        .iter()
        .filter_map(|p| catalog.products.get(*p))
        .map(|p| products.iter().find(|c| c.product_id == p.id).map_or(p.default_quantity, |c| c.quantity))
        .collect()
}

/// A line on `terms`; when they price a metered product, its usage is billed
/// from `metered_through` (default: the service start).
fn line_for(
    terms: &Terms<'_>,
    schedule: Schedule,
    invoiced_through: NaiveDate,
    metered_through: Option<NaiveDate>,
) -> ContractLine {
    let catalog = terms.catalog;
    let metered = terms.rate.prices.iter().any(RatePrice::is_metered);
    ContractLine {
        offering_id: terms.offering.id.clone(),
        rate_id: terms.rate.id.clone(),
        schedule,
        invoiced_through,
        metered_through: metered.then(|| metered_through.unwrap_or(schedule.service_start)),
        products: terms
            .offering
            .products
            .iter()
            .zip(&terms.quantities)
            .filter_map(|(p, q)| {
                catalog.products.get(*p).map(|p| ContractProduct { product_id: p.id.clone(), quantity: *q })
            })
            .collect(),
    }
}

impl Change<'_> {
    /// A metered product is priced by at most one line of a contract (its
    /// usage names only the product): `offering` may not bring one that a
    /// line other than `replacing` already prices (`DUPLICATE_PRODUCT`).
    fn metered_once(&self, offering: &Offering, replacing: Option<&str>, path: &str) -> Result<()> {
        if !METERED {
            return Ok(());
        }
        for p in offering.products.iter().filter_map(|p| self.catalog.products.get(*p)) {
            if p.aggregation().is_none() {
                continue;
            }
            let elsewhere = self
                .contract
                .offerings
                .iter()
                .filter(|l| replacing != Some(&*l.offering_id))
                .any(|l| l.products.iter().any(|c| c.product_id == p.id));
            if elsewhere {
                return Err(Error::new(
                    ErrorCode::DuplicateProduct,
                    path,
                    format!("the metered product '{}' is already priced by another line of the contract", p.id),
                ));
            }
        }
        Ok(())
    }
}

fn duplicate(path: &str, id: &str) -> Error {
    Error::new(
        ErrorCode::DuplicateOffering,
        path,
        format!("offering '{}' is already on the contract or named twice", clip(id)),
    )
}
