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

/// Migration 0019: `{windowStart}` no longer carries a day, so saved confirmation and
/// on-the-way wordings get `{window}` / `{windowDay}`; reminders (sent on the day) stay.
#[tokio::test]
async fn saved_wordings_keep_naming_the_day_after_the_window_fields_split() {
    use switchboard_core::clock::SystemClock;
    let fresh = FreshDb::new().await;
    let db = Db::connect(&fresh.url).await.unwrap();
    db.migrate_up_to(18).await.unwrap();
    let org = switchboard_core::tenancy::create_org(&db, &SystemClock, "acme", "Acme").await.unwrap();
    // The brand as schema 18 stores it (today's code writes columns added later).
    let (brand_id,): (i64,) = sqlx::query_as(
        "insert into brands (org_id, name, time_zone, country, color, job_prefix, next_job_number, created_at, \
         updated_at) values ($1, 'Acme HVAC', 'America/Denver', 'US', '#2563eb', 'J', 1001, 0, 0) returning id",
    )
    .bind(org.id.0)
    .fetch_one(db.pool())
    .await
    .unwrap();
    let saved = [
        (
            "confirmation",
            "Hi {customerFirstName}, your {service} with {brandName} is booked for {windowStart}-{windowEnd} ({jobCode}). Questions? Call {brandPhone}.",
            "Booked: {service} on {windowStart}",
        ),
        ("on_the_way", "{techName} is coming (you booked {windowStart} to {windowEnd})", "{techName} is on the way"),
        (
            "reminder",
            "Reminder from {brandName}: we'll see you today between {windowStart} and {windowEnd} for your {service}.",
            "See you today",
        ),
    ];
    for (kind, sms, subject) in saved {
        sqlx::query(
            "insert into notification_settings (org_id, brand_id, kind, sms_enabled, email_enabled, sms_template, \
             email_subject, email_template, updated_at) values ($1, $2, $3, 1, 1, $4, $5, $4, 0)",
        )
        .bind(org.id.0)
        .bind(brand_id)
        .bind(kind)
        .bind(sms)
        .bind(subject)
        .execute(db.pool())
        .await
        .unwrap();
    }
    db.migrate().await.unwrap();
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "select kind, sms_template, email_subject, email_template from notification_settings order by kind",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let booked = "Hi {customerFirstName}, your {service} with {brandName} is booked for {window} ({jobCode}). Questions? Call {brandPhone}.";
    let coming = "{techName} is coming (you booked {windowDay}, {windowStart} to {windowEnd})";
    let reminder =
        "Reminder from {brandName}: we'll see you today between {windowStart} and {windowEnd} for your {service}.";
    assert_eq!(
        rows,
        vec![
            (
                "confirmation".into(),
                booked.into(),
                "Booked: {service} on {windowDay}, {windowStart}".into(),
                booked.into()
            ),
            ("on_the_way".into(), coming.into(), "{techName} is on the way".into(), coming.into()),
            ("reminder".into(), reminder.into(), "See you today".into(), reminder.into()),
        ]
    );
    assert_eq!(
        booked,
        switchboard_core::notifications::Kind::Confirmation.default_sms(),
        "the old default becomes the new default"
    );
    db.close().await;
}

/// Migration 0024: the customer's address and every address their jobs went to become their
/// service locations (one per address however typed), and each job points at its own.
#[tokio::test]
async fn addresses_on_file_become_service_locations() {
    use switchboard_core::clock::SystemClock;
    let fresh = FreshDb::new().await;
    let db = Db::connect(&fresh.url).await.unwrap();
    db.migrate_up_to(23).await.unwrap();
    let org = switchboard_core::tenancy::create_org(&db, &SystemClock, "acme", "Acme").await.unwrap().id.0;
    let (brand,): (i64,) = sqlx::query_as(
        "insert into brands (org_id, name, time_zone, country, color, job_prefix, next_job_number, created_at, \
         updated_at) values ($1, 'Acme HVAC', 'America/Denver', 'US', '#2563eb', 'J', 1001, 0, 0) returning id",
    )
    .bind(org)
    .fetch_one(db.pool())
    .await
    .unwrap();
    let mut customers = Vec::new();
    for (name, address) in [("Sam Greene", Some("781 S Pearl St")), ("No Address", None)] {
        let (id,): (i64,) = sqlx::query_as(
            "insert into customers (org_id, name, address, created_at, updated_at) values ($1, $2, $3, 1, 1) returning id",
        )
        .bind(org)
        .bind(name)
        .bind(address)
        .fetch_one(db.pool())
        .await
        .unwrap();
        customers.push(id);
    }
    // Sam's jobs: at his address typed differently, twice at a rental, and one without an
    // address; the other customer's job at an address of its own.
    let jobs = [
        (customers[0], Some("781 s pearl st.")),
        (customers[0], Some("14 Oak St")),
        (customers[0], Some(" 14 OAK ST ")),
        (customers[0], None),
        (customers[1], Some("5 Elm St")),
    ];
    for (n, (customer, address)) in jobs.iter().enumerate() {
        sqlx::query(
            "insert into jobs (org_id, brand_id, customer_id, number, code, service, status, address, created_at, \
             updated_at) values ($1, $2, $3, $4, $5, 'Work', 'estimate', $6, $7, $7)",
        )
        .bind(org)
        .bind(brand)
        .bind(customer)
        .bind(1001 + n as i64)
        .bind(format!("J-{}", 1001 + n))
        .bind(address)
        .bind(10 + n as i64)
        .execute(db.pool())
        .await
        .unwrap();
    }
    db.migrate().await.unwrap();
    let sites: Vec<(i64, String, String)> =
        sqlx::query_as("select customer_id, address, address_key from service_locations order by customer_id, id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(
        sites,
        vec![
            (customers[0], "781 S Pearl St".into(), "781 s pearl st".into()),
            (customers[0], "14 Oak St".into(), "14 oak st".into()),
            (customers[1], "5 Elm St".into(), "5 elm st".into()),
        ]
    );
    let linked: Vec<(String, Option<String>)> = sqlx::query_as(
        "select j.code, l.address from jobs j left join service_locations l on l.id = j.service_location_id order by j.number",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let expect = |code: &str, at: Option<&str>| (code.to_string(), at.map(str::to_string));
    assert_eq!(
        linked,
        vec![
            expect("J-1001", Some("781 S Pearl St")),
            expect("J-1002", Some("14 Oak St")),
            expect("J-1003", Some("14 Oak St")),
            expect("J-1004", None),
            expect("J-1005", Some("5 Elm St")),
        ]
    );
    db.close().await;
}
