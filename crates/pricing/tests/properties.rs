//! Property tests of the engine's invariants, and fuzz-style checks that no
//! input the parser accepts, however large or odd, makes it panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use pricing::{
    Anchor, Catalog, Frequency, PriceModel, Schedule, Tier, TierTable, add_months, days, estimate, factor_text,
    preview_change, read_today,
};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

// ---------- generators ----------

/// Decimal text as a user might send it: small, fractional, huge, exponent.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..2000).prop_map(|n| n.to_string()),
        (0u64..10_000_000, 0u32..6).prop_map(|(m, s)| Decimal::new(m as i64, s).to_string()),
        (1u32..10, 0u32..40).prop_map(|(m, e)| format!("{m}E+{e}")),
        (1u32..10, 0u32..40).prop_map(|(m, e)| format!("{m}e-{e}")),
        Just("79228162514264337593543950335".to_owned()),
        Just("7922816251426433759354395033.5".to_owned()),
        Just("0.0000000000000000000000000001".to_owned()),
        Just("-0".to_owned()),
        Just("-1".to_owned()),
    ]
}

fn date_in(lo: i32, hi: i32) -> impl Strategy<Value = NaiveDate> {
    (lo..=hi, 1u32..=12, 1u32..=31).prop_map(|(y, m, d)| {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_else(|| NaiveDate::from_ymd_opt(y, m, 28).unwrap())
    })
}

fn any_date() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![date_in(2020, 2030), date_in(1, 9999), Just(NaiveDate::from_ymd_opt(9999, 12, 31).unwrap())]
}

fn frequency() -> impl Strategy<Value = Frequency> {
    prop::sample::select(Frequency::ALL.to_vec())
}

fn anchor() -> impl Strategy<Value = Anchor> {
    prop_oneof![Just(Anchor::Anniversary), (1u32..=31).prop_map(Anchor::DayOfMonth)]
}

/// A valid tier table: strictly ascending bounds, the last open.
fn tier_table() -> impl Strategy<Value = TierTable> {
    prop::collection::vec((1u32..100, 0u32..5000, 0u32..5000), 1..6).prop_map(|raw| {
        let mut bound = Decimal::ZERO;
        let last = raw.len() - 1;
        let tiers = raw
            .into_iter()
            .enumerate()
            .map(|(i, (step, unit, flat))| {
                bound += Decimal::from(step);
                Tier {
                    up_to: (i != last).then_some(bound),
                    unit_amount: Decimal::new(i64::from(unit), 2),
                    flat_amount: Decimal::new(i64::from(flat), 1),
                }
            })
            .collect();
        TierTable::new(tiers).unwrap()
    })
}

fn quantity() -> impl Strategy<Value = Decimal> {
    (0u64..1_000_000, 0u32..3).prop_map(|(m, s)| Decimal::new(m as i64, s))
}

