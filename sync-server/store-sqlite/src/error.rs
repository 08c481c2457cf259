//! Errors inside the SQLite backend, and how they reach the server: as a [`StoreError`].

use onsite_store::StoreError;

/// What can go wrong between a store call and the database file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("database file: {0}")]
    Io(#[from] std::io::Error),
    #[error("storage task: {0}")]
    Task(#[from] tokio::task::JoinError),
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
