//! What the sync server keeps, and the traits every storage backend implements.
//!
//! Backends live in their own crates (`onsite-store-sqlite`, …) and depend on this one; the
//! server depends on the traits, so it cannot reach past them into a backend, and a backend
//! cannot reach into the server (the compiler enforces the direction, as in atuin's split).

pub mod accounts;
pub mod blobs;
pub mod kpi;
pub mod transfer;

use async_trait::async_trait;
use automerge::AutoCommit;
use serde::{Deserialize, Serialize};
use shared::docs::DocKind;
use shared::model::{Category, Channel, GeoPoint, Priority};
use shared::status::Status;
use shared::wire::Digest;
use shared::{DeviceId, JobId, TechnicianId, Timestamp};

pub use accounts::{AccountStore, AuditStore};
pub use kpi::{KpiKey, KpiSums};

/// Largest page any list read returns: a request can never make the store read more.
pub const PAGE_MAX: usize = 500;

/// A paired, unrevoked device as the store knows it (the http layer's `auth::DeviceAuth` wraps
/// it once the device's token checked out).
#[derive(Clone, Debug)]
pub struct DeviceIdentity {
    pub device: DeviceId,
    pub technician: TechnicianId,
    /// The technician's name: the author the device's notes must carry.
    pub technician_name: String,
}

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
    /// The backend failed (its database, its files, its task): the request cannot be served.
    #[error("storage: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A device being paired.
#[derive(Clone, Debug)]
pub struct NewDevice {
    pub id: DeviceId,
    pub name: String,
    pub token_hash: String,
    pub previous: Option<DeviceId>,
}

/// The outcome of redeeming a pairing code.
#[derive(Clone, Debug, PartialEq)]
pub enum Redeemed {
    Paired(Technician),
    /// Wrong, used, expired, or its technician deactivated.
    InvalidCode,
    /// The previous device belongs to another technician (or does not exist): the code is kept.
    NotTheSameTechnician,
}

/// A technician's device as dispatch sees it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeviceRecord {
    pub id: DeviceId,
    pub name: String,
    pub paired_at: Timestamp,
    pub last_seen_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// The device it took over when it paired again.
    pub replaces: Option<DeviceId>,
    /// What it said, at its last sync, it still had to send.
    pub pending_jobs: Option<u32>,
    pub pending_blob_bytes: Option<u64>,
}

/// A technician as dispatch knows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    #[serde(default)]
    pub working_hours: Option<WorkingHours>,
}

fn one() -> u8 {
    1
}

/// Daily working hours in the technician's local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkingHours {
    /// Minutes after local midnight.
    #[schema(maximum = 1439)]
    pub start_min: u16,
    #[schema(minimum = 1, maximum = 1440)]
    pub end_min: u16,
    /// The technician's zone, e.g. 480 for UTC+8.
    #[schema(minimum = -840, maximum = 840)]
    pub utc_offset_min: i32,
}

/// The server's index row for a job, rewritten with every change to its documents: what job
/// lists, assignment and KPIs read without opening documents.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobIndex {
    pub job: JobId,
    pub status: Status,
    pub assignee: Option<TechnicianId>,
    #[serde(skip)]
    pub digest: Digest,
    pub created_at: Timestamp,
    pub channel: Channel,
    pub appt_start: Option<Timestamp>,
    pub appt_end: Option<Timestamp>,
    pub priority: Priority,
    pub category: Category,
    pub brand: String,
    pub model: String,
    pub serial: String,
    pub customer_name: String,
    pub location: Option<GeoPoint>,
    pub arrive_by: Option<Timestamp>,
    pub resolve_by: Option<Timestamp>,
    pub conflicts: i64,
    pub facts: JobFacts,
    /// Finds the customer's other jobs (`shared::erase::customer_key`); not shown.
    #[serde(skip)]
    pub customer_key: Option<String>,
}

/// Facts derived from a job's events, kept for KPIs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobFacts {
    pub first_assigned_at: Option<Timestamp>,
    pub first_on_site_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub check_ins: i64,
    /// Completed on the first visit (one check-in, never on hold or cannot-complete).
    pub first_time_fix: Option<bool>,
    /// Total the customer approved on the quote.
    pub quote_total: Option<i64>,
    /// Total of the completed job.
    pub final_total: Option<i64>,
    pub rating: Option<i64>,
    pub cause: String,
    pub self_service: bool,
    /// When the job was closed or cancelled: its phones let it go a retention period later.
    pub finished_at: Option<Timestamp>,
    /// The latest check-in with a position: where that technician was last seen.
    #[serde(skip)]
    pub last_check_in: Option<(TechnicianId, GeoPoint, Timestamp)>,
}

