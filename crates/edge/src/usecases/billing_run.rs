//! `POST /api/billingRuns` and the daily cron: for every active contract,
//! scheduled changes on their dates, then each period's invoice (the
//! engine's `billing::due`), charged when the bill group collects
//! automatically; termed contracts renew or end; then dunning of what failed.
//! One contract that cannot be billed is reported and skipped; only storage
//! trouble stops a run (503), which is then simply run again.

use chrono::NaiveDate;
use pricing::{Catalog, Contract, Operations};
use serde_json::{Value, json};

use crate::http::{ApiError, ApiResult};
use crate::ids::{Random, new_id};
use crate::steps::billing::{ContractWrite, KnownAccount, Page, Planned, Report, midnight, plan_periods, stored_body};
use crate::steps::catalogs::{self, Parsed};
use crate::steps::change::{
    self, apply,
    request::{self, ChangeAction, ChangeRequest},
};
use crate::steps::collection::{charge_invoice, collect_due};
use crate::steps::contract_view::load_contract;
use crate::steps::suspension::{engine_contract, resumed_after};
use crate::steps::usage::{self, PageUsage};
use crate::store::amendments::{self, AmendmentStatus};
use crate::store::contracts::{self, Billable, ContractRow, ContractStatus};
use crate::store::usage as usage_store;
use crate::store::{Batch, Db, DbError, Stmt, billing_runs, catalogs as stored, invoices, multirow};
use crate::stripe::Stripe;
use crate::{App, Now};

/// Contracts of a page with a change waiting on its payment or scheduled by the run's date.
type Waiting = std::collections::BTreeSet<String>;

/// A contract's invoice whose batch the page writes together with the
/// others' (`flush`), then charges.
struct Deferred {
    contract_id: String,
    batch: Batch,
    invoice_id: Option<String>,
    day: NaiveDate,
    collects: bool,
}

/// A scheduled change is applied on the date it was scheduled for: its
/// `relativeEffectiveDate` (resolved when it was saved) becomes that date.
fn pin_date(op: &mut Value, date: NaiveDate) {
    let pin = |o: &mut serde_json::Map<String, Value>| {
        o.remove("relativeEffectiveDate");
        o.insert("effectiveDate".into(), json!(date.to_string()));
    };
    if let Value::Object(m) = op {
        match m.get_mut("operations") {
            Some(Value::Array(list)) => list.iter_mut().filter_map(Value::as_object_mut).for_each(pin),
            _ => pin(m),
        }
    }
}

/// One page of the daily run fanned out on the billing queue (`Page`'s
/// message): bills it and answers the report and the message of the rest of
/// its range, if any. Delivered twice, or run beside a consumer of an
/// overlapping page, it bills nothing twice (every period is claimed).
pub async fn run_message<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    message: &str,
    now: &Now,
) -> ApiResult<(Value, Option<String>)> {
    let page = Page::from_message(message)?;
    let report = run_page(app, &page, now).await?;
    let next = report.get("nextCursor").and_then(Value::as_str).map(|last| page.next(last).message());
    Ok((report, next))
}

/// `POST /api/billingRuns` and the cron: runs billing for `date` over one
/// page of contracts (after `cursor`), then dunning; answers the report.
pub async fn run<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    date: NaiveDate,
    cursor: &str,
    limit: i64,
    now: &Now,
) -> ApiResult<Value> {
    run_page(app, &Page { date, after: cursor.to_owned(), until: String::new(), limit }, now).await
}

