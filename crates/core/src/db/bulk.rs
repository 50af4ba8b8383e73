//! Many rows, or a list of values, bound as one parameter: a JSON array, read as a table by
//! the statement. A statement's text is then the same whatever the number of rows, so each
//! connection prepares it once and PostgreSQL plans it once (a generic plan), where a
//! multi-row `values` list or an `in ($2, $3, ...)` list is a new statement for every count:
//! parsed, described and planned again, with its hundreds of parameters bound one by one. On
//! PostgreSQL, planning alone was a fifth of the statements' time in a burst of escalation
//! steps.
//!
//! ```text
//! insert into t (a, b) {rows}        rows: bulk::rows(backend, 1, &["bigint", "text"]), bound [[1,"x"],[2,null]]
//! ... where {any}                   any: bulk::any(backend, "id", 1, "bigint"),        bound [1,2,3]
//! ```
//!
//! Rows are JSON arrays in column order (a Rust tuple serializes as one); `null` is NULL.
//! PostgreSQL reads them as `jsonb`, parsed once, so that taking a row's columns one by one
//! does not parse the row again for each (`json` would).
//! Columns take the PostgreSQL type named for them (`bigint`, `text`); on SQLite a JSON
//! number reads as an integer and a string as text, which the column's affinity keeps.

use serde::Serialize;

use super::Backend;
use crate::Result;

/// `select ... from ...`: the rows of the JSON array of arrays bound at `$param`, with the
/// columns `c1`, `c2`, ... of these PostgreSQL types, in the array's order.
pub fn rows(backend: Backend, param: usize, types: &[&str]) -> String {
    let columns: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| match backend {
            Backend::Postgres => format!("cast(r.value ->> {i} as {t}) as c{}", i + 1),
            Backend::Sqlite => format!("r.value ->> {i} as c{}", i + 1),
        })
        .collect();
    let source = match backend {
        Backend::Postgres => format!("jsonb_array_elements(cast(${param} as jsonb)) with ordinality as r(value, n)"),
        Backend::Sqlite => format!("json_each(${param}) as r"),
    };
    let order = match backend {
        Backend::Postgres => "r.n",
        Backend::Sqlite => "r.key",
    };
    // `where true`: SQLite reads `insert ... select ... on conflict` right only with a `where`.
    format!("select {} from {source} where true order by {order}", columns.join(", "))
}

/// `column = any(...)` (PostgreSQL) or `column in (...)` (SQLite): whether `column` is one of
/// the values of the JSON array bound at `$param`, of this PostgreSQL type. On PostgreSQL the
/// list is an array, so the planner looks each value up by `column`'s index, as for
/// `= any($1)`; a list read as a table would be taken for a hundred rows whatever its length,
/// and a table of a few thousand rows scanned for it.
pub fn any(backend: Backend, column: &str, param: usize, ty: &str) -> String {
    match backend {
        Backend::Postgres => format!(
            "{column} = any(array(select cast(l.value as {ty}) from json_array_elements_text(cast(${param} as json)) as l(value)))"
        ),
        Backend::Sqlite => format!("{column} in (select l.value from json_each(${param}) as l)"),
    }
}

/// [`any`] for the values of one column (`index`, from 0) of the rows bound at `$param` for
/// [`rows`]: added to a join with those rows, it lets PostgreSQL find the joined table's rows
/// by index.
pub fn any_in_rows(backend: Backend, column: &str, param: usize, index: usize, ty: &str) -> String {
    match backend {
        Backend::Postgres => format!(
            "{column} = any(array(select cast(r.value ->> {index} as {ty}) from jsonb_array_elements(cast(${param} as jsonb)) as r(value)))"
        ),
        Backend::Sqlite => format!("{column} in (select r.value ->> {index} from json_each(${param}) as r)"),
    }
}

/// The JSON text to bind for [`rows`] (a slice of tuples) or [`any`] (a slice of values).
pub fn encode<T: Serialize + ?Sized>(values: &T) -> Result<String> {
    serde_json::to_string(values).map_err(|e| crate::Error::Unexpected(format!("rows to JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_rows_are_cast_in_column_order() {
        assert_eq!(
            rows(Backend::Postgres, 2, &["bigint", "text"]),
            "select cast(r.value ->> 0 as bigint) as c1, cast(r.value ->> 1 as text) as c2 \
             from jsonb_array_elements(cast($2 as jsonb)) with ordinality as r(value, n) where true order by r.n"
        );
    }

    #[test]
    fn sqlite_rows_read_the_array_in_order() {
        assert_eq!(
            rows(Backend::Sqlite, 1, &["bigint", "text"]),
            "select r.value ->> 0 as c1, r.value ->> 1 as c2 from json_each($1) as r where true order by r.key"
        );
    }

    #[test]
    fn lists_and_rows_encode_as_json_arrays() {
        assert_eq!(encode(&[(1_i64, Some("a\"b"), None::<i64>)]).unwrap(), r#"[[1,"a\"b",null]]"#);
        assert_eq!(encode(&[3_i64, 4]).unwrap(), "[3,4]");
        assert_eq!(any(Backend::Sqlite, "id", 3, "bigint"), "id in (select l.value from json_each($3) as l)");
        assert_eq!(
            any(Backend::Postgres, "id", 3, "bigint"),
            "id = any(array(select cast(l.value as bigint) from json_array_elements_text(cast($3 as json)) as l(value)))"
        );
    }
}
