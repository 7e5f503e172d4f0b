//! The lifecycle property: random catalogs, a random contract and a random
//! history of changes (every action, dated today or at the next bill cycle,
//! several a day), daily usage and a billing run every day; then, whatever
//! the history:
//!
//! - every day each licensed product is in force is billed exactly once, net
//!   of credits (a charge later credited counts zero), and no day outside;
//! - every usage day is billed exactly once, and none that no line held;
//! - nothing is billed after `endDate`, nor for a trial day;
//! - the licensed lines of all invoices add up to the day amounts at the
//!   terms in force each day (price per period × 1 / days of the period),
//!   within a cent per line. (Usage is checked by day, not by amount: a line
//!   that keeps its periods prices a period's whole usage on the terms in
//!   force at its end, pricing.md's rule, which no per-day sum reproduces.)
//!
//! `LIFECYCLE_CASES` sets how many histories run (default 2000; RELIABILITY.md
//! records a long run). A counter-example is printed whole: its catalog,
//! history and the first day that broke.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use pricing::billing::{Usage, due};
use pricing::{Catalog, Contract, ContractStatus, Invoice, InvoiceLine, LineType, estimate, preview_change, to_json};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// xorshift64*: the catalog and usage from one seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const FREQUENCIES: [&str; 4] = ["MONTHLY", "QUARTERLY", "SEMI_ANNUALLY", "ANNUALLY"];

/// Three or four offerings of licensed products (per unit or flat, never
/// zero: every day in force costs something) and metered ones (per unit, SUM
/// or MAX), each with one to three rates of any frequency and timing, some
/// with trials or terms. A metered product belongs to one offering only.
fn catalog(seed: u64) -> Value {
    let mut r = Rng(seed | 1);
    let anchor = if r.below(2) == 0 {
        json!({ "type": "ANNIVERSARY" })
    } else {
        let day = [1, 15, 28, 31][r.below(4) as usize];
        json!({ "type": "DAY_OF_MONTH", "day": day })
    };
    let mut products = Vec::new();
    let mut offerings = Vec::new();
    for o in 0..3 + r.below(2) {
        let mut ids = Vec::new();
        let mut metered = Vec::new();
        for k in 0..1 + r.below(3) {
            let id = format!("p{o}_{k}");
            let is_metered = k > 0 && r.below(3) == 0;
            let mut p =
                json!({ "id": id, "name": id, "minQuantity": 1, "maxQuantity": 50, "defaultQuantity": 1 + r.below(5) });
            if is_metered {
                p = json!({ "id": id, "name": id, "minQuantity": 0, "defaultQuantity": 0,
                            "metered": { "aggregation": if r.below(2) == 0 { "SUM" } else { "MAX" } } });
            }
            products.push(p);
            ids.push(id);
            metered.push(is_metered);
        }
        let mut rates = Vec::new();
        for i in 0..1 + r.below(3) {
            let prices: Vec<Value> = ids
                .iter()
                .zip(&metered)
                .map(|(id, m)| {
                    if *m {
                        json!({ "productId": id, "model": "PER_UNIT", "unitAmount": format!("0.0{}", 1 + r.below(9)) })
                    } else if r.below(4) == 0 {
                        json!({ "productId": id, "model": "FLAT", "amount": format!("{}.{:02}", 20 + r.below(300), r.below(100)) })
                    } else {
                        json!({ "productId": id, "model": "PER_UNIT", "unitAmount": format!("{}.{:02}", 10 + r.below(90), r.below(100)) })
                    }
                })
                .collect();
            let mut rate = json!({ "id": format!("r{o}_{i}"), "name": "R",
                "billingFrequency": FREQUENCIES[r.below(4) as usize],
                "billingTiming": if r.below(3) == 0 { "IN_ARREARS" } else { "IN_ADVANCE" }, "prices": prices });
            if r.below(5) == 0 {
                rate["trialDays"] = json!(7 + r.below(30));
            }
            // Terms of whole years: a term shorter than the billing period
            // (an annual price for a 9-month term) is left out (see RELIABILITY.md).
            if r.below(6) == 0 {
                rate["termMonths"] = json!(12 * (1 + r.below(2)));
            }
            rates.push(rate);
        }
        offerings.push(json!({ "id": format!("o{o}"), "name": "O", "productIds": ids, "rates": rates }));
    }
    json!({ "currency": "USD", "settings": { "billingAnchor": anchor }, "products": products, "offerings": offerings })
}

