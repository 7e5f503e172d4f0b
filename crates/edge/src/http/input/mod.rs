//! Reading a `SignUpRequest`: shape, types and limits, each error naming its
//! field. Pricing fields (`quote`) are checked by the engine afterwards.
//! (The other routes' small bodies: `operations`.)

use serde_json::{Map, Value, json};

use super::{ApiError, ApiResult};
pub use crate::steps::change::request::parse as change;
pub use operations::{BillingRunInput, billing_run, customer_token, reprice};

mod operations;
pub mod usage;

/// The eight actions of the Sign-Up API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create and finalize at once, no payment method.
    CreateAndFinalize,
    /// Create and initialize payment method collection.
    CreateWithPaymentMethod,
    /// Create a priced draft.
    CreateInPending,
    /// Initialize payment method collection on a pending session.
    InitPaymentMethod,
    /// Replace what the request carries.
    Update,
    /// Finalize (after applying what the request carries).
    Finalize,
    /// Cancel the session.
    Cancel,
    /// Price without saving.
    Estimate,
}

impl Action {
    /// Every action, in the doc's order.
    pub const ALL: [Self; 8] = [
        Self::CreateAndFinalize,
        Self::CreateWithPaymentMethod,
        Self::CreateInPending,
        Self::InitPaymentMethod,
        Self::Update,
        Self::Finalize,
        Self::Cancel,
        Self::Estimate,
    ];

    /// The wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CreateAndFinalize => "CREATE_AND_FINALIZE",
            Self::CreateWithPaymentMethod => "CREATE_WITH_PAYMENT_METHOD",
            Self::CreateInPending => "CREATE_IN_PENDING",
            Self::InitPaymentMethod => "INIT_PAYMENT_METHOD",
            Self::Update => "UPDATE",
            Self::Finalize => "FINALIZE",
            Self::Cancel => "CANCEL",
            Self::Estimate => "ESTIMATE",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Actions that start a new session (`POST` only).
    #[must_use]
    pub const fn creates(self) -> bool {
        matches!(self, Self::CreateAndFinalize | Self::CreateWithPaymentMethod | Self::CreateInPending)
    }
}

/// A payment method token from the browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentMethodInput {
    /// Display name (`visa`).
    pub name: Option<String>,
    /// `seti_…` (a confirmed SetupIntent) or `pm_…` (a PaymentMethod).
    pub token: String,
}

/// A checked `SignUpRequest`.
#[derive(Clone, Debug)]
pub struct SignUpInput {
    /// What to do.
    pub action: Action,
    /// The normalized customer object.
    pub customer: Option<Value>,
    /// The normalized billGroup object.
    pub bill_group: Option<Value>,
    /// The quote object as sent (checked for limits; priced by the engine).
    pub quote: Option<Value>,
    /// The payment method.
    pub payment_method: Option<PaymentMethodInput>,
}

/// Most offerings in a quote, and items in an offering.
pub const MAX_LIST: usize = 100;
/// Longest free-text field.
pub const MAX_TEXT: usize = 200;

/// A coupon is the vendor's to give: `quote.couponId` needs the secret key
/// (a page holds only the publishable key, and a visitor could name any
/// coupon of the public catalog). 403 at `quote.couponId` otherwise.
pub fn coupon_allowed(input: &SignUpInput, publishable: bool) -> ApiResult<()> {
    let named = input.quote.as_ref().and_then(|q| q.get("couponId")).is_some_and(|c| !c.is_null());
    if named && publishable {
        return Err(ApiError::new(
            403,
            "FORBIDDEN",
            "quote.couponId",
            "quote.couponId needs the secret key: a page (the publishable key) may not choose a coupon.",
        ));
    }
    Ok(())
}

/// Parses the body text: malformed JSON is a 400 that says where.
pub fn parse_body(body: &[u8]) -> ApiResult<Value> {
    let text =
        std::str::from_utf8(body).map_err(|_| ApiError::bad("MALFORMED_JSON", "", "The body is not UTF-8 text."))?;
    if text.trim().is_empty() {
        return Err(ApiError::bad("MALFORMED_JSON", "", "The body is empty; send a JSON object."));
    }
    serde_json::from_str(text).map_err(|e| {
        ApiError::bad(
            "MALFORMED_JSON",
            "",
            format!("The body is not valid JSON: {} (line {}, column {}).", describe(&e), e.line(), e.column()),
        )
    })
}

