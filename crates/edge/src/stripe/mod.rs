//! Stripe, called over HTTP: form-encoded requests, JSON answers, an
//! idempotency key on every write. The transport is the [`Http`] trait (the
//! Worker's `fetch`), so everything here is plain Rust.

pub mod signature;

use serde_json::Value;

/// One HTTP exchange. `Err` is a transport failure (refused, timed out).
#[allow(async_fn_in_trait)]
pub trait Http {
    /// Sends a request; answers the status and body text.
    async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Option<String>,
    ) -> Result<(u16, String), String>;
}

/// A SetupIntent as far as we use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupIntent {
    /// `seti_…`.
    pub id: String,
    /// For Stripe.js in the browser.
    pub client_secret: String,
    /// The Stripe customer it was made for.
    pub customer: Option<String>,
    /// `succeeded` once the card is confirmed.
    pub status: String,
    /// The PaymentMethod it produced.
    pub payment_method: Option<String>,
}

/// A PaymentMethod as far as we use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentMethod {
    /// `pm_…`.
    pub id: String,
    /// The customer it is attached to.
    pub customer: Option<String>,
    /// Card brand (`visa`).
    pub brand: Option<String>,
    /// Last four digits.
    pub last4: Option<String>,
}

/// A PaymentIntent as far as we use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentIntent {
    /// `pi_…`.
    pub id: String,
    /// `succeeded`, `processing`, `requires_action`, …
    pub status: String,
}

/// What went wrong with a Stripe call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StripeError {
    /// Unreachable, timed out, 5xx or 429: retry later; nothing is known to have happened.
    Unavailable(String),
    /// The card was declined (HTTP 402, or a failed PaymentIntent).
    Declined {
        /// Stripe's `code` (`card_declined`).
        code: String,
        /// Stripe's `decline_code`, when given.
        decline_code: Option<String>,
        /// Stripe's message, fit for the payer.
        message: String,
    },
    /// Any other 4xx: the request was refused (unknown id, wrong customer…).
    Rejected {
        /// HTTP status.
        status: u16,
        /// Stripe's message.
        message: String,
    },
}

impl std::fmt::Display for StripeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(why) => write!(f, "Stripe unavailable: {why}"),
            Self::Declined { code, decline_code, message } => {
                write!(f, "declined ({code}, {}): {message}", decline_code.as_deref().unwrap_or("-"))
            }
            Self::Rejected { status, message } => write!(f, "refused ({status}): {message}"),
        }
    }
}

impl std::error::Error for StripeError {}

