//! A sign-up session as stored, its life (which action is legal in which
//! state) and how it is shown.

use serde_json::{Map, Value, json};

use crate::api::{ApiError, ApiResult};
use crate::db::{Db, Row, Stmt, int, json as json_col, text};
use crate::input::Action;
use crate::stmt;

/// Where a session is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Saved; can be updated, given a payment method, finalized or canceled.
    Open,
    /// A FINALIZE holds it while the payment is taken.
    Finalizing,
    /// Done: account, contract, invoice (and payment) exist.
    Finalized,
    /// Canceled by the visitor or the vendor.
    Canceled,
}

impl Status {
    /// Stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::Finalizing => "FINALIZING",
            Self::Finalized => "FINALIZED",
            Self::Canceled => "CANCELED",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Finalizing, Self::Finalized, Self::Canceled].into_iter().find(|x| x.as_str() == s)
    }
}

/// How long a FINALIZE may hold a session before another may take over
/// (a Worker that died mid-payment leaves its claim behind).
pub const CLAIM_SECONDS: i64 = 60;

/// Whether a claim taken at `at` (`YYYY-MM-DDTHH:MM:SSZ`) is older than
/// [`CLAIM_SECONDS`]: whoever took it stopped, another may take over. (A
/// request holding a claim makes a few Stripe calls, each cut at 10 s.)
#[must_use]
pub fn claim_expired(at: &str, now: &crate::Now) -> bool {
    seconds_since(at, now).is_some_and(|s| s > CLAIM_SECONDS)
}

/// Seconds from a stored instant (`YYYY-MM-DDTHH:MM:SSZ`) to `now`.
#[must_use]
pub fn seconds_since(at: &str, now: &crate::Now) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%SZ")
        .ok()
        .map(|t| now.at.signed_duration_since(t).num_seconds())
}

/// Whether `action` may be applied to a session in `status` (PATCH). The
/// whole table, in one place:
///
/// | status      | INIT_PAYMENT_METHOD, UPDATE, FINALIZE, CANCEL, ESTIMATE | CREATE_* |
/// |-------------|-----------------------------------------------------------|----------|
/// | OPEN        | yes                                                       | 400      |
/// | FINALIZING  | 409 `FINALIZE_IN_PROGRESS` (FINALIZE takes over a stale claim) | 400 |
/// | FINALIZED   | 409 `SESSION_FINALIZED`                                   | 400      |
/// | CANCELED    | 409 `SESSION_CANCELED`                                    | 400      |
pub fn check_transition(status: Status, action: Action, claim_is_stale: bool) -> ApiResult<()> {
    if action.creates() {
        return Err(ApiError::bad(
            "INVALID_ACTION",
            "action",
            format!("{} starts a new session: POST /api/selfService/signup.", action.as_str()),
        ));
    }
    match status {
        Status::Open => Ok(()),
        Status::Finalizing if action == Action::Finalize && claim_is_stale => Ok(()),
        Status::Finalizing => Err(ApiError::conflict(
            "FINALIZE_IN_PROGRESS",
            "This session is being finalized; wait for that request, then read the session.",
        )),
        Status::Finalized => Err(ApiError::conflict(
            "SESSION_FINALIZED",
            format!("This session is already finalized; {} is not possible any more.", action.as_str()),
        )),
        Status::Canceled => Err(ApiError::conflict(
            "SESSION_CANCELED",
            format!("This session was canceled; {} is not possible.", action.as_str()),
        )),
    }
}

