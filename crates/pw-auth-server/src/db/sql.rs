//! What the stores' algorithms ([`super::records`]) are written against, once for both
//! backends: a statement in both dialects side by side ([`Sql`]), its arguments
//! ([`Arg`]), the rows it returns ([`Row`]), and an open transaction on either backend
//! ([`Tx`]), which runs a statement in its own dialect. The one `match` on the backend
//! per statement is here; nothing above it knows which backend it runs on.

use deadpool_postgres::GenericClient;
use pw_auth_axum::{StoreError, StoreErrorKind};
use rusqlite::Connection;
use tokio_postgres::types::{ToSql, Type};

use super::err;

/// One statement in both dialects, side by side. Each text binds the first *n* of the
/// arguments it is given, *n* being how many parameters it names (`?1`… in SQLite,
/// `$1`… in PostgreSQL): so one dialect's text may need fewer than the other's.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sql {
    /// The statement for SQLite.
    pub(crate) sqlite: &'static str,
    /// The statement for PostgreSQL.
    pub(crate) postgres: &'static str,
}

/// An argument bound to a statement: every stored value is text (a record's JSON, an
/// id, a digest) or a number (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    /// A text value.
    Text(&'a str),
    /// A text value or SQL `NULL`.
    MaybeText(Option<&'a str>),
    /// A number.
    Int(i64),
    /// A number or SQL `NULL`.
    MaybeInt(Option<i64>),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Arg<'a> {
        Arg::Text(s)
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Arg<'a> {
        Arg::Text(s)
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(s: Option<&'a str>) -> Arg<'a> {
        Arg::MaybeText(s)
    }
}

impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Int(n)
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(n: Option<i64>) -> Self {
        Arg::MaybeInt(n)
    }
}

/// The arguments of a statement, in order: `args![a, b]`.
macro_rules! args {
    ($($a:expr),* $(,)?) => {
        &[$($crate::db::sql::Arg::from($a)),*]
    };
}
pub(crate) use args;

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Arg::Text(s) => rusqlite::ToSql::to_sql(s),
            Arg::MaybeText(s) => rusqlite::ToSql::to_sql(s),
            Arg::Int(n) => rusqlite::ToSql::to_sql(n),
            Arg::MaybeInt(n) => rusqlite::ToSql::to_sql(n),
        }
    }
}

impl Arg<'_> {
    /// The argument as PostgreSQL binds it (each variant checked against the column's
    /// type by `tokio-postgres`).
    fn postgres(&self) -> &(dyn ToSql + Sync) {
        match self {
            Arg::Text(s) => s,
            Arg::MaybeText(s) => s,
            Arg::Int(n) => n,
            Arg::MaybeInt(n) => n,
        }
    }
}

/// One value of a returned row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cell {
    /// SQL `NULL`.
    Null,
    /// A text value.
    Text(String),
    /// A number.
    Int(i64),
}

/// A returned row: its values by column, read by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row(Vec<Cell>);

/// A value of a type the schema does not give that column: the database was changed
/// by something else.
fn mistyped(column: usize, expected: &'static str) -> StoreError {
    StoreError::new(
        StoreErrorKind::Corrupt,
        format!("column {column} of a stored row is not {expected}"),
    )
}

impl Row {
    /// Column `i`'s text.
    pub(crate) fn text(&self, i: usize) -> Result<&str, StoreError> {
        match self.0.get(i) {
            Some(Cell::Text(s)) => Ok(s),
            _ => Err(mistyped(i, "text")),
        }
    }

    /// Column `i`'s text, or `None` for `NULL`.
    pub(crate) fn maybe_text(&self, i: usize) -> Result<Option<&str>, StoreError> {
        match self.0.get(i) {
            Some(Cell::Text(s)) => Ok(Some(s)),
            Some(Cell::Null) => Ok(None),
            _ => Err(mistyped(i, "text or null")),
        }
    }