/// The Stripe operations the Sign-Up API needs.
#[allow(async_fn_in_trait)]
pub trait Stripe {
    /// The publishable key handed to browsers.
    fn publishable_key(&self) -> &str;
    /// Creates a customer.
    async fn create_customer(
        &self,
        idem: &str,
        name: &str,
        email: &str,
        meta: &[(&str, &str)],
    ) -> Result<String, StripeError>;
    /// Sets a customer's name and email (what Stripe shows and sends receipts to).
    async fn update_customer(&self, idem: &str, id: &str, name: &str, email: &str) -> Result<(), StripeError>;
    /// Creates a SetupIntent for off-session use.
    async fn create_setup_intent(&self, idem: &str, customer: &str) -> Result<SetupIntent, StripeError>;
    /// Reads a SetupIntent.
    async fn setup_intent(&self, id: &str) -> Result<SetupIntent, StripeError>;
    /// Reads a PaymentMethod.
    async fn payment_method(&self, id: &str) -> Result<PaymentMethod, StripeError>;
    /// Attaches a PaymentMethod to a customer.
    async fn attach(&self, idem: &str, payment_method: &str, customer: &str) -> Result<PaymentMethod, StripeError>;
    /// Makes a PaymentMethod the customer's default for invoices.
    async fn set_default(&self, idem: &str, customer: &str, payment_method: &str) -> Result<(), StripeError>;
    /// Creates the PaymentIntent for a charge, unconfirmed: no money moves yet.
    async fn create_payment_intent(&self, idem: &str, charge: &Charge<'_>) -> Result<String, StripeError>;
    /// Confirms a PaymentIntent off-session: the charge itself.
    async fn confirm_payment_intent(&self, idem: &str, id: &str) -> Result<PaymentIntent, StripeError>;
    /// Where a PaymentIntent stands (after an answer was lost).
    async fn payment_intent(&self, id: &str) -> Result<PaymentIntent, StripeError>;
    /// Cancels a PaymentIntent not yet charged (it can never be charged after).
    async fn cancel_payment_intent(&self, idem: &str, id: &str) -> Result<(), StripeError>;
}

/// An off-session charge.
#[derive(Clone, Debug)]
pub struct Charge<'a> {
    /// Stripe customer.
    pub customer: &'a str,
    /// Saved PaymentMethod.
    pub payment_method: &'a str,
    /// Amount in minor units.
    pub amount: i64,
    /// ISO currency, lower case.
    pub currency: String,
    /// Our ids, for reconciliation.
    pub metadata: Vec<(&'a str, String)>,
}

/// [`Stripe`] over HTTP.
pub struct StripeHttp<H> {
    http: H,
    base: String,
    secret_key: String,
    publishable_key: String,
}

impl<H: Http> StripeHttp<H> {
    /// A client for `base` (`https://api.stripe.com`, or a localstripe).
    pub fn new(http: H, base: &str, secret_key: &str, publishable_key: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            secret_key: secret_key.to_owned(),
            publishable_key: publishable_key.to_owned(),
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        idem: Option<&str>,
        form: &[(&str, &str)],
    ) -> Result<Value, StripeError> {
        let url = format!("{}{path}", self.base);
        let mut headers =
            vec![("authorization", format!("Bearer {}", self.secret_key)), ("stripe-version", "2024-06-20".to_owned())];
        let body = if method == "GET" {
            None
        } else {
            headers.push(("content-type", "application/x-www-form-urlencoded".to_owned()));
            if let Some(k) = idem {
                headers.push(("idempotency-key", k.to_owned()));
            }
            Some(form_encode(form))
        };
        let (status, text) = self.http.send(method, &url, &headers, body).await.map_err(StripeError::Unavailable)?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        match status {
            200..=299 if value.is_object() => Ok(value),
            200..=299 => Err(StripeError::Unavailable("Stripe answered something that is not JSON".into())),
            402 => Err(declined(value.get("error").unwrap_or(&Value::Null))),
            429 | 500..=599 => Err(StripeError::Unavailable(format!("Stripe answered HTTP {status}"))),
            _ => Err(StripeError::Rejected { status, message: message_of(value.get("error").unwrap_or(&Value::Null)) }),
        }
    }
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn message_of(error: &Value) -> String {
    str_of(error, "message").unwrap_or_else(|| "Stripe refused the request.".into())
}

fn declined(error: &Value) -> StripeError {
    StripeError::Declined {
        code: str_of(error, "code").unwrap_or_else(|| "card_declined".into()),
        decline_code: str_of(error, "decline_code"),
        message: str_of(error, "message").unwrap_or_else(|| "The card was declined.".into()),
    }
}

fn id_of(v: &Value) -> Result<String, StripeError> {
    str_of(v, "id").ok_or_else(|| StripeError::Unavailable("Stripe answered without an id".into()))
}

/// A field that is either an id or an expanded object.
fn ref_of(v: &Value, key: &str) -> Option<String> {
    match v.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(o @ Value::Object(_)) => str_of(o, "id"),
        _ => None,
    }
}

fn setup_intent_of(v: &Value) -> Result<SetupIntent, StripeError> {
    Ok(SetupIntent {
        id: id_of(v)?,
        client_secret: str_of(v, "client_secret").unwrap_or_default(),
        customer: ref_of(v, "customer"),
        status: str_of(v, "status").unwrap_or_default(),
        payment_method: ref_of(v, "payment_method"),
    })
}

fn payment_method_of(v: &Value) -> Result<PaymentMethod, StripeError> {
    let card = v.get("card").unwrap_or(&Value::Null);
    Ok(PaymentMethod {
        id: id_of(v)?,
        customer: ref_of(v, "customer"),
        brand: str_of(card, "brand"),
        last4: str_of(card, "last4"),
    })
}

impl<H: Http> Stripe for StripeHttp<H> {
    fn publishable_key(&self) -> &str {
        &self.publishable_key
    }

    async fn create_customer(
        &self,
        idem: &str,
        name: &str,
        email: &str,
        meta: &[(&str, &str)],
    ) -> Result<String, StripeError> {
        let keys: Vec<String> = meta.iter().map(|(k, _)| format!("metadata[{k}]")).collect();
        let mut form = vec![("name", name), ("email", email)];
        form.extend(keys.iter().map(String::as_str).zip(meta.iter().map(|(_, v)| *v)));
        id_of(&self.call("POST", "/v1/customers", Some(idem), &form).await?)
    }

    async fn update_customer(&self, idem: &str, id: &str, name: &str, email: &str) -> Result<(), StripeError> {
        let path = format!("/v1/customers/{}", encode(id));
        self.call("POST", &path, Some(idem), &[("name", name), ("email", email)]).await.map(|_| ())
    }

