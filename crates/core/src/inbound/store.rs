//! SQL for inbound texts as they arrived.

use sqlx::FromRow;

use crate::Result;
use crate::db::Tx;

/// A text as the provider delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawText {
    pub provider: &'static str,
    pub provider_id: String,
    pub from: String,
    pub to: String,
    pub body: String,
}

/// Stores a batch with one statement; returns the provider ids that were new (a text the
/// provider sent before is left as it is).
pub async fn insert_batch(tx: &mut Tx, texts: &[&RawText], now: i64) -> Result<Vec<String>> {
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = String::from(
        "insert into inbound_texts (provider, provider_id, from_addr, to_addr, body, received_at) values ",
    );
    for i in 0..texts.len() {
        let n = i * 5;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${}, ${}, ${}, ${}, $1)", n + 2, n + 3, n + 4, n + 5, n + 6));
    }
    sql.push_str(" on conflict (provider, provider_id) do nothing returning provider_id");
    let mut q = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql)).bind(now);
    for t in texts {
        q = q.bind(t.provider).bind(&t.provider_id).bind(&t.from).bind(&t.to).bind(&t.body);
    }
    Ok(q.fetch_all(&mut **tx).await?.into_iter().map(|(id,)| id).collect())
}

#[derive(Debug, Clone, FromRow)]
pub struct StoredText {
    pub id: i64,
    pub provider: String,
    pub provider_id: String,
    pub from_addr: String,
    pub to_addr: String,
    pub body: String,
}

/// The oldest texts not routed yet, in arrival order.
pub async fn unrouted(tx: &mut Tx, limit: i64) -> Result<Vec<StoredText>> {
    Ok(sqlx::query_as(
        "select id, provider, provider_id, from_addr, to_addr, body from inbound_texts \
         where routed_at is null order by id limit $1",
    )
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

/// Marks texts routed, in one statement.
pub async fn mark_routed(tx: &mut Tx, ids: &[i64], now: i64) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = (0..ids.len()).map(|i| format!("${}", i + 2)).collect::<Vec<_>>().join(", ");
    let sql = format!("update inbound_texts set routed_at = $1 where id in ({list})");
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
    for id in ids {
        q = q.bind(*id);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Records why a text could not be routed (it stays stored as it arrived).
pub async fn set_route_error(tx: &mut Tx, id: i64, error: &str) -> Result<()> {
    sqlx::query("update inbound_texts set route_error = $2 where id = $1")
        .bind(id)
        .bind(error)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