fn describe(e: &serde_json::Error) -> String {
    // serde_json appends " at line L column C"; we say where ourselves.
    let s = e.to_string();
    s.split(" at line ").next().unwrap_or(&s).to_owned()
}

/// Reads a `SignUpRequest` object.
pub fn signup(v: &Value) -> ApiResult<SignUpInput> {
    let root = object(v, "")?;
    only_keys(root, "", &["action", "customer", "billGroup", "quote", "paymentMethod"])?;
    let action = match present(root, "action") {
        None => return Err(ApiError::bad("MISSING_FIELD", "action", "action is required.")),
        Some(Value::String(s)) => Action::parse(s).ok_or_else(|| {
            ApiError::bad(
                "INVALID_VALUE",
                "action",
                format!(
                    "action must be one of {}.",
                    Action::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
        })?,
        Some(_) => return Err(ApiError::bad("INVALID_VALUE", "action", "action must be a string.")),
    };
    let customer = present(root, "customer").map(customer).transpose()?;
    let bill_group = present(root, "billGroup").map(bill_group).transpose()?;
    let quote = present(root, "quote").map(quote).transpose()?;
    let payment_method = present(root, "paymentMethod").map(payment_method).transpose()?;
    Ok(SignUpInput { action, customer, bill_group, quote, payment_method })
}

/// A field that is present and not null.
fn present<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    o.get(key).filter(|v| !v.is_null())
}

fn join(base: &str, key: &str) -> String {
    if base.is_empty() { key.to_owned() } else { format!("{base}.{key}") }
}

fn object<'a>(v: &'a Value, path: &str) -> ApiResult<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| {
        let at = if path.is_empty() { "The body".to_owned() } else { path.to_owned() };
        ApiError::bad("INVALID_VALUE", path, format!("{at} must be a JSON object."))
    })
}

fn only_keys(o: &Map<String, Value>, path: &str, allowed: &[&str]) -> ApiResult<()> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(ApiError::bad(
            "UNKNOWN_FIELD",
            &join(path, k),
            format!("Unknown field '{}'; expected one of {}.", clip(k), allowed.join(", ")),
        )),
    }
}

fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}

/// A string field: `required` or optional, trimmed length `1..=max`, no control characters.
fn text(o: &Map<String, Value>, base: &str, key: &str, required: bool, max: usize) -> ApiResult<Option<String>> {
    let path = join(base, key);
    match present(o, key) {
        None if required => Err(ApiError::bad("MISSING_FIELD", &path, format!("{path} is required."))),
        None => Ok(None),
        Some(Value::String(s)) => {
            let t = s.trim();
            if t.is_empty() && required {
                Err(ApiError::bad("INVALID_VALUE", &path, format!("{path} must not be empty.")))
            } else if t.chars().count() > max {
                Err(ApiError::bad("INVALID_VALUE", &path, format!("{path} is longer than {max} characters.")))
            } else if t.chars().any(char::is_control) {
                Err(ApiError::bad("INVALID_VALUE", &path, format!("{path} contains control characters.")))
            } else if t.is_empty() {
                Ok(None)
            } else {
                Ok(Some(t.to_owned()))
            }
        }
        Some(_) => Err(ApiError::bad("INVALID_VALUE", &path, format!("{path} must be a string."))),
    }
}

/// A plausible address: one `@`, a local part, a dotted domain, no spaces.
#[must_use]
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && local.len() <= 64
        && s.len() <= 254
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !s.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';'))
}

