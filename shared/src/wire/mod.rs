//! The sync protocol's wire format: one place, versioned, bounded.
//!
//! A body is one version byte followed by a postcard-encoded message. A device sends every job it
//! holds as (id, 8-byte digest of both documents' heads), so an unchanged job costs 24 bytes and
//! the server touches no document for it; documents that differ are reconciled with Automerge's
//! sync protocol, many per round trip.

pub mod guard;
pub mod http;

use serde::{Deserialize, Serialize};

use crate::docs::DocKind;
use crate::ids::JobId;

/// 2: a van stock update says when it was counted. 3: refusals carry a typed code.
pub const WIRE_VERSION: u8 = 4;
/// Largest sync request or response body.
pub const SYNC_BODY_BYTES_MAX: usize = 8 * 1024 * 1024;
/// Jobs one device may hold / summarise in one request (240 KB of digests). Finished jobs leave
/// phones after a retention period, so a phone holds its open jobs and a month of finished ones,
/// far below this whatever its age.
pub const SYNC_JOBS_MAX: usize = 10_000;
/// Sync messages in one request.
pub const SYNC_MESSAGES_MAX: usize = 400;
/// One Automerge sync message.
pub const SYNC_MESSAGE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// 8 bytes of BLAKE3 over both documents' sorted heads: equal digests mean equal documents.
pub type Digest = [u8; 8];

pub fn digest(dispatch_heads: &[automerge::ChangeHash], field_heads: &[automerge::ChangeHash]) -> Digest {
    let mut h = blake3::Hasher::new();
    for heads in [dispatch_heads, field_heads] {
        let mut sorted: Vec<_> = heads.to_vec();
        sorted.sort();
        h.update(&(sorted.len() as u32).to_le_bytes());
        for head in sorted {
            h.update(&head.0);
        }
    }
    let mut out = [0; 8];
    out.copy_from_slice(&h.finalize().as_bytes()[..8]);
    out
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDigest {
    pub job: JobId,
    pub digest: Digest,
}

/// An Automerge sync message for one document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocMessage {
    pub job: JobId,
    pub kind: DocKind,
    pub message: Vec<u8>,
}

/// The heads a side has for a document after handling a round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocHeads {
    pub job: JobId,
    pub kind: DocKind,
    pub heads: Vec<[u8; 32]>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// Every job the device holds.
    pub jobs: Vec<JobDigest>,
    pub messages: Vec<DocMessage>,
    /// Versions of the reference data the device has (0 = none).
    pub reference: ReferenceVersions,
    /// What the device still has to send, as it counts it (shown to dispatchers).
    pub pending: PendingWork,
}

/// Work a device holds that the server has not confirmed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingWork {
    pub jobs: u32,
    pub blob_bytes: u64,
}

/// Versions of each kind of reference data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceVersions {
    pub catalog: u32,
    pub price_list: u32,
    pub knowledge_base: u32,
    pub van_stock: u32,
}

/// Newer reference data for the device (each part only when newer than what it has).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceUpdate {
    pub catalog: Option<crate::reference::Catalog>,
    pub price_list: Option<crate::reference::PriceList>,
    pub knowledge_base: Option<crate::reference::KnowledgeBase>,
    pub van_stock: Option<VanStock>,
}

/// The van stock a dispatcher set for the device's technician.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VanStock {
    pub version: u32,
    /// When the dispatcher recorded this count: parts the phone took out later (and the count
    /// cannot include) still come off it.
    pub counted_at: crate::Timestamp,
    pub lines: Vec<crate::reference::StockLine>,
}

/// A job the device does not have yet, sent whole (one round trip instead of three).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewJob {
    pub job: JobId,
    pub dispatch: Vec<u8>,
    pub field: Vec<u8>,
}

/// A document-level refusal inside an otherwise good request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocRefusal {
    pub job: JobId,
    pub kind: DocKind,
    pub code: RefusalCode,
    /// For people (logs, the detail line of the sync status); the code is what software reads.
    pub message: String,
}

