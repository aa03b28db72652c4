//! Writes queued in a transaction and sent to the database in one round trip.
//!
//! The last statements of a state change — the row updates its decision made, the audit
//! record, the outbox event, the idempotency record — need no answer from the database to be
//! written: whether each moved the rows it should is checked once they have all run. Sent one
//! at a time, each is a round trip (on SQLite a hand-off to sqlx's connection thread and back)
//! made while the transaction holds its row locks, or on SQLite the one write lock, so the
//! round trips rather than the work set how many writes commit per second. Queued, they go
//! together: on SQLite as one multi-statement query, on PostgreSQL as one statement of
//! data-modifying CTEs (`WITH w0 AS (UPDATE … RETURNING 1), … SELECT count(*) …`). The CTEs of
//! one statement run in no set order and do not see each other's rows, so a write that
//! deletes or updates a table another write of the batch touches starts a new statement.
//!
//! Each queued statement is written like any other, with its own `$1…$n`; the batch numbers
//! them on. A read in the same transaction must not run while writes are queued (it would not
//! see them): [`crate::Tx::conn`] refuses in debug builds.

use crate::{Dialect, StoreError};
use std::fmt::Write as _;

/// What a queued write must do for the transaction to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Nothing to check (an INSERT either writes its row or fails).
    Any,
    /// Exactly one row, else a concurrent writer got there first: [`StoreError::Conflict`].
    OneRow,
}

/// An argument of a queued write: the few types the platform stores.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Bytes(Vec<u8>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(Some(v.to_owned()))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Text(Some(v))
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Self::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Self::Text(v)
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Self::Text(v.map(str::to_owned))
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Self::Bytes(v)
    }
}

/// The writes queued in one transaction.
#[derive(Default)]
pub(crate) struct Batch {
    statements: Vec<Queued>,
}

struct Queued {
    sql: &'static str,
    args: Vec<Value>,
    expect: Expect,
}

impl Batch {
    pub(crate) fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Queues `sql`; its arguments follow through the returned [`Queue`].
    pub(crate) fn push(&mut self, sql: &'static str, expect: Expect) -> Queue<'_> {
        self.statements.push(Queued {
            sql,
            args: Vec::new(),
            expect,
        });
        Queue { batch: self }
    }

    /// Runs every queued write — in one query where the dialect allows — and checks each
    /// one's rows.
    pub(crate) async fn run(
        self,
        conn: &mut sqlx::AnyConnection,
        dialect: Dialect,
    ) -> Result<(), StoreError> {
        let segments = match dialect {
            Dialect::Sqlite => vec![self.statements.as_slice()],
            Dialect::Postgres => independent_segments(&self.statements),
        };
        for segment in segments {
            let rows = run_segment(conn, dialect, segment).await?;
            if rows.len() != segment.len() {
                return Err(StoreError::Corrupt(format!(
                    "a batch of {} writes reported {} results",
                    segment.len(),
                    rows.len()
                )));
            }
            for (statement, rows) in segment.iter().zip(rows) {
                if statement.expect == Expect::OneRow && rows != 1 {
                    return Err(StoreError::Conflict);
                }
            }
        }
        Ok(())
    }
}

/// Sends one segment as one query; the rows each of its writes moved, in order.
async fn run_segment(
    conn: &mut sqlx::AnyConnection,
    dialect: Dialect,
    segment: &[Queued],
) -> Result<Vec<u64>, StoreError> {
    let sql = match (segment, dialect) {
        ([], _) => return Ok(Vec::new()),
        // One statement needs no rewriting.
        ([one], _) => one.sql.to_owned(),
        (many, Dialect::Sqlite) => sqlite_script(many),
        (many, Dialect::Postgres) => postgres_ctes(many),
    };
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for value in segment.iter().flat_map(|s| &s.args) {
        query = match value.clone() {
            Value::Text(v) => query.bind(v),
            Value::Int(v) => query.bind(v),
            Value::Bytes(v) => query.bind(v),
        };
    }
    Ok(match (segment.len(), dialect) {
        (1, _) => vec![sqlx::Executor::execute(conn, query).await?.rows_affected()],
        (_, Dialect::Sqlite) => {
            use futures::TryStreamExt;
            sqlx::Executor::fetch_many(conn, query)
                .try_filter_map(|step| async move { Ok(step.left()) })
                .map_ok(|done| done.rows_affected())
                .try_collect()
                .await?
        }
        (n, Dialect::Postgres) => {
            use sqlx::Row;
            let row = sqlx::Executor::fetch_one(conn, query).await?;
            (0..n)
                .map(|i| row.try_get::<i64, _>(i).map(|c| c as u64))
                .collect::<Result<_, _>>()?
        }
    })
}

/// Splits the writes where one would meet another in the same PostgreSQL statement: a
/// DELETE or UPDATE of a table an earlier write of the segment touched, or any write to a
/// table the segment deleted from or updated. Inserts into one table share a statement.
fn independent_segments(statements: &[Queued]) -> Vec<&[Queued]> {
    let mut segments = Vec::new();
    let mut start = 0;
    let mut touched: Vec<(&str, bool)> = Vec::new();
    for (i, statement) in statements.iter().enumerate() {
        let (table, inserts) = target(statement.sql);
        let meets = touched
            .iter()
            .any(|(t, only_inserts)| *t == table && !(inserts && *only_inserts));
        if meets {
            segments.push(&statements[start..i]);
            start = i;
            touched.clear();
        }
        match touched.iter_mut().find(|(t, _)| *t == table) {
            Some(entry) => entry.1 &= inserts,
            None => touched.push((table, inserts)),
        }
    }
    segments.push(&statements[start..]);
    segments
}

/// The table a write changes, and whether it only inserts.
fn target(sql: &str) -> (&str, bool) {
    let mut words = sql.split_whitespace();
    let first = words.next().unwrap_or_default();
    let inserts = first.eq_ignore_ascii_case("INSERT");
    let table = match first.to_ascii_uppercase().as_str() {
        "INSERT" | "DELETE" => words.nth(1),
        _ => words.next(),
    };
    (table.unwrap_or_default(), inserts)
}

/// Binds the arguments of the statement just queued, in the order of its `$1…$n`.
pub struct Queue<'a> {
    batch: &'a mut Batch,
}

