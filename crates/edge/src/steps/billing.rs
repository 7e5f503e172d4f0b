//! Billing a contract's periods: the report a run answers, the contract's
//! stored body after the engine bills it, and issuing one invoice for due
//! periods in one batch with their claims.
//!
//! Exactly once: an invoice claims `billed_periods(contract, line, period)` in
//! its own batch, so a second or concurrent run issues nothing twice.

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveTime};
use pricing::{Address, Catalog, Contract, Invoice};
use serde_json::{Value, json};

use super::documents::{engine_json, invoice_view};
use crate::http::ApiError;
use crate::ids::{Random, new_id};
use crate::store::contracts::{ContractRow, ContractStatus};
use crate::store::invoices::{self, Claimed, InvoiceFigures, InvoiceHead, InvoiceStatus};
use crate::store::{Batch, Db, DbError, accounts};
use crate::stripe::Stripe;
use crate::{App, Now};

/// Contracts per page when none is asked for, and the most.
pub const DEFAULT_PAGE: i64 = 100;

/// The largest page a run takes in one request.
pub const MAX_PAGE: i64 = 200;

/// Where a page of a run starts and stops: contracts whose id is after
/// `after` and, unless `until` is empty, before `until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// The run's date.
    pub date: NaiveDate,
    /// The last id of the page before ("" at the start).
    pub after: String,
    /// The first id of the next range ("" for the last range: no bound).
    pub until: String,
    /// Contracts per page.
    pub limit: i64,
}

/// Where the daily cron splits the contracts for queue consumers to bill
/// concurrently: ids are `ctr_` and base-62 characters, so these bounds cut
/// them into [`RANGES`] ranges of about the same size. Every string lies in
/// exactly one range, whatever its shape (an imported id too).
pub const RANGE_BOUNDS: [&str; 7] = ["ctr_8", "ctr_G", "ctr_O", "ctr_W", "ctr_e", "ctr_m", "ctr_u"];

/// Ranges the cron fans a run out into.
pub const RANGES: usize = RANGE_BOUNDS.len() + 1;

impl Page {
    /// The first page of each range of a run on `date`.
    #[must_use]
    pub fn ranges(date: NaiveDate) -> Vec<Self> {
        let starts = std::iter::once("").chain(RANGE_BOUNDS);
        let ends = RANGE_BOUNDS.into_iter().chain(std::iter::once(""));
        starts
            .zip(ends)
            .map(|(after, until)| Self { date, after: after.to_owned(), until: until.to_owned(), limit: DEFAULT_PAGE })
            .collect()
    }

    /// The queue message of this page.
    #[must_use]
    pub fn message(&self) -> String {
        json!({ "date": self.date.to_string(), "after": self.after, "until": self.until, "limit": self.limit })
            .to_string()
    }

    /// A page from its queue message.
    pub fn from_message(text: &str) -> Result<Self, ApiError> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| ApiError::internal(format_args!("a billing page message: {e}")))?;
        let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let limit = v.get("limit").and_then(Value::as_i64).unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        match (field("date").as_deref().and_then(pricing::parse_date), field("after"), field("until")) {
            (Some(date), Some(after), Some(until)) => Ok(Self { date, after, until, limit }),
            _ => Err(ApiError::internal(format_args!("a billing page message lacks date, after or until: {text}"))),
        }
    }

    /// The page after this one, which ended at `last`.
    #[must_use]
    pub fn next(&self, last: &str) -> Self {
        Self { date: self.date, after: last.to_owned(), until: self.until.clone(), limit: self.limit }
    }
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Contracts looked at.
    pub contracts: i64,
    /// Invoices issued.
    pub invoices_issued: i64,
    /// Charges that succeeded.
    pub charged: i64,
    /// Charges that failed.
    pub failed: i64,
    /// Scheduled changes applied.
    pub changes_applied: i64,
    /// Invoices voided after the last retry.
    pub voided: i64,
    /// Contracts suspended.
    pub suspended: i64,
    /// Termed contracts renewed at their end.
    pub renewed: i64,
    /// Termed contracts ended (not renewing).
    pub ended: i64,
    /// Charges whose outcome Stripe could not tell yet (held, never repeated;
    /// the next run settles them).
    pub unsettled: i64,
    /// Invoices this run tried to charge (each at most once per run).
    pub tried: BTreeSet<String>,
    /// Contracts that could not be billed (skipped; the others were billed):
    /// each contract's id and the error.
    pub failed_contracts: Vec<(String, ApiError)>,
    /// Usage events stored after their period was billed, not listed by an
    /// earlier run: never billed, for the vendor to settle.
    pub late_usage: Vec<Value>,
}

impl Report {
    /// The report as answered and stored.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "contracts": self.contracts, "invoicesIssued": self.invoices_issued, "charged": self.charged,
            "failed": self.failed, "changesApplied": self.changes_applied, "voided": self.voided,
            "suspended": self.suspended, "renewed": self.renewed, "ended": self.ended, "unsettled": self.unsettled,
            "failedContracts": self.failed_contracts.iter().map(|(id, e)| json!({
                "contractId": id, "code": e.code, "path": e.path, "message": e.message,
            })).collect::<Vec<_>>(),
            "lateUsage": self.late_usage,
        })
    }
}

/// The fields the API keeps on a stored contract beside the engine's.
pub const EDGE_FIELDS: &[&str] = &["accountId", "billGroupId", "quoteId", "autoRenew", "catalogVersion", "suspensions"];

