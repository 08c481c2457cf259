//! The dispatcher endpoint's first calls: technicians, pairing codes, devices, jobs and the
//! dispatch edits (assign, reschedule, cancel, ...). Every job change is an Automerge change on
//! the server's copy of the dispatch document.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::approval::{ApprovalCheck, check};
use shared::docs::{NewJob, read_dispatch, read_field};
use shared::edit::DispatchEdit;
use shared::model::{DispatchDoc, FieldDoc, GeoPoint, SignaturePurpose};
use shared::status::{Derived, derive};
use shared::{DeviceId, JobId, TechnicianId, Timestamp};

use crate::AppState;
use crate::audit::AuditDetail;
use crate::auth::{hash_secret, new_pairing_code};
use crate::error::{AppError, AppResult};
use crate::routes::AppJson;
use crate::staff::{AdminAuth, DispatcherAuth, ViewerAuth};
use crate::store::Technician;

/// How long a pairing code stays valid.
pub const PAIRING_CODE_MINUTES: i64 = 30;

#[derive(Debug, Deserialize)]
pub struct NewTechnician {
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub brands: Vec<String>,
    #[serde(default)]
    pub level: Option<u8>,
    pub home: Option<GeoPoint>,
}

pub async fn create_technician(
    State(state): State<AppState>,
    _who: AdminAuth,
    AppJson(t): AppJson<NewTechnician>,
) -> AppResult<AppJson<Technician>> {
    if t.name.trim().is_empty() || t.name.len() > 200 {
        return Err(AppError::BadRequest("name is required (at most 200 bytes)".into()));
    }
    if t.home.is_some_and(|h| !h.is_valid()) {
        return Err(AppError::BadRequest("home is not a valid position".into()));
    }
    let tech = Technician {
        id: TechnicianId::new(),
        name: t.name,
        phone: t.phone,
        active: true,
        skills: t.skills,
        brands: t.brands,
        level: t.level.unwrap_or(1).clamp(1, 5),
        home: t.home,
        working_hours: None,
    };
    state.store.put_technician(&tech).await?;
    Ok(AppJson(tech))
}

pub async fn list_technicians(State(state): State<AppState>, _who: ViewerAuth) -> AppResult<AppJson<Vec<Technician>>> {
    Ok(AppJson(state.store.technicians().await?))
}

#[derive(Debug, Serialize)]
pub struct PairingCode {
    pub code: String,
    pub technician_id: TechnicianId,
    pub expires_at: Timestamp,
}

pub async fn pairing_code(state: &AppState, tech: TechnicianId) -> AppResult<PairingCode> {
    let t = state.store.technician(tech).await?.ok_or_else(|| AppError::NotFound(format!("no technician {tech}")))?;
    if !t.active {
        return Err(AppError::Conflict("technician is deactivated".into()));
    }
    let code = new_pairing_code();
    let expires_at = Timestamp::now().plus_minutes(PAIRING_CODE_MINUTES);
    state.store.create_pairing_code(tech, &hash_secret(&code), expires_at).await?;
    Ok(PairingCode { code, technician_id: tech, expires_at })
}

pub async fn create_pairing_code(
    State(state): State<AppState>,
    _who: AdminAuth,
    Path(tech): Path<String>,
) -> AppResult<(crate::idempotency::SecretAnswer, AppJson<PairingCode>)> {
    let tech: TechnicianId = tech.parse().map_err(|_| AppError::BadRequest(format!("not a technician id: {tech}")))?;
    Ok((crate::idempotency::SecretAnswer, AppJson(pairing_code(&state, tech).await?)))
}

/// `GET /admin/v1/technicians/{id}/devices`: each device, when it was last seen, and what it
/// still had to send.
pub async fn list_devices(
    State(state): State<AppState>,
    _who: ViewerAuth,
    Path(tech): Path<String>,
) -> AppResult<AppJson<Vec<crate::store::DeviceRecord>>> {
    let tech: TechnicianId = tech.parse().map_err(|_| AppError::BadRequest(format!("not a technician id: {tech}")))?;
    state.store.technician(tech).await?.ok_or_else(|| AppError::NotFound(format!("no technician {tech}")))?;
    Ok(AppJson(state.store.devices_of(tech).await?))
}

