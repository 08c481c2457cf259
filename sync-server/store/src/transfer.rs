//! Moving a whole deployment from one backend to another (the embedded SQLite file into
//! PostgreSQL): every table's rows as plain values, table by table, in batches.
//!
//! Both backends keep the same tables with the same columns (their schemas say so, and the
//! migration test checks every row count). What differs is only how a value is spelled (a
//! SQLite integer is PostgreSQL's `BIGINT`, `INTEGER` or `BOOLEAN`), so rows travel as
//! [`Cell`]s and the receiving backend converts each to its column's type.

/// One value of a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

/// Some rows of one table, with the names of their columns.
#[derive(Clone, Debug)]
pub struct Rows {
    pub table: &'static str,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// What the reading side sends: rows, then, once everything was read, how many rows each table
/// had. The receiving side commits only after the end, and only if it stored as many: a reader
/// that stopped part-way (an unreadable row, a crash) leaves nothing behind.
#[derive(Clone, Debug)]
pub enum Batch {
    Rows(Rows),
    End(Vec<(&'static str, u64)>),
}

/// Whether `name` is a plain column name (what both schemas use). Column names travel with the
/// rows, read from the source file; anything else is refused before it reaches a statement.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

/// One table copied, and how it is read: rows a later one references come first, so the
/// receiving database checks every reference as rows arrive.
#[derive(Clone, Copy, Debug)]
pub struct Table {
    pub name: &'static str,
    /// The order rows are read in (a device replaces an earlier device).
    pub order_by: &'static str,
}

/// Every table of a deployment, in copy order.
pub const TABLES: &[Table] = &[
    Table { name: "technicians", order_by: "id" },
    Table { name: "devices", order_by: "created_at, id" },
    Table { name: "pairing_codes", order_by: "code_hash" },
    Table { name: "docs", order_by: "job_id, kind" },
    Table { name: "doc_chunks", order_by: "job_id, kind, seq" },
    Table { name: "jobs", order_by: "job_id" },
    Table { name: "job_assignees", order_by: "job_id, technician_id" },
    Table { name: "sync_states", order_by: "device_id, job_id, kind" },
    Table { name: "blob_refs", order_by: "hash, job_id" },
    Table { name: "blob_holders", order_by: "hash, job_id" },
    Table { name: "technician_locations", order_by: "technician_id" },
    Table { name: "reference_data", order_by: "kind, version" },
    Table { name: "event_receipts", order_by: "job_id, event_id" },
    Table { name: "former_notices", order_by: "job_id, device_id" },
    Table { name: "erased_jobs", order_by: "job_id" },
    Table { name: "accounts", order_by: "id" },
    Table { name: "api_tokens", order_by: "id" },
    Table { name: "sessions", order_by: "token_hash" },
    Table { name: "audit_log", order_by: "id" },
    Table { name: "idempotency_keys", order_by: "account_id, key" },
];

/// Rows per batch at most.
pub const BATCH_ROWS: usize = 200;
/// Bytes of text and binary values per batch at most (a batch holds at least one row): a job's
/// document can be megabytes, and a move must not need memory in proportion to the deployment.
pub const BATCH_BYTES: usize = 8 * 1024 * 1024;

impl Cell {
    /// Bytes the value holds (what a batch's size counts).
    pub fn size(&self) -> usize {
        match self {
            Cell::Text(s) => s.len(),
            Cell::Bytes(b) => b.len(),
            _ => 8,
        }
    }
}
