//! Generates random catalogs, requests, contracts and changes, prices each
//! natively, and writes one JSON line per case with the engine's exact JSON
//! text (or error). The Node parity test replays every line through the wasm
//! package and demands the same bytes.
//!
//! ```text
//! cargo run --release -p quotekit-pricing --example parity_cases -- OUT.jsonl COUNT [SEED]
//! ```
//!
//! Decimals are written as strings, so no JavaScript float touches an input.

// A test-data generator: its inputs are its own, so indexing and date
// arithmetic cannot be reached by user input.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use pricing::{Catalog, estimate, preview_change, read_today, to_json};
use serde_json::{Value, json};

/// xorshift64*: small, seeded, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        &items[i]
    }

    /// A decimal string with up to `decimals` places, below `whole`.
    fn amount(&mut self, whole: u64, decimals: u32) -> String {
        let mut s = self.below(whole).to_string();
        if decimals > 0 && self.chance(60) {
            let places = 1 + self.below(u64::from(decimals));
            let _ = write!(s, ".{:0width$}", self.below(10u64.pow(places as u32)), width = places as usize);
        }
        s
    }

    fn date(&mut self, from_year: i64) -> chrono::NaiveDate {
        let start = chrono::NaiveDate::from_ymd_opt(i32::try_from(from_year).unwrap_or(2024), 1, 1).unwrap_or_default();
        start + chrono::Days::new(self.below(4 * 366))
    }
}

fn price(rng: &mut Rng, product: &str) -> Value {
    let tiers = |rng: &mut Rng| {
        let n = 1 + rng.below(4);
        let mut bound = 0;
        (0..n)
            .map(|i| {
                bound += 1 + rng.below(40);
                let up_to = if i + 1 == n { Value::Null } else { json!(bound) };
                let mut tier = json!({ "upTo": up_to });
                if rng.chance(80) {
                    tier["unitAmount"] = json!(rng.amount(50, 3));
                }
                if rng.chance(40) {
                    tier["flatAmount"] = json!(rng.amount(200, 2));
                }
                tier
            })
            .collect::<Vec<_>>()
    };
    match rng.below(6) {
        0 => json!({ "productId": product, "model": "FLAT", "amount": rng.amount(500, 2) }),
        1 => json!({ "productId": product, "model": "PER_UNIT", "unitAmount": rng.amount(100, 4) }),
        2 => json!({ "productId": product, "model": "TIERED", "tiers": tiers(rng) }),
        3 => json!({ "productId": product, "model": "VOLUME", "tiers": tiers(rng) }),
        4 => json!({ "productId": product, "model": "STAIRSTEP", "tiers": tiers(rng) }),
        _ => json!({ "productId": product, "model": "PACKAGE", "packageSize": (1 + rng.below(20)).to_string(),
                     "packageAmount": rng.amount(300, 2) }),
    }
}