pub async fn revoke_device(State(state): State<AppState>, _who: AdminAuth, Path(id): Path<String>) -> AppResult<AppJson<Value>> {
    let id: DeviceId = id.parse().map_err(|_| AppError::BadRequest(format!("not a device id: {id}")))?;
    if !state.store.revoke_device(id).await? {
        return Err(AppError::NotFound(format!("no active device {id}")));
    }
    Ok(AppJson(json!({ "revoked": id })))
}

#[derive(Debug, Default, Deserialize)]
pub struct CreateOptions {
    /// Assign the best qualified, free technician right away (the job stays new when none is).
    #[serde(default)]
    pub auto_assign: bool,
}

pub async fn create_job(
    State(state): State<AppState>,
    who: DispatcherAuth,
    opts: Result<axum::extract::Query<CreateOptions>, axum::extract::rejection::QueryRejection>,
    AppJson(job): AppJson<NewJob>,
) -> AppResult<(AuditDetail, AppJson<Value>)> {
    let axum::extract::Query(opts) = opts.map_err(|e| AppError::BadRequest(e.body_text()))?;
    shared::money::check_currency(&job.currency).map_err(|e| AppError::BadRequest(e.to_string()))?;
    if job.customer.name.trim().is_empty() {
        return Err(AppError::BadRequest("customer.name is required".into()));
    }
    if job.customer.location.is_some_and(|l| !l.is_valid()) {
        return Err(AppError::BadRequest("customer.location is not a valid position".into()));
    }
    if job.appointment.is_some_and(|w| !w.is_valid()) {
        return Err(AppError::BadRequest("appointment must end after it starts".into()));
    }
    let id = crate::jobs::create(&state, job, &who.name).await?;
    let audit = AuditDetail(json!({ "job": id }));
    if opts.auto_assign {
        let assigned = views::assign_best(&state, id, &who.name).await?;
        let answer = json!({ "job_id": id, "assignee": assigned.as_ref().map(|s| s.technician), "suggestion": assigned });
        return Ok((audit, AppJson(answer)));
    }
    Ok((audit, AppJson(json!({ "job_id": id }))))
}

/// A job as a dispatcher reads it: both documents merged with what follows from them.
#[derive(Debug, Serialize)]
pub struct JobDetail {
    pub dispatch: DispatchDoc,
    pub field: FieldDoc,
    pub derived: Derived,
    pub quote_approval: ApprovalCheck,
    pub completion_approval: ApprovalCheck,
    /// Where to fetch each photo and its thumbnail.
    pub photo_links: Vec<PhotoLink>,
    /// Each signature drawn as SVG, with what it signed.
    pub signatures: Vec<SignatureView>,
    pub report_link: String,
    /// Status events dated before their device's previous sync yet not sent then (a clock set
    /// back, or a forged date): KPIs count them from when the server received them.
    pub backdated_events: Vec<crate::store::EventReceipt>,
}

#[derive(Debug, Serialize)]
pub struct PhotoLink {
    pub kind: shared::model::PhotoKind,
    pub caption: String,
    pub url: String,
    pub thumbnail_url: String,
}

#[derive(Debug, Serialize)]
pub struct SignatureView {
    pub purpose: SignaturePurpose,
    pub signer: String,
    pub at: Timestamp,
    pub svg: String,
}

fn parse_job(id: &str) -> AppResult<JobId> {
    id.parse().map_err(|_| AppError::BadRequest(format!("not a job id: {id}")))
}

pub async fn get_job(State(state): State<AppState>, _who: ViewerAuth, Path(id): Path<String>) -> AppResult<AppJson<JobDetail>> {
    let job = parse_job(&id)?;
    let (d, f) = state.store.load_job(job).await?.ok_or_else(|| AppError::NotFound(format!("no job {job}")))?;
    let dispatch = read_dispatch(&d).map_err(|e| AppError::Internal(e.into()))?;
    let field = read_field(&f).map_err(|e| AppError::Internal(e.into()))?;
    let derived = derive(&dispatch, &field);
    let photo_links = field
        .photos
        .iter()
        .map(|p| PhotoLink {
            kind: p.kind,
            caption: p.caption.clone(),
            url: format!("/admin/v1/blobs/{}", p.blob),
            thumbnail_url: format!("/admin/v1/blobs/{}", p.thumbnail),
        })
        .collect();
    let signatures = field
        .signatures
        .iter()
        .map(|s| SignatureView {
            purpose: s.purpose,
            signer: s.signer.clone(),
            at: s.at,
            svg: shared::signature::Strokes::decode(&s.strokes).map(|x| x.to_svg(300, 100)).unwrap_or_default(),
        })
        .collect();
    Ok(AppJson(JobDetail {
        photo_links,
        signatures,
        report_link: format!("/admin/v1/jobs/{job}/report.html"),
        backdated_events: state.store.backdated_events(job).await?,
        quote_approval: check(SignaturePurpose::QuoteApproval, &dispatch, &field),
        completion_approval: check(SignaturePurpose::Completion, &dispatch, &field),
        dispatch,
        field,
        derived,
    }))
}