/// The catalog the fuzz-style properties price against: every model, every
/// frequency, both timings, trials and terms.
fn catalog_json(anchor: Anchor, rounding: &str, currency: &str) -> Value {
    let anchor = match anchor {
        Anchor::Anniversary => json!({ "type": "ANNIVERSARY" }),
        Anchor::DayOfMonth(d) => json!({ "type": "DAY_OF_MONTH", "day": d }),
    };
    let tiers = json!([{ "upTo": 10, "unitAmount": "5" }, { "upTo": 50, "unitAmount": "4", "flatAmount": "10" },
                       { "upTo": null, "unitAmount": "3", "flatAmount": "20" }]);
    json!({
        "currency": currency,
        "settings": { "billingAnchor": anchor, "rounding": rounding },
        "products": [
            { "id": "p_seat", "minQuantity": 0 }, { "id": "p_tier", "minQuantity": 0 },
            { "id": "p_vol", "minQuantity": 0 }, { "id": "p_stair", "minQuantity": 0 },
            { "id": "p_pack", "minQuantity": 0 }, { "id": "p_flat", "minQuantity": 0, "defaultQuantity": 1 }
        ],
        "offerings": [
            { "id": "o_a", "productIds": ["p_seat", "p_tier", "p_flat"], "rates": [
                { "id": "r_a_m", "billingFrequency": "MONTHLY", "billingTiming": "IN_ADVANCE", "termMonths": 12, "prices": [
                    { "productId": "p_seat", "model": "PER_UNIT", "unitAmount": "12.345" },
                    { "productId": "p_tier", "model": "TIERED", "tiers": tiers },
                    { "productId": "p_flat", "model": "FLAT", "amount": "49.99" } ] },
                { "id": "r_a_q", "billingFrequency": "QUARTERLY", "billingTiming": "IN_ARREARS", "prices": [
                    { "productId": "p_seat", "model": "PER_UNIT", "unitAmount": "33" },
                    { "productId": "p_tier", "model": "VOLUME", "tiers": tiers },
                    { "productId": "p_flat", "model": "FLAT", "amount": "140" } ] },
                { "id": "r_a_y", "billingFrequency": "ANNUALLY", "billingTiming": "IN_ADVANCE", "trialDays": 14, "prices": [
                    { "productId": "p_seat", "model": "PER_UNIT", "unitAmount": "120" },
                    { "productId": "p_tier", "model": "STAIRSTEP", "tiers": tiers },
                    { "productId": "p_flat", "model": "FLAT", "amount": "500" } ] } ] },
            { "id": "o_b", "productIds": ["p_vol", "p_stair"], "rates": [
                { "id": "r_b_m", "billingFrequency": "MONTHLY", "billingTiming": "IN_ADVANCE", "prices": [
                    { "productId": "p_vol", "model": "VOLUME", "tiers": tiers },
                    { "productId": "p_stair", "model": "STAIRSTEP", "tiers": tiers } ] },
                { "id": "r_b_s", "billingFrequency": "SEMI_ANNUALLY", "billingTiming": "IN_ADVANCE", "termMonths": 24, "prices": [
                    { "productId": "p_vol", "model": "PER_UNIT", "unitAmount": "0.0001" },
                    { "productId": "p_stair", "model": "FLAT", "amount": "1" } ] } ] },
            { "id": "o_c", "productIds": ["p_pack"], "rates": [
                { "id": "r_c_m", "billingFrequency": "MONTHLY", "billingTiming": "IN_ARREARS", "trialDays": 30, "prices": [
                    { "productId": "p_pack", "model": "PACKAGE", "packageSize": "0.5", "packageAmount": "25" } ] },
                { "id": "r_c_y", "billingFrequency": "ANNUALLY", "billingTiming": "IN_ADVANCE", "prices": [
                    { "productId": "p_pack", "model": "PACKAGE", "packageSize": "1000", "packageAmount": "9999.99" } ] } ] }
        ]
    })
}

fn catalog_strategy() -> impl Strategy<Value = Catalog> {
    (anchor(), prop::sample::select(vec!["HALF_UP", "HALF_EVEN"]), prop::sample::select(vec!["USD", "JPY", "KWD"]))
        .prop_map(|(a, r, c)| Catalog::from_json(&catalog_json(a, r, c)).unwrap())
}

const OFFERINGS: [(&str, &[&str], &[&str]); 3] = [
    ("o_a", &["r_a_m", "r_a_q", "r_a_y"], &["p_seat", "p_tier", "p_flat"]),
    ("o_b", &["r_b_m", "r_b_s"], &["p_vol", "p_stair"]),
    ("o_c", &["r_c_m", "r_c_y"], &["p_pack"]),
];

/// A well-formed request: a subset of offerings, any rates, any quantities.
fn request_strategy() -> impl Strategy<Value = Value> {
    (
        prop::sample::subsequence(vec![0usize, 1, 2], 1..=3),
        prop::collection::vec((0usize..3, prop::collection::vec(prop::option::of(number_text()), 3)), 3),
        prop::option::of(any_date()),
    )
        .prop_map(|(chosen, picks, start)| {
            let offerings: Vec<Value> = chosen
                .iter()
                .map(|&o| {
                    let (id, rates, products) = OFFERINGS[o];
                    let (rate, qs) = &picks[o];
                    let items: Vec<Value> = products
                        .iter()
                        .zip(qs)
                        .map(|(p, q)| match q {
                            Some(q) => json!({ "productId": p, "quantity": q }),
                            None => json!({ "productId": p }),
                        })
                        .collect();
                    json!({ "offeringId": id, "rateId": rates[rate % rates.len()], "items": items })
                })
                .collect();
            json!({ "action": "ESTIMATE", "quote": { "startDate": start.map(|d| d.to_string()), "offerings": offerings } })
        })
}

/// The six contract actions.
const ACTIONS: [&str; 6] =
    ["QUANTITY_CHANGE", "RATE_CHANGE", "OFFERING_CHANGE", "ADD_OFFERING", "REMOVE_OFFERING", "CANCELLATION"];

