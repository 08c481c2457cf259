//! Blob storage: content-addressed, immutable, uploaded resumably (offset-based, tus-like) and
//! verified against its hash before it counts.

use std::path::PathBuf;

use async_trait::async_trait;
use shared::BlobHash;
use tokio::io::AsyncWriteExt;

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
    #[error("declared length {declared} differs from the {stored} bytes the upload began with")]
    LengthChanged { declared: u64, stored: u64 },
    #[error("the uploaded bytes do not hash to {0}; the upload was discarded")]
    HashMismatch(BlobHash),
    #[error("blob storage: {0}")]
    Io(#[from] std::io::Error),
}

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    async fn status(&self, hash: &BlobHash) -> Result<BlobStatus, BlobError>;
    /// Appends `bytes` at `offset` of a `total`-byte blob; verifies and publishes it when complete.
    async fn append(&self, hash: &BlobHash, offset: u64, total: u64, bytes: &[u8]) -> Result<BlobStatus, BlobError>;
    async fn get(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>, BlobError>;
}

/// Blobs as files: `objects/ab/abcdef…` when complete, `partial/abcdef….{part,len}` while uploading.
pub struct FsBlobStore {
    root: PathBuf,
    /// One upload per blob at a time (striped by hash).
    locks: Vec<tokio::sync::Mutex<()>>,
}

impl FsBlobStore {
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("objects"))?;
        std::fs::create_dir_all(root.join("partial"))?;
        Ok(Self { root, locks: (0..64).map(|_| tokio::sync::Mutex::new(())).collect() })
    }

    fn object(&self, h: &BlobHash) -> PathBuf {
        self.root.join("objects").join(&h.as_str()[..2]).join(h.as_str())
    }

    fn partial(&self, h: &BlobHash, ext: &str) -> PathBuf {
        self.root.join("partial").join(format!("{}.{ext}", h.as_str()))
    }

    fn lock(&self, h: &BlobHash) -> &tokio::sync::Mutex<()> {
        let b = h.as_str().as_bytes();
        &self.locks[(b[0] as usize * 31 + b[1] as usize) % self.locks.len()]
    }

    async fn status_unlocked(&self, h: &BlobHash) -> Result<BlobStatus, BlobError> {
        if let Ok(m) = tokio::fs::metadata(self.object(h)).await {
            return Ok(BlobStatus::Complete { size: m.len() });
        }
        let Ok(total) = tokio::fs::read_to_string(self.partial(h, "len")).await else {
            return Ok(BlobStatus::Missing);
        };
        let total: u64 = total.trim().parse().unwrap_or(0);
        let offset = tokio::fs::metadata(self.partial(h, "part")).await.map(|m| m.len()).unwrap_or(0);
        Ok(BlobStatus::Partial { offset, total })
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn status(&self, hash: &BlobHash) -> Result<BlobStatus, BlobError> {
        let _g = self.lock(hash).lock().await;
        self.status_unlocked(hash).await
    }

    async fn append(&self, h: &BlobHash, offset: u64, total: u64, bytes: &[u8]) -> Result<BlobStatus, BlobError> {
        if total > BLOB_BYTES_MAX {
            return Err(BlobError::TooLarge(total));
        }
        let _g = self.lock(h).lock().await;
        let current = match self.status_unlocked(h).await? {
            done @ BlobStatus::Complete { .. } => return Ok(done), // idempotent re-upload
            BlobStatus::Missing => {
                tokio::fs::write(self.partial(h, "len"), total.to_string()).await?;
                0
            }
            BlobStatus::Partial { offset, total: stored } => {
                if stored != total {
                    return Err(BlobError::LengthChanged { declared: total, stored });
                }
                offset
            }
        };
        if offset != current {
            return Err(BlobError::WrongOffset { given: offset, expected: current });
        }
        if offset + bytes.len() as u64 > total {
            return Err(BlobError::PastEnd { total });
        }
        let part = self.partial(h, "part");
        if !bytes.is_empty() {
            let mut f = tokio::fs::OpenOptions::new().create(true).append(true).open(&part).await?;
            f.write_all(bytes).await?;
            f.sync_data().await?;
        }
        let now = offset + bytes.len() as u64;
        if now < total {
            return Ok(BlobStatus::Partial { offset: now, total });
        }
        // All bytes are here (possibly from an attempt cut off before it could finish): verify
        // and publish. An empty append at the end is how a client asks for exactly this.
        let data =
            tokio::fs::read(&part).await.or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(Vec::new()) } else { Err(e) })?;
        if !h.matches(&data) {
            let _ = tokio::fs::remove_file(&part).await;
            let _ = tokio::fs::remove_file(self.partial(h, "len")).await;
            return Err(BlobError::HashMismatch(h.clone()));
        }
        let dest = self.object(h);
        tokio::fs::create_dir_all(dest.parent().expect("object path has a parent")).await?;
        tokio::fs::rename(&part, &dest).await?;
        let _ = tokio::fs::remove_file(self.partial(h, "len")).await;
        Ok(BlobStatus::Complete { size: total })
    }

    async fn get(&self, h: &BlobHash) -> Result<Option<Vec<u8>>, BlobError> {
        match tokio::fs::read(self.object(h)).await {
            // Verified on the way out too: a blob damaged on disk is never served as good.
            Ok(b) if h.matches(&b) => Ok(Some(b)),
            Ok(_) => Err(BlobError::HashMismatch(h.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
