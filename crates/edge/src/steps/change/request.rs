//! A change request read into the service's types: the doc's schema (one
//! operation, or `operations`), plus `preview` and `evaluateApprovalRules`;
//! each operation's payload is the engine's to read.

use pricing::Action;
use serde_json::{Map, Value, json};

use crate::http::{ApiError, ApiResult};

/// What an amendment does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeAction {
    /// One of the doc's six actions, priced by the engine.
    Priced(Action),
    /// Extend a termed contract by a number of months.
    Renew,
    /// Move a termed contract's end by ± months.
    TermChange,
    /// The vendor moves a grandfathered contract to the current catalog.
    Reprice,
    /// A termed contract reached its end and was not renewed (billing run).
    TermEnd,
}

impl ChangeAction {
    /// The wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Priced(a) => a.as_str(),
            Self::Renew => "RENEW",
            Self::TermChange => "TERM_CHANGE",
            Self::Reprice => "REPRICE",
            Self::TermEnd => "TERM_END",
        }
    }

    /// A term action (RENEW, TERM_CHANGE): no invoice, only the end moves.
    #[must_use]
    pub const fn is_term(self) -> bool {
        matches!(self, Self::Renew | Self::TermChange)
    }
}

/// Term actions a request may name (beyond the doc).
const TERM_ACTIONS: [ChangeAction; 2] = [ChangeAction::Renew, ChangeAction::TermChange];

/// Most operations in one request.
pub const MAX_OPERATIONS: usize = 20;

/// A checked change request.
#[derive(Clone, Debug)]
pub struct ChangeRequest {
    /// The contract.
    pub contract_id: String,
    /// What the engine reads: one operation, or `{ operations: [...] }`.
    pub op: Value,
    /// The actions, in order.
    pub actions: Vec<ChangeAction>,
    /// Price only, save nothing.
    pub preview: bool,
    /// Evaluate the catalog's approval rules.
    pub evaluate_approval_rules: bool,
    /// The catalog version the new terms are priced on: a scheduled change's
    /// when it was quoted (what the customer was shown); `None`, the current.
    pub priced_on: Option<i64>,
}

impl ChangeRequest {
    /// The response's `action`: the action, or `MULTIPLE` for several operations.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self.actions.as_slice() {
            [one] => one.as_str(),
            _ => "MULTIPLE",
        }
    }

    /// The actions' wire names.
    #[must_use]
    pub fn action_names(&self) -> Value {
        json!(self.actions.iter().map(|a| a.as_str()).collect::<Vec<_>>())
    }
}

fn bad(code: &'static str, path: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad(code, path, message)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_owned() } else { format!("{prefix}.{key}") }
}

/// Checks one operation's envelope against the doc's JSON Schema (the payload's
/// insides are the engine's to check) and answers its action.
fn operation_envelope(o: &Map<String, Value>, prefix: &str, extra: &[&str]) -> ApiResult<ChangeAction> {
    let mut allowed = vec!["action", "effectiveDate", "relativeEffectiveDate", "payload"];
    allowed.extend_from_slice(extra);
    if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(bad(
            "UNKNOWN_FIELD",
            &join(prefix, k),
            format!("Unknown field '{}'.", k.chars().take(60).collect::<String>()),
        ));
    }
    let action = match o.get("action") {
        None | Some(Value::Null) => return Err(bad("MISSING_FIELD", &join(prefix, "action"), "action is required.")),
        Some(Value::String(a)) if Action::parse(a).is_some() => a.clone(),
        Some(Value::String(a)) if TERM_ACTIONS.iter().any(|t| t.as_str() == a) => return term_envelope(o, prefix, a),
        Some(_) => {
            let names = Action::ALL.iter().map(|a| a.as_str()).chain(TERM_ACTIONS.iter().map(|a| a.as_str()));
            let all = names.collect::<Vec<_>>().join(", ");
            return Err(bad("INVALID_VALUE", &join(prefix, "action"), format!("action must be one of {all}.")));
        }
    };
    for key in ["effectiveDate", "relativeEffectiveDate"] {
        if let Some(v) = o.get(key).filter(|v| !v.is_null())
            && !v.is_string()
        {
            return Err(bad("INVALID_VALUE", &join(prefix, key), format!("{key} must be a string.")));
        }
    }
    match o.get("payload") {
        None | Some(Value::Null) if action == "CANCELLATION" => {}
        None | Some(Value::Null) => {
            return Err(bad("MISSING_FIELD", &join(prefix, "payload"), format!("{action} needs a payload.")));
        }
        Some(Value::Object(p)) => {
            if !p.get("offerings").is_some_and(Value::is_array) && action != "CANCELLATION" {
                let path = join(prefix, "payload.offerings");
                return Err(bad("MISSING_FIELD", &path, "payload.offerings (an array) is required."));
            }
        }
        Some(_) if action == "CANCELLATION" => {
            return Err(bad("INVALID_VALUE", &join(prefix, "payload"), "CANCELLATION takes no payload (null)."));
        }
        Some(_) => return Err(bad("INVALID_VALUE", &join(prefix, "payload"), "payload must be an object.")),
    }
    Ok(Action::parse(&action).map_or(ChangeAction::Reprice, ChangeAction::Priced))
}

