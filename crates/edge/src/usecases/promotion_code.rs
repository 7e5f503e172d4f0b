//! `GET /api/selfService/promotionCodes/{code}` (publishable key): what a
//! code gives, for a page to re-price before checkout; or why not (unknown
//! or inactive 404, expired 410, used up 409). An unknown code counts
//! against the client's guess budget (429 past it, for any code).

use serde_json::Value;

use crate::http::{ApiError, ApiResult};
use crate::steps::catalogs;
use crate::steps::promotion::{self, Refusal};
use crate::store::Db;
use crate::{Config, Now};

/// The code's coupon terms.
pub async fn run(db: &impl Db, config: &Config, code: &str, client: &str, now: &Now) -> ApiResult<Value> {
    const PATH: &str = "code";
    promotion::within_budget(db, config, client, now).await?;
    let (published, catalog) = catalogs::current_shared(db, now.millis()).await?;
    let codes = promotion::codes_of(&published, &catalog);
    let Some(found) = promotion::find(&codes, code) else {
        promotion::count_guess(db, client, now).await?;
        return Err(Refusal::Invalid.error(PATH, 404));
    };
    if let Err(refusal) = promotion::usable(db, found, now.today).await? {
        return Err(refusal.error(PATH, 404));
    }
    let coupon = catalog
        .coupons
        .iter()
        .find(|c| *c.id == *found.coupon_id)
        .ok_or_else(|| ApiError::internal(format_args!("code {} names no coupon", found.key)))?;
    Ok(promotion::terms(found, coupon))
}
