//! The usage queue's consumer: writes a batch of messages (each the JSON of
//! up to 100 accepted events) to D1 in one batch, exactly once whatever the
//! redelivery: the raw events by account and id, and their per-day aggregates
//! as one part per contract, product and day (`usage_days`). Events found stored are left
//! out of both, so a redelivered batch adds nothing; a concurrent batch that
//! stored one of the same ids first makes this one fail whole, and the retry
//! leaves that id out. An event whose period a billing run billed between its
//! acceptance and now is stored as late, with its reason, for the vendor to
//! settle: in no aggregate, never billed, never dropped. A run that bills a
//! contract between this batch's read of it and its write makes the batch
//! fail (`contracts::still_at`), and the retry finds the period billed.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::Now;
use crate::http::{ApiError, ApiResult};
use crate::steps::catalogs::{self, Parsed};
use crate::steps::usage::{Coverage, Metering, coverage, read_contract};
use crate::store::{Db, contracts, usage};

/// Ids per lookup of those stored before (a request's worth).
const IDS_PER_QUERY: usize = 1_000;

/// Aggregate parts per statement (each a small JSON object).
const PARTS_PER_STATEMENT: usize = 500;

/// A day's part being added up: the sum, the largest event, how many.
struct Part {
    total: Decimal,
    peak: Decimal,
    events: u64,
}

/// Stores the messages' events; an error leaves the batch to be retried whole.
pub async fn run(db: &impl Db, messages: &[String], now: &Now) -> ApiResult<usize> {
    let mut messages_events = Vec::with_capacity(messages.len());
    for text in messages {
        let events: Vec<Value> = serde_json::from_str(text)
            .map_err(|e| ApiError::internal(format_args!("a usage message is not a list of events: {e}")))?;
        messages_events.push(events);
    }
    let (published, _) = catalogs::current_parsed(db).await?;
    let mut versions = Parsed::default();
    // Every contract named, read once at its version (the account keys its
    // events): a run that bills one of them before this batch is written makes
    // it fail, and the retry stores its events late.
    let mut contracts: BTreeMap<String, Option<(String, Metering)>> = BTreeMap::new();
    let mut read = Vec::new();
    for e in messages_events.iter().flatten() {
        let Some(contract_id) = e.get("contractId").and_then(Value::as_str) else {
            return Err(ApiError::internal("a usage event lacks its contract"));
        };
        if contracts.contains_key(contract_id) {
            continue;
        }
        let found = match contracts::load(db, contract_id).await? {
            Some(row) => {
                read.push(json!([row.id, row.version]));
                Some((row.account_id.clone(), read_contract(db, &mut versions, &row, published.version).await?))
            }
            None => None,
        };
        contracts.insert(contract_id.to_owned(), found);
    }
    // Each event's account: its contract's (or, for a contract gone, the one it was accepted for).
    for e in messages_events.iter_mut().flatten() {
        let account =
            e.get("contractId").and_then(Value::as_str).and_then(|c| contracts.get(c)).and_then(Option::as_ref);
        let account =
            account.map(|(a, _)| a.clone()).or_else(|| e.get("accountId").and_then(Value::as_str).map(str::to_owned));
        if let Value::Object(m) = e {
            m.insert("accountId".into(), json!(account.unwrap_or_default()));
        }
    }
    let key = |e: &Value| -> Option<(String, String)> {
        Some((e.get("accountId")?.as_str()?.to_owned(), e.get("id")?.as_str()?.to_owned()))
    };
    // Each event once: the first copy in this batch, and none stored before.
    let keys: Vec<(String, String)> = messages_events.iter().flatten().filter_map(key).collect();
    let mut stored_before: BTreeSet<(String, String)> = BTreeSet::new();
    for chunk in keys.chunks(IDS_PER_QUERY) {
        stored_before.extend(usage::known(db, &json!(chunk).to_string()).await?);
    }
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for events in &mut messages_events {
        events.retain(|e| key(e).is_some_and(|k| !stored_before.contains(&k) && seen.insert(k)));
    }
    let mut parts: BTreeMap<(String, String, String), Part> = BTreeMap::new();
    let mut batch = Vec::with_capacity(messages.len().saturating_add(1));
    let mut stored = 0usize;
    let mut first_key = None;
    for mut events in messages_events.into_iter().filter(|events| !events.is_empty()) {
        for e in &mut events {
            let (Some(contract_id), Some(product_id), Some(day)) = (
                e.get("contractId").and_then(Value::as_str).map(str::to_owned),
                e.get("productId").and_then(Value::as_str).map(str::to_owned),
                e.get("day").and_then(Value::as_str).and_then(pricing::parse_date),
            ) else {
                return Err(ApiError::internal("a usage event lacks its contract, product or day"));
            };
            if first_key.is_none() {
                first_key = key(e);
            }
            let late = match contracts
                .get(&contract_id)
                .and_then(Option::as_ref)
                .map(|(_, m)| coverage(&m.contract, &product_id, day))
            {
                Some(Coverage::Billable) => None,
                Some(Coverage::AlreadyBilled) => Some("PERIOD_BILLED_BEFORE_STORED"),
                Some(Coverage::NotOnContract) | None => Some("NOT_ON_CONTRACT_WHEN_STORED"),
            };
            match (late, &mut *e) {
                (Some(why), Value::Object(m)) => {
                    m.insert("late".into(), Value::String(why.to_owned()));
                }
                (None, _) => add(&mut parts, (contract_id, day.to_string(), product_id), quantity(e)?)?,
                (Some(_), _) => return Err(ApiError::internal("a usage event is not an object")),
            }
        }
        stored = stored.saturating_add(events.len());
        batch.push(usage::insert(&Value::Array(events).to_string(), &now.instant));
    }
    // The part is named by the batch's first event (account and id: unique).
    let Some(part_id) = first_key.map(|(account, id)| format!("{account}/{id}")) else { return Ok(0) };
    let rows: Vec<Value> = parts
        .into_iter()
        .map(|((contract_id, day, product_id), p)| {
            json!({ "contractId": contract_id, "day": day, "productId": product_id,
                    "total": p.total.normalize().to_string(), "peak": p.peak.normalize().to_string(), "events": p.events })
        })
        .collect();
    for chunk in rows.chunks(PARTS_PER_STATEMENT) {
        batch.push(usage::add_day_parts(&Value::Array(chunk.to_vec()).to_string(), &part_id));
    }
    if !read.is_empty() {
        batch.push(contracts::still_at(&Value::Array(read).to_string()));
    }
    db.batch(batch).await?;
    Ok(stored)
}

/// An accepted event's quantity (the request checked it: a decimal, at least 0).
fn quantity(e: &Value) -> ApiResult<Decimal> {
    e.get("quantity")
        .and_then(Value::as_str)
        .and_then(|q| pricing::parse_decimal(q).ok())
        .ok_or_else(|| ApiError::internal("a usage event's quantity is not a decimal"))
}

/// Adds one event to its day's part.
fn add(
    parts: &mut BTreeMap<(String, String, String), Part>,
    key: (String, String, String),
    q: Decimal,
) -> ApiResult<()> {
    let part = parts.entry(key).or_insert(Part { total: Decimal::ZERO, peak: q, events: 0 });
    part.total = part.total.checked_add(q).ok_or_else(|| ApiError::internal("a day's usage out of range"))?;
    part.peak = part.peak.max(q);
    part.events = part.events.saturating_add(1);
    Ok(())
}
