//! Applying a priced change: everything it writes is decided before any
//! money moves (the [`ChangePlan`]), kept on the PAYMENT_PENDING amendment
//! while the card is charged, then written whole by whoever learns how the
//! charge ended (the request, a retry, the billing run).

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::priced::{Outcome, Priced, amendment_quote};
use super::request::{ChangeRequest, parse};
use crate::http::{ApiError, ApiResult};
use crate::ids::{Random, new_id};
use crate::steps::charging::{self, Settled};
use crate::steps::claims::claim_expired;
use crate::steps::contract_view::{load_contract, view};
use crate::steps::credit;
use crate::steps::documents::credit_split;
use crate::steps::documents::{invoice_view, money_json, payment_view};
use crate::store::amendments::{self, AmendmentStatus, AmendmentWrite};
use crate::store::contracts::{self, ContractRow, ContractStatus};
use crate::store::invoices::{self, InvoiceFigures, InvoiceHead, InvoiceStatus};
use crate::store::payments::Payment;
use crate::store::{Db, accounts};
use crate::stripe::{Charge, Stripe, StripeError};
use crate::{App, Now};

/// The `error.code` of a PAYMENT_PENDING amendment whose request ended
/// without knowing whether the charge went through.
const OUTCOME_UNKNOWN: &str = "PAYMENT_OUTCOME_UNKNOWN";

/// Our key for the charge of an amendment.
fn charge_key(amendment_id: &str) -> String {
    format!("{amendment_id}/charge")
}

/// A quote with another `status`.
fn with_status(quote: &Value, status: &str) -> Value {
    let mut q = quote.clone();
    if let Value::Object(m) = &mut q {
        m.insert("status".into(), json!(status));
    }
    q
}

/// A failed charge's message and the amendment's `error`.
fn failure(e: &StripeError) -> (String, Value) {
    match e {
        StripeError::Declined { code, decline_code, message } => (
            message.clone(),
            json!({ "code": "PAYMENT_DECLINED", "stripeCode": code, "declineCode": decline_code, "message": message }),
        ),
        _ => (
            "The payment provider could not be reached; the change was not applied. Retry.".to_owned(),
            json!({ "code": "PAYMENT_PROVIDER_UNAVAILABLE" }),
        ),
    }
}

/// Everything applying a priced change writes, decided before any money
/// moves. A change charged by card keeps it on its PAYMENT_PENDING amendment
/// (`plan`), so whoever learns that the charge went through (the request
/// itself, a retry, the billing run) writes exactly what was charged for.
pub struct ChangePlan {
    amendment_id: String,
    /// The contract version the outcome claims.
    version: i64,
    effective_date: String,
    catalog_version: i64,
    /// The amendment quote once applied.
    quote: Value,
    contract_after: Value,
    currency: String,
    credit_after: Decimal,
    invoice: Option<PlannedInvoice>,
}

/// The change's invoice as it is written once applied.
struct PlannedInvoice {
    id: String,
    status: InvoiceStatus,
    credit_applied: Decimal,
    /// Left to pay.
    amount_due: Decimal,
    /// Paid by card at the change (zero when nothing is charged).
    charged: Decimal,
    figures: InvoiceFigures,
    view: Value,
}

impl ChangePlan {
    fn to_json(&self) -> Value {
        json!({
            "amendmentId": self.amendment_id, "version": self.version, "effectiveDate": self.effective_date,
            "catalogVersion": self.catalog_version, "quote": self.quote, "contractAfter": self.contract_after,
            "currency": self.currency, "creditAfter": self.credit_after.to_string(),
            "invoice": self.invoice.as_ref().map(|i| json!({
                "id": i.id, "status": i.status.as_str(), "creditApplied": i.credit_applied.to_string(),
                "amountDue": i.amount_due.to_string(), "charged": i.charged.to_string(),
                "invoiceDate": i.figures.invoice_date, "amountWithoutTax": i.figures.amount_without_tax.to_string(),
                "tax": i.figures.tax.to_string(), "amount": i.figures.amount.to_string(), "view": i.view,
            })),
        })
    }

