//! The billing run's arithmetic: what a contract owes, period by period, up
//! to a date. The API and the browser never compute a recurring invoice any
//! other way.
//!
//! For each line, starting at its `invoicedThrough`:
//!
//! - `IN_ADVANCE`: the period that starts at `invoicedThrough` is due on that
//!   day (its start) once the run's date reaches it;
//! - `IN_ARREARS`: the period is due on its end, once the run's date reaches it.
//!
//! A period is the one of the line's schedule holding `invoicedThrough`, cut
//! at the contract's `endDate` (the last piece prorated like any part of a
//! period); nothing is due at or after `endDate`, nor on a canceled contract.
//! Each period's lines are the line's products at their quantities, priced
//! for one whole period and prorated by the piece's share of it; lines that
//! round to zero are left out. `invoicedThrough` moves to the piece's end.

use chrono::NaiveDate;

use crate::catalog::{Catalog, Id, METERED, Rate};
use crate::contract::{ArrearsPiece, Contract, ContractLine, ContractProduct, ContractStatus};
use crate::discount::Discount;
use crate::error::{Error, ErrorCode, Result, overflow};
use crate::invoice::{Billed, Invoice, InvoiceLine, prorate};
use crate::period::{Piece, Timing};
pub use crate::usage::Usage;
use crate::usage::usage_lines;

mod next;
mod suspension;
pub use next::next_invoice;
pub use suspension::{VoidedPeriod, renew, resume, resumption, unbill};

/// Most periods one call returns (a bound on work, not a business rule: a run
/// that hits it continues where it stopped).
pub const MAX_PERIODS: usize = 1_000;

/// One period (or the last piece of one) of one contract line, due on `invoice_date`.
#[derive(Debug, Clone, PartialEq)]
pub struct DuePeriod {
    /// The contract line's offering (a line's identity on its contract).
    pub offering_id: Id,
    /// First day billed.
    pub period_start: NaiveDate,
    /// First day not billed.
    pub period_end: NaiveDate,
    /// When it is due: the start (in advance) or the end (in arrears).
    pub invoice_date: NaiveDate,
    /// One line per product with a non-zero amount.
    pub lines: Vec<InvoiceLine>,
    /// A period of usage alone (a metered line's, billed at its end): the
    /// same line may have a recurring period starting the same day, billed
    /// on another date, so the two are told apart.
    pub usage: bool,
    /// A kept piece (`unbilledArrears`): time on terms a change replaced,
    /// which may start on the day a period of its line already billed did;
    /// the part of it this period bills, as the contract held it (restored
    /// by [`unbill`] when the invoice billing it is voided).
    pub kept: Option<ArrearsPiece>,
}

