//! The storage error type. Database errors are classified here, once, into what the layers
//! above can act on: a conflict to retry, a unique key taken, or a genuine failure.

use sqlx::error::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A concurrent transaction changed the same rows first (version check failed,
    /// serialization failure, deadlock, busy database). Retrying the whole operation is safe.
    #[error("concurrent modification; retry")]
    Conflict,
    /// A unique constraint refused the row. `key` names the constraint (PostgreSQL) or the
    /// columns (SQLite), e.g. `users_username_key` or `users.username`.
    #[error("unique key taken: {key}")]
    UniqueViolation { key: String },
    /// A stored value could not be read back (e.g. an unknown enum spelling).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("database unavailable or failed: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Whether the unique violation concerns a key whose name contains `needle`.
    pub fn is_unique_on(&self, needle: &str) -> bool {
        matches!(self, Self::UniqueViolation { key } if key.contains(needle))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        let sqlx::Error::Database(db) = &err else {
            return Self::Database(err);
        };
        let code = db.code().unwrap_or_default();
        match code.as_ref() {
            // PostgreSQL: serialization_failure, deadlock_detected.
            "40001" | "40P01" => return Self::Conflict,
            // SQLite: SQLITE_BUSY, SQLITE_LOCKED, SQLITE_BUSY_SNAPSHOT.
            "5" | "6" | "517" => return Self::Conflict,
            _ => {}
        }
        if db.kind() == ErrorKind::UniqueViolation {
            let key = db
                .constraint()
                .map(str::to_owned)
                // SQLite names the columns in the message: "UNIQUE constraint failed: t.c".
                .unwrap_or_else(|| db.message().to_owned());
            return Self::UniqueViolation { key };
        }
        Self::Database(err)
    }
}
