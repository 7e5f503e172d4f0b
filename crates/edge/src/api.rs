//! The HTTP surface as plain values: what the Worker glue converts to and from,
//! and what native tests drive directly.

use serde_json::{Map, Value, json};

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

/// An outgoing response.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers (`content-type` included).
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
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
}

/// An error as the client sees it: the Sign-Up API's `SignUpRequestError`
/// (`sessionId`, `error: true`, `message`) plus a stable `code` and the
/// `path` of the offending field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Stable machine-readable code (`INVALID_VALUE`, `SESSION_FINALIZED`, …).
    pub code: String,
    /// The field at fault (`quote.offerings[0].items[1].quantity`), or empty.
    pub path: String,
    /// A sentence for people.
    pub message: String,
    /// The session concerned, when one exists.
    pub session_id: Option<String>,
}

impl ApiError {
    /// A new error.
    #[must_use]
    pub fn new(status: u16, code: &str, path: &str, message: impl Into<String>) -> Self {
        Self { status, code: code.to_owned(), path: path.to_owned(), message: message.into(), session_id: None }
    }
    /// 400 with a field path.
    #[must_use]
    pub fn bad(code: &str, path: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, path, message)
    }
    /// 409: the request is valid but not in this state.
    #[must_use]
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::new(409, code, "", message)
    }
    /// 404.
    #[must_use]
    pub fn not_found(what: &str) -> Self {
        Self::new(404, "NOT_FOUND", "", format!("No {what} with that id."))
    }
    /// 500 whose details stay in the log.
    #[must_use]
    pub fn internal() -> Self {
        Self::new(500, "INTERNAL", "", "Something went wrong on our side; the request changed nothing. Retry it.")
    }
    /// 503: storage unavailable.
    #[must_use]
    pub fn storage() -> Self {
        Self::new(503, "STORAGE_UNAVAILABLE", "", "Storage is unavailable; nothing was changed. Retry shortly.")
    }
    /// Attaches the session id.
    #[must_use]
    pub fn for_session(mut self, id: &str) -> Self {
        self.session_id = Some(id.to_owned());
        self
    }
    /// From an engine error: 400 with its code and path, prefixed.
    #[must_use]
    pub fn from_engine(e: &pricing::Error, prefix: &str) -> Self {
        let path = match (prefix.is_empty(), e.path.is_empty()) {
            (true, _) => e.path.clone(),
            (false, true) => prefix.to_owned(),
            (false, false) => format!("{prefix}.{}", e.path),
        };
        Self::bad(e.code.as_str(), &path, e.message.clone())
    }
    /// The body.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(id) = &self.session_id {
            m.insert("sessionId".into(), json!(id));
        }
        m.insert("error".into(), json!(true));
        m.insert("code".into(), json!(self.code));
        m.insert("path".into(), json!(self.path));
        m.insert("message".into(), json!(self.message));
        Value::Object(m)
    }
    /// As a response.
    #[must_use]
    pub fn response(&self) -> Response {
        Response::json(self.status, &self.to_json())
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        match e {
            crate::db::DbError::Conflict(_) => {
                Self::conflict("CONFLICT", "Another request changed this at the same time; nothing was applied. Retry.")
            }
            crate::db::DbError::Other(_) => Self::storage(),
        }
    }
}

/// Result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
