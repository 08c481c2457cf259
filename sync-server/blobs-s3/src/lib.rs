//! Blobs in S3-compatible object storage: what several server instances share when one machine's
//! disk is not enough (AWS S3, Aliyun OSS, Tencent COS, Huawei OBS, Cloudflare R2, Garage,
//! SeaweedFS, Ceph, MinIO).
//!
//! Layout under the configured prefix:
//! - `objects/ab/<hash>` — a complete blob, verified against its hash before it was written;
//! - `partial/<upload>/<hash>/<total>/<offset>` — the pieces of an upload in progress, one object
//!   per append (the offset zero-padded, so a listing sorts them); by upload key first, so a
//!   job's unfinished uploads are one prefix to list when it is erased. Pieces of abandoned
//!   uploads stay until then: a bucket lifecycle rule expiring `<prefix>partial/` after a few days
//!   is safe (an expired piece only makes its upload start over).
//!
//! Nothing here needs a conditional PUT (Aliyun OSS answers 501 to `If-None-Match`) or a
//! rename: a blob's name is its hash, so two instances publishing the same blob write the same
//! bytes, and an upload's progress is read back from the listing of its pieces, whichever
//! instance stored them. Pieces that do not line up (two instances appended at once, a crash
//! between writes) make the upload start over from zero, as the file store does with unreadable
//! bookkeeping: the client asks where to resume and sends again.

mod settings;

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use onsite_store::blobs::{Appended, BLOB_BYTES_MAX, BlobError, BlobStatus, BlobStore};
use shared::BlobHash;

pub use settings::S3Settings;

/// Most pieces one upload keeps: the app sends 256 KiB at a time, so a 16 MiB blob takes 64.
/// A status is then one listing page and a blob at most this many reads, whatever a device sends.
pub const PIECES_MAX: usize = 64;

/// Blobs in a bucket (or any other `object_store` backend).
pub struct S3BlobStore {
    store: Arc<dyn ObjectStore>,
    /// Where this deployment's keys start (`""` or ending in `/`).
    prefix: String,
    /// One append per blob at a time within this instance (striped by hash); across instances the
    /// listing decides (see the crate's documentation).
    locks: Vec<tokio::sync::Mutex<()>>,
}

/// One stored piece of an upload.
#[derive(Debug)]
struct Piece {
    location: Path,
    total: Option<u64>,
    offset: Option<u64>,
    size: u64,
}

fn backend(e: object_store::Error) -> BlobError {
    BlobError::Backend(Box::new(e))
}

