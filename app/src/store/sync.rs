//! What the sync client needs from the store: digests, pending work, applying the server's
//! messages, confirmations and dropping jobs that left this device.

use std::collections::HashMap;

use automerge::AutoCommit;
use automerge::sync::{Message, State as SyncState, SyncDoc};
use rusqlite::{OptionalExtension, params};
use shared::JobId;
use shared::docs::{DocKind, load, read_dispatch, read_field};
use shared::wire::{Digest, JobDigest};

use super::docs::load_doc;
use super::jobs::{JobView, edit_in};
use super::{Result, Store, StoreError};

/// Something the last sync could not do for one job, kept until the next sync.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum JobProblem {
    /// The server refused this job's changes (nothing of them was stored there; they stay here).
    Refused { code: shared::wire::RefusalCode, message: String },
    /// A photo of this job could not be sent; it is tried again every sync.
    PhotoNotSent { error: String },
    /// This phone could not take the job as the server sent it.
    CannotTake { error: String },
}

fn digest_of(v: Option<Vec<u8>>) -> Option<Digest> {
    v.and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
}

/// Jobs whose field document holds changes the server has not confirmed.
pub(super) fn pending_field_jobs(conn: &rusqlite::Connection) -> Result<u64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM jobs WHERE confirmed_field_digest IS NULL OR field_digest != confirmed_field_digest",
        [],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

