//! The embedded SQLite store: one file, WAL, one writer connection used from blocking tasks.

mod accounts;
mod error;
mod export;
mod schema;

use error::{DbError, DbResult};
use schema::migrations;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use automerge::AutoCommit;
use rusqlite::{Connection, OptionalExtension, params};
use shared::docs::DocKind;
use shared::model::{Category, Channel, GeoPoint, Priority};
use shared::status::Status;
use shared::wire::Digest;
use shared::{DeviceId, JobId, TechnicianId, Timestamp};

use onsite_store::kpi::{LOW_RATING_MAX, Total};
use onsite_store::{
    DeviceIdentity, DeviceRecord, EventReceipt, JobFacts, JobIndex, JobQuery, JobWrite, KpiKey, KpiSums, NewDevice, Redeemed,
    ReferenceVersion, Result, Store, StoreError, Technician,
};

/// Chunks kept per document before they are folded into a new snapshot.
const CHUNKS_MAX: i64 = 64;

const JOB_COLUMNS: &str = "job_id, status, assignee, digest, created_at, channel, appt_start, appt_end, priority, category,
    brand, model, serial, customer_name, lat, lon, arrive_by, resolve_by, conflicts, first_assigned_at, first_on_site_at,
    completed_at, check_ins, first_time_fix, quote_total, final_total, rating, cause, self_service, finished_at";

fn job_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobIndex> {
    let bad = |i: usize| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, "bad id".into());
    let ts = |i: usize| -> rusqlite::Result<Option<Timestamp>> { Ok(r.get::<_, Option<i64>>(i)?.map(Timestamp)) };
    let id: String = r.get(0)?;
    let assignee: Option<String> = r.get(2)?;
    let digest: Vec<u8> = r.get(3)?;
    let (lat, lon): (Option<f64>, Option<f64>) = (r.get(14)?, r.get(15)?);
    Ok(JobIndex {
        job: id.parse().map_err(|_| bad(0))?,
        status: Status::parse(&r.get::<_, String>(1)?).ok_or_else(|| bad(1))?,
        assignee: assignee.map(|a| a.parse().map_err(|_| bad(2))).transpose()?,
        digest: <[u8; 8]>::try_from(digest.as_slice()).unwrap_or_default(),
        created_at: Timestamp(r.get(4)?),
        channel: Channel::parse(&r.get::<_, String>(5)?).ok_or_else(|| bad(5))?,
        appt_start: ts(6)?,
        appt_end: ts(7)?,
        priority: Priority::from_rank(r.get(8)?).ok_or_else(|| bad(8))?,
        category: Category::parse(&r.get::<_, String>(9)?).ok_or_else(|| bad(9))?,
        brand: r.get(10)?,
        model: r.get(11)?,
        serial: r.get(12)?,
        customer_name: r.get(13)?,
        location: lat.zip(lon).map(|(lat, lon)| shared::model::GeoPoint { lat, lon }),
        arrive_by: ts(16)?,
        resolve_by: ts(17)?,
        conflicts: r.get(18)?,
        facts: JobFacts {
            first_assigned_at: ts(19)?,
            first_on_site_at: ts(20)?,
            completed_at: ts(21)?,
            check_ins: r.get(22)?,
            first_time_fix: r.get::<_, Option<bool>>(23)?,
            quote_total: r.get(24)?,
            final_total: r.get(25)?,
            rating: r.get(26)?,
            cause: r.get(27)?,
            self_service: r.get(28)?,
            finished_at: ts(29)?,
            last_check_in: None,
        },
        customer_key: None,
    })
}

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// Read-only connections for the dispatcher's long reads (lists, KPIs). In WAL mode each
    /// reads a committed snapshot while the writer goes on, so a year's KPI report does not
    /// hold up every phone's sync round behind the one writing connection.
    readers: Arc<[Mutex<Connection>]>,
    next_reader: Arc<AtomicUsize>,
}

