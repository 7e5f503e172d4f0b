//! Native stand-ins: SQLite (the engine under D1) with the real migrations,
//! and an in-memory Stripe with the behaviours the Sign-Up API relies on.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use edge::http::{Request, Response};
use edge::ids::OsRandom;
use edge::store::{Db, DbError, Row, Sql, Stmt};
use edge::stripe::{Charge, PaymentIntent, PaymentMethod, SetupIntent, Stripe, StripeError};
use edge::{App, Config, Now};
use rusqlite::{Connection, types::ValueRef};
use serde_json::{Value, json};

/// SQLite, the batch failure to inject, its identity, the statements sent (reads
/// and writes, as D1 counts them) and a concurrent writer's SQL to run first.
pub struct Sqlite(
    pub RefCell<Connection>,
    pub RefCell<Option<&'static str>>,
    u64,
    Cell<u64>,
    RefCell<Option<(&'static str, String)>>,
);

/// Each database of the process its own identity (the Worker's isolate cache tells them apart).
static DATABASES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Sqlite {
    /// Makes the next batch with a statement containing `sql` fail (a D1 outage at that moment).
    pub fn fail_next_batch_with(&self, sql: &'static str) {
        *self.1.borrow_mut() = Some(sql);
    }

    /// Runs `write` just before the next batch with a statement containing
    /// `sql`: another writer committing between that batch's reads and its write.
    pub fn write_before_next_batch_with(&self, sql: &'static str, write: &str) {
        *self.4.borrow_mut() = Some((sql, write.to_owned()));
    }

    pub fn migrated() -> Self {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        let mut files: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            conn.execute_batch(&std::fs::read_to_string(f).unwrap()).unwrap();
        }
        Self(
            RefCell::new(conn),
            RefCell::new(None),
            DATABASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            Cell::new(0),
            RefCell::new(None),
        )
    }

    /// Every table's rows, for "nothing changed" checks.
    pub fn dump(&self) -> String {
        let conn = self.0.borrow();
        let mut tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        tables.retain(|t| t != "idempotency_keys");
        let mut out = String::new();
        for t in tables {
            let columns = conn.prepare(&format!("SELECT * FROM {t}")).unwrap().column_count();
            let order = if columns > 1 { "1, 2" } else { "1" };
            let mut st = conn.prepare(&format!("SELECT * FROM {t} ORDER BY {order}")).unwrap();
            let n = st.column_count();
            let rows = st
                .query_map([], |r| {
                    Ok((0..n).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect::<Vec<_>>().join("|"))
                })
                .unwrap();
            for r in rows {
                out.push_str(&format!("{t}: {}\n", r.unwrap()));
            }
        }
        out
    }

    /// Rows of a read, as the Worker sees them.
    pub fn rows(&self, sql: &'static str) -> Vec<Row> {
        pollster::block_on(self.query(Stmt { sql, params: vec![] })).unwrap()
    }
    /// A hand edit, as an operator with the database would make one.
    pub fn exec(&self, sql: &str) {
        self.0.borrow().execute_batch(sql).unwrap();
    }
    pub fn count(&self, table: &str) -> i64 {
        self.0.borrow().query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap()
    }
}

fn params(p: &[Sql]) -> Vec<rusqlite::types::Value> {
    p.iter()
        .map(|v| match v {
            Sql::Null => rusqlite::types::Value::Null,
            Sql::Int(i) => rusqlite::types::Value::Integer(*i),
            Sql::Text(s) => rusqlite::types::Value::Text(s.clone()),
        })
        .collect()
}

fn err(e: rusqlite::Error) -> DbError {
    DbError::from_message(e.to_string())
}

impl Db for Sqlite {
    fn identity(&self) -> u64 {
        self.2
    }

    fn statements(&self) -> u64 {
        self.3.get()
    }