/// One step of a history: on day `day` (from the start), an action of kind
/// `kind` on the line or offering chosen by `a` and `b`, now or at the next bill cycle.
#[derive(Clone, Debug)]
struct Step {
    day: u16,
    kind: u8,
    a: u8,
    b: u8,
    next_cycle: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (0u16..330, 0u8..12, any::<u8>(), any::<u8>(), any::<bool>()).prop_map(|(day, kind, a, b, next_cycle)| Step {
        day,
        kind,
        a,
        b,
        next_cycle,
    })
}

fn d(s: &str) -> NaiveDate {
    pricing::parse_date(s).unwrap()
}

fn plus(day: NaiveDate, n: u64) -> NaiveDate {
    day.checked_add_days(Days::new(n)).unwrap()
}

fn as_json(c: &Contract) -> Value {
    serde_json::from_str(&to_json(c)).unwrap()
}

/// The operation a step asks for on `contract`, if it applies.
fn operation(cat: &Value, contract: &Contract, s: &Step) -> Option<Value> {
    let lines = &contract.offerings;
    if lines.is_empty() {
        return None;
    }
    let line = &lines[s.a as usize % lines.len()];
    let offering = cat["offerings"].as_array()?.iter().find(|o| o["id"] == *line.offering_id)?;
    let others: Vec<&Value> =
        cat["offerings"].as_array()?.iter().filter(|o| !lines.iter().any(|l| o["id"] == *l.offering_id)).collect();
    let licensed: Vec<&Value> = cat["products"]
        .as_array()?
        .iter()
        .filter(|p| p.get("metered").is_none())
        .filter(|p| offering["productIds"].as_array().is_some_and(|ids| ids.contains(&p["id"])))
        .collect();
    let id = line.offering_id.to_string();
    let op = match s.kind {
        0..=3 => {
            let p = licensed.get(s.b as usize % licensed.len().max(1))?;
            json!({ "action": "QUANTITY_CHANGE", "payload": { "offerings": [ { "offeringId": id,
                "products": [ { "productId": p["id"], "quantity": 1 + s.b % 20 } ] } ] } })
        }
        4 | 5 => {
            let rates = offering["rates"].as_array()?;
            let rate = rates.iter().filter(|r| r["id"] != *line.rate_id).nth(s.b as usize % rates.len())?;
            json!({ "action": "RATE_CHANGE", "payload": { "offerings": [ { "offeringId": id, "rateId": rate["id"] } ] } })
        }
        6 | 7 => {
            let to = others.get(s.b as usize % others.len().max(1))?;
            json!({ "action": "OFFERING_CHANGE", "payload": { "offerings": [ { "offeringId": id, "newOfferingId": to["id"] } ] } })
        }
        8 | 9 => {
            let to = others.get(s.b as usize % others.len().max(1))?;
            json!({ "action": "ADD_OFFERING", "payload": { "offerings": [ { "offeringId": to["id"] } ] } })
        }
        10 => json!({ "action": "REMOVE_OFFERING", "payload": { "offerings": [ { "offeringId": id } ] } }),
        _ => json!({ "action": "CANCELLATION", "payload": null }),
    };
    Some(op)
}

/// What a history billed: every invoice, and the contract in force on each day.
struct History {
    invoices: Vec<Invoice>,
    in_force: BTreeMap<NaiveDate, Contract>,
    usage: Vec<Usage>,
    log: Vec<String>,
}

const START: &str = "2027-01-15";
const DAYS: u64 = 400;

