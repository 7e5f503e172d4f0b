//! The query side: accounts, contracts, invoices and quotes, lists paginated
//! by cursor; and importing a contract sold elsewhere (secret key).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use pricing::{Catalog, Contract};
use serde_json::{Value, json};

use crate::api::{ApiError, ApiResult, Request};
use crate::catalogs;
use crate::db::{Db, Row, int, json as json_col, text};
use crate::ids::{Random, new_id};
use crate::records::{engine_json, money_json};
use crate::stripe::Stripe;
use crate::{App, Now, stmt};

/// Default and largest page sizes.
pub const DEFAULT_LIMIT: i64 = 20;
/// The largest page.
pub const MAX_LIMIT: i64 = 100;

/// `limit` and `cursor` from the query string.
pub fn page_params(req: &Request) -> ApiResult<(i64, Option<(String, String)>)> {
    let limit = match req.query("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| ApiError::bad("INVALID_VALUE", "limit", format!("limit is 1 to {MAX_LIMIT}.")))?,
    };
    let cursor = match req.query("cursor") {
        None | Some("") => None,
        Some(c) => {
            let text = B64.decode(c).ok().and_then(|b| String::from_utf8(b).ok());
            let pair = text.as_deref().and_then(|t| t.split_once('|')).map(|(a, b)| (a.to_owned(), b.to_owned()));
            Some(pair.ok_or_else(|| ApiError::bad("INVALID_VALUE", "cursor", "cursor is not one this API gave out."))?)
        }
    };
    Ok((limit, cursor))
}

fn cursor_of(row: &Row) -> Option<String> {
    Some(B64.encode(format!("{}|{}", text(row, "created_at")?, text(row, "id")?)))
}

/// `{ data, nextCursor }` from rows fetched with `limit + 1`.
fn page(mut rows: Vec<Row>, limit: i64, view: impl Fn(&Row) -> Value) -> Value {
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = if more { rows.last().and_then(cursor_of) } else { None };
    json!({ "data": rows.iter().map(view).collect::<Vec<_>>(), "nextCursor": next })
}

fn account_view(r: &Row) -> Value {
    let currency = text(r, "currency").unwrap_or_default();
    let credit: rust_decimal::Decimal = text(r, "credit_balance").and_then(|c| c.parse().ok()).unwrap_or_default();
    json!({
        "id": text(r, "id"), "name": text(r, "name"), "customId": text(r, "custom_id"), "currency": currency,
        "billingAddress": json_col(r, "billing_address"), "creditBalance": money_json(credit, &currency),
        "stripeCustomerId": text(r, "stripe_customer_id"),
        "defaultPaymentMethodId": text(r, "default_payment_method_id"), "createdAt": text(r, "created_at"),
    })
}

fn invoice_row_view(r: &Row) -> Value {
    let mut v = json_col(r, "body").unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        let currency = text(r, "currency").unwrap_or_default();
        m.insert("status".into(), json!(text(r, "status")));
        let due: rust_decimal::Decimal = text(r, "amount_due").and_then(|d| d.parse().ok()).unwrap_or_default();
        m.insert("amountDue".into(), money_json(due, &currency));
        m.insert("createdAt".into(), json!(text(r, "created_at")));
    }
    v
}

fn within(scope: Option<&str>, account: Option<&str>) -> bool {
    scope.is_none_or(|s| Some(s) == account)
}

impl<D: Db, S: Stripe, R: Random> App<D, S, R> {
    /// `GET /api/accounts/{id}`.
    pub async fn account(&self, id: &str, scope: Option<&str>) -> ApiResult<Value> {
        if !within(scope, Some(id)) {
            return Err(ApiError::not_found("account"));
        }
        let rows = self.db.query(stmt!("SELECT * FROM accounts WHERE id = ?1", id)).await?;
        let r = rows.first().ok_or_else(|| ApiError::not_found("account"))?;
        let mut v = account_view(r);
        let contacts = self
            .db
            .query(stmt!("SELECT id, name, email FROM contacts WHERE account_id = ?1 ORDER BY created_at, id", id))
            .await?;
        let groups = self
            .db
            .query(stmt!(
                "SELECT id, auto_email_invoice, collect_automatically FROM bill_groups WHERE account_id = ?1",
                id
            ))
            .await?;
        if let Value::Object(m) = &mut v {
            m.insert(
                "contacts".into(),
                contacts
                    .iter()
                    .map(|c| json!({ "id": text(c, "id"), "name": text(c, "name"), "email": text(c, "email") }))
                    .collect(),
            );
            m.insert(
                "billGroups".into(),
                groups
                    .iter()
                    .map(|g| {
                        json!({ "id": text(g, "id"),
                            "autoEmailInvoice": int(g, "auto_email_invoice") == Some(1),
                            "collectInvoiceBalanceAutomatically": int(g, "collect_automatically") == Some(1) })
                    })
                    .collect(),
            );
        }
        Ok(v)
    }