    async fn query(&self, stmt: Stmt) -> Result<Vec<Row>, DbError> {
        self.3.set(self.3.get() + 1);
        let conn = self.0.borrow();
        let mut st = conn.prepare(stmt.sql).map_err(err)?;
        let names: Vec<String> = st.column_names().into_iter().map(str::to_owned).collect();
        let mut rows = st.query(rusqlite::params_from_iter(params(&stmt.params))).map_err(err)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(err)? {
            let mut m = Row::new();
            for (i, name) in names.iter().enumerate() {
                let v = match r.get_ref(i).map_err(err)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => json!(n),
                    ValueRef::Real(f) => json!(f),
                    ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                    ValueRef::Blob(_) => Value::Null,
                };
                m.insert(name.clone(), v);
            }
            out.push(m);
        }
        Ok(out)
    }

    async fn batch(&self, stmts: Vec<Stmt>) -> Result<(), DbError> {
        self.3.set(self.3.get() + stmts.len() as u64);
        let fail = *self.1.borrow();
        if let Some(pattern) = fail
            && stmts.iter().any(|s| s.sql.contains(pattern))
        {
            *self.1.borrow_mut() = None;
            return Err(DbError::Other("injected: D1 unavailable".into()));
        }
        let before = self.4.borrow().clone();
        if let Some((pattern, write)) = before
            && stmts.iter().any(|s| s.sql.contains(pattern))
        {
            *self.4.borrow_mut() = None;
            self.exec(&write);
        }
        let mut conn = self.0.borrow_mut();
        let tx = conn.transaction().map_err(err)?;
        for s in stmts {
            tx.execute(s.sql, rusqlite::params_from_iter(params(&s.params))).map_err(err)?;
        }
        tx.commit().map_err(err)
    }
}

#[derive(Clone, Debug)]
pub struct FakeSeti {
    pub customer: String,
    pub status: String,
    pub payment_method: Option<String>,
}

#[derive(Clone, Debug)]
pub struct FakePm {
    pub customer: Option<String>,
    pub declines: bool,
}

/// (idempotency key, customer, payment method, amount, currency)
pub type FakeCharge = (String, String, String, i64, String);

/// Stripe in memory: customers, SetupIntents, PaymentMethods, charges.
#[derive(Default)]
pub struct FakeStripe {
    pub down: Cell<bool>,
    pub next: Cell<u32>,
    /// (id, name, email) of each customer, as Stripe holds them.
    pub customers: RefCell<Vec<(String, String, String)>>,
    pub setis: RefCell<HashMap<String, FakeSeti>>,
    pub pms: RefCell<HashMap<String, FakePm>>,
    pub charges: RefCell<Vec<FakeCharge>>,
    pub intents: RefCell<HashMap<String, FakeIntent>>,
    /// Charges at the next confirm, then answers as if the connection dropped.
    pub lose_next_answer: Cell<bool>,
    /// Charges at the next confirm, loses the answer, and is unreachable from then on.
    pub silent_after_next_confirm: Cell<bool>,
    /// The next confirm never reaches Stripe (nothing charged; no answer).
    pub drop_next_confirm: Cell<bool>,
}

pub struct FakeIntent {
    pub key: String,
    pub customer: String,
    pub payment_method: String,
    pub amount: i64,
    pub currency: String,
    pub outcome: Option<Result<PaymentIntent, StripeError>>,
}

impl FakeStripe {
    fn id(&self, prefix: &str) -> String {
        self.next.set(self.next.get() + 1);
        format!("{prefix}_{:06}", self.next.get())
    }
    fn up(&self) -> Result<(), StripeError> {
        if self.down.get() { Err(StripeError::Unavailable("connection refused".into())) } else { Ok(()) }
    }
    /// What Stripe.js does in the browser: confirms the SetupIntent with a card.
    pub fn confirm(&self, seti: &str, declining_card: bool) -> String {
        let pm = self.id("pm");
        self.pms.borrow_mut().insert(pm.clone(), FakePm { customer: None, declines: declining_card });
        let mut setis = self.setis.borrow_mut();
        let s = setis.get_mut(seti).unwrap();
        s.status = "succeeded".into();
        s.payment_method = Some(pm.clone());
        pm
    }
    pub fn charge_count(&self) -> usize {
        self.charges.borrow().len()
    }
}