    /// Column `i`'s number.
    pub(crate) fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.0.get(i) {
            Some(Cell::Int(n)) => Ok(*n),
            _ => Err(mistyped(i, "a number")),
        }
    }

    /// Column `i`'s number, or `None` for `NULL`.
    pub(crate) fn maybe_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.0.get(i) {
            Some(Cell::Int(n)) => Ok(Some(*n)),
            Some(Cell::Null) => Ok(None),
            _ => Err(mistyped(i, "a number or null")),
        }
    }

    /// The row's first column, as text.
    pub(crate) fn into_text(self) -> Result<String, StoreError> {
        match self.0.into_iter().next() {
            Some(Cell::Text(s)) => Ok(s),
            _ => Err(mistyped(0, "text")),
        }
    }
}

/// What a transaction must promise, which each backend maps to its own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No transaction: one statement, committed on its own.
    Single,
    /// Reads and writes that no other writer interleaves with (SQLite: `BEGIN
    /// IMMEDIATE`, the write lock taken before the first read; PostgreSQL: read
    /// committed, with the rows read to be written locked by the statement itself).
    Write,
    /// [`Mode::Write`], on disk before it returns: for what a client is told is done
    /// for good (a key made, revoked or deleted, a logout). SQLite commits it with
    /// `synchronous = FULL`; PostgreSQL's every commit is.
    Durable,
}

/// What a transaction's algorithm returns: a future borrowing the open [`Tx`].
pub(crate) type TxFuture<'t, R> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<R, StoreError>> + Send + 't>>;

/// An open transaction (or, in [`Mode::Single`], a connection) on either backend.
pub(crate) enum Tx<'c> {
    /// SQLite: statements run at once (the transaction itself runs on a blocking
    /// thread).
    Sqlite(&'c mut Connection),
    /// A PostgreSQL transaction.
    Postgres(&'c deadpool_postgres::Transaction<'c>),
    /// A PostgreSQL connection, with no transaction open ([`Mode::Single`]).
    PostgresSingle(&'c deadpool_postgres::Client),
}

/// The arguments `text` binds: the first as many as it names.
fn bound<'a, 'b>(
    args: &'b [Arg<'a>],
    names: usize,
    text: &str,
) -> Result<&'b [Arg<'a>], StoreError> {
    args.get(..names).ok_or_else(|| {
        StoreError::new(
            StoreErrorKind::Internal,
            format!(
                "a statement names {names} parameters and was given {}: {text}",
                args.len()
            ),
        )
    })
}

