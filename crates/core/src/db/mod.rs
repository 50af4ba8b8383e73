//! The database handle: one pool over SQLite or PostgreSQL through sqlx's `Any` driver.
//!
//! Query bodies are shared (`$1` placeholders, bigint milliseconds, integer booleans). The few
//! places where the dialects differ are methods here ([`Db::begin`]) so that domain stores
//! never branch on the backend themselves.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use std::sync::Arc;

use sqlx::{Any, AnyPool, Executor};
use tokio::sync::Notify;

use crate::{Error, Result};

pub mod bulk;
mod gate;
pub mod ids;

/// A transaction that may write. It derefs to its connection (`&mut **tx` in a store
/// function, `&mut *tx` where it is owned), like sqlx's transaction; on SQLite it also holds
/// this process's turn at the write lock ([`gate`]) until it commits or is dropped.
pub struct Tx {
    inner: sqlx::Transaction<'static, Any>,
    backend: Backend,
    _turn: Option<gate::Turn>,
}

impl Tx {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How many rows a multi-row statement should carry, for `params_per_row` parameters
    /// each. SQLite looks a named parameter (`$7`) up by a scan of the statement's list when
    /// binding it, so a statement's binding time grows with the square of its parameters
    /// (2,560 took longer than storing the rows): its statements stay near 256 parameters.
    /// PostgreSQL's limit is 65,535 parameters; its statements take up to 1,000 rows.
    pub fn rows_per_statement(&self, params_per_row: usize) -> usize {
        let params_per_row = params_per_row.max(1);
        match self.backend {
            Backend::Sqlite => (256 / params_per_row).max(1),
            Backend::Postgres => (65_535 / params_per_row).clamp(1, 1000),
        }
    }

    /// ` for update` on PostgreSQL (a select that locks its rows until the commit); nothing on
    /// SQLite, whose write transaction holds the whole database.
    pub fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " for update",
        }
    }

    pub async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        self.inner.commit().await
    }

    pub async fn rollback(self) -> std::result::Result<(), sqlx::Error> {
        self.inner.rollback().await
    }
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.inner
    }
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite: whose turn it is to write (`None` on PostgreSQL, which has row locks).
    gate: Option<Arc<gate::Gate>>,
    /// Signalled after work is committed, so this process's engine wakes at once.
    work_added: Arc<Notify>,
    /// PostgreSQL: signalled with `work_added`; a task turns it into one `NOTIFY` for other
    /// instances (coalesced, and outside the caller's transaction: a `NOTIFY` inside it would
    /// serialize every committing writer on PostgreSQL's notification lock).
    announce: Arc<Notify>,
    /// Kept for PostgreSQL `LISTEN`, which needs its own connection.
    url: Arc<str>,
    /// Live events for open browsers (this process's subscribers).
    events: tokio::sync::broadcast::Sender<Event>,
    /// PostgreSQL: events go out as `NOTIFY` so every instance's browsers hear them; a
    /// listener task feeds them back into `events` (this instance's included).
    outgoing_events: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
}

/// The PostgreSQL channel for live events.
pub const EVENT_CHANNEL: &str = "switchboard_events";

/// Something changed that open screens should show without a reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A lead was created, got a message, or changed status.
    Lead { org: crate::ids::OrgId, lead: crate::ids::LeadId },
    /// A job was created, edited, assigned or changed status.
    Job { org: crate::ids::OrgId, job: crate::ids::JobId },
    /// A technician shared a new location.
    Tech { org: crate::ids::OrgId, tech: crate::ids::TechnicianId },
    /// The message desk took a message or its state changed.
    Desk { org: crate::ids::OrgId, message: i64 },
    /// An outbound email or text moved on (accepted, delivered, bounced), as far as its
    /// provider says: pages showing delivery states refresh.
    Outbound { org: crate::ids::OrgId, message: i64 },
    /// A phone call came in, was answered, ended, or got its recording.
    Call { org: crate::ids::OrgId, call: i64 },
}

