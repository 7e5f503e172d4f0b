//! `POST /api/selfService/contract`: a customer (or the vendor) changes a
//! contract: priced, then applied, scheduled or held for review.

use serde_json::Value;

use crate::http::{ApiError, ApiResult};
use crate::ids::Random;
use crate::steps::change::{self, request::ChangeRequest};
use crate::steps::contract_view::load_contract;
use crate::store::Db;
use crate::store::contracts::ContractStatus;
use crate::stripe::Stripe;
use crate::{App, Now};

/// Runs the change `req`; `scope` is a customer token's account.
pub async fn run<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    scope: Option<&str>,
    req: &ChangeRequest,
    now: &Now,
) -> ApiResult<(u16, Value)> {
    let c = load_contract(&app.db, &req.contract_id, scope).await?;
    if c.status == ContractStatus::Suspended {
        return Err(ApiError::new(
            409,
            "CONTRACT_SUSPENDED",
            "contractId",
            "The contract is suspended for an unpaid invoice; update the payment method first.",
        ));
    }
    change::run(app, c, req, None, now).await
}
