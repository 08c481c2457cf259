//! The sync protocol's wire format: one place, versioned, bounded.
//!
//! A body is one version byte followed by a postcard-encoded message. A device sends every job it
//! holds as (id, 8-byte digest of both documents' heads), so an unchanged job costs 24 bytes and
//! the server touches no document for it; documents that differ are reconciled with Automerge's
//! sync protocol, many per round trip.

use serde::{Deserialize, Serialize};

use crate::docs::DocKind;
use crate::ids::JobId;

/// 2: a van stock update says when it was counted.
pub const WIRE_VERSION: u8 = 2;
/// Largest sync request or response body.
pub const SYNC_BODY_BYTES_MAX: usize = 8 * 1024 * 1024;
/// Jobs one device may hold / summarise in one request.
pub const SYNC_JOBS_MAX: usize = 2_000;
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
    /// Machine-readable: `not_assigned`, `dispatch_read_only`, `foreign_actor`, `malformed_message`,
    /// `invalid_document`, `too_large`.
    pub code: String,
    pub message: String,
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
pub struct PairRequest {
    pub code: String,
    pub device_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairResponse {
    pub device_id: crate::DeviceId,
    pub technician_id: crate::TechnicianId,
    pub technician_name: String,
    /// Shown once; the server keeps only its hash.
    pub token: String,
}
