//! A contract change (`contract-api.txt`): priced by the engine's
//! `preview_change_on` (old terms on the contract's catalog version, new
//! terms on the current one), recorded as an amendment, its invoice issued
//! with tax, the credit balance consumed or grown, and charged when the bill
//! group collects automatically. Future-dated changes are scheduled; changes
//! that match the catalog's approval rules wait for review.
//!
//! One flow for every caller (a customer's change, an approval, a scheduled
//! change on its date, a reprice): [`run`].

pub mod apply;
pub mod priced;
pub mod request;
pub mod term;

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use self::priced::{Outcome, amendment_quote, price};
use self::request::{ChangeAction, ChangeRequest};
use super::contract_view::{self, load_contract};
use super::documents::draft_view;
use crate::http::{ApiError, ApiResult};
use crate::ids::{Random, new_id};
use crate::store::Db;
use crate::store::amendments::{self, AmendmentStatus};
use crate::store::contracts::ContractRow;
use crate::stripe::Stripe;
use crate::{App, Now};

/// Runs a change on contract `c`: `reviewed` names the amendment an
/// approval or a scheduled date applies. Answers the HTTP status and body.
pub async fn run<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    c: ContractRow,
    req: &ChangeRequest,
    reviewed: Option<&str>,
    now: &Now,
) -> ApiResult<(u16, Value)> {
    // A change whose charge was left unsettled is settled first. Sent
    // again, that very change answers how it ended instead of running twice.
    let mut c = c;
    if let Some((op, applied)) = apply::settle_pending(app, &c.id, now).await? {
        if let Some(outcome) = applied.filter(|_| op == req.op && !req.preview) {
            return Ok((outcome.http, outcome.body(req)));
        }
        c = load_contract(&app.db, &c.id, None).await?;
    }
    if req.actions.iter().any(|a| a.is_term()) {
        return term::run(app, c, req, now).await;
    }
    let p = price(app, &c, req, now.today).await?;
    let currency = p.preview.contract.currency.clone();
    let effective = p.invoice.invoice_date;
    // A preview answers what confirming would: refused while another amendment waits.
    let pending = amendments::open_ids(&app.db, &c.id).await?;
    if let Some(other) = pending.iter().find(|id| Some(id.as_str()) != reviewed) {
        return Err(ApiError::conflict(
            "AMENDMENT_PENDING",
            format!("Amendment {other} on this contract is scheduled or under review; withdraw it or wait."),
        ));
    }
    if req.preview {
        let mut more = Map::new();
        more.insert("preview".into(), json!(true));
        more.insert("scheduled".into(), json!(effective > now.today));
        more.insert("invoice".into(), draft_view(&app.rng, &c, &currency, &p.invoice, p.credit, now));
        if let Some(next) = &p.next_invoice {
            more.insert("nextInvoice".into(), draft_view(&app.rng, &c, &currency, next, Decimal::ZERO, now));
        }
        let quote = amendment_quote(None, "DRAFT", &c, req, &p);
        let outcome = Outcome { http: 200, status: "SUCCESS", quote, contract: p.contract_after.clone(), more };
        return Ok((200, outcome.body(req)));
    }
    let amendment_id = reviewed.map_or_else(|| new_id(&app.rng, "amd_"), str::to_owned);
    let at = now.instant.as_str();
    let next = c.version.saturating_add(1);
    let rules = &p.current.operations.require_review;
    let needs_review = reviewed.is_none()
        && req.evaluate_approval_rules
        && req.actions.iter().any(|a| matches!(a, ChangeAction::Priced(x) if rules.contains(x)));
    if needs_review || effective > now.today {
        let (status, http, quote_status) = if needs_review {
            (AmendmentStatus::Review, 202, "REVIEW")
        } else {
            (AmendmentStatus::Scheduled, 200, "PROCESSED")
        };
        let quote = amendment_quote(Some(&amendment_id), quote_status, &c, req, &p);
        let mut batch = c.claim(next, status.as_str(), at);
        let effective = effective.to_string();
        batch.push(
            apply::amendment(&amendment_id, &c, req, status, &effective, &quote, p.published.version, at).upsert(),
        );
        app.db.batch(batch).await?;
        let mut more = Map::new();
        more.insert("upcomingInvoice".into(), draft_view(&app.rng, &c, &currency, &p.invoice, p.credit, now));
        if let Some(next) = &p.next_invoice {
            more.insert("nextInvoice".into(), draft_view(&app.rng, &c, &currency, next, Decimal::ZERO, now));
        }
        let contract = contract_view::view(&app.db, &c.id, None).await?;
        let status = if needs_review { "REVIEW" } else { "SUCCESS" };
        return Ok((http, Outcome { http, status, quote, contract, more }.body(req)));
    }
    let outcome = apply::now(app, c, req, p, amendment_id, now).await?;
    Ok((outcome.http, outcome.body(req)))
}

/// Marks a pending amendment closed (the contract's version moves on, so
/// a billing run or a change racing it sees a conflict, not a stale contract).
pub async fn close_amendment(
    db: &impl Db,
    c: &ContractRow,
    amendment_id: &str,
    new_status: AmendmentStatus,
    scope: Option<&str>,
    now: &Now,
) -> ApiResult<(u16, Value)> {
    let mut batch = c.claim(c.version.saturating_add(1), new_status.as_str(), &now.instant);
    batch.push(amendments::set_status(amendment_id, new_status, &now.instant));
    db.batch(batch).await?;
    let contract = contract_view::view(db, &c.id, scope).await?;
    Ok((200, json!({ "amendmentId": amendment_id, "status": new_status.as_str(), "contract": contract })))
}
