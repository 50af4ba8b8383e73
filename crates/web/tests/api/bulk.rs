//! Rows and lists bound as one JSON parameter (`switchboard_core::db::bulk`) read back
//! exactly as written, on the database under test: every awkward text, the largest ids,
//! NULLs, and the same statement text for one row as for many.

use crate::helpers::FreshDb;
use switchboard_core::db::{Db, bulk};

const AWKWARD: [&str; 9] = [
    "O'Brien said \"hi\"",
    "back\\slash and a trailing \\",
    "line one\nline two\ttabbed\r\n",
    "Zoë, Ñandú, 東京, 🔧🚿",
    "null",
    "",
    "[1,2]",
    "{\"json\": true}",
    "$1 and ?",
];

async fn probe_db() -> (FreshDb, Db) {
    let fresh = FreshDb::new().await;
    let db = Db::connect(&fresh.url).await.unwrap();
    sqlx::query("create table bulk_probe (id bigint primary key, note text, n bigint)")
        .execute(db.pool())
        .await
        .unwrap();
    (fresh, db)
}

#[tokio::test]
async fn rows_written_in_one_statement_read_back_exactly() {
    let (_fresh, db) = probe_db().await;
    let backend = db.backend();
    let mut rows: Vec<(i64, Option<&str>, Option<i64>)> =
        AWKWARD.iter().enumerate().map(|(i, s)| (i as i64 + 1, Some(*s), Some(-(i as i64)))).collect();
    rows.push((i64::MAX, None, Some(i64::MIN)));
    rows.push((100, Some("no number"), None));
    let insert =
        format!("insert into bulk_probe (id, note, n) {}", bulk::rows(backend, 1, &["bigint", "text", "bigint"]));
    let mut tx = db.begin().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(insert.clone()))
        .bind(bulk::encode(&rows).unwrap())
        .execute(&mut *tx)
        .await
        .unwrap();
    // One more row through the very same statement text.
    sqlx::query(sqlx::AssertSqlSafe(insert))
        .bind(bulk::encode(&[(7_000_000_000_i64, Some("single"), Some(1_i64))]).unwrap())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let back: Vec<(i64, Option<String>, Option<i64>)> =
        sqlx::query_as("select id, note, n from bulk_probe order by id").fetch_all(db.pool()).await.unwrap();
    let mut expected: Vec<(i64, Option<String>, Option<i64>)> =
        rows.iter().map(|(id, s, n)| (*id, s.map(str::to_string), *n)).collect();
    expected.push((7_000_000_000, Some("single".into()), Some(1)));
    expected.sort_by_key(|(id, _, _)| *id);
    assert_eq!(back, expected);
}

#[tokio::test]
async fn lists_find_exactly_their_values_and_an_empty_list_finds_nothing() {
    let (_fresh, db) = probe_db().await;
    let backend = db.backend();
    let rows: Vec<(i64, &str)> = AWKWARD.iter().enumerate().map(|(i, s)| (i as i64 + 1, *s)).collect();
    let insert = format!("insert into bulk_probe (id, note) {}", bulk::rows(backend, 1, &["bigint", "text"]));
    sqlx::query(sqlx::AssertSqlSafe(insert)).bind(bulk::encode(&rows).unwrap()).execute(db.pool()).await.unwrap();

    let by_note = format!("select id from bulk_probe where {} order by id", bulk::any(backend, "note", 1, "text"));
    let wanted = [AWKWARD[0], AWKWARD[3], AWKWARD[5], "not there"];
    let found: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(by_note.clone()))
        .bind(bulk::encode(&wanted).unwrap())
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(found, vec![(1,), (4,), (6,)]);

    let by_id = format!("select note from bulk_probe where {} order by id", bulk::any(backend, "id", 1, "bigint"));
    let found: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(by_id.clone()))
        .bind(bulk::encode(&[3_i64, 9, 42]).unwrap())
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(found, vec![(AWKWARD[2].to_string(),), (AWKWARD[8].to_string(),)]);

    let none: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(by_id))
        .bind(bulk::encode::<[i64]>(&[]).unwrap())
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn rows_joined_for_an_update_change_only_their_own() {
    let (_fresh, db) = probe_db().await;
    let backend = db.backend();
    let seed: Vec<(i64, &str, i64)> = (1..=5).map(|i| (i, "before", i)).collect();
    let insert =
        format!("insert into bulk_probe (id, note, n) {}", bulk::rows(backend, 1, &["bigint", "text", "bigint"]));
    sqlx::query(sqlx::AssertSqlSafe(insert)).bind(bulk::encode(&seed).unwrap()).execute(db.pool()).await.unwrap();

    let update = format!(
        "update bulk_probe set note = v.c2, n = v.c3 from ({}) as v where bulk_probe.id = v.c1 and {}",
        bulk::rows(backend, 1, &["bigint", "text", "bigint"]),
        bulk::any_in_rows(backend, "bulk_probe.id", 1, 0, "bigint")
    );
    let changes = [(2_i64, AWKWARD[1], 20_i64), (4, AWKWARD[3], 40)];
    sqlx::query(sqlx::AssertSqlSafe(update)).bind(bulk::encode(&changes).unwrap()).execute(db.pool()).await.unwrap();
    let back: Vec<(i64, String, i64)> =
        sqlx::query_as("select id, note, n from bulk_probe order by id").fetch_all(db.pool()).await.unwrap();
    assert_eq!(
        back,
        vec![
            (1, "before".into(), 1),
            (2, AWKWARD[1].into(), 20),
            (3, "before".into(), 3),
            (4, AWKWARD[3].into(), 40),
            (5, "before".into(), 5)
        ]
    );
}