    /// `GET /api/accounts?customId=` (secret key): the account with the vendor's reference.
    pub async fn accounts_by_custom_id(&self, custom_id: &str) -> ApiResult<Value> {
        let key = crate::custom_ids::key(custom_id);
        let rows = self.db.query(stmt!("SELECT * FROM accounts WHERE custom_id_key = ?1", key.as_str())).await?;
        Ok(json!({ "data": rows.iter().map(account_view).collect::<Vec<_>>(), "nextCursor": null }))
    }

    /// `GET /api/accounts/{id}/contracts`.
    pub async fn account_contracts(&self, id: &str, scope: Option<&str>, req: &Request) -> ApiResult<Value> {
        let (rows, limit) = self
            .account_page(
                id,
                scope,
                req,
                "SELECT id, status, body, version, created_at FROM contracts WHERE account_id = ?1 \
                 AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) ORDER BY created_at DESC, id DESC LIMIT ?4",
            )
            .await?;
        Ok(page(rows, limit, |r| {
            let mut v = json_col(r, "body").unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("status".into(), json!(text(r, "status")));
                m.insert("version".into(), json!(int(r, "version")));
            }
            v
        }))
    }

    /// `GET /api/accounts/{id}/invoices`.
    pub async fn account_invoices(&self, id: &str, scope: Option<&str>, req: &Request) -> ApiResult<Value> {
        let (rows, limit) = self
            .account_page(
                id,
                scope,
                req,
                "SELECT * FROM invoices WHERE account_id = ?1 \
                 AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) ORDER BY created_at DESC, id DESC LIMIT ?4",
            )
            .await?;
        Ok(page(rows, limit, invoice_row_view))
    }

    /// One page of an account's rows, newest first, and the page size asked:
    /// `sql` takes the account (?1), the cursor's time and id (?2, ?3) and the
    /// number of rows to read (?4: one more than the page, to know if another follows).
    async fn account_page(
        &self,
        id: &str,
        scope: Option<&str>,
        req: &Request,
        sql: &'static str,
    ) -> ApiResult<(Vec<Row>, i64)> {
        self.account(id, scope).await?;
        let (limit, cursor) = page_params(req)?;
        let (at, last) = cursor.unwrap_or_else(|| ("9999".into(), String::new()));
        let last = if last.is_empty() { "\u{10ffff}".to_owned() } else { last };
        let rows = self.db.query(stmt!(sql, id, at, last, limit.saturating_add(1))).await?;
        Ok((rows, limit))
    }

    /// `GET /api/invoices/{id}`.
    pub async fn invoice(&self, id: &str, scope: Option<&str>) -> ApiResult<Value> {
        let rows = self.db.query(stmt!("SELECT * FROM invoices WHERE id = ?1", id)).await?;
        let r = rows
            .first()
            .filter(|r| within(scope, text(r, "account_id").as_deref()))
            .ok_or_else(|| ApiError::not_found("invoice"))?;
        let mut v = invoice_row_view(r);
        let payments = self.db.query(stmt!("SELECT * FROM payments WHERE invoice_id = ?1", id)).await?;
        if let Value::Object(m) = &mut v {
            m.insert("payments".into(), payments.iter().map(crate::records::payment_row_view).collect());
        }
        Ok(v)
    }

    /// `GET /api/quotes/{id}`: a sign-up quote or an amendment quote.
    pub async fn quote(&self, id: &str, scope: Option<&str>) -> ApiResult<Value> {
        let rows = self.db.query(stmt!("SELECT account_id, body FROM quotes WHERE id = ?1", id)).await?;
        let rows = if rows.is_empty() {
            self.db.query(stmt!("SELECT account_id, quote AS body FROM amendments WHERE id = ?1", id)).await?
        } else {
            rows
        };
        rows.first()
            .filter(|r| within(scope, text(r, "account_id").as_deref()))
            .and_then(|r| json_col(r, "body"))
            .ok_or_else(|| ApiError::not_found("quote"))
    }

    /// `POST /api/contracts` (secret key): brings in a contract sold elsewhere
    /// (an enterprise deal, a migration), with its account and bill group.
    pub async fn import_contract(&self, body: &Value, now: &Now) -> ApiResult<(u16, Value)> {
        let o =
            body.as_object().ok_or_else(|| ApiError::bad("INVALID_VALUE", "", "The body must be a JSON object."))?;
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
        let published = catalogs::require_current(&self.db).await?;
        let catalog: Catalog = published.parse()?;
        let mut contract_json = o.get("contract").cloned().unwrap_or(Value::Null);
        let parsed = Contract::from_json(&catalog, &contract_json).map_err(|e| ApiError::from_engine(&e, ""))?;
        let contract_id = if parsed.id.is_empty() { new_id(&self.rng, "ctr_") } else { parsed.id.clone() };
        if contract_id.len() > 64 || !contract_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ApiError::bad(
                "INVALID_VALUE",
                "contract.id",
                "A contract id is 1 to 64 letters, digits or _.",
            ));
        }
        let account_id = new_id(&self.rng, "acct_");
        let bill_group_id = new_id(&self.rng, "bg_");
        let quote_id = new_id(&self.rng, "quo_");
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
        let status = contract_json.get("status").and_then(Value::as_str).unwrap_or("ACTIVE").to_owned();
        let at = now.instant.as_str();
        let currency = catalog.currency.code();
        let session = format!("import:{contract_id}");
        let custom_id = account.get("customId").and_then(Value::as_str);
        let mut batch = vec![stmt!(
            "INSERT INTO accounts (id, custom_id, name, currency, billing_address, session_id, created_at, \
             custom_id_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            account_id.as_str(),
            custom_id,
            name,
            currency,
            account.get("billingAddress").map(Value::to_string),
            session.as_str(),
            at,
            custom_id.map(crate::custom_ids::key)
        )];
        if let Some(c) = account.get("contact") {
            batch.push(stmt!(
                "INSERT INTO contacts (id, account_id, name, email, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                new_id(&self.rng, "cont_"),
                account_id.as_str(),
                c.get("name").and_then(Value::as_str).unwrap_or(name),
                c.get("email").and_then(Value::as_str).unwrap_or_default(),
                at
            ));
        }
        batch.push(stmt!(
            "INSERT INTO bill_groups (id, account_id, currency, auto_email_invoice, collect_automatically, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            bill_group_id.as_str(),
            account_id.as_str(),
            currency,
            email,
            collect,
            at
        ));
        batch.push(stmt!(
            "INSERT INTO quotes (id, account_id, status, catalog_version, body, created_at) \
             VALUES (?1, ?2, 'PROCESSED', ?3, ?4, ?5)",
            quote_id.as_str(),
            account_id.as_str(),
            published.version,
            json!({ "id": quote_id, "type": "IMPORT", "status": "PROCESSED", "contractId": contract_id }).to_string(),
            at
        ));
        batch.push(stmt!(
            "INSERT INTO contracts (id, account_id, bill_group_id, quote_id, catalog_version, status, body, created_at, \
             updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            contract_id.as_str(),
            account_id.as_str(),
            bill_group_id.as_str(),
            quote_id.as_str(),
            published.version,
            status,
            contract_json.to_string(),
            at
        ));
        self.db.batch(batch).await.map_err(|e| match e {
            crate::db::DbError::Conflict(m) if m.contains("custom_id") => {
                ApiError::new(409, "CUSTOM_ID_TAKEN", "account.customId", "Another account already has this customId.")
            }
            crate::db::DbError::Conflict(_) => {
                ApiError::new(409, "CONTRACT_EXISTS", "contract.id", "A contract with this id exists.")
            }
            other => other.into(),
        })?;
        Ok((
            201,
            json!({ "account": self.account(&account_id, None).await?, "contract": self.contract_view(&contract_id, None).await? }),
        ))
    }
}
