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

pub type Tx = sqlx::Transaction<'static, Any>;

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
}

impl Event {
    pub fn org(&self) -> crate::ids::OrgId {
        match self {
            Event::Lead { org, .. } | Event::Job { org, .. } | Event::Tech { org, .. } => *org,
        }
    }

    /// `lead:{org}:{lead}` (or `job:…`, `tech:…`), the `NOTIFY` payload.
    pub fn to_payload(&self) -> String {
        match self {
            Event::Lead { org, lead } => format!("lead:{}:{}", org.0, lead.0),
            Event::Job { org, job } => format!("job:{}:{}", org.0, job.0),
            Event::Tech { org, tech } => format!("tech:{}:{}", org.0, tech.0),
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
            _ => None,
        }
    }
}

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
                pool_options
                    // One connection: SQLite has one writer anyway, and queueing on the pool (a fair,
                    // async hand-off) is far faster than contending connections sleeping in
                    // SQLite's busy handler. Nothing holds a transaction across a network call.
                    .max_connections(1)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(
                                "pragma journal_mode = wal; pragma foreign_keys = on; \
                                 pragma busy_timeout = 10000; pragma synchronous = full;",
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

    /// Applies every migration not yet applied, for this backend.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator.run(&self.pool).await.map_err(Error::from)
    }

    /// Starts a transaction that may write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`) so it cannot fail with SQLITE_BUSY halfway through.
    pub async fn begin(&self) -> Result<Tx> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
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
