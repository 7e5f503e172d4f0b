//! The billing run: for every active contract, scheduled changes on their
//! dates, then each period's invoice (the engine's `billing::due`), charged
//! when the bill group collects automatically; then dunning of what failed.
//!
//! Exactly once: an invoice claims `billed_periods(contract, line, period)` in
//! its own batch, so a second or concurrent run issues nothing twice; a charge
//! attempt claims `payment_attempts(invoice, attempt)` before calling Stripe,
//! with the Stripe key `{invoice}/attempt/{n}`. An invoice left uncharged by a
//! run that stopped half-way is charged by the next.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate, NaiveTime};
use pricing::{Address, Catalog, Contract, Invoice};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::api::{ApiError, ApiResult};
use crate::catalogs;
use crate::charges::Settled;
use crate::contracts::{ContractRow, collects_automatically, load_account, parse_change};
use crate::db::{Db, DbError, int, json as json_col, text};
use crate::ids::{Random, new_id};
use crate::records::{InvoiceFigures, InvoiceHead, Payment, engine_json, insert_invoice, invoice_view};
use crate::session::claim_expired;
use crate::stripe::{Charge, Stripe, StripeError};

/// The `decline_code` of a PENDING attempt whose run ended without knowing
/// whether the charge went through.
const OUTCOME_UNKNOWN: &str = "outcome_unknown";
use crate::{App, Now, stmt};

/// Contracts per page when none is asked for, and the most.
pub const DEFAULT_PAGE: i64 = 100;
/// The largest page a run takes in one request.
pub const MAX_PAGE: i64 = 200;
/// Default dunning: retries 1, 3 and 5 days after the first failure.
pub const DEFAULT_RETRY_DAYS: [i64; 3] = [1, 3, 5];

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
}