impl Stripe for FakeStripe {
    fn publishable_key(&self) -> &str {
        "pk_test_fake"
    }
    async fn create_customer(
        &self,
        _: &str,
        name: &str,
        email: &str,
        _: &[(&str, &str)],
    ) -> Result<String, StripeError> {
        self.up()?;
        let id = self.id("cus");
        self.customers.borrow_mut().push((id.clone(), name.into(), email.into()));
        Ok(id)
    }
    async fn update_customer(&self, _: &str, id: &str, name: &str, email: &str) -> Result<(), StripeError> {
        self.up()?;
        let mut list = self.customers.borrow_mut();
        let c = list
            .iter_mut()
            .find(|c| c.0 == id)
            .ok_or(StripeError::Rejected { status: 404, message: format!("No such customer: '{id}'") })?;
        (c.1, c.2) = (name.into(), email.into());
        Ok(())
    }
    async fn create_setup_intent(&self, _: &str, customer: &str) -> Result<SetupIntent, StripeError> {
        self.up()?;
        let id = self.id("seti");
        self.setis.borrow_mut().insert(
            id.clone(),
            FakeSeti { customer: customer.into(), status: "requires_payment_method".into(), payment_method: None },
        );
        Ok(SetupIntent {
            client_secret: format!("{id}_secret_x"),
            id,
            customer: Some(customer.into()),
            status: "requires_payment_method".into(),
            payment_method: None,
        })
    }
    async fn setup_intent(&self, id: &str) -> Result<SetupIntent, StripeError> {
        self.up()?;
        let s = self
            .setis
            .borrow()
            .get(id)
            .cloned()
            .ok_or(StripeError::Rejected { status: 404, message: format!("No such setupintent: '{id}'") })?;
        Ok(SetupIntent {
            id: id.into(),
            client_secret: String::new(),
            customer: Some(s.customer),
            status: s.status,
            payment_method: s.payment_method,
        })
    }
    async fn payment_method(&self, id: &str) -> Result<PaymentMethod, StripeError> {
        self.up()?;
        let pm = self
            .pms
            .borrow()
            .get(id)
            .cloned()
            .ok_or(StripeError::Rejected { status: 404, message: format!("No such PaymentMethod: '{id}'") })?;
        Ok(PaymentMethod {
            id: id.into(),
            customer: pm.customer,
            brand: Some("visa".into()),
            last4: Some("4242".into()),
        })
    }
    async fn attach(&self, _: &str, pm: &str, customer: &str) -> Result<PaymentMethod, StripeError> {
        self.up()?;
        self.pms.borrow_mut().get_mut(pm).unwrap().customer = Some(customer.into());
        self.payment_method(pm).await
    }
    async fn set_default(&self, _: &str, _: &str, _: &str) -> Result<(), StripeError> {
        self.up()
    }
    async fn create_payment_intent(&self, idem: &str, c: &Charge<'_>) -> Result<String, StripeError> {
        self.up()?;
        let id = self.id("pi");
        self.intents.borrow_mut().insert(
            id.clone(),
            FakeIntent {
                key: idem.into(),
                customer: c.customer.into(),
                payment_method: c.payment_method.into(),
                amount: c.amount,
                currency: c.currency.clone(),
                outcome: None,
            },
        );
        Ok(id)
    }
    async fn confirm_payment_intent(&self, _: &str, id: &str) -> Result<PaymentIntent, StripeError> {
        self.up()?;
        if self.drop_next_confirm.replace(false) {
            return Err(StripeError::Unavailable("no answer within 10 s".into()));
        }
        let mut intents = self.intents.borrow_mut();
        let i = intents
            .get_mut(id)
            .ok_or(StripeError::Rejected { status: 404, message: "No such payment_intent".into() })?;
        if i.outcome.is_some() {
            return Err(StripeError::Rejected {
                status: 400,
                message: "This PaymentIntent was already confirmed.".into(),
            });
        }
        let key = i.key.trim_end_matches("/create").to_owned(); // our charge key
        self.charges.borrow_mut().push((
            key,
            i.customer.clone(),
            i.payment_method.clone(),
            i.amount,
            i.currency.clone(),
        ));
        let declines = self.pms.borrow().get(&i.payment_method).is_some_and(|p| p.declines);
        let r = if declines {
            Err(StripeError::Declined {
                code: "card_declined".into(),
                decline_code: Some("generic_decline".into()),
                message: "Your card was declined.".into(),
            })
        } else {
            Ok(PaymentIntent { id: id.into(), status: "succeeded".into() })
        };
        i.outcome = Some(r.clone());
        if self.silent_after_next_confirm.replace(false) {
            self.down.set(true);
            return Err(StripeError::Unavailable("the answer was lost".into()));
        }
        if self.lose_next_answer.replace(false) {
            return Err(StripeError::Unavailable("the answer was lost".into()));
        }
        r
    }
    async fn payment_intent(&self, id: &str) -> Result<PaymentIntent, StripeError> {
        self.up()?;
        let intents = self.intents.borrow();
        let i =
            intents.get(id).ok_or(StripeError::Rejected { status: 404, message: "No such payment_intent".into() })?;
        i.outcome.clone().unwrap_or_else(|| Ok(PaymentIntent { id: id.into(), status: "requires_confirmation".into() }))
    }
    async fn cancel_payment_intent(&self, _: &str, id: &str) -> Result<(), StripeError> {
        self.up()?;
        let mut intents = self.intents.borrow_mut();
        let i = intents
            .get_mut(id)
            .ok_or(StripeError::Rejected { status: 404, message: "No such payment_intent".into() })?;
        if i.outcome.is_some() {
            return Err(StripeError::Rejected { status: 400, message: "The PaymentIntent cannot be canceled.".into() });
        }
        i.outcome = Some(Err(StripeError::Declined {
            code: edge::stripe::CANCELED.into(),
            decline_code: None,
            message: "The payment was canceled before it was charged.".into(),
        }));
        Ok(())
    }
}

