//! `POST /api/contracts` (secret key): brings in a contract sold elsewhere
//! (an enterprise deal, a migration), with its account and bill group.

use pricing::Contract;
use serde_json::{Value, json};

use crate::http::{ApiError, ApiResult};
use crate::ids::{Random, new_id};
use crate::steps::documents::engine_json;
use crate::steps::{account_view, catalogs, contract_view};
use crate::store::accounts::{self, BillGroup, NewAccount};
use crate::store::contracts::{ContractStatus, NewContract};
use crate::store::quotes::NewQuote;
use crate::store::{Db, DbError};
use crate::stripe::Stripe;
use crate::{App, Now};

/// `POST /api/contracts` (secret key): brings in a contract sold elsewhere
/// (an enterprise deal, a migration), with its account and bill group.
pub async fn run<D: Db, S: Stripe, R: Random>(app: &App<D, S, R>, body: &Value, now: &Now) -> ApiResult<(u16, Value)> {
    let o = body.as_object().ok_or_else(|| ApiError::bad("INVALID_VALUE", "", "The body must be a JSON object."))?;
    if let Some(k) = o.keys().find(|k| !["account", "billGroup", "contract"].contains(&k.as_str())) {
        return Err(ApiError::bad("UNKNOWN_FIELD", k, "Expected account, billGroup and contract."));
    }
    let account = o.get("account").and_then(Value::as_object).ok_or_else(|| {
        ApiError::bad(
            "MISSING_FIELD",
            "account",
            "account ({ name, customId?, billingAddress?, contact? }) is required.",
        )
    })?;
    let name = account
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::bad("MISSING_FIELD", "account.name", "account.name is required."))?;
    let (published, catalog) = catalogs::current_parsed(&app.db).await?;
    let mut contract_json = o.get("contract").cloned().unwrap_or(Value::Null);
    let parsed = Contract::from_json(&catalog, &contract_json).map_err(|e| ApiError::from_engine(&e, ""))?;
    let contract_id = if parsed.id.is_empty() { new_id(&app.rng, "ctr_") } else { parsed.id.clone() };
    if contract_id.len() > 64 || !contract_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(ApiError::bad("INVALID_VALUE", "contract.id", "A contract id is 1 to 64 letters, digits or _."));
    }
    let account_id = new_id(&app.rng, "acct_");
    let bill_group_id = new_id(&app.rng, "bg_");
    let quote_id = new_id(&app.rng, "quo_");
    let flag = |k: &str, d: bool| o.get("billGroup").and_then(|b| b.get(k)).and_then(Value::as_bool).unwrap_or(d);
    let collect = flag("collectInvoiceBalanceAutomatically", catalog.bill_group.collect_automatically);
    let email = flag("autoEmailInvoice", catalog.bill_group.auto_email_invoice);
    let mut normalized = engine_json(&Contract { id: contract_id.clone(), ..parsed });
    if let Value::Object(m) = &mut normalized {
        m.insert("accountId".into(), json!(account_id));
        m.insert("billGroupId".into(), json!(bill_group_id));
        m.insert("quoteId".into(), json!(quote_id));
        m.insert("catalogVersion".into(), json!(published.version));
        if let Some(auto) = contract_json.get("autoRenew").and_then(Value::as_bool) {
            m.insert("autoRenew".into(), json!(auto));
        }
    }
    contract_json = normalized;
    let status = contract_json
        .get("status")
        .and_then(Value::as_str)
        .and_then(ContractStatus::parse)
        .unwrap_or(ContractStatus::Active);
    let at = now.instant.as_str();
    let currency = catalog.currency.code();
    let session = format!("import:{contract_id}");
    let custom_id = account.get("customId").and_then(Value::as_str);
    let new_account = NewAccount {
        id: &account_id,
        custom_id,
        custom_id_key: custom_id.map(crate::custom_ids::key),
        name,
        currency,
        billing_address: account.get("billingAddress"),
        stripe_customer_id: None,
        default_payment_method_id: None,
        credit_balance: rust_decimal::Decimal::ZERO,
        session_id: &session,
        at,
    };
    let mut batch = vec![new_account.insert()];
    if let Some(c) = account.get("contact") {
        let contact_name = c.get("name").and_then(Value::as_str).unwrap_or(name);
        let email = c.get("email").and_then(Value::as_str).unwrap_or_default();
        batch.push(accounts::insert_contact(&new_id(&app.rng, "cont_"), &account_id, contact_name, email, at));
    }
    let settings = BillGroup { id: None, auto_email_invoice: email, collect_automatically: collect };
    batch.push(accounts::insert_bill_group(&bill_group_id, &account_id, currency, &settings, None, at));
    let quote = json!({ "id": quote_id, "type": "IMPORT", "status": "PROCESSED", "contractId": contract_id });
    let new_quote = NewQuote {
        id: &quote_id,
        account_id: &account_id,
        session_id: None,
        custom_id: None,
        catalog_version: published.version,
        body: &quote,
        at,
    };
    batch.push(new_quote.insert());
    let new_contract = NewContract {
        id: &contract_id,
        account_id: &account_id,
        bill_group_id: &bill_group_id,
        quote_id: &quote_id,
        catalog_version: published.version,
        status,
        body: &contract_json,
        at,
    };
    batch.push(new_contract.insert());
    app.db.batch(batch).await.map_err(|e| match e {
        DbError::Conflict(m) if m.contains("custom_id") => {
            ApiError::new(409, "CUSTOM_ID_TAKEN", "account.customId", "Another account already has this customId.")
        }
        DbError::Conflict(_) => ApiError::new(409, "CONTRACT_EXISTS", "contract.id", "A contract with this id exists."),
        other => other.into(),
    })?;
    let account = account_view::view(&app.db, &account_id, None).await?;
    let contract = contract_view::view(&app.db, &contract_id, None).await?;
    Ok((201, json!({ "account": account, "contract": contract })))
}
