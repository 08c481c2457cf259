//! The PostgreSQL store: what several stateless server instances share.
//!
//! The same traits and the same meaning as the embedded SQLite store, on a connection pool.
//! Where SQLite's single writer serialised things for free, this backend says how: a job is
//! read, changed and written under a lease (a session advisory lock: two instances working on
//! one job take turns), chunks are numbered under the document row's lock, publishing reference
//! data locks its kind, account changes lock the accounts, a pairing
//! code is used by one `UPDATE … RETURNING`, and an idempotency key is claimed by one insert.

mod accounts;
mod error;
mod feed;
mod import;
mod schema;
mod tls;

use std::collections::HashMap;
use std::future::Future;

use async_trait::async_trait;
use automerge::AutoCommit;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use onsite_store::kpi::{LOW_RATING_MAX, Total};
use onsite_store::{
    ChangeFeed, DeviceIdentity, DeviceRecord, EventReceipt, Heard, JobFacts, JobIndex, JobLease, JobQuery, JobWrite, KpiKey, KpiSums,
    NewDevice, Redeemed, ReferenceVersion, Result, Store, StoreError, Technician,
};
use shared::docs::DocKind;
use shared::model::{Category, Channel, GeoPoint, Priority};
use shared::status::Status;
use shared::wire::Digest;
use shared::{DeviceId, JobId, TechnicianId, Timestamp};
use tokio_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use error::{DbError, DbResult, parse};

/// Chunks kept per document before they are folded into a new snapshot (as in SQLite).
const CHUNKS_MAX: i64 = 64;

const JOB_COLUMNS: &str = "job_id, status, assignee, digest, created_at, channel, appt_start, appt_end, priority, category,
    brand, model, serial, customer_name, lat, lon, arrive_by, resolve_by, conflicts, first_assigned_at, first_on_site_at,
    completed_at, check_ins, first_time_fix, quote_total, final_total, rating, cause, self_service, finished_at";

/// A connection pool on one database.
/// The schema version this build migrates a database to.
pub const SCHEMA_VERSION: i64 = schema::MIGRATIONS.len() as i64;

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// Where the pool connects (the change feed's own connection too).
    config: tokio_postgres::Config,
    /// What the change feed's connection is made with, as the pool's are.
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    /// This instance, as its change announcements name it.
    instance: String,
    /// Job leases held at once by this instance: at most half the pool.
    lease_slots: std::sync::Arc<tokio::sync::Semaphore>,
    /// Rate-limit hits counted by this instance (every so many, old windows are removed).
    hits: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Runs a body written against [`DbError`] and hands the server a [`StoreError`].
async fn run<T>(f: impl Future<Output = DbResult<T>>) -> Result<T> {
    Ok(f.await?)
}

fn ts(r: &Row, i: usize) -> DbResult<Option<Timestamp>> {
    Ok(r.try_get::<_, Option<i64>>(i)?.map(Timestamp))
}

fn ids<T: std::str::FromStr>(rows: &[Row]) -> DbResult<Vec<T>> {
    rows.iter().map(|r| parse("id", &r.try_get::<_, String>(0)?)).collect()
}

fn job_from_row(r: &Row) -> DbResult<JobIndex> {
    let assignee: Option<String> = r.try_get(2)?;
    let digest: Vec<u8> = r.try_get(3)?;
    let (lat, lon): (Option<f64>, Option<f64>) = (r.try_get(14)?, r.try_get(15)?);
    let bad = |what: &str, v: String| DbError::Value(format!("{what} {v:?}"));
    let status: String = r.try_get(1)?;
    let channel: String = r.try_get(5)?;
    let category: String = r.try_get(9)?;
    let priority: i64 = r.try_get(8)?;
    Ok(JobIndex {
        job: parse("job id", &r.try_get::<_, String>(0)?)?,
        status: Status::parse(&status).ok_or_else(|| bad("status", status.clone()))?,
        assignee: assignee.map(|a| parse("technician id", &a)).transpose()?,
        digest: <[u8; 8]>::try_from(digest.as_slice()).unwrap_or_default(),
        created_at: Timestamp(r.try_get(4)?),
        channel: Channel::parse(&channel).ok_or_else(|| bad("channel", channel.clone()))?,
        appt_start: ts(r, 6)?,
        appt_end: ts(r, 7)?,
        priority: Priority::from_rank(priority).ok_or_else(|| bad("priority", priority.to_string()))?,
        category: Category::parse(&category).ok_or_else(|| bad("category", category.clone()))?,
        brand: r.try_get(10)?,
        model: r.try_get(11)?,
        serial: r.try_get(12)?,
        customer_name: r.try_get(13)?,
        location: lat.zip(lon).map(|(lat, lon)| GeoPoint { lat, lon }),
        arrive_by: ts(r, 16)?,
        resolve_by: ts(r, 17)?,
        conflicts: r.try_get(18)?,
        facts: JobFacts {
            first_assigned_at: ts(r, 19)?,
            first_on_site_at: ts(r, 20)?,
            completed_at: ts(r, 21)?,
            check_ins: r.try_get(22)?,
            first_time_fix: r.try_get(23)?,
            quote_total: r.try_get(24)?,
            final_total: r.try_get(25)?,
            rating: r.try_get(26)?,
            cause: r.try_get(27)?,
            self_service: r.try_get(28)?,
            finished_at: ts(r, 29)?,
            last_check_in: None,
        },
        customer_key: None,
    })
}

/// A stored reference version as the API numbers them.
fn version_of(v: i64) -> DbResult<u32> {
    u32::try_from(v).map_err(|_| DbError::Value(format!("reference version {v}")))
}

