//! `POST /api/contracts/{id}/reprice` (secret key): moving a grandfathered
//! contract to the current catalog, the vendor's explicit step after a
//! price change. Existing contracts keep the catalog version they were sold
//! (or last changed) on until then.

use serde_json::{Value, json};

use crate::http::{ApiError, ApiResult};
use crate::ids::Random;
use crate::steps::catalogs::{self, Parsed};
use crate::steps::change::{self, request::ChangeAction, request::ChangeRequest};
use crate::steps::contract_view::load_contract;
use crate::store::Db;
use crate::store::contracts::ContractStatus;
use crate::stripe::Stripe;
use crate::{App, Now};

/// Schedules the move of every line to the current catalog at its next
/// bill cycle (same offerings, rates and quantities; current prices from
/// the periods that start then). Nothing is credited or charged on the
/// day: prepaid time keeps the price paid; time used in arrears is billed
/// at the old price. Answers like a contract change (status `SUCCESS`,
/// the amendment quote, `scheduledChanges` on the contract).
pub async fn run<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    contract_id: &str,
    preview: bool,
    now: &Now,
) -> ApiResult<(u16, Value)> {
    let c = load_contract(&app.db, contract_id, None).await?;
    if c.status != ContractStatus::Active {
        return Err(ApiError::new(409, "CONTRACT_NOT_ACTIVE", "contractId", "Only an active contract is repriced."));
    }
    let current = catalogs::require_current(&app.db).await?.version;
    if Parsed::version_of(&c.body, current) == current {
        return Err(ApiError::new(
            409,
            "CONTRACT_ON_CURRENT_CATALOG",
            "contractId",
            format!("The contract is already priced on the current catalog (version {current})."),
        ));
    }
    let offerings: Vec<Value> = c
        .body
        .get("offerings")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|l| json!({ "offeringId": l.get("offeringId"), "products": [] }))
        .collect();
    let req = ChangeRequest {
        contract_id: c.id.clone(),
        op: json!({ "action": "QUANTITY_CHANGE", "relativeEffectiveDate": "NEXT_BILL_CYCLE",
                    "payload": { "offerings": offerings } }),
        actions: vec![ChangeAction::Reprice],
        preview,
        evaluate_approval_rules: false,
        priced_on: None,
    };
    change::run(app, c, &req, None, now).await
}
