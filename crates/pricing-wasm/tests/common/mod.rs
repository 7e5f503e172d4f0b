//! The checks both wasm test targets run: every golden vector through the
//! package's JS-facing functions, and the shape of a thrown error.

use js_sys::{JSON, Reflect};
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};

include!(concat!(env!("OUT_DIR"), "/vectors.rs"));

fn js(value: &Value) -> JsValue {
    JSON::parse(&value.to_string()).unwrap()
}

fn json(value: &JsValue) -> Value {
    serde_json::from_str(&JSON::stringify(value).unwrap().as_string().unwrap()).unwrap()
}

/// The package's answer to a case, in the shape of `expected`.
fn outcome(case: &Value) -> Value {
    let today = case["today"].as_str().map(str::to_owned);
    let through = case.get("through").and_then(Value::as_str);
    let result = match (case.get("operation").filter(|o| !o.is_null()), through) {
        (_, Some(through)) => quotekit_pricing::billing_due(
            js(&case["catalog"]),
            js(&case["contract"]),
            through.into(),
            Some(js(&case["usage"])),
        )
        .map(|v| serde_json::json!({ "billing": json(&v) })),
        (Some(op), None) => {
            quotekit_pricing::preview_change(js(&case["catalog"]), js(&case["contract"]), js(op), today)
                .map(|v| serde_json::json!({ "change": json(&v) }))
        }
        (None, None) => quotekit_pricing::estimate(js(&case["catalog"]), js(&case["request"]), today)
            .map(|v| serde_json::json!({ "quote": json(&v) })),
    };
    result.unwrap_or_else(|error| {
        let field = |k: &str| Reflect::get(&error, &k.into()).unwrap().as_string().unwrap();
        serde_json::json!({ "error": { "code": field("code"), "path": field("path"), "message": field("message") } })
    })
}

