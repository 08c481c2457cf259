//! Blobs (photos, thumbnails) kept in the database itself, so a photo and the edit that
//! references it commit together: there is never a photo in a document whose bytes are missing.

use rusqlite::{OptionalExtension, params};
use shared::edit::FieldEdit;
use shared::model::{Photo, PhotoKind};
use shared::{BlobHash, ItemId, JobId, Timestamp};

use super::jobs::{JobView, field_edit_in};
use super::{Result, Store, StoreError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobState {
    /// Not yet (fully) on the server; `uploaded` bytes of it are.
    Pending {
        uploaded: u64,
    },
    Uploaded,
}

/// A blob still to upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingBlob {
    pub hash: BlobHash,
    pub job_id: JobId,
    pub mime: String,
    pub size: u64,
    pub uploaded: u64,
}

pub use shared::photo::ReadyPhoto;

impl Store {
    /// Keeps a photo's bytes and adds it to the job, in one transaction.
    pub fn add_photo(&mut self, job: JobId, kind: PhotoKind, caption: &str, photo: ReadyPhoto) -> Result<JobView> {
        let actor = self.actor()?;
        let now = Timestamp::now();
        let job_id = job.to_string();
        let (blob, thumbnail) = (BlobHash::of(&photo.jpeg), BlobHash::of(&photo.thumbnail));
        let tx = self.conn.transaction()?;
        for (hash, bytes) in [(&blob, &photo.jpeg), (&thumbnail, &photo.thumbnail)] {
            tx.execute(
                "INSERT OR IGNORE INTO blobs (hash, job_id, mime, bytes, size, state, created_at)
                 VALUES (?1, ?2, 'image/jpeg', ?3, ?4, 'pending', ?5)",
                params![hash.as_str(), job_id, bytes, bytes.len() as i64, now.0],
            )?;
        }
        let edit = FieldEdit::AddPhoto {
            photo: Photo {
                id: ItemId::new(),
                at: now,
                kind,
                blob,
                thumbnail,
                width: photo.width,
                height: photo.height,
                caption: caption.to_owned(),
            },
        };
        fail::fail_point!("store::photo_blobs_written");
        let view = field_edit_in(&tx, &job_id, &actor, now, edit)?;
        fail::fail_point!("store::before_commit");
        tx.commit()?;
        Ok(view)
    }

    /// A blob's bytes, verified against its hash (a damaged blob is reported, never served).
    pub fn blob(&self, hash: &BlobHash) -> Result<Option<Vec<u8>>> {
        let bytes: Option<Vec<u8>> =
            self.conn.query_row("SELECT bytes FROM blobs WHERE hash = ?1", [hash.as_str()], |r| r.get(0)).optional()?;
        match bytes {
            Some(b) if !hash.matches(&b) => Err(StoreError::BlobMismatch),
            other => Ok(other),
        }
    }

    /// Keeps a blob downloaded from the server (already verified by the caller or here).
    pub fn put_remote_blob(&mut self, job: JobId, hash: &BlobHash, mime: &str, bytes: &[u8]) -> Result<()> {
        if !hash.matches(bytes) {
            return Err(StoreError::BlobMismatch);
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO blobs (hash, job_id, mime, bytes, size, uploaded, state, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5, 'uploaded', ?6)",
            params![hash.as_str(), job.to_string(), mime, bytes, bytes.len() as i64, Timestamp::now().0],
        )?;
        tx.execute("DELETE FROM blob_wants WHERE hash = ?1", [hash.as_str()])?;
        tx.commit()?;
        Ok(())
    }

    /// Blobs the documents name that this device still has to download (thumbnails first, so a
    /// slow connection shows something early), with the job each belongs to.
    pub fn wanted_blobs(&self) -> Result<Vec<(JobId, BlobHash)>> {
        let mut stmt = self.conn.prepare_cached("SELECT job_id, hash FROM blob_wants ORDER BY rowid")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (job, hash) = row?;
            if let (Ok(job), Ok(hash)) = (job.parse(), hash.parse()) {
                out.push((job, hash));
            }
        }
        Ok(out)
    }

    pub fn blob_state(&self, hash: &BlobHash) -> Result<Option<BlobState>> {
        Ok(self
            .conn
            .query_row("SELECT state, uploaded FROM blobs WHERE hash = ?1", [hash.as_str()], |r| {
                let state: String = r.get(0)?;
                let uploaded: i64 = r.get(1)?;
                Ok(if state == "uploaded" { BlobState::Uploaded } else { BlobState::Pending { uploaded: uploaded as u64 } })
            })
            .optional()?)
    }

    /// Blobs not yet on the server, oldest first.
    pub fn pending_blobs(&self) -> Result<Vec<PendingBlob>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT hash, job_id, mime, size, uploaded FROM blobs WHERE state = 'pending' ORDER BY created_at, hash")?;
        let rows = stmt.query_map([], |r| {
            let hash: String = r.get(0)?;
            let job: String = r.get(1)?;
            Ok((hash, job, r.get::<_, String>(2)?, r.get::<_, i64>(3)?, r.get::<_, i64>(4)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (hash, job, mime, size, uploaded) = row?;
            let (Ok(hash), Ok(job_id)) = (hash.parse(), job.parse()) else { continue };
            out.push(PendingBlob { hash, job_id, mime, size: size as u64, uploaded: uploaded as u64 });
        }
        Ok(out)
    }

    /// Total bytes still to upload (for the honest sync indicator).
    pub fn pending_blob_bytes(&self) -> Result<u64> {
        pending_blob_bytes(&self.conn)
    }

    /// Records upload progress; `uploaded == size` marks the blob as on the server.
    pub fn set_blob_uploaded(&mut self, hash: &BlobHash, uploaded: u64) -> Result<()> {
        self.conn.execute(
            "UPDATE blobs SET uploaded = min(?2, size),
                              state = CASE WHEN ?2 >= size THEN 'uploaded' ELSE 'pending' END
             WHERE hash = ?1",
            params![hash.as_str(), uploaded as i64],
        )?;
        Ok(())
    }
}

pub(super) fn pending_blob_bytes(conn: &rusqlite::Connection) -> Result<u64> {
    let n: i64 = conn.query_row("SELECT coalesce(sum(size - uploaded), 0) FROM blobs WHERE state = 'pending'", [], |r| r.get(0))?;
    Ok(n as u64)
}