    fn from_json(v: &Value) -> Option<Self> {
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let d = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).and_then(|x| x.parse::<Decimal>().ok());
        let invoice = match v.get("invoice") {
            None | Some(Value::Null) => None,
            Some(i) => Some(PlannedInvoice {
                id: s(i, "id")?,
                status: InvoiceStatus::parse(&s(i, "status")?)?,
                credit_applied: d(i, "creditApplied")?,
                amount_due: d(i, "amountDue")?,
                charged: d(i, "charged")?,
                figures: InvoiceFigures {
                    invoice_date: s(i, "invoiceDate")?,
                    amount_without_tax: d(i, "amountWithoutTax")?,
                    tax: d(i, "tax")?,
                    amount: d(i, "amount")?,
                },
                view: i.get("view")?.clone(),
            }),
        };
        Some(Self {
            amendment_id: s(v, "amendmentId")?,
            version: v.get("version")?.as_i64()?,
            effective_date: s(v, "effectiveDate")?,
            catalog_version: v.get("catalogVersion")?.as_i64()?,
            quote: v.get("quote")?.clone(),
            contract_after: v.get("contractAfter")?.clone(),
            currency: s(v, "currency")?,
            credit_after: d(v, "creditAfter")?,
            invoice,
        })
    }

    /// The amendment row in `status` (its quote says the same).
    fn save(
        &self,
        c: &ContractRow,
        req: &ChangeRequest,
        status: AmendmentStatus,
        invoice_id: Option<&str>,
        error: Option<&Value>,
        at: &str,
    ) -> crate::store::Stmt {
        let quote = if status == AmendmentStatus::Applied {
            self.quote.clone()
        } else {
            with_status(&self.quote, status.as_str())
        };
        let mut row =
            amendment(&self.amendment_id, c, req, status, &self.effective_date, &quote, self.catalog_version, at);
        row.invoice_id = invoice_id;
        row.error = error;
        row.upsert()
    }
}

/// An amendment of `c` as written for `req`.
#[allow(clippy::too_many_arguments)]
pub fn amendment<'a>(
    id: &'a str,
    c: &'a ContractRow,
    req: &'a ChangeRequest,
    status: AmendmentStatus,
    effective_date: &'a str,
    quote: &'a Value,
    catalog_version: i64,
    at: &'a str,
) -> AmendmentWrite<'a> {
    AmendmentWrite {
        id,
        contract_id: &c.id,
        account_id: &c.account_id,
        action: req.label(),
        status,
        effective_date,
        request: &req.op,
        quote,
        catalog_version,
        invoice_id: None,
        error: None,
        at,
    }
}

