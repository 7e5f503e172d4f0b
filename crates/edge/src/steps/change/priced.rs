//! A change priced on the engine, and what it answers: the old terms on
//! the contract's catalog version, the new ones on the current catalog, the
//! invoice with tax, the next regular invoice for a change dated later.

use std::rc::Rc;

use pricing::{Address, Catalog, ChangePreview, Invoice};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::request::ChangeRequest;
use crate::App;
use crate::http::{ApiError, ApiResult};
use crate::ids::Random;
use crate::steps::billing::stored_body;
use crate::steps::catalogs::{self, Parsed};
use crate::steps::documents::money_json;
use crate::store::catalogs::Published;
use crate::store::contracts::ContractRow;
use crate::store::{Db, accounts};
use crate::stripe::Stripe;

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

/// An engine error as answered (a contract not active is a conflict).
pub fn engine_error(e: &pricing::Error) -> ApiError {
    let mut a = ApiError::from_engine(e, "");
    if e.code == pricing::ErrorCode::ContractNotActive {
        a.status = 409;
    }
    a
}

/// Everything a priced change needs to be answered or written.
pub struct Priced {
    /// The current catalog version, as stored.
    pub published: Published,
    /// The current catalog (its operating settings apply).
    pub current: Rc<Catalog>,
    /// The engine's preview (the contract after, the invoice without tax).
    pub preview: ChangePreview,
    /// The change's invoice with tax.
    pub invoice: Invoice,
    /// For a change dated later: the regular invoice the billing run issues
    /// on that date for the contract as changed (the next period, say), if any.
    pub next_invoice: Option<Invoice>,
    /// The contract as stored after the change.
    pub contract_after: Value,
    /// The account's credit balance now (previews apply it as confirming would).
    pub credit: Decimal,
}

/// Prices `req` on `c` as of `today` (nothing written).
pub async fn price<D: Db, S: Stripe, R: Random>(
    app: &App<D, S, R>,
    c: &ContractRow,
    req: &ChangeRequest,
    today: pricing::NaiveDate,
) -> ApiResult<Priced> {
    let (published, current) = match req.priced_on {
        Some(quoted) => catalogs::version_parsed(&app.db, quoted).await?,
        None => catalogs::current_parsed(&app.db).await?,
    };
    let mut versions = Parsed::default();
    versions.insert(published.version, current);
    // The old terms on the contract's own version, the new on the current
    // catalog (a scheduled change: the version it was quoted on).
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
        let (periods, _) = pricing::billing::due(catalog, &preview.contract, day, &[]).map_err(|e| engine_error(&e))?;
        let lines: Vec<_> = periods.into_iter().filter(|p| p.invoice_date == day).flat_map(|p| p.lines).collect();
        if !lines.is_empty() {
            let next = Invoice::new(&catalog.currency, day, lines).and_then(|i| i.with_tax(catalog, &address));
            next_invoice = Some(next.map_err(|e| engine_error(&e))?);
        }
    }
    // The API's own fields kept; the contract is now on the catalog of its new terms.
    let mut contract_after = stored_body(&preview.contract, &c.body);
    if let Value::Object(m) = &mut contract_after {
        m.insert("catalogVersion".into(), json!(published.version));
    }
    let current = catalogs::parse(&published)?;
    Ok(Priced { published, current, preview, invoice, next_invoice, contract_after, credit: account.credit_balance })
}

/// The amendment quote as answered.
pub fn amendment_quote(id: Option<&str>, status: &str, c: &ContractRow, req: &ChangeRequest, p: &Priced) -> Value {
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
