//! An account as answered, with its contacts and bill groups.

use serde_json::{Value, json};

use super::documents::money_json;
use crate::http::{ApiError, ApiResult};
use crate::store::Db;
use crate::store::accounts::{self, Account};

/// Whether a caller limited to `scope` (a customer token's account) may see `account`.
#[must_use]
pub fn within(scope: Option<&str>, account: Option<&str>) -> bool {
    scope.is_none_or(|s| Some(s) == account)
}

/// The account's own fields as answered.
#[must_use]
pub fn account_view(a: &Account) -> Value {
    json!({
        "id": a.id, "name": a.name, "customId": a.custom_id, "currency": a.currency,
        "billingAddress": a.billing_address, "creditBalance": money_json(a.credit_balance, &a.currency),
        "stripeCustomerId": a.stripe_customer_id,
        "defaultPaymentMethodId": a.default_payment_method_id, "createdAt": a.created_at,
    })
}

/// `GET /api/accounts/{id}`: the account visible to `scope`, else 404.
pub async fn view(db: &impl Db, id: &str, scope: Option<&str>) -> ApiResult<Value> {
    if !within(scope, Some(id)) {
        return Err(ApiError::not_found("account"));
    }
    let a = accounts::load(db, id).await?.ok_or_else(|| ApiError::not_found("account"))?;
    let mut v = account_view(&a);
    let contacts = accounts::contacts(db, id).await?;
    let groups = accounts::bill_groups(db, id).await?;
    if let Value::Object(m) = &mut v {
        m.insert(
            "contacts".into(),
            contacts.iter().map(|c| json!({ "id": c.id, "name": c.name, "email": c.email })).collect(),
        );
        m.insert(
            "billGroups".into(),
            groups
                .iter()
                .map(|g| {
                    json!({ "id": g.id, "autoEmailInvoice": g.auto_email_invoice,
                            "collectInvoiceBalanceAutomatically": g.collect_automatically })
                })
                .collect(),
        );
    }
    Ok(v)
}
