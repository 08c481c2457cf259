//! The embedded SQLite store: one file, WAL, one writer connection used from blocking tasks.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use automerge::AutoCommit;
use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use shared::docs::DocKind;
use shared::wire::Digest;
use shared::{DeviceId, DispatcherId, JobId, TechnicianId, Timestamp};

use super::{JobWrite, Result, Store, StoreError, Technician};
use crate::auth::{DeviceAuth, DispatcherAuth};

/// Chunks kept per document before they are folded into a new snapshot.
const CHUNKS_MAX: i64 = 64;

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(
        r#"
        CREATE TABLE dispatchers (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, active INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE technicians (id TEXT PRIMARY KEY, json TEXT NOT NULL, active INTEGER NOT NULL);
        CREATE TABLE devices (
            id TEXT PRIMARY KEY, technician_id TEXT NOT NULL REFERENCES technicians (id), name TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, revoked_at INTEGER
        );
        CREATE TABLE pairing_codes (
            code_hash TEXT PRIMARY KEY, technician_id TEXT NOT NULL REFERENCES technicians (id),
            expires_at INTEGER NOT NULL, used_at INTEGER
        );
        CREATE TABLE docs (
            job_id TEXT NOT NULL, kind TEXT NOT NULL, snapshot BLOB NOT NULL,
            chunk_count INTEGER NOT NULL DEFAULT 0, next_seq INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (job_id, kind)
        );
        CREATE TABLE doc_chunks (
            job_id TEXT NOT NULL, kind TEXT NOT NULL, seq INTEGER NOT NULL, bytes BLOB NOT NULL,
            PRIMARY KEY (job_id, kind, seq)
        );
        CREATE TABLE jobs (
            job_id TEXT PRIMARY KEY, status TEXT NOT NULL, assignee TEXT, digest BLOB NOT NULL,
            created_at INTEGER NOT NULL, appt_start INTEGER, priority INTEGER NOT NULL, category TEXT NOT NULL,
            brand TEXT NOT NULL, model TEXT NOT NULL, customer_name TEXT NOT NULL, lat REAL, lon REAL,
            resolve_by INTEGER, conflicts INTEGER NOT NULL, updated_at INTEGER NOT NULL
        );
        CREATE INDEX jobs_by_assignee ON jobs (assignee, job_id);
        CREATE TABLE job_assignees (
            job_id TEXT NOT NULL, technician_id TEXT NOT NULL, PRIMARY KEY (job_id, technician_id)
        ) WITHOUT ROWID;
        CREATE TABLE sync_states (
            device_id TEXT NOT NULL, job_id TEXT NOT NULL, kind TEXT NOT NULL, state BLOB NOT NULL,
            PRIMARY KEY (device_id, job_id, kind)
        ) WITHOUT ROWID;
        CREATE TABLE blob_refs (hash TEXT NOT NULL, job_id TEXT NOT NULL, PRIMARY KEY (hash, job_id)) WITHOUT ROWID;
        "#,
    )])
}

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL in WAL: durable against a server crash; an OS crash may lose the last commits,
        // which devices then re-send (sync is idempotent).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations().to_latest(&mut conn)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

fn kind_str(k: DocKind) -> &'static str {
    k.as_str()
}

fn load_doc(conn: &Connection, job: JobId, kind: DocKind) -> Result<Option<AutoCommit>> {
    let id = job.to_string();
    let snap: Option<Vec<u8>> = conn
        .query_row("SELECT snapshot FROM docs WHERE job_id = ?1 AND kind = ?2", params![id, kind_str(kind)], |r| r.get(0))
        .optional()?;
    let Some(snap) = snap else { return Ok(None) };
    let bad = |e: automerge::AutomergeError| StoreError::BadDocument { job, detail: e.to_string() };
    let mut doc = AutoCommit::load(&snap).map_err(bad)?;
    let mut stmt = conn.prepare_cached("SELECT bytes FROM doc_chunks WHERE job_id = ?1 AND kind = ?2 ORDER BY seq")?;
    let mut rows = stmt.query(params![id, kind_str(kind)])?;
    while let Some(row) = rows.next()? {
        let bytes: Vec<u8> = row.get(0)?;
        doc.load_incremental(&bytes).map_err(bad)?;
    }
    Ok(Some(doc))
}

