//! Moving a grandfathered contract to the current catalog: the vendor's
//! explicit step after a price change. Existing contracts keep the catalog
//! version they were sold (or last changed) on until then.

use serde_json::{Value, json};

use crate::api::{ApiError, ApiResult};
use crate::catalogs::{self, Parsed};
use crate::contracts::{ChangeRequest, ContractRow};
use crate::db::Db;
use crate::ids::Random;
use crate::stripe::Stripe;
use crate::{App, Now};

/// The action an amendment that moves a contract to the current catalog records.
pub const REPRICE: &str = "REPRICE";

impl<D: Db, S: Stripe, R: Random> App<D, S, R> {
    /// `POST /api/contracts/{id}/reprice` (secret key), body `{ preview? }`:
    /// schedules the move of every line to the current catalog at its next
    /// bill cycle (same offerings, rates and quantities; current prices from
    /// the periods that start then). Nothing is credited or charged on the
    /// day: prepaid time keeps the price paid; time used in arrears is billed
    /// at the old price. Answers like a contract change (status `SUCCESS`,
    /// the amendment quote, `scheduledChanges` on the contract).
    pub async fn reprice(&self, contract_id: &str, body: &Value, now: &Now) -> ApiResult<(u16, Value)> {
        if !body.is_object() {
            return Err(ApiError::bad("INVALID_VALUE", "", "The body must be a JSON object."));
        }
        let preview = match body.get("preview") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ApiError::bad("INVALID_VALUE", "preview", "preview must be true or false.")),
        };
        if let Some(k) = body.as_object().and_then(|o| o.keys().find(|k| k.as_str() != "preview")) {
            let k: String = k.chars().take(60).collect();
            return Err(ApiError::bad("UNKNOWN_FIELD", &k, format!("Unknown field '{k}'.")));
        }
        let c = ContractRow::load(&self.db, contract_id, None).await?;
        if c.status != "ACTIVE" {
            return Err(ApiError::new(
                409,
                "CONTRACT_NOT_ACTIVE",
                "contractId",
                "Only an active contract is repriced.",
            ));
        }
        let current = catalogs::require_current(&self.db).await?.version;
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
            actions: vec![REPRICE.to_owned()],
            preview,
            evaluate_approval_rules: false,
        };
        self.run_change(c, &req, None, now).await
    }
}
