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
pub mod request;
pub mod term;

use pricing::{Address, Catalog, ChangePreview, Invoice};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use self::request::{ChangeAction, ChangeRequest};
use super::catalogs::{self, Parsed};
use super::contract_view::{self, load_contract};
use super::documents::{invoice_view, money_json};
use crate::http::{ApiError, ApiResult};
use crate::ids::{Random, new_id};
use crate::store::amendments::{self, AmendmentStatus};
use crate::store::catalogs::Published;
use crate::store::contracts::ContractRow;
use crate::store::invoices::InvoiceHead;
use crate::store::{Db, accounts};
use crate::stripe::Stripe;
use crate::{App, Now};

/// What a change answers: HTTP status, `status`, quote, contract, more fields.
pub struct Outcome {
    /// HTTP status.
    pub http: u16,
    /// `SUCCESS`, `REVIEW`, `FAILED`.
    pub status: &'static str,
    /// The amendment quote.
    pub quote: Value,
    /// The contract as it stands.
    pub contract: Value,
    /// `invoice`, `payment`, `creditBalance`, …
    pub more: Map<String, Value>,
}

impl Outcome {
    /// The answer's body for `req`.
    #[must_use]
    pub fn body(self, req: &ChangeRequest) -> Value {
        let mut m = Map::new();
        m.insert("action".into(), json!(req.label()));
        m.insert("status".into(), json!(self.status));
        m.insert("quote".into(), self.quote);
        m.insert("contract".into(), self.contract);
        m.extend(self.more);
        Value::Object(m)
    }
}

pub(super) fn engine_error(e: &pricing::Error) -> ApiError {
    let mut a = ApiError::from_engine(e, "");
    if e.code == pricing::ErrorCode::ContractNotActive {
        a.status = 409;
    }
    a
}

/// The account's credit against a change's invoice: `(applied, due, balance
/// after)` by the engine's rule; an invoice without lines touches nothing.
pub(super) fn credit_split(balance: Decimal, invoice: &Invoice) -> Option<(Decimal, Decimal, Decimal)> {
    let amount = if invoice.lines.is_empty() { Decimal::ZERO } else { invoice.amount };
    pricing::apply_credit(balance, amount).map(|c| (c.applied, c.due, c.balance))
}

/// Everything a priced change needs to be answered or written.
pub struct Priced {
    pub(super) published: Published,
    /// The current catalog (its operating settings apply).
    pub(super) current: std::rc::Rc<Catalog>,
    pub(super) preview: ChangePreview,
    pub(super) invoice: Invoice,
    /// For a change dated later: the regular invoice the billing run issues
    /// on that date for the contract as changed (the next period, say), if any.
    pub(super) next_invoice: Option<Invoice>,
    pub(super) contract_after: Value,
    /// The account's credit balance now (previews apply it as confirming would).
    pub(super) credit: Decimal,
}

