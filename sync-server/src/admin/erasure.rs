//! `POST /admin/v1/erasures`: an admin erases a customer's personal data (a PIPL / GDPR request).

use axum::extract::State;
use serde::Deserialize;
use shared::JobId;

use crate::AppState;
use crate::audit::AuditDetail;
use crate::body::AppJson;
use crate::erasure::{Erased, erase_jobs, jobs_of_customer_of};
use crate::error::{AppError, AppResult};
use crate::staff::AdminAuth;

/// Whose data to erase: the customer of `job` from all their jobs (found by phone number), or
/// exactly the listed `jobs`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    pub job: Option<JobId>,
    #[serde(default)]
    pub jobs: Vec<JobId>,
    /// Only say which jobs would be erased (a customer's jobs are found by phone number: check
    /// that they are all theirs before erasing, which cannot be undone).
    #[serde(default)]
    pub dry_run: bool,
    /// Also erase jobs still open: they leave the technicians' phones at once and can no longer
    /// be worked (without it, open jobs are refused: cancel or close them first).
    #[serde(default)]
    pub include_open: bool,
}

/// Jobs one request may list (larger sets: several requests, or the retention setting).
pub const JOBS_MAX: usize = 500;

/// Erase a customer's personal data from their jobs, everywhere (server, blobs, phones). It
/// cannot be undone: try `dry_run` first.
#[utoipa::path(post, path = "/admin/v1/erasures", tag = "reports", request_body = ErasureRequest,
    responses((status = 200, body = Erased), (status = 409, description = "some jobs are still open", body = shared::wire::http::ErrorEnvelope)))]
pub async fn post_erasure(
    State(state): State<AppState>,
    _who: AdminAuth,
    AppJson(req): AppJson<ErasureRequest>,
) -> AppResult<(AuditDetail, AppJson<Erased>)> {
    let jobs = match (req.job, req.jobs.is_empty()) {
        (Some(job), true) => jobs_of_customer_of(&state, job).await?,
        (None, false) if req.jobs.len() <= JOBS_MAX => req.jobs,
        (None, false) => return Err(AppError::Unprocessable(format!("at most {JOBS_MAX} jobs per request"))),
        _ => return Err(AppError::Unprocessable("give either `job` (its customer, from all their jobs) or `jobs` (exactly these)".into())),
    };
    let mut open = Vec::new();
    for &job in &jobs {
        let row = state.store.job_row(job).await?.ok_or_else(|| AppError::NotFound(format!("no job {job}")))?;
        if row.facts.finished_at.is_none() {
            open.push(job);
        }
    }
    if req.dry_run {
        let detail = serde_json::json!({ "dry_run": true, "jobs": jobs, "open": open });
        return Ok((AuditDetail(detail), AppJson(Erased { jobs, blobs_deleted: 0 })));
    }
    if !open.is_empty() && !req.include_open {
        let ids: Vec<String> = open.iter().map(ToString::to_string).collect();
        return Err(AppError::Conflict(format!(
            "still open: {} — cancel or close them first, or add \"include_open\": true (they then leave the phones at once)",
            ids.join(", ")
        )));
    }
    let erased = erase_jobs(&state, &jobs).await?;
    Ok((AuditDetail(serde_json::json!({ "jobs": erased.jobs, "blobs_deleted": erased.blobs_deleted })), AppJson(erased)))
}
