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

    /// What the server holds of `h`. An upload whose bookkeeping is unreadable (an empty or cut
    /// `.len` after a crash or a full disk, a `.part` longer than declared) is discarded, so it
    /// restarts from zero instead of failing forever.
    async fn status_unlocked(&self, h: &BlobHash) -> Result<BlobStatus, BlobError> {
        if let Ok(m) = tokio::fs::metadata(self.object(h)).await {
            return Ok(BlobStatus::Complete { size: m.len() });
        }
        let declared = match tokio::fs::read_to_string(self.partial(h, "len")).await {
            Ok(s) => s.trim().parse::<u64>().ok().filter(|&t| t > 0 && t <= BLOB_BYTES_MAX),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BlobStatus::Missing),
            Err(e) => return Err(e.into()),
        };
        let offset = match tokio::fs::metadata(self.partial(h, "part")).await {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e.into()),
        };
        match declared {
            Some(total) if offset <= total => Ok(BlobStatus::Partial { offset, total }),
            _ => {
                tracing::warn!(blob = %h, "discarding an upload with unreadable bookkeeping; it restarts from zero");
                self.discard(h).await?;
                Ok(BlobStatus::Missing)
            }
        }
    }

    async fn discard(&self, h: &BlobHash) -> Result<(), BlobError> {
        for ext in ["part", "len"] {
            match tokio::fs::remove_file(self.partial(h, ext)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    }

    /// Records a new upload's declared length durably (written, synced, then renamed into place:
    /// never seen half-written).
    async fn begin(&self, h: &BlobHash, total: u64) -> Result<(), BlobError> {
        let tmp = self.partial(h, "len.tmp");
        let mut f = tokio::fs::File::create(&tmp).await?;
        f.write_all(total.to_string().as_bytes()).await?;
        f.sync_all().await?;
        tokio::fs::rename(&tmp, self.partial(h, "len")).await?;
        sync_dir(self.root.join("partial")).await
    }
}

/// Makes a directory's entries (a rename, a new file) durable.
async fn sync_dir(dir: PathBuf) -> Result<(), BlobError> {
    tokio::task::spawn_blocking(move || std::fs::File::open(&dir)?.sync_all())
        .await
        .map_err(|e| BlobError::Io(std::io::Error::other(e)))?
        .map_err(BlobError::Io)
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
                self.begin(h, total).await?;
                0
            }
            BlobStatus::Partial { offset, total: stored } if stored == total => offset,
            BlobStatus::Partial { total: stored, .. } => {
                // The bytes are named by their hash, so the length is not in doubt for an honest
                // uploader: whichever declaration is wrong, starting over is what makes progress.
                tracing::warn!(blob = %h, declared = total, stored, "upload restarted with a new declared length");
                self.discard(h).await?;
                self.begin(h, total).await?;
                0
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
        // Durable before it is called complete: the bytes were synced with each append; the new
        // name is synced with its directory, so a power cut cannot take back a blob the phone was
        // told is safe (and may then delete).
        let dest = self.object(h);
        let dir = dest.parent().expect("object path has a parent").to_path_buf();
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::rename(&part, &dest).await?;
        sync_dir(dir).await?;
        sync_dir(self.root.join("objects")).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, FsBlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = FsBlobStore::open(dir.path()).unwrap();
        (dir, s)
    }

    #[tokio::test]
    async fn an_upload_with_broken_bookkeeping_restarts_instead_of_failing_forever() {
        let (_dir, s) = store().await;
        let bytes = b"a photo's bytes".repeat(100);
        let h = BlobHash::of(&bytes);
        let total = bytes.len() as u64;
        // A crash or a full disk left an empty length file, then a cut one, then a part longer
        // than declared: each time the upload starts over and completes.
        for (len_file, part) in [("", &b""[..]), ("1", &b"xx"[..]), ("3", &bytes[..10])] {
            std::fs::write(s.partial(&h, "len"), len_file).unwrap();
            std::fs::write(s.partial(&h, "part"), part).unwrap();
            assert_eq!(s.status(&h).await.unwrap(), BlobStatus::Missing, "{len_file:?}");
            assert_eq!(s.append(&h, 0, total, &bytes[..7]).await.unwrap(), BlobStatus::Partial { offset: 7, total });
            std::fs::remove_file(s.partial(&h, "part")).unwrap();
            std::fs::remove_file(s.partial(&h, "len")).unwrap();
        }
        // A different declared length mid-upload restarts it rather than refusing for good.
        s.append(&h, 0, total + 5, &bytes[..7]).await.unwrap();
        assert_eq!(s.append(&h, 0, total, &bytes).await.unwrap(), BlobStatus::Complete { size: total });
        assert_eq!(s.get(&h).await.unwrap().unwrap(), bytes);
    }
}
