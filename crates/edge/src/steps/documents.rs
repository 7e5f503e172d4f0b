//! The documents FINALIZE, contract changes and billing runs issue
//! (invoices, payments) as answered.

use pricing::Invoice;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::Now;
use crate::ids::{Random, new_id};
use crate::store::contracts::ContractRow;
use crate::store::invoices::InvoiceHead;
use crate::store::payments::Payment;

/// An engine value as JSON (its numbers keep their decimals).
pub fn engine_json<T: pricing::ToJson>(v: &T) -> Value {
    serde_json::from_str(&pricing::to_json(v)).unwrap_or(Value::Null)
}

/// An amount as a JSON number with its currency's decimals (`0.00`).
#[must_use]
pub fn money_json(amount: Decimal, currency: &str) -> Value {
    let places = usize::try_from(pricing::minor_units(currency).unwrap_or(2)).unwrap_or(2);
    Value::Number(serde_json::Number::from_string_unchecked(format!("{amount:.places$}")))
}

/// The invoice as answered: ids and status first, the engine's figures, then
/// `items` (its lines, each with an id).
pub fn invoice_view(rng: &impl Random, invoice: &Invoice, head: &InvoiceHead<'_>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(head.id));
    m.insert("status".into(), json!(head.status));
    m.insert("currency".into(), json!(head.currency));
    m.insert("accountId".into(), json!(head.account_id));
    m.insert("contractId".into(), json!(head.contract_id));
    if let Value::Object(mut body) = engine_json(invoice) {
        let lines = body.remove("lines");
        m.append(&mut body);
        m.insert("creditApplied".into(), money_json(head.credit_applied, head.currency));
        m.insert("amountDue".into(), money_json(head.amount_due, head.currency));
        let items: Vec<Value> = lines
            .as_ref()
            .and_then(Value::as_array)
            .map(|ls| {
                ls.iter()
                    .map(|l| {
                        let mut item = Map::new();
                        item.insert("id".into(), json!(new_id(rng, "ili_")));
                        if let Value::Object(o) = l {
                            item.extend(o.clone());
                        }
                        Value::Object(item)
                    })
                    .collect()
            })
            .unwrap_or_default();
        m.insert("items".into(), Value::Array(items));
    }
    Value::Object(m)
}

/// The account's credit against a change's invoice: `(applied, due, balance
/// after)` by the engine's rule; an invoice without lines touches nothing.
pub fn credit_split(balance: Decimal, invoice: &Invoice) -> Option<(Decimal, Decimal, Decimal)> {
    let amount = if invoice.lines.is_empty() { Decimal::ZERO } else { invoice.amount };
    pricing::apply_credit(balance, amount).map(|c| (c.applied, c.due, c.balance))
}

/// An invoice not issued (a preview's, one a later date will issue, a
/// contract's next), as answered: with `credit` (the account's balance), the
/// credit it would apply and what would be due, exactly as issuing applies them.
pub fn draft_view(
    rng: &impl Random,
    c: &ContractRow,
    currency: &str,
    invoice: &Invoice,
    credit: Decimal,
    now: &Now,
) -> Value {
    let (credit_applied, amount_due, _) =
        credit_split(credit, invoice).unwrap_or((Decimal::ZERO, invoice.amount.max(Decimal::ZERO), credit));
    let head = InvoiceHead {
        id: "",
        status: "DRAFT",
        currency,
        account_id: &c.account_id,
        contract_id: &c.id,
        bill_group_id: &c.bill_group_id,
        credit_applied,
        amount_due,
        at: &now.instant,
    };
    invoice_view(rng, invoice, &head)
}

/// A payment as answered.
#[must_use]
pub fn payment_view(p: &Payment) -> Value {
    json!({
        "id": p.id, "invoiceId": p.invoice_id, "amount": money_json(p.amount, &p.currency),
        "currency": p.currency, "status": "SUCCEEDED", "stripePaymentIntentId": p.payment_intent,
        "createdAt": p.at,
    })
}

/// A stored invoice as answered: its body with the status and what is due now.
#[must_use]
pub fn invoice_row_view(r: &crate::store::invoices::InvoiceRow) -> Value {
    let mut v = r.body.clone().unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("status".into(), json!(r.status.map(|s| s.as_str())));
        m.insert("amountDue".into(), money_json(r.amount_due, &r.currency));
        m.insert("createdAt".into(), json!(r.created_at));
    }
    v
}
