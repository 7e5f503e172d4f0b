//! Errors as the client sees them, each keeping its cause for the log.

use serde_json::{Map, Value, json};

use super::Response;
use crate::store::DbError;

/// An error as the client sees it: the Sign-Up API's `SignUpRequestError`
/// (`sessionId`, `error: true`, `message`) plus a stable `code` and the
/// `path` of the offending field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Stable machine-readable code (`INVALID_VALUE`, `SESSION_FINALIZED`, …).
    pub code: &'static str,
    /// The field at fault (`quote.offerings[0].items[1].quantity`), or empty.
    pub path: String,
    /// A sentence for people.
    pub message: String,
    /// The session concerned, when one exists.
    pub session_id: Option<String>,
    /// What went wrong underneath (a storage or Stripe error, a stored row
    /// that does not read): logged, never sent.
    pub cause: Option<String>,
}

impl ApiError {
    /// A new error.
    #[must_use]
    pub fn new(status: u16, code: &'static str, path: &str, message: impl Into<String>) -> Self {
        Self { status, code, path: path.to_owned(), message: message.into(), session_id: None, cause: None }
    }
    /// 400 with a field path.
    #[must_use]
    pub fn bad(code: &'static str, path: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, path, message)
    }
    /// 409: the request is valid but not in this state.
    #[must_use]
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(409, code, "", message)
    }
    /// 404.
    #[must_use]
    pub fn not_found(what: &str) -> Self {
        Self::new(404, "NOT_FOUND", "", format!("No {what} with that id."))
    }
    /// 500 whose details stay in the log.
    #[must_use]
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::new(500, "INTERNAL", "", "Something went wrong on our side; the request changed nothing. Retry it.")
            .because(cause)
    }
    /// Keeps what went wrong underneath, for the log.
    #[must_use]
    pub fn because(mut self, cause: impl std::fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
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
    /// From a Stripe error: 502 when Stripe could not be reached, 402 for a
    /// declined card, 400 at `token_path` for a token Stripe refused.
    #[must_use]
    pub fn from_stripe(e: crate::stripe::StripeError, token_path: &str) -> Self {
        use crate::stripe::StripeError;
        let cause = e.to_string();
        match e {
            StripeError::Unavailable(_) => Self::new(
                502,
                "PAYMENT_PROVIDER_UNAVAILABLE",
                "",
                "The payment provider (Stripe) could not be reached or failed; nothing was changed. Retry the request.",
            ),
            StripeError::Declined { message, .. } => Self::new(402, "PAYMENT_DECLINED", "paymentMethod", message),
            StripeError::Rejected { message, .. } => {
                Self::bad("INVALID_PAYMENT_TOKEN", token_path, format!("Stripe refused the payment token: {message}"))
            }
        }
        .because(cause)
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
        let mut r = Response::json(self.status, &self.to_json());
        r.cause.clone_from(&self.cause);
        r
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        let cause = e.to_string();
        match e {
            DbError::Conflict(_) => {
                Self::conflict("CONFLICT", "Another request changed this at the same time; nothing was applied. Retry.")
            }
            DbError::Other(_) => Self::storage(),
            DbError::Unreadable(u) => Self::new(
                500,
                "STORED_DATA_UNREADABLE",
                &u.column,
                "A stored value could not be read; nothing was changed. The operator's log names the row.",
            ),
        }
        .because(cause)
    }
}

/// Result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl std::fmt::Display for ApiError {
    /// What the log shows: status, code, path, message and the cause.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} at '{}': {}", self.status, self.code, self.path, self.message)?;
        match &self.cause {
            Some(cause) => write!(f, " (cause: {cause})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for ApiError {}
