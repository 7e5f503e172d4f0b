//! What FINALIZE writes, as one batch: the account with its contact, card
//! and bill group, the quote, the contract, the first invoice (and its
//! payment), the customId claim and the session's final version.

use pricing::{Address, Catalog};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::bill_group;
use crate::http::{ApiError, ApiResult};
use crate::ids::{Random, new_id};
use crate::steps::documents::{engine_json, invoice_view, payment_view};
use crate::steps::promotion::{self, PromotionCode};
use crate::store::accounts::{self, BillGroup, NewAccount, NewPaymentMethod};
use crate::store::contracts::{ContractStatus, NewContract};
use crate::store::invoices::{self, InvoiceFigures, InvoiceHead, InvoiceStatus};
use crate::store::payments::Payment;
use crate::store::quotes::NewQuote;
use crate::store::sessions::{self, Session, Status};
use crate::store::{Batch, Db, DbError, promotions};
use crate::stripe::Stripe;
use crate::{App, Now};

/// The redemption of the session's promotion code, written in the batch that
/// claims the session (its guard fails that batch when the code is used up).
#[must_use]
pub fn redemption(code: Option<&PromotionCode>, session: &str, at: &str) -> Batch {
    // A claim taken over from a request that stopped replaces its redemption.
    code.map(|c| {
        let mut batch = vec![promotions::release(&c.key, session)];
        batch.extend(promotions::redeem(&c.key, session, c.max_redemptions, at));
        batch
    })
    .unwrap_or_default()
}

/// A batch with a redemption failed: the code used up meanwhile (409), else
/// as [`claim_error`] says. Nothing of the batch was written.
pub async fn redemption_failed(
    db: &impl Db,
    e: DbError,
    s: &Session,
    code: Option<&PromotionCode>,
    today: chrono::NaiveDate,
) -> ApiError {
    if let (DbError::Conflict(_), Some(c)) = (&e, code)
        && let Ok(Err(refusal)) = promotion::usable(db, c, today).await
    {
        return refusal.error("quote.promotionCode", 400);
    }
    claim_error(e, s)
}

/// A failed claim: the session's customId taken by another, else the storage error.
pub fn claim_error(e: DbError, s: &Session) -> ApiError {
    match e {
        DbError::Conflict(m) if m.contains("custom_id") && custom_id(s).is_some() => custom_id_taken(),
        other => ApiError::from(other),
    }
}