fn live(cat: &Catalog, cat_json: &Value, steps: &[Step], usage_seed: u64) -> History {
    let start = d(START);
    let first = &cat_json["offerings"][0];
    let quote = estimate(
        cat,
        &json!({ "quote": { "startDate": START, "offerings": [ { "offeringId": first["id"], "rateId": first["rates"][0]["id"] } ] } }),
        start,
    )
    .unwrap();
    let mut contract = quote.to_contract("k");
    let mut invoices = vec![quote.first_invoice.clone()];
    let mut usage = Vec::new();
    let mut in_force = BTreeMap::new();
    let mut scheduled: Vec<(NaiveDate, Value)> = Vec::new();
    let mut log = vec![format!("{START} signed: {}", to_json(&contract))];
    let mut rng = Rng(usage_seed | 1);
    let end = plus(start, DAYS);
    let mut day = start;
    let bill = |contract: &mut Contract, invoices: &mut Vec<Invoice>, through: NaiveDate, usage: &[Usage]| {
        let (periods, after) = due(cat, contract, through, usage).unwrap();
        let lines: Vec<InvoiceLine> = periods.into_iter().flat_map(|p| p.lines).collect();
        if !lines.is_empty() {
            invoices.push(Invoice::new(&cat.currency, through, lines).unwrap());
        }
        *contract = after;
    };
    let mut change_invoices: Vec<Invoice> = Vec::new();
    while day < end {
        // A scheduled change is applied on its day (the run bills what was due before it).
        let due_now: Vec<Value> = scheduled.iter().filter(|(e, _)| *e == day).map(|(_, op)| op.clone()).collect();
        scheduled.retain(|(e, _)| *e != day);
        if let Some(before) = day.pred_opt().filter(|_| !due_now.is_empty()) {
            bill(&mut contract, &mut invoices, before, &usage);
        }
        for op in due_now {
            if let Ok(p) = preview_change(cat, &as_json(&contract), &op, day) {
                log.push(format!("{day} (scheduled) {op}"));
                contract = p.contract;
                change_invoices.push(p.invoice);
            }
        }
        // The day's run.
        bill(&mut contract, &mut invoices, day, &usage);
        // The customer's changes of the day.
        let offset = u16::try_from((day - start).num_days()).unwrap();
        for s in steps.iter().filter(|s| s.day == offset) {
            let Some(mut op) = operation(cat_json, &contract, s) else { continue };
            if s.next_cycle && op["action"] != "CANCELLATION" && op["action"] != "ADD_OFFERING" {
                op["relativeEffectiveDate"] = json!("NEXT_BILL_CYCLE");
                let Ok(p) = preview_change(cat, &as_json(&contract), &op, day) else { continue };
                let at = p.invoice.invoice_date;
                if at > day {
                    op.as_object_mut().unwrap().remove("relativeEffectiveDate");
                    op["effectiveDate"] = json!(at.to_string());
                    log.push(format!("{day} scheduled for {at}: {op}"));
                    scheduled.push((at, op));
                    continue;
                }
                op.as_object_mut().unwrap().remove("relativeEffectiveDate");
            }
            if let Ok(p) = preview_change(cat, &as_json(&contract), &op, day) {
                log.push(format!("{day} {op}"));
                contract = p.contract;
                change_invoices.push(p.invoice);
            }
        }
        // The day's usage, for each metered product a line in force prices.
        if contract.status == ContractStatus::Active && contract.end_date.is_none_or(|e| day < e) {
            for line in contract.offerings.iter().filter(|l| !l.in_trial(day)) {
                for p in &line.products {
                    let metered = cat.product(&p.product_id).is_some_and(|(_, p)| p.aggregation().is_some());
                    if metered {
                        usage.push(Usage {
                            product_id: p.product_id.to_string(),
                            date: day,
                            quantity: Decimal::from(1 + rng.below(500)),
                        });
                    }
                }
            }
        }
        in_force.insert(day, contract.clone());
        day = day.succ_opt().unwrap();
    }
    // The history ends with a cancellation on its last day (what was paid
    // beyond it is credited); every day of the history is billed within a year.
    bill(&mut contract, &mut invoices, end, &usage);
    if let Ok(p) = preview_change(cat, &as_json(&contract), &json!({ "action": "CANCELLATION", "payload": null }), end)
    {
        log.push(format!("{end} (the history's end) CANCELLATION"));
        contract = p.contract;
        change_invoices.push(p.invoice);
    }
    bill(&mut contract, &mut invoices, plus(end, 400), &usage);
    invoices.extend(change_invoices);
    History { invoices, in_force, usage, log }
}

/// The price of `product` at `quantity` on the rate of `line` for one whole period.
fn period_price(cat: &Catalog, offering: &str, rate: &str, product: &str, quantity: Decimal) -> Decimal {
    let (_, o) = cat.offering(offering).unwrap();
    let (_, r) = o.rate(rate).unwrap();
    let i = o.products.iter().position(|p| &*cat.products[*p].id == product).unwrap();
    r.prices[i].price(quantity).unwrap()
}