fn customer(v: &Value) -> ApiResult<Value> {
    let o = object(v, "customer")?;
    only_keys(o, "customer", &["accountName", "customId", "name", "email", "billingAddress"])?;
    let account_name = text(o, "customer", "accountName", true, MAX_TEXT)?;
    let custom_id = text(o, "customer", "customId", false, 100)?;
    let name = text(o, "customer", "name", true, MAX_TEXT)?;
    let email = text(o, "customer", "email", true, 254)?;
    if let Some(e) = &email
        && !is_email(e)
    {
        return Err(ApiError::bad("INVALID_VALUE", "customer.email", "customer.email is not an email address."));
    }
    let mut out = Map::new();
    out.insert("accountName".into(), json!(account_name));
    out.insert("customId".into(), json!(custom_id));
    out.insert("name".into(), json!(name));
    out.insert("email".into(), json!(email));
    if let Some(a) = present(o, "billingAddress") {
        out.insert("billingAddress".into(), address(a, "customer.billingAddress")?);
    }
    Ok(Value::Object(out))
}

/// A checked `PATCH /api/accounts/{id}`: what to change, each optional, at least one.
#[derive(Clone, Debug, Default)]
pub struct AccountUpdate {
    /// The account's (company's) name.
    pub name: Option<String>,
    /// The billing address (replaces the whole address; tax follows it).
    pub billing_address: Option<Value>,
    /// The contact's name.
    pub contact_name: Option<String>,
    /// The contact's email (invoices and Stripe's receipts go there).
    pub contact_email: Option<String>,
}

/// Reads `{ name?, billingAddress?, contact?: { name?, email? } }`.
pub fn account_update(v: &Value) -> ApiResult<AccountUpdate> {
    let o = object(v, "")?;
    only_keys(o, "", &["name", "billingAddress", "contact"])?;
    let mut out = AccountUpdate {
        name: text(o, "", "name", false, MAX_TEXT)?,
        billing_address: present(o, "billingAddress").map(|a| address(a, "billingAddress")).transpose()?,
        ..AccountUpdate::default()
    };
    if let Some(c) = present(o, "contact") {
        let c = object(c, "contact")?;
        only_keys(c, "contact", &["name", "email"])?;
        out.contact_name = text(c, "contact", "name", false, MAX_TEXT)?;
        out.contact_email = text(c, "contact", "email", false, 254)?;
        if out.contact_email.as_deref().is_some_and(|e| !is_email(e)) {
            return Err(ApiError::bad("INVALID_VALUE", "contact.email", "contact.email is not an email address."));
        }
    }
    if out.name.is_none() && out.billing_address.is_none() && out.contact_name.is_none() && out.contact_email.is_none()
    {
        return Err(ApiError::bad(
            "MISSING_FIELD",
            "",
            "Send at least one of name, billingAddress, contact.name, contact.email.",
        ));
    }
    Ok(out)
}

fn address(v: &Value, base: &str) -> ApiResult<Value> {
    let o = object(v, base)?;
    let keys = ["line1", "line2", "city", "state", "postalCode", "country"];
    only_keys(o, base, &keys)?;
    let mut out = Map::new();
    for key in keys {
        if let Some(mut s) = text(o, base, key, false, MAX_TEXT)? {
            if key == "country" {
                if s.len() != 2 || !s.chars().all(|c| c.is_ascii_alphabetic()) {
                    return Err(ApiError::bad(
                        "INVALID_VALUE",
                        &join(base, key),
                        "country must be a two-letter ISO 3166-1 code, such as US.",
                    ));
                }
                s = s.to_ascii_uppercase();
            }
            // Everything else is kept as written (tax matches a state ignoring case).
            out.insert(key.into(), json!(s));
        }
    }
    Ok(Value::Object(out))
}

fn bill_group(v: &Value) -> ApiResult<Value> {
    let o = object(v, "billGroup")?;
    let keys = ["autoEmailInvoice", "collectInvoiceBalanceAutomatically"];
    only_keys(o, "billGroup", &keys)?;
    let mut out = Map::new();
    for key in keys {
        match present(o, key) {
            None => {}
            Some(Value::Bool(b)) => {
                out.insert(key.into(), json!(b));
            }
            Some(_) => {
                let path = join("billGroup", key);
                return Err(ApiError::bad("INVALID_VALUE", &path, format!("{path} must be true or false.")));
            }
        }
    }
    Ok(Value::Object(out))
}

