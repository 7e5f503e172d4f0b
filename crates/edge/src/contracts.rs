//! The Contract Management API (`contract-api.txt`): a change priced by the
//! engine's `preview_change`, recorded as an amendment, its invoice issued
//! with tax, credit balance consumed or grown, and charged when the bill group
//! collects automatically. Future-dated changes are scheduled; changes that
//! match the catalog's approval rules wait for review.

use pricing::{Address, Catalog, ChangePreview, Invoice};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::api::{ApiError, ApiResult};
use crate::catalogs::{self, Published};
use crate::charges::Settled;
use crate::db::{Db, Row, Stmt, int, json as json_col, text};
use crate::ids::{Random, new_id};
use crate::records::{InvoiceFigures, InvoiceHead, Payment, insert_invoice, invoice_view, money_json};
use crate::session::claim_expired;
use crate::stripe::{Charge, Stripe, StripeError};
use crate::{App, Now, stmt};

/// The six actions of the doc.
pub const ACTIONS: [&str; 6] =
    ["QUANTITY_CHANGE", "RATE_CHANGE", "OFFERING_CHANGE", "ADD_OFFERING", "REMOVE_OFFERING", "CANCELLATION"];

/// Term actions (beyond the doc): extend a termed contract, or move its end.
pub const TERM_ACTIONS: [&str; 2] = ["RENEW", "TERM_CHANGE"];

/// Most operations in one request.
pub const MAX_OPERATIONS: usize = 20;

/// A checked change request.
#[derive(Clone, Debug)]
pub struct ChangeRequest {
    /// The contract.
    pub contract_id: String,
    /// What the engine reads: one operation, or `{ operations: [...] }`.
    pub op: Value,
    /// The actions, in order.
    pub actions: Vec<String>,
    /// Price only, save nothing.
    pub preview: bool,
    /// Evaluate the catalog's approval rules.
    pub evaluate_approval_rules: bool,
}

impl ChangeRequest {
    /// The response's `action`: the action, or `MULTIPLE` for several operations.
    #[must_use]
    pub fn label(&self) -> &str {
        match self.actions.as_slice() {
            [one] => one,
            _ => "MULTIPLE",
        }
    }
}

fn bad(code: &str, path: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad(code, path, message)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") }
}

/// Checks one operation's envelope against the doc's JSON Schema (the payload's
/// insides are the engine's to check) and answers its action.
fn operation_envelope(o: &Map<String, Value>, prefix: &str, extra: &[&str]) -> ApiResult<String> {
    let mut allowed = vec!["action", "effectiveDate", "relativeEffectiveDate", "payload"];
    allowed.extend_from_slice(extra);
    if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(bad(
            "UNKNOWN_FIELD",
            &join(prefix, k),
            format!("Unknown field '{}'.", k.chars().take(60).collect::<String>()),
        ));
    }
    let action = match o.get("action") {
        None | Some(Value::Null) => return Err(bad("MISSING_FIELD", &join(prefix, "action"), "action is required.")),
        Some(Value::String(a)) if ACTIONS.contains(&a.as_str()) => a.clone(),
        Some(Value::String(a)) if TERM_ACTIONS.contains(&a.as_str()) => return term_envelope(o, prefix, a),
        Some(_) => {
            let all = [ACTIONS.as_slice(), TERM_ACTIONS.as_slice()].concat().join(", ");
            return Err(bad("INVALID_VALUE", &join(prefix, "action"), format!("action must be one of {all}.")));
        }
    };
    for key in ["effectiveDate", "relativeEffectiveDate"] {
        if let Some(v) = o.get(key).filter(|v| !v.is_null())
            && !v.is_string()
        {
            return Err(bad("INVALID_VALUE", &join(prefix, key), format!("{key} must be a string.")));
        }
    }
    match o.get("payload") {
        None | Some(Value::Null) if action == "CANCELLATION" => {}
        None | Some(Value::Null) => {
            return Err(bad("MISSING_FIELD", &join(prefix, "payload"), format!("{action} needs a payload.")));
        }
        Some(Value::Object(p)) => {
            if !p.get("offerings").is_some_and(Value::is_array) && action != "CANCELLATION" {
                let path = join(prefix, "payload.offerings");
                return Err(bad("MISSING_FIELD", &path, "payload.offerings (an array) is required."));
            }
        }
        Some(_) if action == "CANCELLATION" => {
            return Err(bad("INVALID_VALUE", &join(prefix, "payload"), "CANCELLATION takes no payload (null)."));
        }
        Some(_) => return Err(bad("INVALID_VALUE", &join(prefix, "payload"), "payload must be an object.")),
    }
    Ok(action)
}

/// RENEW / TERM_CHANGE: a request of their own, `payload.months` a whole number
/// (RENEW: ≥ 1, default the rate's term; TERM_CHANGE: ± months, not zero).
fn term_envelope(o: &Map<String, Value>, prefix: &str, a: &str) -> ApiResult<String> {
    if !prefix.is_empty() {
        return Err(bad("INVALID_VALUE", &join(prefix, "action"), format!("{a} is a request of its own.")));
    }
    let months = o.get("payload").and_then(|p| p.get("months")).filter(|m| !m.is_null());
    let max = i64::from(pricing::MAX_TERM_MONTHS);
    let ok = match months.map(Value::as_i64) {
        None => a == "RENEW",
        Some(Some(m)) if a == "RENEW" => (1..=max).contains(&m),
        Some(Some(m)) => m != 0 && m.abs() <= max,
        Some(None) => false,
    };
    if !ok {
        return Err(bad(
            "INVALID_VALUE",
            "payload.months",
            format!("{a} takes payload.months: a whole number of months (RENEW: at least 1, default the rate's term)."),
        ));
    }
    Ok(a.to_owned())
}

