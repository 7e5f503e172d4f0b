//! The HTTP layer: requests and responses as plain values (what the Worker
//! glue converts to and from, and what native tests drive directly), the
//! route table, authentication, `Idempotency-Key`, and reading bodies into
//! the service's types. Use cases never see a `Request`.

use serde_json::Value;

mod auth;
mod call;
mod error;
mod handlers;
mod idempotency;
pub mod input;
pub mod openapi;
pub mod routes;

pub use auth::Access;
pub use error::{ApiError, ApiResult};
pub use routes::{ROUTES, handle};

/// An incoming request, already read.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The URL's origin (`https://api.example.com`), for links we hand out.
    pub origin: String,
    /// The URL's path (`/api/selfService/signup`).
    pub path: String,
    /// The URL's decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body bytes (at most [`MAX_BODY`] are read).
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value by lower-case name.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    /// A query parameter.
    #[must_use]
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Largest request body accepted (64 KB); larger is 413.
pub const MAX_BODY: usize = 64 * 1024;

/// `POST /api/usage` takes up to 1 000 events: its bodies may reach 1 MB.
pub const MAX_USAGE_BODY: usize = 1024 * 1024;

/// The largest body a path takes.
#[must_use]
pub fn body_limit(path: &str) -> usize {
    if path == "/api/usage" { MAX_USAGE_BODY } else { MAX_BODY }
}

/// An outgoing response.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers (`content-type` included).
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
    /// Why it failed, for the log only (never sent).
    pub cause: Option<String>,
}

impl Response {
    /// A JSON response.
    #[must_use]
    pub fn json(status: u16, body: &Value) -> Self {
        Self::json_text(status, body.to_string())
    }
    /// A JSON response from already-serialized text.
    #[must_use]
    pub fn json_text(status: u16, body: String) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type".into(), "application/json; charset=utf-8".into()),
                ("cache-control".into(), "no-store".into()),
            ],
            body,
            cause: None,
        }
    }
    /// Sets (replaces) a header.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.retain(|(k, _)| k != name);
        self.headers.push((name.to_owned(), value.into()));
        self
    }
    /// A header's value.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// An empty response (`204`, `304`).
    #[must_use]
    pub fn empty(status: u16) -> Self {
        Self { status, headers: vec![], body: String::new(), cause: None }
    }
}

/// The value of a JSON body (for tests and tools).
#[must_use]
pub fn body_json(r: &Response) -> Value {
    serde_json::from_str(&r.body).unwrap_or(Value::Null)
}