/// Why the server did not store a document's message. Nothing of a refused message is stored; the
/// rest of the request is handled as usual.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// The job is not (or no longer, and never was) this technician's.
    NotAssigned,
    /// Devices do not write dispatch documents.
    DispatchReadOnly,
    /// A new change was made by another device's actor.
    ForeignActor,
    /// Not a sync message the server accepts (bad encoding, a whole document, a chunk type).
    MalformedMessage,
    /// The changes break the job's rules (who wrote what, append-only lists, text limits).
    InvalidDocument,
    /// Over a size or count limit (message, operations, the document as a whole).
    TooLarge,
    /// The server has no such job.
    NotFound,
    /// An event's time is too far from when the server received it.
    ClockSkew,
}

impl RefusalCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::NotAssigned => "not_assigned",
            RefusalCode::DispatchReadOnly => "dispatch_read_only",
            RefusalCode::ForeignActor => "foreign_actor",
            RefusalCode::MalformedMessage => "malformed_message",
            RefusalCode::InvalidDocument => "invalid_document",
            RefusalCode::TooLarge => "too_large",
            RefusalCode::NotFound => "not_found",
            RefusalCode::ClockSkew => "clock_skew",
        }
    }
}

impl std::fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    pub new_jobs: Vec<NewJob>,
    pub messages: Vec<DocMessage>,
    /// Server heads of every document handled this round: what the server now holds.
    pub heads: Vec<DocHeads>,
    /// Jobs no longer assigned to this device's technician: drop them once nothing is unsent.
    pub revoked: Vec<JobId>,
    pub refused: Vec<DocRefusal>,
    /// Jobs whose customer's data was erased: drop them now, unsent work and all (it holds what
    /// was erased; the server takes nothing more about them).
    pub erased: Vec<JobId>,
    /// The server held back work to stay within limits: sync again.
    pub more: bool,
    pub reference: ReferenceUpdate,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("empty body")]
    Empty,
    #[error("unsupported protocol version {0} (this side speaks {WIRE_VERSION})")]
    Version(u8),
    #[error("body of {0} bytes is over the {SYNC_BODY_BYTES_MAX}-byte limit")]
    TooLarge(usize),
    #[error("malformed body: {0}")]
    Malformed(String),
    #[error("{what}: {count} is over the limit of {max}")]
    TooMany { what: &'static str, count: usize, max: usize },
}

pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let mut out = vec![WIRE_VERSION];
    out.extend(postcard::to_stdvec(msg).expect("wire types always serialize"));
    out
}

pub fn decode<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, WireError> {
    if body.len() > SYNC_BODY_BYTES_MAX {
        return Err(WireError::TooLarge(body.len()));
    }
    let (&v, rest) = body.split_first().ok_or(WireError::Empty)?;
    if v != WIRE_VERSION {
        return Err(WireError::Version(v));
    }
    postcard::from_bytes(rest).map_err(|e| WireError::Malformed(e.to_string()))
}

impl SyncRequest {
    /// Checks the request's counts and sizes (after decoding, before any work).
    pub fn check_limits(&self) -> Result<(), WireError> {
        let too_many = |what, count, max| if count > max { Err(WireError::TooMany { what, count, max }) } else { Ok(()) };
        too_many("jobs", self.jobs.len(), SYNC_JOBS_MAX)?;
        too_many("messages", self.messages.len(), SYNC_MESSAGES_MAX)?;
        for m in &self.messages {
            too_many("message bytes", m.message.len(), SYNC_MESSAGE_BYTES_MAX)?;
        }
        Ok(())
    }
}

/// Pairing: a device trades a one-time code for its token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairRequest {
    /// The code the console shows (case and spaces around it do not matter).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 32, pattern = "\\S", example = "K7Q-4MX-2PD"))]
    pub code: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 50, example = "Li Ming's phone"))]
    pub device_name: String,
    /// The identity this phone held before, when it still holds that identity's unsent work (its
    /// token stopped working): the new device takes that work over, under the same technician.
    #[serde(default)]
    pub previous_device: Option<crate::DeviceId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairResponse {
    pub device_id: crate::DeviceId,
    pub technician_id: crate::TechnicianId,
    pub technician_name: String,
    /// Shown once; the server keeps only its hash.
    pub token: String,
}
