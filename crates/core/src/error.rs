//! The one error type of the core layer. The web layer maps each variant to a status code;
//! the text of `Db` and `Unexpected` is logged, never shown to a client.

use std::borrow::Cow;

use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One problem with one input field, worded for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The input's name: `phone`, or for a row of a list `fields.2.label` (counted from 1).
    pub field: Cow<'static, str>,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not found")]
    NotFound,
    #[error("invalid input: {}", summary(.0))]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    #[error("forbidden")]
    Forbidden,
    /// An outside service we depend on (storage, a provider) failed; worth retrying later. The
    /// message is for people; the cause is logged where it happened.
    #[error("{0}")]
    Unavailable(String),
    #[error("{message}")]
    InvalidTransition { message: String, allowed: Vec<String> },
    /// The change was made against a version of the thing that is no longer current: someone
    /// else changed it since the editor looked.
    #[error("{}", .0.message)]
    Stale(Box<Stale>),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unexpected: {0}")]
    Unexpected(String),
}

/// Who changed a thing since an editor looked, and when (see [`Error::Stale`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Stale {
    /// For a person: what changed, who did it and when, and what to do.
    pub message: String,
    /// `user:NAME`, `api`, `tech:NAME` or `system`.
    pub changed_by: String,
    pub changed_at: jiff::Timestamp,
    /// The version it is at now.
    pub version: i64,
}

fn summary(errors: &[FieldError]) -> String {
    errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
}

impl Error {
    /// A single-field validation error.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid(vec![FieldError::new(field, message)])
    }

    /// Turns a unique-constraint violation into `Conflict(message)`; other errors pass through.
    pub fn on_unique(self, message: impl Into<String>) -> Self {
        match &self {
            Error::Db(sqlx::Error::Database(db)) if is_unique_violation(db.as_ref()) => Error::Conflict(message.into()),
            _ => self,
        }
    }
}

fn is_unique_violation(err: &dyn sqlx::error::DatabaseError) -> bool {
    if matches!(err.kind(), sqlx::error::ErrorKind::UniqueViolation) {
        return true;
    }
    // The Any driver does not always carry the kind through: fall back to the codes.
    // PostgreSQL 23505; SQLite extended codes 2067 (UNIQUE) and 1555 (PRIMARY KEY).
    matches!(err.code().as_deref(), Some("23505" | "2067" | "1555"))
        || err.message().contains("UNIQUE constraint failed")
}

/// Collects field errors and turns them into `Err(Invalid)` when any were found.
#[derive(Debug, Default)]
pub struct Validator(Vec<FieldError>);

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, field: impl Into<Cow<'static, str>>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
    /// Keeps the value of `r`, or records its error under `field`.
    pub fn check<T>(&mut self, field: &'static str, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(m) => {
                self.add(field, m);
                None
            }
        }
    }
    /// Whether nothing was refused so far.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::Invalid(self.0)) }
    }
}