/// Filters for the dispatcher's job list.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    /// Comma-separated statuses (e.g. `new,assigned`).
    pub status: Option<String>,
    pub technician: Option<TechnicianId>,
    /// Only jobs nobody is assigned to.
    #[serde(default)]
    pub unassigned: bool,
    pub category: Option<Category>,
    pub priority: Option<Priority>,
    pub channel: Option<Channel>,
    /// Appointment start at or after (ISO 8601 with zone).
    pub from: Option<Timestamp>,
    /// Appointment start before.
    pub to: Option<Timestamp>,
    /// Completed at or after (ISO 8601 with zone): what was finished today, say.
    pub completed_since: Option<Timestamp>,
    /// Area: centre (degrees) and radius (km); all three or none.
    #[param(minimum = -90, maximum = 90)]
    pub lat: Option<f64>,
    #[param(minimum = -180, maximum = 180)]
    pub lon: Option<f64>,
    #[param(minimum = 0, maximum = 20000)]
    pub radius_km: Option<f64>,
    /// Open jobs past their resolve-by deadline.
    #[serde(default)]
    pub overdue: bool,
    /// 1 to 500 (50 when absent).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
    #[param(maximum = 1_000_000_000)]
    pub offset: Option<usize>,
}

impl JobQuery {
    /// The statuses asked for (`None`: any).
    pub fn statuses(&self) -> Option<Vec<String>> {
        self.status.as_ref().map(|s| s.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
    }

    /// The area as a box in degrees (`lat_min, lat_max, lon_min, lon_max`): what an index can
    /// select; callers refine by great-circle distance.
    pub fn bounding_box(&self) -> Option<(f64, f64, f64, f64)> {
        let (lat, lon, r) = (self.lat?, self.lon?, self.radius_km?);
        let dlat = r / 111.0;
        let dlon = r / (111.0 * lat.to_radians().cos().abs().max(0.01));
        Some((lat - dlat, lat + dlat, lon - dlon, lon + dlon))
    }

    /// The page: at most [`PAGE_MAX`] rows (50 when not given), from `offset`.
    pub fn page(&self) -> (i64, i64) {
        (self.limit.unwrap_or(50).min(PAGE_MAX) as i64, self.offset.unwrap_or(0) as i64)
    }
}

/// A published version of reference data.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReferenceVersion {
    pub kind: String,
    pub version: u32,
    pub published_at: Timestamp,
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
    /// Every blob the documents name: who may read the job may read these (and only these).
    pub blobs: Vec<shared::BlobHash>,
    /// When the server received the field events new in this write.
    pub receipts: Vec<EventReceipt>,
}

/// When the server received a status event from a device, and whether it can stand behind the
/// time the device gave it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EventReceipt {
    pub event: shared::ItemId,
    pub device: DeviceId,
    /// The time the device wrote on the event.
    pub claimed_at: Timestamp,
    pub received_at: Timestamp,
    /// Dated before the device's previous contact with the server, yet not sent then: a clock
    /// set back (or a forged date). KPIs use `received_at` for it.
    pub backdated: bool,
}

/// The times the server stands behind for a job's backdated events, by event.
pub type TrustedTimes = std::collections::HashMap<shared::ItemId, Timestamp>;

/// Held while one job is read, changed and written back; released when dropped. See
/// [`Store::lease_job`].
pub struct JobLease(#[allow(dead_code)] Option<Box<dyn Send + Sync>>);

impl JobLease {
    /// Nothing beyond the server's own per-job lock (a store one process uses alone).
    pub fn local() -> Self {
        JobLease(None)
    }

    /// A lease the backend releases when `guard` is dropped.
    pub fn new(guard: impl Send + Sync + 'static) -> Self {
        JobLease(Some(Box::new(guard)))
    }
}

/// What one instance hears of another's job changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heard {
    /// Another instance changed this job.
    Job(JobId),
    /// Announcements may have been missed (the feed reconnected): whoever shows jobs live
    /// should reload them.
    Lagged,
}

