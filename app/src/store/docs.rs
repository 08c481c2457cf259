//! Document persistence: snapshot + incremental chunks, compacted when the chunks outgrow the
//! snapshot (the automerge-repo layout).

use automerge::AutoCommit;
use rusqlite::{OptionalExtension, Transaction, params};
use shared::docs::{DocKind, load};

use super::{Result, StoreError};

/// Chunks kept before they are folded into a new snapshot.
const CHUNKS_MAX: i64 = 32;

pub(super) fn load_doc(tx: &rusqlite::Connection, job_id: &str, kind: DocKind) -> Result<Option<AutoCommit>> {
    let snapshot: Option<Vec<u8>> = tx
        .query_row("SELECT snapshot FROM docs WHERE job_id = ?1 AND kind = ?2", params![job_id, kind.as_str()], |r| r.get(0))
        .optional()?;
    let Some(snapshot) = snapshot else { return Ok(None) };
    let bad =
        |source: shared::docs::DocError| StoreError::BadDocument { job: job_id.to_owned(), kind: kind.as_str(), source: Box::new(source) };
    let mut doc = load(&snapshot).map_err(bad)?;
    let mut stmt = tx.prepare_cached("SELECT bytes FROM doc_chunks WHERE job_id = ?1 AND kind = ?2 ORDER BY seq")?;
    let mut rows = stmt.query(params![job_id, kind.as_str()])?;
    while let Some(row) = rows.next()? {
        let bytes: Vec<u8> = row.get(0)?;
        doc.load_incremental(&bytes).map_err(|e| bad(e.into()))?;
    }
    Ok(Some(doc))
}

/// Stores a whole document (a job that just arrived), replacing any previous copy.
pub(super) fn put_doc(tx: &Transaction<'_>, job_id: &str, kind: DocKind, doc: &mut AutoCommit) -> Result<()> {
    tx.execute("DELETE FROM doc_chunks WHERE job_id = ?1 AND kind = ?2", params![job_id, kind.as_str()])?;
    tx.execute(
        "INSERT INTO docs (job_id, kind, snapshot) VALUES (?1, ?2, ?3)
         ON CONFLICT (job_id, kind) DO UPDATE SET snapshot = excluded.snapshot, chunk_count = 0, chunk_bytes = 0",
        params![job_id, kind.as_str(), doc.save()],
    )?;
    Ok(())
}

/// Appends the changes made since `before` as one chunk, compacting when due.
pub(super) fn append_changes(
    tx: &Transaction<'_>,
    job_id: &str,
    kind: DocKind,
    doc: &mut AutoCommit,
    before: &[automerge::ChangeHash],
) -> Result<()> {
    let chunk = doc.save_after(before);
    if chunk.is_empty() {
        return Ok(());
    }
    let (count, bytes, seq, snapshot_len): (i64, i64, i64, i64) = tx.query_row(
        "SELECT chunk_count, chunk_bytes, next_seq, length(snapshot) FROM docs WHERE job_id = ?1 AND kind = ?2",
        params![job_id, kind.as_str()],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    if count + 1 >= CHUNKS_MAX || bytes + chunk.len() as i64 > snapshot_len {
        return put_doc(tx, job_id, kind, doc);
    }
    tx.execute("INSERT INTO doc_chunks (job_id, kind, seq, bytes) VALUES (?1, ?2, ?3, ?4)", params![job_id, kind.as_str(), seq, chunk])?;
    tx.execute(
        "UPDATE docs SET chunk_count = chunk_count + 1, chunk_bytes = chunk_bytes + ?3, next_seq = next_seq + 1
         WHERE job_id = ?1 AND kind = ?2",
        params![job_id, kind.as_str(), chunk.len() as i64],
    )?;
    Ok(())
}
