//! Server storage behind one trait, so a Postgres backend can replace the embedded SQLite one
//! without touching handlers or sync logic (the atuin split).

mod sqlite;

use async_trait::async_trait;
use automerge::AutoCommit;
use serde::{Deserialize, Serialize};
use shared::docs::DocKind;
use shared::model::GeoPoint;
use shared::wire::Digest;
use shared::{DeviceId, DispatcherId, JobId, TechnicianId, Timestamp};

pub use sqlite::SqliteStore;

use crate::auth::{DeviceAuth, DispatcherAuth};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no job {0}")]
    NoSuchJob(JobId),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("stored document for job {job} is unreadable: {detail}")]
    BadDocument { job: JobId, detail: String },
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("storage task failed: {0}")]
    Task(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A technician as dispatch knows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Technician {
    pub id: TechnicianId,
    pub name: String,
    pub phone: String,
    pub active: bool,
    /// Categories (snake_case) the technician is trained for.
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub brands: Vec<String>,
    /// Certification level, 1 (junior) to 5.
    #[serde(default = "one")]
    pub level: u8,
    pub home: Option<GeoPoint>,
}

fn one() -> u8 {
    1
}

/// The server's index row for a job, rewritten with every change to its documents.
#[derive(Clone, Debug, PartialEq)]
pub struct JobIndex {
    pub job: JobId,
    pub status: String,
    pub assignee: Option<TechnicianId>,
    pub digest: Digest,
    pub created_at: Timestamp,
    pub appt_start: Option<Timestamp>,
    pub priority: i64,
    pub category: String,
    pub brand: String,
    pub model: String,
    pub customer_name: String,
    pub location: Option<GeoPoint>,
    pub resolve_by: Option<Timestamp>,
    pub conflicts: i64,
}

/// New bytes for a job's documents plus its new index row, written in one transaction.
#[derive(Debug)]
pub struct JobWrite {
    pub index: JobIndex,
    /// Whole documents (a new job) ...
    pub full: Option<(Vec<u8>, Vec<u8>)>,
    /// ... or the changes appended since the stored version.
    pub dispatch_chunk: Vec<u8>,
    pub field_chunk: Vec<u8>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn health(&self) -> Result<()>;

    // --- auth ---
    async fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceAuth>>;
    async fn dispatcher_by_token(&self, token_hash: &str) -> Result<Option<DispatcherAuth>>;
    async fn create_dispatcher(&self, name: &str, token_hash: &str) -> Result<DispatcherId>;
    async fn put_technician(&self, t: &Technician) -> Result<()>;
    async fn technician(&self, id: TechnicianId) -> Result<Option<Technician>>;
    async fn technicians(&self) -> Result<Vec<Technician>>;
    async fn create_pairing_code(&self, tech: TechnicianId, code_hash: &str, expires_at: Timestamp) -> Result<()>;
    /// Trades an unexpired, unused code for a new device; `None` when the code is not valid.
    async fn redeem_pairing_code(
        &self,
        code_hash: &str,
        now: Timestamp,
        device: DeviceId,
        device_name: &str,
        token_hash: &str,
    ) -> Result<Option<Technician>>;
    async fn revoke_device(&self, device: DeviceId) -> Result<bool>;

    // --- documents ---
    async fn load_job(&self, job: JobId) -> Result<Option<(AutoCommit, AutoCommit)>>;
    async fn write_job(&self, write: JobWrite) -> Result<()>;
    /// Jobs currently assigned to `tech`, with their digests (no document is loaded).
    async fn assigned_digests(&self, tech: TechnicianId) -> Result<Vec<(JobId, Digest)>>;
    /// Whether `tech` was ever assigned `job` (a former assignee may still upload its work).
    async fn ever_assigned(&self, tech: TechnicianId, job: JobId) -> Result<bool>;
    async fn sync_state(&self, device: DeviceId, job: JobId, kind: DocKind) -> Result<Option<Vec<u8>>>;
    async fn put_sync_states(&self, device: DeviceId, states: Vec<(JobId, DocKind, Vec<u8>)>) -> Result<()>;
    async fn job_ids(&self) -> Result<Vec<JobId>>;

    // --- blobs ---
    async fn add_blob_ref(&self, hash: &str, job: JobId) -> Result<()>;
    async fn blob_jobs(&self, hash: &str) -> Result<Vec<JobId>>;
}
