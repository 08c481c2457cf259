//! Blob storage: content-addressed, immutable, uploaded resumably (offset-based, tus-like) and
//! verified against its hash before it counts.
//!
//! An upload in progress belongs to the one who started it (its `upload` key, the job it is for):
//! two jobs uploading the same bytes each keep their own partial copy, so only the party that sent
//! every byte completes an upload, and [`Appended::published`] tells the caller that it did.
//! `upload` keys are made by the server (a job id), never a device's free text: ASCII letters,
//! digits and `-` only.

use async_trait::async_trait;
use shared::BlobHash;

/// Largest blob accepted (a downscaled photo is ~400 KB; a raw one that slipped through ~8 MB).
pub const BLOB_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// Largest single upload request body.
pub const BLOB_CHUNK_BYTES_MAX: usize = 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobStatus {
    Missing,
    Partial { offset: u64, total: u64 },
    Complete { size: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("upload offset {given} does not match the {expected} bytes already stored")]
    WrongOffset { given: u64, expected: u64 },
    #[error("declared length {0} is over the {BLOB_BYTES_MAX}-byte limit")]
    TooLarge(u64),
    #[error("upload would run past the declared length {total}")]
    PastEnd { total: u64 },
    #[error("the uploaded bytes do not hash to {0}; the upload was discarded")]
    HashMismatch(BlobHash),
    #[error("blob storage: {0}")]
    Io(#[from] std::io::Error),
    /// The storage service failed (an object store's answer, its network).
    #[error("blob storage: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What an append did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    pub status: BlobStatus,
    /// This call sent the last bytes and published the blob (its caller held all of it).
    pub published: bool,
}

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Complete, or how far the upload keyed `upload` has come.
    async fn status(&self, hash: &BlobHash, upload: &str) -> Result<BlobStatus, BlobError>;
    /// Appends `bytes` at `offset` of the `total`-byte upload keyed `upload`; verifies and
    /// publishes the blob when complete.
    async fn append(&self, hash: &BlobHash, upload: &str, offset: u64, total: u64, bytes: &[u8]) -> Result<Appended, BlobError>;
    async fn get(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>, BlobError>;
    /// Removes a blob (no document names it any more: erasure); `false` if it was not there.
    async fn delete(&self, hash: &BlobHash) -> Result<bool, BlobError>;
    /// Discards every unfinished upload made for `job` (erasure); returns how many.
    async fn discard_uploads_of(&self, job: &str) -> Result<usize, BlobError>;
}
