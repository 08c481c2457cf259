//! Jobs: the domain operations the screens call.

use automerge::AutoCommit;
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use shared::docs::{DocKind, device_actor, read_dispatch, read_field};
use shared::edit::{FieldActor, FieldEdit, apply_field_edit};
use shared::model::{Category, DispatchDoc, FieldDoc, GeoPoint, LineItem, LineKind, Priority, Window};
use shared::status::{Derived, Status, derive};
use shared::{JobId, Timestamp};

use super::docs::{append_changes, load_doc, put_doc};
use super::{Result, Store, StoreError};

/// A job as a screen shows it: both documents and what follows from them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub dispatch: DispatchDoc,
    pub field: FieldDoc,
    pub derived: Derived,
}

/// A row of a job list, read from the index without opening documents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobSummary {
    pub job_id: JobId,
    pub status: Status,
    pub priority: Priority,
    pub appointment: Option<Window>,
    pub customer_name: String,
    pub address: String,
    pub location: Option<GeoPoint>,
    pub category: Category,
    pub brand: String,
    pub model: String,
    pub problem: String,
    pub arrive_by: Option<Timestamp>,
    pub resolve_by: Option<Timestamp>,
    pub has_conflicts: bool,
}

/// Which jobs belong on today's list.
#[derive(Clone, Copy, Debug)]
pub struct TodayQuery {
    /// Start of the technician's local day, as a UTC instant.
    pub day_start: Timestamp,
}

impl Store {
    /// Stores a job's two documents as received (from the server, or the demo seed).
    pub fn put_job(&mut self, dispatch: &mut AutoCommit, field: &mut AutoCommit) -> Result<JobView> {
        let view = view_of(dispatch, field, "incoming")?;
        let job_id = view.dispatch.job_id.to_string();
        let tx = self.conn.transaction()?;
        put_doc(&tx, &job_id, DocKind::Dispatch, dispatch)?;
        put_doc(&tx, &job_id, DocKind::Field, field)?;
        index(&tx, &view, dispatch, field)?;
        // As received: nothing on it is unsent yet.
        tx.execute("UPDATE jobs SET confirmed_field_digest = field_digest WHERE job_id = ?1", [&job_id])?;
        tx.commit()?;
        Ok(view)
    }

    pub fn open_job(&self, job: JobId) -> Result<JobView> {
        let job_id = job.to_string();
        if let Some(view) = super::view_cache::get(&self.conn, &job_id)? {
            return Ok(view);
        }
        self.open_job_from_documents(job)
    }

    /// The job's cached copy alone (`None` when there is none usable): for checks.
    pub fn cached_view(&self, job: JobId) -> Result<Option<JobView>> {
        super::view_cache::get(&self.conn, &job.to_string())
    }

    /// Reads the job from its documents, passing over the cached copy that [`Store::open_job`]
    /// answers from: what that copy must always equal.
    pub fn open_job_from_documents(&self, job: JobId) -> Result<JobView> {
        let job_id = job.to_string();
        let (mut d, mut f) = self.load_pair(&job_id)?;
        view_of(&mut d, &mut f, &job_id)
    }

    fn load_pair(&self, job_id: &str) -> Result<(AutoCommit, AutoCommit)> {
        let d = load_doc(&self.conn, job_id, DocKind::Dispatch)?;
        let f = load_doc(&self.conn, job_id, DocKind::Field)?;
        match (d, f) {
            (Some(d), Some(f)) => Ok((d, f)),
            _ => Err(StoreError::NoSuchJob(job_id.to_owned())),
        }
    }

    /// Applies one edit from this device's technician, committed with the index in one transaction.
    pub fn apply_edit(&mut self, job: JobId, edit: FieldEdit) -> Result<JobView> {
        self.apply_edit_at(job, edit, Timestamp::now())
    }

    /// [`Store::apply_edit`] at a given time (tests and replays).
    pub fn apply_edit_at(&mut self, job: JobId, edit: FieldEdit, now: Timestamp) -> Result<JobView> {
        let actor = self.actor()?;
        // Part lines move with the van's stock: only `use_part` adds them and only `remove_line`
        // takes them off (each in one transaction with the stock).
        match &edit {
            FieldEdit::UpsertLine { line } if line.kind == LineKind::Part => return Err(StoreError::PartsFromVan),
            FieldEdit::UpsertLine { line: LineItem { id, .. } } | FieldEdit::RemoveLine { id } => {
                let view = self.open_job(job)?;
                if view.field.quote.lines.iter().any(|l| l.id == *id && l.kind == LineKind::Part) {
                    return Err(StoreError::PartsFromVan);
                }
            }
            _ => {}
        }
        let job_id = job.to_string();
        let tx = self.conn.transaction()?;
        let view = field_edit_in(&tx, &job_id, &actor, now, edit)?;
        tx.commit()?;
        Ok(view)
    }