/// One page: billing for its date over up to `limit` contracts of its range;
/// at the end of the last range (no `until`), dunning of what failed before.
async fn run_page<D: Db, S: Stripe, R: Random>(app: &App<D, S, R>, page: &Page, now: &Now) -> ApiResult<Value> {
    let (date, cursor, limit) = (page.date, page.after.as_str(), page.limit);
    let statements_before = app.db.statements();
    let (published, current) = catalogs::current_parsed(&app.db).await?;
    let mut versions = Parsed::default();
    versions.insert(published.version, std::rc::Rc::clone(&current));
    // The vendor's operating settings (dunning, auto-renewal) are the current catalog's.
    let operations = &current.operations;
    let mut report = Report::default();
    // Three reads for the whole page: its contracts with their bill groups and
    // accounts, which of them have a change to settle or apply first, and
    // their usage.
    let page_rows = contracts::billable_page(&app.db, cursor, &page.until, limit).await?;
    let full = i64::try_from(page_rows.len()).unwrap_or(0) >= limit;
    let next = if full { page_rows.last().map(|(id, _)| id.clone()) } else { None };
    let mut billables = Vec::with_capacity(page_rows.len());
    for (id, row) in page_rows {
        match row {
            Ok(b) => billables.push(b),
            Err(e) => {
                report.contracts = report.contracts.saturating_add(1);
                report.failed_contracts.push((id, e.into()));
            }
        }
    }
    let ids_json = json!(billables.iter().map(|b| b.row.id.as_str()).collect::<Vec<_>>()).to_string();
    let waiting = amendments::waiting_among(&app.db, &ids_json, &date.to_string()).await?;
    let metered = page_usage(app, &billables, &waiting, &mut versions, published.version).await?;
    // The invoices of contracts billed for one date and nothing else, written together.
    let mut deferred = Vec::new();
    for b in &billables {
        report.contracts = report.contracts.saturating_add(1);
        let facts = (b, &waiting, &mut deferred, Some(&metered));
        let billed = bill_contract(app, facts, date, &mut versions, published.version, operations, &mut report, now);
        reported(billed.await, &b.row.id, &mut report)?;
    }
    let conflicted = flush(app, deferred, &operations.retry_days, &mut report, now).await?;
    // Contracts another writer changed since the page read them (a change, a
    // usage event of a day being billed): billed once more from what is stored
    // now; one changed again waits for the next run.
    let mut again = Vec::new();
    for b in billables.iter().filter(|b| conflicted.contains(&b.row.id)) {
        let Some(row) = contracts::load(&app.db, &b.row.id).await? else { continue };
        let fresh = Billable { row, ..b.clone() };
        let facts = (&fresh, &waiting, &mut again, None);
        let billed = bill_contract(app, facts, date, &mut versions, published.version, operations, &mut report, now);
        reported(billed.await, &b.row.id, &mut report)?;
    }
    flush(app, again, &operations.retry_days, &mut report, now).await?;
    if next.is_none() && page.until.is_empty() {
        collect_due(app, date, &operations.retry_days, &mut report, now).await?;
    }
    let id = new_id(&app.rng, "run_");
    // Late usage: listed once, by the run that sees it first (marked in the run's own write).
    let late = usage_store::unreported_late(&app.db).await?;
    let late_ids: Vec<[&str; 2]> = late.iter().map(|l| [l.account_id.as_str(), l.event.id.as_str()]).collect();
    report.late_usage = late
        .iter()
        .map(|l| {
            json!({ "contractId": l.contract_id, "id": l.event.id, "productId": l.event.product_id,
                         "day": l.event.day, "quantity": l.event.quantity, "reason": l.event.late })
        })
        .collect();
    let mut body = report.to_json();
    if let Value::Object(m) = &mut body {
        m.insert("id".into(), json!(id));
        m.insert("date".into(), json!(date.to_string()));
        m.insert("nextCursor".into(), json!(next));
        m.insert("d1Statements".into(), json!(app.db.statements().saturating_sub(statements_before)));
    }
    let mut write = vec![billing_runs::insert(&id, &date.to_string(), &now.instant, &body.to_string())];
    if !late_ids.is_empty() {
        write.push(usage_store::mark_late_reported(&json!(late_ids).to_string(), &id));
    }
    app.db.batch(write).await?;
    Ok(body)
}

/// The usage of the page's contracts billed from the page's read (not those
/// with a change to settle or apply first), read in one statement. Only
/// contracts priced on a catalog with a metered product are parsed for it;
/// one that cannot be read here is left to its own billing, which reports it.
async fn page_usage<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    billables: &[Billable],
    waiting: &Waiting,
    versions: &mut Parsed,
    current: i64,
) -> ApiResult<PageUsage> {
    let mut wanted = Vec::new();
    for b in billables.iter().filter(|b| !waiting.contains(&b.row.id)) {
        let own = Parsed::version_of(&b.row.body, current);
        if versions.load_for(&app.db, &b.row.body, own).await.is_err() {
            continue;
        }
        let Ok(catalog) = versions.get(own) else { continue };
        if !catalog.products.iter().any(|p| p.aggregation().is_some()) {
            continue;
        }
        let Ok(contract) = Contract::from_json_versioned(catalog, &b.row.body, &versions.all()) else { continue };
        if let Some(from) = usage::billable_from(&contract) {
            wanted.push((b.row.id.clone(), from));
        }
    }
    usage::page_usage(&app.db, &wanted).await
}