impl SqliteStore {
    /// The jobs `sql` (one `?1`: the blob's hash) selects.
    async fn jobs_of_blob(&self, sql: &'static str, hash: &str) -> Result<Vec<JobId>> {
        let h = hash.to_owned();
        self.call(move |c| {
            let mut stmt = c.prepare_cached(sql)?;
            let rows = stmt.query_map([h], |r| r.get::<_, String>(0))?;
            Ok(rows.filter_map(|r| r.ok()?.parse().ok()).collect())
        })
        .await
    }
    /// Opens (creating and migrating when needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self::open_file(path)?)
    }

    fn open_file(path: &Path) -> DbResult<Self> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a round the server acknowledged survives a power cut (with NORMAL, WAL commits
        // since the last checkpoint could be lost while the phone already shows "synced").
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // Deleted and overwritten content is zeroed in the file, not left in free pages: erasure
        // must remove customers' data from the disk, not just from the tables.
        conn.pragma_update(None, "secure_delete", true)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations().to_latest(&mut conn)?;
        // Pages freed before `secure_delete` was on may still hold old values: rewrite the file
        // once so none survive (erasure relies on it).
        let done: bool = conn.query_row("SELECT count(*) FROM maintenance WHERE name = 'secure_delete_vacuum'", [], |r| r.get(0))?;
        if !done {
            tracing::info!(path = %path.display(), "rewriting the database once so no freed page keeps old data (may take a while)");
            conn.execute_batch("VACUUM;")?;
            conn.execute("INSERT INTO maintenance (name, done_at) VALUES ('secure_delete_vacuum', ?1)", [Timestamp::now().0])?;
        }
        // Customers' data: the file is the server's user's alone, whatever the umask.
        #[cfg(unix)]
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        let readers = (0..READERS)
            .map(|_| {
                let r = Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                r.busy_timeout(std::time::Duration::from_secs(5))?;
                // Reports read hundreds of megabytes at a million jobs: mapped pages instead of
                // one read call per page halve a year's KPIs (SQLite caps the map at 2 GiB).
                r.pragma_update(None, "mmap_size", READER_MMAP_BYTES)?;
                Ok(Mutex::new(r))
            })
            .collect::<DbResult<Vec<_>>>()?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)), readers: readers.into(), next_reader: Arc::default() })
    }

    /// Runs the read `f` on one of the read-only connections (taking turns) in a blocking task.
    /// It sees what was committed when it began, never a write in progress.
    pub(crate) async fn read<T: Send + 'static>(&self, f: impl FnOnce(&mut Connection) -> DbResult<T> + Send + 'static) -> Result<T> {
        let readers = self.readers.clone();
        let turn = self.next_reader.fetch_add(1, Ordering::Relaxed) % readers.len();
        let done = tokio::task::spawn_blocking(move || {
            let mut guard = readers[turn].lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(DbError::from)?;
        Ok(done?)
    }

    /// Runs `f` on the connection in a blocking task (SQLite calls block).
    pub(crate) async fn call<T: Send + 'static>(&self, f: impl FnOnce(&mut Connection) -> DbResult<T> + Send + 'static) -> Result<T> {
        let conn = self.conn.clone();
        let done = tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(DbError::from)?;
        Ok(done?)
    }
}

/// How many read-only connections serve the dispatcher's long reads.
const READERS: usize = 2;

/// How much of the file the read-only connections map into memory (address space, not RAM).
const READER_MMAP_BYTES: i64 = 2 << 30;