/// The engine's contract as stored, with the API's own fields of `old` kept:
/// nothing the engine removed (a billed piece) comes back.
pub fn stored_body(after: &Contract, old: &Value) -> Value {
    let mut body = engine_json(after);
    if let (Value::Object(m), Value::Object(old)) = (&mut body, old) {
        for k in EDGE_FIELDS {
            if let Some(v) = old.get(*k) {
                m.insert((*k).into(), v.clone());
            }
        }
    }
    body
}

/// What a billing run's page read of the account before billing its contract.
#[derive(Clone, Copy, Debug)]
pub struct KnownAccount<'a> {
    /// The billing address (tax follows it).
    pub billing_address: Option<&'a Value>,
    /// The credit balance then.
    pub credit_balance: rust_decimal::Decimal,
}

/// A contract's next version as written with an invoice.
pub struct ContractWrite<'a> {
    /// The stored body.
    pub body: Value,
    /// The stored status.
    pub status: ContractStatus,
    /// What the version records (`BILLED`, `RESUMED`).
    pub action: &'a str,
    /// When.
    pub at: &'a str,
}

/// The start of day `d` (what a run dates its writes with).
#[must_use]
pub fn midnight(d: NaiveDate) -> Now {
    Now::from_naive(d.and_time(NaiveTime::MIN))
}

/// An invoice's batch, built and not yet written ([`plan_periods`]).
pub struct Planned {
    /// Everything it writes, as one transaction.
    pub batch: Batch,
    /// The invoice it issues (`None`: every line rounded to zero).
    pub invoice_id: Option<String>,
}

/// One invoice dated `day` for `periods`, in one batch with the
/// contract's next version (`write`, after the `first` statements) and
/// the periods' claims; the account's credit balance is applied first.
/// No invoice when every line rounded to zero (the periods are still claimed).
/// The caller writes the batch (alone, or with a page's others).
///
/// `known` is the account as a run's page read it: with no credit then, it is
/// not read again (credit bought since is applied by the next invoice, never
/// overwritten: the balance is only written from a fresh read).
#[allow(clippy::too_many_arguments)]
pub async fn plan_periods<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    c: &ContractRow,
    periods: &[pricing::billing::DuePeriod],
    write: &ContractWrite<'_>,
    first: Batch,
    day: NaiveDate,
    catalog: &Catalog,
    known: Option<KnownAccount<'_>>,
) -> Result<Planned, DbError> {
    let (billing_address, balance) = match known.filter(|k| k.credit_balance.is_zero()) {
        Some(k) => (k.billing_address.cloned(), rust_decimal::Decimal::ZERO),
        None => {
            // (Failures here stop the run like storage trouble: the run is retried.)
            let account = accounts::load(&app.db, &c.account_id)
                .await?
                .ok_or_else(|| DbError::Other(format!("account {} is not stored", c.account_id)))?;
            (account.billing_address, account.credit_balance)
        }
    };
    let lines = periods.iter().flat_map(|p| p.lines.clone()).collect();
    let address = Address::from_json(billing_address.as_ref().unwrap_or(&Value::Null));
    let invoice = Invoice::new(&catalog.currency, day, lines)
        .and_then(|i| i.with_tax(catalog, &address))
        .map_err(|e| DbError::Other(e.message))?;
    let at = write.at;
    let invoice_id = new_id(&app.rng, "inv_");
    let mut batch = c.claim_with_body(c.version.saturating_add(1), write.action, at, &write.body, write.status);
    batch.extend(first);
    let issued = !invoice.lines.is_empty();
    if issued {
        let mut claimed = std::collections::BTreeSet::new();
        for p in periods {
            // A period of usage alone is claimed apart from the line's recurring
            // period of the same start (billed on another date: in advance), and
            // a kept piece apart from both (the line billed its period's start
            // already). The contract's version claim makes the batch once only;
            // two pieces of one invoice with one key are claimed once.
            let offering = p.offering_id.to_string();
            let line = match (&p.kept, p.usage) {
                (Some(_), _) => Claimed::Kept(offering, p.period_end.to_string()),
                (None, true) => Claimed::Usage(offering),
                (None, false) => Claimed::Period(offering),
            };
            let start = p.period_start.to_string();
            if claimed.insert((line.key(), start.clone())) {
                let piece = p.kept.as_ref().map(pricing::to_json);
                batch.push(invoices::claim_period(&c.id, &line, &start, &invoice_id, piece));
            }
        }
        let currency = catalog.currency.code();
        let credit =
            pricing::apply_credit(balance, invoice.amount).ok_or_else(|| DbError::Other("credit overflow".into()))?;
        let (applied, due) = (credit.applied, credit.due);
        let head = InvoiceHead {
            id: &invoice_id,
            status: InvoiceStatus::of_due(due).as_str(),
            currency,
            account_id: &c.account_id,
            contract_id: &c.id,
            bill_group_id: &c.bill_group_id,
            credit_applied: applied,
            amount_due: due,
            at,
        };
        let view = invoice_view(&app.rng, &invoice, &head);
        // The invoice first: the period claims reference it.
        batch.insert(0, invoices::insert(&InvoiceFigures::of(&invoice), &head, &view));
        if credit.balance != balance {
            batch.push(accounts::set_credit_balance(&c.account_id, credit.balance));
        }
    }
    Ok(Planned { batch, invoice_id: issued.then_some(invoice_id) })
}