/// Writes a whole session row (an update keeps the row, so its events stay attached).
const UPSERT: &str = "INSERT INTO sessions (id, version, status, catalog_version, customer, bill_group, quote_request, quote, quote_id, quote_custom_id, account_id, contact_id, stripe_customer_id, setup_intent_id, setup_client_secret, payment_method_id, payment_method_name, payment_method_card, charge_attempts, last_error, bill_group_id, contract_id, invoice_id, payment_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26) ON CONFLICT (id) DO UPDATE SET version = excluded.version, status = excluded.status, catalog_version = excluded.catalog_version, customer = excluded.customer, bill_group = excluded.bill_group, quote_request = excluded.quote_request, quote = excluded.quote, quote_id = excluded.quote_id, quote_custom_id = excluded.quote_custom_id, account_id = excluded.account_id, contact_id = excluded.contact_id, stripe_customer_id = excluded.stripe_customer_id, setup_intent_id = excluded.setup_intent_id, setup_client_secret = excluded.setup_client_secret, payment_method_id = excluded.payment_method_id, payment_method_name = excluded.payment_method_name, payment_method_card = excluded.payment_method_card, charge_attempts = excluded.charge_attempts, last_error = excluded.last_error, bill_group_id = excluded.bill_group_id, contract_id = excluded.contract_id, invoice_id = excluded.invoice_id, payment_id = excluded.payment_id, updated_at = excluded.updated_at";

/// A session row.
#[derive(Clone, Debug, Default, PartialEq)]
#[allow(missing_docs)]
pub struct Session {
    pub id: String,
    pub version: i64,
    pub status: Option<Status>,
    pub catalog_version: i64,
    pub customer: Option<Value>,
    pub bill_group: Option<Value>,
    pub quote_request: Option<Value>,
    pub quote: Option<Value>,
    pub quote_id: String,
    pub quote_custom_id: Option<String>,
    pub account_id: String,
    pub contact_id: String,
    pub stripe_customer_id: Option<String>,
    pub setup_intent_id: Option<String>,
    pub setup_client_secret: Option<String>,
    pub payment_method_id: Option<String>,
    pub payment_method_name: Option<String>,
    pub payment_method_card: Option<Value>,
    pub charge_attempts: i64,
    pub last_error: Option<Value>,
    pub bill_group_id: Option<String>,
    pub contract_id: Option<String>,
    pub invoice_id: Option<String>,
    pub payment_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Session {
    /// The status (a row always has one).
    #[must_use]
    pub fn status(&self) -> Status {
        self.status.unwrap_or(Status::Open)
    }

    fn from_row(r: &Row) -> Option<Self> {
        Some(Self {
            id: text(r, "id")?,
            version: int(r, "version")?,
            status: Some(Status::parse(&text(r, "status")?)?),
            catalog_version: int(r, "catalog_version")?,
            customer: json_col(r, "customer"),
            bill_group: json_col(r, "bill_group"),
            quote_request: json_col(r, "quote_request"),
            quote: json_col(r, "quote"),
            quote_id: text(r, "quote_id")?,
            quote_custom_id: text(r, "quote_custom_id"),
            account_id: text(r, "account_id")?,
            contact_id: text(r, "contact_id")?,
            stripe_customer_id: text(r, "stripe_customer_id"),
            setup_intent_id: text(r, "setup_intent_id"),
            setup_client_secret: text(r, "setup_client_secret"),
            payment_method_id: text(r, "payment_method_id"),
            payment_method_name: text(r, "payment_method_name"),
            payment_method_card: json_col(r, "payment_method_card"),
            charge_attempts: int(r, "charge_attempts").unwrap_or(0),
            last_error: json_col(r, "last_error"),
            bill_group_id: text(r, "bill_group_id"),
            contract_id: text(r, "contract_id"),
            invoice_id: text(r, "invoice_id"),
            payment_id: text(r, "payment_id"),
            created_at: text(r, "created_at")?,
            updated_at: text(r, "updated_at")?,
        })
    }

    /// Loads a session.
    pub async fn load(db: &impl Db, id: &str) -> ApiResult<Option<Self>> {
        let rows = db.query(stmt!("SELECT * FROM sessions WHERE id = ?1", id)).await?;
        Ok(rows.first().and_then(Self::from_row))
    }

    /// Loads a session or answers 404.
    pub async fn require(db: &impl Db, id: &str) -> ApiResult<Self> {
        Self::load(db, id).await?.ok_or_else(|| ApiError::not_found("sign-up session"))
    }

    fn columns(&self) -> Vec<crate::db::Sql> {
        let j = |v: &Option<Value>| v.as_ref().map(Value::to_string);
        vec![
            self.id.as_str().into(),
            self.version.into(),
            self.status().as_str().into(),
            self.catalog_version.into(),
            j(&self.customer).into(),
            j(&self.bill_group).into(),
            j(&self.quote_request).into(),
            j(&self.quote).into(),
            self.quote_id.as_str().into(),
            self.quote_custom_id.clone().into(),
            self.account_id.as_str().into(),
            self.contact_id.as_str().into(),
            self.stripe_customer_id.clone().into(),
            self.setup_intent_id.clone().into(),
            self.setup_client_secret.clone().into(),
            self.payment_method_id.clone().into(),
            self.payment_method_name.clone().into(),
            j(&self.payment_method_card).into(),
            self.charge_attempts.into(),
            j(&self.last_error).into(),
            self.bill_group_id.clone().into(),
            self.contract_id.clone().into(),
            self.invoice_id.clone().into(),
            self.payment_id.clone().into(),
            self.created_at.as_str().into(),
            self.updated_at.as_str().into(),
        ]
    }

    /// Statements that write this session as version `self.version`, which
    /// must be one more than what the writer read: the event row's primary key
    /// makes a second writer of the same version fail (and its whole batch with it).
    #[must_use]
    pub fn save(&self, action: &str) -> Vec<Stmt> {
        let event = stmt!(
            "INSERT INTO session_events (session_id, version, action, at) VALUES (?1, ?2, ?3, ?4)",
            self.id.as_str(),
            self.version,
            action,
            self.updated_at.as_str()
        );
        let upsert = Stmt { sql: UPSERT, params: self.columns() };
        // The row first (session_events references it), then the version claim.
        vec![upsert, event]
    }

    /// The next version of this session, stamped `now`.
    #[must_use]
    pub fn next(&self, now: &str) -> Self {
        let mut s = self.clone();
        s.version = s.version.saturating_add(1);
        s.updated_at = now.to_owned();
        s
    }

    /// Where the visitor is: `details`, `payment_method`, `review`,
    /// `processing`, `complete` or `canceled`.
    #[must_use]
    pub fn step(&self) -> &'static str {
        match self.status() {
            Status::Canceled => "canceled",
            Status::Finalized => "complete",
            Status::Finalizing => "processing",
            Status::Open if self.customer.is_none() || self.quote.is_none() => "details",
            Status::Open if self.needs_payment_method() => "payment_method",
            Status::Open => "review",
        }
    }