/// Every vector (shared, the project's own, vectors-next) through the JS-facing API.
pub fn every_vector_passes() {
    assert!(VECTORS.iter().filter(|(folder, _, _)| *folder == "shared").count() > 0, "no shared vectors embedded");
    assert!(VECTORS.iter().filter(|(folder, _, _)| *folder == "project").count() > 0, "no project vectors embedded");
    assert!(VECTORS.iter().filter(|(folder, _, _)| *folder == "next").count() > 0, "no vectors-next embedded");
    let failures: Vec<String> = VECTORS
        .iter()
        .filter_map(|(folder, name, text)| {
            let case: Value = serde_json::from_str(text).unwrap();
            let actual = outcome(&case);
            golden::matches(&case["expected"], &actual).err().map(|why| format!("{folder}/{name}: {why}"))
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} vectors fail:\n{}", failures.len(), VECTORS.len(), failures.join("\n"));
}

/// The package gives the same answer as the engine compiled natively would:
/// its JSON-text entry points agree byte for byte with `pricing::golden`.
pub fn the_json_entry_points_match_the_engine() {
    for (_, name, text) in VECTORS {
        let case: Value = serde_json::from_str(text).unwrap();
        let native = golden::run(&case);
        if let Some(through) = case.get("through").and_then(Value::as_str) {
            // No JSON-text entry point for billing: every value equal (numbers as decimals).
            let wasm = quotekit_pricing::billing_due(
                js(&case["catalog"]),
                js(&case["contract"]),
                through.into(),
                Some(js(&case["usage"])),
            );
            match (wasm, native) {
                (Ok(wasm), Ok((_, native))) => {
                    let native: Value = serde_json::from_str(&native).unwrap();
                    let (wasm, same) = (json(&wasm), golden::matches(&native, &json(&wasm)));
                    assert!(same.is_ok() && golden::matches(&wasm, &native).is_ok(), "{name}: {same:?}");
                }
                (Err(_), Err(_)) => {}
                (wasm, native) => panic!("{name}: wasm {:?} but native {native:?}", wasm.map_err(|e| e.as_string())),
            }
            continue;
        }
        let today = case["today"].as_str().map(str::to_owned);
        let result = match case.get("operation").filter(|o| !o.is_null()) {
            Some(op) => {
                quotekit_pricing::preview_change_json(js(&case["catalog"]), js(&case["contract"]), js(op), today)
                    .map(|t| ("change", t))
            }
            None => {
                quotekit_pricing::estimate_json(js(&case["catalog"]), js(&case["request"]), today).map(|t| ("quote", t))
            }
        };
        match (result, native) {
            (Ok(wasm), Ok(native)) => assert_eq!(wasm, native, "{name}"),
            (Err(error), Err(native)) => {
                let field = |k: &str| Reflect::get(&error, &k.into()).unwrap().as_string().unwrap();
                assert_eq!((field("code"), field("path")), (native.code.as_str().to_owned(), native.path), "{name}");
            }
            (wasm, native) => panic!("{name}: wasm {:?} but native {native:?}", wasm.map_err(|e| e.as_string())),
        }
    }
}

/// A thrown error is an `Error` instance with `code`, `path` and `message`.
pub fn errors_are_error_instances_with_code_path_and_message() {
    let catalog = serde_json::json!({ "currency": "USD", "products": [], "offerings": [] });
    let request = serde_json::json!({ "quote": { "offerings": [] } });
    let error = quotekit_pricing::estimate(js(&catalog), js(&request), Some("2026-11-21".into())).unwrap_err();
    assert!(error.is_instance_of::<js_sys::Error>());
    let field = |k: &str| Reflect::get(&error, &k.into()).unwrap().as_string().unwrap();
    assert_eq!(field("code"), "INVALID_VALUE");
    assert_eq!(field("path"), "quote.offerings");
    assert_eq!(field("message"), "at least one offering is required");
    assert_eq!(field("name"), "PricingError");

    let bad = quotekit_pricing::validate_catalog(js(&serde_json::json!({ "currency": "XYZ" }))).unwrap_err();
    assert_eq!(Reflect::get(&bad, &"code".into()).unwrap().as_string().unwrap(), "INVALID_CATALOG");
    assert_eq!(Reflect::get(&bad, &"path".into()).unwrap().as_string().unwrap(), "currency");
}

/// Without `today`, the user's local calendar date is used: a start date of
/// yesterday is in the past, today's is not.
pub fn today_defaults_to_the_local_calendar_date() {
    let now = js_sys::Date::new_0();
    let local = |d: &js_sys::Date| format!("{:04}-{:02}-{:02}", d.get_full_year(), d.get_month() + 1, d.get_date());
    let yesterday = js_sys::Date::new(&JsValue::from_f64(now.get_time() - 86_400_000.0));
    let catalog = serde_json::json!({ "currency": "USD", "products": [ { "id": "p" } ], "offerings": [ { "id": "o",
        "productIds": ["p"], "rates": [ { "id": "r", "billingFrequency": "MONTHLY", "billingTiming": "IN_ADVANCE",
        "prices": [ { "productId": "p", "model": "FLAT", "amount": "1" } ] } ] } ] });
    let request = |start: &str| {
        js(
            &serde_json::json!({ "quote": { "startDate": start, "offerings": [ { "offeringId": "o", "rateId": "r" } ] } }),
        )
    };
    let pricing = quotekit_pricing::Pricing::new(js(&catalog)).unwrap();
    let quote = pricing.estimate(request(&local(&now)), None).unwrap();
    assert_eq!(json(&quote)["startDate"], local(&now).as_str());
    let error = pricing.estimate(request(&local(&yesterday)), None).unwrap_err();
    assert_eq!(Reflect::get(&error, &"code".into()).unwrap().as_string().unwrap(), "START_DATE_IN_PAST");
}

/// The module's memory after `f` has run `n` times.
fn memory_after(n: usize, f: &dyn Fn()) -> u32 {
    for _ in 0..n {
        f();
    }
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length()
}

/// A page prices on every keystroke: the allocator reuses what each call
/// freed, so memory reaches a steady size and stays there.
pub fn memory_stops_growing_when_pricing_repeatedly() {
    let catalog: Value = serde_json::from_str(include_str!("../../../edge/demo-catalog.json")).unwrap();
    let pricing = quotekit_pricing::Pricing::new(js(&catalog)).unwrap();
    let request =
        js(&serde_json::json!({ "quote": { "startDate": "2026-12-15", "couponId": "cpn_welcome", "offerings": [
        { "offeringId": "offr_team", "rateId": "rate_team_monthly",
          "items": [{ "productId": "prod_seats", "quantity": 12 }, { "productId": "prod_storage", "quantity": 1500 }] },
        { "offeringId": "offr_support", "rateId": "rate_support_monthly" }] } }));
    let price = || {
        pricing.estimate(request.clone(), Some("2026-12-01".into())).unwrap();
        pricing.due_at_signup(request.clone(), Some("2026-12-01".into())).unwrap();
    };
    let warm = memory_after(200, &price);
    let later = memory_after(2_000, &price);
    assert_eq!(later, warm, "memory grew from {warm} to {later} bytes over 2 000 more prices");
}
