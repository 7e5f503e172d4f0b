//! The storage layer: every SQL statement of the service, one module per
//! aggregate, over a narrow interface ([`Db`]) that D1 implements in the
//! Worker and an in-process SQLite in native tests (the very same statements).
//!
//! Reads are `async fn`s answering typed rows. Writes are functions answering
//! [`Stmt`]s, which a use case gathers into one [`Batch`]: D1's only atomic
//! unit, so everything a step decides is written whole or not at all.
//!
//! D1 has no interactive transactions; [`Db::batch`] runs its statements in
//! one implicit transaction: all of them or none. Optimistic concurrency is a
//! primary key that two writers of the same version both try to claim (the
//! loser's batch fails with [`DbError::Conflict`] and writes nothing).

use serde_json::{Map, Value};

pub mod accounts;
pub mod amendments;
pub mod billing_runs;
pub mod catalogs;
pub mod charges;
pub mod contracts;
pub mod idempotency;
pub mod invoices;
pub mod multirow;
pub mod payments;
pub mod promotions;
pub mod quotes;
pub mod sessions;
pub mod throttle;
pub mod usage;
pub mod webhook_events;

/// A bound parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Sql {
    /// SQL NULL.
    Null,
    /// An INTEGER.
    Int(i64),
    /// A TEXT.
    Text(String),
}

impl From<&str> for Sql {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}
impl From<String> for Sql {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}
impl From<&String> for Sql {
    fn from(s: &String) -> Self {
        Self::Text(s.clone())
    }
}
impl From<i64> for Sql {
    fn from(n: i64) -> Self {
        Self::Int(n)
    }
}
impl From<bool> for Sql {
    fn from(b: bool) -> Self {
        Self::Int(i64::from(b))
    }
}
impl<T: Into<Sql>> From<Option<T>> for Sql {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

/// One statement with its parameters (`?1`, `?2`, … in the SQL).
#[derive(Clone, Debug)]
pub struct Stmt {
    /// The SQL text.
    pub sql: &'static str,
    /// Positional parameters.
    pub params: Vec<Sql>,
}

/// A status as stored: an enum whose variants have fixed names in the
/// database (`as_str`, `parse`), declared once:
/// `stored_enum! { /// doc  pub enum S { /// doc  A = "A", … } }`.
macro_rules! stored_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value.
            pub const ALL: &[Self] = &[$(Self::$variant),+];

            /// The stored name.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }

            /// Reads a stored name.
            #[must_use]
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|x| x.as_str() == s)
            }
        }
    };
}
pub(crate) use stored_enum;

/// Statements written together, as one transaction.
pub type Batch = Vec<Stmt>;

/// Builds a [`Stmt`]: `stmt!("SELECT … WHERE id = ?1", id)`.
#[macro_export]
macro_rules! stmt {
    ($sql:expr $(, $p:expr)* $(,)?) => {
        $crate::store::Stmt { sql: $sql, params: vec![$($crate::store::Sql::from($p)),*] }
    };
}

/// A result row: column name to value (INTEGER as a number, TEXT as a string).
pub type Row = Map<String, Value>;

/// Why a statement failed. D1 reports constraint failures only in its
/// message text, so the driver's message is what classifies them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbError {
    /// A UNIQUE or PRIMARY KEY constraint, or a stale read: someone else wrote first.
    Conflict(String),
    /// Anything else (the message is logged, never shown to a client).
    Other(String),
    /// A stored value that does not read as what its column holds.
    Unreadable(Unreadable),
}

/// A stored value that does not read as its column's type: an amount that is
/// not a decimal, a date that is not a date, a required column that is NULL.
/// Never read as zero, "not found" or a skipped row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    /// `table.column`.
    pub column: String,
    /// The row's key (for the log).
    pub key: String,
    /// What is stored there, shortened (for the log).
    pub found: String,
}

impl DbError {
    /// Classifies a driver's message (D1 and SQLite word constraints alike).
    #[must_use]
    pub fn from_message(message: String) -> Self {
        // `stale_read`: a batch's assertion that what it read is unchanged failed (migration 0015).
        if message.contains("UNIQUE constraint failed")
            || message.contains("PRIMARY KEY")
            || message.contains("stale_read")
        {
            Self::Conflict(message)
        } else {
            Self::Other(message)
        }
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Conflict(m) => write!(f, "conflict: {m}"),
            Self::Other(m) => write!(f, "storage: {m}"),
            Self::Unreadable(u) => write!(f, "unreadable {} of {}: {}", u.column, u.key, u.found),
        }
    }
}

impl std::error::Error for DbError {}

/// D1 in the Worker, SQLite in native tests.
#[allow(async_fn_in_trait)] // single-threaded runtimes: no Send bound wanted
pub trait Db {
    /// Runs one read statement.
    async fn query(&self, stmt: Stmt) -> Result<Vec<Row>, DbError>;
    /// Runs the statements in order as one transaction.
    async fn batch(&self, stmts: Vec<Stmt>) -> Result<(), DbError>;
    /// Statements sent so far (for the billing run's report); 0 when not counted.
    fn statements(&self) -> u64 {
        0
    }
    /// Which database this is, for what an isolate keeps of it between
    /// requests (the current catalog): a Worker has one, so 0; a process
    /// holding several (the native tests) tells them apart.
    fn identity(&self) -> u64 {
        0
    }
}