impl Store {
    /// Every job on the device with the digest of its documents (what the server compares).
    pub fn sync_summaries(&self) -> Result<Vec<JobDigest>> {
        let mut stmt = self.conn.prepare_cached("SELECT job_id, digest FROM jobs")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<Vec<u8>>>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, d) = row?;
            if let (Ok(job), Some(digest)) = (id.parse(), digest_of(d)) {
                out.push(JobDigest { job, digest });
            }
        }
        Ok(out)
    }

    /// Jobs with field work the server has not confirmed holding.
    pub fn pending_jobs(&self) -> Result<Vec<JobId>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT job_id FROM jobs WHERE confirmed_field_digest IS NULL OR field_digest != confirmed_field_digest")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.filter_map(|r| r.ok()?.parse().ok()).collect())
    }

    pub fn pending_count(&self) -> Result<u64> {
        pending_field_jobs(&self.conn)
    }

    /// Loads one of a job's documents for syncing.
    pub fn doc_for_sync(&self, job: JobId, kind: DocKind) -> Result<AutoCommit> {
        load_doc(&self.conn, &job.to_string(), kind)?.ok_or_else(|| StoreError::NoSuchJob(job.to_string()))
    }

    /// The persisted sync state of a document (its shared heads with the server).
    pub fn sync_state(&self, job: JobId, kind: DocKind) -> Result<SyncState> {
        let bytes: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT state FROM sync_states WHERE job_id = ?1 AND kind = ?2", params![job.to_string(), kind.as_str()], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(bytes.and_then(|b| SyncState::decode(&b).ok()).unwrap_or_default())
    }

    pub fn put_sync_states(&mut self, states: &HashMap<(JobId, DocKind), SyncState>) -> Result<()> {
        let tx = self.conn.transaction()?;
        for ((job, kind), st) in states {
            tx.execute(
                "INSERT OR REPLACE INTO sync_states (job_id, kind, state) VALUES (?1, ?2, ?3)",
                params![job.to_string(), kind.as_str(), st.encode()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Stores a job the server sent whole, after checking it is what it claims to be.
    pub fn receive_new_job(&mut self, job: JobId, dispatch: &[u8], field: &[u8]) -> Result<JobView> {
        let bad = |kind: &'static str, source: shared::docs::DocError| StoreError::BadDocument {
            job: job.to_string(),
            kind,
            source: Box::new(source),
        };
        let mut d = load(dispatch).map_err(|e| bad("dispatch", e))?;
        let mut f = load(field).map_err(|e| bad("field", e))?;
        let dj = read_dispatch(&d).map_err(|e| bad("dispatch", e))?.job_id;
        let fj = read_field(&f).map_err(|e| bad("field", e))?.job_id;
        if dj != job || fj != job {
            return Err(bad("dispatch", shared::docs::DocError::WrongJob { found: dj, expected: job }));
        }
        // A job this device already holds (the server re-sent it) is merged, never replaced.
        if self.job_count_of(job)? {
            let tx = self.conn.transaction()?;
            let view = edit_in(&tx, &job.to_string(), |ld, lf| {
                ld.merge(&mut d).map_err(|e| bad("dispatch", e.into()))?;
                lf.merge(&mut f).map_err(|e| bad("field", e.into()))?;
                Ok(())
            })?;
            tx.commit()?;
            return Ok(view);
        }
        self.put_job(&mut d, &mut f)
    }

    fn job_count_of(&self, job: JobId) -> Result<bool> {
        Ok(self.conn.query_row("SELECT 1 FROM jobs WHERE job_id = ?1", [job.to_string()], |_| Ok(())).optional()?.is_some())
    }

    /// Applies the server's sync messages for one job, in one transaction with the index.
    pub fn receive_messages(
        &mut self,
        job: JobId,
        messages: Vec<(DocKind, Vec<u8>)>,
        states: &mut HashMap<(JobId, DocKind), SyncState>,
    ) -> Result<JobView> {
        for (kind, _) in &messages {
            if let std::collections::hash_map::Entry::Vacant(slot) = states.entry((job, *kind)) {
                slot.insert(self.sync_state(job, *kind)?);
            }
        }
        let tx = self.conn.transaction()?;
        let view = edit_in(&tx, &job.to_string(), |d, f| {
            for (kind, bytes) in messages {
                let bad = |e: String| StoreError::BadSyncMessage { job: job.to_string(), detail: e };
                let msg = Message::decode(&bytes).map_err(|e| bad(e.to_string()))?;
                let doc = if kind == DocKind::Dispatch { &mut *d } else { &mut *f };
                let st = states.get_mut(&(job, kind)).expect("inserted above");
                doc.sync().receive_sync_message(st, msg).map_err(|e| bad(e.to_string()))?;
            }
            // What arrived must still read as a job: a server bug or a bad peer does not get to
            // leave an unreadable document on the phone.
            read_dispatch(d).map_err(|e| StoreError::BadDocument { job: job.to_string(), kind: "dispatch", source: Box::new(e) })?;
            read_field(f).map_err(|e| StoreError::BadDocument { job: job.to_string(), kind: "field", source: Box::new(e) })?;
            Ok(())
        })?;
        tx.commit()?;
        Ok(view)
    }

    /// The server holds field heads `server_heads`: if they are ours, nothing on the job is unsent.
    /// Replaces what the last sync could not do, per job.
    pub fn set_job_problems(&mut self, problems: &[(JobId, JobProblem)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM job_problems", [])?;
        let now = shared::Timestamp::now().0;
        for (job, p) in problems {
            let json = serde_json::to_string(p).expect("problems serialize");
            tx.execute("INSERT INTO job_problems (job_id, problem, at) VALUES (?1, ?2, ?3)", params![job.to_string(), json, now])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// What the last sync could not do for `job`.
    pub fn job_problems(&self, job: JobId) -> Result<Vec<JobProblem>> {
        let mut stmt = self.conn.prepare_cached("SELECT problem FROM job_problems WHERE job_id = ?1 ORDER BY rowid")?;
        let rows = stmt.query_map([job.to_string()], |r| r.get::<_, String>(0))?;
        // A row this version cannot read (written by a newer one) is skipped, not an error.
        Ok(rows.filter_map(|r| serde_json::from_str(&r.ok()?).ok()).collect())
    }

    pub fn confirm_field_heads(&mut self, job: JobId, server_heads: &[automerge::ChangeHash]) -> Result<bool> {
        let digest = shared::wire::digest(&[], server_heads);
        let n = self.conn.execute(
            "UPDATE jobs SET confirmed_field_digest = field_digest WHERE job_id = ?1 AND field_digest = ?2",
            params![job.to_string(), digest.as_slice()],
        )?;
        Ok(n > 0)
    }

    /// The server matched our digest for the job (both documents equal): confirmed, unless the
    /// job changed locally since the digest was sent.
    pub fn confirm_digest(&mut self, job: JobId, sent: Digest) -> Result<()> {
        self.conn.execute(
            "UPDATE jobs SET confirmed_field_digest = field_digest WHERE job_id = ?1 AND digest = ?2",
            params![job.to_string(), sent.as_slice()],
        )?;
        Ok(())
    }

    /// Removes a job whose customer's data was erased on the server: everything of it goes,
    /// unsent work included (that work holds what was erased, and the server takes nothing
    /// more about the job). Returns whether the job was here.
    pub fn drop_erased_job(&mut self, job: JobId) -> Result<bool> {
        let id = job.to_string();
        let tx = self.conn.transaction()?;
        let held = tx.query_row("SELECT 1 FROM jobs WHERE job_id = ?1", [&id], |_| Ok(())).optional()?.is_some();
        for table in ["docs", "doc_chunks", "jobs", "job_views", "sync_states", "blobs", "blob_wants", "job_problems"] {
            tx.execute(&format!("DELETE FROM {table} WHERE job_id = ?1"), [&id])?;
        }
        tx.commit()?;
        // Earlier page images stay in the write-ahead log until a checkpoint writes over them.
        self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(held)
    }

    /// Removes a job that left this device, unless it still has unsent work (then it stays
    /// until that work is confirmed). Returns whether it was removed.
    pub fn drop_job_if_synced(&mut self, job: JobId) -> Result<bool> {
        let id = job.to_string();
        let tx = self.conn.transaction()?;
        let synced: Option<bool> = tx
            .query_row(
                "SELECT confirmed_field_digest IS NOT NULL AND field_digest = confirmed_field_digest FROM jobs WHERE job_id = ?1",
                [&id],
                |r| r.get(0),
            )
            .optional()?;
        let pending_blobs: i64 = tx.query_row("SELECT count(*) FROM blobs WHERE job_id = ?1 AND state = 'pending'", [&id], |r| r.get(0))?;
        if synced != Some(true) || pending_blobs > 0 {
            return Ok(false);
        }
        for table in ["docs", "doc_chunks", "jobs", "job_views", "sync_states", "blobs", "blob_wants"] {
            tx.execute(&format!("DELETE FROM {table} WHERE job_id = ?1"), [&id])?;
        }
        tx.commit()?;
        Ok(true)
    }
}
