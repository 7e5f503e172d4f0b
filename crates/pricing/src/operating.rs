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

/// Dunning's retries when the catalog names none: 1, 3 and 5 days after the first failure.
pub const DEFAULT_RETRY_DAYS: [u32; 3] = [1, 3, 5];

/// The longest a retry may wait after the first failure, in days.
const MAX_RETRY_DAY: i64 = 60;
/// The most retries.
const MAX_RETRIES: usize = 10;

/// How the vendor operates the contracts sold on a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operations {
    /// Contract actions that wait for review (`approvalRules.requireReview`).
    pub require_review: Vec<Action>,
    /// Days after the first failed charge on which dunning retries, ascending.
    pub retry_days: Vec<u32>,
    /// Termed contracts renew at their end unless they say otherwise.
    pub auto_renew: bool,
}

impl Default for Operations {
    fn default() -> Self {
        Self { require_review: Vec::new(), retry_days: DEFAULT_RETRY_DAYS.to_vec(), auto_renew: false }
    }
}

/// Reads the operating settings of `settings`.
pub(crate) fn operations(settings: &Map<String, Value>) -> Result<Operations> {
    let auto_renew = match DOC.field(settings, "autoRenew") {
        None => false,
        Some(v) => v.as_bool().ok_or_else(|| DOC.invalid("settings.autoRenew", "autoRenew is true or false"))?,
    };
    Ok(Operations { require_review: require_review(settings)?, retry_days: retry_days(settings)?, auto_renew })
}

fn require_review(settings: &Map<String, Value>) -> Result<Vec<Action>> {
    const PATH: &str = "settings.approvalRules";
    let Some(rules) = DOC.field(settings, "approvalRules") else { return Ok(Vec::new()) };
    let obj = rules.as_object().ok_or_else(|| DOC.invalid(PATH, "approvalRules must be an object"))?;
    if let Some(k) = obj.keys().find(|k| k.as_str() != "requireReview") {
        return Err(DOC.invalid(&format!("{PATH}.{k}"), "the only approval rule is requireReview"));
    }
    let Some(list) = DOC.field(obj, "requireReview") else { return Ok(Vec::new()) };
    let list = list
        .as_array()
        .ok_or_else(|| DOC.invalid(&format!("{PATH}.requireReview"), "requireReview is a list of actions"))?;
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            a.as_str()
                .and_then(Action::parse)
                .ok_or_else(|| DOC.invalid(&format!("{PATH}.requireReview[{i}]"), "not a contract action"))
        })
        .collect()
}

fn retry_days(settings: &Map<String, Value>) -> Result<Vec<u32>> {
    let Some(d) = DOC.field(settings, "dunning") else { return Ok(DEFAULT_RETRY_DAYS.to_vec()) };
    let days = d
        .get("retryDays")
        .and_then(Value::as_array)
        .ok_or_else(|| DOC.invalid("settings.dunning.retryDays", "retryDays is a list of days"))?;
    let mut out: Vec<u32> = Vec::with_capacity(days.len());
    for (i, v) in days.iter().enumerate() {
        let last = out.last().map_or(0, |l| i64::from(*l));
        match v.as_i64().filter(|n| *n > last && *n <= MAX_RETRY_DAY && i < MAX_RETRIES) {
            Some(n) => out.push(u32::try_from(n).unwrap_or(0)),
            None => {
                let path = format!("settings.dunning.retryDays[{i}]");
                return Err(DOC.invalid(&path, "ascending whole days from 1 to 60, at most 10"));
            }
        }
    }
    Ok(out)
}