fn technician_from_json(json: &str, active: bool) -> DbResult<Technician> {
    let mut t: Technician = serde_json::from_str(json)?;
    t.active = active;
    Ok(t)
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, or key=value form),
    /// with at most `connections` at once, and brings the schema up to this build's. TLS is as
    /// the URL's `sslmode` says (see [`tls`]), trusting the system's CAs and `ca_file`'s.
    pub async fn connect(url: &str, connections: usize, ca_file: Option<&std::path::Path>) -> Result<Self> {
        let tls = tls::connector(ca_file)?;
        run(async {
            let config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
                let said = error::with_causes(&e);
                let hint = if said.contains("sslmode") {
                    " (sslmode takes disable, prefer or require; the certificate is always verified, and a private CA goes in database_ca_file)"
                } else {
                    ""
                };
                DbError::Url(format!("{said}{hint}"))
            })?;
            let manager = Manager::from_config(config.clone(), tls.clone(), ManagerConfig { recycling_method: RecyclingMethod::Fast });
            let pool =
                Pool::builder(manager).max_size(connections.max(2)).build().map_err(|e| DbError::Value(format!("connection pool: {e}")))?;
            let mut client = pool.get().await?;
            schema::migrate(&mut client).await?;
            drop(client);
            let slots = (connections / 2).max(1);
            Ok(Self {
                pool,
                config,
                tls,
                instance: uuid::Uuid::now_v7().to_string(),
                lease_slots: std::sync::Arc::new(tokio::sync::Semaphore::new(slots)),
                hits: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0)),
            })
        })
        .await
    }

    /// Whether this store's connections to the database are encrypted, as the database reports it.
    pub async fn connection_encrypted(&self) -> Result<bool> {
        run(async {
            let row = self.client().await?.query_opt("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).await?;
            Ok(row.is_some_and(|r| r.get::<_, bool>(0)))
        })
        .await
    }

    async fn client(&self) -> DbResult<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }

    /// The jobs `sql` (one `$1`: the blob's hash) selects.
    async fn jobs_of_blob(&self, sql: &str, hash: &str) -> Result<Vec<JobId>> {
        run(async { ids(&self.client().await?.query(sql, &[&hash]).await?) }).await
    }
}

/// How long a request waits for another instance to let go of a job.
const LEASE_WAIT_S: u32 = 30;

/// The advisory lock key of a job's lease.
const JOB_LOCK_SQL: &str = "SELECT pg_advisory_lock(hashtextextended('job:' || $1, 0))";
const JOB_UNLOCK_SQL: &str = "SELECT pg_advisory_unlock(hashtextextended('job:' || $1, 0))";

/// A job's lease: a session advisory lock held on a connection of its own (and a slot, so
/// leases never take more than half the pool and the work done under them still finds a
/// connection). Dropped, it unlocks on a task and the connection goes back to the pool; if the
/// unlock cannot be confirmed, the connection is closed instead, which releases the lock with
/// its session, so a pooled connection never carries a lock.
struct AdvisoryLease {
    client: Option<deadpool_postgres::Object>,
    job: String,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for AdvisoryLease {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime left to unlock on (shutting down): closing the connection releases it.
            drop(deadpool_postgres::Object::take(client));
            return;
        };
        let job = std::mem::take(&mut self.job);
        runtime.spawn(async move {
            match client.query_one(JOB_UNLOCK_SQL, &[&job]).await.and_then(|r| r.try_get::<_, bool>(0)) {
                Ok(true) => {}
                _ => drop(deadpool_postgres::Object::take(client)),
            }
        });
    }
}

/// A connection on its way to holding a lock: if the caller gives up before the lock is
/// confirmed (its future dropped, an error), the connection is closed rather than pooled, since
/// its session may hold the lock after all.
struct Locking(Option<deadpool_postgres::Object>);

impl Drop for Locking {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

/// A job's new document bytes and index row, inside `tx`.
async fn write_job_in(tx: &Transaction<'_>, w: &JobWrite) -> DbResult<()> {
    let i = &w.index;
    let job = i.job.to_string();
    let previous: Option<(Option<String>, String, i64)> = tx
        .query_opt("SELECT assignee, serial, created_at FROM jobs WHERE job_id = $1", &[&job])
        .await?
        .map(|r| Ok::<_, tokio_postgres::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .transpose()?;
    let previous_assignee = previous.as_ref().and_then(|p| p.0.clone());
    // A new job or a changed serial or creation time updates other jobs' repeat flags: the
    // appliances' locks come before this transaction writes any row (see `refresh_repeat_visits`).
    let now = (i.serial.clone(), i.created_at.0);
    let previous = previous.map(|(_, serial, created)| (serial, created));
    let changed = previous.as_ref() != Some(&now);
    if changed {
        lock_serials(tx, [i.serial.as_str()].into_iter().chain(previous.as_ref().map(|p| p.0.as_str()))).await?;
    }
    match &w.full {
        Some((d, f)) => {
            put_doc(tx, &job, DocKind::Dispatch, d).await?;
            put_doc(tx, &job, DocKind::Field, f).await?;
        }
        None => {
            append_chunk(tx, i.job, DocKind::Dispatch, &w.dispatch_chunk).await?;
            append_chunk(tx, i.job, DocKind::Field, &w.field_chunk).await?;
        }
    }
    let f = &i.facts;
    let columns: Vec<&str> = JOB_COLUMNS.split(',').map(str::trim).chain(["updated_at"]).collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|n| format!("${n}")).collect();
    let updates: Vec<String> = columns.iter().skip(1).map(|c| format!("{c} = excluded.{c}")).collect();
    let sql = format!(
        "INSERT INTO jobs ({}) VALUES ({}) ON CONFLICT (job_id) DO UPDATE SET {}",
        columns.join(", "),
        placeholders.join(", "),
        updates.join(", ")
    );
    let assignee = i.assignee.map(|t| t.to_string());
    let values: [&(dyn ToSql + Sync); 31] = [
        &job,
        &i.status.as_str(),
        &assignee,
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
    ];
    tx.execute(&sql, &values).await?;
    if let Some((tech, at, when)) = f.last_check_in {
        set_location_in(&**tx, tech, at, when).await?;
    }
    for r in &w.receipts {
        tx.execute(
            "INSERT INTO event_receipts (job_id, event_id, device_id, claimed_at, received_at, backdated)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[&job, &r.event.to_string(), &r.device.to_string(), &r.claimed_at.0, &r.received_at.0, &r.backdated],
        )
        .await?;
    }
    for h in &w.blobs {
        tx.execute("INSERT INTO blob_refs (hash, job_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", &[&h.as_str(), &job]).await?;
    }
    if let Some(t) = &assignee {
        tx.execute("INSERT INTO job_assignees (job_id, technician_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", &[&job, t]).await?;
        // Assigned again after it left them: the earlier notice no longer holds. Only on a
        // change of assignee (any write of an old job names its assignee).
        if previous_assignee.as_deref() != Some(t.as_str()) {
            tx.execute(
                "DELETE FROM former_notices WHERE job_id = $1 AND device_id IN (SELECT id FROM devices WHERE technician_id = $2)",
                &[&job, t],
            )
            .await?;
        }
    }
    tx.execute("UPDATE jobs SET customer_key = $2 WHERE job_id = $1", &[&job, &i.customer_key.clone().unwrap_or_default()]).await?;
    refresh_repeat_visits(tx, i, changed, previous).await?;
    Ok(())
}

/// Takes the turn of writers of jobs on this appliance until the transaction ends (a
/// transaction may take it again).
/// Takes the appliances' repeat-visit locks (transaction-scoped), in one order so that two
/// writers cannot each hold one the other waits for.
async fn lock_serials<'a>(tx: &Transaction<'_>, serials: impl IntoIterator<Item = &'a str>) -> DbResult<()> {
    let mut serials: Vec<&str> = serials.into_iter().filter(|s| !s.is_empty()).collect();
    serials.sort_unstable();
    serials.dedup();
    for serial in serials {
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('onsite repeat ' || $1, 0))", &[&serial]).await?;
    }
    Ok(())
}