/// How instances sharing a store tell each other which jobs changed, so a dispatcher watching
/// one instance sees what phones sync through another. A store one process uses needs none.
#[async_trait]
pub trait ChangeFeed: Send + Sync + 'static {
    /// Tells the other instances that `job` changed (best effort: a listener that missed it
    /// hears [`Heard::Lagged`]).
    async fn announce(&self, job: JobId) -> Result<()>;
    /// Starts hearing the other instances (never this one's own announcements); runs until the
    /// process ends, reconnecting as needed.
    fn listen(&self, heard: Box<dyn Fn(Heard) + Send + Sync>);
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn health(&self) -> Result<()>;

    /// Makes the caller the only writer of `job` among every server instance sharing this
    /// store, until the lease is dropped: a sync round, a dispatcher's edit or an erasure reads
    /// the job, changes it and writes it back under it, so two instances never both build on the
    /// same version. The server holds its own in-process lock for the job first; a store that
    /// only one process uses has nothing to add.
    async fn lease_job(&self, _job: JobId) -> Result<JobLease> {
        Ok(JobLease::local())
    }

    /// Counts one hit on `key` (a login attempt from an address, a pairing attempt) in the
    /// current fixed window of `window_ms`, for every server instance sharing this store, and
    /// returns the window's count so far. The store's clock places the window, so instances
    /// whose clocks differ still count in one. `None` from a store only one process uses: the
    /// server's in-process limiters already count everything.
    async fn count_hit(&self, _key: &str, _window_ms: i64) -> Result<Option<u64>> {
        Ok(None)
    }

    // --- auth ---
    async fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceIdentity>>;
    async fn put_technician(&self, t: &Technician) -> Result<()>;
    async fn technician(&self, id: TechnicianId) -> Result<Option<Technician>>;
    async fn technicians(&self) -> Result<Vec<Technician>>;
    async fn create_pairing_code(&self, tech: TechnicianId, code_hash: &str, expires_at: Timestamp) -> Result<()>;
    /// Trades an unexpired, unused code for a new device. With `previous`, the new device takes
    /// over that device of the same technician (revoking it); a code for another technician is
    /// then refused and stays unused.
    async fn redeem_pairing_code(&self, code_hash: &str, now: Timestamp, device: NewDevice) -> Result<Redeemed>;
    async fn revoke_device(&self, device: DeviceId) -> Result<bool>;
    /// The device and every device it took over (directly or through others): whose Automerge
    /// changes and items it may deliver.
    async fn device_lineage(&self, device: DeviceId) -> Result<Vec<DeviceId>>;
    async fn devices_of(&self, tech: TechnicianId) -> Result<Vec<DeviceRecord>>;
    /// Records when the device was last seen and what it said it still has to send (see
    /// `presence`, which calls this at most once a minute per device).
    async fn device_seen(&self, device: DeviceId, at: Timestamp, pending: shared::wire::PendingWork) -> Result<()>;
    async fn device_last_seen(&self, device: DeviceId) -> Result<Option<Timestamp>>;
    /// Receipts of the job's events the server found backdated.
    async fn backdated_events(&self, job: JobId) -> Result<Vec<EventReceipt>>;

    // --- documents ---
    async fn load_job(&self, job: JobId) -> Result<Option<(AutoCommit, AutoCommit)>>;
    async fn write_job(&self, write: JobWrite) -> Result<()>;
    /// Writes several jobs in one transaction: all or none, and one commit (one flush to disk)
    /// for the lot, which is what makes taking in a backlog of jobs fast.
    async fn write_jobs(&self, writes: Vec<JobWrite>) -> Result<()>;
    /// Jobs currently assigned to `tech` that belong on its phones: open ones, and those
    /// finished (closed, cancelled) at or after `finished_since`; with their digests (no document
    /// is loaded).
    async fn assigned_digests(&self, tech: TechnicianId, finished_since: Timestamp) -> Result<Vec<(JobId, Digest)>>;
    /// Whether `tech` was ever assigned `job` (a former assignee may still upload its work).
    async fn ever_assigned(&self, tech: TechnicianId, job: JobId) -> Result<bool>;
    async fn sync_state(&self, device: DeviceId, job: JobId, kind: DocKind) -> Result<Option<Vec<u8>>>;
    async fn put_sync_states(&self, device: DeviceId, states: Vec<(JobId, DocKind, Vec<u8>)>) -> Result<()>;
    async fn job_ids(&self) -> Result<Vec<JobId>>;

    // --- dispatcher views ---
    async fn job_row(&self, job: JobId) -> Result<Option<JobIndex>>;
    /// Jobs on the appliance with this serial, newest first (at most `limit`).
    async fn jobs_by_serial(&self, serial: &str, limit: usize) -> Result<Vec<JobIndex>>;
    /// Jobs matching `q` (area filtering to a bounding box; callers refine by distance).
    async fn list_jobs(&self, q: &JobQuery, now: Timestamp) -> Result<Vec<JobIndex>>;
    /// The KPI sums of the jobs created in `[from, to)`, one entry per group under `key`
    /// (groups without jobs are absent), summed in the database.
    async fn kpi_sums(&self, from: Timestamp, to: Timestamp, key: KpiKey) -> Result<Vec<(String, KpiSums)>>;
    async fn set_location(&self, tech: TechnicianId, at: GeoPoint, when: Timestamp) -> Result<()>;
    async fn location(&self, tech: TechnicianId) -> Result<Option<(GeoPoint, Timestamp)>>;
    /// Stores a new version of a reference kind; returns its number.
    /// Publishes the next version of `kind`. With `expected`, only if that is the next version
    /// (checked in the same transaction: two publishers at once cannot both win).
    async fn publish_reference(&self, kind: &str, json: String, expected: Option<u32>) -> Result<u32>;
    /// A version's JSON (`None` = newest).
    async fn reference(&self, kind: &str, version: Option<u32>) -> Result<Option<(u32, String)>>;
    async fn reference_versions(&self, kind: &str) -> Result<Vec<ReferenceVersion>>;
    /// The newest version of each of `kinds` that has one (one cheap query per sync round).
    async fn latest_reference_versions(&self, kinds: Vec<String>) -> Result<std::collections::HashMap<String, u32>>;

    // --- blobs ---
    /// Jobs whose documents name the blob (recorded with every [`JobWrite`]) and that hold it.
    async fn blob_jobs(&self, hash: &str) -> Result<Vec<JobId>>;
    /// Jobs whose documents name the blob, held or not.
    async fn blob_jobs_naming(&self, hash: &str) -> Result<Vec<JobId>>;
    /// Whether the job holds the blob: its bytes were uploaded (or proved) for it.
    async fn blob_held(&self, hash: &str, job: JobId) -> Result<bool>;
    async fn add_blob_holder(&self, hash: &str, job: JobId) -> Result<()>;
    /// Forgets who held a blob that no document names any more (its bytes are being deleted).
    async fn forget_blob(&self, hash: &str) -> Result<()>;

    // --- erasure ---
    /// Jobs of the customer with this key, erased or not.
    async fn jobs_of_customer(&self, key: &str) -> Result<Vec<JobId>>;
    /// Jobs last written before customer keys were kept (filled in with `set_customer_key`).
    async fn jobs_without_customer_key(&self) -> Result<Vec<JobId>>;
    async fn set_customer_key(&self, job: JobId, key: Option<String>) -> Result<()>;
    /// Replaces a job's documents with erased ones (`w.full`) in one transaction: its index row,
    /// the blobs it names, and no device sync state (they described the old history); technicians'
    /// last positions that were one of `places` (where they checked in at the customer's), and
    /// kept idempotent answers that name the job, go too. Freed
    /// pages are overwritten (`secure_delete`) and the write-ahead log emptied, so the old
    /// values are gone from the files too.
    async fn erase_job(&self, w: JobWrite, at: Timestamp, places: Vec<GeoPoint>) -> Result<()>;
    /// Every blob the job's documents ever named (held or not).
    async fn blobs_of_job(&self, job: JobId) -> Result<Vec<String>>;
    /// Which of `jobs` were erased.
    async fn erased_among(&self, jobs: Vec<JobId>) -> Result<Vec<JobId>>;
    /// Closed or cancelled jobs that finished before `before` and still hold personal data.
    async fn finished_unerased(&self, before: Timestamp, limit: u32) -> Result<Vec<JobId>>;

    // --- former assignees ---
    /// Rounds of work the device delivered on the job since it was told the job left its
    /// technician (`None`: not told yet).
    async fn former_rounds(&self, device: DeviceId, job: JobId) -> Result<Option<u32>>;
    /// Records the jobs the device was just told left it, and counts a round for those it
    /// delivered work on after being told.
    /// Only jobs ever assigned to `technician` are noted (a device may list any id).
    async fn note_former(
        &self,
        device: DeviceId,
        technician: TechnicianId,
        noticed: Vec<JobId>,
        delivered: Vec<JobId>,
        at: Timestamp,
    ) -> Result<()>;
}
