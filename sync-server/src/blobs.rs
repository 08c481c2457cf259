//! Blobs as files in the data folder: the embedded deployment's [`BlobStore`] (the trait and its
//! rules are `onsite_store::blobs`; S3-compatible storage is `onsite-blobs-s3`).

use std::path::PathBuf;

use async_trait::async_trait;
use shared::BlobHash;
use tokio::io::AsyncWriteExt;

pub use onsite_store::blobs::{Appended, BLOB_BYTES_MAX, BLOB_CHUNK_BYTES_MAX, BlobError, BlobStatus, BlobStore};

/// Blobs as files: `objects/ab/abcdef…` when complete, `partial/abcdef….{upload}.{part,len}` while
/// uploading.
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

    /// `upload` is a job id or another key the server makes (never a device's free text).
    fn partial(&self, h: &BlobHash, upload: &str, ext: &str) -> PathBuf {
        debug_assert!(upload.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'), "upload key {upload:?}");
        self.root.join("partial").join(format!("{}.{upload}.{ext}", h.as_str()))
    }

    fn lock(&self, h: &BlobHash) -> &tokio::sync::Mutex<()> {
        let b = h.as_str().as_bytes();
        &self.locks[(b[0] as usize * 31 + b[1] as usize) % self.locks.len()]
    }

    /// What the server holds of `h`. An upload whose bookkeeping is unreadable (an empty or cut
    /// `.len` after a crash or a full disk, a `.part` longer than declared) is discarded, so it
    /// restarts from zero instead of failing forever.
    async fn status_unlocked(&self, h: &BlobHash, upload: &str) -> Result<BlobStatus, BlobError> {
        if let Ok(m) = tokio::fs::metadata(self.object(h)).await {
            return Ok(BlobStatus::Complete { size: m.len() });
        }
        let declared = match tokio::fs::read_to_string(self.partial(h, upload, "len")).await {
            Ok(s) => s.trim().parse::<u64>().ok().filter(|&t| t > 0 && t <= BLOB_BYTES_MAX),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BlobStatus::Missing),
            Err(e) => return Err(e.into()),
        };
        let offset = match tokio::fs::metadata(self.partial(h, upload, "part")).await {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e.into()),
        };
        match declared {
            Some(total) if offset <= total => Ok(BlobStatus::Partial { offset, total }),
            _ => {
                tracing::warn!(blob = %h, "discarding an upload with unreadable bookkeeping; it restarts from zero");
                self.discard(h, upload).await?;
                Ok(BlobStatus::Missing)
            }
        }
    }

    async fn discard(&self, h: &BlobHash, upload: &str) -> Result<(), BlobError> {
        for ext in ["part", "len"] {
            match tokio::fs::remove_file(self.partial(h, upload, ext)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    }

    /// Records a new upload's declared length durably (written, synced, then renamed into place:
    /// never seen half-written).
    async fn begin(&self, h: &BlobHash, upload: &str, total: u64) -> Result<(), BlobError> {
        let tmp = self.partial(h, upload, "len.tmp");
        let mut f = tokio::fs::File::create(&tmp).await?;
        f.write_all(total.to_string().as_bytes()).await?;
        f.sync_all().await?;
        tokio::fs::rename(&tmp, self.partial(h, upload, "len")).await?;
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
    async fn status(&self, hash: &BlobHash, upload: &str) -> Result<BlobStatus, BlobError> {
        let _g = self.lock(hash).lock().await;
        self.status_unlocked(hash, upload).await
    }

    async fn discard_uploads_of(&self, job: &str) -> Result<usize, BlobError> {
        let marker = format!(".{job}.");
        let mut dir = tokio::fs::read_dir(self.root.join("partial")).await?;
        let mut n = 0;
        while let Some(entry) = dir.next_entry().await? {
            if entry.file_name().to_string_lossy().contains(&marker) {
                tokio::fs::remove_file(entry.path()).await?;
                n += 1;
            }
        }
        Ok(n)
    }

    async fn delete(&self, hash: &BlobHash) -> Result<bool, BlobError> {
        let _g = self.lock(hash).lock().await;
        let path = self.object(hash);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {
                // The removal survives a crash like a publish does.
                if let Some(dir) = path.parent() {
                    tokio::fs::File::open(dir).await?.sync_all().await?;
                }
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn append(&self, h: &BlobHash, upload: &str, offset: u64, total: u64, bytes: &[u8]) -> Result<Appended, BlobError> {
        if total > BLOB_BYTES_MAX {
            return Err(BlobError::TooLarge(total));
        }
        let _g = self.lock(h).lock().await;
        let current = match self.status_unlocked(h, upload).await? {
            // Someone published it; this call proves nothing about holding the bytes.
            done @ BlobStatus::Complete { .. } => return Ok(Appended { status: done, published: false }),
            BlobStatus::Missing => {
                self.begin(h, upload, total).await?;
                0
            }
            BlobStatus::Partial { offset, total: stored } if stored == total => offset,
            BlobStatus::Partial { total: stored, .. } => {
                // The bytes are named by their hash, so the length is not in doubt for an honest
                // uploader: whichever declaration is wrong, starting over is what makes progress.
                tracing::warn!(blob = %h, declared = total, stored, "upload restarted with a new declared length");
                self.discard(h, upload).await?;
                self.begin(h, upload, total).await?;
                0
            }
        };
        if offset != current {
            return Err(BlobError::WrongOffset { given: offset, expected: current });
        }
        if offset + bytes.len() as u64 > total {
            return Err(BlobError::PastEnd { total });
        }
        let part = self.partial(h, upload, "part");
        if !bytes.is_empty() {
            let mut f = tokio::fs::OpenOptions::new().create(true).append(true).open(&part).await?;
            f.write_all(bytes).await?;
            f.sync_data().await?;
        }
        let now = offset + bytes.len() as u64;
        if now < total {
            return Ok(Appended { status: BlobStatus::Partial { offset: now, total }, published: false });
        }
        // All bytes are here (possibly from an attempt cut off before it could finish): verify
        // and publish. An empty append at the end is how a client asks for exactly this.
        let data =
            tokio::fs::read(&part).await.or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(Vec::new()) } else { Err(e) })?;
        if !h.matches(&data) {
            let _ = tokio::fs::remove_file(&part).await;
            let _ = tokio::fs::remove_file(self.partial(h, upload, "len")).await;
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
        let _ = tokio::fs::remove_file(self.partial(h, upload, "len")).await;
        Ok(Appended { status: BlobStatus::Complete { size: total }, published: true })
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
            std::fs::write(s.partial(&h, "j", "len"), len_file).unwrap();
            std::fs::write(s.partial(&h, "j", "part"), part).unwrap();
            assert_eq!(s.status(&h, "j").await.unwrap(), BlobStatus::Missing, "{len_file:?}");
            assert_eq!(s.append(&h, "j", 0, total, &bytes[..7]).await.unwrap().status, BlobStatus::Partial { offset: 7, total });
            std::fs::remove_file(s.partial(&h, "j", "part")).unwrap();
            std::fs::remove_file(s.partial(&h, "j", "len")).unwrap();
        }
        // A different declared length mid-upload restarts it rather than refusing for good.
        s.append(&h, "j", 0, total + 5, &bytes[..7]).await.unwrap();
        assert_eq!(
            s.append(&h, "j", 0, total, &bytes).await.unwrap(),
            Appended { status: BlobStatus::Complete { size: total }, published: true }
        );
        assert_eq!(s.get(&h).await.unwrap().unwrap(), bytes);
    }

    #[tokio::test]
    async fn only_the_upload_that_sent_every_byte_publishes() {
        let (_dir, s) = store().await;
        let bytes = b"someone else's photo".repeat(50);
        let h = BlobHash::of(&bytes);
        let total = bytes.len() as u64;
        // Job a uploads all but the end; job b knows the hash and the length, nothing else.
        s.append(&h, "a", 0, total, &bytes[..100]).await.unwrap();
        assert_eq!(s.status(&h, "b").await.unwrap(), BlobStatus::Missing, "b sees nothing of a's upload");
        let b = s.append(&h, "b", 0, total, &[]).await.unwrap();
        assert_eq!(b, Appended { status: BlobStatus::Partial { offset: 0, total }, published: false });
        // a finishes (even after a crash left every byte but no name): a published it.
        let a = s.append(&h, "a", 100, total, &bytes[100..]).await.unwrap();
        assert!(a.published);
        // b's empty append at the end afterwards: complete, but not b's doing.
        assert_eq!(
            s.append(&h, "b", total, total, &[]).await.unwrap(),
            Appended { status: BlobStatus::Complete { size: total }, published: false }
        );
    }
}