/// Whether a job is a repeat visit, as SQL over the row `jobs` (`$1` = the window in ms).
const REPEAT_FLAG: &str = "EXISTS (SELECT 1 FROM jobs p WHERE p.serial = jobs.serial AND jobs.serial != ''
    AND p.created_at < jobs.created_at AND p.created_at >= jobs.created_at - $1)";

/// Keeps `repeat_visit` true for exactly the jobs whose appliance was serviced in the window
/// before them: this job's own flag on every write, and, when the job is new or its serial or
/// creation time `changed` (from `previous`), the later jobs on the old and the new serial it
/// can make or stop being repeat visits.
///
/// Writers that change an appliance's jobs hold its lock (taken by the caller before any row
/// is written), so two instances creating jobs on one appliance at once see each other. A
/// write that changes nothing of the kind takes no lock: it only recomputes its own row, and a
/// concurrent creation updating that row waits for it and re-evaluates the flag after.
async fn refresh_repeat_visits(tx: &Transaction<'_>, i: &JobIndex, changed: bool, previous: Option<(String, i64)>) -> DbResult<()> {
    let window = onsite_store::kpi::REPEAT_WINDOW_MS;
    let now = (i.serial.clone(), i.created_at.0);
    let mut touched: Vec<(String, i64)> = std::iter::once(now).chain(previous).filter(|(s, _)| !s.is_empty()).collect();
    let job = i.job.to_string();
    tx.execute(&format!("UPDATE jobs SET repeat_visit = {REPEAT_FLAG} WHERE job_id = $2"), &[&window, &job]).await?;
    if !changed {
        return Ok(());
    }
    for (serial, created) in touched.drain(..) {
        tx.execute(
            &format!("UPDATE jobs SET repeat_visit = {REPEAT_FLAG} WHERE serial = $2 AND created_at > $3 AND created_at <= $3 + $1"),
            &[&window, &serial, &created],
        )
        .await?;
    }
    Ok(())
}

async fn set_location_in(c: &impl GenericClient, tech: TechnicianId, at: GeoPoint, when: Timestamp) -> DbResult<()> {
    c.execute(
        "INSERT INTO technician_locations (technician_id, lat, lon, at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (technician_id) DO UPDATE SET lat = excluded.lat, lon = excluded.lon, at = excluded.at
         WHERE excluded.at > technician_locations.at",
        &[&tech.to_string(), &at.lat, &at.lon, &when.0],
    )
    .await?;
    Ok(())
}

async fn load_doc(c: &impl GenericClient, job: JobId, kind: DocKind) -> DbResult<Option<AutoCommit>> {
    let id = job.to_string();
    let Some(row) = c.query_opt("SELECT snapshot FROM docs WHERE job_id = $1 AND kind = $2", &[&id, &kind.as_str()]).await? else {
        return Ok(None);
    };
    let snapshot: Vec<u8> = row.try_get(0)?;
    let bad = |e: automerge::AutomergeError| StoreError::BadDocument { job, detail: e.to_string() };
    let mut doc = AutoCommit::load(&snapshot).map_err(bad)?;
    for row in c.query("SELECT bytes FROM doc_chunks WHERE job_id = $1 AND kind = $2 ORDER BY seq", &[&id, &kind.as_str()]).await? {
        let bytes: Vec<u8> = row.try_get(0)?;
        doc.load_incremental(&bytes).map_err(bad)?;
    }
    Ok(Some(doc))
}

async fn append_chunk(tx: &Transaction<'_>, job: JobId, kind: DocKind, chunk: &[u8]) -> DbResult<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let id = job.to_string();
    let row = tx
        .query_opt("SELECT chunk_count, next_seq FROM docs WHERE job_id = $1 AND kind = $2 FOR UPDATE", &[&id, &kind.as_str()])
        .await?
        .ok_or(StoreError::NoSuchJob(job))?;
    let (count, seq): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    tx.execute("INSERT INTO doc_chunks (job_id, kind, seq, bytes) VALUES ($1, $2, $3, $4)", &[&id, &kind.as_str(), &seq, &chunk]).await?;
    tx.execute(
        "UPDATE docs SET chunk_count = chunk_count + 1, next_seq = next_seq + 1 WHERE job_id = $1 AND kind = $2",
        &[&id, &kind.as_str()],
    )
    .await?;
    if count + 1 >= CHUNKS_MAX {
        // Fold the chunks into a new snapshot, inside the same transaction.
        let mut doc = load_doc(&**tx, job, kind).await?.ok_or(StoreError::NoSuchJob(job))?;
        put_doc(tx, &id, kind, &doc.save()).await?;
    }
    Ok(())
}