impl S3BlobStore {
    /// A store over `store`, its keys under `prefix` (e.g. `"onsite/"`; empty for the whole bucket).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Self {
        let prefix = match prefix.trim_matches('/') {
            "" => String::new(),
            p => format!("{p}/"),
        };
        Self { store, prefix, locks: (0..64).map(|_| tokio::sync::Mutex::new(())).collect() }
    }

    /// Connects to the bucket `settings` name and checks that it answers, so a wrong endpoint,
    /// bucket or key is reported at start rather than at the first photo.
    pub async fn connect(settings: &S3Settings) -> Result<Self, BlobError> {
        let store = settings.build().map_err(backend)?;
        let s = Self::new(Arc::new(store), &settings.prefix);
        s.store
            .list_with_delimiter(Some(&s.path("objects")))
            .await
            .map_err(|e| BlobError::Backend(format!("bucket {:?} at {}: {e}", settings.bucket, settings.endpoint_label()).into()))?;
        Ok(s)
    }

    fn path(&self, rest: &str) -> Path {
        Path::from(format!("{}{rest}", self.prefix))
    }

    fn object(&self, h: &BlobHash) -> Path {
        self.path(&format!("objects/{}/{}", &h.as_str()[..2], h.as_str()))
    }

    /// Where the pieces of one upload live. `upload` is a job id or another key the server makes.
    fn upload_dir(&self, h: &BlobHash, upload: &str) -> Path {
        debug_assert!(upload.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'), "upload key {upload:?}");
        self.path(&format!("partial/{upload}/{}", h.as_str()))
    }

    fn piece(&self, h: &BlobHash, upload: &str, total: u64, offset: u64) -> Path {
        self.path(&format!("partial/{upload}/{}/{total}/{offset:010}", h.as_str()))
    }

    fn lock(&self, h: &BlobHash) -> &tokio::sync::Mutex<()> {
        let b = h.as_str().as_bytes();
        &self.locks[(b[0] as usize * 31 + b[1] as usize) % self.locks.len()]
    }

    async fn pieces(&self, h: &BlobHash, upload: &str) -> Result<Vec<Piece>, BlobError> {
        let dir = self.upload_dir(h, upload);
        let metas: Vec<_> = self.store.list(Some(&dir)).try_collect().await.map_err(backend)?;
        let mut pieces: Vec<Piece> = metas
            .into_iter()
            .map(|m| {
                let mut parts = m.location.parts().skip(dir.parts().count());
                let total = parts.next().and_then(|p| p.as_ref().parse().ok());
                let offset = parts.next().and_then(|p| p.as_ref().parse().ok());
                Piece { total, offset, size: m.size, location: m.location }
            })
            .collect();
        pieces.sort_by_key(|p| p.offset);
        Ok(pieces)
    }

    async fn discard(&self, pieces: Vec<Piece>) -> Result<(), BlobError> {
        for p in pieces {
            match self.store.delete(&p.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(backend(e)),
            }
        }
        Ok(())
    }

    /// What the server holds of `h` for `upload`, with the pieces read (to publish or discard).
    /// Pieces that do not line up from zero under one declared length are discarded: the upload
    /// starts over instead of failing forever.
    async fn status_unlocked(&self, h: &BlobHash, upload: &str) -> Result<(BlobStatus, Vec<Piece>), BlobError> {
        match self.store.head(&self.object(h)).await {
            Ok(meta) => return Ok((BlobStatus::Complete { size: meta.size }, Vec::new())),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(backend(e)),
        }
        let pieces = self.pieces(h, upload).await?;
        let Some(total) = pieces.first().and_then(|p| p.total) else {
            if !pieces.is_empty() {
                tracing::warn!(blob = %h, "discarding an upload whose pieces are unreadable; it restarts from zero");
                self.discard(pieces).await?;
            }
            return Ok((BlobStatus::Missing, Vec::new()));
        };
        let mut offset = 0u64;
        let lined_up = total > 0
            && total <= BLOB_BYTES_MAX
            && pieces.iter().all(|p| {
                let here = p.total == Some(total) && p.offset == Some(offset) && p.size > 0;
                offset += p.size;
                here
            })
            && offset <= total;
        if !lined_up {
            tracing::warn!(blob = %h, "discarding an upload whose pieces do not line up; it restarts from zero");
            self.discard(pieces).await?;
            return Ok((BlobStatus::Missing, Vec::new()));
        }
        Ok((BlobStatus::Partial { offset, total }, pieces))
    }

    /// The bytes of `pieces` in order, then `last` (not stored as a piece: it completes the blob).
    async fn assemble(&self, pieces: &[Piece], last: &[u8], total: u64) -> Result<Vec<u8>, BlobError> {
        let mut data = Vec::with_capacity(total as usize);
        for p in pieces {
            let bytes = self.store.get(&p.location).await.map_err(backend)?.bytes().await.map_err(backend)?;
            data.extend_from_slice(&bytes);
        }
        data.extend_from_slice(last);
        Ok(data)
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn status(&self, hash: &BlobHash, upload: &str) -> Result<BlobStatus, BlobError> {
        let _g = self.lock(hash).lock().await;
        Ok(self.status_unlocked(hash, upload).await?.0)
    }

    async fn append(&self, h: &BlobHash, upload: &str, offset: u64, total: u64, bytes: &[u8]) -> Result<Appended, BlobError> {
        if total > BLOB_BYTES_MAX {
            return Err(BlobError::TooLarge(total));
        }
        let _g = self.lock(h).lock().await;
        let (status, mut pieces) = self.status_unlocked(h, upload).await?;
        let current = match status {
            // Someone published it; this call proves nothing about holding the bytes.
            done @ BlobStatus::Complete { .. } => return Ok(Appended { status: done, published: false }),
            BlobStatus::Missing => 0,
            BlobStatus::Partial { offset, total: stored } if stored == total => offset,
            BlobStatus::Partial { total: stored, .. } => {
                // The bytes are named by their hash, so an honest uploader never changes the
                // length: whichever declaration is wrong, starting over is what makes progress.
                tracing::warn!(blob = %h, declared = total, stored, "upload restarted with a new declared length");
                self.discard(std::mem::take(&mut pieces)).await?;
                0
            }
        };
        if offset != current {
            return Err(BlobError::WrongOffset { given: offset, expected: current });
        }
        let now = offset + bytes.len() as u64;
        if now > total {
            return Err(BlobError::PastEnd { total });
        }
        if now < total {
            if !bytes.is_empty() && pieces.len() >= PIECES_MAX {
                // A request carries at most 1 MiB, so "send the rest at once" cannot always be
                // done: the upload starts over instead, and the client resends from zero.
                tracing::warn!(blob = %h, pieces = pieces.len(), "upload sent in too many pieces; it restarts from zero");
                self.discard(pieces).await?;
                return Err(BlobError::WrongOffset { given: offset, expected: 0 });
            }
            if !bytes.is_empty() {
                self.store.put(&self.piece(h, upload, total, offset), bytes.to_vec().into()).await.map_err(backend)?;
            }
            return Ok(Appended { status: BlobStatus::Partial { offset: now, total }, published: false });
        }
        // The last bytes: the blob is verified from the pieces plus these (never stored as a
        // piece: a photo sent in one request costs one PUT), then published under its hash.
        let data = self.assemble(&pieces, bytes, total).await?;
        if data.len() as u64 != total {
            // A piece changed between the listing and the reads (another instance): start over.
            self.discard(pieces).await?;
            return Err(BlobError::WrongOffset { given: offset, expected: 0 });
        }
        if !h.matches(&data) {
            self.discard(pieces).await?;
            return Err(BlobError::HashMismatch(h.clone()));
        }
        // Acknowledged by the service only once stored durably: a phone told "safe" may delete.
        self.store.put(&self.object(h), data.into()).await.map_err(backend)?;
        if let Err(e) = self.discard(pieces).await {
            // The blob is safe; leftover pieces are only space, removed with the job's uploads
            // when it is erased (or by the bucket's lifecycle rule).
            tracing::warn!(blob = %h, error = %e, "published, but an upload piece could not be removed");
        }
        Ok(Appended { status: BlobStatus::Complete { size: total }, published: true })
    }

    async fn get(&self, h: &BlobHash) -> Result<Option<Vec<u8>>, BlobError> {
        let got = match self.store.get(&self.object(h)).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(backend(e)),
        };
        // A blob is at most BLOB_BYTES_MAX: checked before it is read into memory.
        if got.meta.size > BLOB_BYTES_MAX {
            return Err(BlobError::TooLarge(got.meta.size));
        }
        let bytes = got.bytes().await.map_err(backend)?;
        // Verified on the way out too: an object damaged or replaced in the bucket is never
        // served as good.
        if h.matches(&bytes) { Ok(Some(bytes.to_vec())) } else { Err(BlobError::HashMismatch(h.clone())) }
    }

    async fn delete(&self, h: &BlobHash) -> Result<bool, BlobError> {
        let _g = self.lock(h).lock().await;
        let path = self.object(h);
        // S3 answers a DELETE of a missing key with success: ask first, so the answer is true.
        match self.store.head(&path).await {
            Ok(_) => {}
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(backend(e)),
        }
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(true),
            Err(e) => Err(backend(e)),
        }
    }

    async fn discard_uploads_of(&self, job: &str) -> Result<usize, BlobError> {
        let mut listing = self.store.list(Some(&self.path(&format!("partial/{job}"))));
        let mut n = 0;
        while let Some(meta) = listing.try_next().await.map_err(backend)? {
            match self.store.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => n += 1,
                Err(e) => return Err(backend(e)),
            }
        }
        Ok(n)
    }
}
