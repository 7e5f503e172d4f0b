//! The engine's one JSON writer: every output (quote, change preview,
//! contract, invoice, billing, error) written by hand into one `String`,
//! amounts with their currency's decimals. Several times faster than going
//! through `serde_json`'s writer, which matters in the browser where every
//! slider move prices a quote; the vectors pin its output byte for byte.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::change::ChangePreview;
use crate::contract::{Contract, ContractLine, ContractStatus};
use crate::discount::Discount;
use crate::error::Error;
use crate::invoice::{Invoice, InvoiceLine};
use crate::quote::{Quote, QuoteItem, QuoteOffering, Recurring};

/// A value the engine returns, as JSON text: amounts are numbers with their
/// currency's decimals, dates `YYYY-MM-DD`, absent values `null`.
pub trait ToJson {
    /// Appends the JSON text of `self` to `out`.
    fn write_json(&self, out: &mut JsonOut);

    /// The JSON text of `self`.
    fn to_json(&self) -> String {
        let mut out = JsonOut(String::with_capacity(1024));
        self.write_json(&mut out);
        out.0
    }
}

/// The text being written.
pub struct JsonOut(String);

impl JsonOut {
    fn open(&mut self) {
        self.0.push('{');
    }

    fn close(&mut self) {
        self.0.push('}');
    }

    /// `"name":`, preceded by a comma unless it is the object's first field
    /// (three copies, no character encoding: this runs for every field).
    fn key(&mut self, name: &str) {
        let first = matches!(self.0.as_bytes().last(), Some(b'{'));
        self.0.push_str(if first { "\"" } else { ",\"" });
        self.0.push_str(name);
        self.0.push_str("\":");
    }

    fn str(&mut self, name: &str, value: &str) {
        self.key(name);
        escaped(&mut self.0, value);
    }

    fn dec(&mut self, name: &str, value: &Decimal) {
        self.key(name);
        decimal(&mut self.0, value);
    }

    fn date(&mut self, name: &str, value: NaiveDate) {
        self.key(name);
        date(&mut self.0, value);
    }

    fn opt_date(&mut self, name: &str, value: Option<NaiveDate>) {
        match value {
            Some(d) => self.date(name, d),
            None => {
                self.key(name);
                self.0.push_str("null");
            }
        }
    }

    /// A contract line's (or kept piece's) offering, rate and schedule.
    fn line_terms(&mut self, offering_id: &str, rate_id: &str, schedule: &crate::period::Schedule) {
        self.str("offeringId", offering_id);
        self.str("rateId", rate_id);
        self.date("serviceStart", schedule.service_start);
        self.date("anchorDate", schedule.anchor_date);
        self.key("anchorDay");
        self.0.push_str(&schedule.anchor_day.to_string());
    }

    /// A line's products with their quantities.
    fn products(&mut self, products: &[crate::contract::ContractProduct]) {
        self.list("products", products, |o, p| {
            o.open();
            o.str("productId", &p.product_id);
            o.dec("quantity", &p.quantity);
            o.close();
        });
    }

    fn list<T>(&mut self, name: &str, items: &[T], write: impl Fn(&mut Self, &T)) {
        self.key(name);
        self.0.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            write(self, item);
        }
        self.0.push(']');
    }
}