/// Reads a change request: the doc's schema, plus `preview`,
/// `evaluateApprovalRules` and `operations`.
pub fn parse_change(v: &Value) -> ApiResult<ChangeRequest> {
    let o = v.as_object().ok_or_else(|| bad("INVALID_VALUE", "", "The body must be a JSON object."))?;
    // With operations, the contract may be named on each operation instead (all the same one).
    let first_op_contract = o
        .get("operations")
        .and_then(Value::as_array)
        .and_then(|l| l.first())
        .and_then(|op| op.get("contractId"))
        .filter(|c| !c.is_null());
    let contract_id = match o.get("contractId").filter(|c| !c.is_null()).or(first_op_contract) {
        None => return Err(bad("MISSING_FIELD", "contractId", "contractId is required.")),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 100 => s.clone(),
        Some(_) => return Err(bad("INVALID_VALUE", "contractId", "contractId must be a contract id.")),
    };
    let flag = |key: &str| match o.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(bad("INVALID_VALUE", key, format!("{key} must be true or false."))),
    };
    let preview = flag("preview")?;
    let evaluate_approval_rules = flag("evaluateApprovalRules")?;
    let extras = ["contractId", "preview", "evaluateApprovalRules"];
    let mut engine_op = o.clone();
    for k in extras {
        engine_op.remove(k);
    }
    let actions = match o.get("operations") {
        Some(list) => {
            if let Some(k) =
                ["action", "payload", "effectiveDate", "relativeEffectiveDate"].iter().find(|k| o.contains_key(**k))
            {
                return Err(bad(
                    "INVALID_FIELD",
                    k,
                    "With operations, each operation carries its own action, payload and date.",
                ));
            }
            if let Some(k) = o.keys().find(|k| !extras.contains(&k.as_str()) && k.as_str() != "operations") {
                return Err(bad(
                    "UNKNOWN_FIELD",
                    k,
                    format!("Unknown field '{}'.", k.chars().take(60).collect::<String>()),
                ));
            }
            let list =
                list.as_array().ok_or_else(|| bad("INVALID_VALUE", "operations", "operations must be an array."))?;
            if list.is_empty() || list.len() > MAX_OPERATIONS {
                return Err(bad(
                    "INVALID_VALUE",
                    "operations",
                    format!("operations holds 1 to {MAX_OPERATIONS} operations."),
                ));
            }
            let mut actions = Vec::with_capacity(list.len());
            for (k, op) in list.iter().enumerate() {
                let prefix = format!("operations[{k}]");
                let op = op.as_object().ok_or_else(|| bad("INVALID_VALUE", &prefix, "Each operation is an object."))?;
                if let Some(c) = op.get("contractId").filter(|c| !c.is_null())
                    && c.as_str() != Some(contract_id.as_str())
                {
                    let path = format!("{prefix}.contractId");
                    return Err(bad("INVALID_VALUE", &path, "All operations change the same contract."));
                }
                actions.push(operation_envelope(op, &prefix, &["contractId"])?);
            }
            actions
        }
        None => vec![operation_envelope(o, "", &extras)?],
    };
    Ok(ChangeRequest { contract_id, op: Value::Object(engine_op), actions, preview, evaluate_approval_rules })
}

/// The catalog's `settings.approvalRules.requireReview`: actions that need review.
#[must_use]
pub fn review_actions(catalog: &Value) -> Vec<String> {
    catalog
        .pointer("/settings/approvalRules/requireReview")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Checks `settings.approvalRules` at publish time.
pub fn check_approval_rules(catalog: &Value) -> ApiResult<()> {
    const PATH: &str = "settings.approvalRules";
    let Some(rules) = catalog.pointer("/settings/approvalRules").filter(|v| !v.is_null()) else { return Ok(()) };
    let invalid = |path: &str, m: &str| ApiError::bad("INVALID_CATALOG", path, m.to_owned());
    let obj = rules.as_object().ok_or_else(|| invalid(PATH, "approvalRules must be an object"))?;
    if let Some(k) = obj.keys().find(|k| k.as_str() != "requireReview") {
        return Err(invalid(&format!("{PATH}.{k}"), "the only approval rule is requireReview"));
    }
    let list = match obj.get("requireReview") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(l)) => l,
        Some(_) => return Err(invalid(&format!("{PATH}.requireReview"), "requireReview is a list of actions")),
    };
    for (i, a) in list.iter().enumerate() {
        if !a.as_str().is_some_and(|a| ACTIONS.contains(&a)) {
            return Err(invalid(&format!("{PATH}.requireReview[{i}]"), "not a contract action"));
        }
    }
    Ok(())
}

/// A contract row.
#[derive(Clone, Debug)]
pub struct ContractRow {
    /// `ctr_…`.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// Bill group.
    pub bill_group_id: String,
    /// `ACTIVE`, `CANCELED`.
    pub status: String,
    /// The engine's contract with its ids (JSON).
    pub body: Value,
    /// Bumped by every write.
    pub version: i64,
}

impl ContractRow {
    fn from_row(r: &Row) -> Option<Self> {
        Some(Self {
            id: text(r, "id")?,
            account_id: text(r, "account_id")?,
            bill_group_id: text(r, "bill_group_id")?,
            status: text(r, "status")?,
            body: json_col(r, "body")?,
            version: int(r, "version").unwrap_or(1),
        })
    }

