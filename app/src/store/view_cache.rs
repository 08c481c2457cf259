//! Each job's documents as last read, kept beside them so that opening a job is one row and a
//! MessagePack decode instead of loading two Automerge documents and walking them.
//!
//! Opening a job is what a technician does most, and Automerge's load is the costliest part of
//! it (more so in the browser's wasm, where it was 7x the native time). The copy is written by
//! [`super::jobs::index`] in the same transaction as every change to the documents, so it is
//! never older than they are. The status and warnings are derived again at each read: the rules
//! may change in a new version, the documents' content may not.
//!
//! A copy written by another build is never trusted: [`VIEW_FORMAT`] names the build's version
//! and the shape of the cached types, and a store opened by a different build drops every copy
//! (they are rebuilt as jobs change; until then the job is read from its documents). A copy that
//! does not decode is treated as missing.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use shared::model::{DispatchDoc, FieldDoc};
use shared::status::derive;

use super::Result;
use super::jobs::JobView;

/// Bump the number when [`DispatchDoc`], [`FieldDoc`] or how they are read from the documents
/// changes within one version (a release changes the version, which drops the copies anyway).
pub const VIEW_FORMAT: &str = concat!(env!("CARGO_PKG_VERSION"), "/1");

/// Drops the copies written by another build (called on open, after migrations).
pub(super) fn check_format(conn: &Connection) -> Result<()> {
    let stored: Option<String> = conn.query_row("SELECT value FROM meta WHERE key = 'view_format'", [], |r| r.get(0)).optional()?;
    if stored.as_deref() != Some(VIEW_FORMAT) {
        let tx = conn.unchecked_transaction()?;
        tx.execute("DELETE FROM job_views", [])?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('view_format', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [VIEW_FORMAT],
        )?;
        tx.commit()?;
    }
    Ok(())
}

/// Stores `v` as the job's copy (inside the transaction that changed its documents). Compact
/// MessagePack (fields by position): the copy is only ever read by the build that wrote it.
pub(super) fn put(tx: &Transaction<'_>, job_id: &str, v: &JobView) -> Result<()> {
    let bytes = rmp_serde::to_vec(&(&v.dispatch, &v.field)).map_err(|e| super::StoreError::ViewEncode(e.to_string()))?;
    tx.execute(
        "INSERT INTO job_views (job_id, view) VALUES (?1, ?2)
         ON CONFLICT (job_id) DO UPDATE SET view = excluded.view",
        params![job_id, bytes],
    )?;
    Ok(())
}

/// The job's copy, with its status derived now; `None` when there is none usable.
pub(super) fn get(conn: &Connection, job_id: &str) -> Result<Option<JobView>> {
    let mut stmt = conn.prepare_cached("SELECT view FROM job_views WHERE job_id = ?1")?;
    let bytes: Option<Vec<u8>> = stmt.query_row([job_id], |r| r.get(0)).optional()?;
    let Some(bytes) = bytes else { return Ok(None) };
    match rmp_serde::from_slice::<(DispatchDoc, FieldDoc)>(&bytes) {
        Ok((dispatch, field)) => {
            let derived = derive(&dispatch, &field);
            Ok(Some(JobView { dispatch, field, derived }))
        }
        Err(e) => {
            tracing::warn!(job = job_id, error = %e, "cached job view unreadable; reading the documents");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use shared::Timestamp;
    use shared::edit::FieldEdit;
    use shared::model::{FieldAction, Report};
    use shared::status::Status;

    use crate::demo::seed;
    use crate::store::Store;

    fn views(store: &Store) -> i64 {
        store.conn.query_row("SELECT count(*) FROM job_views", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn the_copy_follows_every_change_and_another_build_drops_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.sqlite");
        let mut store = Store::open_unencrypted(&path).unwrap();
        let jobs = seed(&mut store, "li", Timestamp::now()).unwrap();
        assert_eq!(views(&store), jobs as i64, "every stored job has its copy");
        let job = store.list_all().unwrap().into_iter().find(|j| j.status == Status::Assigned).unwrap().job_id;
        for edit in [
            FieldEdit::Status { action: FieldAction::Accept, location: None, reason: String::new() },
            FieldEdit::AddNote { text: "客户不在家 / customer out".into() },
            FieldEdit::SetReport { report: Report { cause: "pump".into(), method: "replaced".into(), warranty_days: 90 } },
        ] {
            let after = store.apply_edit(job, edit).unwrap();
            assert_eq!(store.open_job(job).unwrap(), after);
        }
        for j in store.list_all().unwrap() {
            let cached = super::get(&store.conn, &j.job_id.to_string()).unwrap().expect("the copy decodes");
            assert_eq!(cached, store.open_job_from_documents(j.job_id).unwrap());
        }

        // A copy that does not decode is passed over, not shown or trusted.
        store.conn.execute("UPDATE job_views SET view = x'c1' WHERE job_id = ?1", [job.to_string()]).unwrap();
        assert_eq!(store.open_job(job).unwrap(), store.open_job_from_documents(job).unwrap());

        // Another build's copies are dropped on open; the jobs still open, from their documents.
        store.conn.execute("UPDATE meta SET value = '0.0.0/0' WHERE key = 'view_format'", []).unwrap();
        drop(store);
        let store = Store::open_unencrypted(&path).unwrap();
        assert_eq!(views(&store), 0);
        assert_eq!(store.open_job(job).unwrap(), store.open_job_from_documents(job).unwrap());
    }
}