pub type TestApp = App<Sqlite, FakeStripe, OsRandom>;

pub const SECRET: &str = "sk_test_unit";
pub const WEBHOOK_SECRET: &str = "whsec_unit";
pub const PUBLISHABLE: &str = "pk_test_unit";

pub fn app() -> TestApp {
    App {
        db: Sqlite::migrated(),
        stripe: FakeStripe::default(),
        rng: OsRandom,
        config: Config {
            secret_key: SECRET.into(),
            publishable_key: PUBLISHABLE.into(),
            cors_origins: vec!["https://shop.example".into()],
            signup_url_base: None,
            customer_token_secret: None,
            stripe_webhook_secret: Some(WEBHOOK_SECRET.into()),
            stripe_js_url: "https://js.stripe.com/v3/".into(),
            test_clock: false,
            auth_failures_per_minute: edge::AUTH_FAILURES_PER_MINUTE,
            promotion_code_guesses_per_minute: edge::PROMOTION_CODE_GUESSES_PER_MINUTE,
        },
        usage: Box::new(edge::queue::MemoryQueue::default()),
    }
}

pub fn now(date: &str) -> Now {
    at(date, "12:00:00")
}

pub fn at(date: &str, time: &str) -> Now {
    Now::from_naive(chrono::NaiveDateTime::parse_from_str(&format!("{date}T{time}"), "%Y-%m-%dT%H:%M:%S").unwrap())
}

pub struct Call<'a> {
    pub app: &'a TestApp,
    pub now: Now,
}

impl Call<'_> {
    pub fn send(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<String>,
        extra: &[(&str, &str)],
    ) -> Response {
        let mut headers = vec![];
        if let Some(k) = key {
            headers.push(("authorization".to_owned(), format!("Bearer {k}")));
        }
        for (k, v) in extra {
            headers.push(((*k).to_owned(), (*v).to_owned()));
        }
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect();
        let req = Request {
            method: method.into(),
            origin: "https://api.example".into(),
            path: path.into(),
            query,
            headers,
            body: body.unwrap_or_default().into_bytes(),
        };
        pollster::block_on(edge::http::handle(self.app, &req, &self.now))
    }
    pub fn json(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let r = self.send(method, path, Some(PUBLISHABLE), Some(body.to_string()), &[]);
        (r.status, serde_json::from_str(&r.body).unwrap_or(Value::Null))
    }
    pub fn publish(&self, catalog: &Value) -> (u16, Value) {
        let r = self.send("PUT", "/api/catalog", Some(SECRET), Some(catalog.to_string()), &[]);
        (r.status, serde_json::from_str(&r.body).unwrap_or(Value::Null))
    }
    pub fn patch(&self, id: &str, body: &Value) -> (u16, Value) {
        self.json("PATCH", &format!("/api/selfService/signup/{id}"), body)
    }
    pub fn post(&self, body: &Value) -> (u16, Value) {
        self.json("POST", "/api/selfService/signup", body)
    }
    pub fn get(&self, id: &str) -> (u16, Value) {
        let r = self.send("GET", &format!("/api/selfService/signup/{id}"), Some(PUBLISHABLE), None, &[]);
        (r.status, serde_json::from_str(&r.body).unwrap_or(Value::Null))
    }
}