/// `POST /admin/v1/jobs/{id}/{action}` for action in assign, unassign, reschedule, cancel,
/// close, add_note, update; the body holds the action's fields.
pub async fn job_action(
    State(state): State<AppState>,
    who: DispatcherAuth,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> AppResult<AppJson<Value>> {
    let job = parse_job(&id)?;
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|e| AppError::BadRequest(format!("body is not JSON: {e}")))?
    };
    let mut fields = match body {
        Value::Object(m) => m,
        Value::Null => serde_json::Map::new(),
        _ => return Err(AppError::BadRequest("body must be a JSON object".into())),
    };
    if action == "add_customer_photo" {
        return Err(AppError::BadRequest("customer photos are uploaded with POST /admin/v1/jobs/{id}/customer-photos".into()));
    }
    fields.insert("edit".into(), Value::String(action.clone()));
    let edit: DispatchEdit = serde_json::from_value(Value::Object(fields)).map_err(|e| AppError::BadRequest(format!("{action}: {e}")))?;
    let index = crate::jobs::dispatch_edit(&state, job, &who.name, edit).await?;
    Ok(AppJson(json!({ "job_id": job, "status": index.status, "assignee": index.assignee })))
}

/// Largest page of a job list.
pub const PAGE_MAX: usize = 500;

pub mod accounts;
pub mod erasure;
pub mod photos;
pub mod reference;
pub mod views;

/// `POST /admin/v1/technicians/{id}/deactivate`: the technician's devices stop syncing at once.
pub async fn deactivate_technician(
    State(state): State<AppState>,
    _who: AdminAuth,
    Path(id): Path<String>,
) -> AppResult<AppJson<Technician>> {
    let mut t = technician_by_path(&state, &id).await?;
    t.active = false;
    state.store.put_technician(&t).await?;
    Ok(AppJson(t))
}

/// `PUT /admin/v1/technicians/{id}/working-hours`.
pub async fn set_working_hours(
    State(state): State<AppState>,
    _who: AdminAuth,
    Path(id): Path<String>,
    AppJson(hours): AppJson<crate::store::WorkingHours>,
) -> AppResult<AppJson<Technician>> {
    if hours.start_min >= hours.end_min || hours.end_min > 24 * 60 || hours.utc_offset_min.abs() > 14 * 60 {
        return Err(AppError::BadRequest("working hours: start_min < end_min <= 1440, |utc_offset_min| <= 840".into()));
    }
    let mut t = technician_by_path(&state, &id).await?;
    t.working_hours = Some(hours);
    state.store.put_technician(&t).await?;
    Ok(AppJson(t))
}

/// A technician as the dispatcher console shows them.
#[derive(Debug, Serialize)]
pub struct TechnicianView {
    #[serde(flatten)]
    pub technician: Technician,
    pub last_check_in: Option<(GeoPoint, Timestamp)>,
    pub open_jobs: usize,
    pub van_stock_version: Option<u32>,
}

pub async fn get_technician(State(state): State<AppState>, _who: ViewerAuth, Path(id): Path<String>) -> AppResult<AppJson<TechnicianView>> {
    let t = technician_by_path(&state, &id).await?;
    let open = views::open_jobs_of(&state, t.id).await?.len();
    Ok(AppJson(TechnicianView {
        last_check_in: state.store.location(t.id).await?,
        open_jobs: open,
        van_stock_version: state.store.reference(&reference::van_stock_kind(t.id), None).await?.map(|(v, _)| v),
        technician: t,
    }))
}

pub(crate) async fn technician_by_path(state: &AppState, id: &str) -> AppResult<Technician> {
    let id: TechnicianId = id.parse().map_err(|_| AppError::BadRequest(format!("not a technician id: {id}")))?;
    state.store.technician(id).await?.ok_or_else(|| AppError::NotFound(format!("no technician {id}")))
}
