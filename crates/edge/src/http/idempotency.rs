//! `Idempotency-Key` on POST and PATCH: a retry under the same key gets the
//! first answer (`Idempotent-Replayed: true`), never a second effect.

use sha2::{Digest, Sha256};

use super::auth::Principal;
use super::{ApiError, ApiResult, Request, Response};
use crate::Now;
use crate::store::{Db, DbError, idempotency};

/// How long an unfinished Idempotency-Key blocks others (a request that died mid-way).
const IDEMPOTENCY_LOCK_SECONDS: i64 = 60;

/// Runs `run` once under `key`: claims the key first, answers a stored
/// answer again, and keeps the new answer when final.
pub async fn once<F>(
    db: &impl Db,
    req: &Request,
    now: &Now,
    principal: &Principal,
    key: &str,
    run: F,
) -> ApiResult<Response>
where
    F: Future<Output = ApiResult<Response>>,
{
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(ApiError::bad(
            "INVALID_VALUE",
            "Idempotency-Key",
            "Idempotency-Key is 1 to 255 printable ASCII characters.",
        ));
    }
    let mut hasher = Sha256::new();
    hasher.update(req.method.as_bytes());
    hasher.update(b"\n");
    hasher.update(req.path.as_bytes());
    hasher.update(b"\n");
    hasher.update(&req.body);
    let hash: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let who_owned = principal.idempotency_scope();
    let who = who_owned.as_str();
    let mut claim = Vec::new();
    if let Some(stored) = idempotency::find(db, who, key).await? {
        if stored.request_hash != hash {
            return Err(ApiError::new(
                422,
                "IDEMPOTENCY_KEY_REUSED",
                "Idempotency-Key",
                "This Idempotency-Key was used with a different request; use a new key for a new request.",
            ));
        }
        if stored.status > 0 {
            let status = u16::try_from(stored.status).unwrap_or(500);
            return Ok(Response::json_text(status, stored.body).with_header("idempotent-replayed", "true"));
        }
        let stale = chrono::NaiveDateTime::parse_from_str(&stored.created_at, "%Y-%m-%dT%H:%M:%SZ")
            .is_ok_and(|t| now.at.signed_duration_since(t).num_seconds() > IDEMPOTENCY_LOCK_SECONDS);
        if !stale {
            return Err(in_use());
        }
        claim.push(idempotency::drop_stale(who, key, &stored.created_at));
    }
    claim.push(idempotency::claim(who, key, &hash, &now.instant));
    match db.batch(claim).await {
        Ok(()) => {}
        Err(DbError::Conflict(_)) => return Err(in_use()),
        Err(e) => return Err(e.into()),
    }
    let response = match run.await {
        Ok(r) => r,
        Err(e) => e.response(),
    };
    // Like Stripe: a result is kept only for a request that ran (a success, or a
    // charge declined). A request refused before doing anything (bad input, no
    // such object), a conflict, and failures on our side or Stripe's are not
    // final: the key is freed, so a corrected retry under it goes through.
    let keep = response.status < 300 || response.status == 402;
    let finish = if keep {
        idempotency::keep(who, key, response.status, &response.body)
    } else {
        idempotency::release(who, key)
    };
    // If this write fails the key stays locked until it goes stale; the answer stands.
    let _ = db.batch(vec![finish]).await;
    Ok(response)
}

fn in_use() -> ApiError {
    ApiError::conflict(
        "IDEMPOTENCY_KEY_IN_USE",
        "A request with this Idempotency-Key is still being processed; retry shortly.",
    )
}
