//! Resumption: a new card resumes a suspended contract, charging what was
//! used before the suspension (kept pieces owed by then included) and
//! restarting billing on the resume date (the engine's `billing::resume`).

use serde_json::{Value, json};

use super::billing::{ContractWrite, Report, plan_periods, stored_body};
use super::catalogs::Parsed;
use super::collection::charge_invoice;
use super::contract_view::load_contract;
use super::suspension::{self, engine_contract};
use super::usage;
use crate::http::{ApiError, ApiResult};
use crate::ids::Random;
use crate::store::contracts::ContractStatus;
use crate::store::{Db, DbError, invoices};
use crate::stripe::Stripe;
use crate::{App, Now};

/// Resumes a suspended contract on `now.today`: one invoice for what was
/// used before the suspension and the restart piece, charged at once
/// (then dunned like any other). Answers whether it resumed.
pub async fn resume<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    contract_id: &str,
    retry_days: &[i64],
    report: &mut Report,
    now: &Now,
) -> ApiResult<bool> {
    let c = load_contract(&app.db, contract_id, None).await?;
    if c.status != ContractStatus::Suspended {
        return Ok(false);
    }
    let mut versions = Parsed::default();
    let (own, contract) = engine_contract(&app.db, &c, &mut versions).await?;
    let suspended_on =
        c.body.get("suspendedOn").and_then(Value::as_str).and_then(pricing::parse_date).unwrap_or(now.today);
    // (A clock set before the suspension, as a test clock can be, resumes on its day.)
    let today = now.today.max(suspended_on);
    // Earlier suspensions stay unbilled even if a voided invoice reaches back over them.
    let mut suspensions: Vec<Value> = c.body.get("suspensions").and_then(Value::as_array).cloned().unwrap_or_default();
    let earlier = suspension::suspensions(&c.body);
    let catalog = versions.get(own)?;
    let (mut periods, mut after) = pricing::billing::resume(catalog, &contract, suspended_on, today, &earlier)
        .map_err(|e| ApiError::from_engine(&e, ""))?;
    // Kept pieces owed by today (one billed on an invoice the suspension
    // voided is held again) are billed with the resumption, usage and all;
    // the batch fails if usage of their days is stored meanwhile.
    let usage = usage::billable(&app.db, contract_id, &after, (&versions, own), None).await?;
    let guard = usage::unchanged(contract_id, &after, &usage, today)?;
    let (due, billed) =
        pricing::billing::due(catalog, &after, today, &usage).map_err(|e| ApiError::from_engine(&e, ""))?;
    periods.extend(due.into_iter().filter(|p| p.kept.is_some()));
    after.unbilled = billed.unbilled;
    suspensions.push(json!({ "from": suspended_on.to_string(), "to": today.to_string() }));
    let mut body = stored_body(&after, &c.body);
    if let Value::Object(m) = &mut body {
        m.insert("suspensions".into(), Value::Array(suspensions));
    }
    let write = ContractWrite { body, status: ContractStatus::Active, action: "RESUMED", at: &now.instant };
    // The voided invoices' period claims give way to the resumption's.
    let release = invoices::release_suspended_periods(contract_id);
    let first = std::iter::once(release).chain(guard).collect();
    let planned = plan_periods(app, &c, &periods, &write, first, today, catalog, None).await?;
    let issued = app.db.batch(planned.batch).await.map(|()| planned.invoice_id);
    match issued {
        Ok(Some(invoice)) => charge_invoice(app, &invoice, today, retry_days, report, now).await?,
        Ok(None) => {}
        Err(DbError::Conflict(_)) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    Ok(true)
}