async fn put_doc(tx: &Transaction<'_>, job: &str, kind: DocKind, bytes: &[u8]) -> DbResult<()> {
    tx.execute("DELETE FROM doc_chunks WHERE job_id = $1 AND kind = $2", &[&job, &kind.as_str()]).await?;
    tx.execute(
        "INSERT INTO docs (job_id, kind, snapshot) VALUES ($1, $2, $3)
         ON CONFLICT (job_id, kind) DO UPDATE SET snapshot = excluded.snapshot, chunk_count = 0",
        &[&job, &kind.as_str(), &bytes],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl ChangeFeed for PgStore {
    async fn announce(&self, job: JobId) -> Result<()> {
        run(async {
            let payload = format!("{} {job}", self.instance);
            self.client().await?.execute("SELECT pg_notify($1, $2)", &[&feed::CHANNEL, &payload]).await?;
            Ok(())
        })
        .await
    }

    fn listen(&self, heard: Box<dyn Fn(Heard) + Send + Sync>) {
        feed::spawn_listener(self.config.clone(), self.tls.clone(), self.instance.clone(), heard);
    }
}

#[async_trait]
impl Store for PgStore {
    async fn count_hit(&self, key: &str, window_ms: i64) -> Result<Option<u64>> {
        /// Windows older than this are removed now and then (a window is a minute).
        const KEPT_MS: i64 = 10 * Timestamp::MINUTE;
        run(async {
            let client = self.client().await?;
            let row = client
                .query_one(
                    "INSERT INTO rate_hits (key, window_start, hits)
                     VALUES ($1, (floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint / $2) * $2, 1)
                     ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_hits.hits + 1 RETURNING hits, window_start",
                    &[&key, &window_ms.max(1)],
                )
                .await?;
            let (hits, window_start): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
            if self.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed).is_multiple_of(256)
                && let Err(e) = client.execute("DELETE FROM rate_hits WHERE window_start < $1", &[&(window_start - KEPT_MS)]).await
            {
                // Housekeeping: a later hit tries again; the request goes on.
                tracing::warn!(error = %e, "old rate-limit windows were not removed");
            }
            Ok(Some(hits.max(0) as u64))
        })
        .await
    }

    async fn lease_job(&self, job: JobId) -> Result<JobLease> {
        run(async {
            let slot = self.lease_slots.clone().acquire_owned().await.map_err(|_| DbError::Value("the store is closing".into()))?;
            let job = job.to_string();
            let mut locking = Locking(Some(self.client().await?));
            let client = locking.0.as_mut().expect("set above");
            // A holder that never lets go (another instance stuck) fails this request after a
            // while instead of tying up a lease slot for good. The lock outlives the
            // transaction: it belongs to the session.
            let tx = client.transaction().await?;
            tx.batch_execute(&format!("SET LOCAL lock_timeout = '{}s'", LEASE_WAIT_S)).await?;
            tx.execute(JOB_LOCK_SQL, &[&job]).await?;
            tx.commit().await?;
            Ok(JobLease::new(AdvisoryLease { client: locking.0.take(), job, _slot: slot }))
        })
        .await
    }

    async fn health(&self) -> Result<()> {
        run(async {
            self.client().await?.execute("SELECT 1", &[]).await?;
            Ok(())
        })
        .await
    }

    async fn device_by_token(&self, token_hash: &str) -> Result<Option<DeviceIdentity>> {
        run(async {
            let row = self
                .client()
                .await?
                .query_opt(
                    "SELECT d.id, d.technician_id, t.json::jsonb ->> 'name' FROM devices d JOIN technicians t ON t.id = d.technician_id
                     WHERE d.token_hash = $1 AND d.revoked_at IS NULL AND t.active",
                    &[&token_hash],
                )
                .await?;
            let Some(r) = row else { return Ok(None) };
            Ok(Some(DeviceIdentity {
                device: parse("device id", &r.try_get::<_, String>(0)?)?,
                technician: parse("technician id", &r.try_get::<_, String>(1)?)?,
                technician_name: r.try_get::<_, Option<String>>(2)?.unwrap_or_default(),
            }))
        })
        .await
    }

    async fn put_technician(&self, t: &Technician) -> Result<()> {
        run(async {
            self.client()
                .await?
                .execute(
                    "INSERT INTO technicians (id, json, active) VALUES ($1, $2, $3)
                     ON CONFLICT (id) DO UPDATE SET json = excluded.json, active = excluded.active",
                    &[&t.id.to_string(), &serde_json::to_string(t)?, &t.active],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn technician(&self, id: TechnicianId) -> Result<Option<Technician>> {
        run(async {
            let row = self.client().await?.query_opt("SELECT json, active FROM technicians WHERE id = $1", &[&id.to_string()]).await?;
            row.map(|r| technician_from_json(&r.try_get::<_, String>(0)?, r.try_get(1)?)).transpose()
        })
        .await
    }

    async fn technicians(&self) -> Result<Vec<Technician>> {
        run(async {
            let rows = self.client().await?.query("SELECT json, active FROM technicians ORDER BY id COLLATE \"C\"", &[]).await?;
            rows.iter().map(|r| technician_from_json(&r.try_get::<_, String>(0)?, r.try_get(1)?)).collect()
        })
        .await
    }

    async fn create_pairing_code(&self, tech: TechnicianId, code_hash: &str, expires_at: Timestamp) -> Result<()> {
        run(async {
            self.client()
                .await?
                .execute(
                    "INSERT INTO pairing_codes (code_hash, technician_id, expires_at) VALUES ($1, $2, $3)",
                    &[&code_hash, &tech.to_string(), &expires_at.0],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn redeem_pairing_code(&self, code_hash: &str, now: Timestamp, device: NewDevice) -> Result<Redeemed> {
        run(async {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            // One statement takes the code: two instances redeeming it at once cannot both win.
            let Some(row) = tx
                .query_opt(
                    "UPDATE pairing_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2
                     RETURNING technician_id",
                    &[&code_hash, &now.0],
                )
                .await?
            else {
                return Ok(Redeemed::InvalidCode);
            };
            let tech: String = row.try_get(0)?;
            let Some(t) = tx.query_opt("SELECT json, active FROM technicians WHERE id = $1", &[&tech]).await? else {
                return Ok(Redeemed::InvalidCode);
            };
            let (json, active): (String, bool) = (t.try_get(0)?, t.try_get(1)?);
            if !active {
                return Ok(Redeemed::InvalidCode);
            }
            if let Some(prev) = device.previous {
                let prev = prev.to_string();
                let owner: Option<String> =
                    tx.query_opt("SELECT technician_id FROM devices WHERE id = $1", &[&prev]).await?.map(|r| r.try_get(0)).transpose()?;
                if owner.as_deref() != Some(tech.as_str()) {
                    // Dropping the transaction rolls the code's use back.
                    return Ok(Redeemed::NotTheSameTechnician);
                }
                tx.execute("UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", &[&prev, &now.0]).await?;
            }
            tx.execute(
                "INSERT INTO devices (id, technician_id, name, token_hash, created_at, replaces) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&device.id.to_string(), &tech, &device.name, &device.token_hash, &now.0, &device.previous.map(|p| p.to_string())],
            )
            .await?;
            tx.commit().await?;
            Ok(Redeemed::Paired(technician_from_json(&json, true)?))
        })
        .await
    }

    async fn device_lineage(&self, device: DeviceId) -> Result<Vec<DeviceId>> {
        run(async {
            // Bounded: a chain of re-pairings is short, and a cycle cannot be made (a device
            // replaces only devices that existed before it).
            let rows = self
                .client()
                .await?
                .query(
                    "WITH RECURSIVE lineage(id, depth) AS (
                         SELECT $1::text, 0
                         UNION SELECT d.replaces, l.depth + 1 FROM devices d JOIN lineage l ON d.id = l.id
                         WHERE d.replaces IS NOT NULL AND l.depth < 64
                     ) SELECT id FROM lineage",
                    &[&device.to_string()],
                )
                .await?;
            Ok(rows.iter().filter_map(|r| r.try_get::<_, String>(0).ok()?.parse().ok()).collect())
        })
        .await
    }

    async fn devices_of(&self, tech: TechnicianId) -> Result<Vec<DeviceRecord>> {
        run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT id, name, created_at, last_seen_at, revoked_at, replaces, pending_jobs, pending_blob_bytes
                     FROM devices WHERE technician_id = $1 ORDER BY created_at",
                    &[&tech.to_string()],
                )
                .await?;
            let mut out = Vec::new();
            for r in &rows {
                let Ok(id) = r.try_get::<_, String>(0)?.parse() else { continue };
                let replaces: Option<String> = r.try_get(5)?;
                out.push(DeviceRecord {
                    id,
                    name: r.try_get(1)?,
                    paired_at: Timestamp(r.try_get(2)?),
                    last_seen_at: ts(r, 3)?,
                    revoked_at: ts(r, 4)?,
                    replaces: replaces.and_then(|r| r.parse().ok()),
                    pending_jobs: r.try_get::<_, Option<i64>>(6)?.map(|n| n.clamp(0, u32::MAX as i64) as u32),
                    pending_blob_bytes: r.try_get::<_, Option<i64>>(7)?.map(|b| b.max(0) as u64),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn device_seen(&self, device: DeviceId, at: Timestamp, pending: shared::wire::PendingWork) -> Result<()> {
        run(async {
            self.client()
                .await?
                .execute(
                    // Instances report out of order: an older sighting never replaces a newer one.
                    "UPDATE devices SET last_seen_at = $2, pending_jobs = $3, pending_blob_bytes = $4
                     WHERE id = $1 AND (last_seen_at IS NULL OR last_seen_at <= $2)",
                    &[&device.to_string(), &at.0, &(pending.jobs as i64), &(pending.blob_bytes.min(i64::MAX as u64) as i64)],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn device_last_seen(&self, device: DeviceId) -> Result<Option<Timestamp>> {
        run(async {
            let row = self.client().await?.query_opt("SELECT last_seen_at FROM devices WHERE id = $1", &[&device.to_string()]).await?;
            Ok(match row {
                Some(r) => ts(&r, 0)?,
                None => None,
            })
        })
        .await
    }

    async fn backdated_events(&self, job: JobId) -> Result<Vec<EventReceipt>> {
        run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT event_id, device_id, claimed_at, received_at FROM event_receipts WHERE job_id = $1 AND backdated
                     ORDER BY received_at",
                    &[&job.to_string()],
                )
                .await?;
            let mut out = Vec::new();
            for r in &rows {
                if let (Ok(event), Ok(device)) = (r.try_get::<_, String>(0)?.parse(), r.try_get::<_, String>(1)?.parse()) {
                    out.push(EventReceipt {
                        event,
                        device,
                        claimed_at: Timestamp(r.try_get(2)?),
                        received_at: Timestamp(r.try_get(3)?),
                        backdated: true,
                    });
                }
            }
            Ok(out)
        })
        .await
    }

    async fn revoke_device(&self, device: DeviceId) -> Result<bool> {
        run(async {
            let n = self
                .client()
                .await?
                .execute(
                    "UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                    &[&device.to_string(), &Timestamp::now().0],
                )
                .await?;
            Ok(n > 0)
        })
        .await
    }

    async fn load_job(&self, job: JobId) -> Result<Option<(AutoCommit, AutoCommit)>> {
        run(async {
            let mut c = self.client().await?;
            // One snapshot of both documents: a write between the two reads cannot split them.
            let tx = c.build_transaction().isolation_level(tokio_postgres::IsolationLevel::RepeatableRead).read_only(true).start().await?;
            let d = load_doc(&*tx, job, DocKind::Dispatch).await?;
            let f = load_doc(&*tx, job, DocKind::Field).await?;
            tx.commit().await?;
            Ok(d.zip(f))
        })
        .await
    }

    async fn write_job(&self, w: JobWrite) -> Result<()> {
        run(async {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            write_job_in(&tx, &w).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn write_jobs(&self, writes: Vec<JobWrite>) -> Result<()> {
        run(async {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            // Every appliance's lock first (the jobs' new serials and the ones they had), in one
            // order, so two batches cannot wait on each other.
            let ids: Vec<String> = writes.iter().map(|w| w.index.job.to_string()).collect();
            let held: Vec<String> =
                tx.query("SELECT serial FROM jobs WHERE job_id = ANY($1)", &[&ids]).await?.iter().map(|r| r.get(0)).collect();
            lock_serials(&tx, writes.iter().map(|w| w.index.serial.as_str()).chain(held.iter().map(String::as_str))).await?;
            for w in &writes {
                write_job_in(&tx, w).await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn erase_job(&self, w: JobWrite, at: Timestamp, places: Vec<GeoPoint>) -> Result<()> {
        run(async {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let job = w.index.job.to_string();
            for table in ["blob_refs", "blob_holders", "sync_states"] {
                tx.execute(&format!("DELETE FROM {table} WHERE job_id = $1"), &[&job]).await?;
            }
            for p in &places {
                tx.execute("DELETE FROM technician_locations WHERE lat = $1 AND lon = $2", &[&p.lat, &p.lon]).await?;
            }
            tx.execute("DELETE FROM idempotency_keys WHERE position(convert_to($1, 'UTF8') IN body) > 0", &[&job]).await?;
            write_job_in(&tx, &w).await?;
            tx.execute(
                "INSERT INTO erased_jobs (job_id, erased_at) VALUES ($1, $2) ON CONFLICT (job_id) DO UPDATE SET erased_at = excluded.erased_at",
                &[&job, &at.0],
            )
            .await?;
            tx.commit().await?;
            // No row holds the old values now. Their dead versions stay in PostgreSQL's files
            // until autovacuum and later writes reuse the space (see ARCHITECTURE.md).
            Ok(())
        })
        .await
    }

    async fn blobs_of_job(&self, job: JobId) -> Result<Vec<String>> {
        run(async {
            let rows = self.client().await?.query("SELECT hash FROM blob_refs WHERE job_id = $1", &[&job.to_string()]).await?;
            Ok(rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn erased_among(&self, jobs: Vec<JobId>) -> Result<Vec<JobId>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        run(async {
            let list: Vec<String> = jobs.iter().map(ToString::to_string).collect();
            ids(&self.client().await?.query("SELECT job_id FROM erased_jobs WHERE job_id = ANY($1)", &[&list]).await?)
        })
        .await
    }

    async fn jobs_of_customer(&self, key: &str) -> Result<Vec<JobId>> {
        run(async {
            ids(&self.client().await?.query("SELECT job_id FROM jobs WHERE customer_key = $1 ORDER BY created_at", &[&key]).await?)
        })
        .await
    }

    async fn jobs_without_customer_key(&self) -> Result<Vec<JobId>> {
        run(async { ids(&self.client().await?.query("SELECT job_id FROM jobs WHERE customer_key IS NULL", &[]).await?) }).await
    }

    async fn set_customer_key(&self, job: JobId, key: Option<String>) -> Result<()> {
        run(async {
            // '' = looked at, no usable phone number (NULL = not looked at yet).
            self.client()
                .await?
                .execute("UPDATE jobs SET customer_key = $2 WHERE job_id = $1", &[&job.to_string(), &key.unwrap_or_default()])
                .await?;
            Ok(())
        })
        .await
    }

    async fn finished_unerased(&self, before: Timestamp, limit: u32) -> Result<Vec<JobId>> {
        run(async {
            ids(&self
                .client()
                .await?
                .query(
                    "SELECT job_id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < $1
                       AND job_id NOT IN (SELECT job_id FROM erased_jobs) ORDER BY finished_at LIMIT $2",
                    &[&before.0, &(limit as i64)],
                )
                .await?)
        })
        .await
    }

    async fn assigned_digests(&self, tech: TechnicianId, finished_since: Timestamp) -> Result<Vec<(JobId, Digest)>> {
        run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT job_id, digest FROM jobs WHERE assignee = $1 AND (finished_at IS NULL OR finished_at >= $2)
                       AND job_id NOT IN (SELECT job_id FROM erased_jobs)",
                    &[&tech.to_string(), &finished_since.0],
                )
                .await?;
            let mut out = Vec::new();
            for r in &rows {
                let d: Vec<u8> = r.try_get(1)?;
                if let (Ok(id), Ok(d)) = (r.try_get::<_, String>(0)?.parse(), <[u8; 8]>::try_from(d.as_slice())) {
                    out.push((id, d));
                }
            }
            Ok(out)
        })
        .await
    }

    async fn ever_assigned(&self, tech: TechnicianId, job: JobId) -> Result<bool> {
        run(async {
            Ok(self
                .client()
                .await?
                .query_opt("SELECT 1 FROM job_assignees WHERE job_id = $1 AND technician_id = $2", &[&job.to_string(), &tech.to_string()])
                .await?
                .is_some())
        })
        .await
    }

    async fn sync_state(&self, device: DeviceId, job: JobId, kind: DocKind) -> Result<Option<Vec<u8>>> {
        run(async {
            let row = self
                .client()
                .await?
                .query_opt(
                    "SELECT state FROM sync_states WHERE device_id = $1 AND job_id = $2 AND kind = $3",
                    &[&device.to_string(), &job.to_string(), &kind.as_str()],
                )
                .await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
        .await
    }

    async fn put_sync_states(&self, device: DeviceId, states: Vec<(JobId, DocKind, Vec<u8>)>) -> Result<()> {
        if states.is_empty() {
            return Ok(());
        }
        run(async {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let device = device.to_string();
            for (job, kind, state) in &states {
                tx.execute(
                    "INSERT INTO sync_states (device_id, job_id, kind, state) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (device_id, job_id, kind) DO UPDATE SET state = excluded.state",
                    &[&device, &job.to_string(), &kind.as_str(), state],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn job_ids(&self) -> Result<Vec<JobId>> {
        run(async { ids(&self.client().await?.query("SELECT job_id FROM jobs ORDER BY job_id COLLATE \"C\"", &[]).await?) }).await
    }

    async fn jobs_by_serial(&self, serial: &str, limit: usize) -> Result<Vec<JobIndex>> {
        run(async {
            let rows = self
                .client()
                .await?
                .query(
                    &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE serial = $1 ORDER BY created_at DESC LIMIT $2"),
                    &[&serial, &(limit.min(onsite_store::PAGE_MAX) as i64)],
                )
                .await?;
            rows.iter().map(job_from_row).collect()
        })
        .await
    }

    async fn job_row(&self, job: JobId) -> Result<Option<JobIndex>> {
        run(async {
            let row =
                self.client().await?.query_opt(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = $1"), &[&job.to_string()]).await?;
            row.as_ref().map(job_from_row).transpose()
        })
        .await
    }

    async fn list_jobs(&self, q: &JobQuery, now: Timestamp) -> Result<Vec<JobIndex>> {
        run(async {
            let mut sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE TRUE");
            let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
            let mut arg = |sql: &mut String, clause: &str, v: Box<dyn ToSql + Sync + Send>| {
                args.push(v);
                sql.push_str(&clause.replace('?', &format!("${}", args.len())));
            };
            if let Some(list) = q.statuses() {
                arg(&mut sql, " AND status = ANY(?)", Box::new(list));
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
            // Ascending puts jobs without an appointment last, as the index is ordered.
            arg(&mut sql, " ORDER BY appt_start, job_id COLLATE \"C\" LIMIT ?", Box::new(limit));
            arg(&mut sql, " OFFSET ?", Box::new(offset));
            let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect();
            let rows = self.client().await?.query(&sql, &params).await?;
            rows.iter().map(job_from_row).collect()
        })
        .await
    }

    async fn kpi_sums(&self, from: Timestamp, to: Timestamp, key: KpiKey) -> Result<Vec<(String, KpiSums)>> {
        run(async {
            let group = match key {
                KpiKey::All => "''::text",
                KpiKey::Technician => "coalesce(assignee, '')",
                KpiKey::Category => "category",
                KpiKey::BrandModel => "brand || ' ' || model",
                KpiKey::Day { .. } => "((created_at + $3) / 86400000)::text",
            };
            let offset = key.day_offset_ms();
            let mut args: Vec<&(dyn ToSql + Sync)> = vec![&from.0, &to.0];
            if matches!(key, KpiKey::Day { .. }) {
                args.push(&offset);
            }
            let name = |s: String| match key {
                KpiKey::Day { .. } => s.parse().map(KpiKey::day_name).unwrap_or(s),
                _ => s,
            };
            let mut client = self.client().await?;
            // One snapshot for both reads.
            let tx =
                client.build_transaction().read_only(true).isolation_level(tokio_postgres::IsolationLevel::RepeatableRead).start().await?;
            // Sums as double precision: they cannot overflow, whatever a device wrote.
            let rows = tx
                .query(
                    &format!(
                        "SELECT {group}, count(*), count(completed_at), count(*) FILTER (WHERE status = 'cancelled'),
                            count(*) FILTER (WHERE self_service),
                            coalesce(sum(first_assigned_at::float8 - created_at::float8), 0), count(first_assigned_at),
                            coalesce(sum(first_on_site_at::float8 - arrive_by::float8), 0),
                            count(*) FILTER (WHERE first_on_site_at IS NOT NULL AND arrive_by IS NOT NULL),
                            count(*) FILTER (WHERE first_on_site_at <= arrive_by),
                            count(*) FILTER (WHERE first_time_fix), count(first_time_fix),
                            count(*) FILTER (WHERE repeat_visit),
                            coalesce(sum(quote_total::float8), 0), count(quote_total),
                            coalesce(sum(final_total::float8), 0), count(final_total),
                            coalesce(sum(rating::float8), 0), count(rating)
                         FROM jobs WHERE created_at >= $1 AND created_at < $2 GROUP BY 1"
                    ),
                    &args,
                )
                .await?;
            let mut out: std::collections::BTreeMap<String, KpiSums> = Default::default();
            for r in &rows {
                let n = |i: usize| -> DbResult<u64> { Ok(r.try_get::<_, i64>(i)?.max(0) as u64) };
                let total = |s: usize| -> DbResult<Total> { Ok(Total { sum: r.try_get(s)?, count: n(s + 1)? }) };
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
                out.insert(name(r.try_get(0)?), sums);
            }
            let rows = tx
                .query(
                    &format!(
                        "SELECT {group}, cause, brand || ' ' || model, count(*) FROM jobs
                         WHERE created_at >= $1 AND created_at < $2 AND rating <= {LOW_RATING_MAX} GROUP BY 1, 2, 3"
                    ),
                    &args,
                )
                .await?;
            for r in &rows {
                let (cause, brand_model, n): (String, String, i64) = (r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
                out.entry(name(r.try_get(0)?)).or_default().add_low_ratings(&cause, &brand_model, n.max(0) as u64);
            }
            tx.commit().await?;
            Ok(out.into_iter().collect())
        })
        .await
    }

    async fn set_location(&self, tech: TechnicianId, at: GeoPoint, when: Timestamp) -> Result<()> {
        run(async { set_location_in(&**self.client().await?, tech, at, when).await }).await
    }

    async fn location(&self, tech: TechnicianId) -> Result<Option<(GeoPoint, Timestamp)>> {
        run(async {
            let row = self
                .client()
                .await?
                .query_opt("SELECT lat, lon, at FROM technician_locations WHERE technician_id = $1", &[&tech.to_string()])
                .await?;
            row.map(|r| Ok((GeoPoint { lat: r.try_get(0)?, lon: r.try_get(1)? }, Timestamp(r.try_get(2)?)))).transpose()
        })
        .await
    }

    async fn publish_reference(&self, kind: &str, json: String, expected: Option<u32>) -> Result<u32> {
        run(async {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            // Publishers of one kind take turns, on every instance: two cannot both take `next`.
            tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('reference:' || $1, 0))", &[&kind]).await?;
            let next: i64 =
                tx.query_one("SELECT coalesce(max(version), 0) + 1 FROM reference_data WHERE kind = $1", &[&kind]).await?.try_get(0)?;
            if expected.is_some_and(|v| i64::from(v) != next) {
                return Err(StoreError::Conflict(format!("{kind}: version {next} is next, someone published meanwhile")).into());
            }
            tx.execute(
                "INSERT INTO reference_data (kind, version, json, published_at) VALUES ($1, $2, $3, $4)",
                &[&kind, &next, &json, &Timestamp::now().0],
            )
            .await?;
            tx.commit().await?;
            u32::try_from(next).map_err(|_| DbError::Value(format!("{kind} version {next}")))
        })
        .await
    }

    async fn reference(&self, kind: &str, version: Option<u32>) -> Result<Option<(u32, String)>> {
        run(async {
            let c = self.client().await?;
            let row = match version {
                Some(v) => {
                    c.query_opt("SELECT version, json FROM reference_data WHERE kind = $1 AND version = $2", &[&kind, &i64::from(v)])
                        .await?
                }
                None => {
                    c.query_opt("SELECT version, json FROM reference_data WHERE kind = $1 ORDER BY version DESC LIMIT 1", &[&kind]).await?
                }
            };
            row.map(|r| Ok((version_of(r.try_get(0)?)?, r.try_get(1)?))).transpose()
        })
        .await
    }

    async fn reference_versions(&self, kind: &str) -> Result<Vec<ReferenceVersion>> {
        run(async {
            let rows = self
                .client()
                .await?
                .query("SELECT version, published_at FROM reference_data WHERE kind = $1 ORDER BY version", &[&kind])
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(ReferenceVersion {
                        kind: kind.to_owned(),
                        version: version_of(r.try_get(0)?)?,
                        published_at: Timestamp(r.try_get(1)?),
                    })
                })
                .collect()
        })
        .await
    }

    async fn latest_reference_versions(&self, kinds: Vec<String>) -> Result<HashMap<String, u32>> {
        run(async {
            let rows = self
                .client()
                .await?
                .query("SELECT kind, max(version) FROM reference_data WHERE kind = ANY($1) GROUP BY kind", &[&kinds])
                .await?;
            rows.iter().map(|r| Ok((r.try_get(0)?, version_of(r.try_get(1)?)?))).collect()
        })
        .await
    }

    async fn blob_jobs(&self, hash: &str) -> Result<Vec<JobId>> {
        self.jobs_of_blob("SELECT job_id FROM blob_refs JOIN blob_holders USING (hash, job_id) WHERE hash = $1", hash).await
    }

    async fn blob_jobs_naming(&self, hash: &str) -> Result<Vec<JobId>> {
        self.jobs_of_blob("SELECT job_id FROM blob_refs WHERE hash = $1", hash).await
    }

    async fn blob_held(&self, hash: &str, job: JobId) -> Result<bool> {
        run(async {
            Ok(self
                .client()
                .await?
                .query_opt("SELECT 1 FROM blob_holders WHERE hash = $1 AND job_id = $2", &[&hash, &job.to_string()])
                .await?
                .is_some())
        })
        .await
    }

    async fn add_blob_holder(&self, hash: &str, job: JobId) -> Result<()> {
        run(async {
            self.client()
                .await?
                .execute("INSERT INTO blob_holders (hash, job_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", &[&hash, &job.to_string()])
                .await?;
            Ok(())
        })
        .await
    }

    async fn forget_blob(&self, hash: &str) -> Result<()> {
        run(async {
            self.client().await?.execute("DELETE FROM blob_holders WHERE hash = $1", &[&hash]).await?;
            Ok(())
        })
        .await
    }

    async fn former_rounds(&self, device: DeviceId, job: JobId) -> Result<Option<u32>> {
        run(async {
            let row = self
                .client()
                .await?
                .query_opt(
                    "SELECT rounds FROM former_notices WHERE device_id = $1 AND job_id = $2",
                    &[&device.to_string(), &job.to_string()],
                )
                .await?;
            row.map(|r| Ok(r.try_get::<_, i64>(0)?.clamp(0, u32::MAX as i64) as u32)).transpose()
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
        run(async {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            let (device, technician) = (device.to_string(), technician.to_string());
            // Counted before noting: work stored in the round that tells the device is not counted.
            for job in &delivered {
                tx.execute(
                    "UPDATE former_notices SET rounds = rounds + 1 WHERE device_id = $1 AND job_id = $2",
                    &[&device, &job.to_string()],
                )
                .await?;
            }
            for job in &noticed {
                tx.execute(
                    "INSERT INTO former_notices (device_id, job_id, noticed_at)
                     SELECT $1, job_id, $3 FROM job_assignees WHERE job_id = $2 AND technician_id = $4
                     ON CONFLICT DO NOTHING",
                    &[&device, &job.to_string(), &at.0, &technician],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }
}