    /// Loads a contract visible to `scope` (a customer token's account, or `None` for the secret key).
    pub async fn load(db: &impl Db, id: &str, scope: Option<&str>) -> ApiResult<Self> {
        let rows = db.query(stmt!("SELECT * FROM contracts WHERE id = ?1", id)).await?;
        rows.first()
            .and_then(Self::from_row)
            .filter(|c| scope.is_none_or(|a| a == c.account_id))
            .ok_or_else(|| ApiError::not_found("contract"))
    }

    /// Statements claiming the next version (a racing writer's batch fails whole).
    pub(crate) fn claim(&self, version: i64, action: &str, at: &str) -> Vec<Stmt> {
        vec![
            stmt!(
                "INSERT INTO contract_events (contract_id, version, action, at) VALUES (?1, ?2, ?3, ?4)",
                self.id.as_str(),
                version,
                action,
                at
            ),
            stmt!("UPDATE contracts SET version = ?2, updated_at = ?3 WHERE id = ?1", self.id.as_str(), version, at),
        ]
    }
}

/// The account fields a change needs.
pub(crate) struct AccountRow {
    pub(crate) billing_address: Value,
    pub(crate) stripe_customer_id: Option<String>,
    pub(crate) payment_method: Option<String>,
    pub(crate) credit_balance: Decimal,
}

pub(crate) async fn load_account(db: &impl Db, id: &str) -> ApiResult<AccountRow> {
    let rows = db.query(stmt!("SELECT * FROM accounts WHERE id = ?1", id)).await?;
    let r = rows.first().ok_or_else(ApiError::internal)?;
    Ok(AccountRow {
        billing_address: json_col(r, "billing_address").unwrap_or(Value::Null),
        stripe_customer_id: text(r, "stripe_customer_id"),
        payment_method: text(r, "default_payment_method_id"),
        credit_balance: text(r, "credit_balance").and_then(|c| c.parse().ok()).unwrap_or_default(),
    })
}

pub(crate) async fn collects_automatically(db: &impl Db, bill_group: &str) -> ApiResult<bool> {
    let rows = db.query(stmt!("SELECT collect_automatically FROM bill_groups WHERE id = ?1", bill_group)).await?;
    Ok(rows.first().and_then(|r| int(r, "collect_automatically")).unwrap_or(0) != 0)
}

fn engine_error(e: &pricing::Error) -> ApiError {
    let mut a = ApiError::from_engine(e, "");
    if e.code == pricing::ErrorCode::ContractNotActive {
        a.status = 409;
    }
    a
}

/// The account's credit against a change's invoice: `(applied, due, balance
/// after)` by the engine's rule; an invoice without lines touches nothing.
fn credit_split(balance: Decimal, invoice: &Invoice) -> Option<(Decimal, Decimal, Decimal)> {
    let amount = if invoice.lines.is_empty() { Decimal::ZERO } else { invoice.amount };
    pricing::apply_credit(balance, amount).map(|c| (c.applied, c.due, c.balance))
}

/// Everything a priced change needs to be answered or written.
struct Priced {
    published: Published,
    preview: ChangePreview,
    invoice: Invoice,
    /// For a change dated later: the regular invoice the billing run issues
    /// on that date for the contract as changed (the next period, say), if any.
    next_invoice: Option<Invoice>,
    contract_after: Value,
    /// The account's credit balance now (previews apply it as confirming would).
    credit: Decimal,
}

/// What a change answers: HTTP status, `status`, quote, contract, more fields.
type Outcome = (u16, &'static str, Value, Value, Map<String, Value>);

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
struct ChangePlan {
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
    status: String,
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
                "id": i.id, "status": i.status, "creditApplied": i.credit_applied.to_string(),
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
                status: s(i, "status")?,
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
        status: &str,
        invoice_id: Option<&str>,
        error: Option<&Value>,
        at: &str,
    ) -> Stmt {
        let quote = if status == "APPLIED" { self.quote.clone() } else { with_status(&self.quote, status) };
        save_amendment(
            &self.amendment_id,
            c,
            req,
            status,
            &self.effective_date,
            &quote,
            self.catalog_version,
            invoice_id,
            error,
            at,
        )
    }
}

/// `upsert` of an amendment row.
#[allow(clippy::too_many_arguments)]
pub(crate) fn save_amendment(
    id: &str,
    c: &ContractRow,
    req: &ChangeRequest,
    status: &str,
    effective: &str,
    quote: &Value,
    catalog_version: i64,
    invoice_id: Option<&str>,
    error: Option<&Value>,
    at: &str,
) -> Stmt {
    stmt!(
        "INSERT INTO amendments (id, contract_id, account_id, action, status, effective_date, request, quote, \
         catalog_version, invoice_id, error, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12) \
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, quote = excluded.quote, \
         invoice_id = excluded.invoice_id, error = excluded.error, effective_date = excluded.effective_date, \
         updated_at = excluded.updated_at",
        id,
        c.id.as_str(),
        c.account_id.as_str(),
        req.label(),
        status,
        effective,
        req.op.to_string(),
        quote.to_string(),
        catalog_version,
        invoice_id,
        error.map(Value::to_string),
        at
    )
}

