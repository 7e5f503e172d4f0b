//! `POST /api/selfService/contract`: a customer (or the vendor) changes a
//! contract: priced, then applied, scheduled or held for review.

use pricing::Action;
use serde_json::Value;

use crate::http::{ApiError, ApiResult};
use crate::ids::Random;
use crate::steps::change;
use crate::steps::change::request::{ChangeAction, ChangeRequest};
use crate::steps::contract_view::load_contract;
use crate::store::contracts::ContractStatus;
use crate::store::{Db, invoices};
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
    // An unpaid charge would be credited by the change and then voided by
    // dunning: until it is paid, the contract takes only a cancellation.
    let cancels = req.actions.iter().all(|a| *a == ChangeAction::Priced(Action::Cancellation));
    if !cancels && let Some(invoice) = invoices::in_dunning(&app.db, &c.id).await? {
        return Err(ApiError::new(
            409,
            "CONTRACT_PAST_DUE",
            "contractId",
            format!(
                "Invoice {invoice} of this contract is unpaid after a failed charge; update the payment method (it is charged again at once) before changing the contract. A cancellation is still accepted."
            ),
        ));
    }
    change::run(app, c, req, None, now).await
}