    /// True when finalizing would take a payment but no card is saved.
    #[must_use]
    pub fn needs_payment_method(&self) -> bool {
        self.payment_method_id.is_none() && self.collects_automatically() && self.first_invoice_positive()
    }

    /// The bill group's `collectInvoiceBalanceAutomatically`.
    #[must_use]
    pub fn collects_automatically(&self) -> bool {
        self.bill_group
            .as_ref()
            .and_then(|b| b.get("collectInvoiceBalanceAutomatically"))
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }

    fn first_invoice_positive(&self) -> bool {
        let amount = self.quote.as_ref().and_then(|q| q.pointer("/firstInvoice/amountWithoutTax"));
        amount.is_some_and(|a| {
            a.to_string().parse::<rust_decimal::Decimal>().is_ok_and(|d| d > rust_decimal::Decimal::ZERO)
        })
    }

    /// The quote as shown: the engine's quote plus id, status, customId and catalog version.
    #[must_use]
    pub fn quote_view(&self) -> Option<Value> {
        let mut q = self.quote.clone()?;
        if let Value::Object(m) = &mut q {
            let status = if self.status() == Status::Finalized { "PROCESSED" } else { "DRAFT" };
            let mut head = Map::new();
            head.insert("id".into(), json!(self.quote_id));
            head.insert("status".into(), json!(status));
            head.insert("customId".into(), json!(self.quote_custom_id));
            head.insert("catalogVersion".into(), json!(self.catalog_version));
            head.append(m);
            return Some(Value::Object(head));
        }
        Some(q)
    }

