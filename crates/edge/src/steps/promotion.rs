//! Promotion codes (`promotionCodes` of a published catalog): the vendor's
//! secret codes for its coupons. The engine prices a `couponId`; codes, their
//! limits and their secrecy are the API's. Codes compare case-insensitively.

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use crate::http::{ApiError, ApiResult};
use crate::store::catalogs::Published;
use crate::store::{Db, promotions, throttle};
use crate::{Config, Now};

/// One code of the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromotionCode {
    /// As the vendor wrote it.
    pub code: String,
    /// Lower case: what is compared and counted.
    pub key: String,
    /// The coupon it redeems.
    pub coupon_id: String,
    /// Redemptions allowed, across catalog versions.
    pub max_redemptions: Option<i64>,
    /// The last UTC day on which FINALIZE may redeem it.
    pub expires_on: Option<NaiveDate>,
    /// Off: unknown to visitors.
    pub active: bool,
    /// Only for an email or customId without a contract yet.
    pub first_time_only: bool,
}

/// The comparison key of a code.
#[must_use]
pub fn key(code: &str) -> String {
    code.trim().to_lowercase()
}

fn invalid(path: &str, message: &str) -> ApiError {
    ApiError::bad("INVALID_CATALOG", path, message.to_owned())
}

/// Reads and checks `promotionCodes` of a catalog (at publish): each `code`
/// 1 to 64 characters and unique (in any case), `couponId` one of
/// `coupons`; errors `INVALID_CATALOG` at `promotionCodes[i].…`.
pub fn read_all(catalog: &Value, coupons: &[pricing::Coupon]) -> ApiResult<Vec<PromotionCode>> {
    let Some(list) = catalog.get("promotionCodes").filter(|v| !v.is_null()) else { return Ok(Vec::new()) };
    let list = list.as_array().ok_or_else(|| invalid("promotionCodes", "promotionCodes is a list"))?;
    let mut out: Vec<PromotionCode> = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let at = |k: &str| format!("promotionCodes[{i}].{k}");
        let o = v.as_object().ok_or_else(|| invalid(&format!("promotionCodes[{i}]"), "each code is an object"))?;
        let code = o
            .get("code")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|c| !c.is_empty() && c.chars().count() <= 64 && !c.chars().any(char::is_control))
            .ok_or_else(|| invalid(&at("code"), "code is 1 to 64 characters"))?;
        if out.iter().any(|p| p.key == key(code)) {
            return Err(invalid(&at("code"), "codes are unique, whatever their case"));
        }
        let coupon_id = o
            .get("couponId")
            .and_then(Value::as_str)
            .filter(|id| coupons.iter().any(|c| &*c.id == *id))
            .ok_or_else(|| invalid(&at("couponId"), "couponId names a coupon of the catalog"))?;
        let max_redemptions = match o.get("maxRedemptions").filter(|v| !v.is_null()) {
            None => None,
            Some(m) => Some(
                m.as_i64()
                    .filter(|m| *m >= 1)
                    .ok_or_else(|| invalid(&at("maxRedemptions"), "maxRedemptions is a whole number from 1"))?,
            ),
        };
        let expires_on = match o.get("expiresOn").filter(|v| !v.is_null()) {
            None => None,
            Some(d) => Some(
                d.as_str()
                    .and_then(pricing::parse_date)
                    .ok_or_else(|| invalid(&at("expiresOn"), "expiresOn is a date YYYY-MM-DD"))?,
            ),
        };
        let flag = |k: &str, default: bool| match o.get(k).filter(|v| !v.is_null()) {
            None => Ok(default),
            Some(b) => b.as_bool().ok_or_else(|| invalid(&at(k), "true or false")),
        };
        out.push(PromotionCode {
            code: code.to_owned(),
            key: key(code),
            coupon_id: coupon_id.to_owned(),
            max_redemptions,
            expires_on,
            active: flag("active", true)?,
            first_time_only: flag("firstTimeOnly", false)?,
        });
    }
    Ok(out)
}

/// The catalog text a publishable key sees: without its promotion codes
/// (`None` when it has none: the stored text as it is).
#[must_use]
pub fn public_text(body: &str) -> Option<String> {
    let mut v: Map<String, Value> = serde_json::from_str(body).ok()?;
    v.remove("promotionCodes")?;
    Some(Value::Object(v).to_string())
}

/// Why a code cannot be used now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown or inactive.
    Invalid,
    /// Past its `expiresOn`.
    Expired,
    /// `maxRedemptions` reached.
    Exhausted,
    /// `firstTimeOnly`, and the email or customId already has a contract.
    NotEligible,
}

impl Refusal {
    /// As the client sees it at `path`; an unknown code is `invalid_status`
    /// (404 for a lookup, 400 in a sign-up).
    #[must_use]
    pub fn error(self, path: &str, invalid_status: u16) -> ApiError {
        match self {
            Self::Invalid => {
                ApiError::new(invalid_status, "PROMOTION_CODE_INVALID", path, "This promotion code is not valid.")
            }
            Self::Expired => ApiError::new(410, "PROMOTION_CODE_EXPIRED", path, "This promotion code has expired."),
            Self::Exhausted => {
                ApiError::new(409, "PROMOTION_CODE_EXHAUSTED", path, "This promotion code has been used up.")
            }
            Self::NotEligible => ApiError::new(
                409,
                "PROMOTION_CODE_NOT_ELIGIBLE",
                path,
                "This promotion code is for new customers only.",
            ),
        }
    }
}