pub fn demo_catalog() -> Value {
    serde_json::from_str(include_str!("../../demo-catalog.json")).unwrap()
}

pub fn customer_json() -> Value {
    json!({
        "accountName": "Acme Inc", "name": "John Doe", "email": "john@acme.test",
        "billingAddress": { "line1": "123 Main St", "city": "San Francisco", "state": "CA", "postalCode": "94107", "country": "US" }
    })
}

/// The string at `v` (an id, a token, a status), owned; a test fails if it is not one.
pub fn text(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("a string, not {v}")).to_owned()
}

/// Signs a customer up for `seats` Team seats (monthly) with a card that
/// `declines` or not; answers the FINALIZE response.
pub fn paying_customer(c: &Call<'_>, seats: u32, declines: bool, today: &str) -> Value {
    let (status, s) = c.post(&json!({
        "action": "CREATE_WITH_PAYMENT_METHOD", "customer": customer_json(),
        "quote": { "startDate": today, "offerings": [{ "offeringId": "offr_team", "rateId": "rate_team_monthly",
            "items": [{ "productId": "prod_seats", "quantity": seats }] }] }
    }));
    assert_eq!(status, 201, "{s}");
    let id = s["sessionId"].as_str().unwrap();
    let seti = s["paymentMethodInit"]["stripe"]["setupIntentId"].as_str().unwrap();
    c.app.stripe.confirm(seti, false);
    let (status, done) = c.patch(id, &json!({ "action": "FINALIZE", "paymentMethod": { "paymentToken": seti } }));
    assert_eq!(status, 200, "{done}");
    if declines {
        // Swap the saved card for one that declines from now on.
        let pm = done["paymentMethod"]["stripePaymentMethodId"].as_str().unwrap();
        c.app.stripe.pms.borrow_mut().get_mut(pm).unwrap().declines = true;
    }
    done
}

impl Call<'_> {
    pub fn secret(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let r = self.send(method, path, Some(SECRET), body.map(Value::to_string), &[]);
        (r.status, serde_json::from_str(&r.body).unwrap_or(Value::Null))
    }
    pub fn change(&self, body: &Value) -> (u16, Value) {
        self.secret("POST", "/api/selfService/contract", Some(body))
    }
}

/// Compares an answer with a vector's `expected` the way every layer does.
pub fn check(name: &str, expected: &Value, actual: &Value) {
    if let Err(diff) = golden::matches(expected, actual) {
        panic!("{name}: {diff}\nactual: {actual}");
    }
}

/// The day the billing tests start on.
pub const BILLING_TODAY: &str = "2026-11-22";

/// An app with the demo catalog published on [`BILLING_TODAY`].
pub fn billing_app() -> TestApp {
    let a = app();
    let c = Call { app: &a, now: now(BILLING_TODAY) };
    assert_eq!(c.publish(&demo_catalog()).0, 201);
    a
}

/// `POST /api/billingRuns` for `date`, on that day; answers the report.
pub fn run_billing(a: &TestApp, date: &str) -> Value {
    let c = Call { app: a, now: now(date) };
    let (status, r) = c.secret("POST", "/api/billingRuns", Some(&json!({ "date": date })));
    assert_eq!(status, 200, "{r}");
    r
}

/// `from` and the `days` days after it.
pub fn dates(from: &str, days: i64) -> Vec<String> {
    let start = pricing::parse_date(from).unwrap();
    (0..=days).map(|i| start.checked_add_signed(chrono::Duration::days(i)).unwrap().to_string()).collect()
}
