//! `POST /admin/v1/jobs/{id}/customer-photos`: a picture the customer sent with the request.
//!
//! The server prepares it the way a phone prepares its own photos (upright, 1600 px JPEG, a
//! thumbnail, no EXIF), stores both as blobs, and only then adds the photo to the dispatch
//! document: a photo in a document always has its bytes on the server, and the assigned
//! technician's phone downloads them on its next sync.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use shared::edit::DispatchEdit;
use shared::model::CustomerPhoto;
use shared::{BlobHash, ItemId, Timestamp};

use super::parse_job;
use crate::AppState;
use crate::body::AppJson;
use crate::error::blob_error;
use crate::error::{AppError, AppResult};
use crate::staff::DispatcherAuth;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PhotoQuery {
    /// What the photo shows.
    #[serde(default)]
    #[param(max_length = 2048)]
    pub caption: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustomerPhotoAdded {
    pub job_id: shared::JobId,
    pub photo: CustomerPhoto,
    pub url: String,
    pub thumbnail_url: String,
}

/// Add a photo the customer sent. The body is the image itself (JPEG, PNG, WebP...), at most
/// 40 MB; it is stored upright, at most 1600 px, without EXIF, with a thumbnail.
#[utoipa::path(post, path = "/admin/v1/jobs/{id}/customer-photos", tag = "jobs",
    params(("id" = shared::JobId, Path, description = "the job"), PhotoQuery),
    request_body(content = crate::body::Binary, content_type = "image/*", description = "the image's bytes"),
    responses((status = 200, body = CustomerPhotoAdded)))]
pub async fn add_customer_photo(
    State(state): State<AppState>,
    who: DispatcherAuth,
    Path(id): Path<String>,
    q: Result<Query<PhotoQuery>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> AppResult<AppJson<CustomerPhotoAdded>> {
    let Query(q) = q.map_err(|e| AppError::BadRequest(e.body_text()))?;
    super::long_text("caption", &q.caption)?;
    let job = parse_job(&id)?;
    if state.store.load_job(job).await?.is_none() {
        return Err(AppError::NotFound(format!("no job {job}")));
    }
    if body.is_empty() {
        return Err(AppError::BadRequest("the body must be the photo's bytes".into()));
    }
    // On the CPU pool: decodes at once are bounded by cores, each by `photo::DECODE_BYTES_MAX`.
    let ready =
        state.cpu.run(move || shared::photo::process(&body)).await.map_err(|e| AppError::Internal(e.into()))?.map_err(|e| match e {
            shared::photo::PhotoError::TooLarge(_) | shared::photo::PhotoError::TooManyPixels { .. } => AppError::TooLarge(e.to_string()),
            other => AppError::Unprocessable(other.to_string()),
        })?;
    let (blob, thumbnail) = (BlobHash::of(&ready.jpeg), BlobHash::of(&ready.thumbnail));
    for (hash, bytes) in [(&blob, &ready.jpeg), (&thumbnail, &ready.thumbnail)] {
        // The server made these bytes, so the job holds them; its phone reads them once the
        // dispatch change below names them.
        state.blobs.append(hash, &job.to_string(), 0, bytes.len() as u64, bytes).await.map_err(blob_error)?;
        state.store.add_blob_holder(hash.as_str(), job).await?;
    }
    let photo = CustomerPhoto {
        id: ItemId::new(),
        at: Timestamp::now(),
        blob,
        thumbnail,
        width: ready.width,
        height: ready.height,
        caption: q.caption,
    };
    let photo_id = photo.id;
    crate::jobs::dispatch_edit(&state, job, &who.name, DispatchEdit::AddCustomerPhoto { photo: photo.clone() }).await?;
    tracing::info!(%job, photo = %photo_id, bytes = ready.jpeg.len(), "customer photo added");
    Ok(AppJson(CustomerPhotoAdded {
        job_id: job,
        url: format!("/admin/v1/blobs/{}", photo.blob),
        thumbnail_url: format!("/admin/v1/blobs/{}", photo.thumbnail),
        photo,
    }))
}
