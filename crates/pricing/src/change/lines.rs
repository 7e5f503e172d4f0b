//! What a change does to one line at its effective date `E`: kept periods
//! with each piece of `[E, invoicedThrough)` credited on the old terms and
//! charged on the new, a line started anew or ended, one-time charges, and
//! the arrears and usage pieces kept to bill at their period's end.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{
    ArrearsPiece, Billed, Change, ContractLine, ContractProduct, Id, METERED, Piece, PricedProduct, Result, Schedule,
    Terms, Timing, arith, line_for, one_time_line, overflow, prorate,
};

impl<'c> Change<'c> {
    /// Another rate or offering: kept periods for the same frequency, else the
    /// line starts anew at `E`.
    pub(super) fn replace(
        &mut self,
        index: usize,
        old: &Terms<'c>,
        new: &Terms<'c>,
        e: NaiveDate,
        path: &str,
    ) -> Result<()> {
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
    pub(super) fn change_terms(
        &mut self,
        index: usize,
        old: &Terms<'c>,
        new: &Terms<'c>,
        e: NaiveDate,
        path: &str,
    ) -> Result<()> {
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
        // the terms in force then. Whole periods that ended by `E` and are not
        // billed yet (a change on the boundary, before the run bills it) were
        // used on the old terms only: kept on them. A metered product the new
        // terms drop keeps its usage so far, billed on the old terms.
        let mut line = line;
        let (was, will) = (metered_ids(old), metered_ids(new));
        if METERED && !line.in_trial(e) {
            let boundary = line.schedule.period_holding(e).map(|p| p.start);
            if let (Some(from), Some(boundary)) = (line.metered_through, boundary)
                && from < boundary
            {
                self.keep_usage(&line, old, boundary, &was, path)?;
                line.metered_through = Some(boundary);
            }
        }
        // New terms that meter a product the old did not: the line's usage is
        // counted from `E` (one `meteredThrough` for all its products), and what
        // the old products used before `E` is kept on the old terms.
        let cut = METERED && will.iter().any(|id| !was.contains(id));
        let kept: Vec<Id> = if !METERED {
            Vec::new()
        } else if cut {
            was
        } else {
            was.into_iter().filter(|id| !will.contains(id)).collect()
        };
        if !kept.is_empty() {
            self.keep_usage(&line, old, e, &kept, path)?;
        }
        if cut && !line.in_trial(e) {
            line.metered_through = line.metered_through.map(|m| m.max(e));
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
    pub(super) fn start_line(
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
    pub(super) fn one_time(
        &mut self,
        before: &[ContractProduct],
        new: &Terms<'c>,
        e: NaiveDate,
        path: &str,
    ) -> Result<()> {
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
    pub(super) fn cover(&mut self, schedule: &Schedule, path: &str) -> Result<()> {
        let first = schedule.first_period().ok_or_else(|| overflow(path))?;
        if self.contract.end_date.is_some_and(|end| first.end > end) {
            self.contract.end_date = Some(first.end);
        }
        Ok(())
    }

    /// Credits what a line ending at `E` was invoiced beyond it (in advance
    /// and out of trial only).
    pub(super) fn end_line(&mut self, index: usize, e: NaiveDate, path: &str) -> Result<()> {
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
    pub(super) fn keep_arrears(
        &mut self,
        line: &ContractLine,
        old: &Terms<'c>,
        e: NaiveDate,
        path: &str,
    ) -> Result<bool> {
        if old.rate.timing != Timing::InArrears || line.in_trial(e) || e <= line.invoiced_through {
            return Ok(false);
        }
        // A line of metered products only has no used time to keep (its usage is kept apart).
        if old.rate.prices.iter().all(|p| p.is_metered() || p.one_time) {
            return Ok(false);
        }
        // The piece bills the line's licensed recurring products (in arrears: not paid yet).
        let licensed: Vec<Id> = priced(old, path)?.iter().map(|p| p.product_id.clone()).collect();
        for piece in line.schedule.pieces(line.invoiced_through, e).ok_or_else(|| overflow(path))? {
            let kept = self.kept(line, old, &piece, licensed.clone(), Vec::new());
            self.contract.unbilled.push(kept);
        }
        Ok(true)
    }

    /// `piece` of `line` on its old terms, kept for the billing run: the
    /// licensed products whose time it bills then (an `IN_ARREARS` line's;
    /// none for a line billed in advance, whose time is paid), and the metered
    /// products whose usage of it is billed then.
    pub(super) fn kept(
        &self,
        line: &ContractLine,
        old: &Terms<'c>,
        piece: &Piece,
        licensed: Vec<Id>,
        usage: Vec<Id>,
    ) -> ArrearsPiece {
        ArrearsPiece {
            offering_id: line.offering_id.clone(),
            rate_id: line.rate_id.clone(),
            rate: old.rate.clone(),
            catalog_version: self.contract.catalog_version,
            schedule: line.schedule,
            start: piece.start,
            end: piece.end,
            products: line.products.clone(),
            licensed,
            usage,
        }
    }

    /// A line that ends at `E` (or starts anew, or drops metered products)
    /// keeps the usage of `[meteredThrough, E)` of `products`, one piece per
    /// period piece, billed at the end of that period on its old terms. A
    /// piece of used time kept for the same days carries it.
    pub(super) fn keep_usage(
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
            let kept = self.kept(line, old, &piece, Vec::new(), products.to_vec());
            self.contract.unbilled.push(kept);
        }
        Ok(())
    }

    /// What the contract's discount takes off a piece of `offering` whose
    /// period starts on `period_start` (credits and charges alike, so a credit
    /// refunds exactly what its charge cost).
    pub(super) fn percent_off(&self, offering: &str, period_start: NaiveDate) -> Option<Decimal> {
        self.contract.discount.as_ref().and_then(|d| d.percent_for(offering, period_start))
    }

    pub(super) fn bill(
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