    /// Marks the jobs the server says left this phone (and unmarks any it gave back).
    pub fn set_left_jobs(&mut self, left: &[JobId]) -> Result<()> {
        let ids = serde_json::to_string(&left.iter().map(|j| j.to_string()).collect::<Vec<_>>()).expect("ids serialize");
        self.conn.execute(
            "UPDATE jobs SET left_at = CASE WHEN job_id IN (SELECT value FROM json_each(?1)) THEN coalesce(left_at, ?2) ELSE NULL END
             WHERE left_at IS NOT NULL OR job_id IN (SELECT value FROM json_each(?1))",
            params![ids, Timestamp::now().0],
        )?;
        Ok(())
    }

    /// Today's list: jobs with an appointment today, plus unfinished jobs from earlier days and
    /// open jobs with no appointment yet, ordered by appointment.
    pub fn list_today(&self, q: TodayQuery) -> Result<Vec<JobSummary>> {
        let day_end = Timestamp(q.day_start.0.saturating_add(Timestamp::DAY));
        let mut stmt = self.conn.prepare_cached(
            "SELECT job_id, status, priority, appt_start, appt_end, customer_name, address, lat, lon,
                    category, brand, model, problem, arrive_by, resolve_by, conflicts
             FROM jobs
             WHERE (appt_start >= ?1 AND appt_start < ?2)
                OR ((appt_start < ?1 OR appt_start IS NULL)
                    AND status NOT IN ('completed', 'closed', 'cancelled', 'new'))
             ORDER BY appt_start IS NULL, appt_start, priority DESC",
        )?;
        let rows = stmt.query_map(params![q.day_start.0, day_end.0], summary_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The jobs with an appointment on one day (planning ahead), ordered by appointment.
    pub fn list_day(&self, day_start: Timestamp) -> Result<Vec<JobSummary>> {
        let day_end = Timestamp(day_start.0.saturating_add(Timestamp::DAY));
        let mut stmt = self.conn.prepare_cached(
            "SELECT job_id, status, priority, appt_start, appt_end, customer_name, address, lat, lon,
                    category, brand, model, problem, arrive_by, resolve_by, conflicts
             FROM jobs WHERE appt_start >= ?1 AND appt_start < ?2
             ORDER BY appt_start, priority DESC",
        )?;
        let rows = stmt.query_map(params![day_start.0, day_end.0], summary_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Every job on the device (settings, sync), newest appointment first.
    pub fn list_all(&self) -> Result<Vec<JobSummary>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT job_id, status, priority, appt_start, appt_end, customer_name, address, lat, lon,
                    category, brand, model, problem, arrive_by, resolve_by, conflicts
             FROM jobs ORDER BY appt_start DESC",
        )?;
        let rows = stmt.query_map([], summary_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Earlier jobs on the same appliance (same serial), for repeat-visit history.
    pub fn history_of(&self, job: JobId, serial: &str) -> Result<Vec<JobSummary>> {
        if serial.trim().is_empty() {
            return Ok(Vec::new());
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT job_id, status, priority, appt_start, appt_end, customer_name, address, lat, lon,
                    category, brand, model, problem, arrive_by, resolve_by, conflicts
             FROM jobs WHERE serial = ?1 AND job_id != ?2 ORDER BY appt_start DESC",
        )?;
        let rows = stmt.query_map(params![serial, job.to_string()], summary_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn job_count(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT count(*) FROM jobs", [], |r| r.get::<_, i64>(0))? as u64)
    }
}

/// Loads both documents inside `tx`, lets `f` change them, appends the new changes and reindexes.
pub(super) fn edit_in(
    tx: &Transaction<'_>,
    job_id: &str,
    f: impl FnOnce(&mut AutoCommit, &mut AutoCommit) -> Result<()>,
) -> Result<JobView> {
    let (Some(mut d), Some(mut fd)) = (load_doc(tx, job_id, DocKind::Dispatch)?, load_doc(tx, job_id, DocKind::Field)?) else {
        return Err(StoreError::NoSuchJob(job_id.to_owned()));
    };
    let (d_before, f_before) = (d.get_heads(), fd.get_heads());
    f(&mut d, &mut fd)?;
    append_changes(tx, job_id, DocKind::Dispatch, &mut d, &d_before)?;
    append_changes(tx, job_id, DocKind::Field, &mut fd, &f_before)?;
    fail::fail_point!("store::docs_written", |_| Err(StoreError::NoSuchJob("failpoint".into())));
    let view = view_of(&mut d, &mut fd, job_id)?;
    index(tx, &view, &mut d, &mut fd)?;
    Ok(view)
}

/// One field edit by `actor`, inside `tx`.
pub(super) fn field_edit_in(tx: &Transaction<'_>, job_id: &str, actor: &FieldActor, now: Timestamp, edit: FieldEdit) -> Result<JobView> {
    // A job that left this phone takes no new work: the server would refuse it after a few rounds.
    let left: Option<i64> = tx.query_row("SELECT left_at FROM jobs WHERE job_id = ?1", [job_id], |r| r.get(0)).optional()?.flatten();
    if left.is_some() {
        return Err(StoreError::JobLeft(job_id.to_owned()));
    }
    edit_in(tx, job_id, |d, f| {
        let dispatch = read_dispatch(d).map_err(|e| bad(job_id, DocKind::Dispatch, e))?;
        f.set_actor(device_actor(actor.device));
        apply_field_edit(f, &dispatch, actor, now, edit)?;
        Ok(())
    })
}

fn bad(job: &str, kind: DocKind, source: shared::docs::DocError) -> StoreError {
    StoreError::BadDocument { job: job.to_owned(), kind: kind.as_str(), source: Box::new(source) }
}

pub(super) fn view_of(d: &mut AutoCommit, f: &mut AutoCommit, job: &str) -> Result<JobView> {
    let dispatch = read_dispatch(d).map_err(|e| bad(job, DocKind::Dispatch, e))?;
    let field = read_field(f).map_err(|e| bad(job, DocKind::Field, e))?;
    let derived = derive(&dispatch, &field);
    Ok(JobView { dispatch, field, derived })
}

/// Rewrites the job's index row from its documents.
pub(super) fn index(tx: &Transaction<'_>, v: &JobView, dd: &mut AutoCommit, fd: &mut AutoCommit) -> Result<()> {
    let d = &v.dispatch;
    let (dh, fh) = (dd.get_heads(), fd.get_heads());
    let digest = shared::wire::digest(&dh, &fh);
    let field_digest = shared::wire::digest(&[], &fh);
    tx.execute(
        "INSERT INTO jobs (job_id, status, priority, appt_start, appt_end, customer_name, phone, address,
             lat, lon, category, brand, model, serial, problem, arrive_by, resolve_by, conflicts, updated_at,
             digest, field_digest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)
         ON CONFLICT (job_id) DO UPDATE SET status = excluded.status, priority = excluded.priority,
             appt_start = excluded.appt_start, appt_end = excluded.appt_end, customer_name = excluded.customer_name,
             phone = excluded.phone, address = excluded.address, lat = excluded.lat, lon = excluded.lon,
             category = excluded.category, brand = excluded.brand, model = excluded.model, serial = excluded.serial,
             problem = excluded.problem, arrive_by = excluded.arrive_by, resolve_by = excluded.resolve_by,
             conflicts = excluded.conflicts, updated_at = excluded.updated_at, digest = excluded.digest,
             field_digest = excluded.field_digest",
        params![
            d.job_id.to_string(),
            v.derived.status.as_str(),
            d.priority as i64,
            d.appointment.map(|w| w.start.0),
            d.appointment.map(|w| w.end.0),
            d.customer.name,
            d.customer.phone,
            d.customer.address,
            d.customer.location.map(|l| l.lat),
            d.customer.location.map(|l| l.lon),
            d.appliance.category.as_str(),
            d.appliance.brand,
            d.appliance.model,
            d.appliance.serial,
            d.problem,
            d.sla.arrive_by.map(|t| t.0),
            d.sla.resolve_by.map(|t| t.0),
            v.derived.conflicts.len() as i64,
            Timestamp::now().0,
            digest.as_slice(),
            field_digest.as_slice(),
        ],
    )?;
    super::view_cache::put(tx, &d.job_id.to_string(), v)?;
    // Every photo the job names that this phone does not hold: the customer's, and those taken
    // on another of the technician's devices.
    for hash in shared::docs::blobs_named(d, &v.field) {
        tx.execute(
            "INSERT OR IGNORE INTO blob_wants (hash, job_id)
             SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM blobs WHERE hash = ?1)",
            params![hash.as_str(), d.job_id.to_string()],
        )?;
    }
    Ok(())
}

fn summary_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobSummary> {
    let text_err =
        |i: usize, what: &str| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, format!("bad {what}").into());
    let id: String = r.get(0)?;
    let status: String = r.get(1)?;
    let priority: i64 = r.get(2)?;
    let category: String = r.get(9)?;
    let (start, end): (Option<i64>, Option<i64>) = (r.get(3)?, r.get(4)?);
    let (lat, lon): (Option<f64>, Option<f64>) = (r.get(7)?, r.get(8)?);
    Ok(JobSummary {
        job_id: id.parse().map_err(|_| text_err(0, "job id"))?,
        status: Status::parse(&status).ok_or_else(|| text_err(1, "status"))?,
        priority: match priority {
            0 => Priority::Low,
            1 => Priority::Normal,
            2 => Priority::High,
            _ => Priority::Urgent,
        },
        appointment: start.zip(end).map(|(s, e)| Window { start: Timestamp(s), end: Timestamp(e) }),
        customer_name: r.get(5)?,
        address: r.get(6)?,
        location: lat.zip(lon).map(|(lat, lon)| GeoPoint { lat, lon }),
        category: Category::parse(&category).ok_or_else(|| text_err(9, "category"))?,
        brand: r.get(10)?,
        model: r.get(11)?,
        problem: r.get(12)?,
        arrive_by: r.get::<_, Option<i64>>(13)?.map(Timestamp),
        resolve_by: r.get::<_, Option<i64>>(14)?.map(Timestamp),
        has_conflicts: r.get::<_, i64>(15)? > 0,
    })
}
