//! QuoteKit's pricing engine for JavaScript: a thin wasm-bindgen layer over
//! `crates/pricing`. It converts values and calls the engine; it has no
//! pricing logic of its own.
//!
//! Inputs cross as `JSON.stringify` text (a number becomes its shortest
//! decimal text, so `0.1` is one tenth) read by a small JSON reader; results
//! leave as the engine's JSON text through `JSON.parse`, so they are plain
//! JSON objects, identical field for field to the API's.

use js_sys::{JSON, Reflect};
use wasm_bindgen::prelude::*;

mod alloc;
mod json;
mod types;

/// Size classes with free lists instead of dlmalloc: 3.5 KB less to download (`alloc.rs`).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: alloc::Allocator = alloc::Allocator::new();

/// A JS `Error` carrying the engine's `code`, `path` and `message`.
fn throw(e: &pricing::Error) -> JsValue {
    let error = js_sys::Error::new(&e.message);
    error.set_name("PricingError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&error, &"code".into(), &e.code.as_str().into());
    let _ = Reflect::set(&error, &"path".into(), &e.path.as_str().into());
    error.into()
}

/// The engine's error for a value JavaScript cannot turn into JSON.
fn not_json(path: &str) -> JsValue {
    throw(&pricing::Error::new(pricing::ErrorCode::InvalidValue, path, "must be JSON (no BigInt, no cycles)"))
}

/// A JS value as JSON: `JSON.stringify` in the engine of the page (one
/// string across the boundary), then read exactly; `undefined` is `null`.
fn read(value: &JsValue, path: &str) -> Result<serde_json::Value, JsValue> {
    if value.is_undefined() {
        return Ok(serde_json::Value::Null);
    }
    let text = JSON::stringify(value).map_err(|_| not_json(path))?;
    let text = text.as_string().ok_or_else(|| not_json(path))?;
    json::parse(&text).map_err(|_| not_json(path))
}

/// Engine JSON text as a plain JS object.
fn write(text: &str) -> Result<JsValue, JsValue> {
    JSON::parse(text)
}

/// `today`, or else the UTC calendar date: the API's "today", whatever the
/// visitor's time zone (a local date would price from tomorrow in UTC+14 and
/// call the API's today `START_DATE_IN_PAST` in UTC−9, part of every day).
fn today(today: Option<String>) -> Result<pricing::NaiveDate, JsValue> {
    let text = today.unwrap_or_else(|| {
        let now = js_sys::Date::new_0();
        format!("{:04}-{:02}-{:02}", now.get_utc_full_year(), now.get_utc_month() + 1, now.get_utc_date())
    });
    pricing::read_today(&text).map_err(|e| throw(&e))
}

fn catalog(value: &JsValue) -> Result<pricing::Catalog, JsValue> {
    let v = read(value, "")?;
    if let Some(why) = not_a_catalog(&v) {
        return Err(throw(&pricing::Error::new(pricing::ErrorCode::InvalidCatalog, "", why)));
    }
    pricing::Catalog::from_json(&v).map_err(|e| throw(&e))
}

/// Why `v` is plainly not a catalog at all (say, the API's 401 answer to a
/// fetch without the publishable key), said so instead of "currency is required".
fn not_a_catalog(v: &serde_json::Value) -> Option<String> {
    let obj = v.as_object();
    if let Some(o) = obj.filter(|o| o.get("error").and_then(serde_json::Value::as_bool) == Some(true)) {
        let field =
            |k: &str| o.get(k).and_then(serde_json::Value::as_str).unwrap_or("").chars().take(200).collect::<String>();
        return Some(format!(
            "this is an API error, not a catalog ({}: {}); fetch GET /api/catalog with the publishable key \
             (Authorization: Bearer pk_…) and check the response's status",
            field("code"),
            field("message")
        ));
    }
    let looks_like_one = obj.is_some_and(|o| ["currency", "products", "offerings"].iter().any(|k| o.contains_key(*k)));
    (!looks_like_one).then(|| {
        "not a catalog: expected the object GET /api/catalog answers (currency, products, offerings)".to_owned()
    })
}

/// ESTIMATE: prices a Sign-Up request's `quote` against `catalog`.
/// `today` (`YYYY-MM-DD`) defaults to the UTC calendar date, like the API's.
/// Throws a `PricingError` (`code`, `path`, `message`).
#[wasm_bindgen(unchecked_return_type = "Quote")]
pub fn estimate(
    #[wasm_bindgen(unchecked_param_type = "Catalog")] catalog: JsValue,
    #[wasm_bindgen(unchecked_param_type = "SignUpRequest")] request: JsValue,
    today: Option<String>,
) -> Result<JsValue, JsValue> {
    Pricing::new(catalog)?.estimate(request, today)
}

/// What FINALIZE charges for `request`: the ESTIMATE's first invoice with
/// tax for `customer.billingAddress` (none without an address). Throws a
/// `PricingError` like `estimate`.
#[wasm_bindgen(js_name = dueAtSignUp, unchecked_return_type = "Invoice")]
pub fn due_at_signup(
    #[wasm_bindgen(unchecked_param_type = "Catalog")] catalog: JsValue,
    #[wasm_bindgen(unchecked_param_type = "SignUpRequest")] request: JsValue,
    today: Option<String>,
) -> Result<JsValue, JsValue> {
    Pricing::new(catalog)?.due_at_signup(request, today)
}

/// Previews a contract change: the contract after it and the invoice it
/// issues (no tax). `operation` is one operation or `{ operations: [...] }`.
#[wasm_bindgen(js_name = previewChange, unchecked_return_type = "ChangePreview")]
pub fn preview_change(
    #[wasm_bindgen(unchecked_param_type = "Catalog")] catalog: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ContractInput")] contract: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ContractOperation | { operations: ContractOperation[] }")]
    operation: JsValue,
    today: Option<String>,
) -> Result<JsValue, JsValue> {
    Pricing::new(catalog)?.preview_change(contract, operation, today)
}

/// Validates a catalog; throws a `PricingError` (`INVALID_CATALOG`) naming
/// the offending path.
#[wasm_bindgen(js_name = validateCatalog)]
pub fn validate_catalog(#[wasm_bindgen(unchecked_param_type = "Catalog")] catalog: JsValue) -> Result<(), JsValue> {
    self::catalog(&catalog).map(|_| ())
}

/// ESTIMATE answering the engine's JSON text, byte for byte what the API
/// sends: amounts keep their currency decimals (`100.00`).
#[wasm_bindgen(js_name = estimateJson)]
pub fn estimate_json(
    #[wasm_bindgen(unchecked_param_type = "Catalog")] catalog: JsValue,
    #[wasm_bindgen(unchecked_param_type = "SignUpRequest")] request: JsValue,
    today: Option<String>,
) -> Result<String, JsValue> {
    let catalog = self::catalog(&catalog)?;
    let quote = pricing::estimate(&catalog, &read(&request, "")?, self::today(today)?).map_err(|e| throw(&e))?;
    Ok(pricing::to_json(&quote))
}

/// `previewChange` answering the engine's JSON text.
#[wasm_bindgen(js_name = previewChangeJson)]
pub fn preview_change_json(
    #[wasm_bindgen(unchecked_param_type = "Catalog")] catalog: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ContractInput")] contract: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ContractOperation | { operations: ContractOperation[] }")]
    operation: JsValue,
    today: Option<String>,
) -> Result<String, JsValue> {
    let catalog = self::catalog(&catalog)?;
    let (contract, operation) = (read(&contract, "contract")?, read(&operation, "")?);
    let preview =
        pricing::preview_change(&catalog, &contract, &operation, self::today(today)?).map_err(|e| throw(&e))?;
    Ok(pricing::to_json(&preview))
}

/// What the billing run issues for `contract` through `through` (`YYYY-MM-DD`):
/// one invoice per invoice date (no tax), and the contract after. `usage` is
/// the metered products' usage per day (`[{ productId, date, quantity }]`,
/// none if omitted), billed at each period's end. The API's run computes
/// exactly this.
#[wasm_bindgen(js_name = billingDue, unchecked_return_type = "Billing")]
pub fn billing_due(
    #[wasm_bindgen(unchecked_param_type = "Catalog")] catalog: JsValue,
    #[wasm_bindgen(unchecked_param_type = "ContractInput")] contract: JsValue,
    through: String,
    #[wasm_bindgen(unchecked_optional_param_type = "UsageDay[]")] usage: Option<JsValue>,
) -> Result<JsValue, JsValue> {
    let catalog = self::catalog(&catalog)?;
    let through = pricing::read_date(&through, "through").map_err(|e| throw(&e))?;
    let usage = pricing::billing::Usage::list_from_json(&read(&usage.unwrap_or(JsValue::UNDEFINED), "usage")?)
        .map_err(|e| throw(&e))?;
    let billing =
        pricing::billing::bill(&catalog, &read(&contract, "contract")?, through, &usage).map_err(|e| throw(&e))?;
    write(&pricing::to_json(&billing))
}

/// A catalog parsed and validated once, then reused for every price: what a
/// pricing page keeps while a visitor moves a slider.
#[wasm_bindgen]
pub struct Pricing {
    catalog: pricing::Catalog,
}

#[wasm_bindgen]
impl Pricing {
    /// Parses and validates `catalog`; throws a `PricingError` if invalid.
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_param_type = "Catalog")] catalog: JsValue) -> Result<Pricing, JsValue> {
        Ok(Self { catalog: self::catalog(&catalog)? })
    }

    /// ESTIMATE against this catalog (see the free function `estimate`).
    #[wasm_bindgen(unchecked_return_type = "Quote")]
    pub fn estimate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SignUpRequest")] request: JsValue,
        today: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let request = read(&request, "")?;
        let quote = pricing::estimate(&self.catalog, &request, self::today(today)?).map_err(|e| throw(&e))?;
        write(&pricing::to_json(&quote))
    }

    /// `dueAtSignUp` against this catalog.
    #[wasm_bindgen(js_name = dueAtSignUp, unchecked_return_type = "Invoice")]
    pub fn due_at_signup(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SignUpRequest")] request: JsValue,
        today: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let request = read(&request, "")?;
        let invoice = pricing::due_at_signup(&self.catalog, &request, self::today(today)?).map_err(|e| throw(&e))?;
        write(&pricing::to_json(&invoice))
    }

    /// `previewChange` against this catalog.
    #[wasm_bindgen(js_name = previewChange, unchecked_return_type = "ChangePreview")]
    pub fn preview_change(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ContractInput")] contract: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ContractOperation | { operations: ContractOperation[] }")]
        operation: JsValue,
        today: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let (contract, operation) = (read(&contract, "contract")?, read(&operation, "")?);
        let preview = pricing::preview_change(&self.catalog, &contract, &operation, self::today(today)?)
            .map_err(|e| throw(&e))?;
        write(&pricing::to_json(&preview))
    }
}
