//! Suspension and resumption: when dunning gives up, the invoices it gave up
//! on are voided and the contract is suspended; a new card resumes it. No
//! suspended day is ever billed, and nothing used before the suspension is
//! lost.

use chrono::NaiveDate;

use super::{Billing, DuePeriod, in_force, line_period, overflow, piece_lines};
use crate::catalog::{Catalog, Rate};
use crate::contract::{ArrearsPiece, Contract, ContractLine};
use crate::error::{Error, ErrorCode, Result};
use crate::invoice::{Invoice, InvoiceLine};
use crate::period::{Piece, Timing};

/// A period billed on an invoice a suspension voids: the contract line's
/// offering, the period's first day, and whether it was a period of usage
/// alone ([`DuePeriod::usage`]). (A kept piece is not one: it comes back
/// whole, as [`unbill`]'s `pieces`.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoidedPeriod {
    /// The contract line's offering.
    pub offering_id: String,
    /// The period's first day.
    pub period_start: NaiveDate,
    /// A period of usage alone: only the line's usage is owed again.
    pub usage: bool,
}

/// Dunning gave up on invoices of `contract`: the periods they billed are no
/// longer invoiced. Each line whose period starting at `period_start` was on
/// a voided invoice is invoiced again only through the earliest such start,
/// so [`resume`] can charge what was used of them before the suspension; its
/// usage is metered again from the earliest voided period (of usage alone or
/// not), so the billing run bills that usage again; the kept pieces those
/// invoices billed (`pieces`, as [`DuePeriod::kept`] gave them) are kept
/// again, owed as before (a piece the contract still holds is not added twice).
#[must_use]
pub fn unbill(contract: &Contract, voided: &[VoidedPeriod], pieces: &[ArrearsPiece]) -> Contract {
    let mut after = contract.clone();
    // (Pieces of one line may overlap: a usage piece beside a licensed one.)
    let held = |piece: &ArrearsPiece| {
        contract.unbilled.iter().any(|k| {
            k.offering_id == piece.offering_id
                && k.products == piece.products
                && k.start < piece.end
                && piece.start < k.end
        })
    };
    let before = after.unbilled.len();
    after.unbilled.extend(pieces.iter().filter(|p| !held(p)).cloned());
    if after.unbilled.len() > before {
        after.unbilled.sort_by_key(|k| (k.start, k.end));
    }
    for line in &mut after.offerings {
        let of_line = || voided.iter().filter(|v| *v.offering_id == *line.offering_id);
        let service_start = line.schedule.service_start;
        if let Some(start) = of_line().filter(|v| !v.usage).map(|v| v.period_start).min() {
            line.invoiced_through = line.invoiced_through.min(start).max(service_start);
        }
        if let (Some(metered), Some(start)) = (line.metered_through.as_mut(), of_line().map(|v| v.period_start).min()) {
            *metered = (*metered).min(start).max(service_start);
        }
    }
    after
}

/// A contract suspended on `suspended_on` (no service from that day) and
/// resumed on `resumed_on` with a working card: what the resumption charges
/// that day, and the contract after. No suspended day is ever billed.
///
/// For each line, in contract order:
/// - what was used before the suspension and not paid for:
///   `[invoicedThrough, suspended_on)` cut at its period boundaries (and at
///   `endDate`), each piece prorated on the line's terms, whatever its timing;
/// - what was paid ahead for suspended days (an advance charge on an invoice
///   dunning did not give up on): `[suspended_on, min(invoicedThrough,
///   resumed_on))`, credited on the line's terms, piece by piece;
/// - billing restarts at `resumed_on`: an `IN_ADVANCE` line is charged
///   `[resumed_on, next boundary)` prorated and invoiced through that
///   boundary; an `IN_ARREARS` line is invoiced through `resumed_on` and its
///   period's end bills `[resumed_on, boundary)`. A line still in trial, or
///   already paid past `resumed_on`, restarts as it is; on a contract that
///   ended meanwhile, every line is invoiced through `endDate`.
///
/// Days of `earlier` suspensions (`[from, to)`, already resumed) are never
/// owed nor credited again, even when the invoices voided now reach back
/// over them (a resumption's own invoice that dunning gave up on in its turn).
///
/// Usage is left to the billing run (from `meteredThrough`, which [`unbill`]
/// moved back), and so are kept pieces (`unbilledArrears`). The periods come
/// in contract-line order (the owed pieces, the credits, then the restart
/// piece), all dated `resumed_on`.
pub fn resume(
    catalog: &Catalog,
    contract: &Contract,
    suspended_on: NaiveDate,
    resumed_on: NaiveDate,
    earlier: &[(NaiveDate, NaiveDate)],
) -> Result<(Vec<DuePeriod>, Contract)> {
    if resumed_on < suspended_on {
        return Err(Error::new(ErrorCode::InvalidValue, "resumedOn", "a contract resumes on or after its suspension"));
    }
    let mut after = contract.clone();
    let mut out = Vec::new();
    for (path, line, rate) in in_force(catalog, &mut after)? {
        let too_large = || overflow(&path);
        let cut = |d: NaiveDate| contract.end_date.map_or(d, |e| d.min(e));
        let bill = |piece: Piece, out: &mut Vec<DuePeriod>| -> Result<()> {
            out.push(line_period(catalog, contract, line, rate, &piece, resumed_on, &path)?);
            Ok(())
        };
        for piece in line.schedule.pieces(line.invoiced_through, cut(suspended_on)).ok_or_else(too_large)? {
            for part in outside(piece, earlier) {
                bill(part, &mut out)?;
            }
        }
        let paid_ahead = cut(line.invoiced_through.min(resumed_on));
        for piece in line.schedule.pieces(suspended_on, paid_ahead).ok_or_else(too_large)? {
            for part in outside(piece, earlier) {
                out.push(credit(catalog, contract, (line, rate), &part, resumed_on, &path)?);
            }
        }
        let paid_past = line.invoiced_through > resumed_on;
        // No day before the resumption is owed any more.
        line.invoiced_through = line.invoiced_through.max(cut(resumed_on));
        if paid_past || line.in_trial(resumed_on) || contract.end_date.is_some_and(|e| resumed_on >= e) {
            continue;
        }
        if rate.timing == Timing::InAdvance {
            let period = line.schedule.period_holding(resumed_on).ok_or_else(too_large)?;
            let piece = Piece { start: resumed_on, end: cut(period.end), ..period };
            out.push(line_period(catalog, contract, line, rate, &piece, resumed_on, &path)?);
            line.invoiced_through = piece.end;
        }
    }
    Ok((out, after))
}

