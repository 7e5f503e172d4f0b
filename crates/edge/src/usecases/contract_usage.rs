//! `GET /api/contracts/{id}/usage` (secret key, or the account's customer
//! token; another account's is 404): per metered product, the current
//! period's usage so far and its price so far (the engine's, as the invoice
//! will have it: `amount` after discount and `discountAmount`), the last
//! periods as billed, and late events (stored after their period was billed).

use pricing::billing::Usage;
use pricing::{InvoiceLine, LineType};
use serde_json::{Value, json};

use crate::Now;
use crate::http::{ApiError, ApiResult};
use crate::steps::catalogs::{self, Parsed};
use crate::steps::contract_view::load_contract;
use crate::steps::documents::money_json;
use crate::steps::usage::{Metering, billable, read_contract};
use crate::store::{Db, invoices, usage};

/// Invoices looked at for the periods billed.
const BILLED_INVOICES: i64 = 24;

/// The contract's usage, visible to `scope`.
pub async fn run(db: &impl Db, id: &str, scope: Option<&str>, now: &Now) -> ApiResult<Value> {
    let row = load_contract(db, id, scope).await?;
    let (published, _) = catalogs::current_parsed(db).await?;
    let mut versions = Parsed::default();
    let Metering { contract, metered } = read_contract(db, &mut versions, &row, published.version).await?;
    let own = Parsed::version_of(&row.body, published.version);
    // Usage so far: what is stored, through today.
    let so_far: Vec<Usage> = billable(db, id, &contract, (&versions, own), None)
        .await?
        .into_iter()
        .filter(|u| u.date <= now.today)
        .collect();
    let catalog = versions.get(own)?;
    let mut current = Vec::new();
    for line in contract.offerings.iter().filter(|l| l.metered_through.is_some()) {
        let from = line.metered_through.unwrap_or(line.schedule.service_start).max(line.schedule.service_start);
        let period = line.schedule.period_holding(from).ok_or_else(|| ApiError::internal("a period out of range"))?;
        let end = contract.end_date.map_or(period.end, |e| period.end.min(e));
        // Priced as the billing run will price it at the period's end, on the usage so far.
        let lines = usage_lines(catalog, &contract, &line.offering_id, (from, end), &so_far)?;
        // At this pace: a sum grows with the period's days (a maximum stays), priced the same way.
        let tomorrow = now.today.checked_add_days(chrono::Days::new(1)).unwrap_or(now.today);
        let elapsed = pricing::days(from, tomorrow.min(end)).max(1);
        let length = pricing::days(from, end).max(1);
        let mut paced = Vec::new();
        for p in line.products.iter().filter(|p| metered.contains(&*p.product_id)) {
            let how = catalog.product(&p.product_id).and_then(|(_, x)| x.aggregation());
            let u = used(&so_far, &p.product_id, how, from, end)?;
            let projected = match how {
                Some(pricing::Aggregation::Max) => Some(u),
                _ => u
                    .checked_mul(rust_decimal::Decimal::from(length))
                    .and_then(|x| x.checked_div(rust_decimal::Decimal::from(elapsed))),
            }
            .ok_or_else(|| ApiError::internal("usage out of range"))?;
            paced.push(Usage {
                product_id: p.product_id.to_string(),
                date: from,
                quantity: projected.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointAwayFromZero),
            });
        }
        let paced_lines = usage_lines(catalog, &contract, &line.offering_id, (from, end), &paced)?;
        for p in line.products.iter().filter(|p| metered.contains(&*p.product_id)) {
            let priced = lines.iter().find(|l| l.product_id == p.product_id);
            // The usage so far, even where its price is still zero (a free tier: no line).
            let how = catalog.product(&p.product_id).and_then(|(_, x)| x.aggregation());
            let quantity = used(&so_far, &p.product_id, how, from, end)?.normalize();
            let projected = paced
                .iter()
                .find(|u| *u.product_id == *p.product_id)
                .map_or(rust_decimal::Decimal::ZERO, |u| u.quantity);
            let paced_amount = paced_lines
                .iter()
                .find(|l| l.product_id == p.product_id)
                .map_or(rust_decimal::Decimal::ZERO, |l| l.amount);
            let money = |f: fn(&InvoiceLine) -> rust_decimal::Decimal| {
                money_json(priced.map_or(rust_decimal::Decimal::ZERO, f), &contract.currency)
            };
            current.push(json!({
                "offeringId": &*line.offering_id, "productId": &*p.product_id,
                "periodStart": from.to_string(), "periodEnd": end.to_string(),
                "quantity": Value::Number(serde_json::Number::from_string_unchecked(quantity.to_string())),
                "amount": money(|l| l.amount), "discountAmount": money(|l| l.discount_amount),
                "projected": { "quantity": Value::Number(serde_json::Number::from_string_unchecked(projected.normalize().to_string())),
                               "amount": money_json(paced_amount, &contract.currency) },
            }));
        }
    }
    let mut billed = Vec::new();
    for invoice in invoices::latest_of_contract(db, id, BILLED_INVOICES).await? {
        let items =
            invoice.body.as_ref().and_then(|b| b.get("items")).and_then(Value::as_array).cloned().unwrap_or_default();
        for item in items.into_iter().filter(|i| i.get("type").and_then(Value::as_str) == Some("USAGE")) {
            billed.push(json!({
                "invoiceId": invoice.id, "productId": item.get("productId"), "periodStart": item.get("periodStart"),
                "periodEnd": item.get("periodEnd"), "quantity": item.get("quantity"), "amount": item.get("amount"),
                "discountAmount": item.get("discountAmount"),
            }));
        }
    }
    let late: Vec<Value> = usage::late(db, id)
        .await?
        .into_iter()
        .map(|e| {
            json!({ "id": e.id, "productId": e.product_id, "day": e.day, "quantity": e.quantity,
                         "timestamp": e.timestamp, "reason": e.late })
        })
        .collect();
    Ok(json!({ "contractId": id, "asOf": now.today.to_string(), "current": current, "billed": billed, "late": late }))
}

/// A product's usage over `[from, to)`: the sum, or the largest day's value.
fn used(
    usage: &[Usage],
    product_id: &str,
    how: Option<pricing::Aggregation>,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> ApiResult<rust_decimal::Decimal> {
    usage
        .iter()
        .filter(|u| u.product_id == product_id && u.date >= from && u.date < to)
        .try_fold(rust_decimal::Decimal::ZERO, |acc, u| match how {
            Some(pricing::Aggregation::Max) => Some(acc.max(u.quantity)),
            _ => acc.checked_add(u.quantity),
        })
        .ok_or_else(|| ApiError::internal("usage out of range"))
}

/// The usage lines the billing run would issue for the period `[from, end)`
/// of the line of `offering`, on `usage`.
fn usage_lines(
    catalog: &pricing::Catalog,
    contract: &pricing::Contract,
    offering: &str,
    (from, end): (chrono::NaiveDate, chrono::NaiveDate),
    usage: &[Usage],
) -> ApiResult<Vec<InvoiceLine>> {
    let (due, _) = pricing::billing::due(catalog, contract, end, usage).map_err(|e| ApiError::from_engine(&e, ""))?;
    Ok(due
        .into_iter()
        .filter(|d| *d.offering_id == *offering && d.invoice_date == end)
        .flat_map(|d| d.lines)
        .filter(|l| l.line_type == LineType::Usage && l.period_start == from)
        .collect())
}