fn append_chunk(tx: &rusqlite::Transaction<'_>, job: JobId, kind: DocKind, chunk: &[u8]) -> Result<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let id = job.to_string();
    let (count, seq): (i64, i64) = tx
        .query_row(
            "SELECT chunk_count, next_seq FROM docs WHERE job_id = ?1 AND kind = ?2",
            params![id, kind_str(kind)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or(StoreError::NoSuchJob(job))?;
    tx.execute("INSERT INTO doc_chunks (job_id, kind, seq, bytes) VALUES (?1, ?2, ?3, ?4)", params![id, kind_str(kind), seq, chunk])?;
    tx.execute(
        "UPDATE docs SET chunk_count = chunk_count + 1, next_seq = next_seq + 1 WHERE job_id = ?1 AND kind = ?2",
        params![id, kind_str(kind)],
    )?;
    if count + 1 >= CHUNKS_MAX {
        // Fold the chunks into a new snapshot, inside the same transaction.
        let mut doc = load_doc(tx, job, kind)?.ok_or(StoreError::NoSuchJob(job))?;
        put_doc(tx, job, kind, &doc.save())?;
    }
    Ok(())
}

fn put_doc(tx: &rusqlite::Transaction<'_>, job: JobId, kind: DocKind, bytes: &[u8]) -> Result<()> {
    let id = job.to_string();
    tx.execute("DELETE FROM doc_chunks WHERE job_id = ?1 AND kind = ?2", params![id, kind_str(kind)])?;
    tx.execute(
        "INSERT INTO docs (job_id, kind, snapshot) VALUES (?1, ?2, ?3)
         ON CONFLICT (job_id, kind) DO UPDATE SET snapshot = excluded.snapshot, chunk_count = 0",
        params![id, kind_str(kind), bytes],
    )?;
    Ok(())
}

fn technician_from_json(json: String, active: bool) -> Result<Technician> {
    let mut t: Technician = serde_json::from_str(&json)?;
    t.active = active;
    Ok(t)
}

#[async_trait]
impl Store for SqliteStore {
    async fn health(&self) -> Result<()> {
        self.call(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }

    async fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceAuth>> {
        let h = token_hash.to_owned();
        self.call(move |c| {
            let row: Option<(String, String)> = c
                .query_row(
                    "SELECT d.id, d.technician_id FROM devices d JOIN technicians t ON t.id = d.technician_id
                     WHERE d.token_hash = ?1 AND d.revoked_at IS NULL AND t.active = 1",
                    [h],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(row.and_then(|(d, t)| Some(DeviceAuth { device: d.parse().ok()?, technician: t.parse().ok()? })))
        })
        .await
    }

    async fn dispatcher_by_token(&self, token_hash: &str) -> Result<Option<DispatcherAuth>> {
        let h = token_hash.to_owned();
        self.call(move |c| {
            let row: Option<(String, String)> = c
                .query_row("SELECT id, name FROM dispatchers WHERE token_hash = ?1 AND active = 1", [h], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            Ok(row.and_then(|(id, name)| Some(DispatcherAuth { dispatcher: id.parse().ok()?, name })))
        })
        .await
    }

    async fn create_dispatcher(&self, name: &str, token_hash: &str) -> Result<DispatcherId> {
        let (name, h) = (name.to_owned(), token_hash.to_owned());
        self.call(move |c| {
            let id = DispatcherId::new();
            c.execute("INSERT INTO dispatchers (id, name, token_hash) VALUES (?1, ?2, ?3)", params![id.to_string(), name, h])?;
            Ok(id)
        })
        .await
    }

    async fn put_technician(&self, t: &Technician) -> Result<()> {
        let t = t.clone();
        self.call(move |c| {
            c.execute(
                "INSERT INTO technicians (id, json, active) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET json = excluded.json, active = excluded.active",
                params![t.id.to_string(), serde_json::to_string(&t)?, t.active],
            )?;
            Ok(())
        })
        .await
    }

    async fn technician(&self, id: TechnicianId) -> Result<Option<Technician>> {
        self.call(move |c| {
            let row: Option<(String, bool)> = c
                .query_row("SELECT json, active FROM technicians WHERE id = ?1", [id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            row.map(|(j, a)| technician_from_json(j, a)).transpose()
        })
        .await
    }

    async fn technicians(&self) -> Result<Vec<Technician>> {
        self.call(|c| {
            let mut stmt = c.prepare_cached("SELECT json, active FROM technicians ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)))?;
            rows.map(|r| {
                let (j, a) = r?;
                technician_from_json(j, a)
            })
            .collect()
        })
        .await
    }

    async fn create_pairing_code(&self, tech: TechnicianId, code_hash: &str, expires_at: Timestamp) -> Result<()> {
        let h = code_hash.to_owned();
        self.call(move |c| {
            c.execute(
                "INSERT INTO pairing_codes (code_hash, technician_id, expires_at) VALUES (?1, ?2, ?3)",
                params![h, tech.to_string(), expires_at.0],
            )?;
            Ok(())
        })
        .await
    }

    async fn redeem_pairing_code(
        &self,
        code_hash: &str,
        now: Timestamp,
        device: DeviceId,
        device_name: &str,
        token_hash: &str,
    ) -> Result<Option<Technician>> {
        let (code, name, token) = (code_hash.to_owned(), device_name.to_owned(), token_hash.to_owned());
        self.call(move |c| {
            let tx = c.transaction()?;
            let tech: Option<String> = tx
                .query_row(
                    "UPDATE pairing_codes SET used_at = ?2 WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                     RETURNING technician_id",
                    params![code, now.0],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(tech) = tech else { return Ok(None) };
            let row: Option<(String, bool)> = tx
                .query_row("SELECT json, active FROM technicians WHERE id = ?1", [&tech], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((json, true)) = row else { return Ok(None) };
            tx.execute(
                "INSERT INTO devices (id, technician_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![device.to_string(), tech, name, token, now.0],
            )?;
            tx.commit()?;
            Ok(Some(technician_from_json(json, true)?))
        })
        .await
    }

    async fn revoke_device(&self, device: DeviceId) -> Result<bool> {
        self.call(move |c| {
            let n = c.execute(
                "UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![device.to_string(), Timestamp::now().0],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn load_job(&self, job: JobId) -> Result<Option<(AutoCommit, AutoCommit)>> {
        self.call(move |c| {
            let d = load_doc(c, job, DocKind::Dispatch)?;
            let f = load_doc(c, job, DocKind::Field)?;
            Ok(d.zip(f))
        })
        .await
    }

    async fn write_job(&self, w: JobWrite) -> Result<()> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let i = &w.index;
            match &w.full {
                Some((d, f)) => {
                    put_doc(&tx, i.job, DocKind::Dispatch, d)?;
                    put_doc(&tx, i.job, DocKind::Field, f)?;
                }
                None => {
                    append_chunk(&tx, i.job, DocKind::Dispatch, &w.dispatch_chunk)?;
                    append_chunk(&tx, i.job, DocKind::Field, &w.field_chunk)?;
                }
            }
            tx.execute(
                "INSERT OR REPLACE INTO jobs (job_id, status, assignee, digest, created_at, appt_start, priority, category,
                     brand, model, customer_name, lat, lon, resolve_by, conflicts, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                params![
                    i.job.to_string(),
                    i.status,
                    i.assignee.map(|t| t.to_string()),
                    i.digest.as_slice(),
                    i.created_at.0,
                    i.appt_start.map(|t| t.0),
                    i.priority,
                    i.category,
                    i.brand,
                    i.model,
                    i.customer_name,
                    i.location.map(|l| l.lat),
                    i.location.map(|l| l.lon),
                    i.resolve_by.map(|t| t.0),
                    i.conflicts,
                    Timestamp::now().0,
                ],
            )?;
            if let Some(t) = i.assignee {
                tx.execute(
                    "INSERT OR IGNORE INTO job_assignees (job_id, technician_id) VALUES (?1, ?2)",
                    params![i.job.to_string(), t.to_string()],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn assigned_digests(&self, tech: TechnicianId) -> Result<Vec<(JobId, Digest)>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached("SELECT job_id, digest FROM jobs WHERE assignee = ?1")?;
            let rows = stmt.query_map([tech.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
            let mut out = Vec::new();
            for row in rows {
                let (id, d) = row?;
                if let (Ok(id), Ok(d)) = (id.parse(), <[u8; 8]>::try_from(d.as_slice())) {
                    out.push((id, d));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn ever_assigned(&self, tech: TechnicianId, job: JobId) -> Result<bool> {
        self.call(move |c| {
            Ok(c
                .query_row(
                    "SELECT 1 FROM job_assignees WHERE job_id = ?1 AND technician_id = ?2",
                    params![job.to_string(), tech.to_string()],
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
        })
        .await
    }

    async fn sync_state(&self, device: DeviceId, job: JobId, kind: DocKind) -> Result<Option<Vec<u8>>> {
        self.call(move |c| {
            Ok(c
                .query_row(
                    "SELECT state FROM sync_states WHERE device_id = ?1 AND job_id = ?2 AND kind = ?3",
                    params![device.to_string(), job.to_string(), kind_str(kind)],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await
    }

    async fn put_sync_states(&self, device: DeviceId, states: Vec<(JobId, DocKind, Vec<u8>)>) -> Result<()> {
        if states.is_empty() {
            return Ok(());
        }
        self.call(move |c| {
            let tx = c.transaction()?;
            for (job, kind, state) in states {
                tx.execute(
                    "INSERT OR REPLACE INTO sync_states (device_id, job_id, kind, state) VALUES (?1, ?2, ?3, ?4)",
                    params![device.to_string(), job.to_string(), kind_str(kind), state],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn job_ids(&self) -> Result<Vec<JobId>> {
        self.call(|c| {
            let mut stmt = c.prepare_cached("SELECT job_id FROM jobs ORDER BY job_id")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.filter_map(|r| r.ok()?.parse().ok()).collect())
        })
        .await
    }

    async fn add_blob_ref(&self, hash: &str, job: JobId) -> Result<()> {
        let h = hash.to_owned();
        self.call(move |c| {
            c.execute("INSERT OR IGNORE INTO blob_refs (hash, job_id) VALUES (?1, ?2)", params![h, job.to_string()])?;
            Ok(())
        })
        .await
    }

    async fn blob_jobs(&self, hash: &str) -> Result<Vec<JobId>> {
        let h = hash.to_owned();
        self.call(move |c| {
            let mut stmt = c.prepare_cached("SELECT job_id FROM blob_refs WHERE hash = ?1")?;
            let rows = stmt.query_map([h], |r| r.get::<_, String>(0))?;
            Ok(rows.filter_map(|r| r.ok()?.parse().ok()).collect())
        })
        .await
    }
}