/// Applies a change dated today: charged first when the bill group
/// collects automatically and something is due.
pub async fn now<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    c: ContractRow,
    req: &ChangeRequest,
    p: Priced,
    amendment_id: String,
    now: &Now,
) -> ApiResult<Outcome> {
    let at = now.instant.as_str();
    let currency = p.preview.contract.currency.clone();
    let account = accounts::load(&app.db, &c.account_id)
        .await?
        .ok_or_else(|| ApiError::internal(format_args!("account {} is not stored", c.account_id)))?;
    let (credit_applied, amount_due, credit_after) = credit_split(account.credit_balance, &p.invoice)
        .ok_or_else(|| ApiError::internal("credit balance overflow"))?;
    let collect = accounts::collects_automatically(&app.db, &c.bill_group_id).await?;
    let chargeable = match (&account.stripe_customer_id, &account.default_payment_method_id) {
        (Some(cus), Some(pm)) if collect && amount_due > Decimal::ZERO => Some((cus.clone(), pm.clone())),
        _ => None,
    };
    let charged = if chargeable.is_some() { amount_due } else { Decimal::ZERO };
    let invoice = (!p.invoice.lines.is_empty()).then(|| {
        let id = new_id(&app.rng, "inv_");
        // Written only once the charge (if any) went through: paid by it, or left open.
        let left = amount_due.checked_sub(charged).unwrap_or(amount_due);
        let status = InvoiceStatus::of_due(left);
        let head = InvoiceHead {
            id: &id,
            status: status.as_str(),
            currency: &currency,
            account_id: &c.account_id,
            contract_id: &c.id,
            bill_group_id: &c.bill_group_id,
            credit_applied,
            amount_due: left,
            at,
        };
        let view = invoice_view(&app.rng, &p.invoice, &head);
        PlannedInvoice {
            status,
            credit_applied,
            amount_due: left,
            charged,
            figures: InvoiceFigures::of(&p.invoice),
            view,
            id,
        }
    });
    let plan = ChangePlan {
        version: c.version.saturating_add(if chargeable.is_some() { 2 } else { 1 }),
        effective_date: p.invoice.invoice_date.to_string(),
        catalog_version: p.published.version,
        quote: amendment_quote(Some(&amendment_id), "PROCESSED", &c, req, &p),
        contract_after: p.contract_after,
        currency,
        credit_after,
        invoice,
        amendment_id,
    };
    let Some((customer, pm)) = chargeable else {
        return finish(app, &c, req, &plan, None, at).await;
    };
    // Claim the contract and record the attempt with its plan before any money moves.
    let mut claim = c.claim(c.version.saturating_add(1), "CHANGE_PAYMENT", at);
    claim.push(plan.save(&c, req, AmendmentStatus::PaymentPending, None, None, at));
    claim.push(amendments::set_plan(&plan.amendment_id, &plan.to_json()));
    app.db.batch(claim).await?;
    let charge = Charge {
        customer: &customer,
        payment_method: &pm,
        amount: pricing::to_minor_units(charged, &plan.currency)
            .ok_or_else(|| ApiError::internal(format_args!("{charged} {} in minor units", plan.currency)))?,
        currency: plan.currency.to_ascii_lowercase(),
        metadata: vec![("quotekit_amendment", plan.amendment_id.clone()), ("quotekit_contract", c.id.clone())],
    };
    let key = charge_key(&plan.amendment_id);
    match charging::charge_or_settle(&app.db, &app.stripe, &key, &charge, now).await {
        Settled::Charged(pi) => finish(app, &c, req, &plan, Some(&pi.id), at).await,
        Settled::Unknown(e) => Err(let_go(&app.db, &plan.amendment_id, at).await.because(e)),
        Settled::Declined(e) => {
            let (message, error) = failure(&e);
            let quote = fail(&app.db, &c, req, &plan, &error, at).await?;
            let mut more = Map::new();
            more.insert("errorMessage".into(), json!(message));
            more.insert("declineCode".into(), error.get("declineCode").cloned().unwrap_or(Value::Null));
            let contract = view(&app.db, &c.id, None).await?;
            Ok(Outcome { http: 402, status: "FAILED", quote, contract, more })
        }
        Settled::NotCharged => {
            let (message, error) = failure(&StripeError::Unavailable(String::new()));
            fail(&app.db, &c, req, &plan, &error, at).await?;
            Err(ApiError::new(502, "PAYMENT_PROVIDER_UNAVAILABLE", "", message))
        }
    }
}

/// Writes an applied change: the contract, its invoice (paid by
/// `payment_intent` when charged), the credit balance, the amendment.
async fn finish<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    c: &ContractRow,
    req: &ChangeRequest,
    plan: &ChangePlan,
    payment_intent: Option<&str>,
    at: &str,
) -> ApiResult<Outcome> {
    let mut batch = c.claim(plan.version, "CHANGE_APPLIED", at);
    let status_after = plan
        .contract_after
        .get("status")
        .and_then(Value::as_str)
        .and_then(ContractStatus::parse)
        .unwrap_or(ContractStatus::Active);
    batch.push(contracts::set_terms(&c.id, &plan.contract_after, status_after, plan.catalog_version));
    let mut more = Map::new();
    if let Some(inv) = &plan.invoice {
        let head = InvoiceHead {
            id: &inv.id,
            status: inv.status.as_str(),
            currency: &plan.currency,
            account_id: &c.account_id,
            contract_id: &c.id,
            bill_group_id: &c.bill_group_id,
            credit_applied: inv.credit_applied,
            amount_due: inv.amount_due,
            at,
        };
        batch.push(invoices::insert(&inv.figures, &head, &inv.view));
        if let Some(pi) = payment_intent {
            let payment = Payment {
                id: new_id(&app.rng, "pay_"),
                account_id: c.account_id.clone(),
                invoice_id: inv.id.clone(),
                amount: inv.charged,
                currency: plan.currency.clone(),
                payment_intent: pi.to_owned(),
                at: at.to_owned(),
            };
            batch.push(payment.insert());
            more.insert("payment".into(), payment_view(&payment));
        }
        more.insert("invoice".into(), inv.view.clone());
    }
    // A credit pack paid by the change adds to the credit; credit pays the
    // account's open invoices first; what is left is its balance.
    let granted = plan
        .invoice
        .as_ref()
        .filter(|i| i.status == InvoiceStatus::Paid)
        .map_or(Decimal::ZERO, |i| credit::granted(&i.view));
    let credit = plan.credit_after.checked_add(granted).ok_or_else(|| ApiError::internal("credit overflow"))?;
    let (settle, balance) = credit::pay_open_invoices(&app.db, &c.account_id, credit, &plan.currency).await?;
    batch.extend(settle);
    batch.push(accounts::set_credit_balance(&c.account_id, balance));
    let invoice_id = plan.invoice.as_ref().map(|i| i.id.as_str());
    batch.push(plan.save(c, req, AmendmentStatus::Applied, invoice_id, None, at));
    app.db.batch(batch).await?;
    more.insert("creditBalance".into(), money_json(balance, &plan.currency));
    let contract = view(&app.db, &c.id, None).await?;
    Ok(Outcome { http: 200, status: "SUCCESS", quote: plan.quote.clone(), contract, more })
}

