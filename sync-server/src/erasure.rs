//! Erasure and retention: a customer's personal data leaves every job that holds it (on request,
//! or automatically a set time after a job finished), including the documents' history
//! (`shared::erase`), the index, the photos (blobs no document names any more are deleted) and
//! the phones (the next sync tells them to drop the job, and nothing they still send about it is
//! taken).

use automerge::ActorId;
use serde::Serialize;
use shared::docs::{blobs_named, read_dispatch, read_field};
use shared::erase::{customer_key, rebuild, redact};
use shared::{BlobHash, JobId, Timestamp};

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::store::JobWrite;

/// What an erasure did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Erased {
    pub jobs: Vec<JobId>,
    /// Photos deleted because no document names them any more.
    pub blobs_deleted: usize,
}

/// The jobs of `job`'s customer: those with the same phone number (however it was written), or
/// only `job` when it has none.
pub async fn jobs_of_customer_of(state: &AppState, job: JobId) -> AppResult<Vec<JobId>> {
    let (d, _) = state.store.load_job(job).await?.ok_or_else(|| AppError::NotFound(format!("no job {job}")))?;
    let phone = read_dispatch(&d).map_err(|e| AppError::Internal(e.into()))?.customer.phone;
    Ok(match customer_key(&phone) {
        Some(key) => {
            fill_customer_keys(state).await?;
            let mut jobs = state.store.jobs_of_customer(&key).await?;
            if !jobs.contains(&job) {
                jobs.push(job);
            }
            jobs
        }
        None => vec![job],
    })
}

/// Erases the customer's personal data from each of `jobs`.
pub async fn erase_jobs(state: &AppState, jobs: &[JobId]) -> AppResult<Erased> {
    let mut out = Erased::default();
    let mut named = Vec::new();
    for &job in jobs {
        named.extend(erase_one(state, job).await?);
        out.jobs.push(job);
        state.notify(job);
    }
    out.blobs_deleted = delete_unnamed(state, named).await?;
    tracing::info!(jobs = out.jobs.len(), blobs = out.blobs_deleted, "erased customer data");
    Ok(out)
}

/// Erases jobs that finished before `before` (the retention setting), at most `limit` at a time.
pub async fn sweep(state: &AppState, before: Timestamp, limit: u32) -> AppResult<Erased> {
    let jobs = state.store.finished_unerased(before, limit).await?;
    if jobs.is_empty() {
        return Ok(Erased::default());
    }
    let erased = erase_jobs(state, &jobs).await?;
    let detail = serde_json::json!({ "jobs": erased.jobs, "blobs_deleted": erased.blobs_deleted, "finished_before": before });
    state.audit.append_audit(crate::store::accounts::NewAuditEntry::internal("retention", "server", "retention", detail)).await?;
    Ok(erased)
}

/// Runs [`sweep`] every hour for jobs finished more than `after_days` ago.
pub fn spawn_retention(state: AppState, after_days: u32) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            let before = Timestamp::now().plus_minutes(-i64::from(after_days) * 24 * 60);
            loop {
                match sweep(&state, before, 100).await {
                    Ok(e) if e.jobs.len() == 100 => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::error!(error = %e, "retention sweep failed; retrying in an hour");
                        break;
                    }
                }
            }
        }
    })
}

/// Rewrites one job's documents without the customer; returns the blobs the old ones named.
async fn erase_one(state: &AppState, job: JobId) -> AppResult<Vec<BlobHash>> {
    let _g = crate::jobs::lock(state, job).await?;
    let (d, f) = state.store.load_job(job).await?.ok_or_else(|| AppError::NotFound(format!("no job {job}")))?;
    let trusted = crate::jobs::trusted_times(state, job).await?;
    // Every photo the job ever named, not only those its current state names.
    let ever_named: Vec<BlobHash> = state.store.blobs_of_job(job).await?.iter().filter_map(|h| h.parse().ok()).collect();
    let work = move || -> AppResult<(JobWrite, Vec<BlobHash>, Vec<shared::model::GeoPoint>)> {
        let internal = |e: shared::docs::DocError| AppError::Internal(e.into());
        let (dispatch, field) = (read_dispatch(&d).map_err(internal)?, read_field(&f).map_err(internal)?);
        let mut named = blobs_named(&dispatch, &field);
        named.extend(ever_named);
        let places = field.events.iter().filter_map(|e| e.location).collect();
        let (rd, rf) = redact(&dispatch, &field);
        let (mut nd, mut nf) = rebuild(&rd, &rf, ActorId::random(), Timestamp::now()).map_err(internal)?;
        let mut write = crate::jobs::write_for(&mut nd, &mut nf, (&[], &[]), &trusted, Vec::new())?;
        write.full = Some((nd.save(), nf.save()));
        (write.dispatch_chunk, write.field_chunk) = (Vec::new(), Vec::new());
        write.index.customer_key = None;
        Ok((write, named, places))
    };
    let (write, named, places) = state.cpu.run(work).await.map_err(|e| AppError::Internal(e.into()))??;
    state.store.erase_job(write, Timestamp::now(), places).await?;
    state.blobs.discard_uploads_of(&job.to_string()).await.map_err(|e| AppError::Internal(anyhow::anyhow!("discarding uploads: {e}")))?;
    Ok(named)
}

/// Deletes those of `candidates` that no document names any more.
async fn delete_unnamed(state: &AppState, mut candidates: Vec<BlobHash>) -> AppResult<usize> {
    candidates.sort();
    candidates.dedup();
    let mut deleted = 0;
    for hash in candidates {
        if state.store.blob_jobs_naming(hash.as_str()).await?.is_empty() {
            state.store.forget_blob(hash.as_str()).await?;
            if state.blobs.delete(&hash).await.map_err(|e| AppError::Internal(anyhow::anyhow!("deleting blob {hash}: {e}")))? {
                deleted += 1;
            }
        }
    }
    Ok(deleted)
}

/// Gives every job written before customer keys were kept its key (once; later writes keep it).
async fn fill_customer_keys(state: &AppState) -> AppResult<()> {
    for job in state.store.jobs_without_customer_key().await? {
        if let Some((d, _)) = state.store.load_job(job).await? {
            let phone = read_dispatch(&d).map_err(|e| AppError::Internal(e.into()))?.customer.phone;
            state.store.set_customer_key(job, customer_key(&phone)).await?;
        }
    }
    Ok(())
}
