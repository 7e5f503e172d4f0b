//! Lists paginated by cursor: newest first, the cursor the last row's
//! creation time and id, opaque to clients.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::http::{ApiError, ApiResult};

/// Rows in a page when none is asked for.
pub const DEFAULT_LIMIT: i64 = 20;
/// The largest page.
pub const MAX_LIMIT: i64 = 100;

/// A page asked for: its size, and where the last one ended (time and id).
#[derive(Clone, Debug)]
pub struct PageRequest {
    /// Rows wanted.
    pub limit: i64,
    /// Rows created before this time (or at it, with a smaller id).
    pub before_at: String,
    /// See `before_at`.
    pub before_id: String,
}

impl PageRequest {
    /// Rows to read: one more than the page, to know if another follows.
    #[must_use]
    pub fn read(&self) -> i64 {
        self.limit.saturating_add(1)
    }
}

/// Reads `limit` and `cursor` from the query string.
pub fn page_params(limit: Option<&str>, cursor: Option<&str>) -> ApiResult<PageRequest> {
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| ApiError::bad("INVALID_VALUE", "limit", format!("limit is 1 to {MAX_LIMIT}.")))?,
    };
    let cursor = match cursor {
        None | Some("") => None,
        Some(c) => {
            let text = B64.decode(c).ok().and_then(|b| String::from_utf8(b).ok());
            let pair = text.as_deref().and_then(|t| t.split_once('|')).map(|(a, b)| (a.to_owned(), b.to_owned()));
            Some(pair.ok_or_else(|| ApiError::bad("INVALID_VALUE", "cursor", "cursor is not one this API gave out."))?)
        }
    };
    let (at, last) = cursor.unwrap_or_else(|| ("9999".into(), String::new()));
    let last = if last.is_empty() { "\u{10ffff}".to_owned() } else { last };
    Ok(PageRequest { limit, before_at: at, before_id: last })
}

/// `{ data, nextCursor }` from rows read with [`PageRequest::read`];
/// `key` answers a row's creation time and id.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> Option<(String, String)>,
    view: impl Fn(&T) -> Value,
) -> Value {
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = if more { rows.last().and_then(&key).map(|(at, id)| B64.encode(format!("{at}|{id}"))) } else { None };
    json!({ "data": rows.iter().map(view).collect::<Vec<_>>(), "nextCursor": next })
}