fn quote(v: &Value) -> ApiResult<Value> {
    let o = object(v, "quote")?;
    only_keys(o, "quote", &["startDate", "customId", "couponId", "promotionCode", "offerings"])?;
    text(o, "quote", "promotionCode", false, 64)?;
    text(o, "quote", "customId", false, 100)?;
    text(o, "quote", "couponId", false, 100)?;
    if let Some(Value::Array(list)) = present(o, "offerings") {
        if list.len() > MAX_LIST {
            return Err(ApiError::bad(
                "TOO_MANY",
                "quote.offerings",
                format!("A quote holds at most {MAX_LIST} offerings."),
            ));
        }
        for (i, off) in list.iter().enumerate() {
            if let Some(Value::Array(items)) = off.get("items")
                && items.len() > MAX_LIST
            {
                return Err(ApiError::bad(
                    "TOO_MANY",
                    &format!("quote.offerings[{i}].items"),
                    format!("An offering holds at most {MAX_LIST} items."),
                ));
            }
        }
    }
    Ok(v.clone())
}

fn payment_method(v: &Value) -> ApiResult<PaymentMethodInput> {
    let o = object(v, "paymentMethod")?;
    only_keys(o, "paymentMethod", &["paymentMethodName", "paymentToken"])?;
    let name = text(o, "paymentMethod", "paymentMethodName", false, 100)?;
    let token = text(o, "paymentMethod", "paymentToken", true, 255)?.unwrap_or_default();
    let well_formed = (token.starts_with("seti_") || token.starts_with("pm_"))
        && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !well_formed {
        return Err(ApiError::bad(
            "INVALID_VALUE",
            "paymentMethod.paymentToken",
            "paymentToken must be a Stripe SetupIntent id (seti_…) or PaymentMethod id (pm_…).",
        ));
    }
    Ok(PaymentMethodInput { name, token })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_comma_is_reported_with_its_place() {
        let body = b"{\n  \"action\": \"UPDATE\",\n  \"paymentMethod\": {\n    \"paymentToken\": \"seti_1\",\n  }\n}";
        let e = parse_body(body).err().map(|e| e.message).unwrap_or_default();
        assert!(e.contains("trailing comma") && e.contains("line 5"), "{e}");
    }

    #[test]
    fn fields_are_checked_with_their_paths() {
        let cases = [
            (json!([]), ""),
            (json!({}), "action"),
            (json!({"action": "NOPE"}), "action"),
            (json!({"action": "ESTIMATE", "extra": 1}), "extra"),
            (json!({"action": "UPDATE", "customer": {"accountName": "A", "name": "B"}}), "customer.email"),
            (
                json!({"action": "UPDATE", "customer": {"accountName": "A", "name": "B", "email": "nope"}}),
                "customer.email",
            ),
            (
                json!({"action": "UPDATE", "customer": {"accountName": " ", "name": "B", "email": "a@b.co"}}),
                "customer.accountName",
            ),
            (
                json!({"action": "UPDATE", "customer": {"accountName": "A", "name": "B", "email": "a@b.co", "billingAddress": {"country": "USA"}}}),
                "customer.billingAddress.country",
            ),
            (json!({"action": "UPDATE", "billGroup": {"autoEmailInvoice": "yes"}}), "billGroup.autoEmailInvoice"),
            (json!({"action": "UPDATE", "paymentMethod": {"paymentToken": "tok_1"}}), "paymentMethod.paymentToken"),
            (json!({"action": "UPDATE", "paymentMethod": {}}), "paymentMethod.paymentToken"),
            (json!({"action": "UPDATE", "quote": {"offerings": vec![json!({}); 101]}}), "quote.offerings"),
        ];
        for (body, path) in cases {
            let got = signup(&body).err().map(|e| e.path);
            assert_eq!(got.as_deref(), Some(path), "{body}");
        }
    }

    #[test]
    fn emails() {
        assert!(is_email("john.doe+x@example.com"));
        for bad in ["", "a", "a@b", "@b.co", "a@.co", "a@b.co.", "a b@c.co", "a@b@c.co", "<a@b.co>"] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
