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

    fn quantity_change(&mut self, entry: &Map<String, Value>, id: &str, path: &str, when: When) -> Result<()> {
        let index = self.line_index(id, path)?;
        let old = self.current_terms(index, path)?;
        let (offering, base) = self.current_offering(&old, path)?;
        let (_, rate) = offering.rate(&old.rate.id).ok_or_else(|| {
            Error::new(
                ErrorCode::UnknownRate,
                format!("{path}.offeringId"),
                format!(
                    "rate '{}' is no longer in the catalog: change the line to a current rate (RATE_CHANGE)",
                    old.rate.id
                ),
            )
        })?;
        let quantities = self.products(entry, offering, path, true, Some(&base))?;
        let new = Terms { catalog: self.catalog, offering, rate, quantities };
        let e = self.effective(when, Some(self.line(index, path)?.schedule), path)?;
        self.change_terms(index, &old, &new, e, path)
    }

    fn rate_change(&mut self, entry: &Map<String, Value>, id: &str, path: &str, when: When) -> Result<()> {
        let index = self.line_index(id, path)?;
        let old = self.current_terms(index, path)?;
        let rate_path = format!("{path}.rateId");
        let rate_id = DOC.string(DOC.required(entry, "rateId", path)?, &rate_path)?;
        let (offering, base) = self.current_offering(&old, path)?;
        let (_, rate) = offering.rate(rate_id).ok_or_else(|| {
            Error::new(
                ErrorCode::UnknownRate,
                &rate_path,
                format!("offering '{}' has no rate '{}'", offering.id, clip(rate_id)),
            )
        })?;
        let quantities = self.products(entry, offering, path, false, Some(&base))?;
        let new = Terms { catalog: self.catalog, offering, rate, quantities };
        let e = self.effective(when, Some(self.line(index, path)?.schedule), path)?;
        self.replace(index, &old, &new, e, path)
    }

    fn offering_change(
        &mut self,
        entry: &Map<String, Value>,
        id: &str,
        new_id: &str,
        path: &str,
        when: When,
    ) -> Result<()> {
        let index = self.line_index(id, path)?;
        let old = self.current_terms(index, path)?;
        let new_id_path = format!("{path}.newOfferingId");
        let (_, offering) = self.catalog.offering(new_id).ok_or_else(|| {
            Error::new(
                ErrorCode::UnknownOffering,
                &new_id_path,
                format!("no offering '{}' in the catalog", clip(new_id)),
            )
        })?;
        if self.contract.line_of(new_id).is_some() {
            return Err(duplicate(&new_id_path, new_id));
        }
        self.metered_once(offering, Some(id), &new_id_path)?;
        let rate = offering.rate_for_frequency(Some(old.rate.frequency)).ok_or_else(|| overflow(path))?;
        let quantities = self.products(entry, offering, path, false, None)?;
        let new = Terms { catalog: self.catalog, offering, rate, quantities };
        let e = self.effective(when, Some(self.line(index, path)?.schedule), path)?;
        self.replace(index, &old, &new, e, path)
    }

    fn add_offering(&mut self, entry: &Map<String, Value>, id: &str, path: &str, when: When) -> Result<()> {
        let id_path = format!("{path}.offeringId");
        let (_, offering) = self.catalog.offering(id).ok_or_else(|| {
            Error::new(ErrorCode::UnknownOffering, &id_path, format!("no offering '{}' in the catalog", clip(id)))
        })?;
        if self.contract.line_of(id).is_some() {
            return Err(duplicate(&id_path, id));
        }
        self.metered_once(offering, None, &id_path)?;
        let first_frequency = self.contract.offerings.first().and_then(|l| l.terms(self.old)).map(|(_, r)| r.frequency);
        let rate = match DOC.field(entry, "rateId") {
            Some(v) => {
                let rate_path = format!("{path}.rateId");
                let rate_id = DOC.string(v, &rate_path)?;
                offering.rate(rate_id).map(|(_, r)| r).ok_or_else(|| {
                    Error::new(
                        ErrorCode::UnknownRate,
                        &rate_path,
                        format!("offering '{}' has no rate '{}'", offering.id, clip(rate_id)),
                    )
                })?
            }
            None => offering.rate_for_frequency(first_frequency).ok_or_else(|| overflow(path))?,
        };
        let quantities = self.products(entry, offering, path, false, None)?;
        let co_term = self
            .contract
            .offerings
            .iter()
            .find(|l| l.terms(self.old).is_some_and(|(_, r)| r.frequency == rate.frequency))
            .map(|l| l.schedule);
        let nbc_schedule = co_term.or_else(|| self.contract.offerings.first().map(|l| l.schedule));
        let e = self.effective(when, nbc_schedule, path)?;
        let schedule = match co_term {
            Some(other) => Schedule::co_termed(e, &other),
            None => Schedule::start(self.catalog.anchor, e, rate.frequency),
        }
        .ok_or_else(|| overflow(path))?;
        let new = Terms { catalog: self.catalog, offering, rate, quantities };
        let line = self.start_line(&new, schedule, &[], path)?;
        self.contract.offerings.push(line);
        Ok(())
    }

    fn remove_offering(&mut self, id: &str, path: &str, when: When) -> Result<()> {
        let index = self.line_index(id, path)?;
        let e = self.effective(when, Some(self.line(index, path)?.schedule), path)?;
        self.end_line(index, e, path)?;
        self.contract.offerings.remove(index);
        if self.contract.offerings.is_empty() {
            self.contract.status = ContractStatus::Canceled;
            self.contract.end_date = Some(e);
        }
        Ok(())
    }

    fn cancel(&mut self, when: When) -> Result<()> {
        let mut end: Option<NaiveDate> = None;
        for index in 0..self.contract.offerings.len() {
            let path = format!("contract.offerings[{index}]");
            let e = self.effective(when, Some(self.line(index, &path)?.schedule), &path)?;
            self.end_line(index, e, &path)?;
            end = Some(end.map_or(e, |d| d.max(e)));
        }
        let end = match (end, when) {
            (Some(e), _) => e,
            (None, When::On(e)) => e,
            (None, When::NextBillCycle) => self.today,
        };
        self.earliest = Some(self.earliest.map_or(end, |d| d.min(end)));
        self.contract.status = ContractStatus::Canceled;
        self.contract.end_date = Some(end);
        self.contract.offerings.clear();
        Ok(())
    }

    /// Another rate or offering: kept periods for the same frequency, else the
    /// line starts anew at `E`.
    fn replace(&mut self, index: usize, old: &Terms<'c>, new: &Terms<'c>, e: NaiveDate, path: &str) -> Result<()> {
        if old.rate.frequency == new.rate.frequency {
            return self.change_terms(index, old, new, e, path);
        }
        let line = self.line(index, path)?.clone();
        // A line still in trial keeps its service start and issues nothing recurring.
        let trial_start = line.in_trial(e).then_some(line.schedule.service_start);
        self.end_line(index, e, path)?;
        let start = trial_start.unwrap_or(e);
        let schedule = Schedule::start(self.catalog.anchor, start, new.rate.frequency).ok_or_else(|| overflow(path))?;
        let replacement = match trial_start {
            Some(s) => {
                // Starting anew in trial: nothing recurring is charged yet, but
                // its first period still may not run past the contract's end unnoticed.
                self.one_time(&line.products, new, e, path)?;
                self.cover(&schedule, path)?;
                line_for(new, schedule, s, None)
            }
            None => self.start_line(new, schedule, &line.products, path)?,
        };
        if let Some(slot) = self.contract.offerings.get_mut(index) {
            *slot = replacement;
        }
        Ok(())
    }

    /// New terms on the line's own periods: for each piece of
    /// `[E, invoicedThrough)`, credit the old price and charge the new for
    /// every product whose full-precision price changes.
    fn change_terms(&mut self, index: usize, old: &Terms<'c>, new: &Terms<'c>, e: NaiveDate, path: &str) -> Result<()> {
        let line = self.line(index, path)?.clone();
        let mut invoiced_through = line.invoiced_through;
        // In arrears, the time used on the old terms is owed at the period's end:
        // kept as a piece, and the line goes on from `E`.
        if self.keep_arrears(&line, old, e, path)? {
            invoiced_through = e;
        }
        if !line.in_trial(e) && e < line.invoiced_through {
            let pieces = line.schedule.pieces(e, line.invoiced_through).ok_or_else(|| overflow(path))?;
            let before = priced(old, path)?;
            let after = priced(new, path)?;
            let credit = old.rate.timing == Timing::InAdvance;
            let charge = new.rate.timing == Timing::InAdvance;
            // In advance to in arrears: the prepaid time is credited whole and
            // billed again at the period's end, so every product is credited.
            let to_arrears = credit && !charge;
            for piece in &pieces {
                for p in &before {
                    let matching = after.iter().find(|n| n.product_id == p.product_id);
                    if !to_arrears && matching.is_some_and(|n| n.price == p.price) {
                        continue;
                    }
                    if credit {
                        self.bill(old, p, piece, true, path)?;
                    }
                    if let (Some(n), true) = (matching, charge) {
                        self.bill(new, n, piece, false, path)?;
                    }
                }
                for n in after.iter().filter(|n| !before.iter().any(|p| p.product_id == n.product_id)) {
                    if charge {
                        self.bill(new, n, piece, false, path)?;
                    }
                }
            }
            if to_arrears {
                invoiced_through = e;
            }
        }
        self.one_time(&line.products, new, e, path)?;
        // The line keeps its periods: its usage is billed at the period's end on
        // the terms in force then, but a metered product the new terms drop
        // keeps its usage so far, billed on the old terms.
        let kept: Vec<Id> = if METERED {
            metered_ids(old).into_iter().filter(|id| !metered_ids(new).contains(id)).collect()
        } else {
            Vec::new()
        };
        if !kept.is_empty() {
            self.keep_usage(&line, old, e, &kept, path)?;
        }
        let updated = line_for(new, line.schedule, invoiced_through, line.metered_through.or(Some(e)));
        if let Some(slot) = self.contract.offerings.get_mut(index) {
            *slot = updated;
        }
        Ok(())
    }

    /// A line starting at its schedule's service start: its first period is
    /// charged when in advance (`invoicedThrough` at its end, else at the
    /// start), and the contract's end moves out to cover that period.
    /// `before`: the products of the line it replaces (none for a new line),
    /// whose one-time quantities are not charged again.
    fn start_line(
        &mut self,
        terms: &Terms<'c>,
        schedule: Schedule,
        before: &[ContractProduct],
        path: &str,
    ) -> Result<ContractLine> {
        let first = schedule.first_period().ok_or_else(|| overflow(path))?;
        let invoiced_through = if terms.rate.timing == Timing::InAdvance {
            for p in &priced(terms, path)? {
                self.bill(terms, p, &first, false, path)?;
            }
            first.end
        } else {
            schedule.service_start
        };
        self.one_time(before, terms, schedule.service_start, path)?;
        self.cover(&schedule, path)?;
        Ok(line_for(terms, schedule, invoiced_through, None))
    }

    /// The one-time products of `new` charged at `E` for what they grew by:
    /// `round(price(q_new)) − round(price(q_old))` on the new terms when
    /// positive, `q_old` being the quantity in `before` (0 for a product new
    /// to the line). Charged even on a line in trial; never credited.
    fn one_time(&mut self, before: &[ContractProduct], new: &Terms<'c>, e: NaiveDate, path: &str) -> Result<()> {
        let currency = &new.catalog.currency;
        let products = new.offering.products.iter().zip(&new.rate.prices).zip(&new.quantities);
        for ((p, price), q) in products.filter(|((_, price), _)| price.one_time) {
            let product = new.catalog.products.get(*p).ok_or_else(|| overflow(path))?;
            let was = before.iter().find(|c| c.product_id == product.id).map_or(Decimal::ZERO, |c| c.quantity);
            let whole =
                |q: Decimal| -> Result<Decimal> { currency.round(price.price(q).ok_or_else(|| overflow(path))?, path) };
            let growth = arith::sub(whole(*q)?, whole(was)?).ok_or_else(|| overflow(path))?;
            if growth.is_sign_positive() && !growth.is_zero() {
                let billed = Billed {
                    offering_id: &new.offering.id,
                    rate_id: &new.rate.id,
                    product_id: &product.id,
                    quantity: *q,
                    price: growth,
                    percent_off: self.percent_off(&new.offering.id, e),
                };
                self.lines.extend(one_time_line(currency, &billed, price.grants_credit, e));
            }
        }
        Ok(())
    }

    /// A line starting anew never bills past `endDate` unnoticed: when its
    /// first period ends after the contract's end, the end moves there.
    fn cover(&mut self, schedule: &Schedule, path: &str) -> Result<()> {
        let first = schedule.first_period().ok_or_else(|| overflow(path))?;
        if self.contract.end_date.is_some_and(|end| first.end > end) {
            self.contract.end_date = Some(first.end);
        }
        Ok(())
    }

    /// Credits what a line ending at `E` was invoiced beyond it (in advance
    /// and out of trial only).
    fn end_line(&mut self, index: usize, e: NaiveDate, path: &str) -> Result<()> {
        let line = self.line(index, path)?.clone();
        let old = self.current_terms(index, path)?;
        self.keep_arrears(&line, &old, e, path)?;
        if METERED {
            self.keep_usage(&line, &old, e, &metered_ids(&old), path)?;
        }
        if line.in_trial(e) || old.rate.timing != Timing::InAdvance {
            return Ok(());
        }
        let pieces = line.schedule.pieces(e, line.invoiced_through).ok_or_else(|| overflow(path))?;
        let before = priced(&old, path)?;
        for piece in &pieces {
            for p in &before {
                self.bill(&old, p, piece, true, path)?;
            }
        }
        Ok(())
    }

    /// An `IN_ARREARS` line changed or ended at `E` after billed time: keeps
    /// `[invoicedThrough, E)` on its old terms for the billing run, one piece
    /// per period piece. True when kept.
    fn keep_arrears(&mut self, line: &ContractLine, old: &Terms<'c>, e: NaiveDate, path: &str) -> Result<bool> {
        if old.rate.timing != Timing::InArrears || line.in_trial(e) || e <= line.invoiced_through {
            return Ok(false);
        }
        // A line of metered products only has no used time to keep (its usage is kept apart).
        if old.rate.prices.iter().all(|p| p.is_metered() || p.one_time) {
            return Ok(false);
        }
        for piece in line.schedule.pieces(line.invoiced_through, e).ok_or_else(|| overflow(path))? {
            let kept = self.kept(line, old, &piece, Vec::new());
            self.contract.unbilled.push(kept);
        }
        Ok(true)
    }

    /// `piece` of `line` on its old terms, kept for the billing run (with the
    /// metered products whose usage of it is billed then).
    fn kept(&self, line: &ContractLine, old: &Terms<'c>, piece: &Piece, usage: Vec<Id>) -> ArrearsPiece {
        ArrearsPiece {
            offering_id: line.offering_id.clone(),
            rate_id: line.rate_id.clone(),
            rate: old.rate.clone(),
            catalog_version: self.contract.catalog_version,
            schedule: line.schedule,
            start: piece.start,
            end: piece.end,
            products: line.products.clone(),
            usage,
        }
    }

    /// A line that ends at `E` (or starts anew, or drops metered products)
    /// keeps the usage of `[meteredThrough, E)` of `products`, one piece per
    /// period piece, billed at the end of that period on its old terms. A
    /// piece of used time kept for the same days carries it.
    fn keep_usage(
        &mut self,
        line: &ContractLine,
        old: &Terms<'c>,
        e: NaiveDate,
        products: &[Id],
        path: &str,
    ) -> Result<()> {
        let Some(from) = line.metered_through.filter(|m| METERED && *m < e && !products.is_empty()) else {
            return Ok(());
        };
        if line.in_trial(e) {
            return Ok(());
        }
        for piece in line.schedule.pieces(from, e).ok_or_else(|| overflow(path))? {
            let same = self.contract.unbilled.iter_mut().find(|k| {
                k.offering_id == line.offering_id && k.start == piece.start && k.end == piece.end && k.usage.is_empty()
            });
            if let Some(kept) = same {
                kept.usage = products.to_vec();
                continue;
            }
            let kept = self.kept(line, old, &piece, products.to_vec());
            self.contract.unbilled.push(kept);
        }
        Ok(())
    }

    /// What the contract's discount takes off a piece of `offering` whose
    /// period starts on `period_start` (credits and charges alike, so a credit
    /// refunds exactly what its charge cost).
    fn percent_off(&self, offering: &str, period_start: NaiveDate) -> Option<Decimal> {
        self.contract.discount.as_ref().and_then(|d| d.percent_for(offering, period_start))
    }

    fn bill(
        &mut self,
        terms: &Terms<'c>,
        p: &PricedProduct<'_>,
        piece: &Piece,
        credit: bool,
        path: &str,
    ) -> Result<()> {
        let billed = Billed {
            offering_id: &terms.offering.id,
            rate_id: &terms.rate.id,
            product_id: p.product_id,
            quantity: p.quantity,
            price: p.price,
            percent_off: self.percent_off(&terms.offering.id, piece.period_start),
        };
        self.lines.extend(prorate(&terms.catalog.currency, &billed, piece, credit, path)?);
        Ok(())
    }
}

