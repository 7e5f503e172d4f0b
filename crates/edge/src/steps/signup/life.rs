//! A sign-up session's life (which action is legal in which state) and how
//! it is shown.

use serde_json::{Map, Value, json};

use crate::http::input::Action;
use crate::http::{ApiError, ApiResult};
pub use crate::store::sessions::{Session, Status};

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

impl Session {
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
            if let Some(code) =
                self.quote_request.as_ref().and_then(|r| r.get("promotionCode")).filter(|c| c.is_string())
            {
                head.insert("promotionCode".into(), code.clone());
            }
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
                assert_eq!(e.as_ref().map(|e| (e.status, e.code)), Some((409, code)), "{action:?} {status:?}");
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
