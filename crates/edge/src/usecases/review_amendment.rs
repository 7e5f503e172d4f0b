//! `POST …/amendments/{id}/approve` and `…/reject` (secret key): the vendor
//! approves a change under review (applied, or scheduled when still in the
//! future) or rejects it; rejecting also withdraws a scheduled one.

use serde_json::{Value, json};

use crate::http::{ApiError, ApiResult};
use crate::ids::Random;
use crate::steps::change::{self, close_amendment, request};
use crate::steps::contract_view::load_contract;
use crate::store::Db;
use crate::store::amendments::{self, AmendmentStatus};
use crate::stripe::Stripe;
use crate::{App, Now};

/// Approves (`approve`) or rejects the amendment.
pub async fn run<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    contract_id: &str,
    amendment_id: &str,
    approve: bool,
    now: &Now,
) -> ApiResult<(u16, Value)> {
    let c = load_contract(&app.db, contract_id, None).await?;
    let (status, request) =
        amendments::find(&app.db, amendment_id, contract_id).await?.ok_or_else(|| ApiError::not_found("amendment"))?;
    match (approve, AmendmentStatus::parse(&status)) {
        (true, Some(AmendmentStatus::Review)) => {
            let mut op = request;
            if let Value::Object(m) = &mut op {
                m.insert("contractId".into(), json!(contract_id));
            }
            let mut req = request::parse(&op)?;
            request::roll_forward(&mut req.op, now.today);
            change::run(app, c, &req, Some(amendment_id), now).await
        }
        (false, Some(pending @ (AmendmentStatus::Review | AmendmentStatus::Scheduled))) => {
            let closed =
                if pending == AmendmentStatus::Review { AmendmentStatus::Rejected } else { AmendmentStatus::Withdrawn };
            close_amendment(&app.db, &c, amendment_id, closed, None, now).await
        }
        _ => Err(ApiError::conflict(
            "AMENDMENT_NOT_PENDING",
            format!("The amendment is {status}; only REVIEW ones can be approved, REVIEW or SCHEDULED ones rejected."),
        )),
    }
}
