//! The operations of a change, one method each: quantities, another rate or
//! offering, an add-on, an offering removed, the contract cancelled. Each
//! resolves its line and effective date, then changes the line's terms
//! (`lines.rs`).

use chrono::NaiveDate;

use serde_json::{Map, Value};

use super::{Change, ContractStatus, DOC, Error, ErrorCode, Result, Schedule, Terms, When, clip, duplicate, overflow};

impl<'c> Change<'c> {
    pub(super) fn quantity_change(
        &mut self,
        entry: &Map<String, Value>,
        id: &str,
        path: &str,
        when: When,
    ) -> Result<()> {
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

    pub(super) fn rate_change(&mut self, entry: &Map<String, Value>, id: &str, path: &str, when: When) -> Result<()> {
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

    pub(super) fn offering_change(
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

    pub(super) fn add_offering(&mut self, entry: &Map<String, Value>, id: &str, path: &str, when: When) -> Result<()> {
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

    pub(super) fn remove_offering(&mut self, id: &str, path: &str, when: When) -> Result<()> {
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

    pub(super) fn cancel(&mut self, when: When) -> Result<()> {
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
}
