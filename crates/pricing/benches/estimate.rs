//! Criterion benchmarks of the engine: `cargo bench -p quotekit-pricing`.
//! Figures and the machine are recorded in `BENCHMARKS.md`.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pricing::{Catalog, estimate, preview_change, read_today};
use serde_json::{Value, json};

/// A catalog of `offerings` offerings with `items` products each, alternating
/// TIERED and PER_UNIT prices, monthly in advance, DAY_OF_MONTH 1.
fn catalog(offerings: usize, items: usize) -> Value {
    let products: Vec<Value> = (0..offerings * items)
        .map(|p| json!({ "id": format!("prod_{p}"), "name": format!("Product {p}"), "minQuantity": 0, "maxQuantity": 100000 }))
        .collect();
    let offerings: Vec<Value> = (0..offerings)
        .map(|o| {
            let ids: Vec<String> = (0..items).map(|i| format!("prod_{}", o * items + i)).collect();
            let prices: Vec<Value> = ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    if i % 2 == 0 {
                        json!({ "productId": id, "model": "TIERED", "tiers": [
                            { "upTo": 10, "unitAmount": "5" },
                            { "upTo": 50, "unitAmount": "4", "flatAmount": "10" },
                            { "upTo": null, "unitAmount": "3", "flatAmount": "20" } ] })
                    } else {
                        json!({ "productId": id, "model": "PER_UNIT", "unitAmount": "12.50" })
                    }
                })
                .collect();
            json!({
                "id": format!("offr_{o}"), "name": format!("Offering {o}"), "productIds": ids,
                "rates": [
                    { "id": format!("rate_{o}_m"), "name": "Monthly", "billingFrequency": "MONTHLY",
                      "billingTiming": "IN_ADVANCE", "termMonths": 12, "prices": prices },
                    { "id": format!("rate_{o}_y"), "name": "Annual", "billingFrequency": "ANNUALLY",
                      "billingTiming": "IN_ADVANCE", "prices": prices }
                ]
            })
        })
        .collect();
    json!({
        "currency": "USD",
        "settings": { "billingAnchor": { "type": "DAY_OF_MONTH", "day": 1 } },
        "products": products,
        "offerings": offerings
    })
}

/// A request for every offering and product of [`catalog`], started mid-month.
fn request(offerings: usize, items: usize) -> Value {
    let offerings: Vec<Value> = (0..offerings)
        .map(|o| {
            let items: Vec<Value> = (0..items)
                .map(|i| json!({ "productId": format!("prod_{}", o * items + i), "quantity": 17 + i }))
                .collect();
            json!({ "offeringId": format!("offr_{o}"), "rateId": format!("rate_{o}_m"), "items": items })
        })
        .collect();
    json!({ "action": "ESTIMATE", "quote": { "startDate": "2026-11-21", "offerings": offerings } })
}

fn bench_estimate(c: &mut Criterion) {
    let today = read_today("2026-11-21").unwrap();
    let mut group = c.benchmark_group("estimate");
    for (offerings, items) in [(3, 2), (20, 10), (200, 10)] {
        let catalog = Catalog::from_json(&catalog(offerings, items)).unwrap();
        let request = request(offerings, items);
        estimate(&catalog, &request, today).unwrap();
        group.throughput(Throughput::Elements((offerings * items) as u64));
        group.bench_with_input(BenchmarkId::from_parameter(format!("{offerings}x{items}")), &request, |b, request| {
            b.iter(|| estimate(black_box(&catalog), black_box(request), today).unwrap())
        });
    }
    group.finish();
}

fn bench_to_json(c: &mut Criterion) {
    let today = read_today("2026-11-21").unwrap();
    let catalog = Catalog::from_json(&catalog(3, 2)).unwrap();
    let quote = estimate(&catalog, &request(3, 2), today).unwrap();
    c.bench_function("to_json/3x2", |b| b.iter(|| pricing::to_json(black_box(&quote))));
}

fn bench_catalog(c: &mut Criterion) {
    let mut group = c.benchmark_group("catalog_parse_validate");
    for (offerings, items) in [(3, 2), (200, 10)] {
        let value = catalog(offerings, items);
        group.bench_with_input(BenchmarkId::from_parameter(format!("{offerings}x{items}")), &value, |b, v| {
            b.iter(|| Catalog::from_json(black_box(v)).unwrap())
        });
    }
    group.finish();
}

fn bench_preview_change(c: &mut Criterion) {
    let today = read_today("2026-12-10").unwrap();
    let catalog = Catalog::from_json(&catalog(3, 2)).unwrap();
    let contract = json!({
        "id": "ctrct_bench", "status": "ACTIVE", "currency": "USD",
        "startDate": "2026-11-21", "endDate": "2027-11-21",
        "offerings": [
            { "offeringId": "offr_0", "rateId": "rate_0_m", "serviceStart": "2026-11-21", "anchorDay": 1,
              "invoicedThrough": "2027-01-01",
              "products": [ { "productId": "prod_0", "quantity": 17 }, { "productId": "prod_1", "quantity": 18 } ] },
            { "offeringId": "offr_1", "rateId": "rate_1_m", "serviceStart": "2026-11-21", "anchorDay": 1,
              "invoicedThrough": "2027-01-01",
              "products": [ { "productId": "prod_2", "quantity": 17 }, { "productId": "prod_3", "quantity": 18 } ] }
        ]
    });
    let operations = json!({ "operations": [
        { "action": "QUANTITY_CHANGE", "contractId": "ctrct_bench", "payload": { "offerings": [
            { "offeringId": "offr_0", "products": [ { "productId": "prod_0", "quantity": 40 } ] } ] } },
        { "action": "RATE_CHANGE", "contractId": "ctrct_bench", "payload": { "offerings": [
            { "offeringId": "offr_1", "rateId": "rate_1_y" } ] } },
        { "action": "ADD_OFFERING", "contractId": "ctrct_bench", "payload": { "offerings": [
            { "offeringId": "offr_2", "products": [ { "productId": "prod_4", "quantity": 5 } ] } ] } }
    ] });
    preview_change(&catalog, &contract, &operations, today).unwrap();
    c.bench_function("preview_change/3_operations", |b| {
        b.iter(|| preview_change(black_box(&catalog), black_box(&contract), black_box(&operations), today).unwrap())
    });
}

criterion_group!(benches, bench_estimate, bench_to_json, bench_catalog, bench_preview_change);
criterion_main!(benches);
