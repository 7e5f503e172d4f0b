//! The catalog's operating settings: which contract changes wait for the
//! vendor's review (`settings.approvalRules`), when dunning retries a failed
//! charge (`settings.dunning`), and whether termed contracts renew
//! (`settings.autoRenew`). The engine validates them with the rest of the
//! catalog; the API applies them.

use serde_json::{Map, Value};

use crate::action::Action;
use crate::error::Result;
use crate::json::Doc;

const DOC: Doc = Doc::Catalog;

/// The longest a retry may wait after the first failure, in days.
const MAX_RETRY_DAY: i64 = 60;
/// The most retries.
const MAX_RETRIES: usize = 10;

/// Dunning's retries when the catalog names none: 1, 3 and 5 days after the first failure.
pub const DEFAULT_RETRY_DAYS: [i64; 3] = [1, 3, 5];

/// How the vendor operates the contracts sold on a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operations {
    /// Contract actions that wait for review (`approvalRules.requireReview`).
    pub require_review: Vec<Action>,
    /// Days after the first failed charge on which dunning retries: ascending,
    /// 1 to 60, at most 10 (`dunning.retryDays`).
    pub retry_days: Vec<i64>,
    /// Termed contracts renew at their end unless they say otherwise (`autoRenew`).
    pub auto_renew: bool,
}

impl Default for Operations {
    fn default() -> Self {
        Self { require_review: Vec::new(), retry_days: DEFAULT_RETRY_DAYS.to_vec(), auto_renew: false }
    }
}

/// Reads the operating settings of `settings`.
pub(crate) fn operations(settings: &Map<String, Value>) -> Result<Operations> {
    let mut ops = Operations::default();
    if let Some(v) = DOC.field(settings, "autoRenew") {
        ops.auto_renew = DOC.boolean(v, "settings.autoRenew")?;
    }
    if let Some(rules) = DOC.field(settings, "approvalRules") {
        let rules = DOC.object(rules, "settings.approvalRules")?;
        if let Some(k) = rules.keys().find(|k| k.as_str() != "requireReview") {
            return Err(DOC.invalid(&format!("settings.approvalRules.{k}"), "the only approval rule is requireReview"));
        }
        if let Some(list) = DOC.field(rules, "requireReview") {
            for (i, a) in DOC.array(list, "settings.approvalRules.requireReview")?.iter().enumerate() {
                let action = a.as_str().and_then(Action::parse);
                let path = || format!("settings.approvalRules.requireReview[{i}]");
                ops.require_review.push(action.ok_or_else(|| DOC.invalid(&path(), "not a contract action"))?);
            }
        }
    }
    if let Some(dunning) = DOC.field(settings, "dunning") {
        let days = dunning
            .get("retryDays")
            .and_then(Value::as_array)
            .ok_or_else(|| DOC.invalid("settings.dunning.retryDays", "retryDays is a list of days"))?;
        ops.retry_days.clear();
        for (i, v) in days.iter().enumerate() {
            let last = ops.retry_days.last().copied().unwrap_or(0);
            match v.as_i64() {
                Some(n) if n > last && n <= MAX_RETRY_DAY && i < MAX_RETRIES => ops.retry_days.push(n),
                _ => {
                    let path = format!("settings.dunning.retryDays[{i}]");
                    return Err(DOC.invalid(&path, "ascending whole days from 1 to 60, at most 10"));
                }
            }
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(settings: serde_json::Value) -> Result<Operations> {
        operations(settings.as_object().unwrap_or(&Map::new()))
    }

    #[test]
    fn defaults_and_valid_settings() {
        assert_eq!(read(json!({})).ok(), Some(Operations::default()));
        let ops = read(json!({ "autoRenew": true, "approvalRules": { "requireReview": ["CANCELLATION"] },
                               "dunning": { "retryDays": [2, 7] } }));
        assert_eq!(
            ops.ok(),
            Some(Operations { require_review: vec![Action::Cancellation], retry_days: vec![2, 7], auto_renew: true })
        );
    }

    #[test]
    fn each_bad_setting_names_its_path() {
        for (settings, path) in [
            (json!({ "autoRenew": "yes" }), "settings.autoRenew"),
            (json!({ "approvalRules": [] }), "settings.approvalRules"),
            (json!({ "approvalRules": { "other": 1 } }), "settings.approvalRules.other"),
            (json!({ "approvalRules": { "requireReview": "CANCELLATION" } }), "settings.approvalRules.requireReview"),
            (json!({ "approvalRules": { "requireReview": ["RENEW"] } }), "settings.approvalRules.requireReview[0]"),
            (json!({ "dunning": {} }), "settings.dunning.retryDays"),
            (json!({ "dunning": { "retryDays": [3, 3] } }), "settings.dunning.retryDays[1]"),
            (json!({ "dunning": { "retryDays": [61] } }), "settings.dunning.retryDays[0]"),
            (
                json!({ "dunning": { "retryDays": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] } }),
                "settings.dunning.retryDays[10]",
            ),
        ] {
            let e = read(settings.clone()).err();
            assert_eq!(
                e.as_ref().map(|e| (e.code.as_str(), e.path.as_str())),
                Some(("INVALID_CATALOG", path)),
                "{settings}"
            );
        }
    }
}