/// Everything `contract` owes with an invoice date on or before `through`, in
/// date order (then line order), and the contract with every billed line's
/// `invoicedThrough` (and `meteredThrough`) moved on. At most [`MAX_PERIODS`]
/// periods. `usage`: the contract's usage per metered product and day.
pub fn due(
    catalog: &Catalog,
    contract: &Contract,
    through: NaiveDate,
    usage: &[Usage],
) -> Result<(Vec<DuePeriod>, Contract)> {
    let mut after = contract.clone();
    let mut out = Vec::new();
    // What a canceled contract still owes in arrears is below.
    for (path, line, rate) in in_force(catalog, &mut after)? {
        let too_large = || overflow(&path);
        let first = out.len();
        while out.len() < MAX_PERIODS {
            let from = line.invoiced_through.max(line.schedule.service_start);
            if contract.end_date.is_some_and(|e| from >= e) {
                break;
            }
            let period = line.schedule.period_holding(from).ok_or_else(too_large)?;
            let end = contract.end_date.map_or(period.end, |e| period.end.min(e));
            let piece = Piece { start: from, end, ..period };
            let invoice_date = match rate.timing {
                Timing::InAdvance => piece.start,
                Timing::InArrears => piece.end,
            };
            if invoice_date > through {
                break;
            }
            out.push(line_period(catalog, contract, line, rate, &piece, invoice_date, &path)?);
            line.invoiced_through = piece.end;
        }
        // Usage is billed at each period's end, whatever the timing, from `meteredThrough`.
        let mut metered = Vec::new();
        if let Some(mut metered_through) = line.metered_through.filter(|_| METERED) {
            while out.len().saturating_add(metered.len()) < MAX_PERIODS {
                let from = metered_through.max(line.schedule.service_start);
                if contract.end_date.is_some_and(|e| from >= e) {
                    break;
                }
                let period = line.schedule.period_holding(from).ok_or_else(too_large)?;
                let end = contract.end_date.map_or(period.end, |e| period.end.min(e));
                if end > through {
                    break;
                }
                let lines = usage_lines(
                    catalog,
                    contract.discount.as_ref(),
                    (&line.offering_id, rate, &line.products, None),
                    (from, end),
                    usage,
                    &path,
                )?;
                metered.push(DuePeriod {
                    offering_id: line.offering_id.clone(),
                    period_start: from,
                    period_end: end,
                    invoice_date: end,
                    lines,
                    usage: true,
                    kept: None,
                });
                metered_through = end;
            }
            line.metered_through = Some(metered_through);
        }
        // The line's periods by date, then period start (a period's usage before
        // the next period's advance charge); one period's lines by product.
        if METERED && !metered.is_empty() {
            let recurring = out.split_off(first);
            let position = |id: &Id| line.products.iter().position(|p| p.product_id == *id);
            for mut d in merge(recurring, metered, |d| (d.invoice_date, d.period_start)) {
                let own = out.len() > first;
                match out
                    .last_mut()
                    .filter(|l| own && l.invoice_date == d.invoice_date && l.period_start == d.period_start)
                {
                    Some(same) => {
                        same.period_end = same.period_end.max(d.period_end);
                        same.usage &= d.usage;
                        let lines = std::mem::take(&mut same.lines);
                        same.lines = merge(lines, std::mem::take(&mut d.lines), |l| position(&l.product_id));
                    }
                    None => out.push(d),
                }
            }
        }
    }
    // Time used on terms a change replaced, owed at the end of its period:
    // billed then, after the lines in force, and removed. (A piece stored
    // across a boundary by an older version is billed period by period.)
    let mut kept = Vec::with_capacity(after.unbilled.len());
    let mut pieces: Vec<DuePeriod> = Vec::new();
    for (i, piece) in std::mem::take(&mut after.unbilled).into_iter().enumerate() {
        let path = format!("contract.unbilledArrears[{i}]");
        let mut rest = Some(piece);
        while let Some(piece) = rest.take() {
            let period = piece.schedule.period_holding(piece.start).ok_or_else(|| overflow(&path))?;
            if period.end > through || out.len().saturating_add(pieces.len()) >= MAX_PERIODS {
                kept.push(piece);
                break;
            }
            let part = Piece { start: piece.start, end: piece.end.min(period.end), ..period };
            // Exactly the products the piece lists: its licensed ones' time,
            // its metered ones' usage; nothing filled in.
            let mut lines = piece_lines(
                catalog,
                contract.discount.as_ref(),
                &piece.offering_id,
                &piece.rate,
                (&piece.products, Some(&piece.licensed)),
                &part,
                false,
                &path,
            )?;
            if METERED && !piece.usage.is_empty() {
                let licensed = std::mem::take(&mut lines);
                lines = usage_lines(
                    catalog,
                    contract.discount.as_ref(),
                    (&piece.offering_id, &piece.rate, &piece.products, Some(&piece.usage)),
                    (part.start, part.end),
                    usage,
                    &path,
                )?;
                let position = |id: &Id| piece.products.iter().position(|p| p.product_id == *id);
                lines = merge(licensed, lines, |l| position(&l.product_id));
            }
            let billed = ArrearsPiece { start: part.start, end: part.end, ..piece.clone() };
            pieces.push(DuePeriod {
                offering_id: piece.offering_id.clone(),
                period_start: part.start,
                period_end: part.end,
                invoice_date: period.end,
                lines,
                usage: false,
                kept: Some(billed),
            });
            if piece.end > period.end {
                rest = Some(ArrearsPiece { start: period.end, ..piece });
            }
        }
    }
    after.unbilled = kept;
    // Date order; on one date, the lines in force (by contract line, then
    // period start: the order they were produced in), then the kept pieces
    // in list order. The sort is stable.
    let lines_in_force = out.len();
    out.extend(pieces);
    let mut keyed: Vec<(usize, DuePeriod)> = out.into_iter().enumerate().collect();
    keyed.sort_by_key(|(i, d)| (d.invoice_date, *i >= lines_in_force));
    let out = keyed.into_iter().map(|(_, d)| d).collect();
    Ok((out, after))
}

/// The lines in force (none on a canceled contract), each with its path and
/// the rate it bills on in `catalog` (`UNKNOWN_RATE` at its path if gone).
fn in_force<'a, 'c>(
    catalog: &'c Catalog,
    contract: &'a mut Contract,
) -> Result<Vec<(String, &'a mut ContractLine, &'c Rate)>> {
    let lines = if contract.status == ContractStatus::Canceled { &mut [][..] } else { &mut contract.offerings[..] };
    lines
        .iter_mut()
        .enumerate()
        .map(|(i, line)| {
            let path = format!("contract.offerings[{i}]");
            let (_, rate) = line.terms(catalog).ok_or_else(|| {
                Error::new(ErrorCode::UnknownRate, format!("{path}.rateId"), "the line's rate is not in the catalog")
            })?;
            Ok((path, line, rate))
        })
        .collect()
}

