//! The documents FINALIZE and contract changes issue (invoices, payments), as
//! answered and as stored: one definition for both.

use pricing::Invoice;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::db::Stmt;
use crate::ids::{Random, new_id};
use crate::stmt;

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

/// Whose invoice it is and how it stands.
pub struct InvoiceHead<'a> {
    /// `inv_…`.
    pub id: &'a str,
    /// `OPEN` or `PAID`.
    pub status: &'a str,
    /// ISO currency.
    pub currency: &'a str,
    /// The account.
    pub account_id: &'a str,
    /// The contract.
    pub contract_id: &'a str,
    /// The bill group.
    pub bill_group_id: &'a str,
    /// Credit balance consumed by this invoice.
    pub credit_applied: Decimal,
    /// What is left to pay.
    pub amount_due: Decimal,
    /// When it was issued.
    pub at: &'a str,
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

/// The figures an invoice row keeps beside its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceFigures {
    /// `YYYY-MM-DD`.
    pub invoice_date: String,
    /// Before tax.
    pub amount_without_tax: Decimal,
    /// Tax.
    pub tax: Decimal,
    /// With tax.
    pub amount: Decimal,
}

impl InvoiceFigures {
    /// An engine invoice's figures.
    #[must_use]
    pub fn of(invoice: &Invoice) -> Self {
        Self {
            invoice_date: invoice.invoice_date.to_string(),
            amount_without_tax: invoice.amount_without_tax,
            tax: invoice.tax,
            amount: invoice.amount,
        }
    }
}

/// Stores an invoice (`view` is what [`invoice_view`] answered).
#[must_use]
pub fn insert_invoice(invoice: &InvoiceFigures, head: &InvoiceHead<'_>, view: &Value) -> Stmt {
    stmt!(
        "INSERT INTO invoices (id, account_id, contract_id, bill_group_id, status, invoice_date, currency, \
         amount_without_tax, tax, amount, amount_due, body, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        head.id,
        head.account_id,
        head.contract_id,
        head.bill_group_id,
        head.status,
        invoice.invoice_date.as_str(),
        head.currency,
        invoice.amount_without_tax.to_string(),
        invoice.tax.to_string(),
        invoice.amount.to_string(),
        head.amount_due.to_string(),
        view.to_string(),
        head.at
    )
}

/// A successful payment of an invoice.
pub struct Payment<'a> {
    /// `pay_…`.
    pub id: &'a str,
    /// The account.
    pub account_id: &'a str,
    /// The invoice paid.
    pub invoice_id: &'a str,
    /// Amount charged.
    pub amount: Decimal,
    /// ISO currency.
    pub currency: &'a str,
    /// Stripe's PaymentIntent.
    pub payment_intent: &'a str,
    /// When.
    pub at: &'a str,
}

impl Payment<'_> {
    /// As answered.
    #[must_use]
    pub fn view(&self) -> Value {
        json!({
            "id": self.id, "invoiceId": self.invoice_id, "amount": money_json(self.amount, self.currency),
            "currency": self.currency, "status": "SUCCEEDED", "stripePaymentIntentId": self.payment_intent,
            "createdAt": self.at,
        })
    }

    /// As stored.
    #[must_use]
    pub fn insert(&self) -> Stmt {
        stmt!(
            "INSERT INTO payments (id, account_id, invoice_id, amount, currency, status, \
             stripe_payment_intent_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'SUCCEEDED', ?6, ?7)",
            self.id,
            self.account_id,
            self.invoice_id,
            self.amount.to_string(),
            self.currency,
            self.payment_intent,
            self.at
        )
    }
}

/// A stored payment row as answered.
#[must_use]
pub fn payment_row_view(r: &crate::db::Row) -> Value {
    let t = |k: &str| crate::db::text(r, k).unwrap_or_default();
    let (id, account_id, invoice_id, currency, pi, at) =
        (t("id"), t("account_id"), t("invoice_id"), t("currency"), t("stripe_payment_intent_id"), t("created_at"));
    Payment {
        id: &id,
        account_id: &account_id,
        invoice_id: &invoice_id,
        amount: t("amount").parse().unwrap_or_default(),
        currency: &currency,
        payment_intent: &pi,
        at: &at,
    }
    .view()
}