fn sqlite_rows(c: &Connection, text: &str, args: &[Arg<'_>]) -> Result<Vec<Row>, StoreError> {
    let mut statement = c.prepare_cached(text).map_err(err)?;
    let args = bound(args, statement.parameter_count(), text)?;
    let columns = statement.column_count();
    let mut rows = statement
        .query(rusqlite::params_from_iter(args))
        .map_err(err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(err)? {
        let mut cells = Vec::with_capacity(columns);
        for i in 0..columns {
            use rusqlite::types::ValueRef;
            cells.push(match row.get_ref(i).map_err(err)? {
                ValueRef::Null => Cell::Null,
                ValueRef::Integer(n) => Cell::Int(n),
                ValueRef::Text(t) => Cell::Text(
                    std::str::from_utf8(t)
                        .map_err(|_| mistyped(i, "utf-8 text"))?
                        .to_owned(),
                ),
                ValueRef::Real(_) | ValueRef::Blob(_) => {
                    return Err(mistyped(i, "text or a number"));
                }
            });
        }
        out.push(Row(cells));
    }
    Ok(out)
}

fn sqlite_execute(c: &Connection, text: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
    let mut statement = c.prepare_cached(text).map_err(err)?;
    let args = bound(args, statement.parameter_count(), text)?;
    let n = statement
        .execute(rusqlite::params_from_iter(args))
        .map_err(err)?;
    Ok(u64::try_from(n).unwrap_or(u64::MAX))
}

// Every PostgreSQL statement is prepared once per connection and kept (deadpool's
// statement cache): a query is then one round trip, not two.

async fn postgres_rows(
    c: &impl GenericClient,
    text: &str,
    args: &[Arg<'_>],
) -> Result<Vec<Row>, StoreError> {
    let statement = c.prepare_cached(text).await.map_err(err)?;
    let args: Vec<_> = bound(args, statement.params().len(), text)?
        .iter()
        .map(Arg::postgres)
        .collect();
    let rows = c.query(&statement, &args).await.map_err(err)?;
    rows.iter()
        .map(|row| {
            let cells = row
                .columns()
                .iter()
                .enumerate()
                .map(|(i, column)| {
                    Ok(if *column.type_() == Type::INT8 {
                        row.try_get::<_, Option<i64>>(i)
                            .map_err(err)?
                            .map_or(Cell::Null, Cell::Int)
                    } else {
                        row.try_get::<_, Option<String>>(i)
                            .map_err(err)?
                            .map_or(Cell::Null, Cell::Text)
                    })
                })
                .collect::<Result<_, StoreError>>()?;
            Ok(Row(cells))
        })
        .collect()
}

async fn postgres_execute(
    c: &impl GenericClient,
    text: &str,
    args: &[Arg<'_>],
) -> Result<u64, StoreError> {
    let statement = c.prepare_cached(text).await.map_err(err)?;
    let args: Vec<_> = bound(args, statement.params().len(), text)?
        .iter()
        .map(Arg::postgres)
        .collect();
    c.execute(&statement, &args).await.map_err(err)
}

impl Tx<'_> {
    /// The rows `sql` returns.
    pub(crate) async fn rows(
        &mut self,
        sql: &Sql,
        args: &[Arg<'_>],
    ) -> Result<Vec<Row>, StoreError> {
        match self {
            Tx::Sqlite(c) => sqlite_rows(c, sql.sqlite, args),
            Tx::Postgres(t) => postgres_rows(*t, sql.postgres, args).await,
            Tx::PostgresSingle(c) => postgres_rows(*c, sql.postgres, args).await,
        }
    }

    /// The first row `sql` returns, if it returns one.
    pub(crate) async fn row(
        &mut self,
        sql: &Sql,
        args: &[Arg<'_>],
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.rows(sql, args).await?.into_iter().next())
    }

    /// The first column of the first row `sql` returns, as text, if it returns a row.
    pub(crate) async fn text(
        &mut self,
        sql: &Sql,
        args: &[Arg<'_>],
    ) -> Result<Option<String>, StoreError> {
        self.row(sql, args).await?.map(Row::into_text).transpose()
    }

    /// The number `sql` returns in its first row's first column (a `COUNT(*)`).
    pub(crate) async fn count(&mut self, sql: &Sql, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        match self.row(sql, args).await? {
            Some(row) => u64::try_from(row.int(0)?).map_err(err),
            None => Err(mistyped(0, "a count")),
        }
    }

    /// Runs `sql`; how many rows it touched.
    pub(crate) async fn execute(&mut self, sql: &Sql, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        match self {
            Tx::Sqlite(c) => sqlite_execute(c, sql.sqlite, args),
            Tx::Postgres(t) => postgres_execute(*t, sql.postgres, args).await,
            Tx::PostgresSingle(c) => postgres_execute(*c, sql.postgres, args).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_by_position_and_type() {
        let row = Row(vec![Cell::Text("a".into()), Cell::Null, Cell::Int(7)]);
        assert_eq!(row.text(0).unwrap(), "a");
        assert_eq!(row.maybe_text(0).unwrap(), Some("a"));
        assert_eq!(row.maybe_text(1).unwrap(), None);
        assert_eq!(row.int(2).unwrap(), 7);
        for e in [
            row.text(1).unwrap_err(),
            row.text(2).unwrap_err(),
            row.text(3).unwrap_err(),
            row.maybe_text(2).unwrap_err(),
            row.int(0).unwrap_err(),
            row.int(1).unwrap_err(),
        ] {
            assert_eq!(e.kind(), StoreErrorKind::Corrupt, "{e}");
        }
        assert_eq!(row.clone().into_text().unwrap(), "a");
        assert!(Row(vec![Cell::Int(1)]).into_text().is_err());
        assert!(Row(vec![]).into_text().is_err());
    }

    #[test]
    fn a_statement_binds_the_arguments_it_names() {
        let args = args!["a", "b"];
        assert_eq!(bound(args, 1, "").unwrap().len(), 1);
        assert_eq!(bound(args, 2, "").unwrap().len(), 2);
        assert_eq!(bound(args, 0, "").unwrap().len(), 0);
        let e = bound(args, 3, "SELECT ?3").unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Internal);
        assert!(
            e.to_string().contains("names 3 parameters and was given 2"),
            "{e}"
        );
    }
}
