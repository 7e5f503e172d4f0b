//! The Worker: converts between workers-rs and [`crate::http`], binds D1,
//! `fetch` and Web Crypto to the service's interfaces. Nothing else lives here.

use std::pin::pin;
use std::time::Duration;

use futures_util::future::{Either, select};
use wasm_bindgen::prelude::*;
use worker::{AbortController, D1Database, Delay, Env, Fetch, Headers, Method, RequestInit, event, send::SendFuture};

use crate::http::{self as api, body_limit};
use crate::ids::Random;
use crate::queue::{Sending, UsageQueue};
use crate::store::{Db, DbError, Row, Sql, Stmt};
use crate::stripe::{Http, StripeHttp};
use crate::{App, Config, Now};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

struct WebCrypto;
impl Random for WebCrypto {
    fn fill(&self, buf: &mut [u8]) {
        get_random_values(buf);
    }
}

struct D1(D1Database, std::cell::Cell<u64>);

fn bind(p: &[Sql]) -> Vec<JsValue> {
    p.iter()
        .map(|v| match v {
            Sql::Null => JsValue::NULL,
            #[allow(clippy::cast_precision_loss)] // our integers are versions and counters, far below 2^53
            Sql::Int(i) => JsValue::from_f64(*i as f64),
            Sql::Text(s) => JsValue::from_str(s),
        })
        .collect()
}

fn db_error(e: worker::Error) -> DbError {
    let e = DbError::from_message(e.to_string());
    if let DbError::Other(m) = &e {
        worker::console_error!("D1: {m}");
    }
    e
}

impl Db for D1 {
    async fn query(&self, stmt: Stmt) -> Result<Vec<Row>, DbError> {
        self.1.set(self.1.get().saturating_add(1));
        let prepared = self.0.prepare(stmt.sql).bind(&bind(&stmt.params)).map_err(db_error)?;
        let result = prepared.all().await.map_err(db_error)?;
        result.results::<Row>().map_err(db_error)
    }

    async fn batch(&self, stmts: Vec<Stmt>) -> Result<(), DbError> {
        let n = u64::try_from(stmts.len()).unwrap_or(u64::MAX);
        self.1.set(self.1.get().saturating_add(n));
        let mut prepared = Vec::with_capacity(stmts.len());
        for s in stmts {
            prepared.push(self.0.prepare(s.sql).bind(&bind(&s.params)).map_err(db_error)?);
        }
        self.0.batch(prepared).await.map_err(db_error).map(|_| ())
    }

    fn statements(&self) -> u64 {
        self.1.get()
    }
}

/// Stripe calls give up after this long (the client gets a 502 and retries).
const STRIPE_TIMEOUT: Duration = Duration::from_secs(10);

struct FetchHttp;
impl Http for FetchHttp {
    async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Option<String>,
    ) -> Result<(u16, String), String> {
        let h = Headers::new();
        for (k, v) in headers {
            h.set(k, v).map_err(|e| e.to_string())?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::from(method.to_owned())).with_headers(h);
        if let Some(b) = body {
            init.with_body(Some(JsValue::from_str(&b)));
        }
        let request = worker::Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let fetch = pin!(async {
            let mut r = Fetch::Request(request).send_with_signal(&signal).await.map_err(|e| e.to_string())?;
            let text = r.text().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((r.status_code(), text))
        });
        let timeout = pin!(Delay::from(STRIPE_TIMEOUT));
        match select(fetch, timeout).await {
            Either::Left((result, _)) => result,
            Either::Right(((), _)) => {
                controller.abort();
                Err(format!("no answer within {} s", STRIPE_TIMEOUT.as_secs()))
            }
        }
    }
}

fn setting(env: &Env, name: &str) -> Option<String> {
    env.secret(name).ok().map(|s| s.to_string()).or_else(|| env.var(name).ok().map(|v| v.to_string()))
}