/// The credit for `piece` of a line paid ahead and not served, dated `day`.
fn credit(
    catalog: &Catalog,
    contract: &Contract,
    (line, rate): (&ContractLine, &Rate),
    piece: &Piece,
    day: NaiveDate,
    path: &str,
) -> Result<DuePeriod> {
    let products = (&line.products[..], None);
    let discount = contract.discount.as_ref();
    let lines = piece_lines(catalog, discount, &line.offering_id, rate, products, piece, true, path)?;
    Ok(DuePeriod {
        offering_id: line.offering_id.clone(),
        period_start: piece.start,
        period_end: piece.end,
        invoice_date: day,
        lines,
        usage: false,
        kept: None,
    })
}

/// What of `piece` lies outside every `[from, to)` of `gaps`, each part
/// measured against the piece's whole period.
fn outside(piece: Piece, gaps: &[(NaiveDate, NaiveDate)]) -> Vec<Piece> {
    let mut parts = vec![piece];
    for &(from, to) in gaps {
        parts = parts
            .into_iter()
            .flat_map(|p| {
                if to <= p.start || from >= p.end {
                    return vec![p];
                }
                let before = (from > p.start).then_some(Piece { end: from, ..p });
                let after = (to < p.end).then_some(Piece { start: to, ..p });
                before.into_iter().chain(after).collect()
            })
            .collect();
    }
    parts
}

/// [`unbill`] then [`resume`] for a contract given as JSON, grouped into the
/// one invoice the resumption issues (none when every line rounds to zero).
/// `voided` lists every period billed on the invoices voided with the
/// suspension; `earlier`, the contract's earlier suspensions.
pub fn resumption(
    catalog: &Catalog,
    contract: &serde_json::Value,
    voided: &[VoidedPeriod],
    suspended_on: NaiveDate,
    resumed_on: NaiveDate,
    earlier: &[(NaiveDate, NaiveDate)],
) -> Result<Billing> {
    let contract = Contract::from_json(catalog, contract)?;
    let (periods, after) = resume(catalog, &unbill(&contract, voided, &[]), suspended_on, resumed_on, earlier)?;
    let lines: Vec<InvoiceLine> = periods.into_iter().flat_map(|p| p.lines).collect();
    let invoices =
        if lines.is_empty() { Vec::new() } else { vec![Invoice::new(&catalog.currency, resumed_on, lines)?] };
    Ok(Billing { invoices, contract: after })
}

/// A termed contract renewed to `end_date` at its old end, when that end
/// fell in a suspension the contract resumed from on `resumed_on` (the
/// renewal waited for it): every line is invoiced from `resumed_on` at the
/// earliest, so no suspended day of the new term is billed. With
/// `resumed_on` on or before the old end, only the end moves.
#[must_use]
pub fn renew(contract: &Contract, end_date: NaiveDate, resumed_on: NaiveDate) -> Contract {
    let mut after = contract.clone();
    after.end_date = Some(end_date);
    if contract.end_date.is_some_and(|old| resumed_on > old) {
        for line in &mut after.offerings {
            line.invoiced_through = line.invoiced_through.max(resumed_on.min(end_date));
        }
    }
    after
}