/// A contract's outcome in the report: storage down stops the run (503, run
/// again; nothing is lost); any other error is reported and never stops the others.
fn reported(billed: ApiResult<()>, id: &str, report: &mut Report) -> ApiResult<()> {
    match billed {
        Ok(()) => Ok(()),
        Err(e) if e.status == 503 => Err(e),
        Err(e) => {
            report.failed_contracts.push((id.to_owned(), e));
            Ok(())
        }
    }
}

/// Scheduled changes on their dates, each day's invoices after them.
/// (`now` is the wall clock: when claims were taken.)
#[allow(clippy::too_many_arguments)]
async fn bill_contract<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    (b, waiting, deferred, metered): (&Billable, &Waiting, &mut Vec<Deferred>, Option<&PageUsage>),
    date: NaiveDate,
    versions: &mut Parsed,
    current: i64,
    operations: &Operations,
    report: &mut Report,
    now: &Now,
) -> ApiResult<()> {
    // A change whose charge was left unsettled is settled first; while
    // it cannot be (Stripe still silent, a live request on it), the
    // contract waits for the next run. (Only where the page found one, or a
    // scheduled change; a change made since makes the contract's version
    // claim fail, and the next run bills it.)
    let id = b.row.id.as_str();
    let waits = waiting.contains(id);
    if waits && apply::settle_pending(app, id, now).await.is_err() {
        report.unsettled = report.unsettled.saturating_add(1);
        return Ok(());
    }
    // The page's read of the contract serves its first pass, unless a change was settled first.
    let mut read = (!waits).then(|| b.row.clone());
    for _ in 0..100 {
        // The page's read of its usage serves the page's read of the contract.
        let (c, metered) = match read.take() {
            Some(c) => (c, metered),
            None => (load_contract(&app.db, id, None).await?, None),
        };
        if c.status == ContractStatus::Suspended {
            return Ok(());
        }
        let scheduled = if waits { amendments::next_scheduled(&app.db, id, &date.to_string()).await? } else { None };
        // A scheduled change waits while an invoice of the contract is in
        // dunning (a credit against an unpaid charge that dunning may void);
        // one that waited for a suspension takes effect the day it resumed.
        let scheduled = match scheduled {
            Some(_) if invoices::in_dunning(&app.db, id).await?.is_some() => None,
            s => s,
        };
        let change = scheduled.map(|s| (s.id, resumed_after(&c.body, s.effective), (s.request, s.catalog_version)));
        // A termed contract reaching its end renews or ends on that day.
        let end = (c.status == ContractStatus::Active)
            .then(|| c.body.get("endDate").and_then(Value::as_str).and_then(pricing::parse_date))
            .flatten()
            .filter(|e| *e <= date && change.as_ref().is_none_or(|(_, ce, _)| e < ce));
        // Invoices due before the event's day, then the event, then the rest;
        // a contract that ends (no renewal) first through its last day: its
        // last period's usage and an arrears line's last piece are dated endDate.
        let renews = c.body.get("autoRenew").and_then(Value::as_bool).unwrap_or(operations.auto_renew);
        let event_day = end.or(change.as_ref().map(|(_, e, _)| *e));
        let horizon = match end {
            Some(e) if !renews => Some(e),
            _ => event_day.map_or(Some(date), |e| e.pred_opt()),
        };
        // Priced on the version it was sold or last changed on (grandfathered).
        let own = Parsed::version_of(&c.body, current);
        versions.load_for(&app.db, &c.body, own).await?;
        if let Some(h) = horizon {
            // Billed and nothing else this run: its invoice may wait for the page's batch.
            let defer = (end.is_none() && change.is_none() && !waits).then_some(&mut *deferred);
            issue_due(app, (&c, b, defer, metered), h, versions, own, &operations.retry_days, report, now).await?;
        }
        if let Some(end) = end {
            let c = load_contract(&app.db, id, None).await?;
            renew_or_end(app, &c, end, versions.get(own)?, operations, report).await?;
            continue;
        }
        let Some((amendment, effective, (request, quoted_on))) = change else { return Ok(()) };
        let c = load_contract(&app.db, id, None).await?;
        let mut op = request;
        if let Value::Object(m) = &mut op {
            m.insert("contractId".into(), json!(id));
        }
        pin_date(&mut op, effective);
        // Priced on the catalog version it was quoted on: what the customer was shown.
        let req = ChangeRequest { priced_on: Some(quoted_on), ..request::parse(&op)? };
        match change::run(app, c, &req, Some(&amendment), &midnight(effective)).await {
            Ok(_) => report.changes_applied = report.changes_applied.saturating_add(1),
            Err(e) => {
                // Not applicable any more (say, the contract changed): recorded, not retried forever.
                let error = json!({ "code": e.code, "message": e.message });
                app.db.batch(vec![amendments::fail_scheduled(&amendment, &error)]).await?;
            }
        }
    }
    Ok(())
}

