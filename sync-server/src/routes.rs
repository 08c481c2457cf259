//! HTTP handlers: thin; the work is in `sync`, `jobs` and the stores.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::wire::http::{
    JOB_HEADER, PROOF_HEADER, PROOF_REQUIRED, PastJob, SYNC_CONTENT_TYPE, UPLOAD_COMPLETE_HEADER, UPLOAD_LENGTH_HEADER,
    UPLOAD_OFFSET_HEADER, blob_proof,
};
use shared::wire::{self, PairRequest, PairResponse};
use shared::{BlobHash, DeviceId, JobId, Timestamp};

use crate::AppState;
use crate::auth::{DeviceAuth, hash_secret, new_token};
use crate::blobs::{BlobError, BlobStatus};
use crate::body::{AppJson, bytes_rejection};
use crate::error::blob_error;
use crate::error::{AppError, AppResult};
use crate::staff::ViewerAuth;
use crate::store::{NewDevice, Redeemed};

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` when the database answers.
    pub status: String,
}

/// Every unknown route gets a JSON error like every other.
pub async fn no_route(uri: axum::http::Uri) -> AppError {
    AppError::NotFound(format!("no route {} (the API is described at {})", uri.path(), crate::openapi::DOCS_PATH))
}

/// A known route with a method it does not have (axum adds the `Allow` header).
pub async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let msg = format!("{} does not take {method}", uri.path());
    let body = shared::wire::http::ErrorEnvelope::new(shared::wire::http::ErrorCode::MethodNotAllowed, msg);
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

/// Whether the server and its database answer (for load balancers and monitors).
#[utoipa::path(get, path = "/health", tag = "device", responses((status = 200, body = Health)))]
pub async fn health(State(state): State<AppState>) -> AppResult<AppJson<Health>> {
    state.store.health().await?;
    Ok(AppJson(Health { status: "ok".into() }))
}

/// One sync round: the phone's Automerge changes up, the server's down (postcard, see
/// `shared::wire`; at most 8 MB each way).
#[utoipa::path(post, path = "/v1/sync", tag = "device",
    request_body(content = crate::body::Binary, content_type = "application/vnd.onsite.sync", description = "a postcard SyncRequest"),
    responses((status = 200, description = "a postcard SyncResponse", content_type = "application/vnd.onsite.sync", body = crate::body::Binary)))]
pub async fn sync(State(state): State<AppState>, who: DeviceAuth, body: Result<Bytes, BytesRejection>) -> AppResult<Response> {
    let _slot = state.presence.round_slot(who.device).ok_or(AppError::RateLimited)?;
    let body = body.map_err(bytes_rejection)?;
    let req: wire::SyncRequest = wire::decode(&body)?;
    let resp = crate::sync::round(&state, &who, req).await?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(SYNC_CONTENT_TYPE))], wire::encode(&resp)).into_response())
}

/// Pair a phone with a technician using a single-use code from the console.
#[utoipa::path(post, path = "/v1/pair", tag = "device", request_body = PairRequest,
    responses((status = 200, body = PairResponse), (status = 403, description = "the code is wrong, used or expired", body = shared::wire::http::ErrorEnvelope), (status = 409, description = "the phone holds unsent work of another technician", body = shared::wire::http::ErrorEnvelope)))]
pub async fn pair(State(state): State<AppState>, AppJson(req): AppJson<PairRequest>) -> AppResult<AppJson<PairResponse>> {
    if state.pair_limiter.check().is_err() {
        return Err(AppError::RateLimited);
    }
    // Codes are short: guessing stays as slow with many instances as with one.
    crate::client::shared_hit(&state, "pair", shared::Timestamp::MINUTE, state.pairings_per_s.saturating_mul(60)).await?;
    let code = req.code.trim().to_uppercase();
    if code.is_empty() || code.chars().count() > 32 || req.device_name.chars().count() > 50 {
        return Err(AppError::Unprocessable("a pairing code (at most 32 characters) is required; a device name has at most 50".into()));
    }
    let device = DeviceId::new();
    let token = new_token("osd_");
    let new = NewDevice { id: device, name: req.device_name.clone(), token_hash: hash_secret(&token), previous: req.previous_device };
    let tech = match state.store.redeem_pairing_code(&hash_secret(&code), Timestamp::now(), new).await? {
        Redeemed::Paired(tech) => tech,
        Redeemed::InvalidCode => return Err(AppError::Forbidden("pairing code is not valid: wrong, already used or expired".into())),
        Redeemed::NotTheSameTechnician => {
            return Err(AppError::Conflict(
                "this phone holds unsent work of another technician: pair it with a code for that technician (this code stays valid)"
                    .into(),
            ));
        }
    };
    tracing::info!(%device, technician = %tech.id, replaces = ?req.previous_device, "device paired");
    Ok(AppJson(PairResponse { device_id: device, technician_id: tech.id, technician_name: tech.name, token }))
}

fn parse_hash(s: &str) -> AppResult<BlobHash> {
    s.parse().map_err(|e: shared::ids::BadBlobHash| AppError::BadRequest(e.to_string()))
}

fn header_u64(h: &HeaderMap, name: &str) -> AppResult<u64> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| AppError::BadRequest(format!("header {name} (a byte count) is required")))
}

/// Checks that the device may write the job a blob upload names (a former assignee still uploads
/// the photos of work it did).
async fn blob_job(state: &AppState, who: &DeviceAuth, h: &HeaderMap) -> AppResult<JobId> {
    let job: JobId = h
        .get(JOB_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| AppError::BadRequest("header OnSite-Job (the job's id) is required".into()))?;
    if !state.store.ever_assigned(who.technician, job).await? {
        return Err(AppError::Forbidden("this job is not assigned to you".into()));
    }
    if !state.store.erased_among(vec![job]).await?.is_empty() {
        return Err(AppError::Forbidden("this job's customer data was erased: its photos are not taken".into()));
    }
    Ok(job)
}

fn offset_headers(status: BlobStatus) -> HeaderMap {
    let (offset, complete) = match status {
        BlobStatus::Missing => (0, false),
        BlobStatus::Partial { offset, .. } => (offset, false),
        BlobStatus::Complete { size } => (size, true),
    };
    let mut m = HeaderMap::new();
    m.insert(UPLOAD_OFFSET_HEADER, HeaderValue::from(offset));
    m.insert(UPLOAD_COMPLETE_HEADER, HeaderValue::from_static(if complete { "1" } else { "0" }));
    m
}

/// Headers for a blob the server holds, but not through this job: the uploader proves it has the
/// bytes ([`PROOF_HEADER`]) instead of sending them again.
fn proof_required(size: u64) -> HeaderMap {
    let mut m = offset_headers(BlobStatus::Complete { size });
    m.insert(UPLOAD_COMPLETE_HEADER, HeaderValue::from_static("0"));
    m.insert(PROOF_HEADER, HeaderValue::from_static(PROOF_REQUIRED));
    m
}

/// How much of the blob the server holds for this job (`Upload-Offset`), to resume an upload.
#[utoipa::path(head, path = "/v1/blobs/{hash}", tag = "device", params(("hash" = BlobHash, Path, description = "the BLAKE3 hash of the bytes"), ("OnSite-Job" = JobId, Header, description = "the job the photo belongs to")),
    responses((status = 200, description = "see the headers", headers(("Upload-Offset" = u64, description = "bytes the server holds (resume from here)"), ("Upload-Complete" = String, description = "1 when the server holds the whole blob for this job")))))]
pub async fn blob_head(
    State(state): State<AppState>,
    who: DeviceAuth,
    Path(hash): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let h = parse_hash(&hash)?;
    let job = blob_job(&state, &who, &headers).await?;
    let status = state.blobs.status(&h, &job.to_string()).await.map_err(blob_error)?;
    if let BlobStatus::Complete { size } = status
        && !state.store.blob_held(h.as_str(), job).await?
    {
        return Ok((StatusCode::OK, proof_required(size)).into_response());
    }
    Ok((StatusCode::OK, offset_headers(status)).into_response())
}

/// Append at `Upload-Offset` of an `Upload-Length`-byte blob (at most 1 MB a request), or (an
/// empty body with `OnSite-Blob-Proof`) prove possession of a blob the server already holds.
#[utoipa::path(patch, path = "/v1/blobs/{hash}", tag = "device",
    params(("hash" = BlobHash, Path, description = "the BLAKE3 hash of the bytes"), ("OnSite-Job" = JobId, Header, description = "the job the photo belongs to"), ("Upload-Offset" = u64, Header, description = "where these bytes start"), ("Upload-Length" = u64, Header, description = "the whole blob's size")),
    request_body(content = crate::body::Binary, content_type = "application/offset+octet-stream"),
    responses((status = 201, description = "the blob is complete for this job"), (status = 204, description = "appended; more to come"),
        (status = 409, description = "a wrong offset (resume from `Upload-Offset`), or a proof of possession is required", body = shared::wire::http::ErrorEnvelope)))]
pub async fn blob_patch(
    State(state): State<AppState>,
    who: DeviceAuth,
    Path(hash): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let h = parse_hash(&hash)?;
    let job = blob_job(&state, &who, &headers).await?;
    let body = body.map_err(bytes_rejection)?;
    if let Some(proof) = headers.get(PROOF_HEADER) {
        return blob_prove(&state, &who, job, &h, proof.as_bytes()).await;
    }
    let (offset, total) = (header_u64(&headers, UPLOAD_OFFSET_HEADER)?, header_u64(&headers, UPLOAD_LENGTH_HEADER)?);
    // Each job's upload is its own (see `blobs`): only the request that sent the last of the
    // bytes for this job makes the blob the job's. A blob someone else completed takes a proof.
    let upload = job.to_string();
    let appended = match state.blobs.append(&h, &upload, offset, total, &body).await {
        Ok(a) => a,
        Err(e @ BlobError::WrongOffset { .. }) => {
            // Tell the client where to resume from.
            let now = state.blobs.status(&h, &upload).await.map_err(blob_error)?;
            let mut resp = blob_error(e).into_response();
            resp.headers_mut().extend(offset_headers(now));
            return Ok(resp);
        }
        Err(e) => {
            tracing::warn!(blob = %h, device = %who.device, error = %e, "blob upload refused");
            return Err(blob_error(e));
        }
    };
    if appended.published {
        state.store.add_blob_holder(h.as_str(), job).await?;
    }
    match appended.status {
        BlobStatus::Complete { size } if !appended.published && !state.store.blob_held(h.as_str(), job).await? => {
            Ok((StatusCode::CONFLICT, proof_required(size)).into_response())
        }
        status @ BlobStatus::Complete { .. } => Ok((StatusCode::CREATED, offset_headers(status)).into_response()),
        status => Ok((StatusCode::NO_CONTENT, offset_headers(status)).into_response()),
    }
}

/// Checks a possession proof against the stored bytes; a match makes the blob the job's.
async fn blob_prove(state: &AppState, who: &DeviceAuth, job: JobId, h: &BlobHash, proof: &[u8]) -> AppResult<Response> {
    // Cheap answers first: reading and hashing a whole blob is what a proof costs.
    if state.store.blob_held(h.as_str(), job).await? {
        let size = match state.blobs.status(h, &job.to_string()).await.map_err(blob_error)? {
            BlobStatus::Complete { size } => size,
            _ => 0,
        };
        return Ok((StatusCode::CREATED, offset_headers(BlobStatus::Complete { size })).into_response());
    }
    if !state.store.blob_jobs_naming(h.as_str()).await?.contains(&job) {
        return Err(AppError::Unprocessable("this job's documents do not name that blob (sync them first)".into()));
    }
    // A bounded number of whole-blob reads at once, server-wide.
    let _permit = state.blob_reads.acquire().await.map_err(|e| AppError::Internal(e.into()))?;
    let Some(bytes) = state.blobs.get(h).await.map_err(blob_error)? else {
        return Ok((StatusCode::CONFLICT, offset_headers(BlobStatus::Missing)).into_response());
    };
    let size = bytes.len() as u64;
    let expected = state.cpu.run(move || blob_proof(job, &bytes)).await.map_err(|e| AppError::Internal(e.into()))?;
    // Constant time: the comparison must not tell a guesser how much of a proof was right.
    let matches = blake3::Hash::from_hex(&expected).ok().zip(std::str::from_utf8(proof).ok().and_then(|p| blake3::Hash::from_hex(p).ok()));
    if !matches.is_some_and(|(a, b)| a == b) {
        tracing::warn!(blob = %h, device = %who.device, %job, "blob possession proof refused");
        return Err(AppError::Unprocessable("the proof does not match the blob's bytes for this job".into()));
    }
    state.store.add_blob_holder(h.as_str(), job).await?;
    Ok((StatusCode::CREATED, offset_headers(BlobStatus::Complete { size })).into_response())
}

async fn blob_bytes(state: &AppState, h: &BlobHash) -> AppResult<Response> {
    let _permit = state.blob_reads.acquire().await.map_err(|e| AppError::Internal(e.into()))?;
    let bytes = state.blobs.get(h).await.map_err(blob_error)?.ok_or_else(|| AppError::NotFound(format!("no blob {h}")))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

/// A photo named by a job currently assigned to the device's technician (a former assignee
/// keeps what it has, and is sent nothing new).
#[utoipa::path(get, path = "/v1/blobs/{hash}", tag = "device", params(("hash" = BlobHash, Path, description = "the BLAKE3 hash of the bytes")),
    responses((status = 200, description = "the bytes", content_type = "application/octet-stream", body = crate::body::Binary)))]
pub async fn blob_get(State(state): State<AppState>, who: DeviceAuth, Path(hash): Path<String>) -> AppResult<Response> {
    let h = parse_hash(&hash)?;
    let mut allowed = false;
    for job in state.store.blob_jobs(h.as_str()).await? {
        allowed |= state.store.job_row(job).await?.is_some_and(|row| row.assignee == Some(who.technician));
    }
    if !allowed {
        return Err(AppError::NotFound(format!("no blob {h} on a job of yours")));
    }
    blob_bytes(&state, &h).await
}

/// Most earlier jobs one history answer lists.
const HISTORY_JOBS_MAX: usize = 50;

/// Earlier jobs on the appliance of a job currently assigned to the device's technician (never
/// another appliance's, never for a job that is not theirs).
#[utoipa::path(get, path = "/v1/jobs/{id}/history", tag = "device", params(("id" = JobId, Path, description = "the job")),
    responses((status = 200, body = Vec<PastJob>)))]
pub async fn job_history(State(state): State<AppState>, who: DeviceAuth, Path(id): Path<String>) -> AppResult<AppJson<Vec<PastJob>>> {
    let job: JobId = id.parse().map_err(|_| AppError::BadRequest(format!("not a job id: {id}")))?;
    let row = state.store.job_row(job).await?.filter(|r| r.assignee == Some(who.technician));
    let row = row.ok_or_else(|| AppError::NotFound(format!("no job {job} assigned to you")))?;
    if row.serial.trim().is_empty() {
        return Ok(AppJson(Vec::new()));
    }
    let past = state.store.jobs_by_serial(&row.serial, HISTORY_JOBS_MAX + 1).await?;
    Ok(AppJson(
        past.into_iter()
            .filter(|r| r.job != job)
            .take(HISTORY_JOBS_MAX)
            .map(|r| PastJob {
                job: r.job,
                created_at: r.created_at,
                status: r.status.as_str().to_owned(),
                brand: r.brand,
                model: r.model,
                serial: r.serial,
                cause: r.facts.cause,
                completed_at: r.facts.completed_at,
            })
            .collect(),
    ))
}

/// A photo or thumbnail of a job (links are in the job's `photo_links`).
#[utoipa::path(get, path = "/admin/v1/blobs/{hash}", tag = "jobs", params(("hash" = BlobHash, Path, description = "the BLAKE3 hash of the bytes")),
    responses((status = 200, description = "the bytes", content_type = "application/octet-stream", body = crate::body::Binary)))]
pub async fn admin_blob_get(State(state): State<AppState>, _who: ViewerAuth, Path(hash): Path<String>) -> AppResult<Response> {
    blob_bytes(&state, &parse_hash(&hash)?).await
}
