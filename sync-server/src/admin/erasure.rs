//! `POST /admin/v1/erasures`: an admin erases a customer's personal data (a PIPL / GDPR request).

use axum::extract::State;
use serde::Deserialize;
use shared::JobId;

use crate::AppState;
use crate::audit::AuditDetail;
use crate::erasure::{Erased, erase_customer_of, erase_jobs};
use crate::error::{AppError, AppResult};
use crate::routes::AppJson;
use crate::staff::AdminAuth;

/// Whose data to erase: the customer of `job` from all their jobs (found by phone number), or
/// exactly the listed `jobs`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    pub job: Option<JobId>,
    #[serde(default)]
    pub jobs: Vec<JobId>,
    /// Only say which jobs would be erased (a customer's jobs are found by phone number: check
    /// that they are all theirs before erasing, which cannot be undone).
    #[serde(default)]
    pub dry_run: bool,
}

/// Jobs one request may list (larger sets: several requests, or the retention setting).
pub const JOBS_MAX: usize = 500;

pub async fn post_erasure(
    State(state): State<AppState>,
    _who: AdminAuth,
    AppJson(req): AppJson<ErasureRequest>,
) -> AppResult<(AuditDetail, AppJson<Erased>)> {
    if let (true, Some(job), true) = (req.dry_run, req.job, req.jobs.is_empty()) {
        let jobs = crate::erasure::jobs_of_customer_of(&state, job).await?;
        return Ok((AuditDetail(serde_json::json!({ "dry_run": true, "jobs": jobs })), AppJson(Erased { jobs, blobs_deleted: 0 })));
    }
    let erased = match (req.job, req.jobs.is_empty()) {
        (Some(job), true) => erase_customer_of(&state, job).await?,
        (None, false) if req.jobs.len() <= JOBS_MAX && req.dry_run => {
            return Ok((
                AuditDetail(serde_json::json!({ "dry_run": true, "jobs": req.jobs })),
                AppJson(Erased { jobs: req.jobs, blobs_deleted: 0 }),
            ));
        }
        (None, false) if req.jobs.len() <= JOBS_MAX => {
            for &job in &req.jobs {
                state.store.job_row(job).await?.ok_or_else(|| AppError::NotFound(format!("no job {job}")))?;
            }
            erase_jobs(&state, &req.jobs).await?
        }
        (None, false) => return Err(AppError::BadRequest(format!("at most {JOBS_MAX} jobs per request"))),
        _ => return Err(AppError::BadRequest("give either `job` (its customer, from all their jobs) or `jobs` (exactly these)".into())),
    };
    Ok((AuditDetail(serde_json::json!({ "jobs": erased.jobs, "blobs_deleted": erased.blobs_deleted })), AppJson(erased)))
}