impl<D: Db, S: Stripe, R: Random> App<D, S, R> {
    async fn price_change(&self, c: &ContractRow, req: &ChangeRequest, today: pricing::NaiveDate) -> ApiResult<Priced> {
        let published = catalogs::require_current(&self.db).await?;
        let mut versions = catalogs::Parsed::default();
        versions.insert(published.version, published.parse()?);
        // The old terms on the contract's own version, the new on the current catalog.
        let own = catalogs::Parsed::version_of(&c.body, published.version);
        versions.load_for(&self.db, &c.body, own).await?;
        let all = versions.all();
        let catalog: &Catalog = versions.get(published.version)?;
        let catalogs = pricing::Catalogs { current: catalog, contract: versions.get(own)?, versions: &all };
        let preview = pricing::preview_change_on(&catalogs, &c.body, &req.op, today).map_err(|e| engine_error(&e))?;
        let account = load_account(&self.db, &c.account_id).await?;
        let address = Address::from_json(&account.billing_address);
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
        let mut contract_after = crate::billing::stored_body(&preview.contract, &c.body);
        if let Value::Object(m) = &mut contract_after {
            m.insert("catalogVersion".into(), json!(published.version));
        }
        Ok(Priced { published, preview, invoice, next_invoice, contract_after, credit: account.credit_balance })
    }

    /// The amendment quote as answered.
    fn amendment_quote(
        &self,
        id: Option<&str>,
        status: &str,
        c: &ContractRow,
        req: &ChangeRequest,
        p: &Priced,
    ) -> Value {
        let currency = p.preview.contract.currency.as_str();
        json!({
            "id": id,
            "type": "AMENDMENT",
            "status": status,
            "contractId": c.id,
            "accountId": c.account_id,
            "catalogVersion": p.published.version,
            "effectiveDate": p.invoice.invoice_date.to_string(),
            "actions": req.actions,
            "amountWithoutTax": money_json(p.invoice.amount_without_tax, currency),
            "tax": money_json(p.invoice.tax, currency),
            "amount": money_json(p.invoice.amount, currency),
            "nextInvoice": p.next_invoice.as_ref().map(|n| json!({
                "invoiceDate": n.invoice_date.to_string(), "amount": money_json(n.amount, currency),
            })),
            "request": req.op,
        })
    }

    /// `POST /api/selfService/contract`. `scope` is a customer token's account.
    pub async fn contract_change(
        &self,
        scope: Option<&str>,
        req: &ChangeRequest,
        now: &Now,
    ) -> ApiResult<(u16, Value)> {
        let c = ContractRow::load(&self.db, &req.contract_id, scope).await?;
        if c.status == "SUSPENDED" {
            return Err(ApiError::new(
                409,
                "CONTRACT_SUSPENDED",
                "contractId",
                "The contract is suspended for an unpaid invoice; update the payment method first.",
            ));
        }
        self.run_change(c, req, None, now).await
    }

    pub(crate) async fn run_change(
        &self,
        c: ContractRow,
        req: &ChangeRequest,
        reviewed: Option<&str>,
        now: &Now,
    ) -> ApiResult<(u16, Value)> {
        let answer = |status: &str, quote: Value, contract: Value, more: Map<String, Value>| {
            let mut m = Map::new();
            m.insert("action".into(), json!(req.label()));
            m.insert("status".into(), json!(status));
            m.insert("quote".into(), quote);
            m.insert("contract".into(), contract);
            m.extend(more);
            Value::Object(m)
        };
        // A change whose charge was left unsettled is settled first. Sent
        // again, that very change answers how it ended instead of running twice.
        let mut c = c;
        if let Some((op, applied)) = self.settle_pending_change(&c.id, now).await? {
            if let Some((http, status, quote, contract, more)) = applied.filter(|_| op == req.op && !req.preview) {
                return Ok((http, answer(status, quote, contract, more)));
            }
            c = ContractRow::load(&self.db, &c.id, None).await?;
        }
        if req.actions.iter().any(|a| TERM_ACTIONS.contains(&a.as_str())) {
            return self.term_change(c, req, now).await;
        }
        let p = self.price_change(&c, req, now.today).await?;
        let currency = p.preview.contract.currency.clone();
        let effective = p.invoice.invoice_date;
        // A preview answers what confirming would: refused while another amendment waits.
        let pending = self
            .db
            .query(stmt!(
                "SELECT id, status FROM amendments WHERE contract_id = ?1 \
                 AND status IN ('SCHEDULED', 'REVIEW', 'PAYMENT_PENDING')",
                c.id.as_str()
            ))
            .await?;
        if let Some(other) = pending.iter().filter_map(|r| text(r, "id")).find(|id| Some(id.as_str()) != reviewed) {
            return Err(ApiError::conflict(
                "AMENDMENT_PENDING",
                format!("Amendment {other} on this contract is scheduled or under review; withdraw it or wait."),
            ));
        }
        if req.preview {
            let mut more = Map::new();
            more.insert("preview".into(), json!(true));
            more.insert("scheduled".into(), json!(effective > now.today));
            more.insert("invoice".into(), self.draft_view(&c, &currency, &p.invoice, p.credit, now));
            if let Some(next) = &p.next_invoice {
                more.insert("nextInvoice".into(), self.draft_view(&c, &currency, next, Decimal::ZERO, now));
            }
            let quote = self.amendment_quote(None, "DRAFT", &c, req, &p);
            return Ok((200, answer("SUCCESS", quote, p.contract_after.clone(), more)));
        }
        let amendment_id = reviewed.map_or_else(|| new_id(&self.rng, "amd_"), str::to_owned);
        let at = now.instant.as_str();
        let next = c.version.saturating_add(1);
        let needs_review = reviewed.is_none()
            && req.evaluate_approval_rules
            && serde_json::from_str::<Value>(&p.published.body)
                .map(|cat| review_actions(&cat))
                .unwrap_or_default()
                .iter()
                .any(|a| req.actions.contains(a));
        if needs_review || effective > now.today {
            let (status, http, quote_status) =
                if needs_review { ("REVIEW", 202, "REVIEW") } else { ("SCHEDULED", 200, "PROCESSED") };
            let quote = self.amendment_quote(Some(&amendment_id), quote_status, &c, req, &p);
            let mut batch = c.claim(next, status, at);
            batch.push(save_amendment(
                &amendment_id,
                &c,
                req,
                status,
                &effective.to_string(),
                &quote,
                p.published.version,
                None,
                None,
                at,
            ));
            self.db.batch(batch).await?;
            let mut more = Map::new();
            more.insert("upcomingInvoice".into(), self.draft_view(&c, &currency, &p.invoice, p.credit, now));
            if let Some(next) = &p.next_invoice {
                more.insert("nextInvoice".into(), self.draft_view(&c, &currency, next, Decimal::ZERO, now));
            }
            let contract = self.contract_view(&c.id, None).await?;
            let status = if needs_review { "REVIEW" } else { "SUCCESS" };
            return Ok((http, answer(status, quote, contract, more)));
        }
        self.apply_now(c, req, p, amendment_id, now)
            .await
            .map(|(http, status, quote, contract, more)| (http, answer(status, quote, contract, more)))
    }