    async fn create_setup_intent(&self, idem: &str, customer: &str) -> Result<SetupIntent, StripeError> {
        let form = [("customer", customer), ("usage", "off_session"), ("payment_method_types[]", "card")];
        setup_intent_of(&self.call("POST", "/v1/setup_intents", Some(idem), &form).await?)
    }

    async fn setup_intent(&self, id: &str) -> Result<SetupIntent, StripeError> {
        setup_intent_of(&self.call("GET", &format!("/v1/setup_intents/{}", encode(id)), None, &[]).await?)
    }

    async fn payment_method(&self, id: &str) -> Result<PaymentMethod, StripeError> {
        payment_method_of(&self.call("GET", &format!("/v1/payment_methods/{}", encode(id)), None, &[]).await?)
    }

    async fn attach(&self, idem: &str, payment_method: &str, customer: &str) -> Result<PaymentMethod, StripeError> {
        let path = format!("/v1/payment_methods/{}/attach", encode(payment_method));
        payment_method_of(&self.call("POST", &path, Some(idem), &[("customer", customer)]).await?)
    }

    async fn set_default(&self, idem: &str, customer: &str, payment_method: &str) -> Result<(), StripeError> {
        let path = format!("/v1/customers/{}", encode(customer));
        self.call("POST", &path, Some(idem), &[("invoice_settings[default_payment_method]", payment_method)])
            .await
            .map(|_| ())
    }

    async fn create_payment_intent(&self, idem: &str, c: &Charge<'_>) -> Result<String, StripeError> {
        let amount = c.amount.to_string();
        let keys: Vec<String> = c.metadata.iter().map(|(k, _)| format!("metadata[{k}]")).collect();
        let mut form = vec![
            ("amount", amount.as_str()),
            ("currency", c.currency.as_str()),
            ("customer", c.customer),
            ("payment_method", c.payment_method),
        ];
        form.extend(keys.iter().map(String::as_str).zip(c.metadata.iter().map(|(_, v)| v.as_str())));
        id_of(&self.call("POST", "/v1/payment_intents", Some(idem), &form).await?)
    }

    async fn confirm_payment_intent(&self, idem: &str, id: &str) -> Result<PaymentIntent, StripeError> {
        let path = format!("/v1/payment_intents/{}/confirm", encode(id));
        payment_intent_of(&self.call("POST", &path, Some(idem), &[("off_session", "true")]).await?)
    }

    async fn payment_intent(&self, id: &str) -> Result<PaymentIntent, StripeError> {
        payment_intent_of(&self.call("GET", &format!("/v1/payment_intents/{}", encode(id)), None, &[]).await?)
    }

    async fn cancel_payment_intent(&self, idem: &str, id: &str) -> Result<(), StripeError> {
        let path = format!("/v1/payment_intents/{}/cancel", encode(id));
        self.call("POST", &path, Some(idem), &[]).await.map(|_| ())
    }
}

/// The decline code of a PaymentIntent that was canceled uncharged.
pub const CANCELED: &str = "payment_intent_canceled";

/// A PaymentIntent as answered: `succeeded`/`processing` (paid),
/// `requires_confirmation` (not yet charged), else declined with its reason.
fn payment_intent_of(v: &Value) -> Result<PaymentIntent, StripeError> {
    let pi = PaymentIntent { id: id_of(v)?, status: str_of(v, "status").unwrap_or_default() };
    match pi.status.as_str() {
        "succeeded" | "processing" | "requires_confirmation" => Ok(pi),
        "canceled" => Err(StripeError::Declined {
            code: CANCELED.into(),
            decline_code: None,
            message: "The payment was canceled before it was charged.".into(),
        }),
        _ => Err(match v.get("last_payment_error") {
            Some(e) if e.is_object() => declined(e),
            _ => StripeError::Declined {
                code: "authentication_required".into(),
                decline_code: None,
                message: "The card needs the cardholder to authenticate this payment.".into(),
            },
        }),
    }
}

/// `application/x-www-form-urlencoded`.
#[must_use]
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// Percent-encodes everything but unreserved characters.
#[must_use]
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_brackets_and_spaces() {
        assert_eq!(
            form_encode(&[("metadata[a b]", "x&y=z"), ("email", "jo+1@ex.com")]),
            "metadata%5Ba%20b%5D=x%26y%3Dz&email=jo%2B1%40ex.com"
        );
    }

    #[test]
    fn decline_keeps_stripe_codes() {
        let e = declined(
            &serde_json::json!({"code": "card_declined", "decline_code": "insufficient_funds", "message": "Insufficient funds."}),
        );
        assert_eq!(
            e,
            StripeError::Declined {
                code: "card_declined".into(),
                decline_code: Some("insufficient_funds".into()),
                message: "Insufficient funds.".into()
            }
        );
    }
}