/// RENEW / TERM_CHANGE: a request of their own, `payload.months` a whole number
/// (RENEW: ≥ 1, default the rate's term; TERM_CHANGE: ± months, not zero).
fn term_envelope(o: &Map<String, Value>, prefix: &str, a: &str) -> ApiResult<ChangeAction> {
    if !prefix.is_empty() {
        return Err(bad("INVALID_VALUE", &join(prefix, "action"), format!("{a} is a request of its own.")));
    }
    let months = o.get("payload").and_then(|p| p.get("months")).filter(|m| !m.is_null());
    let max = i64::from(pricing::MAX_TERM_MONTHS);
    let ok = match months.map(Value::as_i64) {
        None => a == "RENEW",
        Some(Some(m)) if a == "RENEW" => (1..=max).contains(&m),
        Some(Some(m)) => m != 0 && m.abs() <= max,
        Some(None) => false,
    };
    if !ok {
        return Err(bad(
            "INVALID_VALUE",
            "payload.months",
            format!("{a} takes payload.months: a whole number of months (RENEW: at least 1, default the rate's term)."),
        ));
    }
    Ok(if a == "RENEW" { ChangeAction::Renew } else { ChangeAction::TermChange })
}

/// Reads a change request: the doc's schema, plus `preview`,
/// `evaluateApprovalRules` and `operations`.
pub fn parse(v: &Value) -> ApiResult<ChangeRequest> {
    let o = v.as_object().ok_or_else(|| bad("INVALID_VALUE", "", "The body must be a JSON object."))?;
    // With operations, the contract may be named on each operation instead (all the same one).
    let first_op_contract = o
        .get("operations")
        .and_then(Value::as_array)
        .and_then(|l| l.first())
        .and_then(|op| op.get("contractId"))
        .filter(|c| !c.is_null());
    let contract_id = match o.get("contractId").filter(|c| !c.is_null()).or(first_op_contract) {
        None => return Err(bad("MISSING_FIELD", "contractId", "contractId is required.")),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 100 => s.clone(),
        Some(_) => return Err(bad("INVALID_VALUE", "contractId", "contractId must be a contract id.")),
    };
    let flag = |key: &str| match o.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(bad("INVALID_VALUE", key, format!("{key} must be true or false."))),
    };
    let preview = flag("preview")?;
    let evaluate_approval_rules = flag("evaluateApprovalRules")?;
    let extras = ["contractId", "preview", "evaluateApprovalRules"];
    let mut engine_op = o.clone();
    for k in extras {
        engine_op.remove(k);
    }
    let actions = match o.get("operations") {
        Some(list) => {
            if let Some(k) =
                ["action", "payload", "effectiveDate", "relativeEffectiveDate"].iter().find(|k| o.contains_key(**k))
            {
                return Err(bad(
                    "INVALID_FIELD",
                    k,
                    "With operations, each operation carries its own action, payload and date.",
                ));
            }
            if let Some(k) = o.keys().find(|k| !extras.contains(&k.as_str()) && k.as_str() != "operations") {
                return Err(bad(
                    "UNKNOWN_FIELD",
                    k,
                    format!("Unknown field '{}'.", k.chars().take(60).collect::<String>()),
                ));
            }
            let list =
                list.as_array().ok_or_else(|| bad("INVALID_VALUE", "operations", "operations must be an array."))?;
            if list.is_empty() || list.len() > MAX_OPERATIONS {
                return Err(bad(
                    "INVALID_VALUE",
                    "operations",
                    format!("operations holds 1 to {MAX_OPERATIONS} operations."),
                ));
            }
            let mut actions = Vec::with_capacity(list.len());
            for (k, op) in list.iter().enumerate() {
                let prefix = format!("operations[{k}]");
                let op = op.as_object().ok_or_else(|| bad("INVALID_VALUE", &prefix, "Each operation is an object."))?;
                if let Some(c) = op.get("contractId").filter(|c| !c.is_null())
                    && c.as_str() != Some(contract_id.as_str())
                {
                    let path = format!("{prefix}.contractId");
                    return Err(bad("INVALID_VALUE", &path, "All operations change the same contract."));
                }
                actions.push(operation_envelope(op, &prefix, &["contractId"])?);
            }
            actions
        }
        None => vec![operation_envelope(o, "", &extras)?],
    };
    Ok(ChangeRequest {
        contract_id,
        op: Value::Object(engine_op),
        actions,
        preview,
        evaluate_approval_rules,
        priced_on: None,
    })
}

/// An approved change whose explicit date passed while it waited takes effect today.
pub fn roll_forward(op: &mut Value, today: pricing::NaiveDate) {
    let fix = |o: &mut Map<String, Value>| {
        if let Some(Value::String(d)) = o.get("effectiveDate")
            && pricing::parse_date_time_date(d).or_else(|| pricing::parse_date(d)).is_some_and(|d| d < today)
        {
            o.insert("effectiveDate".into(), json!(today.to_string()));
        }
    };
    if let Value::Object(m) = op {
        if let Some(Value::Array(list)) = m.get_mut("operations") {
            for o in list.iter_mut().filter_map(Value::as_object_mut) {
                fix(o);
            }
        } else {
            fix(m);
        }
    }
}