fn vocabulary() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(
            vec![
                "o_a",
                "o_b",
                "o_c",
                "o_x",
                "r_a_m",
                "r_a_q",
                "r_a_y",
                "r_b_m",
                "r_b_s",
                "r_c_m",
                "r_c_y",
                "p_seat",
                "p_tier",
                "p_flat",
                "p_vol",
                "p_stair",
                "p_pack",
                "2024-01-15",
                "2026-11-21",
                "9999-12-31",
                "0001-01-01",
                "2024-03-19T23:30:00-08:00",
                "NEXT_BILL_CYCLE",
                "ACTIVE",
                "CANCELED",
                "USD",
                "",
                "1E+9",
                "-0",
                " 1",
            ]
            .into_iter()
            .chain(ACTIONS)
            .collect::<Vec<_>>()
        )
        .prop_map(|s| Value::String(s.to_owned())),
        number_text().prop_map(|s| Value::Number(serde_json::Number::from_str(&s).unwrap_or_else(|_| 0.into()))),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

const KEYS: &[&str] = &[
    "quote",
    "startDate",
    "offerings",
    "offeringId",
    "rateId",
    "items",
    "productId",
    "quantity",
    "action",
    "payload",
    "products",
    "newOfferingId",
    "effectiveDate",
    "relativeEffectiveDate",
    "operations",
    "contractId",
];

/// Any JSON tree built from the API's own keys and values.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    vocabulary().prop_recursive(5, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(KEYS.to_vec()), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// A contract in force on `o_a` (and maybe `o_b`), with any dates and quantities.
fn contract_strategy() -> impl Strategy<Value = Value> {
    (
        date_in(2020, 2030),
        0u32..400,
        1u32..=31,
        prop::sample::select(vec!["r_a_m", "r_a_q", "r_a_y"]),
        prop::collection::vec(prop_oneof![4 => (0u32..200).prop_map(|n| n.to_string()), 1 => number_text()], 3),
        any::<bool>(),
        prop::option::of(0u32..5000),
    )
        .prop_map(|(start, ahead, day, rate, qs, two, end_in)| {
            let it = start + chrono::Days::new(u64::from(ahead));
            let mut lines = vec![json!({
                "offeringId": "o_a", "rateId": rate, "serviceStart": start.to_string(), "anchorDay": day,
                "invoicedThrough": it.to_string(),
                "products": [ { "productId": "p_seat", "quantity": qs[0] }, { "productId": "p_tier", "quantity": qs[1] },
                              { "productId": "p_flat", "quantity": qs[2] } ]
            })];
            if two {
                lines.push(json!({ "offeringId": "o_b", "rateId": "r_b_m", "serviceStart": start.to_string(),
                    "anchorDay": day, "invoicedThrough": it.to_string(),
                    "products": [ { "productId": "p_vol", "quantity": qs[1] } ] }));
            }
            json!({
                "id": "ctrct_prop", "status": "ACTIVE", "currency": "USD", "startDate": start.to_string(),
                "endDate": end_in.map(|d| (start + chrono::Days::new(u64::from(d))).to_string()),
                "offerings": lines
            })
        })
}

/// A well-formed operation of any action.
fn operation_strategy() -> impl Strategy<Value = Value> {
    let entry = (
        prop::sample::select(vec!["o_a", "o_b", "o_c"]),
        prop::sample::select(vec!["r_a_m", "r_a_q", "r_a_y", "r_b_m", "r_b_s", "r_c_m", "r_c_y"]),
        prop::sample::select(vec!["o_a", "o_b", "o_c"]),
        prop::collection::vec(
            (
                prop::sample::select(vec!["p_seat", "p_tier", "p_flat", "p_vol", "p_pack"]),
                prop_oneof![4 => (0u32..200).prop_map(|n| n.to_string()), 1 => number_text()],
            ),
            0..3,
        ),
    )
        .prop_map(|(o, r, n, ps)| {
            let products: Vec<Value> = ps.into_iter().map(|(p, q)| json!({ "productId": p, "quantity": q })).collect();
            json!({ "offeringId": o, "rateId": r, "newOfferingId": n, "products": products })
        });
    let single = (
        prop::sample::select(ACTIONS.to_vec()),
        prop::collection::vec(entry, 1..3),
        prop::option::of(0u64..500),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(action, entries, e, nbc)| {
            let payload = if action == "CANCELLATION" { Value::Null } else { json!({ "offerings": entries }) };
            let mut op = json!({ "action": action, "contractId": "ctrct_prop", "payload": payload });
            if let Some(days_ahead) = e {
                op["effectiveDate"] = json!(format!("+{days_ahead}"));
            }
            if nbc {
                op["relativeEffectiveDate"] = json!("NEXT_BILL_CYCLE");
            }
            op
        })
        .boxed();
    prop_oneof![single.clone(), prop::collection::vec(single, 1..4).prop_map(|ops| json!({ "operations": ops })),]
}

