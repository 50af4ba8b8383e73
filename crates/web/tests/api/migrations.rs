use crate::helpers::{FreshDb, backend};
use switchboard_core::db::{Backend, Db};

fn migration_files(kind: &str) -> Vec<String> {
    let dir = format!("{}/../../migrations/{kind}", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("migrations folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    names
}

#[test]
fn both_backends_have_the_same_migration_files() {
    assert_eq!(migration_files("sqlite"), migration_files("postgres"), "every migration exists for both backends");
    assert!(!migration_files("sqlite").is_empty());
}

#[tokio::test]
async fn every_migration_applies_to_an_empty_database_and_reapplying_is_a_no_op() {
    let fresh = FreshDb::new().await;
    let db = Db::connect(&fresh.url).await.unwrap();
    db.migrate().await.unwrap();
    db.migrate().await.unwrap();
    let (applied,): (i64,) =
        sqlx::query_as("select count(*) from _sqlx_migrations").fetch_one(db.pool()).await.unwrap();
    let kind = if backend() == Backend::Sqlite { "sqlite" } else { "postgres" };
    assert_eq!(applied as usize, migration_files(kind).len(), "each migration file was applied once");
    for table in
        ["orgs", "brands", "users", "sessions", "api_keys", "technicians", "customers", "jobs", "job_technicians"]
    {
        let sql = format!("select count(*) from {table}");
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(db.pool())
            .await
            .unwrap_or_else(|e| panic!("table {table}: {e}"));
        assert_eq!(n, 0, "{table} starts empty");
    }
    db.close().await;
}