/// How the KPI queries read the jobs of `[from, to)`: through the creation-time index when the
/// period is a small part of the history (a month of a year), straight through the table when
/// it is most of it — one index lookup per row costs twice a sequential read of the row, and
/// SQLite's planner (without statistics on value ranges) always takes the index.
fn jobs_for_period(tx: &rusqlite::Transaction<'_>, from: Timestamp, to: Timestamp) -> DbResult<&'static str> {
    let (first, last): (Option<i64>, Option<i64>) =
        tx.query_row("SELECT min(created_at), max(created_at) FROM jobs", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let (Some(first), Some(last)) = (first, last) else { return Ok("jobs") };
    let span = last.saturating_sub(first).max(1) as f64;
    let covered = to.0.min(last.saturating_add(1)).saturating_sub(from.0.max(first)).max(0) as f64;
    Ok(if covered / span > 0.3 { "jobs NOT INDEXED" } else { "jobs" })
}

/// Whether a job is a repeat visit, as SQL over the row `jobs` (`:window` in milliseconds).
const REPEAT_FLAG: &str = "EXISTS (SELECT 1 FROM jobs p WHERE p.serial = jobs.serial AND jobs.serial != ''
    AND p.created_at < jobs.created_at AND p.created_at >= jobs.created_at - :window)";

/// Keeps `repeat_visit` true for exactly the jobs whose appliance was serviced in the window
/// before them: this job's own flag on every write (the row was just replaced), and, when the
/// job is new or its serial changed, the later jobs on the old and the new serial it can make
/// or stop being repeat visits.
fn refresh_repeat_visits(tx: &rusqlite::Transaction<'_>, i: &JobIndex, previous: Option<(String, i64)>) -> DbResult<()> {
    let window = onsite_store::kpi::REPEAT_WINDOW_MS;
    tx.execute(
        &format!("UPDATE jobs SET repeat_visit = {REPEAT_FLAG} WHERE job_id = :job"),
        rusqlite::named_params! { ":job": i.job.to_string(), ":window": window },
    )?;
    let now = (i.serial.clone(), i.created_at.0);
    if previous.as_ref() == Some(&now) {
        return Ok(());
    }
    for (serial, created) in std::iter::once(now).chain(previous).filter(|(s, _)| !s.is_empty()) {
        tx.execute(
            &format!(
                "UPDATE jobs SET repeat_visit = {REPEAT_FLAG}
                 WHERE serial = :serial AND created_at > :created AND created_at <= :created + :window"
            ),
            rusqlite::named_params! { ":serial": serial, ":created": created, ":window": window },
        )?;
    }
    Ok(())
}

/// A job's new document bytes and index row, inside `tx`.
fn write_job_in(tx: &rusqlite::Transaction<'_>, w: &JobWrite) -> DbResult<()> {
    let i = &w.index;
    let previous: Option<(Option<String>, String, i64)> = tx
        .query_row("SELECT assignee, serial, created_at FROM jobs WHERE job_id = ?1", [i.job.to_string()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let previous_assignee = previous.as_ref().and_then(|p| p.0.clone());
    match &w.full {
        Some((d, f)) => {
            put_doc(tx, i.job, DocKind::Dispatch, d)?;
            put_doc(tx, i.job, DocKind::Field, f)?;
        }
        None => {
            append_chunk(tx, i.job, DocKind::Dispatch, &w.dispatch_chunk)?;
            append_chunk(tx, i.job, DocKind::Field, &w.field_chunk)?;
        }
    }
    let f = &i.facts;
    tx.execute(
        &format!(
            "INSERT OR REPLACE INTO jobs ({JOB_COLUMNS}, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
                 ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31)"
        ),
        rusqlite::params_from_iter([
            &i.job.to_string() as &dyn rusqlite::ToSql,
            &i.status.as_str(),
            &i.assignee.map(|t| t.to_string()),
            &i.digest.as_slice(),
            &i.created_at.0,
            &i.channel.as_str(),
            &i.appt_start.map(|t| t.0),
            &i.appt_end.map(|t| t.0),
            &i.priority.rank(),
            &i.category.as_str(),
            &i.brand,
            &i.model,
            &i.serial,
            &i.customer_name,
            &i.location.map(|l| l.lat),
            &i.location.map(|l| l.lon),
            &i.arrive_by.map(|t| t.0),
            &i.resolve_by.map(|t| t.0),
            &i.conflicts,
            &f.first_assigned_at.map(|t| t.0),
            &f.first_on_site_at.map(|t| t.0),
            &f.completed_at.map(|t| t.0),
            &f.check_ins,
            &f.first_time_fix,
            &f.quote_total,
            &f.final_total,
            &f.rating,
            &f.cause,
            &f.self_service,
            &f.finished_at.map(|t| t.0),
            &Timestamp::now().0,
        ]),
    )?;
    if let Some((tech, at, when)) = f.last_check_in {
        tx.execute(
            "INSERT INTO technician_locations (technician_id, lat, lon, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (technician_id) DO UPDATE SET lat = excluded.lat, lon = excluded.lon, at = excluded.at
             WHERE excluded.at > technician_locations.at",
            params![tech.to_string(), at.lat, at.lon, when.0],
        )?;
    }
    for r in &w.receipts {
        tx.execute(
            "INSERT OR IGNORE INTO event_receipts (job_id, event_id, device_id, claimed_at, received_at, backdated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![i.job.to_string(), r.event.to_string(), r.device.to_string(), r.claimed_at.0, r.received_at.0, r.backdated],
        )?;
    }
    for h in &w.blobs {
        tx.execute("INSERT OR IGNORE INTO blob_refs (hash, job_id) VALUES (?1, ?2)", params![h.as_str(), i.job.to_string()])?;
    }
    if let Some(t) = i.assignee {
        tx.execute(
            "INSERT OR IGNORE INTO job_assignees (job_id, technician_id) VALUES (?1, ?2)",
            params![i.job.to_string(), t.to_string()],
        )?;
        // Assigned again after it left them: the earlier notice no longer holds. Only on a
        // change of assignee (any write of an old job names its assignee).
        if previous_assignee.as_deref() != Some(t.to_string().as_str()) {
            tx.execute(
                "DELETE FROM former_notices WHERE job_id = ?1 AND device_id IN (SELECT id FROM devices WHERE technician_id = ?2)",
                params![i.job.to_string(), t.to_string()],
            )?;
        }
    }
    tx.execute(
        "UPDATE jobs SET customer_key = ?2 WHERE job_id = ?1",
        params![i.job.to_string(), i.customer_key.clone().unwrap_or_default()],
    )?;
    refresh_repeat_visits(tx, i, previous.map(|(_, serial, created)| (serial, created)))?;
    Ok(())
}

fn kind_str(k: DocKind) -> &'static str {
    k.as_str()
}

fn load_doc(conn: &Connection, job: JobId, kind: DocKind) -> DbResult<Option<AutoCommit>> {
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

fn append_chunk(tx: &rusqlite::Transaction<'_>, job: JobId, kind: DocKind, chunk: &[u8]) -> DbResult<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let id = job.to_string();
    let (count, seq): (i64, i64) = tx
        .query_row("SELECT chunk_count, next_seq FROM docs WHERE job_id = ?1 AND kind = ?2", params![id, kind_str(kind)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
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

fn put_doc(tx: &rusqlite::Transaction<'_>, job: JobId, kind: DocKind, bytes: &[u8]) -> DbResult<()> {
    let id = job.to_string();
    tx.execute("DELETE FROM doc_chunks WHERE job_id = ?1 AND kind = ?2", params![id, kind_str(kind)])?;
    tx.execute(
        "INSERT INTO docs (job_id, kind, snapshot) VALUES (?1, ?2, ?3)
         ON CONFLICT (job_id, kind) DO UPDATE SET snapshot = excluded.snapshot, chunk_count = 0",
        params![id, kind_str(kind), bytes],
    )?;
    Ok(())
}

fn technician_from_json(json: String, active: bool) -> DbResult<Technician> {
    let mut t: Technician = serde_json::from_str(&json)?;
    t.active = active;
    Ok(t)
}

#[async_trait]
impl Store for SqliteStore {
    async fn health(&self) -> Result<()> {
        self.call(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }

    async fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceIdentity>> {
        let h = token_hash.to_owned();
        self.call(move |c| {
            let row: Option<(String, String, String)> = c
                .query_row(
                    "SELECT d.id, d.technician_id, json_extract(t.json, '$.name') FROM devices d JOIN technicians t ON t.id = d.technician_id
                     WHERE d.token_hash = ?1 AND d.revoked_at IS NULL AND t.active = 1",
                    [h],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            Ok(row.and_then(|(d, t, name)| Some(DeviceIdentity { device: d.parse().ok()?, technician: t.parse().ok()?, technician_name: name })))
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

    async fn redeem_pairing_code(&self, code_hash: &str, now: Timestamp, device: NewDevice) -> Result<Redeemed> {
        let code = code_hash.to_owned();
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
            let Some(tech) = tech else { return Ok(Redeemed::InvalidCode) };
            let row: Option<(String, bool)> =
                tx.query_row("SELECT json, active FROM technicians WHERE id = ?1", [&tech], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
            let Some((json, true)) = row else { return Ok(Redeemed::InvalidCode) };
            if let Some(prev) = device.previous {
                let owner: Option<String> =
                    tx.query_row("SELECT technician_id FROM devices WHERE id = ?1", [prev.to_string()], |r| r.get(0)).optional()?;
                if owner.as_deref() != Some(tech.as_str()) {
                    // Dropping the transaction rolls the code's use back.
                    return Ok(Redeemed::NotTheSameTechnician);
                }
                tx.execute("UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL", params![prev.to_string(), now.0])?;
            }
            tx.execute(
                "INSERT INTO devices (id, technician_id, name, token_hash, created_at, replaces) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![device.id.to_string(), tech, device.name, device.token_hash, now.0, device.previous.map(|p| p.to_string())],
            )?;
            tx.commit()?;
            Ok(Redeemed::Paired(technician_from_json(json, true)?))
        })
        .await
    }

    async fn device_lineage(&self, device: DeviceId) -> Result<Vec<DeviceId>> {
        self.call(move |c| {
            // Bounded: a chain of re-pairings is short, and a cycle cannot be made (a device
            // replaces only devices that existed before it).
            let mut stmt = c.prepare_cached(
                "WITH RECURSIVE lineage(id, depth) AS (
                     SELECT ?1, 0
                     UNION SELECT d.replaces, l.depth + 1 FROM devices d JOIN lineage l ON d.id = l.id
                     WHERE d.replaces IS NOT NULL AND l.depth < 64
                 ) SELECT id FROM lineage",
            )?;
            let ids = stmt.query_map([device.to_string()], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for id in ids {
                if let Ok(id) = id?.parse() {
                    out.push(id);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn devices_of(&self, tech: TechnicianId) -> Result<Vec<DeviceRecord>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, name, created_at, last_seen_at, revoked_at, replaces, pending_jobs, pending_blob_bytes
                 FROM devices WHERE technician_id = ?1 ORDER BY created_at",
            )?;
            let rows = stmt.query_map([tech.to_string()], |r| {
                let ts = |i: usize| -> rusqlite::Result<Option<Timestamp>> { Ok(r.get::<_, Option<i64>>(i)?.map(Timestamp)) };
                let id: String = r.get(0)?;
                let replaces: Option<String> = r.get(5)?;
                let blob_bytes: Option<i64> = r.get(7)?;
                Ok((
                    id,
                    r.get::<_, String>(1)?,
                    Timestamp(r.get(2)?),
                    ts(3)?,
                    ts(4)?,
                    replaces,
                    r.get(6)?,
                    blob_bytes.map(|b| b.max(0) as u64),
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, name, paired_at, last_seen_at, revoked_at, replaces, pending_jobs, pending_blob_bytes) = row?;
                let Ok(id) = id.parse() else { continue };
                out.push(DeviceRecord {
                    id,
                    name,
                    paired_at,
                    last_seen_at,
                    revoked_at,
                    replaces: replaces.and_then(|r| r.parse().ok()),
                    pending_jobs,
                    pending_blob_bytes,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn device_seen(&self, device: DeviceId, at: Timestamp, pending: shared::wire::PendingWork) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "UPDATE devices SET last_seen_at = ?2, pending_jobs = ?3, pending_blob_bytes = ?4 WHERE id = ?1",
                params![device.to_string(), at.0, pending.jobs, pending.blob_bytes as i64],
            )?;
            Ok(())
        })
        .await
    }

    async fn device_last_seen(&self, device: DeviceId) -> Result<Option<Timestamp>> {
        self.call(move |c| {
            let seen: Option<Option<i64>> =
                c.query_row("SELECT last_seen_at FROM devices WHERE id = ?1", [device.to_string()], |r| r.get(0)).optional()?;
            Ok(seen.flatten().map(Timestamp))
        })
        .await
    }

    async fn backdated_events(&self, job: JobId) -> Result<Vec<EventReceipt>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT event_id, device_id, claimed_at, received_at FROM event_receipts WHERE job_id = ?1 AND backdated = 1 ORDER BY received_at",
            )?;
            let rows = stmt.query_map([job.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (event, device, claimed_at, received_at) = row?;
                if let (Ok(event), Ok(device)) = (event.parse(), device.parse()) {
                    out.push(EventReceipt { event, device, claimed_at: Timestamp(claimed_at), received_at: Timestamp(received_at), backdated: true });
                }
            }
            Ok(out)
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
            write_job_in(&tx, &w)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn write_jobs(&self, writes: Vec<JobWrite>) -> Result<()> {
        self.call(move |c| {
            let tx = c.transaction()?;
            for w in &writes {
                write_job_in(&tx, w)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn erase_job(&self, w: JobWrite, at: Timestamp, places: Vec<GeoPoint>) -> Result<()> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let job = w.index.job.to_string();
            for table in ["blob_refs", "blob_holders", "sync_states"] {
                tx.execute(&format!("DELETE FROM {table} WHERE job_id = ?1"), [&job])?;
            }
            for p in &places {
                tx.execute("DELETE FROM technician_locations WHERE lat = ?1 AND lon = ?2", params![p.lat, p.lon])?;
            }
            tx.execute("DELETE FROM idempotency_keys WHERE instr(body, CAST(?1 AS BLOB)) > 0", [&job])?;
            write_job_in(&tx, &w)?;
            tx.execute("INSERT OR REPLACE INTO erased_jobs (job_id, erased_at) VALUES (?1, ?2)", params![job, at.0])?;
            tx.commit()?;
            // The old pages' images stay in the write-ahead log until a checkpoint copies the new
            // ones over them; TRUNCATE also empties the log file.
            // A report on a read-only connection can hold an older snapshot: the checkpoint
            // then answers busy (after the busy timeout), so it is tried again, and said if not.
            for attempt in 1..=3 {
                let busy: i64 = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
                if busy == 0 {
                    break;
                }
                if attempt == 3 {
                    tracing::warn!(%job, "readers kept the write-ahead log busy: the erased job's old pages leave it at a later checkpoint");
                }
            }
            Ok(())
        })
        .await
    }

    async fn blobs_of_job(&self, job: JobId) -> Result<Vec<String>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached("SELECT hash FROM blob_refs WHERE job_id = ?1")?;
            let rows = stmt.query_map([job.to_string()], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn erased_among(&self, jobs: Vec<JobId>) -> Result<Vec<JobId>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        self.call(move |c| {
            let ids = serde_json::to_string(&jobs.iter().map(ToString::to_string).collect::<Vec<_>>())?;
            let mut stmt = c.prepare_cached("SELECT job_id FROM erased_jobs WHERE job_id IN (SELECT value FROM json_each(?1))")?;
            let rows = stmt.query_map([ids], |r| r.get::<_, String>(0))?;
            Ok(rows.filter_map(|r| r.ok()?.parse().ok()).collect())
        })
        .await
    }

    async fn jobs_of_customer(&self, key: &str) -> Result<Vec<JobId>> {
        let key = key.to_owned();
        self.call(move |c| {
            let mut stmt = c.prepare_cached("SELECT job_id FROM jobs WHERE customer_key = ?1 ORDER BY created_at")?;
            let rows = stmt.query_map([key], |r| r.get::<_, String>(0))?;
            Ok(rows.filter_map(|r| r.ok()?.parse().ok()).collect())
        })
        .await
    }

    async fn jobs_without_customer_key(&self) -> Result<Vec<JobId>> {
        self.call(|c| {
            let mut stmt = c.prepare_cached("SELECT job_id FROM jobs WHERE customer_key IS NULL")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.filter_map(|r| r.ok()?.parse().ok()).collect())
        })
        .await
    }

    async fn set_customer_key(&self, job: JobId, key: Option<String>) -> Result<()> {
        self.call(move |c| {
            // '' = looked at, no usable phone number (NULL = not looked at yet).
            c.execute("UPDATE jobs SET customer_key = ?2 WHERE job_id = ?1", params![job.to_string(), key.unwrap_or_default()])?;
            Ok(())
        })
        .await
    }

    async fn finished_unerased(&self, before: Timestamp, limit: u32) -> Result<Vec<JobId>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT job_id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?1
                   AND job_id NOT IN (SELECT job_id FROM erased_jobs) ORDER BY finished_at LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![before.0, limit], |r| r.get::<_, String>(0))?;
            Ok(rows.filter_map(|r| r.ok()?.parse().ok()).collect())
        })
        .await
    }

    async fn assigned_digests(&self, tech: TechnicianId, finished_since: Timestamp) -> Result<Vec<(JobId, Digest)>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT job_id, digest FROM jobs WHERE assignee = ?1 AND (finished_at IS NULL OR finished_at >= ?2)
                   AND job_id NOT IN (SELECT job_id FROM erased_jobs)",
            )?;
            let rows =
                stmt.query_map(params![tech.to_string(), finished_since.0], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
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
            Ok(c.query_row(
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
            Ok(c.query_row(
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

    async fn jobs_by_serial(&self, serial: &str, limit: usize) -> Result<Vec<JobIndex>> {
        let serial = serial.to_owned();
        self.call(move |c| {
            let mut stmt =
                c.prepare_cached(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE serial = ?1 ORDER BY created_at DESC LIMIT ?2"))?;
            let rows = stmt.query_map(params![serial, limit as i64], job_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn job_row(&self, job: JobId) -> Result<Option<JobIndex>> {
        self.call(move |c| {
            Ok(c.query_row(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = ?1"), [job.to_string()], job_from_row).optional()?)
        })
        .await
    }

    async fn list_jobs(&self, q: &JobQuery, now: Timestamp) -> Result<Vec<JobIndex>> {
        let q = q.clone();
        self.read(move |c| {
            let mut sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE 1 = 1");
            let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
            let mut arg = |sql: &mut String, clause: &str, v: Box<dyn rusqlite::ToSql>| {
                args.push(v);
                sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
            };
            if let Some(list) = q.statuses() {
                arg(&mut sql, " AND status IN (SELECT value FROM json_each(?))", Box::new(serde_json::to_string(&list)?));
            }
            if let Some(t) = q.technician {
                arg(&mut sql, " AND assignee = ?", Box::new(t.to_string()));
            }
            if q.unassigned {
                sql.push_str(" AND assignee IS NULL");
            }
            if let Some(c) = q.category {
                arg(&mut sql, " AND category = ?", Box::new(c.as_str()));
            }
            if let Some(p) = q.priority {
                arg(&mut sql, " AND priority = ?", Box::new(p.rank()));
            }
            if let Some(c) = q.channel {
                arg(&mut sql, " AND channel = ?", Box::new(c.as_str()));
            }
            if let Some(from) = q.from {
                arg(&mut sql, " AND appt_start >= ?", Box::new(from.0));
            }
            if let Some(to) = q.to {
                arg(&mut sql, " AND appt_start < ?", Box::new(to.0));
            }
            if let Some(since) = q.completed_since {
                arg(&mut sql, " AND completed_at >= ?", Box::new(since.0));
            }
            if let Some((lat_min, lat_max, lon_min, lon_max)) = q.bounding_box() {
                arg(&mut sql, " AND lat BETWEEN ?", Box::new(lat_min));
                arg(&mut sql, " AND ?", Box::new(lat_max));
                arg(&mut sql, " AND lon BETWEEN ?", Box::new(lon_min));
                arg(&mut sql, " AND ?", Box::new(lon_max));
            }
            if q.overdue {
                arg(&mut sql, " AND resolve_by < ? AND status NOT IN ('completed', 'closed', 'cancelled')", Box::new(now.0));
            }
            let (limit, offset) = q.page();
            arg(&mut sql, " ORDER BY appt_start IS NULL, appt_start, job_id LIMIT ?", Box::new(limit));
            arg(&mut sql, " OFFSET ?", Box::new(offset));
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args.iter().map(|b| b.as_ref())), job_from_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn kpi_sums(&self, from: Timestamp, to: Timestamp, key: KpiKey) -> Result<Vec<(String, KpiSums)>> {
        self.read(move |c| {
            let group = match key {
                KpiKey::All => "''",
                KpiKey::Technician => "coalesce(assignee, '')",
                KpiKey::Category => "category",
                KpiKey::BrandModel => "brand || ' ' || model",
                KpiKey::Day { .. } => "(created_at + :offset) / 86400000",
            };
            let mut args: Vec<(&str, &dyn rusqlite::ToSql)> = vec![(":from", &from.0), (":to", &to.0)];
            let offset = key.day_offset_ms();
            if matches!(key, KpiKey::Day { .. }) {
                args.push((":offset", &offset));
            }
            let name = |v: rusqlite::types::Value| match v {
                rusqlite::types::Value::Integer(day) => KpiKey::day_name(day),
                rusqlite::types::Value::Text(s) => s,
                _ => String::new(),
            };
            // One snapshot for both reads.
            let tx = c.transaction()?;
            let jobs = jobs_for_period(&tx, from, to)?;
            let mut out: std::collections::BTreeMap<String, KpiSums> = Default::default();
            {
                // `total` sums as floating point: it cannot overflow, whatever a device wrote.
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT {group}, count(*), count(completed_at), count(*) FILTER (WHERE status = 'cancelled'),
                        count(*) FILTER (WHERE self_service != 0),
                        total(first_assigned_at - created_at), count(first_assigned_at),
                        total(first_on_site_at - arrive_by), count(*) FILTER (WHERE first_on_site_at IS NOT NULL AND arrive_by IS NOT NULL),
                        count(*) FILTER (WHERE first_on_site_at <= arrive_by),
                        count(*) FILTER (WHERE first_time_fix != 0), count(first_time_fix),
                        count(*) FILTER (WHERE repeat_visit != 0),
                        total(quote_total), count(quote_total), total(final_total), count(final_total),
                        total(rating), count(rating)
                     FROM {jobs} WHERE created_at >= :from AND created_at < :to GROUP BY 1"
                ))?;
                let mut rows = stmt.query(args.as_slice())?;
                while let Some(r) = rows.next()? {
                    let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
                    let total = |s: usize| -> rusqlite::Result<Total> { Ok(Total { sum: r.get(s)?, count: n(s + 1)? }) };
                    let sums = KpiSums {
                        jobs: n(1)?,
                        completed: n(2)?,
                        cancelled: n(3)?,
                        self_service: n(4)?,
                        to_assign_ms: total(5)?,
                        arrival_vs_sla_ms: total(7)?,
                        on_time: n(9)?,
                        first_time_fix: Total { sum: n(10)? as f64, count: n(11)? },
                        repeat_visits: n(12)?,
                        quote_minor: total(13)?,
                        final_minor: total(15)?,
                        rating: total(17)?,
                        ..KpiSums::default()
                    };
                    out.insert(name(r.get(0)?), sums);
                }
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT {group}, cause, brand || ' ' || model, count(*) FROM {jobs}
                     WHERE created_at >= :from AND created_at < :to AND rating <= {LOW_RATING_MAX} GROUP BY 1, 2, 3"
                ))?;
                let mut rows = stmt.query(args.as_slice())?;
                while let Some(r) = rows.next()? {
                    let (cause, brand_model, n): (String, String, i64) = (r.get(1)?, r.get(2)?, r.get(3)?);
                    out.entry(name(r.get(0)?)).or_default().add_low_ratings(&cause, &brand_model, n.max(0) as u64);
                }
            }
            tx.commit()?;
            Ok(out.into_iter().collect())
        })
        .await
    }

    async fn set_location(&self, tech: TechnicianId, at: shared::model::GeoPoint, when: Timestamp) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO technician_locations (technician_id, lat, lon, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (technician_id) DO UPDATE SET lat = excluded.lat, lon = excluded.lon, at = excluded.at
                 WHERE excluded.at > technician_locations.at",
                params![tech.to_string(), at.lat, at.lon, when.0],
            )?;
            Ok(())
        })
        .await
    }

    async fn location(&self, tech: TechnicianId) -> Result<Option<(shared::model::GeoPoint, Timestamp)>> {
        self.call(move |c| {
            Ok(c.query_row("SELECT lat, lon, at FROM technician_locations WHERE technician_id = ?1", [tech.to_string()], |r| {
                Ok((shared::model::GeoPoint { lat: r.get(0)?, lon: r.get(1)? }, Timestamp(r.get(2)?)))
            })
            .optional()?)
        })
        .await
    }

    async fn publish_reference(&self, kind: &str, json: String, expected: Option<u32>) -> Result<u32> {
        let kind = kind.to_owned();
        self.call(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let next: u32 =
                tx.query_row("SELECT coalesce(max(version), 0) + 1 FROM reference_data WHERE kind = ?1", [&kind], |r| r.get(0))?;
            if expected.is_some_and(|v| v != next) {
                return Err(StoreError::Conflict(format!("{kind}: version {next} is next, someone published meanwhile")).into());
            }
            tx.execute(
                "INSERT INTO reference_data (kind, version, json, published_at) VALUES (?1, ?2, ?3, ?4)",
                params![kind, next, json, Timestamp::now().0],
            )?;
            tx.commit()?;
            Ok(next)
        })
        .await
    }

    async fn reference(&self, kind: &str, version: Option<u32>) -> Result<Option<(u32, String)>> {
        let kind = kind.to_owned();
        self.call(move |c| {
            let row = match version {
                Some(v) => c
                    .query_row("SELECT version, json FROM reference_data WHERE kind = ?1 AND version = ?2", params![kind, v], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?,
                None => c
                    .query_row("SELECT version, json FROM reference_data WHERE kind = ?1 ORDER BY version DESC LIMIT 1", [kind], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?,
            };
            Ok(row)
        })
        .await
    }

    async fn reference_versions(&self, kind: &str) -> Result<Vec<ReferenceVersion>> {
        let kind = kind.to_owned();
        self.call(move |c| {
            let mut stmt = c.prepare_cached("SELECT version, published_at FROM reference_data WHERE kind = ?1 ORDER BY version")?;
            let rows = stmt.query_map([&kind], |r| {
                Ok(ReferenceVersion { kind: kind.clone(), version: r.get(0)?, published_at: Timestamp(r.get(1)?) })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn latest_reference_versions(&self, kinds: Vec<String>) -> Result<std::collections::HashMap<String, u32>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT kind, max(version) FROM reference_data WHERE kind IN (SELECT value FROM json_each(?1)) GROUP BY kind",
            )?;
            let rows = stmt.query_map([serde_json::to_string(&kinds)?], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn blob_jobs(&self, hash: &str) -> Result<Vec<JobId>> {
        self.jobs_of_blob("SELECT job_id FROM blob_refs JOIN blob_holders USING (hash, job_id) WHERE hash = ?1", hash).await
    }

    async fn blob_jobs_naming(&self, hash: &str) -> Result<Vec<JobId>> {
        self.jobs_of_blob("SELECT job_id FROM blob_refs WHERE hash = ?1", hash).await
    }

    async fn blob_held(&self, hash: &str, job: JobId) -> Result<bool> {
        let h = hash.to_owned();
        self.call(move |c| {
            Ok(c.query_row("SELECT 1 FROM blob_holders WHERE hash = ?1 AND job_id = ?2", params![h, job.to_string()], |_| Ok(()))
                .optional()?
                .is_some())
        })
        .await
    }

    async fn add_blob_holder(&self, hash: &str, job: JobId) -> Result<()> {
        let h = hash.to_owned();
        self.call(move |c| {
            c.execute("INSERT OR IGNORE INTO blob_holders (hash, job_id) VALUES (?1, ?2)", params![h, job.to_string()])?;
            Ok(())
        })
        .await
    }

    async fn forget_blob(&self, hash: &str) -> Result<()> {
        let h = hash.to_owned();
        self.call(move |c| {
            c.execute("DELETE FROM blob_holders WHERE hash = ?1", [h])?;
            Ok(())
        })
        .await
    }

    async fn former_rounds(&self, device: DeviceId, job: JobId) -> Result<Option<u32>> {
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT rounds FROM former_notices WHERE device_id = ?1 AND job_id = ?2",
                params![device.to_string(), job.to_string()],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    async fn note_former(
        &self,
        device: DeviceId,
        technician: TechnicianId,
        noticed: Vec<JobId>,
        delivered: Vec<JobId>,
        at: Timestamp,
    ) -> Result<()> {
        if noticed.is_empty() && delivered.is_empty() {
            return Ok(());
        }
        self.call(move |c| {
            let tx = c.transaction()?;
            // Counted before noting: work stored in the round that tells the device is not counted.
            for job in delivered {
                tx.execute(
                    "UPDATE former_notices SET rounds = rounds + 1 WHERE device_id = ?1 AND job_id = ?2",
                    params![device.to_string(), job.to_string()],
                )?;
            }
            for job in noticed {
                tx.execute(
                    "INSERT OR IGNORE INTO former_notices (device_id, job_id, noticed_at)
                     SELECT ?1, job_id, ?3 FROM job_assignees WHERE job_id = ?2 AND technician_id = ?4",
                    params![device.to_string(), job.to_string(), at.0, technician.to_string()],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