fn check(cat: &Catalog, h: &History) -> Result<(), String> {
    let start = d(START);
    let last = plus(start, DAYS);
    // What the invoices billed, day by day: net count of licensed lines per
    // (offering, product, day), usage lines per (product, day).
    let mut licensed: BTreeMap<(String, String, NaiveDate), i32> = BTreeMap::new();
    let mut used: BTreeMap<(String, NaiveDate), i32> = BTreeMap::new();
    let (mut billed, mut lines) = (Decimal::ZERO, 0u32);
    for line in h.invoices.iter().flat_map(|i| &i.lines) {
        let mut day = line.period_start;
        match line.line_type {
            LineType::Recurring => {
                let sign = if line.amount.is_sign_negative() { -1 } else { 1 };
                while day < line.period_end {
                    *licensed.entry((line.offering_id.to_string(), line.product_id.to_string(), day)).or_default() +=
                        sign;
                    day = day.succ_opt().unwrap();
                }
                billed += line.amount;
                lines += 1;
            }
            LineType::Usage => {
                while day < line.period_end {
                    *used.entry((line.product_id.to_string(), day)).or_default() += 1;
                    day = day.succ_opt().unwrap();
                }
            }
            LineType::OneTime => return Err(format!("a one-time line, and the catalog has none: {line:?}")),
        }
    }
    // What the days in force owe.
    let mut owed = Decimal::ZERO;
    let mut day = start;
    while day < last {
        let c = &h.in_force[&day];
        let open = c.status == ContractStatus::Active && c.end_date.is_none_or(|e| day < e);
        for line in c.offerings.iter().filter(|l| open && !l.in_trial(day)) {
            let period = line.schedule.period_holding(day).unwrap();
            let length = Decimal::from((period.whole_end - period.whole_start).num_days());
            let (o, r) = line.terms(cat).unwrap();
            for (p, price) in line.products.iter().zip(&r.prices) {
                if price.is_metered() || price.one_time {
                    continue;
                }
                let key = (o.id.to_string(), p.product_id.to_string(), day);
                let got = licensed.remove(&key).unwrap_or(0);
                if got != 1 {
                    return Err(format!(
                        "{day}: {} of {} billed {got} times, net of credits (in force once)",
                        p.product_id, o.id
                    ));
                }
                owed += period_price(cat, &o.id, &r.id, &p.product_id, p.quantity) / length;
            }
        }
        day = day.succ_opt().unwrap();
    }
    if let Some(((o, p, day), n)) = licensed.iter().find(|(_, n)| **n != 0) {
        return Err(format!("{day}: {p} of {o} billed {n} times, net, and not in force that day"));
    }
    for u in h.usage.iter().filter(|u| u.date < last) {
        let n = used.get(&(u.product_id.clone(), u.date)).copied().unwrap_or(0);
        if n != 1 {
            return Err(format!("{}: usage of {} billed {n} times", u.date, u.product_id));
        }
    }
    let diff = (billed - owed).abs();
    let bound = Decimal::new(i64::from(lines), 2);
    if diff > bound {
        return Err(format!(
            "invoices add up to {billed}, the days in force to {owed}: {diff} apart over {lines} lines"
        ));
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("LIFECYCLE_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_day_in_force_and_every_usage_day_is_billed_once(
        catalog_seed in any::<u64>(),
        usage_seed in any::<u64>(),
        steps in prop::collection::vec(step(), 0..24),
    ) {
        let cat_json = catalog(catalog_seed);
        let cat = Catalog::from_json(&cat_json).unwrap();
        let h = live(&cat, &cat_json, &steps, usage_seed);
        if let Err(why) = check(&cat, &h) {
            let billed: Vec<String> = h.invoices.iter().flat_map(|i| i.lines.iter().map(move |l| format!(
                "{} {} {} {} [{}, {}) {}", i.invoice_date, l.offering_id, l.product_id, l.line_type.as_str(), l.period_start, l.period_end, l.amount))).collect();
            panic!("{why}\ncatalog: {cat_json}\nhistory:\n{}\ninvoice lines:\n{}", h.log.join("\n"), billed.join("\n"));
        }
    }
}