/// A row's TEXT column, if present and not NULL.
#[must_use]
pub fn text(row: &Row, column: &str) -> Option<String> {
    match row.get(column) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// A row's INTEGER column, if present and not NULL.
#[must_use]
pub fn int(row: &Row, column: &str) -> Option<i64> {
    match row.get(column) {
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().and_then(float_to_int)),
        _ => None,
    }
}

/// D1 hands integers to Rust as JavaScript numbers; accept the whole ones.
#[allow(clippy::cast_possible_truncation)] // checked: whole and within ±2^53
fn float_to_int(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0).then_some(f as i64)
}

impl Unreadable {
    /// `column` (`table.column`) of the row `key` holds what does not read (`why`).
    #[must_use]
    pub fn error(column: &str, key: &str, why: impl std::fmt::Display) -> DbError {
        let found = why.to_string().chars().take(120).collect();
        DbError::Unreadable(Self { column: column.to_owned(), key: key.to_owned(), found })
    }
}

/// A row of `table` read column by column, loudly: a value that does not
/// read as its column's type is [`DbError::Unreadable`] naming the column,
/// never a default.
#[derive(Clone, Copy)]
pub struct Read<'a> {
    row: &'a Row,
    table: &'static str,
    key: &'a str,
}

impl<'a> Read<'a> {
    /// Reads `row` of `table`; its key (for the log) is the TEXT column `key_column`.
    #[must_use]
    pub fn new(row: &'a Row, table: &'static str, key_column: &str) -> Self {
        let key = match row.get(key_column) {
            Some(Value::String(s)) => s.as_str(),
            _ => "?",
        };
        Self { row, table, key }
    }

    /// The error naming `column` and what it holds.
    #[must_use]
    pub fn unreadable(&self, column: &str) -> DbError {
        let found = match self.row.get(column) {
            None | Some(Value::Null) => "NULL".to_owned(),
            Some(v) => v.to_string().chars().take(60).collect(),
        };
        DbError::Unreadable(Unreadable { column: format!("{}.{column}", self.table), key: self.key.to_owned(), found })
    }

    /// A TEXT column that may be NULL (any other type is unreadable).
    pub fn opt_text(&self, column: &str) -> Result<Option<String>, DbError> {
        match self.row.get(column) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.unreadable(column)),
        }
    }

    /// A TEXT column that must be present.
    pub fn text(&self, column: &str) -> Result<String, DbError> {
        self.opt_text(column)?.ok_or_else(|| self.unreadable(column))
    }

    /// An INTEGER column that may be NULL.
    pub fn opt_int(&self, column: &str) -> Result<Option<i64>, DbError> {
        match self.row.get(column) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => int(self.row, column).map(Some).ok_or_else(|| self.unreadable(column)),
        }
    }

    /// An INTEGER column that must be present.
    pub fn int(&self, column: &str) -> Result<i64, DbError> {
        self.opt_int(column)?.ok_or_else(|| self.unreadable(column))
    }

    /// A 0/1 INTEGER column that must be present.
    pub fn flag(&self, column: &str) -> Result<bool, DbError> {
        match self.int(column)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.unreadable(column)),
        }
    }

    /// A TEXT column read by `parse` (an enum, a date), which may be NULL.
    pub fn opt_parsed<T>(&self, column: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Option<T>, DbError> {
        self.opt_text(column)?.map(|s| parse(&s).ok_or_else(|| self.unreadable(column))).transpose()
    }

    /// A TEXT column read by `parse`, which must be present.
    pub fn parsed<T>(&self, column: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, DbError> {
        self.opt_parsed(column, parse)?.ok_or_else(|| self.unreadable(column))
    }

    /// A TEXT column holding a decimal amount or quantity.
    pub fn decimal(&self, column: &str) -> Result<rust_decimal::Decimal, DbError> {
        self.parsed(column, |s| pricing::parse_decimal(s).ok())
    }

    /// A TEXT column holding a day (`YYYY-MM-DD`).
    pub fn date(&self, column: &str) -> Result<chrono::NaiveDate, DbError> {
        self.parsed(column, pricing::parse_date)
    }

    /// A TEXT column holding JSON, which may be NULL.
    pub fn opt_json(&self, column: &str) -> Result<Option<Value>, DbError> {
        self.opt_parsed(column, |s| serde_json::from_str(s).ok())
    }

    /// A TEXT column holding JSON, which must be present.
    pub fn json(&self, column: &str) -> Result<Value, DbError> {
        self.opt_json(column)?.ok_or_else(|| self.unreadable(column))
    }

    /// A TEXT column holding a JSON object (a stored body), which must be present.
    pub fn object(&self, column: &str) -> Result<Value, DbError> {
        self.json(column).and_then(|v| if v.is_object() { Ok(v) } else { Err(self.unreadable(column)) })
    }
}

/// Reads every row with `read`, failing on the first unreadable one.
pub fn read_all<T>(rows: &[Row], read: impl Fn(&Row) -> Result<T, DbError>) -> Result<Vec<T>, DbError> {
    rows.iter().map(read).collect()
}

/// The first row of a read, if any.
pub async fn first(db: &impl Db, stmt: Stmt) -> Result<Option<Row>, DbError> {
    Ok(db.query(stmt).await?.into_iter().next())
}

/// A row's JSON TEXT column, parsed.
#[must_use]
pub fn json(row: &Row, column: &str) -> Option<Value> {
    text(row, column).and_then(|s| serde_json::from_str(&s).ok())
}