/// Builds everything FINALIZE creates, as one batch, and the answer's parts.
pub fn records<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    mut s: Session,
    catalog: &Catalog,
    quote: &pricing::Quote,
    payment_intent: Option<&str>,
    now: &Now,
) -> ApiResult<(Finalized, Map<String, Value>)> {
    let at = now.instant.as_str();
    // A claimed session was saved as FINALIZING: this is the version after.
    let claimed = s.status() == Status::Finalizing;
    if claimed {
        s = s.next(at);
    }
    let event = if s.version == 1 { "CREATE_AND_FINALIZE" } else { "FINALIZED" };
    s.status = Some(Status::Finalized);
    s.last_error = None;
    let customer = s.customer.clone().unwrap_or(Value::Null);
    let address = Address::from_json(customer.get("billingAddress").unwrap_or(&Value::Null));
    let invoice = quote.first_invoice.with_tax(catalog, &address).map_err(|e| ApiError::from_engine(&e, ""))?;
    let bill_group_id = new_id(&app.rng, "bg_");
    let contract_id = new_id(&app.rng, "ctr_");
    let invoice_id = new_id(&app.rng, "inv_");
    let currency = quote.currency;
    let str_of = |k: &str| customer.get(k).and_then(Value::as_str).map(str::to_owned);

    let mut contract = engine_json(&quote.to_contract(&contract_id));
    if let Value::Object(m) = &mut contract {
        m.insert("accountId".into(), json!(s.account_id));
        m.insert("billGroupId".into(), json!(bill_group_id));
        m.insert("quoteId".into(), json!(s.quote_id));
        m.insert("catalogVersion".into(), json!(s.catalog_version));
    }
    let paid = payment_intent.is_some();
    let amount_due = if paid { Decimal::ZERO } else { invoice.amount };
    // A credit pack paid at sign-up is the account's first credit (one paid
    // later is added when its payment is recorded).
    let starting_credit = if paid {
        invoice.lines.iter().filter(|l| l.grants_credit).try_fold(Decimal::ZERO, |sum, l| sum.checked_add(l.amount))
    } else {
        Some(Decimal::ZERO)
    }
    .ok_or_else(|| ApiError::internal("credit pack overflow"))?;
    let bill = s.bill_group.clone().unwrap_or_else(|| bill_group(catalog, None));
    let flag = |k: &str| bill.get(k).and_then(Value::as_bool).unwrap_or(false);
    let mut batch = Vec::new();
    if !claimed {
        batch.extend(claim_custom_id(&s));
    }
    let custom = custom_id(&s);
    let account_name = str_of("accountName").unwrap_or_default();
    let account = NewAccount {
        id: &s.account_id,
        custom_id: custom.as_deref(),
        custom_id_key: custom_id_key(&s),
        credit_balance: starting_credit,
        name: &account_name,
        currency,
        billing_address: customer.get("billingAddress"),
        stripe_customer_id: s.stripe_customer_id.as_deref(),
        default_payment_method_id: s.payment_method_id.as_deref(),
        session_id: &s.id,
        at,
    };
    batch.push(account.insert());
    let (name, email) = (str_of("name").unwrap_or_default(), str_of("email").unwrap_or_default());
    batch.push(accounts::insert_contact(&s.contact_id, &s.account_id, &name, &email, at));
    let mut payment_method_row = None;
    if let Some(pm) = &s.payment_method_id {
        let id = new_id(&app.rng, "pmt_");
        let card = NewPaymentMethod {
            id: &id,
            account_id: &s.account_id,
            stripe_payment_method_id: pm,
            name: s.payment_method_name.as_deref(),
            card: s.payment_method_card.as_ref(),
            at,
        };
        batch.push(card.insert());
        payment_method_row = Some(id);
    }
    let settings = BillGroup {
        id: None,
        auto_email_invoice: flag("autoEmailInvoice"),
        collect_automatically: flag("collectInvoiceBalanceAutomatically"),
    };
    let pm_row = payment_method_row.as_deref();
    batch.push(accounts::insert_bill_group(&bill_group_id, &s.account_id, currency, &settings, pm_row, at));
    s.bill_group_id = Some(bill_group_id.clone());
    s.contract_id = Some(contract_id.clone());
    // No invoice without lines (an IN_ARREARS or trial sign-up owes nothing today).
    let issued = !invoice.lines.is_empty();
    s.invoice_id = issued.then(|| invoice_id.clone());
    let quote_view = s.quote_view().unwrap_or(Value::Null);
    let new_quote = NewQuote {
        id: &s.quote_id,
        account_id: &s.account_id,
        session_id: Some(&s.id),
        custom_id: s.quote_custom_id.as_deref(),
        catalog_version: s.catalog_version,
        body: &quote_view,
        at,
    };
    batch.push(new_quote.insert());
    let new_contract = NewContract {
        id: &contract_id,
        account_id: &s.account_id,
        bill_group_id: &bill_group_id,
        quote_id: &s.quote_id,
        catalog_version: s.catalog_version,
        status: ContractStatus::Active,
        body: &contract,
        at,
    };
    batch.push(new_contract.insert());
    let head = InvoiceHead {
        id: &invoice_id,
        status: if paid { InvoiceStatus::Paid.as_str() } else { InvoiceStatus::Open.as_str() },
        currency,
        account_id: &s.account_id,
        contract_id: &contract_id,
        bill_group_id: &bill_group_id,
        credit_applied: Decimal::ZERO,
        amount_due,
        at,
    };
    let invoice_json = invoice_view(&app.rng, &invoice, &head);
    if issued {
        batch.push(invoices::insert(&InvoiceFigures::of(&invoice), &head, &invoice_json));
    }
    let mut extra = Map::new();
    extra.insert("billGroup".into(), {
        let mut b = bill.clone();
        if let Value::Object(o) = &mut b {
            o.insert("id".into(), json!(bill_group_id));
        }
        b
    });
    extra.insert("contract".into(), contract);
    if issued {
        extra.insert("invoice".into(), invoice_json);
    }
    if let Some(pi) = payment_intent.filter(|_| issued) {
        let payment = Payment {
            id: new_id(&app.rng, "pay_"),
            account_id: s.account_id.clone(),
            invoice_id: invoice_id.clone(),
            amount: invoice.amount,
            currency: currency.to_owned(),
            payment_intent: pi.to_owned(),
            at: at.to_owned(),
        };
        batch.push(payment.insert());
        extra.insert("payment".into(), payment_view(&payment));
        s.payment_id = Some(payment.id);
    }
    // The session row last, so it carries every id just assigned.
    let mut final_batch = s.save(event);
    final_batch.extend(batch);
    Ok((Finalized { session: s, finalize_batch: final_batch }, extra))
}

/// What FINALIZE writes.
pub struct Finalized {
    /// The session as finalized.
    pub session: Session,
    /// Everything, as one batch.
    pub finalize_batch: Batch,
}

fn custom_id(s: &Session) -> Option<String> {
    s.customer.as_ref().and_then(|c| c.get("customId")).and_then(Value::as_str).map(str::to_owned)
}

/// The comparison key of the session's customId (what is claimed and unique).
fn custom_id_key(s: &Session) -> Option<String> {
    custom_id(s).as_deref().map(crate::custom_ids::key)
}

fn custom_id_taken() -> ApiError {
    ApiError::new(409, "CUSTOM_ID_TAKEN", "customer.customId", "Another account already has this customId.")
}

/// 409 when another session holds the session's customId.
pub async fn check_custom_id(db: &impl Db, s: &Session) -> ApiResult<()> {
    let Some(id) = custom_id_key(s) else { return Ok(()) };
    match sessions::custom_id_owner(db, &id).await? {
        Some(owner) if owner != s.id => Err(custom_id_taken()),
        _ => Ok(()),
    }
}

/// Claims the session's customId (another session's claim fails the batch).
pub fn claim_custom_id(s: &Session) -> Batch {
    custom_id_key(s).map(|c| sessions::claim_custom_id(&c, &s.id)).unwrap_or_default()
}

/// Gives the session's claim on its customId back.
pub fn release_custom_id(s: &Session) -> Batch {
    custom_id_key(s).map(|c| vec![sessions::release_custom_id(&c, &s.id)]).unwrap_or_default()
}