fn catalog(rng: &mut Rng) -> Value {
    let anchor = if rng.chance(50) {
        json!({ "type": "ANNIVERSARY" })
    } else {
        json!({ "type": "DAY_OF_MONTH", "day": 1 + rng.below(31) })
    };
    let products: Vec<Value> = (0..1 + rng.below(5))
        .map(|p| {
            let min = rng.below(3);
            let mut product = json!({ "id": format!("prod_{p}"), "name": format!("Product {p}"), "minQuantity": min });
            if rng.chance(60) {
                product["maxQuantity"] = json!(min + rng.below(200));
            }
            product
        })
        .collect();
    let product_count = products.len() as u64;
    let offerings: Vec<Value> = (0..1 + rng.below(3))
        .map(|o| {
            let mut ids: Vec<String> = Vec::new();
            for _ in 0..1 + rng.below(3) {
                let id = format!("prod_{}", rng.below(product_count));
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            let rates: Vec<Value> = (0..1 + rng.below(3))
                .map(|r| {
                    let mut rate = json!({
                        "id": format!("rate_{o}_{r}"),
                        "billingFrequency": rng.pick(&["MONTHLY", "QUARTERLY", "SEMI_ANNUALLY", "ANNUALLY"]),
                        "billingTiming": rng.pick(&["IN_ADVANCE", "IN_ADVANCE", "IN_ARREARS"]),
                        "trialDays": rng.pick(&[0, 0, 0, 14, 30]),
                        "prices": ids.iter().map(|id| price(rng, id)).collect::<Vec<_>>(),
                    });
                    if rng.chance(50) {
                        rate["termMonths"] = json!(rng.pick(&[1, 12, 24]));
                    }
                    rate
                })
                .collect();
            json!({ "id": format!("offr_{o}"), "name": format!("Offering {o}"), "productIds": ids, "rates": rates })
        })
        .collect();
    json!({
        "currency": rng.pick(&["USD", "EUR", "JPY", "KWD"]),
        "settings": { "billingAnchor": anchor, "rounding": rng.pick(&["HALF_UP", "HALF_EVEN"]) },
        "products": products,
        "offerings": offerings
    })
}

/// A request over the catalog's offerings: mostly valid, sometimes not.
fn request(rng: &mut Rng, catalog: &Value, today: chrono::NaiveDate) -> Value {
    let offerings = catalog["offerings"].as_array().cloned().unwrap_or_default();
    let chosen: Vec<Value> = offerings
        .iter()
        .filter_map(|o| {
            if !rng.chance(70) {
                return None;
            }
            let rates = o["rates"].as_array().cloned().unwrap_or_default();
            let rate = rng.pick(&rates)["id"].clone();
            let items: Vec<Value> = o["productIds"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| {
                    if !rng.chance(80) {
                        return None;
                    }
                    let quantity = match rng.below(10) {
                        0 => Value::Null,
                        1 => json!("-1"),
                        2 => json!(rng.amount(1000, 2)),
                        _ => json!(rng.amount(60, 1)),
                    };
                    Some(json!({ "productId": p, "quantity": quantity }))
                })
                .collect();
            Some(json!({ "offeringId": o["id"], "rateId": rate, "items": items }))
        })
        .collect();
    let start = match rng.below(10) {
        0 => Value::Null,
        1 => json!((today - chrono::Days::new(1)).to_string()),
        _ => json!((today + chrono::Days::new(rng.below(60))).to_string()),
    };
    json!({ "action": "ESTIMATE", "quote": { "startDate": start, "offerings": chosen } })
}

/// A random operation on the contract's lines and the catalog's offerings.
fn operation(rng: &mut Rng, catalog: &Value, contract: &Value, today: chrono::NaiveDate) -> Value {
    let lines = contract["offerings"].as_array().cloned().unwrap_or_default();
    let offerings = catalog["offerings"].as_array().cloned().unwrap_or_default();
    let line = rng.pick(&lines).clone();
    let other = rng.pick(&offerings).clone();
    let products = |rng: &mut Rng, o: &Value| -> Vec<Value> {
        o["productIds"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| rng.chance(60).then_some(p))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|p| json!({ "productId": p, "quantity": rng.amount(40, 1) }))
            .collect()
    };
    let line_offering = offerings.iter().find(|o| o["id"] == line["offeringId"]).cloned().unwrap_or(Value::Null);
    let mut op = match rng.below(6) {
        0 => json!({ "action": "QUANTITY_CHANGE", "payload": { "offerings": [
            { "offeringId": line["offeringId"], "products": products(rng, &line_offering) } ] } }),
        1 => {
            let rates = line_offering["rates"].as_array().cloned().unwrap_or_default();
            json!({ "action": "RATE_CHANGE", "payload": { "offerings": [
                { "offeringId": line["offeringId"], "rateId": rng.pick(&rates)["id"] } ] } })
        }
        2 => json!({ "action": "OFFERING_CHANGE", "payload": { "offerings": [
            { "offeringId": line["offeringId"], "newOfferingId": other["id"], "products": products(rng, &other) } ] } }),
        3 => json!({ "action": "ADD_OFFERING", "payload": { "offerings": [
            { "offeringId": other["id"], "products": products(rng, &other) } ] } }),
        4 => {
            json!({ "action": "REMOVE_OFFERING", "payload": { "offerings": [ { "offeringId": line["offeringId"] } ] } })
        }
        _ => json!({ "action": "CANCELLATION", "payload": null }),
    };
    op["contractId"] = contract["id"].clone();
    match rng.below(4) {
        0 => op["relativeEffectiveDate"] = json!("NEXT_BILL_CYCLE"),
        1 => op["effectiveDate"] = json!((today + chrono::Days::new(rng.below(90))).to_string()),
        _ => {}
    }
    op
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(out), Some(count)) = (args.first(), args.get(1).and_then(|c| c.parse::<usize>().ok())) else {
        eprintln!("usage: parity_cases OUT.jsonl COUNT [SEED]");
        return ExitCode::from(2);
    };
    let seed = args.get(2).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0x5EED_CAFE) | 1;
    let mut rng = Rng(seed);
    let mut lines = String::new();
    let (mut quotes, mut changes, mut errors) = (0, 0, 0);
    for _ in 0..count {
        let catalog_json = catalog(&mut rng);
        let today = rng.date(2024);
        let today_text = today.to_string();
        let request_json = request(&mut rng, &catalog_json, today);
        let parsed = Catalog::from_json(&catalog_json);
        let native = parsed
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|c| estimate(c, &request_json, read_today(&today_text)?).map(|q| (c, q)));
        let line = match &native {
            Ok((_, quote)) => json!({ "catalog": catalog_json, "request": request_json, "today": today_text,
                                      "native": to_json(quote) }),
            Err(e) => json!({ "catalog": catalog_json, "request": request_json, "today": today_text,
                              "error": { "code": e.code.as_str(), "path": e.path } }),
        };
        quotes += usize::from(native.is_ok());
        errors += usize::from(native.is_err());
        lines.push_str(&line.to_string());
        lines.push('\n');
        // A change to the contract that quote became, some days later.
        if let Ok((catalog, quote)) = native {
            let contract: Value =
                serde_json::from_str(&to_json(&quote.to_contract("ctrct_parity"))).unwrap_or(Value::Null);
            let later = quote.start_date + chrono::Days::new(rng.below(200));
            let op = operation(&mut rng, &catalog_json, &contract, later);
            let later_text = later.to_string();
            let result = preview_change(catalog, &contract, &op, later);
            let line = match &result {
                Ok(preview) => json!({ "catalog": catalog_json, "contract": contract, "operation": op,
                                       "today": later_text, "native": to_json(preview) }),
                Err(e) => json!({ "catalog": catalog_json, "contract": contract, "operation": op,
                                  "today": later_text, "error": { "code": e.code.as_str(), "path": e.path } }),
            };
            changes += usize::from(result.is_ok());
            errors += usize::from(result.is_err());
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
    }
    let written = std::fs::File::create(out).and_then(|mut f| f.write_all(lines.as_bytes()));
    if let Err(e) = written {
        eprintln!("{out}: {e}");
        return ExitCode::from(1);
    }
    eprintln!("parity cases: {quotes} quotes, {changes} changes, {errors} errors, written to {out}");
    ExitCode::SUCCESS
}
