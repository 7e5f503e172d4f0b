//! What a contract will invoice next as things stand.

use chrono::NaiveDate;

use super::{Usage, due, in_force};
use crate::catalog::{Catalog, METERED};
use crate::contract::Contract;
use crate::error::{Result, overflow};
use crate::invoice::{Invoice, InvoiceLine};
use crate::period::{Piece, Timing};

/// The earliest day anything of `contract` still unbilled is due: a line's
/// next period (its start in advance, its end in arrears), a period's usage
/// (its end), a kept piece (its period's end). `None` when nothing is left.
fn next_due_date(catalog: &Catalog, contract: &Contract) -> Result<Option<NaiveDate>> {
    let mut probe = contract.clone();
    let mut dates = Vec::new();
    for (path, line, rate) in in_force(catalog, &mut probe)? {
        let period_of = |from: NaiveDate| -> Result<Option<Piece>> {
            if contract.end_date.is_some_and(|e| from >= e) {
                return Ok(None);
            }
            let period = line.schedule.period_holding(from).ok_or_else(|| overflow(&path))?;
            let end = contract.end_date.map_or(period.end, |e| period.end.min(e));
            Ok(Some(Piece { start: from, end, ..period }))
        };
        if let Some(piece) = period_of(line.invoiced_through.max(line.schedule.service_start))? {
            dates.push(match rate.timing {
                Timing::InAdvance => piece.start,
                Timing::InArrears => piece.end,
            });
        }
        if let Some(metered) = line.metered_through.filter(|_| METERED)
            && let Some(piece) = period_of(metered.max(line.schedule.service_start))?
        {
            dates.push(piece.end);
        }
    }
    for (i, piece) in contract.unbilled.iter().enumerate() {
        let period = piece.schedule.period_holding(piece.start);
        dates.push(period.ok_or_else(|| overflow(&format!("contract.unbilledArrears[{i}]")))?.end);
    }
    Ok(dates.into_iter().min())
}

/// How many dates [`next_invoice`] looks past whose lines all come to nothing.
const NEXT_INVOICE_LOOKAHEAD: usize = 48;

/// The contract's next invoice as things stand: dated the earliest day
/// anything still unbilled is due, with everything due by then (usage as
/// reported so far: `usage`). A date whose lines all come to nothing (a
/// trial, a free plan) is passed over for the next; `None` when nothing more
/// is owed (or nothing within 48 dates).
pub fn next_invoice(catalog: &Catalog, contract: &Contract, usage: &[Usage]) -> Result<Option<Invoice>> {
    let mut probe = contract.clone();
    for _ in 0..NEXT_INVOICE_LOOKAHEAD {
        let Some(date) = next_due_date(catalog, &probe)? else { return Ok(None) };
        let (periods, after) = due(catalog, &probe, date, usage)?;
        let lines: Vec<InvoiceLine> = periods.into_iter().flat_map(|p| p.lines).collect();
        if !lines.is_empty() {
            return Invoice::new(&catalog.currency, date, lines).map(Some);
        }
        if after == probe {
            return Ok(None);
        }
        probe = after;
    }
    Ok(None)
}
