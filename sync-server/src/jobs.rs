//! Server-side job operations shared by the sync endpoint and the dispatcher API: loading a
//! job under its lock, writing changes with a fresh index row.

use automerge::{ActorId, AutoCommit, ChangeHash};
use shared::BlobHash;
use shared::docs::{NewJob, NewJobDocs, blobs_named, create_job, read_dispatch, read_field};
use shared::edit::{DispatchEdit, apply_dispatch_edit};
use shared::status::derive;
use shared::wire::digest;
use shared::{JobId, Timestamp};

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::store::{EventReceipt, JobFacts, JobIndex, JobWrite, TrustedTimes};
use shared::approval::latest_signature;
use shared::model::{DispatchAction, FieldAction, FieldDoc, SignaturePurpose};
use shared::pricing::totals;
use shared::status::{Action, Derived, Status};

/// Striped per-job locks: one writer per job at a time, so a device's upload and a dispatcher's
/// edit on the same job are applied one after the other, never from the same stale copy.
pub struct JobLocks(Vec<tokio::sync::Mutex<()>>);

impl Default for JobLocks {
    fn default() -> Self {
        Self((0..256).map(|_| tokio::sync::Mutex::new(())).collect())
    }
}

impl JobLocks {
    pub async fn lock(&self, job: JobId) -> tokio::sync::MutexGuard<'_, ()> {
        let b = job.0.as_bytes();
        self.0[(b[15] as usize) % self.0.len()].lock().await
    }
}

/// One job held for a read-change-write: this process's lock, then the store's lease (other
/// instances sharing the store wait for it too). Released when dropped.
pub struct JobGuard<'a> {
    _lease: crate::store::JobLease,
    _local: tokio::sync::MutexGuard<'a, ()>,
}

/// Takes `job` for a read-change-write (see [`JobGuard`]).
pub async fn lock(state: &AppState, job: JobId) -> Result<JobGuard<'_>, crate::store::StoreError> {
    // In-process first: waiting here costs no database connection.
    let local = state.job_locks.lock(job).await;
    let lease = state.store.lease_job(job).await?;
    Ok(JobGuard { _lease: lease, _local: local })
}

/// The index row for a job from its documents.
pub fn index_of(dispatch: &mut AutoCommit, field: &mut AutoCommit, trusted: &TrustedTimes) -> AppResult<JobIndex> {
    Ok(index_and_blobs(dispatch, field, trusted)?.0)
}

/// The index row and the blobs the documents name.
fn index_and_blobs(dispatch: &mut AutoCommit, field: &mut AutoCommit, trusted: &TrustedTimes) -> AppResult<(JobIndex, Vec<BlobHash>)> {
    let d = read_dispatch(dispatch).map_err(|e| AppError::Internal(e.into()))?;
    let f = read_field(field).map_err(|e| AppError::Internal(e.into()))?;
    let blobs = blobs_named(&d, &f);
    let derived = derive(&d, &f);
    let facts = facts_of(&f, &derived, trusted);
    let customer_key = shared::erase::customer_key(&d.customer.phone);
    let index = JobIndex {
        job: d.job_id,
        status: derived.status,
        assignee: derived.dispatch_assignee(),
        digest: digest(&dispatch.get_heads(), &field.get_heads()),
        created_at: d.created_at,
        channel: d.channel,
        appt_start: d.appointment.map(|w| w.start),
        appt_end: d.appointment.map(|w| w.end),
        priority: d.priority,
        category: d.appliance.category,
        brand: d.appliance.brand,
        model: d.appliance.model,
        serial: d.appliance.serial,
        customer_name: d.customer.name,
        location: d.customer.location,
        arrive_by: d.sla.arrive_by,
        resolve_by: d.sla.resolve_by,
        conflicts: derived.conflicts.len() as i64,
        facts,
        customer_key,
    };
    Ok((index, blobs))
}

/// KPI facts, from the replayed timeline (conflicting events do not count). The time of an event
/// the server found backdated is when the server received it (`trusted`): a phone cannot buy an
/// on-time arrival by setting its clock back.
pub fn facts_of(f: &FieldDoc, derived: &Derived, trusted: &TrustedTimes) -> JobFacts {
    let reached = |status: Status| {
        derived
            .timeline
            .iter()
            .find(|e| e.conflict.is_none() && e.status == status)
            .map(|e| trusted.get(&e.id).map_or(e.at, |&t| t.max(e.at)))
    };
    let applied = || derived.timeline.iter().filter(|e| e.conflict.is_none());
    let field_actions = || {
        applied().filter_map(|e| match &e.action {
            Action::Field { action, .. } => Some(*action),
            _ => None,
        })
    };
    let first_assigned_at = applied().find(|e| matches!(e.action, Action::Dispatch(DispatchAction::Assigned { .. }))).map(|e| e.at);
    let check_ins = field_actions().filter(|a| *a == FieldAction::CheckIn).count() as i64;
    let completed_at = reached(Status::Completed);
    let revisit = field_actions().any(|a| matches!(a, FieldAction::Hold | FieldAction::CannotComplete));
    let finished = matches!(derived.status, Status::Completed | Status::Closed);
    let last_check_in = f
        .events
        .iter()
        .filter(|e| e.action == FieldAction::CheckIn)
        .filter_map(|e| e.location.filter(|l| l.is_valid()).map(|l| (e.by, l, e.at)))
        .max_by_key(|(_, _, at)| *at);
    let self_service = applied()
        .any(|e| matches!(&e.action, Action::Dispatch(DispatchAction::Cancelled { reason }) if reason.starts_with(SELF_SERVICE_PREFIX)));
    JobFacts {
        first_assigned_at,
        first_on_site_at: reached(Status::OnSite),
        completed_at,
        check_ins,
        first_time_fix: completed_at.map(|_| check_ins <= 1 && !revisit),
        quote_total: latest_signature(f, SignaturePurpose::QuoteApproval).and_then(|s| s.total_minor),
        final_total: if finished { totals(&f.quote).ok().map(|t| t.total_minor) } else { None },
        rating: f.rating.score.map(i64::from),
        cause: f.report.cause.clone(),
        self_service,
        finished_at: [Status::Closed, Status::Cancelled].into_iter().filter_map(|s| derived.first_reached(s)).min(),
        last_check_in,
    }
}