/// Each recurring product of `terms` with its full-precision price for one
/// period (one-time products are charged apart: [`Change::one_time`]).
fn priced<'c>(terms: &Terms<'c>, path: &str) -> Result<Vec<PricedProduct<'c>>> {
    Ok(all_priced(terms, path)?.into_iter().filter(|p| !p.one_time && !p.metered).collect())
}

/// Every product of `terms`, recurring and one-time, priced at its quantity.
fn all_priced<'c>(terms: &Terms<'c>, path: &str) -> Result<Vec<PricedProduct<'c>>> {
    let catalog = terms.catalog;
    terms
        .offering
        .products
        .iter()
        .zip(&terms.rate.prices)
        .zip(&terms.quantities)
        .map(|((p, price), q)| {
            let product = catalog.products.get(*p).ok_or_else(|| overflow(path))?;
            Ok(PricedProduct {
                product_id: &product.id,
                quantity: *q,
                price: price.price(*q).ok_or_else(|| overflow(path))?,
                one_time: price.one_time,
                metered: price.is_metered(),
            })
        })
        .collect()
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

/// The metered products `terms` price.
fn metered_ids(terms: &Terms<'_>) -> Vec<Id> {
    terms
        .offering
        .products
        .iter()
        .zip(&terms.rate.prices)
        .filter(|(_, price)| price.is_metered())
        .filter_map(|(p, _)| terms.catalog.products.get(*p).map(|p| p.id.clone()))
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
