//! `auth_failures`: failed attempts per client and minute (authentications;
//! promotion-code guesses under the client `code:<client>`).

use super::{Db, DbError, first, int};
use crate::stmt;

/// The failures of `client` in `minute` so far.
pub async fn count(db: &impl Db, client: &str, minute: &str) -> Result<i64, DbError> {
    let row =
        first(db, stmt!("SELECT count FROM auth_failures WHERE client = ?1 AND minute = ?2", client, minute)).await?;
    Ok(row.and_then(|r| int(&r, "count")).unwrap_or(0))
}

/// Counts one failure of `client` in `minute` (`YYYY-MM-DDTHH:MM`) and
/// answers the count so far; earlier minutes are let go.
pub async fn count_failure(db: &impl Db, client: &str, minute: &str) -> Result<i64, DbError> {
    let counted = first(
        db,
        stmt!(
            "INSERT INTO auth_failures (client, minute, count) VALUES (?1, ?2, 1) \
             ON CONFLICT (client, minute) DO UPDATE SET count = count + 1 RETURNING count",
            client,
            minute
        ),
    )
    .await;
    // Earlier minutes are let go (a failure here changes no answer).
    let _ = db.batch(vec![stmt!("DELETE FROM auth_failures WHERE minute < ?1", minute)]).await;
    Ok(counted?.and_then(|r| int(&r, "count")).unwrap_or(0))
}
