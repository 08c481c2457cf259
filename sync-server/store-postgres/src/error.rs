//! Errors inside the PostgreSQL backend, and how they reach the server: as a [`StoreError`].

use onsite_store::StoreError;

/// What can go wrong between a store call and the database.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    #[error("database: {}", with_causes(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database connection: {}", with_causes(.0))]
    Pool(#[from] deadpool_postgres::PoolError),
    /// TLS could not be set up (an unreadable CA file).
    #[error("database TLS: {0}")]
    Tls(String),
    /// The connection string does not parse.
    #[error("database_url: {0}")]
    Url(String),
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A stored value this build cannot read (an id, a status name).
    #[error("stored value: {0}")]
    Value(String),
    /// A record-level answer (no such job, a conflict) the server acts on.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The error and what caused it: the driver's own message leaves out the cause ("error
/// performing TLS handshake", without which certificate was refused and why).
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !out.contains(&said) {
            out.push_str(": ");
            out.push_str(&said);
        }
        cause = c.source();
    }
    out
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