impl Event {
    pub fn org(&self) -> crate::ids::OrgId {
        match self {
            Event::Lead { org, .. }
            | Event::Job { org, .. }
            | Event::Tech { org, .. }
            | Event::Desk { org, .. }
            | Event::Outbound { org, .. }
            | Event::Call { org, .. } => *org,
        }
    }

    /// `lead:{org}:{lead}` (or `job:…`, `tech:…`), the `NOTIFY` payload.
    pub fn to_payload(&self) -> String {
        match self {
            Event::Lead { org, lead } => format!("lead:{}:{}", org.0, lead.0),
            Event::Job { org, job } => format!("job:{}:{}", org.0, job.0),
            Event::Tech { org, tech } => format!("tech:{}:{}", org.0, tech.0),
            Event::Desk { org, message } => format!("desk:{}:{message}", org.0),
            Event::Outbound { org, message } => format!("outbound:{}:{message}", org.0),
            Event::Call { org, call } => format!("call:{}:{call}", org.0),
        }
    }

    pub fn from_payload(s: &str) -> Option<Event> {
        let mut parts = s.split(':');
        let (kind, org, id) = (parts.next()?, parts.next()?, parts.next()?);
        let (org, id) = (crate::ids::OrgId(org.parse().ok()?), id.parse().ok()?);
        match kind {
            "lead" => Some(Event::Lead { org, lead: crate::ids::LeadId(id) }),
            "job" => Some(Event::Job { org, job: crate::ids::JobId(id) }),
            "tech" => Some(Event::Tech { org, tech: crate::ids::TechnicianId(id) }),
            "desk" => Some(Event::Desk { org, message: id }),
            "outbound" => Some(Event::Outbound { org, message: id }),
            "call" => Some(Event::Call { org, call: id }),
            _ => None,
        }
    }
}

/// SQLite connections per process: one writes at a time, the others read meanwhile.
const SQLITE_CONNECTIONS: u32 = 4;

/// The PostgreSQL channel on which committed work is announced to every instance.
pub const WORK_CHANNEL: &str = "switchboard_work";

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Turns what a user typed into a sqlx URL: `postgres://…` and `sqlite:…` pass through, a bare
/// path becomes a SQLite file that is created when missing.
pub fn normalize_url(input: &str) -> String {
    let s = input.trim();
    if s.starts_with("postgres://") || s.starts_with("postgresql://") || s.starts_with("sqlite:") {
        s.to_string()
    } else {
        format!("sqlite://{s}?mode=rwc")
    }
}

/// The URL with any password replaced, for logs and messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

impl Db {
    /// Opens a pool. SQLite connections get WAL, foreign keys, a busy timeout and full sync.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let url = normalize_url(url);
        let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool_options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Sqlite => {
                // An in-memory database is private to its connection: one connection only.
                let in_memory = in_memory_sqlite(&url);
                pool_options
                    // Several connections so that reads (pages, claims' lookups) never queue
                    // behind a write: WAL lets them read while one writes. Writes take turns
                    // through the gate ([`Db::begin`]), not SQLite's sleeping busy handler.
                    .max_connections(if in_memory { 1 } else { SQLITE_CONNECTIONS })
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(
                                "pragma journal_mode = wal; pragma foreign_keys = on; \
                                 pragma busy_timeout = 10000; pragma synchronous = full; \
                                 pragma wal_autocheckpoint = 8000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => pool_options.max_connections(16).connect_with(options).await?,
        };
        if backend == Backend::Sqlite && !in_memory_sqlite(&url) {
            tokio::spawn(checkpoint_wal(pool.clone()));
        }
        let announce = Arc::new(Notify::new());
        if backend == Backend::Postgres {
            tokio::spawn(announce_work(pool.clone(), announce.clone()));
        }
        let (events, _) = tokio::sync::broadcast::channel(1024);
        let outgoing_events = if backend == Backend::Postgres {
            let (out, queue) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(send_events(pool.clone(), queue));
            let (ready, listening) = tokio::sync::oneshot::channel();
            tokio::spawn(receive_events(pool.clone(), url.clone(), events.clone(), ready));
            // Events published before the listener is up would reach nobody.
            let _ = tokio::time::timeout(Duration::from_secs(5), listening).await;
            Some(out)
        } else {
            None
        };
        Ok(Db {
            pool,
            backend,
            gate: (backend == Backend::Sqlite).then(Arc::default),
            work_added: Arc::new(Notify::new()),
            announce,
            url: Arc::from(url.as_str()),
            events,
            outgoing_events,
        })
    }