    /// An invoice not issued (a preview's, or one a later date will issue), as answered.
    /// With `credit` (the account's balance), the credit it would apply and
    /// what would be due, exactly as confirming applies them.
    fn draft_view(&self, c: &ContractRow, currency: &str, invoice: &Invoice, credit: Decimal, now: &Now) -> Value {
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
        invoice_view(&self.rng, invoice, &head)
    }

    async fn apply_now(
        &self,
        c: ContractRow,
        req: &ChangeRequest,
        p: Priced,
        amendment_id: String,
        now: &Now,
    ) -> ApiResult<Outcome> {
        let at = now.instant.as_str();
        let currency = p.preview.contract.currency.clone();
        let account = load_account(&self.db, &c.account_id).await?;
        let (credit_applied, amount_due, credit_after) =
            credit_split(account.credit_balance, &p.invoice).ok_or_else(ApiError::internal)?;
        let collect = collects_automatically(&self.db, &c.bill_group_id).await?;
        let chargeable = match (&account.stripe_customer_id, &account.payment_method) {
            (Some(cus), Some(pm)) if collect && amount_due > Decimal::ZERO => Some((cus.clone(), pm.clone())),
            _ => None,
        };
        let charged = if chargeable.is_some() { amount_due } else { Decimal::ZERO };
        let invoice = (!p.invoice.lines.is_empty()).then(|| {
            let id = new_id(&self.rng, "inv_");
            // Written only once the charge (if any) went through: paid by it, or left open.
            let left = amount_due.checked_sub(charged).unwrap_or(amount_due);
            let status = if left.is_zero() { "PAID" } else { "OPEN" };
            let head = InvoiceHead {
                id: &id,
                status,
                currency: &currency,
                account_id: &c.account_id,
                contract_id: &c.id,
                bill_group_id: &c.bill_group_id,
                credit_applied,
                amount_due: left,
                at,
            };
            let view = invoice_view(&self.rng, &p.invoice, &head);
            PlannedInvoice {
                status: status.to_owned(),
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
            quote: self.amendment_quote(Some(&amendment_id), "PROCESSED", &c, req, &p),
            contract_after: p.contract_after,
            currency,
            credit_after,
            invoice,
            amendment_id,
        };
        let Some((customer, pm)) = chargeable else {
            return self.finish_change(&c, req, &plan, None, at).await;
        };
        // Claim the contract and record the attempt with its plan before any money moves.
        let mut claim = c.claim(c.version.saturating_add(1), "CHANGE_PAYMENT", at);
        claim.push(plan.save(&c, req, "PAYMENT_PENDING", None, None, at));
        claim.push(stmt!(
            "UPDATE amendments SET plan = ?2 WHERE id = ?1",
            plan.amendment_id.as_str(),
            plan.to_json().to_string()
        ));
        self.db.batch(claim).await?;
        let charge = Charge {
            customer: &customer,
            payment_method: &pm,
            amount: pricing::to_minor_units(charged, &plan.currency).ok_or_else(ApiError::internal)?,
            currency: plan.currency.to_ascii_lowercase(),
            metadata: vec![("quotekit_amendment", plan.amendment_id.clone()), ("quotekit_contract", c.id.clone())],
        };
        let key = charge_key(&plan.amendment_id);
        let settled = match self.charge_once(&key, &charge, now).await {
            Ok(pi) => Settled::Charged(pi),
            Err(e @ StripeError::Declined { .. }) => Settled::Declined(e),
            // No answer, or a refused call: find out where the charge stands (and stop it if it has not run).
            Err(_) => self.settle(&key).await,
        };
        match settled {
            Settled::Charged(pi) => self.finish_change(&c, req, &plan, Some(&pi.id), at).await,
            Settled::Unknown(_) => Err(self.let_go(&plan.amendment_id, at).await),
            Settled::Declined(e) => {
                let (message, error) = failure(&e);
                let quote = self.fail_change(&c, req, &plan, &error, at).await?;
                let mut more = Map::new();
                more.insert("errorMessage".into(), json!(message));
                more.insert("declineCode".into(), error.get("declineCode").cloned().unwrap_or(Value::Null));
                let contract = self.contract_view(&c.id, None).await?;
                Ok((402, "FAILED", quote, contract, more))
            }
            Settled::NotCharged => {
                let (message, error) = failure(&StripeError::Unavailable(String::new()));
                self.fail_change(&c, req, &plan, &error, at).await?;
                Err(ApiError::new(502, "PAYMENT_PROVIDER_UNAVAILABLE", "", message))
            }
        }
    }

    /// Writes an applied change: the contract, its invoice (paid by
    /// `payment_intent` when charged), the credit balance, the amendment.
    async fn finish_change(
        &self,
        c: &ContractRow,
        req: &ChangeRequest,
        plan: &ChangePlan,
        payment_intent: Option<&str>,
        at: &str,
    ) -> ApiResult<Outcome> {
        let mut batch = c.claim(plan.version, "CHANGE_APPLIED", at);
        let status_after = plan.contract_after.get("status").and_then(Value::as_str).unwrap_or("ACTIVE");
        batch.push(stmt!(
            "UPDATE contracts SET body = ?2, status = ?3, catalog_version = ?4 WHERE id = ?1",
            c.id.as_str(),
            plan.contract_after.to_string(),
            status_after,
            plan.catalog_version
        ));
        let mut more = Map::new();
        if let Some(inv) = &plan.invoice {
            let head = InvoiceHead {
                id: &inv.id,
                status: &inv.status,
                currency: &plan.currency,
                account_id: &c.account_id,
                contract_id: &c.id,
                bill_group_id: &c.bill_group_id,
                credit_applied: inv.credit_applied,
                amount_due: inv.amount_due,
                at,
            };
            batch.push(insert_invoice(&inv.figures, &head, &inv.view));
            if let Some(pi) = payment_intent {
                let payment_id = new_id(&self.rng, "pay_");
                let payment = Payment {
                    id: &payment_id,
                    account_id: &c.account_id,
                    invoice_id: &inv.id,
                    amount: inv.charged,
                    currency: &plan.currency,
                    payment_intent: pi,
                    at,
                };
                batch.push(payment.insert());
                more.insert("payment".into(), payment.view());
            }
            more.insert("invoice".into(), inv.view.clone());
        }
        // Credit pays the account's open invoices first; what is left is its balance.
        let (settle, balance) = self.credit_open_invoices(&c.account_id, plan.credit_after, &plan.currency).await?;
        batch.extend(settle);
        batch.push(stmt!(
            "UPDATE accounts SET credit_balance = ?2 WHERE id = ?1",
            c.account_id.as_str(),
            balance.to_string()
        ));
        batch.push(plan.save(c, req, "APPLIED", plan.invoice.as_ref().map(|i| i.id.as_str()), None, at));
        self.db.batch(batch).await?;
        more.insert("creditBalance".into(), money_json(balance, &plan.currency));
        let contract = self.contract_view(&c.id, None).await?;
        Ok((200, "SUCCESS", plan.quote.clone(), contract, more))
    }

    /// Records a change whose charge failed (nothing charged); answers its quote.
    async fn fail_change(
        &self,
        c: &ContractRow,
        req: &ChangeRequest,
        plan: &ChangePlan,
        error: &Value,
        at: &str,
    ) -> ApiResult<Value> {
        let mut batch = c.claim(plan.version, "CHANGE_FAILED", at);
        batch.push(plan.save(c, req, "FAILED", None, Some(error), at));
        self.db.batch(batch).await?;
        Ok(with_status(&plan.quote, "FAILED"))
    }

    /// Leaves a change whose charge has an unknown outcome PAYMENT_PENDING,
    /// marked as let go (the next request or billing run settles it at once
    /// instead of waiting for the claim to expire); the client's error.
    async fn let_go(&self, amendment_id: &str, at: &str) -> ApiError {
        // Should this write fail too, the claim expires in a minute instead.
        self.db
            .batch(vec![stmt!(
                "UPDATE amendments SET error = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'PAYMENT_PENDING'",
                amendment_id,
                json!({ "code": OUTCOME_UNKNOWN }).to_string(),
                at
            )])
            .await
            .ok();
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
    pub(crate) async fn settle_pending_change(
        &self,
        contract_id: &str,
        now: &Now,
    ) -> ApiResult<Option<(Value, Option<Outcome>)>> {
        let rows = self
            .db
            .query(stmt!(
                "SELECT id, request, plan, error, updated_at FROM amendments \
                 WHERE contract_id = ?1 AND status = 'PAYMENT_PENDING' ORDER BY created_at LIMIT 1",
                contract_id
            ))
            .await?;
        let Some(row) = rows.first() else { return Ok(None) };
        let id = text(row, "id").unwrap_or_default();
        let let_go =
            json_col(row, "error").is_some_and(|e| e.get("code").and_then(Value::as_str) == Some(OUTCOME_UNKNOWN));
        if !let_go && !claim_expired(&text(row, "updated_at").unwrap_or_default(), now) {
            return Err(ApiError::conflict(
                "CHANGE_IN_PROGRESS",
                format!("Amendment {id} on this contract is being charged; retry in a minute."),
            ));
        }
        let plan = json_col(row, "plan").as_ref().and_then(ChangePlan::from_json).ok_or_else(ApiError::internal)?;
        let mut op = json_col(row, "request").unwrap_or(Value::Null);
        if let Value::Object(m) = &mut op {
            m.insert("contractId".into(), json!(contract_id));
        }
        let req = parse_change(&op)?;
        let c = ContractRow::load(&self.db, contract_id, None).await?;
        let at = now.instant.as_str();
        let applied = match self.settle(&charge_key(&id)).await {
            Settled::Charged(pi) => Some(self.finish_change(&c, &req, &plan, Some(&pi.id), at).await?),
            Settled::Unknown(_) => return Err(self.let_go(&id, at).await),
            Settled::Declined(e) => {
                self.fail_change(&c, &req, &plan, &failure(&e).1, at).await?;
                None
            }
            Settled::NotCharged => {
                self.fail_change(&c, &req, &plan, &failure(&StripeError::Unavailable(String::new())).1, at).await?;
                None
            }
        };
        Ok(Some((req.op, applied)))
    }

    /// RENEW (extend the term by `payload.months`, default the first line's
    /// rate's `termMonths`) and TERM_CHANGE (move `endDate` by ± months, never
    /// before today nor before what is already invoiced). No invoice: billing
    /// simply continues, or stops, at the new end.
    async fn term_change(&self, c: ContractRow, req: &ChangeRequest, now: &Now) -> ApiResult<(u16, Value)> {
        use chrono::Datelike;
        let action = req.label().to_owned();
        let body = &c.body;
        let date = |k: &str| body.get(k).and_then(Value::as_str).and_then(pricing::parse_date);
        if c.status != "ACTIVE" {
            return Err(ApiError::new(409, "CONTRACT_NOT_ACTIVE", "contractId", "The contract is not active."));
        }
        let (Some(start), Some(end)) = (date("startDate"), date("endDate")) else {
            return Err(ApiError::new(
                409,
                "CONTRACT_NOT_TERMED",
                "contractId",
                "This contract is evergreen: it has no term to change.",
            ));
        };
        let published = catalogs::require_current(&self.db).await?;
        // The term the contract was sold with: its own catalog version's.
        let own = catalogs::Parsed::version_of(body, published.version);
        let catalog = match catalogs::version(&self.db, own).await? {
            Some(p) => p.parse()?,
            None => published.parse()?,
        };
        let months = match req.op.pointer("/payload/months").and_then(Value::as_i64) {
            Some(m) => m,
            None => body
                .pointer("/offerings/0/rateId")
                .and_then(Value::as_str)
                .and_then(|rate| catalog.offerings.iter().flat_map(|o| o.rates.iter()).find(|r| &*r.id == rate))
                .and_then(|r| r.term_months)
                .map(i64::from)
                .ok_or_else(|| bad("MISSING_FIELD", "payload.months", "The rate has no term: give payload.months."))?,
        };
        let new_end = pricing::add_months(end, months, start.day())
            .ok_or_else(|| bad("INVALID_VALUE", "payload.months", "That end date is out of range."))?;
        let invoiced = body
            .get("offerings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| l.get("invoicedThrough").and_then(Value::as_str).and_then(pricing::parse_date))
            .max()
            .unwrap_or(start);
        if new_end < now.today || new_end < invoiced || new_end <= start {
            return Err(bad(
                "INVALID_VALUE",
                "payload.months",
                format!(
                    "The new end {new_end} would be before today or before what is already invoiced ({invoiced}); \
                     cancel instead."
                ),
            ));
        }
        let mut after = body.clone();
        if let Value::Object(m) = &mut after {
            m.insert("endDate".into(), json!(new_end.to_string()));
        }
        let currency = body.get("currency").and_then(Value::as_str).unwrap_or("USD").to_owned();
        let zero = money_json(Decimal::ZERO, &currency);
        let quote = |id: Option<&str>, status: &str| {
            json!({ "id": id, "type": "AMENDMENT", "status": status, "contractId": c.id, "accountId": c.account_id,
                    "catalogVersion": published.version, "effectiveDate": now.today.to_string(), "actions": req.actions,
                    "previousEndDate": end.to_string(), "endDate": new_end.to_string(), "months": months,
                    "amountWithoutTax": zero, "tax": zero, "amount": zero, "request": req.op })
        };
        if req.preview {
            let answer = json!({ "action": action, "status": "SUCCESS", "preview": true,
                                 "quote": quote(None, "DRAFT"), "contract": after });
            return Ok((200, answer));
        }
        let id = new_id(&self.rng, "amd_");
        let q = quote(Some(&id), "PROCESSED");
        let at = now.instant.as_str();
        let mut batch = c.claim(c.version.saturating_add(1), &action, at);
        batch.push(stmt!("UPDATE contracts SET body = ?2 WHERE id = ?1", c.id.as_str(), after.to_string()));
        let today = now.today.to_string();
        batch.push(save_amendment(&id, &c, req, "APPLIED", &today, &q, published.version, None, None, at));
        self.db.batch(batch).await?;
        let contract = self.contract_view(&c.id, None).await?;
        Ok((200, json!({ "action": action, "status": "SUCCESS", "quote": q, "contract": contract })))
    }

    /// A contract with its amendments and scheduled changes (`GET /api/contracts/{id}`).
    pub async fn contract_view(&self, id: &str, scope: Option<&str>) -> ApiResult<Value> {
        let c = ContractRow::load(&self.db, id, scope).await?;
        let rows = self
            .db
            .query(stmt!(
                "SELECT id, action, status, effective_date, invoice_id, error, created_at, request, quote FROM amendments \
                 WHERE contract_id = ?1 ORDER BY created_at, id",
                id
            ))
            .await?;
        let amendments: Vec<Value> = rows
            .iter()
            .map(|r| {
                // What it asks (the operation) and what its date invoices, for
                // pages that say "switch to Annual on Jan 1: $1,440.00".
                let quote = json_col(r, "quote").unwrap_or(Value::Null);
                json!({
                    "id": text(r, "id"), "action": text(r, "action"), "status": text(r, "status"),
                    "effectiveDate": text(r, "effective_date"), "invoiceId": text(r, "invoice_id"),
                    "error": json_col(r, "error"), "createdAt": text(r, "created_at"),
                    "request": json_col(r, "request"), "amount": quote.get("amount"),
                    "nextInvoice": quote.get("nextInvoice"),
                })
            })
            .collect();
        let pick = |s: &str| -> Vec<Value> {
            amendments.iter().filter(|a| a.get("status").and_then(Value::as_str) == Some(s)).cloned().collect()
        };
        let mut body = c.body.clone();
        if let Value::Object(m) = &mut body {
            // One status everywhere: the stored one (SUSPENDED is the API's, not the engine's).
            m.insert("status".into(), json!(c.status));
            m.insert("version".into(), json!(c.version));
            m.insert("scheduledChanges".into(), Value::Array(pick("SCHEDULED")));
            m.insert("pendingReview".into(), Value::Array(pick("REVIEW")));
            m.insert("amendments".into(), Value::Array(amendments.clone()));
        }
        Ok(body)
    }

    /// Approves (applies, or schedules when still in the future) or rejects an
    /// amendment under review; `reject` also withdraws a scheduled one.
    pub async fn review(
        &self,
        contract_id: &str,
        amendment_id: &str,
        approve: bool,
        now: &Now,
    ) -> ApiResult<(u16, Value)> {
        let c = ContractRow::load(&self.db, contract_id, None).await?;
        let rows = self
            .db
            .query(stmt!("SELECT * FROM amendments WHERE id = ?1 AND contract_id = ?2", amendment_id, contract_id))
            .await?;
        let row = rows.first().ok_or_else(|| ApiError::not_found("amendment"))?;
        let status = text(row, "status").unwrap_or_default();
        let request = json_col(row, "request").unwrap_or(Value::Null);
        match (approve, status.as_str()) {
            (true, "REVIEW") => {
                let mut op = request;
                if let Value::Object(m) = &mut op {
                    m.insert("contractId".into(), json!(contract_id));
                }
                let mut req = parse_change(&op)?;
                roll_forward(&mut req.op, now.today);
                self.run_change(c, &req, Some(amendment_id), now).await
            }
            (false, "REVIEW" | "SCHEDULED") => {
                let new_status = if status == "REVIEW" { "REJECTED" } else { "WITHDRAWN" };
                self.close_amendment(&c, amendment_id, new_status, None, now).await
            }
            _ => Err(ApiError::conflict(
                "AMENDMENT_NOT_PENDING",
                format!(
                    "The amendment is {status}; only REVIEW ones can be approved, REVIEW or SCHEDULED ones rejected."
                ),
            )),
        }
    }

    /// `POST …/amendments/{id}/withdraw`: the customer (its token, or the
    /// vendor for it) takes back a change that has not happened yet, one
    /// scheduled for a later date or waiting for review. Nothing is billed for it.
    pub async fn withdraw(
        &self,
        contract_id: &str,
        amendment_id: &str,
        scope: Option<&str>,
        now: &Now,
    ) -> ApiResult<(u16, Value)> {
        let c = ContractRow::load(&self.db, contract_id, scope).await?;
        let rows = self
            .db
            .query(stmt!("SELECT status FROM amendments WHERE id = ?1 AND contract_id = ?2", amendment_id, contract_id))
            .await?;
        let status = text(rows.first().ok_or_else(|| ApiError::not_found("amendment"))?, "status").unwrap_or_default();
        if status != "SCHEDULED" && status != "REVIEW" {
            return Err(ApiError::conflict(
                "AMENDMENT_NOT_PENDING",
                format!("The amendment is {status}; only SCHEDULED or REVIEW ones can be withdrawn."),
            ));
        }
        self.close_amendment(&c, amendment_id, "WITHDRAWN", scope, now).await
    }

    /// Marks a pending amendment closed (the contract's version moves on, so
    /// a billing run or a change racing it sees a conflict, not a stale contract).
    async fn close_amendment(
        &self,
        c: &ContractRow,
        amendment_id: &str,
        new_status: &str,
        scope: Option<&str>,
        now: &Now,
    ) -> ApiResult<(u16, Value)> {
        let mut batch = c.claim(c.version.saturating_add(1), new_status, &now.instant);
        batch.push(stmt!(
            "UPDATE amendments SET status = ?2, updated_at = ?3 WHERE id = ?1",
            amendment_id,
            new_status,
            now.instant.as_str()
        ));
        self.db.batch(batch).await?;
        let contract = self.contract_view(&c.id, scope).await?;
        Ok((200, json!({ "amendmentId": amendment_id, "status": new_status, "contract": contract })))
    }
}

/// An approved change whose explicit date passed while it waited takes effect today.
fn roll_forward(op: &mut Value, today: pricing::NaiveDate) {
    let fix = |o: &mut Map<String, Value>| {
        if let Some(Value::String(d)) = o.get("effectiveDate")
            && pricing::parse_date_time_date(d).or_else(|| pricing::parse_date(d)).is_some_and(|d| d < today)
        {
            o.insert("effectiveDate".into(), json!(today.to_string()));
        }
    };
    if let Value::Object(m) = op {
        if let Some(Value::Array(list)) = m.get_mut("operations") {
            for o in list.iter_mut().filter_map(Value::as_object_mut) {
                fix(o);
            }
        } else {
            fix(m);
        }
    }
}