/// A JSON string literal, escaped as `serde_json` escapes it.
fn escaped(out: &mut String, s: &str) {
    out.push('"');
    // Ids and codes almost never need escaping: copy them whole.
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let n = u32::from(c);
                out.push_str("\\u00");
                for shift in [4, 0] {
                    let digit = HEX.get(usize::try_from((n >> shift) & 0xF).unwrap_or(0)).copied().unwrap_or(b'0');
                    out.push(char::from(digit));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A decimal exactly as `Decimal`'s `Display` writes it (`-0.5`, `100.00`),
/// composed right to left in a stack buffer and appended at once.
pub(crate) fn decimal(out: &mut String, d: &Decimal) {
    let mut buf = [0u8; 48];
    let mut end = buf.len();
    let mut put = |byte: u8, end: &mut usize| {
        *end = end.saturating_sub(1);
        if let Some(slot) = buf.get_mut(*end) {
            *slot = byte;
        }
    };
    let scale = usize::try_from(d.scale()).unwrap_or(0);
    // The mantissa (at most 96 bits) as two u64 halves of 19 digits and the
    // rest: a u128 division per digit would be a slow call each in wasm.
    const HALF: u128 = 10_000_000_000_000_000_000;
    let wide = d.mantissa().unsigned_abs();
    let (high, low) = (wide / HALF, wide % HALF);
    let halves =
        [(u64::try_from(low).unwrap_or(0), if high > 0 { 19 } else { 0 }), (u64::try_from(high).unwrap_or(0), 0)];
    let mut written = 0;
    // Digits from the right; the point after `scale` of them; one digit at least before it.
    for (i, (mut m, at_least)) in halves.into_iter().enumerate() {
        let mut n = 0;
        while m > 0 || n < at_least || (i == 1 && written <= scale) {
            if written == scale && scale > 0 {
                put(b'.', &mut end);
            }
            put(b'0' + u8::try_from(m % 10).unwrap_or(0), &mut end);
            m /= 10;
            n += 1;
            written += 1;
        }
    }
    if d.is_sign_negative() && !d.is_zero() {
        put(b'-', &mut end);
    }
    out.push_str(buf.get(end..).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("0"));
}

/// `"YYYY-MM-DD"` (years 0..=9999, which is all the engine makes).
pub(crate) fn date(out: &mut String, d: NaiveDate) {
    let (y, m, day) = (u32::try_from(d.year()).unwrap_or(0), d.month(), d.day());
    let digit = |v: u32| b'0' + u8::try_from(v % 10).unwrap_or(0);
    let text = [
        b'"',
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(day / 10),
        digit(day),
        b'"',
    ];
    out.push_str(std::str::from_utf8(&text).unwrap_or("\"0000-00-00\""));
}

impl ToJson for Quote {
    fn write_json(&self, o: &mut JsonOut) {
        o.open();
        o.str("currency", self.currency);
        o.date("startDate", self.start_date);
        o.opt_date("endDate", self.end_date);
        o.dec("amountWithoutTax", &self.amount_without_tax);
        o.dec("amount", &self.amount);
        o.dec("discountAmount", &self.discount_amount);
        if let Some(d) = &self.discount {
            o.key("discount");
            d.write_json(o);
        }
        o.list("recurring", &self.recurring, |o, r: &Recurring| {
            o.open();
            o.str("billingFrequency", r.billing_frequency.as_str());
            o.dec("amountWithoutTax", &r.amount_without_tax);
            o.close();
        });
        o.key("oneTime");
        o.open();
        o.dec("amountWithoutTax", &self.one_time);
        o.close();
        o.list("offerings", &self.offerings, |o, off: &QuoteOffering| {
            o.open();
            o.str("offeringId", &off.offering_id);
            o.str("rateId", &off.rate_id);
            o.str("billingFrequency", off.billing_frequency.as_str());
            o.str("billingTiming", off.billing_timing.as_str());
            o.opt_date("endDate", off.end_date);
            o.dec("amountWithoutTax", &off.amount_without_tax);
            o.dec("amount", &off.amount);
            o.list("items", &off.items, |o, i: &QuoteItem| {
                o.open();
                o.str("productId", &i.product_id);
                o.str("type", i.item_type.as_str());
                if crate::catalog::METERED && i.metered {
                    o.key("metered");
                    o.0.push_str("true");
                }
                o.dec("quantity", &i.quantity);
                o.dec("amountWithoutTax", &i.amount_without_tax);
                o.dec("amount", &i.amount);
                o.dec("discountAmount", &i.discount_amount);
                o.close();
            });
            o.close();
        });
        o.key("firstInvoice");
        self.first_invoice.write_json(o);
        o.opt_date("nextInvoiceDate", self.next_invoice_date);
        o.close();
    }
}

impl ToJson for Discount {
    fn write_json(&self, o: &mut JsonOut) {
        o.open();
        o.str("couponId", &self.coupon_id);
        o.dec("percentOff", &self.percent_off);
        match &self.applies_to {
            Some(ids) => o.list("appliesTo", ids, |o, id: &String| escaped(&mut o.0, id)),
            None => {
                o.key("appliesTo");
                o.0.push_str("null");
            }
        }
        o.opt_date("endDate", self.end_date);
        o.close();
    }
}

impl ToJson for Invoice {
    fn write_json(&self, o: &mut JsonOut) {
        o.open();
        o.date("invoiceDate", self.invoice_date);
        o.dec("amountWithoutTax", &self.amount_without_tax);
        o.dec("discountAmount", &self.discount_amount);
        o.dec("tax", &self.tax);
        o.dec("amount", &self.amount);
        o.list("lines", &self.lines, |o, l: &InvoiceLine| {
            o.open();
            o.str("offeringId", &l.offering_id);
            o.str("rateId", &l.rate_id);
            o.str("productId", &l.product_id);
            o.str("type", l.line_type.as_str());
            o.dec("quantity", &l.quantity);
            o.date("periodStart", l.period_start);
            o.date("periodEnd", l.period_end);
            o.key("prorationFactor");
            o.0.push('"');
            l.proration_factor.write_to(&mut o.0);
            o.0.push('"');
            o.dec("amount", &l.amount);
            o.dec("discountAmount", &l.discount_amount);
            o.dec("tax", &l.tax);
            if l.grants_credit {
                o.key("grantsCredit");
                o.0.push_str("true");
            }
            o.close();
        });
        o.close();
    }
}

impl ToJson for Contract {
    fn write_json(&self, o: &mut JsonOut) {
        o.open();
        o.str("id", &self.id);
        o.str(
            "status",
            match self.status {
                ContractStatus::Active => "ACTIVE",
                ContractStatus::Canceled => "CANCELED",
            },
        );
        o.str("currency", &self.currency);
        o.date("startDate", self.start_date);
        o.opt_date("endDate", self.end_date);
        if let Some(d) = &self.discount {
            o.key("discount");
            d.write_json(o);
        }
        o.list("offerings", &self.offerings, |o, l: &ContractLine| {
            o.open();
            o.line_terms(&l.offering_id, &l.rate_id, &l.schedule);
            o.date("invoicedThrough", l.invoiced_through);
            if let Some(m) = l.metered_through.filter(|_| crate::catalog::METERED) {
                o.date("meteredThrough", m);
            }
            o.products(&l.products);
            o.close();
        });
        if !self.unbilled.is_empty() {
            o.list("unbilledArrears", &self.unbilled, |o, a: &crate::contract::ArrearsPiece| a.write_json(o));
        }
        o.close();
    }
}

/// A kept piece as stored in a contract's `unbilledArrears`.
impl ToJson for crate::contract::ArrearsPiece {
    fn write_json(&self, o: &mut JsonOut) {
        let a = self;
        o.open();
        o.line_terms(&a.offering_id, &a.rate_id, &a.schedule);
        o.date("start", a.start);
        o.date("end", a.end);
        // Licensed products with their quantities; the metered ones whose
        // usage the piece bills marked so (no quantity: usage prices them).
        if !crate::catalog::METERED {
            let listed: Vec<_> = a.products.iter().filter(|p| a.licensed.contains(&p.product_id)).cloned().collect();
            o.products(&listed);
        } else {
            o.key("products");
            o.0.push('[');
            for p in &a.products {
                let usage = a.usage.contains(&p.product_id);
                if !usage && !a.licensed.contains(&p.product_id) {
                    continue;
                }
                if !o.0.ends_with('[') {
                    o.0.push(',');
                }
                o.open();
                o.str("productId", &p.product_id);
                if usage {
                    o.key("metered");
                    o.0.push_str("true");
                } else {
                    o.dec("quantity", &p.quantity);
                }
                o.close();
            }
            o.0.push(']');
        }
        if let Some(v) = a.catalog_version {
            o.key("catalogVersion");
            o.0.push_str(&v.to_string());
        }
        o.close();
    }
}

impl ToJson for ChangePreview {
    fn write_json(&self, o: &mut JsonOut) {
        o.open();
        o.key("contract");
        self.contract.write_json(o);
        o.key("invoice");
        self.invoice.write_json(o);
        o.close();
    }
}

impl ToJson for crate::billing::Billing {
    fn write_json(&self, o: &mut JsonOut) {
        o.open();
        o.list("invoices", &self.invoices, |o, i: &Invoice| i.write_json(o));
        o.key("contract");
        self.contract.write_json(o);
        o.close();
    }
}

impl ToJson for Error {
    fn write_json(&self, o: &mut JsonOut) {
        o.open();
        o.str("code", self.code.as_str());
        o.str("path", &self.path);
        o.str("message", &self.message);
        o.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn decimals_are_written_exactly_as_decimal_displays_them() {
        for text in [
            "0",
            "0.00",
            "100.00",
            "-46.45",
            "65.81",
            "0.001",
            "-0.5",
            "2028",
            "1536.5",
            "79228162514264337593543950335",
            "-7.9228162514264337593543950335",
            "0.0000000000000000000000000001",
            // Either side of the u64 fast path's bound.
            "18446744073709551615",
            "18446744073709551616",
            "-1844674407370955.1615",
            "-1844674407370955.1616",
        ] {
            let d = Decimal::from_str(text).unwrap();
            let mut out = String::new();
            decimal(&mut out, &d);
            assert_eq!(out, d.to_string(), "{text}");
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for s in ["plain", "quote \" and \\ backslash", "tab\tnew\nline\r", "\u{1}\u{1f} ctl", "é 😀 </script>"] {
            let mut out = String::new();
            escaped(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn dates_are_written_as_iso_calendar_dates() {
        let mut out = String::new();
        date(&mut out, NaiveDate::from_ymd_opt(7, 2, 9).unwrap());
        assert_eq!(out, "\"0007-02-09\"");
    }
}