fn to_worker(r: api::Response) -> worker::Result<worker::Response> {
    let headers = Headers::new();
    for (k, v) in &r.headers {
        headers.set(k, v)?;
    }
    let base = if r.status == 204 || r.status == 304 {
        worker::Response::empty()?
    } else {
        worker::Response::from_bytes(r.body.into_bytes())?
    };
    Ok(base.with_status(r.status).with_headers(headers))
}

/// The usage queue's producer (`[[queues.producers]]` binding `USAGE_QUEUE`);
/// a deployment without the binding answers every send with the reason.
struct CloudflareQueue(Option<worker::Queue>);

impl UsageQueue for CloudflareQueue {
    fn send(&self, messages: Vec<String>) -> Sending<'_> {
        Box::pin(async move {
            let queue = self.0.as_ref().ok_or("no USAGE_QUEUE binding (wrangler.toml [[queues.producers]])")?;
            // A sendBatch holds at most 100 messages and 256 KB (each message
            // counts about 100 bytes of metadata besides its body).
            let mut batch: Vec<String> = Vec::new();
            let mut bytes = 0usize;
            for m in messages {
                let size = m.len().saturating_add(100);
                if !batch.is_empty() && (batch.len() == 100 || bytes.saturating_add(size) > 250_000) {
                    SendFuture::new(queue.send_batch(std::mem::take(&mut batch))).await.map_err(|e| e.to_string())?;
                    bytes = 0;
                }
                bytes = bytes.saturating_add(size);
                batch.push(m);
            }
            if !batch.is_empty() {
                SendFuture::new(queue.send_batch(batch)).await.map_err(|e| e.to_string())?;
            }
            Ok(())
        })
    }
}

type Worker = App<D1, StripeHttp<FetchHttp>, WebCrypto>;

fn app(env: &Env) -> worker::Result<Worker> {
    let config = Config::from_vars(|k| setting(env, k));
    let stripe = StripeHttp::new(
        FetchHttp,
        &setting(env, "STRIPE_API_BASE").unwrap_or_else(|| "https://api.stripe.com".into()),
        &setting(env, "STRIPE_SECRET_KEY").unwrap_or_default(),
        &setting(env, "STRIPE_PUBLISHABLE_KEY").unwrap_or_default(),
    );
    let usage = Box::new(CloudflareQueue(env.queue("USAGE_QUEUE").ok()));
    Ok(App { db: D1(env.d1("DB")?, std::cell::Cell::new(0)), stripe, rng: WebCrypto, config, usage })
}

fn clock() -> Now {
    #[allow(clippy::cast_possible_truncation)] // milliseconds since 1970 fit an i64 for 292 million years
    Now::from_millis(js_sys::Date::now() as i64)
}