async fn price<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    c: &ContractRow,
    req: &ChangeRequest,
    today: pricing::NaiveDate,
) -> ApiResult<Priced> {
    let (published, current) = catalogs::current_parsed(&app.db).await?;
    let mut versions = Parsed::default();
    versions.insert(published.version, current);
    // The old terms on the contract's own version, the new on the current catalog.
    let own = Parsed::version_of(&c.body, published.version);
    versions.load_for(&app.db, &c.body, own).await?;
    let all = versions.all();
    let catalog: &Catalog = versions.get(published.version)?;
    let catalogs = pricing::Catalogs { current: catalog, contract: versions.get(own)?, versions: &all };
    let preview = pricing::preview_change_on(&catalogs, &c.body, &req.op, today).map_err(|e| engine_error(&e))?;
    let account = accounts::load(&app.db, &c.account_id)
        .await?
        .ok_or_else(|| ApiError::internal(format_args!("account {} is not stored", c.account_id)))?;
    let address = Address::from_json(account.billing_address.as_ref().unwrap_or(&Value::Null));
    let invoice = preview.invoice.with_tax(catalog, &address).map_err(|e| engine_error(&e))?;
    let day = invoice.invoice_date;
    let mut next_invoice = None;
    if day > today {
        let (periods, _) = pricing::billing::due(catalog, &preview.contract, day).map_err(|e| engine_error(&e))?;
        let lines: Vec<_> = periods.into_iter().filter(|p| p.invoice_date == day).flat_map(|p| p.lines).collect();
        if !lines.is_empty() {
            let next = Invoice::new(&catalog.currency, day, lines).and_then(|i| i.with_tax(catalog, &address));
            next_invoice = Some(next.map_err(|e| engine_error(&e))?);
        }
    }
    // The API's own fields kept; the contract is now on the current catalog.
    let mut contract_after = super::billing::stored_body(&preview.contract, &c.body);
    if let Value::Object(m) = &mut contract_after {
        m.insert("catalogVersion".into(), json!(published.version));
    }
    let current = catalogs::parse(&published)?;
    Ok(Priced { published, current, preview, invoice, next_invoice, contract_after, credit: account.credit_balance })
}

/// The amendment quote as answered.
fn amendment_quote(id: Option<&str>, status: &str, c: &ContractRow, req: &ChangeRequest, p: &Priced) -> Value {
    let currency = p.preview.contract.currency.as_str();
    json!({
        "id": id,
        "type": "AMENDMENT",
        "status": status,
        "contractId": c.id,
        "accountId": c.account_id,
        "catalogVersion": p.published.version,
        "effectiveDate": p.invoice.invoice_date.to_string(),
        "actions": req.action_names(),
        "amountWithoutTax": money_json(p.invoice.amount_without_tax, currency),
        "tax": money_json(p.invoice.tax, currency),
        "amount": money_json(p.invoice.amount, currency),
        "nextInvoice": p.next_invoice.as_ref().map(|n| json!({
            "invoiceDate": n.invoice_date.to_string(), "amount": money_json(n.amount, currency),
        })),
        "request": req.op,
    })
}

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
        more.insert("invoice".into(), draft_view(app, &c, &currency, &p.invoice, p.credit, now));
        if let Some(next) = &p.next_invoice {
            more.insert("nextInvoice".into(), draft_view(app, &c, &currency, next, Decimal::ZERO, now));
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
        more.insert("upcomingInvoice".into(), draft_view(app, &c, &currency, &p.invoice, p.credit, now));
        if let Some(next) = &p.next_invoice {
            more.insert("nextInvoice".into(), draft_view(app, &c, &currency, next, Decimal::ZERO, now));
        }
        let contract = contract_view::view(&app.db, &c.id, None).await?;
        let status = if needs_review { "REVIEW" } else { "SUCCESS" };
        return Ok((http, Outcome { http, status, quote, contract, more }.body(req)));
    }
    let outcome = apply::now(app, c, req, p, amendment_id, now).await?;
    Ok((outcome.http, outcome.body(req)))
}

/// An invoice not issued (a preview's, or one a later date will issue), as answered.
/// With `credit` (the account's balance), the credit it would apply and
/// what would be due, exactly as confirming applies them.
fn draft_view<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    c: &ContractRow,
    currency: &str,
    invoice: &Invoice,
    credit: Decimal,
    now: &Now,
) -> Value {
    let (credit_applied, amount_due, _) =
        credit_split(credit, invoice).unwrap_or((Decimal::ZERO, invoice.amount.max(Decimal::ZERO), credit));
    let head = InvoiceHead {
        id: "",
        status: "DRAFT",
        currency,
        account_id: &c.account_id,
        contract_id: &c.id,
        bill_group_id: &c.bill_group_id,
        credit_applied,
        amount_due,
        at: &now.instant,
    };
    invoice_view(&app.rng, invoice, &head)
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