/// The active code `code` names among `codes`, if any.
#[must_use]
pub fn find<'a>(codes: &'a [PromotionCode], code: &str) -> Option<&'a PromotionCode> {
    let k = key(code);
    codes.iter().find(|p| p.key == k && p.active)
}

/// Whether the code can be redeemed on `today` (not expired, not used up).
pub async fn usable(db: &impl Db, code: &PromotionCode, today: NaiveDate) -> ApiResult<Result<(), Refusal>> {
    if code.expires_on.is_some_and(|last| today > last) {
        return Ok(Err(Refusal::Expired));
    }
    if let Some(max) = code.max_redemptions
        && promotions::redemptions(db, &code.key).await? >= max
    {
        return Ok(Err(Refusal::Exhausted));
    }
    Ok(Ok(()))
}

/// The coupon terms a code gives, as a lookup answers them.
#[must_use]
pub fn terms(code: &PromotionCode, coupon: &pricing::Coupon) -> Value {
    let (duration, months) = match coupon.duration {
        pricing::CouponDuration::Once => ("ONCE", None),
        pricing::CouponDuration::Repeating(m) => ("REPEATING", Some(m)),
        pricing::CouponDuration::Forever => ("FOREVER", None),
    };
    json!({
        "code": code.code, "expiresOn": code.expires_on.map(|d| d.to_string()), "firstTimeOnly": code.first_time_only,
        "coupon": {
            "id": &*coupon.id, "name": coupon.name,
            "percentOff": serde_json::Number::from_string_unchecked(coupon.percent_off.to_string()),
            "duration": duration, "durationMonths": months,
            "appliesTo": coupon.applies_to.as_ref().map(|ids| ids.iter().map(|i| i.to_string()).collect::<Vec<_>>()),
            "redeemBy": coupon.redeem_by.map(|d| d.to_string()),
        }
    })
}

/// The codes of a published catalog (validated when it was published).
#[must_use]
pub fn codes_of(published: &Published, catalog: &pricing::Catalog) -> Vec<PromotionCode> {
    let body: Value = serde_json::from_str(&published.body).unwrap_or(Value::Null);
    read_all(&body, &catalog.coupons).unwrap_or_default()
}

fn guesses(client: &str) -> String {
    format!("code:{client}")
}

fn minute(now: &Now) -> String {
    now.at.format("%Y-%m-%dT%H:%M").to_string()
}

/// Guessing must not pay: a client past its budget of unknown or inactive
/// codes this minute gets 429 (`Retry-After`) for any code, valid or not, so
/// that no answer tells a guesser which codes exist.
pub async fn within_budget(db: &impl Db, config: &Config, client: &str, now: &Now) -> ApiResult<()> {
    if throttle::count(db, &guesses(client), &minute(now)).await? >= config.promotion_code_guesses_per_minute {
        return Err(ApiError::new(
            429,
            "TOO_MANY_PROMOTION_CODE_GUESSES",
            "",
            "Too many unknown promotion codes from this client; wait a minute (Retry-After).",
        ));
    }
    Ok(())
}

/// Counts an unknown or inactive code against the client's budget.
pub async fn count_guess(db: &impl Db, client: &str, now: &Now) -> ApiResult<()> {
    throttle::count_failure(db, &guesses(client), &minute(now)).await?;
    Ok(())
}

/// A sign-up quote with its `promotionCode` resolved: the quote the engine
/// prices (the code's `couponId` set, `promotionCode` removed) and the code.
/// Refused codes are errors at `quote.promotionCode`; with `client`, an
/// unknown one counts against its budget. `customer` (its email and
/// customId) decides `firstTimeOnly`.
#[allow(clippy::too_many_arguments)]
pub async fn resolve(
    db: &impl Db,
    config: &Config,
    published: &Published,
    catalog: &pricing::Catalog,
    quote: &Value,
    customer: Option<&Value>,
    client: Option<&str>,
    now: &Now,
) -> ApiResult<(Value, Option<PromotionCode>)> {
    const PATH: &str = "quote.promotionCode";
    let Some(named) = quote.get("promotionCode").and_then(Value::as_str) else { return Ok((quote.clone(), None)) };
    if let Some(client) = client {
        within_budget(db, config, client, now).await?;
    }
    let codes = codes_of(published, catalog);
    let Some(code) = find(&codes, named) else {
        if let Some(client) = client {
            count_guess(db, client, now).await?;
        }
        return Err(Refusal::Invalid.error(PATH, 400));
    };
    if let Err(refusal) = usable(db, code, now.today).await? {
        return Err(refusal.error(PATH, 400));
    }
    if let Some(other) = quote.get("couponId").and_then(Value::as_str).filter(|c| *c != code.coupon_id) {
        return Err(ApiError::bad(
            "INVALID_VALUE",
            PATH,
            format!(
                "The code redeems another coupon than quote.couponId '{}': name one.",
                other.chars().take(60).collect::<String>()
            ),
        ));
    }
    if code.first_time_only {
        let email = customer.and_then(|c| c.get("email")).and_then(Value::as_str);
        let custom_id = customer.and_then(|c| c.get("customId")).and_then(Value::as_str).map(crate::custom_ids::key);
        if promotions::has_contract(db, email, custom_id.as_deref()).await? {
            return Err(Refusal::NotEligible.error(PATH, 400));
        }
    }
    let mut priced = quote.clone();
    if let Value::Object(m) = &mut priced {
        m.remove("promotionCode");
        m.insert("couponId".into(), json!(code.coupon_id));
    }
    Ok((priced, Some(code.clone())))
}
