//! Row ids chosen before their rows are written, so that rows naming each other (a text and
//! the work item that sends it, a timeline line and its text) can be gathered in memory and
//! written together, one multi-row statement per table, at the end of a transaction.
//!
//! On SQLite the transaction holds the write lock (`BEGIN IMMEDIATE`), so the next id of a
//! table is its largest plus one, counted on in memory; a row written meanwhile with an id
//! the database chose would take one of those, so after such a write call [`Ids::forget`].
//! On PostgreSQL ids come from the table's sequence, a block at a time; ids taken and not
//! used leave gaps, as a rolled-back insert does (the ids are 64-bit).

use std::collections::{HashMap, VecDeque};

use super::{Backend, Tx};
use crate::Result;

/// How many ids one PostgreSQL round trip takes from a sequence.
const BLOCK: i64 = 32;

/// Ids handed out in one transaction, per table.
#[derive(Debug, Default)]
pub struct Ids {
    /// SQLite: the next id of each table.
    next: HashMap<&'static str, i64>,
    /// PostgreSQL: ids taken from each table's sequence and not handed out yet.
    taken: HashMap<&'static str, VecDeque<i64>>,
}

impl Ids {
    pub fn new() -> Ids {
        Ids::default()
    }

    /// The id the next row of `table` will have. `table` is one of the schema's tables (it is
    /// written into the statement).
    pub async fn next(&mut self, tx: &mut Tx, table: &'static str) -> Result<i64> {
        Ok(self.take(tx, table, 1).await?[0])
    }

    /// Ids for `n` new rows of `table`, ascending.
    pub async fn take(&mut self, tx: &mut Tx, table: &'static str, n: usize) -> Result<Vec<i64>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        match tx.backend() {
            Backend::Sqlite => {
                let next = match self.next.get(table) {
                    Some(next) => *next,
                    None => {
                        let sql = format!("select coalesce(max(id), 0) from {table}");
                        let (max,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(&mut **tx).await?;
                        max + 1
                    }
                };
                self.next.insert(table, next + n as i64);
                Ok((next..next + n as i64).collect())
            }
            Backend::Postgres => {
                let queue = self.taken.entry(table).or_default();
                if queue.len() < n {
                    let want = (n - queue.len()) as i64 + BLOCK;
                    let sql = format!(
                        "select nextval(s.seq) from (select cast(pg_get_serial_sequence('{table}', 'id') as regclass) as seq) as s \
                         cross join generate_series(1, $1) order by 1"
                    );
                    let rows: Vec<(i64,)> =
                        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(want).fetch_all(&mut **tx).await?;
                    queue.extend(rows.into_iter().map(|(id,)| id));
                }
                Ok(queue.drain(..n).collect())
            }
        }
    }

    /// A row was written with an id the database chose: on SQLite, read the largest again; on
    /// PostgreSQL, drop the ids taken and not handed out, which are lower than that row's, so
    /// that rows written later still have higher ids (a timeline is read in id order).
    pub fn forget(&mut self) {
        self.next.clear();
        self.taken.clear();
    }
}
