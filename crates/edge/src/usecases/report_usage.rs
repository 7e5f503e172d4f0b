//! `POST /api/usage` (secret key): up to 1 000 usage events, each
//! `accepted`, a `duplicate` (its id stored already for the contract's
//! account, or sent twice here for it) or
//! `rejected` with a code and path. The accepted go to the usage queue; its
//! consumer (`store_usage`) writes them to D1. Nothing of the request is
//! stored here: should the queue be unreachable, nothing is accepted (503),
//! and sending the same events again is safe (their ids).

use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use serde_json::{Value, json};

use crate::http::input::usage::{Rejection, Reported, UsageEvent};
use crate::http::{ApiError, ApiResult};
use crate::ids::Random;
use crate::queue::EVENTS_PER_MESSAGE;
use crate::steps::catalogs::{self, Parsed};
use crate::steps::usage::{Coverage, Metering, coverage, read_contract};
use crate::store::{Db, contracts, usage};
use crate::stripe::Stripe;
use crate::{App, Now};

/// How far ahead of the Worker's clock a timestamp may be.
const FUTURE_SLACK_MINUTES: i64 = 5;

/// Checks and enqueues the events; answers each one's outcome by index (202).
pub async fn run<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    events: Vec<Reported>,
    now: &Now,
) -> ApiResult<Value> {
    let latest =
        now.at.and_utc().timestamp_millis().saturating_add(Duration::minutes(FUTURE_SLACK_MINUTES).num_milliseconds());
    // Every contract named, read once on its catalog version.
    let (published, _) = catalogs::current_parsed(&app.db).await?;
    let mut versions = Parsed::default();
    // By contract: its account and how it meters.
    let mut contracts: BTreeMap<String, Option<(String, Metering)>> = BTreeMap::new();
    for (_, e) in &events {
        let Ok(e) = e else { continue };
        if contracts.contains_key(&e.contract_id) {
            continue;
        }
        let found = match contracts::load(&app.db, &e.contract_id).await? {
            Some(row) => {
                Some((row.account_id.clone(), read_contract(&app.db, &mut versions, &row, published.version).await?))
            }
            None => None,
        };
        contracts.insert(e.contract_id.clone(), found);
    }
    // An event is known by its account and id (another account's id is another event).
    let key = |e: &UsageEvent| {
        let account = contracts.get(&e.contract_id).and_then(Option::as_ref).map_or("", |(a, _)| a.as_str());
        (account.to_owned(), e.id.clone())
    };
    let keys: Vec<(String, String)> = events.iter().filter_map(|(_, e)| e.as_ref().ok()).map(key).collect();
    let stored: BTreeSet<(String, String)> =
        usage::known(&app.db, &json!(keys).to_string()).await?.into_iter().collect();

    let mut seen = BTreeSet::new();
    let mut accepted = Vec::new();
    let mut outcomes = Vec::with_capacity(events.len());
    let (mut n_accepted, mut n_duplicates, mut n_rejected) = (0u32, 0u32, 0u32);
    for (i, (id, e)) in events.iter().enumerate() {
        let outcome = match e {
            Err(r) => Err(r.clone()),
            Ok(e) if stored.contains(&key(e)) || !seen.insert(key(e)) => Ok(false),
            Ok(e) => check(i, e, contracts.get(&e.contract_id).and_then(Option::as_ref).map(|(_, m)| m), latest)
                .map(|()| true),
        };
        outcomes.push(match outcome {
            Ok(true) => {
                n_accepted = n_accepted.saturating_add(1);
                if let Ok(e) = e {
                    accepted.push(json!({ "accountId": key(e).0, "id": e.id, "contractId": e.contract_id, "productId": e.product_id,
                        "day": e.day.to_string(), "quantity": e.quantity.to_string(), "timestamp": e.timestamp,
                        "receivedAt": now.instant }));
                }
                json!({ "index": i, "id": id, "status": "accepted" })
            }
            Ok(false) => {
                n_duplicates = n_duplicates.saturating_add(1);
                json!({ "index": i, "id": id, "status": "duplicate" })
            }
            Err(r) => {
                n_rejected = n_rejected.saturating_add(1);
                json!({ "index": i, "id": id, "status": "rejected", "code": r.code, "path": r.path, "message": r.message })
            }
        });
    }
    if !accepted.is_empty() {
        let messages = accepted.chunks(EVENTS_PER_MESSAGE).map(|c| Value::Array(c.to_vec()).to_string()).collect();
        app.usage.send(messages).await.map_err(|cause| {
            ApiError::new(
                503,
                "USAGE_QUEUE_UNAVAILABLE",
                "",
                "The usage queue could not be reached: nothing was accepted. Send the same events again (their ids make it safe).",
            )
            .because(cause)
        })?;
    }
    Ok(json!({ "accepted": n_accepted, "duplicates": n_duplicates, "rejected": n_rejected, "events": outcomes }))
}

/// Whether event `i` may be billed: its contract, product, day and time.
fn check(i: usize, e: &UsageEvent, metering: Option<&Metering>, latest_millis: i64) -> Result<(), Rejection> {
    let Some(Metering { contract, metered }) = metering else {
        return Err(Rejection::at("UNKNOWN_CONTRACT", i, "contractId", "No such contract."));
    };
    if e.at_millis > latest_millis {
        return Err(Rejection::at(
            "TIMESTAMP_IN_FUTURE",
            i,
            "timestamp",
            format!("timestamp is more than {FUTURE_SLACK_MINUTES} minutes ahead of the service's clock."),
        ));
    }
    if !metered.contains(&e.product_id) {
        return Err(Rejection::at(
            "NOT_METERED",
            i,
            "productId",
            "No metered product of this id is priced by the contract.",
        ));
    }
    match coverage(contract, &e.product_id, e.day) {
        Coverage::Billable => Ok(()),
        Coverage::AlreadyBilled => Err(Rejection::at(
            "PERIOD_ALREADY_BILLED",
            i,
            "timestamp",
            "This day's period of the product is billed already: its usage can no longer be added.",
        )),
        Coverage::NotOnContract => Err(Rejection::at(
            "NOT_ON_CONTRACT",
            i,
            "timestamp",
            "The contract does not price this product on that day (before its service start, or after it ended).",
        )),
    }
}