/// Prefix of a cancellation reason that answered the customer with a knowledge-base article.
pub const SELF_SERVICE_PREFIX: &str = "self_service:";

/// The write for the changes made to a loaded job since `before` (dispatch heads, field heads):
/// the new chunks and the fresh index row. Pure computation (run it on the CPU pool).
pub fn write_for(
    dispatch: &mut AutoCommit,
    field: &mut AutoCommit,
    before: (&[ChangeHash], &[ChangeHash]),
    trusted: &TrustedTimes,
    receipts: Vec<EventReceipt>,
) -> AppResult<JobWrite> {
    let (index, blobs) = index_and_blobs(dispatch, field, trusted)?;
    Ok(JobWrite {
        index,
        full: None,
        dispatch_chunk: dispatch.save_after(before.0),
        field_chunk: field.save_after(before.1),
        blobs,
        receipts,
    })
}

/// Stores a write made by [`write_for`] and tells the live streams.
pub async fn commit_write(state: &AppState, write: JobWrite) -> AppResult<JobIndex> {
    let index = write.index.clone();
    state.store.write_job(write).await?;
    state.notify(index.job);
    Ok(index)
}

/// Writes the changes made to a loaded job since `before` (dispatch heads, field heads).
pub async fn save_changes(
    state: &AppState,
    dispatch: &mut AutoCommit,
    field: &mut AutoCommit,
    before: (&[ChangeHash], &[ChangeHash]),
) -> AppResult<JobIndex> {
    let job = read_dispatch(dispatch).map_err(|e| AppError::Internal(e.into()))?.job_id;
    let trusted = trusted_times(state, job).await?;
    commit_write(state, write_for(dispatch, field, before, &trusted, Vec::new())?).await
}

/// The times the server stands behind for the job's backdated events.
pub async fn trusted_times(state: &AppState, job: JobId) -> AppResult<TrustedTimes> {
    Ok(state.store.backdated_events(job).await?.into_iter().map(|r| (r.event, r.received_at)).collect())
}

/// A new job's write: both documents whole, with the index row read from them.
fn new_job_write(mut docs: NewJobDocs) -> AppResult<JobWrite> {
    let (index, blobs) = index_and_blobs(&mut docs.dispatch, &mut docs.field, &TrustedTimes::new())?;
    Ok(JobWrite {
        index,
        full: Some((docs.dispatch.save(), docs.field.save())),
        dispatch_chunk: Vec::new(),
        field_chunk: Vec::new(),
        blobs,
        receipts: Vec::new(),
    })
}

/// Creates a job; deadlines it leaves out come from the SLA policy ([`crate::sla`]).
pub async fn create(state: &AppState, mut job: NewJob, by: &str) -> AppResult<JobId> {
    let now = Timestamp::now();
    job.sla = crate::sla::fill(job.sla, job.priority, now, job.appointment);
    store_new(state, create_job(job, by, now, ActorId::random())?).await
}

/// Stores a job born on this server (both documents whole) with its index row.
pub async fn store_new(state: &AppState, docs: NewJobDocs) -> AppResult<JobId> {
    let id = docs.job_id;
    state.store.write_job(new_job_write(docs)?).await?;
    state.notify(id);
    Ok(id)
}

/// Stores several new jobs in one transaction (all or none): a backlog taken in at once.
pub async fn store_new_batch(state: &AppState, batch: Vec<NewJobDocs>) -> AppResult<Vec<JobId>> {
    let writes = batch.into_iter().map(new_job_write).collect::<AppResult<Vec<_>>>()?;
    let ids: Vec<JobId> = writes.iter().map(|w| w.index.job).collect();
    state.store.write_jobs(writes).await?;
    for id in &ids {
        state.notify(*id);
    }
    Ok(ids)
}

/// Applies a dispatcher's edit to the server's copy of the dispatch document, as an Automerge
/// change that merges with whatever the technician did offline.
pub async fn dispatch_edit(state: &AppState, job: JobId, by: &str, edit: DispatchEdit) -> AppResult<JobIndex> {
    let _g = lock(state, job).await?;
    let (mut d, mut f) = state.store.load_job(job).await?.ok_or_else(|| AppError::NotFound(format!("no job {job}")))?;
    let before = (d.get_heads(), f.get_heads());
    let field = read_field(&f).map_err(|e| AppError::Internal(e.into()))?;
    apply_dispatch_edit(&mut d, &field, by, Timestamp::now(), edit)?;
    // Phones refuse documents over the limit: the edit is refused here instead (nothing stored).
    let size = d.save().len();
    if size > shared::docs::DOC_BYTES_MAX {
        return Err(AppError::TooLarge(format!(
            "the job's dispatch document would be {size} bytes, over the {}-byte limit",
            shared::docs::DOC_BYTES_MAX
        )));
    }
    save_changes(state, &mut d, &mut f, (&before.0, &before.1)).await
}
