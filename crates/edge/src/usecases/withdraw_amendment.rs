//! `POST …/amendments/{id}/withdraw`: the customer (its token, or the
//! vendor for it) takes back a change that has not happened yet, one
//! scheduled for a later date or waiting for review. Nothing is billed for it.

use serde_json::Value;

use crate::Now;
use crate::http::{ApiError, ApiResult};
use crate::steps::change::close_amendment;
use crate::steps::contract_view::load_contract;
use crate::store::Db;
use crate::store::amendments::{self, AmendmentStatus};

/// Withdraws the amendment.
pub async fn run(
    db: &impl Db,
    contract_id: &str,
    amendment_id: &str,
    scope: Option<&str>,
    now: &Now,
) -> ApiResult<(u16, Value)> {
    let c = load_contract(db, contract_id, scope).await?;
    let (status, _) =
        amendments::find(db, amendment_id, contract_id).await?.ok_or_else(|| ApiError::not_found("amendment"))?;
    if !matches!(AmendmentStatus::parse(&status), Some(AmendmentStatus::Scheduled | AmendmentStatus::Review)) {
        return Err(ApiError::conflict(
            "AMENDMENT_NOT_PENDING",
            format!("The amendment is {status}; only SCHEDULED or REVIEW ones can be withdrawn."),
        ));
    }
    close_amendment(db, &c, amendment_id, AmendmentStatus::Withdrawn, scope, now).await
}
