//! The usage queue's consumer: writes a batch of messages (each the JSON of
//! up to 100 accepted events) to D1 in one batch, exactly once whatever the
//! redelivery (an id stored before is left as it is). An event whose period
//! a billing run billed between its acceptance and now is stored as late,
//! with its reason, for the vendor to settle: never billed, never dropped.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Now;
use crate::http::{ApiError, ApiResult};
use crate::steps::catalogs::{self, Parsed};
use crate::steps::usage::{Coverage, Metering, coverage, read_contract};
use crate::store::{Db, contracts, usage};

/// Stores the messages' events; an error leaves the batch to be retried whole.
pub async fn run(db: &impl Db, messages: &[String], now: &Now) -> ApiResult<usize> {
    let (published, _) = catalogs::current_parsed(db).await?;
    let mut versions = Parsed::default();
    let mut contracts: BTreeMap<String, Option<Metering>> = BTreeMap::new();
    let mut batch = Vec::with_capacity(messages.len());
    let mut stored = 0usize;
    for text in messages {
        let mut events: Vec<Value> = serde_json::from_str(text)
            .map_err(|e| ApiError::internal(format_args!("a usage message is not a list of events: {e}")))?;
        for e in &mut events {
            let (Some(contract_id), Some(product_id), Some(day)) = (
                e.get("contractId").and_then(Value::as_str).map(str::to_owned),
                e.get("productId").and_then(Value::as_str).map(str::to_owned),
                e.get("day").and_then(Value::as_str).and_then(pricing::parse_date),
            ) else {
                return Err(ApiError::internal("a usage event lacks its contract, product or day"));
            };
            if !contracts.contains_key(&contract_id) {
                let found = match contracts::load(db, &contract_id).await? {
                    Some(row) => Some(read_contract(db, &mut versions, &row, published.version).await?),
                    None => None,
                };
                contracts.insert(contract_id.clone(), found);
            }
            let late = match contracts
                .get(&contract_id)
                .and_then(Option::as_ref)
                .map(|m| coverage(&m.contract, &product_id, day))
            {
                Some(Coverage::Billable) => None,
                Some(Coverage::AlreadyBilled) => Some("PERIOD_BILLED_BEFORE_STORED"),
                Some(Coverage::NotOnContract) | None => Some("NOT_ON_CONTRACT_WHEN_STORED"),
            };
            if let (Some(why), Value::Object(m)) = (late, &mut *e) {
                m.insert("late".into(), Value::String(why.to_owned()));
            }
        }
        stored = stored.saturating_add(events.len());
        batch.push(usage::insert(&Value::Array(events).to_string(), &now.instant));
    }
    if !batch.is_empty() {
        db.batch(batch).await?;
    }
    Ok(stored)
}
