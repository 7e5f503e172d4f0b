//! Reported usage: which days a contract's metered products may still be
//! billed for, and the usage the billing run prices (the stored events of a
//! contract, as the engine takes them).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use pricing::billing::Usage;
use pricing::{Aggregation, Contract};

use super::catalogs::Parsed;
use crate::http::{ApiError, ApiResult};
use crate::store::contracts::ContractRow;
use crate::store::usage;
use crate::store::{Db, DbError, Stmt};

/// Where a day's usage of a product stands on a contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// A line (or a kept piece) bills it at its period's end.
    Billable,
    /// Its period was billed already (`PERIOD_ALREADY_BILLED`).
    AlreadyBilled,
    /// No line prices the product that day (`NOT_ON_CONTRACT`).
    NotOnContract,
}

/// Where `product_id`'s usage of `day` stands on `contract`.
#[must_use]
pub fn coverage(contract: &Contract, product_id: &str, day: NaiveDate) -> Coverage {
    // Usage a change kept on the old terms is billable until its piece is billed.
    let kept =
        contract.unbilled.iter().any(|k| k.usage.iter().any(|p| **p == *product_id) && k.start <= day && day < k.end);
    if kept {
        return Coverage::Billable;
    }
    let ended = contract.end_date.is_some_and(|e| day >= e);
    let line = contract
        .offerings
        .iter()
        .filter(|l| l.metered_through.is_some())
        .find(|l| l.products.iter().any(|p| *p.product_id == *product_id));
    if let Some(line) = line.filter(|_| !ended) {
        return match line.metered_through {
            _ if day < line.schedule.service_start => Coverage::NotOnContract,
            Some(billed) if day < billed => Coverage::AlreadyBilled,
            _ => Coverage::Billable,
        };
    }
    Coverage::NotOnContract
}

/// A contract as usage sees it: the engine's contract and the metered
/// products it prices (on its lines, and in the pieces a change kept).
pub struct Metering {
    /// The contract.
    pub contract: Contract,
    /// Its metered products' ids.
    pub metered: BTreeSet<String>,
}

/// A stored contract as the engine reads it, on its own catalog version
/// (kept pieces on theirs), loading versions into `versions` once.
pub async fn read_contract(
    db: &impl Db,
    versions: &mut Parsed,
    row: &ContractRow,
    current: i64,
) -> ApiResult<Metering> {
    let own = Parsed::version_of(&row.body, current);
    versions.load_for(db, &row.body, own).await?;
    let catalog = versions.get(own)?;
    let contract =
        Contract::from_json_versioned(catalog, &row.body, &versions.all()).map_err(|e| row.unreadable_body(e))?;
    let on_lines = contract
        .offerings
        .iter()
        .flat_map(|l| l.products.iter())
        .filter(|p| catalog.product(&p.product_id).is_some_and(|(_, product)| product.aggregation().is_some()))
        .map(|p| p.product_id.to_string());
    let kept = contract.unbilled.iter().flat_map(|k| k.usage.iter()).map(ToString::to_string);
    let metered = on_lines.chain(kept).collect();
    Ok(Metering { contract, metered })
}

/// The earliest day the billing run may still bill usage of `contract` for.
#[must_use]
pub fn billable_from(contract: &Contract) -> Option<NaiveDate> {
    let lines = contract.offerings.iter().filter_map(|l| l.metered_through);
    let pieces = contract.unbilled.iter().filter(|k| !k.usage.is_empty()).map(|k| k.start);
    lines.chain(pieces).min()
}

/// A billing run page's read of its contracts' usage: by contract, the first
/// day read and the parts from it on.
/// A contract whose parts could not be read has that error instead.
pub type PageUsage = std::collections::BTreeMap<String, (NaiveDate, Result<Vec<usage::DayPart>, DbError>)>;

/// Reads the usage of every contract of `wanted` (`(id, first billable day)`) in one statement.
pub async fn page_usage(db: &impl Db, wanted: &[(String, NaiveDate)]) -> ApiResult<PageUsage> {
    if wanted.is_empty() {
        return Ok(PageUsage::new());
    }
    let read: Vec<serde_json::Value> =
        wanted.iter().map(|(id, from)| serde_json::json!([id, from.to_string()])).collect();
    let mut parts = usage::days_of_contracts(db, &serde_json::Value::Array(read).to_string()).await?;
    Ok(wanted.iter().map(|(id, from)| (id.clone(), (*from, parts.remove(id).unwrap_or(Ok(Vec::new()))))).collect())
}

/// The usage the billing run prices for `contract` (priced on catalog
/// version `own`, kept pieces on theirs): the per-day aggregates from the
/// first day still billable, late events in none of them (the vendor settles
/// those). Each part is one entry for its day, which the engine adds up (a
/// `SUM` product's totals) or takes the largest of (a `MAX` product's peaks).
///
/// `page`: what the run's page read once of its contracts' usage, used when
/// it was read from this contract's first billable day.
pub async fn billable(
    db: &impl Db,
    contract_id: &str,
    contract: &Contract,
    (versions, own): (&Parsed, i64),
    page: Option<&PageUsage>,
) -> ApiResult<Vec<Usage>> {
    let Some(from) = billable_from(contract) else { return Ok(Vec::new()) };
    let read;
    let parts = match page.and_then(|p| p.get(contract_id)).filter(|(day, _)| *day == from) {
        Some((_, Ok(parts))) => parts.as_slice(),
        Some((_, Err(e))) => return Err(e.clone().into()),
        None => {
            read = usage::days_of_contract(db, contract_id, &from.to_string()).await?;
            read.as_slice()
        }
    };
    Ok(parts
        .iter()
        .map(|p| {
            let quantity = match aggregation(versions, own, &p.product_id) {
                Some(Aggregation::Max) => p.peak,
                _ => p.total,
            };
            Usage { product_id: p.product_id.clone(), date: p.day, quantity }
        })
        .collect())
}

/// The statement an invoice's batch carries to fail (a conflict) when a
/// usage part of a day it may bill (before `until`) was stored since `usage`
/// (what [`billable`] answered) was read; `None` when nothing is metered.
/// Parts of later days, which the next period bills, do not stop it.
pub fn unchanged(contract_id: &str, contract: &Contract, usage: &[Usage], until: NaiveDate) -> ApiResult<Option<Stmt>> {
    let Some(from) = billable_from(contract) else { return Ok(None) };
    let parts = usage.iter().filter(|u| u.date < until).count();
    let parts = i64::try_from(parts).map_err(|_| ApiError::internal("usage parts past counting"))?;
    Ok(Some(usage::parts_unchanged(contract_id, &from.to_string(), &until.to_string(), parts)))
}

/// How `product_id`'s usage aggregates: on the contract's own version, else
/// the first loaded version that has it metered.
fn aggregation(versions: &Parsed, own: i64, product_id: &str) -> Option<Aggregation> {
    let of = |c: &pricing::Catalog| c.product(product_id).and_then(|(_, p)| p.aggregation());
    versions.get(own).ok().and_then(of).or_else(|| versions.all().into_iter().find_map(|(_, c)| of(c)))
}