/// A contract, an operation and a today a few months into the contract;
/// effective dates written `+N` in the operation become `today + N days`.
fn change_case() -> impl Strategy<Value = (Value, Value, NaiveDate)> {
    (contract_strategy(), operation_strategy(), 0u64..400).prop_map(|(contract, mut op, offset)| {
        let start = pricing::parse_date(contract["startDate"].as_str().unwrap()).unwrap();
        let today = start + chrono::Days::new(offset);
        resolve_offsets(&mut op, today);
        (contract, op, today)
    })
}

fn resolve_offsets(v: &mut Value, today: NaiveDate) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(s)) = m.get_mut("effectiveDate")
                && let Some(n) = s.strip_prefix('+').and_then(|n| n.parse::<u64>().ok())
            {
                *s = (today + chrono::Days::new(n)).to_string();
            }
            m.values_mut().for_each(|x| resolve_offsets(x, today));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| resolve_offsets(x, today)),
        _ => {}
    }
}

fn sum(values: impl Iterator<Item = Decimal>) -> Decimal {
    values.fold(Decimal::ZERO, |a, b| a + b)
}

// ---------- properties ----------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_graduated_price_never_falls_as_quantity_rises(table in tier_table(), a in quantity(), b in quantity()) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let m = PriceModel::Tiered(table);
        prop_assert!(m.price(lo).unwrap() <= m.price(hi).unwrap());
    }

    #[test]
    fn every_model_explains_exactly_its_price(table in tier_table(), q in quantity()) {
        for m in [PriceModel::Tiered(table.clone()), PriceModel::Volume(table.clone()), PriceModel::Stairstep(table),
                  PriceModel::Package { size: Decimal::new(25, 1), amount: Decimal::new(999, 2) },
                  PriceModel::PerUnit { unit_amount: Decimal::new(12345, 3) },
                  PriceModel::Flat { amount: Decimal::new(4999, 2) }] {
            let explained = sum(m.explain(q).unwrap().iter().map(|t| t.amount));
            prop_assert_eq!(explained, m.price(q).unwrap(), "{}", m.name());
        }
    }

    #[test]
    fn a_whole_period_prorates_to_factor_one(anchor in anchor(), f in frequency(), s in date_in(1900, 2500), n in 0i64..200) {
        let schedule = Schedule::start(anchor, s, f).unwrap();
        let start = schedule.boundary(n).unwrap();
        let period = schedule.period_holding(start).unwrap();
        prop_assert!(period.is_whole());
        let (num, den) = period.factor();
        prop_assert_eq!(num, den);
        prop_assert_eq!(factor_text(num, den), "1.000000");
    }

    #[test]
    fn pieces_cover_the_span_exactly_and_never_exceed_their_period(
        anchor in anchor(), f in frequency(), s in date_in(1900, 2500), a in 0u32..800, len in 0u32..1500,
    ) {
        let schedule = Schedule::start(anchor, s, f).unwrap();
        let from = s + chrono::Days::new(u64::from(a));
        let to = from + chrono::Days::new(u64::from(len));
        let pieces = schedule.pieces(from, to).unwrap();
        prop_assert_eq!(pieces.iter().map(|p| days(p.start, p.end)).sum::<i64>(), days(from, to));
        for p in &pieces {
            let (num, den) = p.factor();
            prop_assert!(num > 0 && num <= den, "{p:?}");
            prop_assert!(p.whole_start <= p.start && p.end <= p.whole_end);
        }
    }

    #[test]
    fn boundaries_keep_their_anchor_day(s in date_in(1900, 2500), day in 1u32..=31, k in -200i64..200) {
        let d = add_months(s, k, day).unwrap();
        prop_assert_eq!(d.day(), day.min(days_in_month_of(d)));
    }

    #[test]
    fn quote_lines_and_items_sum_to_their_totals(catalog in catalog_strategy(), request in request_strategy(), today in date_in(2020, 2030)) {
        if let Ok(quote) = estimate(&catalog, &request, today) {
            prop_assert_eq!(quote.first_invoice.amount_without_tax, sum(quote.first_invoice.lines.iter().map(|l| l.amount)));
            prop_assert_eq!(quote.amount_without_tax, sum(quote.offerings.iter().map(|o| o.amount_without_tax)));
            prop_assert_eq!(quote.amount_without_tax, sum(quote.recurring.iter().map(|r| r.amount_without_tax)));
            for o in &quote.offerings {
                prop_assert_eq!(o.amount_without_tax, sum(o.items.iter().map(|i| i.amount_without_tax)));
            }
            for l in &quote.first_invoice.lines {
                prop_assert!(!l.amount.is_zero());
                prop_assert_eq!(l.amount.scale(), catalog.currency.exponent());
                prop_assert!(l.period_start >= quote.start_date && l.period_end > l.period_start);
            }
            prop_assert!(quote.next_invoice_date.is_some_and(|d| d > quote.start_date));
        }
    }

    #[test]
    fn estimate_never_panics_on_a_well_formed_request(catalog in catalog_strategy(), request in request_strategy(), today in any_date()) {
        let _ = estimate(&catalog, &request, today);
    }

    #[test]
    fn estimate_never_panics_on_any_json(request in arbitrary_json(), today in any_date()) {
        let catalog = Catalog::from_json(&catalog_json(Anchor::DayOfMonth(31), "HALF_UP", "USD")).unwrap();
        let _ = estimate(&catalog, &request, today);
        let _ = estimate(&catalog, &json!({ "quote": request }), today);
    }

    #[test]
    fn preview_change_never_panics_and_its_invoice_adds_up(catalog in catalog_strategy(), case in change_case()) {
        let (mut contract, op, today) = case;
        contract["currency"] = json!(catalog.currency.code());
        if let Ok(preview) = preview_change(&catalog, &contract, &op, today) {
            prop_assert_eq!(preview.invoice.amount_without_tax, sum(preview.invoice.lines.iter().map(|l| l.amount)));
            prop_assert!(preview.invoice.lines.iter().all(|l| !l.amount.is_zero()));
            for line in &preview.contract.offerings {
                prop_assert!(line.invoiced_through >= line.schedule.service_start);
            }
        }
    }

    #[test]
    fn preview_change_never_panics_on_any_json(contract in arbitrary_json(), op in arbitrary_json(), today in any_date()) {
        let catalog = Catalog::from_json(&catalog_json(Anchor::Anniversary, "HALF_EVEN", "KWD")).unwrap();
        let _ = preview_change(&catalog, &contract, &op, today);
    }

    #[test]
    fn catalog_parsing_never_panics_on_any_json(v in arbitrary_json()) {
        let _ = Catalog::from_json(&v);
    }
}