/// One period (or piece) of a line in force, due on `invoice_date`.
fn line_period(
    catalog: &Catalog,
    contract: &Contract,
    line: &ContractLine,
    rate: &Rate,
    piece: &Piece,
    invoice_date: NaiveDate,
    path: &str,
) -> Result<DuePeriod> {
    let products = (&line.products[..], None);
    let lines =
        piece_lines(catalog, contract.discount.as_ref(), &line.offering_id, rate, products, piece, false, path)?;
    Ok(DuePeriod {
        offering_id: line.offering_id.clone(),
        period_start: piece.start,
        period_end: piece.end,
        invoice_date,
        lines,
        usage: false,
        kept: None,
    })
}

/// The lines of one piece: each product priced for a whole period at its
/// quantity, prorated by the piece's share, discounted when the contract's
/// discount covers the offering and the piece's period starts in its window;
/// zero lines left out; negated for a `credit`. `products`: the line's
/// products, and (a kept piece) the only ones it bills.
#[allow(clippy::too_many_arguments)]
fn piece_lines(
    catalog: &Catalog,
    discount: Option<&Discount>,
    offering_id: &Id,
    rate: &Rate,
    (products, only): (&[ContractProduct], Option<&[Id]>),
    piece: &Piece,
    credit: bool,
    path: &str,
) -> Result<Vec<InvoiceLine>> {
    let mut lines = Vec::with_capacity(products.len());
    let billed = |p: &ContractProduct| only.is_none_or(|ids| ids.contains(&p.product_id));
    // One-time prices were charged the day their line started: never again;
    // metered ones are billed on usage (`usage_lines`).
    let recurring =
        products.iter().zip(&rate.prices).filter(|(p, price)| !price.one_time && !price.is_metered() && billed(p));
    for (p, price) in recurring {
        let full = price
            .price(p.quantity)
            .ok_or_else(|| Error::new(ErrorCode::Overflow, path, "a date or an amount is out of range"))?;
        let billed = Billed {
            offering_id,
            rate_id: &rate.id,
            product_id: &p.product_id,
            quantity: p.quantity,
            price: full,
            percent_off: discount.and_then(|d| d.percent_for(offering_id, piece.period_start)),
        };
        lines.extend(prorate(&catalog.currency, &billed, piece, credit, path)?);
    }
    Ok(lines)
}

/// Two lists each in `key` order merged into one, `a`'s first on equal keys
/// (a merge, not a sort: no sort code for these types in the package).
fn merge<T, K: Ord>(a: Vec<T>, b: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len().saturating_add(b.len()));
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => key(x) <= key(y),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
}

/// What a billing run through a date issues for a contract: one invoice per
/// invoice date (no tax; the API adds it), and the contract after.
#[derive(Debug, Clone, PartialEq)]
pub struct Billing {
    /// The invoices, in date order; dates whose lines all round to zero issue none.
    pub invoices: Vec<Invoice>,
    /// The contract with `invoicedThrough` moved on.
    pub contract: Contract,
}

/// [`due`] for a contract given as JSON, grouped into invoices; `usage` its
/// usage per metered product and day.
pub fn bill(catalog: &Catalog, contract: &serde_json::Value, through: NaiveDate, usage: &[Usage]) -> Result<Billing> {
    let contract = Contract::from_json(catalog, contract)?;
    // Usage names a metered product of the contract: one of its lines', or one a kept piece bills.
    let on_lines = contract.offerings.iter().filter_map(|l| l.terms(catalog)).flat_map(|(offering, rate)| {
        offering.products.iter().zip(&rate.prices).filter(|(_, price)| price.is_metered()).map(|(p, _)| *p)
    });
    let mut metered: Vec<&str> = on_lines.filter_map(|p| catalog.products.get(p)).map(|p| &*p.id).collect();
    metered.extend(contract.unbilled.iter().flat_map(|k| k.usage.iter()).map(|u| &**u));
    if let Some((i, u)) = usage.iter().enumerate().find(|(_, u)| !metered.contains(&u.product_id.as_str())) {
        return Err(Error::new(
            ErrorCode::UnknownProduct,
            format!("usage[{i}].productId"),
            format!("the contract meters no product '{}'", crate::json::clip(&u.product_id)),
        ));
    }
    let (periods, after) = due(catalog, &contract, through, usage)?;
    let mut invoices: Vec<Invoice> = Vec::new();
    let mut lines: Vec<InvoiceLine> = Vec::new();
    let mut date = None;
    for p in periods {
        if date.is_some_and(|d| d != p.invoice_date) {
            let day = date.unwrap_or(p.invoice_date);
            if !lines.is_empty() {
                invoices.push(Invoice::new(&catalog.currency, day, std::mem::take(&mut lines))?);
            }
        }
        date = Some(p.invoice_date);
        lines.extend(p.lines);
    }
    if let Some(day) = date.filter(|_| !lines.is_empty()) {
        invoices.push(Invoice::new(&catalog.currency, day, lines)?);
    }
    Ok(Billing { invoices, contract: after })
}
