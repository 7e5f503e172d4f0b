//! Suspension and resumption: when dunning gives up, the contract is
//! suspended and no day of the suspension is ever billed; a new card resumes
//! it, charging what was used before the suspension and restarting billing
//! on the resume date (the engine's `billing::unbill` and `billing::resume`).

use chrono::NaiveDate;
use pricing::Contract;
use serde_json::{Value, json};

use crate::api::{ApiError, ApiResult};
use crate::billing::{ContractWrite, Report, stored_body};
use crate::catalogs::{self, Parsed};
use crate::contracts::ContractRow;
use crate::db::{Db, DbError, Stmt, text};
use crate::ids::Random;
use crate::stripe::Stripe;
use crate::{App, Now, stmt};

/// Why an invoice is void: dunning gave up on it and its contract was
/// suspended; its periods are billed again, for the days before the
/// suspension, when the contract resumes (never reopened).
pub const VOID_SUSPENDED: &str = "SUSPENDED";

impl<D: Db, S: Stripe, R: Random> App<D, S, R> {
    /// The contract's engine form, read on the catalog versions it is priced on.
    async fn engine_contract(&self, c: &ContractRow, versions: &mut Parsed) -> ApiResult<(i64, Contract)> {
        let current = catalogs::require_current(&self.db).await?.version;
        let own = Parsed::version_of(&c.body, current);
        versions.load_for(&self.db, &c.body, own).await?;
        let contract = Contract::from_json_versioned(versions.get(own)?, &c.body, &versions.all())
            .map_err(|e| ApiError::from_engine(&e, ""))?;
        Ok((own, contract))
    }

    /// The statements that suspend an active contract on `day` when dunning
    /// voids `invoice_id`: every open invoice the billing run issued for it
    /// is voided too, and its lines are invoiced again only through where
    /// those invoices' periods began. Nothing for a contract that is not
    /// active (its invoice is voided, and reopened by a new card).
    pub(crate) async fn suspension(
        &self,
        contract_id: &str,
        invoice_id: &str,
        day: NaiveDate,
        at: &str,
    ) -> ApiResult<Vec<Stmt>> {
        let c = ContractRow::load(&self.db, contract_id, None).await?;
        if c.status != "ACTIVE" {
            return Ok(Vec::new());
        }
        let rows = self
            .db
            .query(stmt!(
                "SELECT b.offering_id, b.period_start FROM billed_periods b JOIN invoices i ON i.id = b.invoice_id \
                 WHERE b.contract_id = ?1 AND (i.id = ?2 OR i.status = 'OPEN')",
                contract_id,
                invoice_id
            ))
            .await?;
        let voided: Vec<(String, NaiveDate)> = rows
            .iter()
            .filter_map(|r| Some((text(r, "offering_id")?, pricing::parse_date(&text(r, "period_start")?)?)))
            .collect();
        let (_, contract) = self.engine_contract(&c, &mut Parsed::default()).await?;
        let mut body = stored_body(&pricing::billing::unbill(&contract, &voided), &c.body);
        if let Value::Object(m) = &mut body {
            m.insert("suspendedOn".into(), json!(day.to_string()));
        }
        let mut batch = c.claim(c.version.saturating_add(1), "SUSPENDED", at);
        batch.push(stmt!(
            "UPDATE contracts SET status = 'SUSPENDED', body = ?2 WHERE id = ?1",
            contract_id,
            body.to_string()
        ));
        batch.push(stmt!(
            "UPDATE invoices SET status = 'VOID', void_reason = ?2, next_attempt_on = NULL WHERE contract_id = ?1 \
             AND (status = 'OPEN' OR id = ?3) AND id IN (SELECT invoice_id FROM billed_periods WHERE contract_id = ?1)",
            contract_id,
            VOID_SUSPENDED,
            invoice_id
        ));
        Ok(batch)
    }

    /// Resumes a suspended contract on `now.today`: one invoice for what was
    /// used before the suspension and the restart piece, charged at once
    /// (then dunned like any other). Answers whether it resumed.
    pub(crate) async fn resume(
        &self,
        contract_id: &str,
        catalog_json: &Value,
        report: &mut Report,
        now: &Now,
    ) -> ApiResult<bool> {
        let c = ContractRow::load(&self.db, contract_id, None).await?;
        if c.status != "SUSPENDED" {
            return Ok(false);
        }
        let mut versions = Parsed::default();
        let (own, contract) = self.engine_contract(&c, &mut versions).await?;
        let suspended_on =
            c.body.get("suspendedOn").and_then(Value::as_str).and_then(pricing::parse_date).unwrap_or(now.today);
        // (A clock set before the suspension, as a test clock can be, resumes on its day.)
        let today = now.today.max(suspended_on);
        // Earlier suspensions stay unbilled even if a voided invoice reaches back over them.
        let mut suspensions: Vec<Value> =
            c.body.get("suspensions").and_then(Value::as_array).cloned().unwrap_or_default();
        let earlier: Vec<(NaiveDate, NaiveDate)> = suspensions
            .iter()
            .filter_map(|g| {
                let day = |k: &str| g.get(k).and_then(Value::as_str).and_then(pricing::parse_date);
                Some((day("from")?, day("to")?))
            })
            .collect();
        let (periods, after) = pricing::billing::resume(versions.get(own)?, &contract, suspended_on, today, &earlier)
            .map_err(|e| ApiError::from_engine(&e, ""))?;
        suspensions.push(json!({ "from": suspended_on.to_string(), "to": today.to_string() }));
        let mut body = stored_body(&after, &c.body);
        if let Value::Object(m) = &mut body {
            m.insert("suspensions".into(), Value::Array(suspensions));
        }
        let write = ContractWrite { body, status: "ACTIVE", action: "RESUMED", at: &now.instant };
        // The voided invoices' period claims give way to the resumption's.
        let release = stmt!(
            "DELETE FROM billed_periods WHERE contract_id = ?1 AND invoice_id IN \
             (SELECT id FROM invoices WHERE contract_id = ?1 AND status = 'VOID' AND void_reason = ?2)",
            contract_id,
            VOID_SUSPENDED
        );
        let issued = self.issue_periods(&c, &periods, &write, vec![release], today, versions.get(own)?).await;
        match issued {
            Ok(Some(invoice)) => self.charge_invoice(&invoice, today, catalog_json, report, now).await?,
            Ok(None) => {}
            Err(DbError::Conflict(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        Ok(true)
    }
}