/// Days in `d`'s month, counted from its first to the next month's first.
fn days_in_month_of(d: NaiveDate) -> u32 {
    let first = d.with_day(1).unwrap();
    u32::try_from(days(first, first + chrono::Months::new(1))).unwrap()
}

/// The generators above must reach the engine's success paths, or the
/// properties that check successful results would hold vacuously.
#[test]
fn the_generators_produce_mostly_priceable_inputs() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut quotes, mut changes) = (0, 0);
    for _ in 0..400 {
        let catalog = catalog_strategy().new_tree(&mut runner).unwrap().current();
        let request = request_strategy().new_tree(&mut runner).unwrap().current();
        let today = date_in(2020, 2030).new_tree(&mut runner).unwrap().current();
        quotes += usize::from(estimate(&catalog, &request, today).is_ok());
        let (contract, op, today) = change_case().new_tree(&mut runner).unwrap().current();
        let (mut contract, op, today) = (contract, op, today);
        contract["currency"] = json!(catalog.currency.code());
        changes += usize::from(preview_change(&catalog, &contract, &op, today).is_ok());
    }
    eprintln!("priceable: {quotes}/400 quotes, {changes}/400 changes");
    assert!(quotes >= 40 && changes >= 40, "quotes {quotes}, changes {changes}");
}

#[test]
fn the_typical_request_of_the_generators_prices() {
    let catalog = Catalog::from_json(&catalog_json(Anchor::DayOfMonth(1), "HALF_UP", "USD")).unwrap();
    let request = json!({ "quote": { "startDate": "2026-11-21", "offerings": [
        { "offeringId": "o_a", "rateId": "r_a_m", "items": [ { "productId": "p_seat", "quantity": 3 } ] } ] } });
    let quote = estimate(&catalog, &request, read_today("2026-11-21").unwrap()).unwrap();
    // 3 × 12.345 = 37.035 → 37.04 (half up); p_tier 0 → 0; p_flat default 1 → 49.99.
    assert_eq!(quote.amount.to_string(), "87.03");
}