    /// The customer as the API answers it.
    #[must_use]
    pub fn customer_view(&self) -> Option<Value> {
        let c = self.customer.as_ref()?;
        Some(json!({
            "accountId": self.account_id,
            "accountName": c.get("accountName"),
            "contactId": self.contact_id,
            "contactName": c.get("name"),
            "contactEmail": c.get("email"),
            "customId": c.get("customId"),
            "billingAddress": c.get("billingAddress").cloned().unwrap_or_else(|| json!({})),
        }))
    }

    /// The whole session as `GET /api/selfService/signup/{id}` and every
    /// action answer it (`extra` adds `contract`, `invoice`, `payment`).
    #[must_use]
    pub fn view(&self, action: &str, signup_url: &str, publishable_key: &str, extra: Map<String, Value>) -> Value {
        let mut m = Map::new();
        m.insert("sessionId".into(), json!(self.id));
        m.insert("error".into(), json!(false));
        m.insert("action".into(), json!(action));
        m.insert("status".into(), json!(self.status().as_str()));
        m.insert("step".into(), json!(self.step()));
        m.insert("urls".into(), json!({ "signup": signup_url }));
        m.insert("catalogVersion".into(), json!(self.catalog_version));
        if let Some(c) = self.customer_view() {
            m.insert("customer".into(), c);
        }
        if let Some(b) = &self.bill_group {
            let mut b = b.clone();
            if let (Value::Object(o), Some(id)) = (&mut b, &self.bill_group_id) {
                o.insert("id".into(), json!(id));
            }
            m.insert("billGroup".into(), b);
        }
        if let Some(q) = self.quote_view() {
            m.insert("quote".into(), q);
        }
        if let Some(pm) = &self.payment_method_id {
            let card = self.payment_method_card.clone().unwrap_or_else(|| json!({}));
            m.insert(
                "paymentMethod".into(),
                json!({
                    "paymentMethodName": self.payment_method_name,
                    "stripePaymentMethodId": pm,
                    "brand": card.get("brand"),
                    "last4": card.get("last4"),
                }),
            );
        }
        if let (Status::Open, Some(customer), Some(seti), Some(secret)) =
            (self.status(), &self.stripe_customer_id, &self.setup_intent_id, &self.setup_client_secret)
            && self.payment_method_id.is_none()
        {
            m.insert(
                "paymentMethodInit".into(),
                json!({ "stripe": {
                    "customerId": customer,
                    "setupIntentId": seti,
                    "clientSecret": secret,
                    "publicKey": publishable_key,
                }}),
            );
        }
        if let Some(e) = &self.last_error {
            m.insert("lastError".into(), e.clone());
        }
        m.extend(extra);
        m.insert("createdAt".into(), json!(self.created_at));
        m.insert("updatedAt".into(), json!(self.updated_at));
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transition_table() {
        use Action::*;
        use Status::*;
        for action in [InitPaymentMethod, Update, Finalize, Cancel, Estimate] {
            assert!(check_transition(Open, action, false).is_ok());
            for (status, code) in
                [(Finalized, "SESSION_FINALIZED"), (Canceled, "SESSION_CANCELED"), (Finalizing, "FINALIZE_IN_PROGRESS")]
            {
                let e = check_transition(status, action, false).err();
                assert_eq!(e.as_ref().map(|e| (e.status, e.code.as_str())), Some((409, code)), "{action:?} {status:?}");
            }
        }
        assert!(check_transition(Finalizing, Finalize, true).is_ok());
        assert!(check_transition(Finalizing, Update, true).is_err());
        for action in [CreateAndFinalize, CreateWithPaymentMethod, CreateInPending] {
            for status in [Open, Finalizing, Finalized, Canceled] {
                assert_eq!(check_transition(status, action, false).err().map(|e| e.status), Some(400));
            }
        }
    }
}
