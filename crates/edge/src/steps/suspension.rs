//! Suspension: when dunning gives up, the contract is suspended and no day
//! of the suspension is ever billed (the engine's `billing::unbill`); a new
//! card resumes it (`resumption`).

use chrono::NaiveDate;
use pricing::Contract;
use pricing::billing::VoidedPeriod;
use serde_json::{Value, json};

use super::billing::stored_body;
use super::catalogs::{self, Parsed};
use super::contract_view::load_contract;
use crate::http::ApiResult;
use crate::store::contracts::{self, ContractRow, ContractStatus};
use crate::store::invoices::Claimed;
use crate::store::{Batch, Db, DbError, Unreadable, invoices};

/// The contract's engine form, read on the catalog versions it is priced on.
pub async fn engine_contract(db: &impl Db, c: &ContractRow, versions: &mut Parsed) -> ApiResult<(i64, Contract)> {
    let current = catalogs::require_current(db).await?.version;
    let own = Parsed::version_of(&c.body, current);
    versions.load_for(db, &c.body, own).await?;
    let contract = Contract::from_json_versioned(versions.get(own)?, &c.body, &versions.all())
        .map_err(|e| c.unreadable_body(e))?;
    Ok((own, contract))
}

/// The statements that suspend an active contract on `day` when dunning
/// voids `invoice_id`: every open invoice the billing run issued for it
/// is voided too, and its lines are invoiced again only through where
/// those invoices' periods began. Nothing for a contract that is not
/// active (its invoice is voided, and reopened by a new card).
pub async fn suspend(db: &impl Db, contract_id: &str, invoice_id: &str, day: NaiveDate, at: &str) -> ApiResult<Batch> {
    let c = load_contract(db, contract_id, None).await?;
    if c.status != ContractStatus::Active {
        return Ok(Vec::new());
    }
    // A kept piece comes back whole, from the piece its claim keeps.
    let voided: Vec<VoidedPeriod> = invoices::periods_open_or(db, contract_id, invoice_id)
        .await?
        .into_iter()
        .filter_map(|(claim, period_start)| match claim {
            Claimed::Period(offering_id) => Some(VoidedPeriod { offering_id, period_start, usage: false }),
            Claimed::Usage(offering_id) => Some(VoidedPeriod { offering_id, period_start, usage: true }),
            Claimed::Kept(..) => None,
        })
        .collect();
    let mut versions = Parsed::default();
    let (_, contract) = engine_contract(db, &c, &mut versions).await?;
    let pieces = billed_pieces(db, &c, invoice_id, &mut versions).await?;
    let mut body = stored_body(&pricing::billing::unbill(&contract, &voided, &pieces), &c.body);
    if let Value::Object(m) = &mut body {
        m.insert("suspendedOn".into(), json!(day.to_string()));
    }
    let mut batch = c.claim(c.version.saturating_add(1), "SUSPENDED", at);
    batch.push(contracts::set_body_status(contract_id, &body, ContractStatus::Suspended));
    batch.push(invoices::void_for_suspension(contract_id, invoice_id));
    Ok(batch)
}

/// The kept pieces billed on the invoices a suspension voids (`invoice_id`
/// and the contract's open ones), read by the engine on their catalog versions.
async fn billed_pieces(
    db: &impl Db,
    c: &ContractRow,
    invoice_id: &str,
    versions: &mut Parsed,
) -> ApiResult<Vec<pricing::ArrearsPiece>> {
    let stored = invoices::pieces_open_or(db, &c.id, invoice_id).await?;
    if stored.is_empty() {
        return Ok(Vec::new());
    }
    let mut pieces = Vec::with_capacity(stored.len());
    for text in &stored {
        pieces.push(serde_json::from_str::<Value>(text).map_err(|e| unreadable_piece(c, e))?);
    }
    // The contract as it stands, holding exactly those pieces: the engine reads them.
    let mut holding = c.body.clone();
    if let Value::Object(m) = &mut holding {
        m.insert("unbilledArrears".into(), Value::Array(pieces));
    }
    let current = catalogs::require_current(db).await?.version;
    let own = Parsed::version_of(&holding, current);
    versions.load_for(db, &holding, own).await?;
    let read = Contract::from_json_versioned(versions.get(own)?, &holding, &versions.all())
        .map_err(|e| unreadable_piece(c, e))?;
    Ok(read.unbilled)
}

/// A billed piece kept beside its claim that the engine cannot read.
fn unreadable_piece(c: &ContractRow, why: impl std::fmt::Display) -> DbError {
    Unreadable::error("billed_periods.piece", &c.id, why)
}

/// The contract's suspensions it resumed from, `[from, to)` each (`suspensions` in its body).
#[must_use]
pub fn suspensions(body: &Value) -> Vec<(NaiveDate, NaiveDate)> {
    let list = body.get("suspensions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    list.iter()
        .filter_map(|g| {
            let day = |k: &str| g.get(k).and_then(Value::as_str).and_then(pricing::parse_date);
            Some((day("from")?, day("to")?))
        })
        .collect()
}

/// `day`, or the day the contract last resumed when that is later: an event
/// that waited for a suspension (a scheduled change, a renewal) takes effect
/// then, so no suspended day is credited or billed.
#[must_use]
pub fn resumed_after(body: &Value, day: NaiveDate) -> NaiveDate {
    suspensions(body).into_iter().map(|(_, to)| to).filter(|to| *to > day).max().unwrap_or(day)
}