/// The Cron Trigger: today's billing run. With the billing queue bound
/// (`BILLING_QUEUE`), fanned out: one message per range of contract ids,
/// billed by queue consumers concurrently; without it, page after page here.
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    let run = async {
        let app = app(&env).map_err(|e| e.to_string())?;
        let now = clock();
        if let Ok(queue) = env.queue("BILLING_QUEUE") {
            let pages = crate::steps::billing::Page::ranges(now.today);
            let messages: Vec<worker::SendMessage<String>> =
                pages.iter().map(|p| worker::SendMessage::from(p.message())).collect();
            SendFuture::new(queue.send_batch(messages)).await.map_err(|e| e.to_string())?;
            worker::console_log!("billing run {}: {} ranges sent to the billing queue", now.today, pages.len());
            return Ok(());
        }
        // Until the last page (a Cron Trigger may run 15 minutes; what it
        // does not reach, the next day's run bills, every due date included).
        let mut cursor = String::new();
        loop {
            let page = crate::steps::billing::DEFAULT_PAGE;
            let report =
                crate::usecases::billing_run::run(&app, now.today, &cursor, page, &now).await.map_err(failure)?;
            worker::console_log!("billing run {}: {}", now.today, report);
            match report.get("nextCursor").and_then(serde_json::Value::as_str) {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        Ok::<(), String>(())
    };
    if let Err(e) = SendFuture::new(run).await {
        worker::console_error!("billing run failed: {e}");
    }
}

fn failure(e: crate::http::ApiError) -> String {
    format!("{} {}{}", e.code, e.message, e.cause.map(|c| format!(" ({c})")).unwrap_or_default())
}

/// The consumer of both queues (`[[queues.consumers]]`). The usage queue's
/// batch is stored in one D1 batch, exactly once; on any failure the whole
/// batch is retried (an event stored before is left as it is). The billing
/// queue's messages are pages of the daily run, each billed on its own,
/// acknowledged once the rest of its range is sent (retried on failure:
/// its periods are claimed, so nothing is billed twice).
#[event(queue)]
async fn queue(batch: worker::MessageBatch<String>, env: Env, _ctx: worker::Context) -> worker::Result<()> {
    SendFuture::new(async move {
        let app = app(&env)?;
        if batch.queue() == BILLING_QUEUE {
            return bill_pages(&app, &env, &batch).await;
        }
        let messages: Vec<String> = batch.messages()?.into_iter().map(|m| m.into_body()).collect();
        match crate::usecases::store_usage::run(&app.db, &messages, &clock()).await {
            Ok(n) => {
                worker::console_log!("usage: {n} events stored from {} messages", messages.len());
                batch.ack_all();
            }
            Err(e) => {
                worker::console_error!(
                    "usage: storing {} messages failed, retried: {} {}",
                    messages.len(),
                    e.code,
                    e.cause.unwrap_or_default()
                );
                batch.retry_all();
            }
        }
        Ok(())
    })
    .await
}

/// The billing queue's name (wrangler.toml `[[queues.consumers]]`).
const BILLING_QUEUE: &str = "quotekit-billing";

/// Bills each page of the batch; sends the rest of its range before acknowledging it.
async fn bill_pages(app: &Worker, env: &Env, batch: &worker::MessageBatch<String>) -> worker::Result<()> {
    use worker::MessageExt as _;
    let queue = env.queue("BILLING_QUEUE")?;
    for message in batch.messages()? {
        let now = clock();
        match crate::usecases::billing_run::run_message(app, message.body(), &now).await {
            Ok((report, next)) => {
                worker::console_log!("billing page {}: {}", message.body(), report);
                if let Some(next) = next
                    && let Err(e) = SendFuture::new(queue.send(next)).await
                {
                    worker::console_error!(
                        "billing page {}: the rest of its range not sent, retried: {e}",
                        message.body()
                    );
                    message.retry();
                    continue;
                }
                message.ack();
            }
            Err(e) => {
                worker::console_error!("billing page {} failed, retried: {}", message.body(), failure(e));
                message.retry();
            }
        }
    }
    Ok(())
}

#[event(fetch)]
async fn fetch(mut req: worker::Request, env: Env, _ctx: worker::Context) -> worker::Result<worker::Response> {
    SendFuture::new(async move {
        let url = req.url()?;
        let headers: Vec<(String, String)> =
            req.headers().entries().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        let declared =
            headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse::<usize>().ok()).unwrap_or(0);
        // The method as sent: workers-rs maps methods it does not know (PROPFIND,
        // LOCK, …) to GET, which would serve them as reads.
        let method = req.inner().method();
        let limit = body_limit(url.path());
        let body = if declared > limit || matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") {
            // Over the limit: not read at all (the router answers 413 on the declared size).
            vec![0; declared.min(limit.saturating_add(1))]
        } else {
            req.bytes().await.unwrap_or_default()
        };
        let request = api::Request {
            method,
            origin: url.origin().ascii_serialization(),
            path: url.path().to_owned(),
            query: url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect(),
            headers,
            body,
        };
        let app = app(&env)?;
        let now = clock();
        let response = api::handle(&app, &request, &now).await;
        if response.status >= 500 || response.cause.is_some() {
            let cause = response.cause.as_deref().unwrap_or("");
            worker::console_error!(
                "{} {} -> {} {} {cause}",
                request.method,
                request.path,
                response.status,
                response.body
            );
        }
        to_worker(response)
    })
    .await
}