impl Report {
    fn to_json(&self) -> Value {
        json!({
            "contracts": self.contracts, "invoicesIssued": self.invoices_issued, "charged": self.charged,
            "failed": self.failed, "changesApplied": self.changes_applied, "voided": self.voided,
            "suspended": self.suspended, "renewed": self.renewed, "ended": self.ended, "unsettled": self.unsettled,
            "failedContracts": self.failed_contracts.iter().map(|(id, e)| json!({
                "contractId": id, "code": e.code, "path": e.path, "message": e.message,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The catalog's `settings.dunning.retryDays` (days after the first failure), or the default.
fn retry_days(catalog: &Value) -> Vec<i64> {
    catalog
        .pointer("/settings/dunning/retryDays")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_else(|| DEFAULT_RETRY_DAYS.to_vec())
}

/// Checks `settings.dunning` at publish time (`retryDays`: ascending whole
/// days 1..=60, at most 10) and `settings.autoRenew` (a boolean).
pub fn check_dunning(catalog: &Value) -> ApiResult<()> {
    if catalog.pointer("/settings/autoRenew").is_some_and(|v| !v.is_boolean() && !v.is_null()) {
        return Err(ApiError::bad("INVALID_CATALOG", "settings.autoRenew", "autoRenew is true or false"));
    }
    let Some(d) = catalog.pointer("/settings/dunning").filter(|v| !v.is_null()) else { return Ok(()) };
    let invalid = |path: &str, m: &str| ApiError::bad("INVALID_CATALOG", path, m.to_owned());
    let days = d
        .get("retryDays")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("settings.dunning.retryDays", "retryDays is a list of days"))?;
    let mut last = 0;
    for (i, v) in days.iter().enumerate() {
        match v.as_i64() {
            Some(n) if n > last && n <= 60 && i < 10 => last = n,
            _ => {
                let path = format!("settings.dunning.retryDays[{i}]");
                return Err(invalid(&path, "ascending whole days from 1 to 60, at most 10"));
            }
        }
    }
    Ok(())
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

/// The fields the API keeps on a stored contract beside the engine's.
pub(crate) const EDGE_FIELDS: &[&str] =
    &["accountId", "billGroupId", "quoteId", "autoRenew", "catalogVersion", "suspensions"];

/// The engine's contract as stored, with the API's own fields of `old` kept:
/// nothing the engine removed (a billed piece) comes back.
pub(crate) fn stored_body(after: &Contract, old: &Value) -> Value {
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

/// A contract's next version as written with an invoice.
pub(crate) struct ContractWrite<'a> {
    /// The stored body.
    pub(crate) body: Value,
    /// The stored status.
    pub(crate) status: &'a str,
    /// What the version records (`BILLED`, `RESUMED`).
    pub(crate) action: &'a str,
    /// When.
    pub(crate) at: &'a str,
}

/// Invoices read at a time when collecting those due (every one due is tried in the run).
const COLLECT_PAGE: i64 = 200;

fn midnight(d: NaiveDate) -> Now {
    Now::from_naive(d.and_time(NaiveTime::MIN))
}

impl<D: Db, S: Stripe, R: Random> App<D, S, R> {
    /// `POST /api/billingRuns` and the cron: runs billing for `date` over one
    /// page of contracts (after `cursor`), then dunning; answers the report.
    pub async fn billing_run(&self, date: NaiveDate, cursor: &str, limit: i64, now: &Now) -> ApiResult<Value> {
        let statements_before = self.db.statements();
        let published = catalogs::require_current(&self.db).await?;
        let mut versions = catalogs::Parsed::default();
        versions.insert(published.version, published.parse()?);
        // The vendor's operating settings (dunning, auto-renewal) are the current catalog's.
        let catalog_json: Value = serde_json::from_str(&published.body).unwrap_or(Value::Null);
        let mut report = Report::default();
        let rows = self
            .db
            .query(stmt!(
                "SELECT id FROM contracts WHERE (status = 'ACTIVE' OR (status = 'CANCELED' AND \
                 json_extract(body, '$.unbilledArrears') IS NOT NULL)) AND id > ?1 ORDER BY id LIMIT ?2",
                cursor,
                limit
            ))
            .await?;
        for id in rows.iter().filter_map(|r| text(r, "id")) {
            report.contracts = report.contracts.saturating_add(1);
            let billed =
                self.bill_contract(&id, date, &mut versions, published.version, &catalog_json, &mut report, now);
            match billed.await {
                Ok(()) => {}
                // Storage down: the run stops (503) and is run again; nothing is lost.
                Err(e) if e.status == 503 => return Err(e),
                // One contract that cannot be billed never stops the others.
                Err(e) => report.failed_contracts.push((id, e)),
            }
        }
        let next = if i64::try_from(rows.len()).unwrap_or(0) >= limit {
            rows.last().and_then(|r| text(r, "id"))
        } else {
            None
        };
        if next.is_none() {
            self.collect_due(date, &catalog_json, &mut report, now).await?;
        }
        let id = new_id(&self.rng, "run_");
        let mut body = report.to_json();
        if let Value::Object(m) = &mut body {
            m.insert("id".into(), json!(id));
            m.insert("date".into(), json!(date.to_string()));
            m.insert("nextCursor".into(), json!(next));
            m.insert("d1Statements".into(), json!(self.db.statements().saturating_sub(statements_before)));
        }
        self.db
            .batch(vec![stmt!(
                "INSERT INTO billing_runs (id, run_date, started_at, report) VALUES (?1, ?2, ?3, ?4)",
                id.as_str(),
                date.to_string(),
                now.instant.as_str(),
                body.to_string()
            )])
            .await?;
        Ok(body)
    }

    /// Scheduled changes on their dates, each day's invoices after them.
    /// (`now` is the wall clock: when claims were taken.)
    #[allow(clippy::too_many_arguments)]
    async fn bill_contract(
        &self,
        id: &str,
        date: NaiveDate,
        versions: &mut catalogs::Parsed,
        current: i64,
        catalog_json: &Value,
        report: &mut Report,
        now: &Now,
    ) -> ApiResult<()> {
        // A change whose charge was left unsettled is settled first; while
        // it cannot be (Stripe still silent, a live request on it), the
        // contract waits for the next run.
        if self.settle_pending_change(id, now).await.is_err() {
            report.unsettled = report.unsettled.saturating_add(1);
            return Ok(());
        }
        for _ in 0..100 {
            let c = ContractRow::load(&self.db, id, None).await?;
            if c.status == "SUSPENDED" {
                return Ok(());
            }
            let scheduled = self
                .db
                .query(stmt!(
                    "SELECT id, effective_date, request FROM amendments WHERE contract_id = ?1 AND status = 'SCHEDULED' \
                     AND effective_date <= ?2 ORDER BY effective_date, id LIMIT 1",
                    id,
                    date.to_string()
                ))
                .await?;
            let change = scheduled.first().and_then(|r| {
                Some((text(r, "id")?, pricing::parse_date(&text(r, "effective_date")?)?, json_col(r, "request")?))
            });
            // A termed contract reaching its end renews or ends on that day.
            let end = (c.status == "ACTIVE")
                .then(|| c.body.get("endDate").and_then(Value::as_str).and_then(pricing::parse_date))
                .flatten()
                .filter(|e| *e <= date && change.as_ref().is_none_or(|(_, ce, _)| e < ce));
            // Invoices due before the event's day, then the event, then the rest.
            let event_day = end.or(change.as_ref().map(|(_, e, _)| *e));
            let horizon = event_day.map_or(Some(date), |e| e.pred_opt());
            // Priced on the version it was sold or last changed on (grandfathered).
            let own = catalogs::Parsed::version_of(&c.body, current);
            versions.load_for(&self.db, &c.body, own).await?;
            if let Some(h) = horizon {
                self.issue_due(&c, h, versions, own, catalog_json, report, now).await?;
            }
            if let Some(end) = end {
                let c = ContractRow::load(&self.db, id, None).await?;
                self.renew_or_end(&c, end, versions.get(own)?, catalog_json, report).await?;
                continue;
            }
            let Some((amendment, effective, request)) = change else { return Ok(()) };
            let c = ContractRow::load(&self.db, id, None).await?;
            let mut op = request;
            if let Value::Object(m) = &mut op {
                m.insert("contractId".into(), json!(id));
            }
            pin_date(&mut op, effective);
            let req = parse_change(&op)?;
            match self.run_change(c, &req, Some(&amendment), &midnight(effective)).await {
                Ok(_) => report.changes_applied = report.changes_applied.saturating_add(1),
                Err(e) => {
                    // Not applicable any more (say, the contract changed): recorded, not retried forever.
                    let error = json!({ "code": e.code, "message": e.message });
                    self.db
                        .batch(vec![stmt!(
                            "UPDATE amendments SET status = 'FAILED', error = ?2 WHERE id = ?1 AND status = 'SCHEDULED'",
                            amendment.as_str(),
                            error.to_string()
                        )])
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// At a termed contract's `endDate`: another term when it auto-renews (the
    /// contract's `autoRenew`, else the catalog's `settings.autoRenew`,
    /// default false), else it ends. Either is recorded as an amendment.
    async fn renew_or_end(
        &self,
        c: &ContractRow,
        end: NaiveDate,
        catalog: &Catalog,
        catalog_json: &Value,
        report: &mut Report,
    ) -> ApiResult<()> {
        use chrono::Datelike;
        let auto = c
            .body
            .get("autoRenew")
            .and_then(Value::as_bool)
            .or_else(|| catalog_json.pointer("/settings/autoRenew").and_then(Value::as_bool))
            .unwrap_or(false);
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
            let new_end = pricing::add_months(end, i64::from(term), start.day()).ok_or_else(ApiError::internal)?;
            if let Value::Object(m) = &mut body {
                m.insert("endDate".into(), json!(new_end.to_string()));
            }
            report.renewed = report.renewed.saturating_add(1);
            ("RENEW", "ACTIVE", i64::from(term))
        } else {
            if let Value::Object(m) = &mut body {
                m.insert("status".into(), json!("CANCELED"));
            }
            report.ended = report.ended.saturating_add(1);
            ("TERM_END", "CANCELED", 0)
        };
        let req = crate::contracts::ChangeRequest {
            contract_id: c.id.clone(),
            op: json!({ "action": action, "payload": { "months": months } }),
            actions: vec![action.to_owned()],
            preview: false,
            evaluate_approval_rules: false,
        };
        let quote = json!({ "type": "AMENDMENT", "status": "PROCESSED", "contractId": c.id, "actions": [action],
                            "effectiveDate": end.to_string(), "previousEndDate": end.to_string(),
                            "endDate": body.get("endDate"), "automatic": true });
        let amendment = new_id(&self.rng, "amd_");
        let mut batch = c.claim(c.version.saturating_add(1), action, &at);
        batch.push(stmt!(
            "UPDATE contracts SET body = ?2, status = ?3 WHERE id = ?1",
            c.id.as_str(),
            body.to_string(),
            status
        ));
        let version = self.db.query(stmt!("SELECT MAX(version) AS v FROM catalog_versions")).await?;
        let catalog_version = version.first().and_then(|r| int(r, "v")).unwrap_or(1);
        batch.push(crate::contracts::save_amendment(
            &amendment,
            c,
            &req,
            "APPLIED",
            &end.to_string(),
            &quote,
            catalog_version,
            None,
            None,
            &at,
        ));
        match self.db.batch(batch).await {
            Ok(()) | Err(DbError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Issues every invoice due on the contract through `through`, one per
    /// invoice date, priced on catalog version `own` (kept pieces on theirs).
    #[allow(clippy::too_many_arguments)]
    async fn issue_due(
        &self,
        c: &ContractRow,
        through: NaiveDate,
        versions: &catalogs::Parsed,
        own: i64,
        catalog_json: &Value,
        report: &mut Report,
        now: &Now,
    ) -> ApiResult<()> {
        let catalog = versions.get(own)?;
        let contract = Contract::from_json_versioned(catalog, &c.body, &versions.all())
            .map_err(|e| ApiError::from_engine(&e, ""))?;
        let (all, _) = pricing::billing::due(catalog, &contract, through).map_err(|e| ApiError::from_engine(&e, ""))?;
        let mut dates: Vec<NaiveDate> = all.iter().map(|p| p.invoice_date).collect();
        dates.dedup();
        let mut current = contract;
        let mut row = c.clone();
        for day in dates {
            let (periods, after) =
                pricing::billing::due(catalog, &current, day).map_err(|e| ApiError::from_engine(&e, ""))?;
            if periods.is_empty() {
                continue;
            }
            match self.issue(&row, &periods, &after, day, catalog).await {
                Ok(Some(invoice_id)) => {
                    report.invoices_issued = report.invoices_issued.saturating_add(1);
                    self.charge_invoice(&invoice_id, day, catalog_json, report, now).await?;
                }
                Ok(None) => {}
                // Another run issued these periods (or changed the contract): start over from what is stored.
                Err(DbError::Conflict(_)) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
            current = after;
            row = ContractRow::load(&self.db, &c.id, None).await?;
        }
        Ok(())
    }

    /// One invoice for `periods`, in one batch with its period claims and the
    /// contract's new `invoicedThrough`. `None` when every line rounded to zero
    /// (the periods are still marked billed).
    async fn issue(
        &self,
        c: &ContractRow,
        periods: &[pricing::billing::DuePeriod],
        after: &Contract,
        day: NaiveDate,
        catalog: &Catalog,
    ) -> Result<Option<String>, DbError> {
        let at = midnight(day).instant;
        let write = ContractWrite { body: stored_body(after, &c.body), status: &c.status, action: "BILLED", at: &at };
        self.issue_periods(c, periods, &write, Vec::new(), day, catalog).await
    }

    /// One invoice dated `day` for `periods`, in one batch with the
    /// contract's next version (`write`, after the `first` statements) and
    /// the periods' claims; the account's credit balance is applied first.
    /// `None` when every line rounded to zero: no invoice is issued then.
    pub(crate) async fn issue_periods(
        &self,
        c: &ContractRow,
        periods: &[pricing::billing::DuePeriod],
        write: &ContractWrite<'_>,
        first: Vec<crate::db::Stmt>,
        day: NaiveDate,
        catalog: &Catalog,
    ) -> Result<Option<String>, DbError> {
        let account = load_account(&self.db, &c.account_id).await.map_err(|_| DbError::Other("account".into()))?;
        let lines = periods.iter().flat_map(|p| p.lines.clone()).collect();
        let invoice = Invoice::new(&catalog.currency, day, lines)
            .and_then(|i| i.with_tax(catalog, &Address::from_json(&account.billing_address)))
            .map_err(|e| DbError::Other(e.message))?;
        let at = write.at;
        let invoice_id = new_id(&self.rng, "inv_");
        let mut batch = c.claim(c.version.saturating_add(1), write.action, at);
        batch.extend(first);
        batch.push(stmt!(
            "UPDATE contracts SET body = ?2, status = ?3 WHERE id = ?1",
            c.id.as_str(),
            write.body.to_string(),
            write.status
        ));
        let issued = !invoice.lines.is_empty();
        if issued {
            for p in periods {
                batch.push(stmt!(
                    "INSERT INTO billed_periods (contract_id, offering_id, period_start, invoice_id) VALUES (?1, ?2, ?3, ?4)",
                    c.id.as_str(),
                    &*p.offering_id,
                    p.period_start.to_string(),
                    invoice_id.as_str()
                ));
            }
            let currency = catalog.currency.code();
            let credit = pricing::apply_credit(account.credit_balance, invoice.amount)
                .ok_or_else(|| DbError::Other("credit overflow".into()))?;
            let (applied, due) = (credit.applied, credit.due);
            let head = InvoiceHead {
                id: &invoice_id,
                status: if due.is_zero() { "PAID" } else { "OPEN" },
                currency,
                account_id: &c.account_id,
                contract_id: &c.id,
                bill_group_id: &c.bill_group_id,
                credit_applied: applied,
                amount_due: due,
                at,
            };
            let view = invoice_view(&self.rng, &invoice, &head);
            // The invoice first: the period claims reference it.
            batch.insert(0, insert_invoice(&InvoiceFigures::of(&invoice), &head, &view));
            batch.push(stmt!(
                "UPDATE accounts SET credit_balance = ?2 WHERE id = ?1",
                c.account_id.as_str(),
                credit.balance.to_string()
            ));
        }
        self.db.batch(batch).await?;
        Ok(issued.then_some(invoice_id))
    }

    /// Charges an open invoice (attempt n+1) when its bill group collects
    /// automatically and a card is saved; records the attempt and the dunning
    /// step. An attempt whose outcome Stripe could not tell stays PENDING and
    /// is taken up again, under the same key, by the next run (at most one charge).
    pub(crate) async fn charge_invoice(
        &self,
        invoice_id: &str,
        day: NaiveDate,
        catalog: &Value,
        report: &mut Report,
        now: &Now,
    ) -> ApiResult<()> {
        if !report.tried.insert(invoice_id.to_owned()) {
            return Ok(());
        }
        let rows = self.db.query(stmt!("SELECT * FROM invoices WHERE id = ?1", invoice_id)).await?;
        let Some(inv) = rows.first() else { return Ok(()) };
        let due: Decimal = text(inv, "amount_due").and_then(|d| d.parse().ok()).unwrap_or_default();
        let (account_id, bill_group, contract_id) = (
            text(inv, "account_id").unwrap_or_default(),
            text(inv, "bill_group_id").unwrap_or_default(),
            text(inv, "contract_id").unwrap_or_default(),
        );
        let currency = text(inv, "currency").unwrap_or_default();
        if text(inv, "status").as_deref() != Some("OPEN") || due <= Decimal::ZERO {
            return Ok(());
        }
        if !collects_automatically(&self.db, &bill_group).await? {
            return Ok(());
        }
        let account = load_account(&self.db, &account_id).await?;
        let (Some(customer), Some(pm)) = (account.stripe_customer_id, account.payment_method) else { return Ok(()) };
        let attempt = int(inv, "attempts").unwrap_or(0).saturating_add(1);
        let at = midnight(day).instant;
        let claim = stmt!(
            "INSERT INTO payment_attempts (invoice_id, attempt, at, status, claimed_at) VALUES (?1, ?2, ?3, 'PENDING', ?4)",
            invoice_id,
            attempt,
            at.as_str(),
            now.instant.as_str()
        );
        match self.db.batch(vec![claim]).await {
            Ok(()) => {}
            // Claimed before: by a live run (left to it), or by one that stopped or let it go.
            Err(DbError::Conflict(_)) if !self.take_over_attempt(invoice_id, attempt, now).await? => return Ok(()),
            Err(DbError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let charge = Charge {
            customer: &customer,
            payment_method: &pm,
            amount: pricing::to_minor_units(due, &currency).ok_or_else(ApiError::internal)?,
            currency: currency.to_ascii_lowercase(),
            metadata: vec![("quotekit_invoice", invoice_id.to_owned()), ("quotekit_contract", contract_id.clone())],
        };
        let key = format!("{invoice_id}/attempt/{attempt}");
        let settled = match self.charge_once(&key, &charge, now).await {
            Ok(pi) => Settled::Charged(pi),
            Err(e @ StripeError::Declined { .. }) => Settled::Declined(e),
            // No answer, or a refused call: find out where the charge stands (and stop it if it has not run).
            Err(_) => self.settle(&key).await,
        };
        let result = match settled {
            Settled::Charged(pi) => Ok(pi),
            Settled::Declined(e) => Err(e),
            Settled::NotCharged => {
                Err(StripeError::Unavailable("Stripe could not be reached; nothing was charged".into()))
            }
            Settled::Unknown(e) => {
                report.unsettled = report.unsettled.saturating_add(1);
                // Should this write fail too, the claim expires in a minute instead.
                self.db
                    .batch(vec![stmt!(
                        "UPDATE payment_attempts SET decline_code = ?3, message = ?4 \
                         WHERE invoice_id = ?1 AND attempt = ?2 AND status = 'PENDING'",
                        invoice_id,
                        attempt,
                        OUTCOME_UNKNOWN,
                        format!("{e:?}")
                    )])
                    .await
                    .ok();
                return Ok(());
            }
        };
        let mut batch = Vec::new();
        match result {
            Ok(pi) => {
                report.charged = report.charged.saturating_add(1);
                let payment_id = new_id(&self.rng, "pay_");
                let payment = Payment {
                    id: &payment_id,
                    account_id: &account_id,
                    invoice_id,
                    amount: due,
                    currency: &currency,
                    payment_intent: &pi.id,
                    at: &at,
                };
                batch.push(payment.insert());
                batch.push(stmt!(
                    "UPDATE invoices SET status = 'PAID', amount_due = '0', attempts = ?2, next_attempt_on = NULL \
                     WHERE id = ?1",
                    invoice_id,
                    attempt
                ));
                batch.push(stmt!(
                    "UPDATE payment_attempts SET status = 'SUCCEEDED', stripe_payment_intent_id = ?3 \
                     WHERE invoice_id = ?1 AND attempt = ?2",
                    invoice_id,
                    attempt,
                    pi.id.as_str()
                ));
            }
            Err(e) => {
                let (code, message) = match &e {
                    StripeError::Declined { decline_code, code, message } => {
                        (decline_code.clone().unwrap_or_else(|| code.clone()), message.clone())
                    }
                    StripeError::Unavailable(m) => ("provider_unavailable".to_owned(), m.clone()),
                    StripeError::Rejected { message, .. } => ("rejected".to_owned(), message.clone()),
                };
                report.failed = report.failed.saturating_add(1);
                let first_failed = text(inv, "first_failed_on").and_then(|d| pricing::parse_date(&d)).unwrap_or(day);
                let retries = retry_days(catalog);
                let retry_index = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
                batch.push(stmt!(
                    "UPDATE payment_attempts SET status = 'FAILED', decline_code = ?3, message = ?4 \
                     WHERE invoice_id = ?1 AND attempt = ?2",
                    invoice_id,
                    attempt,
                    code.as_str(),
                    message.as_str()
                ));
                match retries.get(retry_index) {
                    Some(days) => {
                        let next = first_failed.checked_add_signed(Duration::days(*days)).unwrap_or(first_failed);
                        batch.push(stmt!(
                            "UPDATE invoices SET attempts = ?2, next_attempt_on = ?3, first_failed_on = ?4 WHERE id = ?1",
                            invoice_id,
                            attempt,
                            next.to_string(),
                            first_failed.to_string()
                        ));
                    }
                    None => {
                        // The last retry failed: void the invoice, suspend the contract
                        // (no day of the suspension is ever billed).
                        report.voided = report.voided.saturating_add(1);
                        batch.push(stmt!(
                            "UPDATE invoices SET status = 'VOID', attempts = ?2, next_attempt_on = NULL WHERE id = ?1",
                            invoice_id,
                            attempt
                        ));
                        let suspension = self.suspension(&contract_id, invoice_id, day, &at).await?;
                        if !suspension.is_empty() {
                            report.suspended = report.suspended.saturating_add(1);
                        }
                        batch.extend(suspension);
                    }
                }
            }
        }
        match self.db.batch(batch).await {
            // A twin taking up the same attempt recorded the same outcome.
            Err(DbError::Conflict(_)) => Ok(()),
            r => r.map_err(Into::into),
        }
    }

    /// Whether a PENDING attempt's claim was let go (outcome unknown) or
    /// expired (its run stopped); if so, this run takes it over.
    async fn take_over_attempt(&self, invoice_id: &str, attempt: i64, now: &Now) -> ApiResult<bool> {
        let rows = self
            .db
            .query(stmt!(
                "SELECT status, decline_code, claimed_at FROM payment_attempts WHERE invoice_id = ?1 AND attempt = ?2",
                invoice_id,
                attempt
            ))
            .await?;
        let free = rows.first().is_some_and(|r| {
            text(r, "status").as_deref() == Some("PENDING")
                && (text(r, "decline_code").as_deref() == Some(OUTCOME_UNKNOWN)
                    || text(r, "claimed_at").is_none_or(|t| claim_expired(&t, now)))
        });
        if free {
            self.db
                .batch(vec![stmt!(
                    "UPDATE payment_attempts SET claimed_at = ?3, decline_code = NULL, message = NULL \
                     WHERE invoice_id = ?1 AND attempt = ?2 AND status = 'PENDING'",
                    invoice_id,
                    attempt,
                    now.instant.as_str()
                )])
                .await?;
        }
        Ok(free)
    }

    /// Dunning: open invoices whose next attempt is due, invoices a run
    /// issued but never tried (it stopped half-way), and attempts left
    /// PENDING (outcome unknown, or their run stopped).
    async fn collect_due(&self, date: NaiveDate, catalog: &Value, report: &mut Report, now: &Now) -> ApiResult<()> {
        // Only invoices a charge can be tried on: open, in a bill group that
        // collects automatically, the account with a card. (Invoices paid by
        // bank transfer stay open for weeks; were they read here, each run
        // would spend its pages on them and starve the card retries behind.)
        let mut after = String::new();
        loop {
            let rows = self
                .db
                .query(stmt!(
                    "SELECT i.id FROM invoices i \
                     JOIN bill_groups b ON b.id = i.bill_group_id AND b.collect_automatically = 1 \
                     JOIN accounts a ON a.id = i.account_id AND a.default_payment_method_id IS NOT NULL \
                     WHERE i.status = 'OPEN' AND i.id > ?2 AND \
                     ((i.next_attempt_on IS NOT NULL AND i.next_attempt_on <= ?1) OR (i.attempts = 0 AND i.invoice_date <= ?1 \
                     AND i.id IN (SELECT invoice_id FROM billed_periods)) \
                     OR i.id IN (SELECT invoice_id FROM payment_attempts WHERE status = 'PENDING')) ORDER BY i.id LIMIT ?3",
                    date.to_string(),
                    after.as_str(),
                    COLLECT_PAGE
                ))
                .await?;
            for id in rows.iter().filter_map(|r| text(r, "id")) {
                self.charge_invoice(&id, date, catalog, report, now).await?;
                after = id;
            }
            if i64::try_from(rows.len()).unwrap_or(0) < COLLECT_PAGE {
                return Ok(());
            }
        }
    }
}

impl<D: Db, S: Stripe, R: Random> App<D, S, R> {
    /// `POST /api/accounts/{id}/setupIntents`: a SetupIntent for the account's
    /// Stripe customer (created if the account has none), for a new card.
    pub async fn account_setup_intent(&self, account: &str, scope: Option<&str>, now: &Now) -> ApiResult<Value> {
        self.account(account, scope).await?;
        let rows = self.db.query(stmt!("SELECT stripe_customer_id, name FROM accounts WHERE id = ?1", account)).await?;
        let row = rows.first().ok_or_else(|| ApiError::not_found("account"))?;
        let customer = match text(row, "stripe_customer_id") {
            Some(c) => c,
            None => {
                let name = text(row, "name").unwrap_or_default();
                let id = self
                    .stripe
                    .create_customer(&format!("{account}/customer"), &name, "", &[("quotekit_account", account)])
                    .await
                    .map_err(|e| crate::signup::stripe_error(e, ""))?;
                self.db
                    .batch(vec![stmt!(
                        "UPDATE accounts SET stripe_customer_id = ?2 WHERE id = ?1 AND stripe_customer_id IS NULL",
                        account,
                        id.as_str()
                    )])
                    .await?;
                id
            }
        };
        let seti = self
            .stripe
            .create_setup_intent(&format!("{account}/seti/{}", now.instant), &customer)
            .await
            .map_err(|e| crate::signup::stripe_error(e, ""))?;
        Ok(json!({ "customerId": customer, "setupIntentId": seti.id, "clientSecret": seti.client_secret,
                   "publicKey": self.stripe.publishable_key() }))
    }

    /// `POST /api/accounts/{id}/paymentMethod` `{ paymentToken }`: the card is
    /// checked with Stripe, becomes the account's default, and what dunning
    /// gave up on is charged at once; a suspended contract with nothing left
    /// unpaid resumes.
    pub async fn account_payment_method(
        &self,
        account: &str,
        scope: Option<&str>,
        body: &Value,
        now: &Now,
    ) -> ApiResult<Value> {
        self.account(account, scope).await?;
        let token = body
            .get("paymentToken")
            .and_then(Value::as_str)
            .filter(|t| (t.starts_with("seti_") || t.starts_with("pm_")) && t.len() <= 255)
            .ok_or_else(|| ApiError::bad("INVALID_VALUE", "paymentToken", "paymentToken is a seti_… or pm_… id."))?;
        let rows = self.db.query(stmt!("SELECT stripe_customer_id FROM accounts WHERE id = ?1", account)).await?;
        let customer = rows.first().and_then(|r| text(r, "stripe_customer_id")).ok_or_else(|| {
            ApiError::conflict("PAYMENT_METHOD_NOT_INITIALIZED", "Create a SetupIntent for the account first.")
        })?;
        let method = self.confirm_payment_token(&customer, token, account, "paymentToken").await?;
        self.use_card(account, &customer, &method.id, now).await
    }

    /// Makes `pm` the account's card and retries what is unpaid with it.
    pub(crate) async fn use_card(&self, account: &str, customer: &str, pm: &str, now: &Now) -> ApiResult<Value> {
        let _ = customer;
        let id = new_id(&self.rng, "pmt_");
        self.db
            .batch(vec![
                stmt!("UPDATE accounts SET default_payment_method_id = ?2 WHERE id = ?1", account, pm),
                stmt!(
                    "INSERT INTO payment_methods (id, account_id, stripe_payment_method_id, created_at) VALUES (?1, ?2, ?3, ?4)",
                    id.as_str(),
                    account,
                    pm,
                    now.instant.as_str()
                ),
            ])
            .await?;
        let published = catalogs::require_current(&self.db).await?;
        let catalog_json: Value = serde_json::from_str(&published.body).unwrap_or(Value::Null);
        // What dunning gave up on is tried again, except invoices voided with a
        // suspension: their periods are billed again when the contract resumes.
        let unpaid = self
            .db
            .query(stmt!(
                "SELECT id, status FROM invoices WHERE account_id = ?1 AND attempts > 0 AND (status = 'OPEN' \
                 OR (status = 'VOID' AND void_reason IS NOT ?2)) ORDER BY id",
                account,
                crate::suspension::VOID_SUSPENDED
            ))
            .await?;
        let mut report = Report::default();
        for row in &unpaid {
            let Some(invoice) = text(row, "id") else { continue };
            if text(row, "status").as_deref() == Some("VOID") {
                self.db
                    .batch(vec![stmt!("UPDATE invoices SET status = 'OPEN' WHERE id = ?1", invoice.as_str())])
                    .await?;
            }
            self.charge_invoice(&invoice, now.today, &catalog_json, &mut report, now).await?;
        }
        // A suspended contract resumes once none of its invoices is left unpaid by dunning.
        let suspended = self
            .db
            .query(stmt!(
                "SELECT id FROM contracts WHERE account_id = ?1 AND status = 'SUSPENDED' \
                 AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.contract_id = contracts.id AND i.attempts > 0 \
                 AND i.status = 'OPEN') ORDER BY id",
                account
            ))
            .await?;
        for id in suspended.iter().filter_map(|r| text(r, "id")) {
            self.resume(&id, &catalog_json, &mut report, now).await?;
        }
        let resumed = self
            .db
            .query(stmt!("SELECT COUNT(*) AS n FROM contracts WHERE account_id = ?1 AND status = 'ACTIVE'", account))
            .await?;
        Ok(json!({ "accountId": account, "stripePaymentMethodId": pm, "retried": unpaid.len(),
                   "charged": report.charged, "failed": report.failed,
                   "activeContracts": resumed.first().and_then(|r| int(r, "n")) }))
    }
}