    /// Tells this process's engine that work was committed. Call after the commit: a worker
    /// woken before it would not see the row.
    pub fn work_added(&self) {
        self.work_added.notify_one();
        if self.backend == Backend::Postgres {
            self.announce.notify_one();
        }
    }

    /// Tells open screens about a committed change. Call after the commit.
    pub fn publish(&self, event: Event) {
        match &self.outgoing_events {
            Some(out) => {
                if out.send(event.clone()).is_err() {
                    let _ = self.events.send(event);
                }
            }
            // No subscribers is fine: nobody is looking.
            None => {
                let _ = self.events.send(event);
            }
        }
    }

    /// A stream of events for one open screen.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// What the engine waits on between items.
    pub fn work_signal(&self) -> Arc<Notify> {
        self.work_added.clone()
    }

    /// Forwards PostgreSQL notifications of new work to [`Db::work_added`], reconnecting if
    /// the connection drops. Returns at once on SQLite.
    pub fn spawn_work_listener(&self) -> Option<tokio::task::JoinHandle<()>> {
        if self.backend != Backend::Postgres {
            return None;
        }
        let url = self.url.to_string();
        let signal = self.work_added.clone();
        Some(tokio::spawn(async move {
            loop {
                match sqlx::postgres::PgListener::connect(&url).await {
                    Ok(mut listener) => {
                        if let Err(e) = listener.listen(WORK_CHANNEL).await {
                            tracing::warn!(error = %e, "cannot LISTEN for work; retrying");
                        } else {
                            // A notification may have been missed while (re)connecting.
                            signal.notify_one();
                            while listener.recv().await.is_ok() {
                                signal.notify_one();
                            }
                            tracing::warn!("work listener connection lost; reconnecting");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot connect the work listener; retrying"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }))
    }

    /// The `for update skip locked` clause where the backend has it: PostgreSQL lets
    /// concurrent claimers skip each other's rows; SQLite has one writer at a time anyway.
    pub fn skip_locked(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " for update skip locked",
            Backend::Sqlite => "",
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies the migrations up to and including version `last` (the number a file's name
    /// starts with): how a test sets up data as an older release stored it, then migrates it.
    pub async fn migrate_up_to(&self, last: i64) -> Result<()> {
        let all = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        let first = all.migrations.iter().filter(|m| m.version <= last).cloned().collect();
        let migrator =
            sqlx::migrate::Migrator { locking: all.locking, ..sqlx::migrate::Migrator::with_migrations(first) };
        migrator.run(&self.pool).await.map_err(Error::from)
    }

    /// Applies every migration not yet applied, for this backend.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator.run(&self.pool).await.map_err(Error::from)
    }

    /// Starts a transaction that may write. On SQLite it waits for this process's turn to
    /// write, then takes the write lock up front (`BEGIN IMMEDIATE`) so it cannot fail with
    /// SQLITE_BUSY halfway through. Never call it while holding another `Tx` of the same
    /// database: on SQLite that would wait for itself.
    pub async fn begin(&self) -> Result<Tx> {
        self.begin_turn(false).await
    }

    /// [`Db::begin`] for a writer that others wait on (the inbound writer, whose webhooks are
    /// answered after its commit): on SQLite it gets the next turn, before routine writers.
    pub async fn begin_first(&self) -> Result<Tx> {
        self.begin_turn(true).await
    }

    async fn begin_turn(&self, first: bool) -> Result<Tx> {
        match &self.gate {
            Some(gate) => {
                let turn = gate.turn(first).await;
                Ok(Tx {
                    inner: self.pool.begin_with("BEGIN IMMEDIATE").await?,
                    backend: self.backend,
                    _turn: Some(turn),
                })
            }
            None => Ok(Tx { inner: self.pool.begin().await?, backend: self.backend, _turn: None }),
        }
    }

    /// Runs `f` in a transaction of its own ([`Db::begin`]) and commits it. Every write goes
    /// through a transaction like this or a longer one: on SQLite a statement sent straight to
    /// the pool would skip this process's turns at the write lock and wait in SQLite's busy
    /// handler, which polls with sleeps and can lose to a steady stream of turns for seconds.
    pub async fn write<T>(&self, f: impl AsyncFnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        let mut tx = self.begin().await?;
        let out = f(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// A round trip to the database, for health checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Waits for checked-out connections to return, then closes them.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The longest `NOTIFY` payload sent (PostgreSQL's limit is 8,000 bytes).
const MAX_PAYLOAD: usize = 7_900;

/// Sends events as `NOTIFY`s on [`EVENT_CHANNEL`], until the pool closes: whatever is queued
/// goes in one notification (payloads joined by `,`, up to [`MAX_PAYLOAD`]), so a burst of
/// events costs a few round trips, not one each.
async fn send_events(pool: AnyPool, mut queue: tokio::sync::mpsc::UnboundedReceiver<Event>) {
    while let Some(first) = queue.recv().await {
        let mut payload = first.to_payload();
        let mut carry = None;
        while let Ok(next) = queue.try_recv() {
            let next = next.to_payload();
            if payload.len() + 1 + next.len() > MAX_PAYLOAD {
                carry = Some(next);
                break;
            }
            payload.push(',');
            payload.push_str(&next);
        }
        for payload in std::iter::once(payload).chain(carry) {
            if pool.is_closed() {
                return;
            }
            if let Err(e) =
                sqlx::query("select pg_notify($1, $2)").bind(EVENT_CHANNEL).bind(&payload).execute(&pool).await
            {
                tracing::warn!(error = %e, "publishing a live event failed");
            }
        }
    }
}

/// The events of one notification from [`send_events`] (one or more payloads joined by `,`).
pub fn events_in_payload(payload: &str) -> impl Iterator<Item = Event> + '_ {
    payload.split(',').filter_map(Event::from_payload)
}

/// Feeds `NOTIFY`s on [`EVENT_CHANNEL`] from every instance to this instance's subscribers,
/// reconnecting when the connection drops, until the pool closes.
async fn receive_events(
    pool: AnyPool,
    url: String,
    events: tokio::sync::broadcast::Sender<Event>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    while !pool.is_closed() {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => {
                if listener.listen(EVENT_CHANNEL).await.is_ok() {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                    while let Ok(n) = listener.recv().await {
                        for event in events_in_payload(n.payload()) {
                            let _ = events.send(event);
                        }
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "event listener cannot connect; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Sends one `NOTIFY` per burst of [`Db::work_added`] calls, until the pool closes.
fn in_memory_sqlite(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// Copies the WAL back into the database file in the background, until the pool closes.
/// A writer would otherwise do it in its commit once the WAL passes 1,000 pages, with the
/// write lock held and its callers waiting (a checkpoint syncs the database file): a `PASSIVE`
/// checkpoint here needs no lock, and the writers' own threshold (`wal_autocheckpoint`,
/// 8,000 pages) is only a safety net should this fall behind.
async fn checkpoint_wal(pool: AnyPool) {
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("pragma wal_checkpoint(passive)").execute(&pool).await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "copying the write-ahead log into the database failed");
        }
    }
}

async fn announce_work(pool: AnyPool, announce: Arc<Notify>) {
    loop {
        announce.notified().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("select pg_notify($1, '')").bind(WORK_CHANNEL).execute(&pool).await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "announcing new work to other instances failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite_file(dir: &tempfile::TempDir) -> Db {
        let db = Db::connect(&dir.path().join("t.db").display().to_string()).await.unwrap();
        sqlx::query("create table t (id integer primary key, body text not null)").execute(db.pool()).await.unwrap();
        db
    }

    #[tokio::test]
    async fn sqlite_reads_do_not_wait_behind_an_open_write_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_file(&dir).await;
        let mut tx = db.begin().await.unwrap();
        sqlx::query("insert into t (body) values ('uncommitted')").execute(&mut *tx).await.unwrap();
        let read = tokio::time::timeout(
            Duration::from_secs(2),
            sqlx::query_as::<_, (i64,)>("select count(*) from t").fetch_one(db.pool()),
        )
        .await
        .expect("a read must not wait for the writer")
        .unwrap();
        assert_eq!(read.0, 0, "the read sees what was committed, not the open transaction");
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn sqlite_writers_take_turns_with_the_first_in_line_going_before_routine_ones() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_file(&dir).await;
        let held = db.begin().await.unwrap();
        let mut tasks = Vec::new();
        for (body, first) in [("routine", false), ("first", true)] {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = if first { db.begin_first().await } else { db.begin().await }.unwrap();
                sqlx::query("insert into t (body) values ($1)").bind(body).execute(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
            }));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        held.rollback().await.unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        let order: Vec<(String,)> =
            sqlx::query_as("select body from t order by id").fetch_all(db.pool()).await.unwrap();
        assert_eq!(order, vec![("first".to_string(),), ("routine".to_string(),)]);
    }

    #[tokio::test]
    async fn sqlite_copies_the_wal_into_the_database_file_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_file(&dir).await;
        let file = dir.path().join("t.db");
        let before = std::fs::metadata(&file).unwrap().len();
        // About 2 MB in 200 commits: far below the writers' own threshold (8,000 pages, 32 MB),
        // so only the background checkpoint can bring it into the database file.
        let body = "x".repeat(10_000);
        for _ in 0..200 {
            let mut tx = db.begin().await.unwrap();
            sqlx::query("insert into t (body) values ($1)").bind(&body).execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let size = std::fs::metadata(&file).unwrap().len();
            if size >= before + 2_000_000 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the database file stayed at {size} bytes");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[test]
    fn events_round_trip_through_notify_payloads() {
        let e = Event::Lead { org: crate::ids::OrgId(3), lead: crate::ids::LeadId(42) };
        assert_eq!(e.to_payload(), "lead:3:42");
        assert_eq!(Event::from_payload("lead:3:42"), Some(e.clone()));
        assert_eq!(Event::from_payload("lead:x:1"), None);
        let job = Event::Job { org: crate::ids::OrgId(1), job: crate::ids::JobId(2) };
        assert_eq!(Event::from_payload("job:1:2"), Some(job.clone()));
        assert_eq!(
            Event::from_payload(
                &Event::Tech { org: crate::ids::OrgId(4), tech: crate::ids::TechnicianId(5) }.to_payload()
            ),
            Some(Event::Tech { org: crate::ids::OrgId(4), tech: crate::ids::TechnicianId(5) })
        );
        for e in [
            Event::Desk { org: crate::ids::OrgId(6), message: 7 },
            Event::Outbound { org: crate::ids::OrgId(6), message: 8 },
        ] {
            assert_eq!(Event::from_payload(&e.to_payload()), Some(e));
        }
        assert_eq!(Event::from_payload("invoice:1:2"), None);
        let joined = format!("{},{},invoice:1:2,{}", e.to_payload(), job.to_payload(), e.to_payload());
        assert_eq!(events_in_payload(&joined).collect::<Vec<_>>(), vec![e.clone(), job.clone(), e]);
    }

    #[test]
    fn urls() {
        assert_eq!(normalize_url("switchboard.db"), "sqlite://switchboard.db?mode=rwc");
        assert_eq!(normalize_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }
}