/// Records a change whose charge failed (nothing charged); answers its quote.
async fn fail(
    db: &impl Db,
    c: &ContractRow,
    req: &ChangeRequest,
    plan: &ChangePlan,
    error: &Value,
    at: &str,
) -> ApiResult<Value> {
    let mut batch = c.claim(plan.version, "CHANGE_FAILED", at);
    batch.push(plan.save(c, req, AmendmentStatus::Failed, None, Some(error), at));
    db.batch(batch).await?;
    Ok(with_status(&plan.quote, "FAILED"))
}

/// Leaves a change whose charge has an unknown outcome PAYMENT_PENDING,
/// marked as let go (the next request or billing run settles it at once
/// instead of waiting for the claim to expire); the client's error.
async fn let_go(db: &impl Db, amendment_id: &str, at: &str) -> ApiError {
    // Should this write fail too, the claim expires in a minute instead.
    db.batch(vec![amendments::let_go(amendment_id, OUTCOME_UNKNOWN, at)]).await.ok();
    ApiError::new(
        502,
        "PAYMENT_PROVIDER_UNAVAILABLE",
        "",
        "The payment provider did not say whether the payment went through. The change is held and \
         will be charged at most once: retry the same change to see how it ended.",
    )
}

/// Settles the contract's PAYMENT_PENDING amendment, if any, whose
/// request let it go or stopped: applied as planned if its charge went
/// through, FAILED if not. Answers its request and, when applied, what
/// applying it answered; 409 while a live request holds it, 502 while
/// Stripe cannot say.
pub async fn settle_pending<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    contract_id: &str,
    now: &Now,
) -> ApiResult<Option<(Value, Option<Outcome>)>> {
    let Some(pending) = amendments::payment_pending(&app.db, contract_id).await? else { return Ok(None) };
    let id = pending.id;
    let let_go_before = pending.error.is_some_and(|e| e.get("code").and_then(Value::as_str) == Some(OUTCOME_UNKNOWN));
    if !let_go_before && !claim_expired(&pending.updated_at, now) {
        return Err(ApiError::conflict(
            "CHANGE_IN_PROGRESS",
            format!("Amendment {id} on this contract is being charged; retry in a minute."),
        ));
    }
    let plan = pending
        .plan
        .as_ref()
        .and_then(ChangePlan::from_json)
        .ok_or_else(|| ApiError::internal(format_args!("amendment {id} has no readable plan")))?;
    let mut op = pending.request.unwrap_or(Value::Null);
    if let Value::Object(m) = &mut op {
        m.insert("contractId".into(), json!(contract_id));
    }
    let req = parse(&op)?;
    let c = load_contract(&app.db, contract_id, None).await?;
    let at = now.instant.as_str();
    let applied = match charging::settle(&app.db, &app.stripe, &charge_key(&id)).await {
        Settled::Charged(pi) => Some(finish(app, &c, &req, &plan, Some(&pi.id), at).await?),
        Settled::Unknown(e) => return Err(let_go(&app.db, &id, at).await.because(e)),
        Settled::Declined(e) => {
            fail(&app.db, &c, &req, &plan, &failure(&e).1, at).await?;
            None
        }
        Settled::NotCharged => {
            fail(&app.db, &c, &req, &plan, &failure(&StripeError::Unavailable(String::new())).1, at).await?;
            None
        }
    };
    Ok(Some((req.op, applied)))
}