impl Queue<'_> {
    pub fn bind(self, value: impl Into<Value>) -> Self {
        if let Some(last) = self.batch.statements.last_mut() {
            last.args.push(value.into());
        }
        self
    }
}

/// `a; b; c` with each statement's parameters numbered on from the previous ones': SQLite
/// binds `$n` by number across the statements of one query.
fn sqlite_script(statements: &[Queued]) -> String {
    let mut sql = String::new();
    let mut offset = 0;
    for s in statements {
        sql.push_str(&renumber(s.sql, offset));
        sql.push_str(";\n");
        offset += s.args.len();
    }
    sql
}

/// One statement: each write a data-modifying CTE, all run to completion once, and the row
/// count of each selected in order.
fn postgres_ctes(statements: &[Queued]) -> String {
    let mut sql = String::from("WITH ");
    let mut offset = 0;
    for (i, s) in statements.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "w{i} AS ({} RETURNING 1)", renumber(s.sql, offset));
        offset += s.args.len();
    }
    sql.push_str(" SELECT ");
    for i in 0..statements.len() {
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "(SELECT count(*) FROM w{i})");
    }
    sql
}

/// `sql` with every `$n` made `$(n + offset)`. Queued statements are the platform's own SQL,
/// whose only `$` are parameters.
fn renumber(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if let Ok(n) = rest[..digits].parse::<usize>() {
            let _ = write!(out, "{}", n + offset);
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(sql: &'static str, params: i64) -> Queued {
        Queued {
            sql,
            args: (0..params).map(Value::from).collect(),
            expect: Expect::Any,
        }
    }

    fn segment_sizes(statements: &[Queued]) -> Vec<usize> {
        independent_segments(statements)
            .iter()
            .map(|s| s.len())
            .collect()
    }

    #[test]
    fn writes_that_would_meet_in_one_postgres_statement_are_split() {
        // The audit trailer: different tables, one statement.
        assert_eq!(
            segment_sizes(&[
                queued("UPDATE audit_chains SET last_seq = $1", 1),
                queued("INSERT INTO audit_records (a) VALUES ($1)", 1),
                queued("INSERT INTO events (a) VALUES ($1)", 1),
            ]),
            vec![3]
        );
        // Replacing an application's members: the inserts must follow the delete.
        assert_eq!(
            segment_sizes(&[
                queued("UPDATE applications SET a = $1", 1),
                queued("DELETE FROM application_members WHERE id = $1", 1),
                queued("INSERT INTO application_members (a) VALUES ($1)", 1),
                queued("INSERT INTO application_members (a) VALUES ($1)", 1),
                queued("DELETE FROM application_documents WHERE id = $1", 1),
            ]),
            vec![2, 3]
        );
        // An update of a row inserted just before.
        assert_eq!(
            segment_sizes(&[
                queued("INSERT INTO t (a) VALUES ($1)", 1),
                queued("UPDATE t SET a = $1", 1),
            ]),
            vec![1, 1]
        );
    }

    #[test]
    fn parameters_are_numbered_on_across_statements() {
        assert_eq!(
            renumber("UPDATE t SET a = $1, b = $10 WHERE id = $2", 3),
            "UPDATE t SET a = $4, b = $13 WHERE id = $5"
        );
        assert_eq!(renumber("SELECT 1", 7), "SELECT 1");
    }

    #[test]
    fn postgres_batches_are_one_statement_counting_each_write() {
        let statements = [
            queued("UPDATE t SET a = $1 WHERE id = $2", 2),
            queued("INSERT INTO u (x) VALUES ($1)", 1),
        ];
        assert_eq!(
            postgres_ctes(&statements),
            "WITH w0 AS (UPDATE t SET a = $1 WHERE id = $2 RETURNING 1), \
             w1 AS (INSERT INTO u (x) VALUES ($3) RETURNING 1) \
             SELECT (SELECT count(*) FROM w0), (SELECT count(*) FROM w1)"
        );
        assert_eq!(
            sqlite_script(&statements),
            "UPDATE t SET a = $1 WHERE id = $2;\nINSERT INTO u (x) VALUES ($3);\n"
        );
    }
}
