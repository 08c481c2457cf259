//! Errors inside the PostgreSQL backend, and how they reach the server: as a [`StoreError`].

use onsite_store::StoreError;

/// What can go wrong between a store call and the database.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A stored value this build cannot read (an id, a status name).
    #[error("stored value: {0}")]
    Value(String),
    /// A record-level answer (no such job, a conflict) the server acts on.
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(crate) type DbResult<T> = Result<T, DbError>;

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Store(e) => e,
            other => StoreError::Backend(Box::new(other)),
        }
    }
}

/// Parses a stored text value (an id, an enum's name), or says which column held what.
pub(crate) fn parse<T: std::str::FromStr>(what: &str, s: &str) -> DbResult<T> {
    s.parse().map_err(|_| DbError::Value(format!("{what} {s:?}")))
}