/// At a termed contract's `endDate`: another term when it auto-renews (the
/// contract's `autoRenew`, else the catalog's `settings.autoRenew`,
/// default false), else it ends. Either is recorded as an amendment.
async fn renew_or_end<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    c: &ContractRow,
    end: NaiveDate,
    catalog: &Catalog,
    operations: &Operations,
    report: &mut Report,
) -> ApiResult<()> {
    use chrono::Datelike;
    let auto = c.body.get("autoRenew").and_then(Value::as_bool).unwrap_or(operations.auto_renew);
    let start = c.body.get("startDate").and_then(Value::as_str).and_then(pricing::parse_date).unwrap_or(end);
    let term = c
        .body
        .pointer("/offerings/0/rateId")
        .and_then(Value::as_str)
        .and_then(|rate| catalog.offerings.iter().flat_map(|o| o.rates.iter()).find(|r| &*r.id == rate))
        .and_then(|r| r.term_months)
        .unwrap_or(12);
    let at = midnight(end).instant;
    let mut body = c.body.clone();
    let (action, status, months) = if auto {
        let new_end = pricing::add_months(end, i64::from(term), start.day())
            .ok_or_else(|| ApiError::internal(format_args!("{end} + {term} months")))?;
        // A renewal that waited for a suspension bills the new term from the resumption.
        let mut versions = Parsed::default();
        let (_, contract) = engine_contract(&app.db, c, &mut versions).await?;
        let renewed = pricing::billing::renew(&contract, new_end, resumed_after(&c.body, end));
        body = stored_body(&renewed, &c.body);
        report.renewed = report.renewed.saturating_add(1);
        (ChangeAction::Renew, ContractStatus::Active, i64::from(term))
    } else {
        if let Value::Object(m) = &mut body {
            m.insert("status".into(), json!("CANCELED"));
        }
        report.ended = report.ended.saturating_add(1);
        (ChangeAction::TermEnd, ContractStatus::Canceled, 0)
    };
    let req = ChangeRequest {
        contract_id: c.id.clone(),
        op: json!({ "action": action.as_str(), "payload": { "months": months } }),
        actions: vec![action],
        preview: false,
        evaluate_approval_rules: false,
        priced_on: None,
    };
    let quote = json!({ "type": "AMENDMENT", "status": "PROCESSED", "contractId": c.id, "actions": [action.as_str()],
                        "effectiveDate": end.to_string(), "previousEndDate": end.to_string(),
                        "endDate": body.get("endDate"), "automatic": true });
    let amendment = new_id(&app.rng, "amd_");
    let mut batch = c.claim(c.version.saturating_add(1), action.as_str(), &at);
    batch.push(contracts::set_body_status(&c.id, &body, status));
    let catalog_version = stored::current_version(&app.db).await?;
    let end = end.to_string();
    batch.push(
        apply::amendment(&amendment, c, &req, AmendmentStatus::Applied, &end, &quote, catalog_version, &at).upsert(),
    );
    match app.db.batch(batch).await {
        Ok(()) | Err(DbError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Issues every invoice due on the contract through `through`, one per
/// invoice date, priced on catalog version `own` (kept pieces on theirs).
#[allow(clippy::too_many_arguments)]
async fn issue_due<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    (c, page, defer, metered): (&ContractRow, &Billable, Option<&mut Vec<Deferred>>, Option<&PageUsage>),
    through: NaiveDate,
    versions: &Parsed,
    own: i64,
    retry_days: &[i64],
    report: &mut Report,
    now: &Now,
) -> ApiResult<()> {
    let catalog = versions.get(own)?;
    let contract =
        Contract::from_json_versioned(catalog, &c.body, &versions.all()).map_err(|e| c.unreadable_body(e))?;
    // Metered products are billed on the usage stored for them (late events
    // left out); each invoice's batch fails if an event was stored since.
    let usage = usage::billable(&app.db, &c.id, &contract, (versions, own), metered).await?;
    let unchanged = usage::unchanged(&c.id, &contract, &usage, through)?;
    let (all, _) =
        pricing::billing::due(catalog, &contract, through, &usage).map_err(|e| ApiError::from_engine(&e, ""))?;
    let mut dates: Vec<NaiveDate> = all.iter().map(|p| p.invoice_date).collect();
    dates.dedup();
    let mut current = contract;
    let mut row = c.clone();
    let (first, last) = (dates.first().copied(), dates.last().copied());
    let mut defer = defer.filter(|_| first == last);
    for day in dates {
        let (periods, after) =
            pricing::billing::due(catalog, &current, day, &usage).map_err(|e| ApiError::from_engine(&e, ""))?;
        if periods.is_empty() {
            continue;
        }
        // The account as the page read it, for the first invoice only (one
        // issued since may have used credit).
        let known = (Some(day) == first).then_some(KnownAccount {
            billing_address: page.billing_address.as_ref(),
            credit_balance: page.credit_balance,
        });
        let planned = plan(app, &row, (&periods, &after, unchanged.clone()), day, catalog, known).await?;
        if let Some(page_writes) = defer.as_deref_mut().filter(|_| multirow::combinable(&planned.batch)) {
            let (contract_id, collects) = (c.id.clone(), page.collects);
            let (batch, invoice_id) = (planned.batch, planned.invoice_id);
            page_writes.push(Deferred { contract_id, batch, invoice_id, day, collects });
            return Ok(());
        }
        match app.db.batch(planned.batch).await.map(|()| planned.invoice_id) {
            Ok(Some(invoice_id)) => {
                report.invoices_issued = report.invoices_issued.saturating_add(1);
                // Invoices collected by hand wait to be paid; dunning tries the others too.
                if page.collects {
                    charge_invoice(app, &invoice_id, day, retry_days, report, now).await?;
                }
            }
            Ok(None) => {}
            // Another run issued these periods (or changed the contract): start over from what is stored.
            Err(DbError::Conflict(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        current = after;
        // Another date to bill: from the contract as now stored.
        if Some(day) != last {
            row = load_contract(&app.db, &c.id, None).await?;
        }
    }
    Ok(())
}

/// The page's deferred invoices in one batch, then their charges. When a
/// concurrent writer changed one of their contracts first (a conflict), each
/// is written on its own instead; answers the contracts whose own batch
/// conflicted too (nothing of them written).
async fn flush<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    deferred: Vec<Deferred>,
    retry_days: &[i64],
    report: &mut Report,
    now: &Now,
) -> ApiResult<Vec<String>> {
    if deferred.is_empty() {
        return Ok(Vec::new());
    }
    let batches: Vec<Batch> = deferred.iter().map(|d| d.batch.clone()).collect();
    let written: Vec<bool> = match app.db.batch(multirow::combine(&batches)).await {
        Ok(()) => vec![true; deferred.len()],
        Err(DbError::Conflict(_)) => {
            let mut written = Vec::with_capacity(batches.len());
            for batch in batches {
                match app.db.batch(batch).await {
                    Ok(()) => written.push(true),
                    Err(DbError::Conflict(_)) => written.push(false),
                    Err(e) => return Err(e.into()),
                }
            }
            written
        }
        Err(e) => return Err(e.into()),
    };
    let mut conflicted = Vec::new();
    for (d, written) in deferred.iter().zip(written) {
        if !written {
            conflicted.push(d.contract_id.clone());
            continue;
        }
        let Some(invoice_id) = &d.invoice_id else { continue };
        report.invoices_issued = report.invoices_issued.saturating_add(1);
        if d.collects {
            match charge_invoice(app, invoice_id, d.day, retry_days, report, now).await {
                Ok(()) => {}
                Err(e) if e.status == 503 => return Err(e),
                Err(e) => report.failed_contracts.push((d.contract_id.clone(), e)),
            }
        }
    }
    Ok(conflicted)
}

/// One invoice for `periods`, in one batch with its period claims and the
/// contract's new `invoicedThrough`: the batch, not yet written. Its invoice
/// is `None` when every line rounded to zero (the periods are still marked billed).
async fn plan<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    c: &ContractRow,
    (periods, after, guard): (&[pricing::billing::DuePeriod], &Contract, Option<Stmt>),
    day: NaiveDate,
    catalog: &Catalog,
    known: Option<KnownAccount<'_>>,
) -> Result<Planned, DbError> {
    let at = midnight(day).instant;
    let write = ContractWrite { body: stored_body(after, &c.body), status: c.status, action: "BILLED", at: &at };
    plan_periods(app, c, periods, &write, guard.into_iter().collect(), day, catalog, known).await
}
