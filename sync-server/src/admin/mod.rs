//! The dispatcher endpoint's first calls: technicians, pairing codes, devices, jobs and the
//! dispatch edits (assign, reschedule, cancel, ...). Every job change is an Automerge change on
//! the server's copy of the dispatch document.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::approval::{ApprovalCheck, check};
use shared::docs::{NewJob, read_dispatch, read_field};
use shared::edit::DispatchEdit;
use shared::model::{DispatchDoc, FieldDoc, GeoPoint, SignaturePurpose};
use shared::status::{Derived, derive};
use shared::{DeviceId, JobId, TechnicianId, Timestamp};

use crate::AppState;
use crate::audit::AuditDetail;
use crate::auth::{hash_secret, new_pairing_code};
use crate::body::AppJson;
use crate::error::{AppError, AppResult};
use crate::staff::{AdminAuth, DispatcherAuth, ViewerAuth};
use crate::store::Technician;

/// How long a pairing code stays valid.
pub const PAIRING_CODE_MINUTES: i64 = 30;

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTechnician {
    #[schema(min_length = 1, max_length = 50, pattern = "\\S", example = "李明")]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 50)]
    pub phone: String,
    /// The categories they are trained for.
    #[serde(default)]
    #[schema(value_type = Vec<shared::model::Category>, max_items = 50)]
    pub skills: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub brands: Vec<String>,
    /// 1 (junior) to 5; 1 when absent.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 5)]
    pub level: Option<u8>,
    pub home: Option<GeoPoint>,
}

/// Add a technician.
#[utoipa::path(post, path = "/admin/v1/technicians", tag = "technicians", request_body = NewTechnician,
    responses((status = 200, description = "the technician as stored", body = Technician)))]
pub async fn create_technician(
    State(state): State<AppState>,
    _who: AdminAuth,
    AppJson(t): AppJson<NewTechnician>,
) -> AppResult<AppJson<Technician>> {
    Ok(AppJson(save_technician(&state, None, t).await?))
}

/// Change a technician's name, phone, skills, brands, level and home (the whole set, as on
/// create; working hours and whether they are active have their own calls).
#[utoipa::path(put, path = "/admin/v1/technicians/{id}", tag = "technicians",
    params(("id" = TechnicianId, Path, description = "the technician")), request_body = NewTechnician,
    responses((status = 200, description = "the technician as stored", body = Technician)))]
pub async fn edit_technician(
    State(state): State<AppState>,
    _who: AdminAuth,
    Path(id): Path<String>,
    AppJson(t): AppJson<NewTechnician>,
) -> AppResult<AppJson<Technician>> {
    let existing = technician_by_path(&state, &id).await?;
    Ok(AppJson(save_technician(&state, Some(existing.id), t).await?))
}

/// What create and edit both refuse.
pub fn check_technician(t: &NewTechnician) -> AppResult<()> {
    if t.name.trim().is_empty() || t.name.chars().count() > 50 || t.phone.chars().count() > 50 {
        return Err(AppError::Unprocessable("a name is required; name and phone have at most 50 characters".into()));
    }
    if t.home.is_some_and(|h| !h.is_valid()) {
        return Err(AppError::BadRequest("home is not a valid position".into()));
    }
    check_skills(&t.skills, &t.brands)?;
    if t.level.is_some_and(|l| !(1..=5).contains(&l)) {
        return Err(AppError::Unprocessable("level is 1 (junior) to 5".into()));
    }
    Ok(())
}

/// Stores a new technician (`id` is `None`), or new details over an existing one, read again
/// here so that whether it is active and its working hours stay as they are now.
pub async fn save_technician(state: &AppState, id: Option<TechnicianId>, t: NewTechnician) -> AppResult<Technician> {
    check_technician(&t)?;
    let existing = match id {
        Some(id) => Some(state.store.technician(id).await?.ok_or_else(|| AppError::NotFound(format!("no technician {id}")))?),
        None => None,
    };
    let tech = Technician {
        // A new technician gets a new id (the default is a fresh UUIDv7).
        id: id.unwrap_or_default(),
        name: t.name.trim().to_owned(),
        phone: t.phone.trim().to_owned(),
        active: existing.as_ref().is_none_or(|e| e.active),
        skills: t.skills,
        brands: t.brands.into_iter().map(|b| b.trim().to_owned()).collect(),
        level: t.level.unwrap_or(1),
        home: t.home,
        working_hours: existing.and_then(|e| e.working_hours),
    };
    state.store.put_technician(&tech).await?;
    Ok(tech)
}

/// Working hours a day can hold.
pub fn check_hours(hours: &crate::store::WorkingHours) -> AppResult<()> {
    if hours.start_min >= hours.end_min || hours.end_min > 24 * 60 || hours.utc_offset_min.abs() > 14 * 60 {
        return Err(AppError::Unprocessable("working hours: start_min < end_min <= 1440, |utc_offset_min| <= 840".into()));
    }
    Ok(())
}

/// Deactivates (their devices stop syncing at once) or reactivates a technician.
pub async fn set_active(state: &AppState, id: TechnicianId, active: bool) -> AppResult<Technician> {
    change_technician(state, id, |t| t.active = active).await
}

/// Sets (or clears) a technician's working hours.
pub async fn save_hours(state: &AppState, id: TechnicianId, hours: Option<crate::store::WorkingHours>) -> AppResult<Technician> {
    if let Some(h) = &hours {
        check_hours(h)?;
    }
    change_technician(state, id, |t| t.working_hours = hours).await
}

/// Changes one thing about a technician, read again here so nothing else about them is written
/// back from an older copy (a console tab opened an hour ago, say).
async fn change_technician(state: &AppState, id: TechnicianId, change: impl FnOnce(&mut Technician)) -> AppResult<Technician> {
    let mut t = state.store.technician(id).await?.ok_or_else(|| AppError::NotFound(format!("no technician {id}")))?;
    change(&mut t);
    state.store.put_technician(&t).await?;
    Ok(t)
}

/// Every technician, active or not.
#[utoipa::path(get, path = "/admin/v1/technicians", tag = "technicians", responses((status = 200, body = Vec<Technician>)))]
pub async fn list_technicians(State(state): State<AppState>, _who: ViewerAuth) -> AppResult<AppJson<Vec<Technician>>> {
    Ok(AppJson(state.store.technicians().await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
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

/// A single-use code (valid 30 minutes) that pairs one phone with the technician.
#[utoipa::path(post, path = "/admin/v1/technicians/{id}/pairing-codes", tag = "technicians",
    params(("id" = TechnicianId, Path, description = "the technician")),
    responses((status = 200, body = PairingCode), (status = 409, description = "the technician is deactivated", body = shared::wire::http::ErrorEnvelope)))]
pub async fn create_pairing_code(
    State(state): State<AppState>,
    _who: AdminAuth,
    Path(tech): Path<String>,
) -> AppResult<(crate::idempotency::SecretAnswer, AppJson<PairingCode>)> {
    let tech: TechnicianId = tech.parse().map_err(|_| AppError::BadRequest(format!("not a technician id: {tech}")))?;
    Ok((crate::idempotency::SecretAnswer, AppJson(pairing_code(&state, tech).await?)))
}

/// The technician's devices: when each was last seen, and what it still had to send.
#[utoipa::path(get, path = "/admin/v1/technicians/{id}/devices", tag = "technicians",
    params(("id" = TechnicianId, Path, description = "the technician")), responses((status = 200, body = Vec<crate::store::DeviceRecord>)))]
pub async fn list_devices(
    State(state): State<AppState>,
    _who: ViewerAuth,
    Path(tech): Path<String>,
) -> AppResult<AppJson<Vec<crate::store::DeviceRecord>>> {
    let tech: TechnicianId = tech.parse().map_err(|_| AppError::BadRequest(format!("not a technician id: {tech}")))?;
    state.store.technician(tech).await?.ok_or_else(|| AppError::NotFound(format!("no technician {tech}")))?;
    Ok(AppJson(state.store.devices_of(tech).await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RevokedDevice {
    pub revoked: DeviceId,
}

/// Stop a device from syncing (a lost or stolen phone); its technician can pair another.
#[utoipa::path(post, path = "/admin/v1/devices/{id}/revoke", tag = "technicians",
    params(("id" = DeviceId, Path, description = "the device")), responses((status = 200, body = RevokedDevice)))]
pub async fn revoke_device(State(state): State<AppState>, _who: AdminAuth, Path(id): Path<String>) -> AppResult<AppJson<RevokedDevice>> {
    let id: DeviceId = id.parse().map_err(|_| AppError::BadRequest(format!("not a device id: {id}")))?;
    if !state.store.revoke_device(id).await? {
        return Err(AppError::NotFound(format!("no active device {id}")));
    }
    Ok(AppJson(RevokedDevice { revoked: id }))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CreateOptions {
    /// Assign the best qualified, free technician right away (the job stays new when none is).
    #[serde(default)]
    pub auto_assign: bool,
}

/// A job and who it went to: the assignee and the suggestion that chose them, when one did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobAssignment {
    pub job_id: JobId,
    pub assignee: Option<TechnicianId>,
    pub suggestion: Option<crate::ranking::Suggestion>,
}

/// Open a job. With `auto_assign=true` it goes at once to the best qualified, free technician
/// (it stays new when none is, or when its appointment has already begun).
#[utoipa::path(post, path = "/admin/v1/jobs", tag = "jobs", params(CreateOptions), request_body = NewJob,
    responses((status = 200, body = JobAssignment)))]
pub async fn create_job(
    State(state): State<AppState>,
    who: DispatcherAuth,
    opts: Result<axum::extract::Query<CreateOptions>, axum::extract::rejection::QueryRejection>,
    AppJson(job): AppJson<NewJob>,
) -> AppResult<(AuditDetail, AppJson<JobAssignment>)> {
    let axum::extract::Query(opts) = opts.map_err(|e| AppError::BadRequest(e.body_text()))?;
    job.check().map_err(|e| AppError::Unprocessable(e.to_string()))?;
    let id = crate::jobs::create(&state, job, &who.name).await?;
    let audit = AuditDetail(json!({ "job": id }));
    let suggestion = if opts.auto_assign { views::assign_best(&state, id, &who.name).await? } else { None };
    Ok((audit, AppJson(JobAssignment { job_id: id, assignee: suggestion.as_ref().map(|s| s.technician), suggestion })))
}

/// A job as a dispatcher reads it: both documents merged with what follows from them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhotoLink {
    pub kind: shared::model::PhotoKind,
    pub caption: String,
    pub url: String,
    pub thumbnail_url: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignatureView {
    pub purpose: SignaturePurpose,
    pub signer: String,
    pub at: Timestamp,
    pub svg: String,
}

fn parse_job(id: &str) -> AppResult<JobId> {
    id.parse().map_err(|_| AppError::BadRequest(format!("not a job id: {id}")))
}

/// One job: both documents, its derived status and timeline, approvals, photos, signatures.
#[utoipa::path(get, path = "/admin/v1/jobs/{id}", tag = "jobs", params(("id" = JobId, Path, description = "the job")),
    responses((status = 200, body = JobDetail)))]
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

/// A job's status and assignee after a change.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobState {
    pub job_id: JobId,
    pub status: shared::status::Status,
    pub assignee: Option<TechnicianId>,
    /// What the dispatcher should know about the change it made (an assignment to someone not
    /// trained for the appliance, an appointment already past...). Empty when all is well.
    pub warnings: Vec<String>,
}

async fn edit(state: &AppState, who: &DispatcherAuth, id: &str, edit: DispatchEdit) -> AppResult<(AuditDetail, AppJson<JobState>)> {
    let job = parse_job(id)?;
    let index = crate::jobs::dispatch_edit(state, job, &who.name, edit).await?;
    let answer = JobState { job_id: job, status: index.status, assignee: index.assignee, warnings: Vec::new() };
    Ok((AuditDetail(json!({ "job": job })), AppJson(answer)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    pub technician: TechnicianId,
}

/// Assign (or reassign) the job to a technician; their phone gets it on its next sync. The
/// answer warns when the technician is not qualified, is busy, or the appointment has passed.
#[utoipa::path(post, path = "/admin/v1/jobs/{id}/assign", tag = "jobs", params(("id" = JobId, Path, description = "the job")),
    request_body = AssignBody, responses((status = 200, body = JobState)))]
pub async fn assign(
    State(state): State<AppState>,
    who: DispatcherAuth,
    Path(id): Path<String>,
    AppJson(b): AppJson<AssignBody>,
) -> AppResult<(AuditDetail, AppJson<JobState>)> {
    assignable(&state, b.technician).await?;
    let job = parse_job(&id)?;
    let warnings = views::assignment_warnings(&state, job, b.technician).await?;
    let (audit, AppJson(mut answer)) = edit(&state, &who, &id, DispatchEdit::Assign { technician: b.technician }).await?;
    answer.warnings = warnings;
    Ok((audit, AppJson(answer)))
}

/// The technician, when a job may be given to them (they exist and are active).
pub async fn assignable(state: &AppState, tech: TechnicianId) -> AppResult<Technician> {
    let t = state.store.technician(tech).await?.ok_or_else(|| AppError::NotFound(format!("no technician {tech}")))?;
    if !t.active {
        return Err(AppError::Conflict(format!("{} is deactivated", t.name)));
    }
    Ok(t)
}

/// Take the job back from its technician (it returns to the queue).
#[utoipa::path(post, path = "/admin/v1/jobs/{id}/unassign", tag = "jobs", params(("id" = JobId, Path, description = "the job")),
    responses((status = 200, body = JobState)))]
pub async fn unassign(
    State(state): State<AppState>,
    who: DispatcherAuth,
    Path(id): Path<String>,
) -> AppResult<(AuditDetail, AppJson<JobState>)> {
    edit(&state, &who, &id, DispatchEdit::Unassign).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleBody {
    /// The new appointment window.
    pub window: shared::model::Window,
}

/// Move the appointment.
#[utoipa::path(post, path = "/admin/v1/jobs/{id}/reschedule", tag = "jobs", params(("id" = JobId, Path, description = "the job")),
    request_body = RescheduleBody, responses((status = 200, body = JobState)))]
pub async fn reschedule(
    State(state): State<AppState>,
    who: DispatcherAuth,
    Path(id): Path<String>,
    AppJson(b): AppJson<RescheduleBody>,
) -> AppResult<(AuditDetail, AppJson<JobState>)> {
    edit(&state, &who, &id, DispatchEdit::Reschedule { window: b.window }).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    #[schema(max_length = 2048)]
    pub reason: String,
}

/// Cancel the job (the technician's phone shows it cancelled with the reason).
#[utoipa::path(post, path = "/admin/v1/jobs/{id}/cancel", tag = "jobs", params(("id" = JobId, Path, description = "the job")),
    request_body = CancelBody, responses((status = 200, body = JobState)))]
pub async fn cancel(
    State(state): State<AppState>,
    who: DispatcherAuth,
    Path(id): Path<String>,
    AppJson(b): AppJson<CancelBody>,
) -> AppResult<(AuditDetail, AppJson<JobState>)> {
    long_text("reason", &b.reason)?;
    edit(&state, &who, &id, DispatchEdit::Cancel { reason: b.reason }).await
}

/// Close a completed job (after checking the report and payment).
#[utoipa::path(post, path = "/admin/v1/jobs/{id}/close", tag = "jobs", params(("id" = JobId, Path, description = "the job")),
    responses((status = 200, body = JobState)))]
pub async fn close(
    State(state): State<AppState>,
    who: DispatcherAuth,
    Path(id): Path<String>,
) -> AppResult<(AuditDetail, AppJson<JobState>)> {
    edit(&state, &who, &id, DispatchEdit::Close).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    #[schema(min_length = 1, max_length = 2048, pattern = "\\S")]
    pub text: String,
}

/// Add a note the technician sees on the job.
#[utoipa::path(post, path = "/admin/v1/jobs/{id}/add_note", tag = "jobs", params(("id" = JobId, Path, description = "the job")),
    request_body = NoteBody, responses((status = 200, body = JobState)))]
pub async fn add_note(
    State(state): State<AppState>,
    who: DispatcherAuth,
    Path(id): Path<String>,
    AppJson(b): AppJson<NoteBody>,
) -> AppResult<(AuditDetail, AppJson<JobState>)> {
    long_text("text", &b.text)?;
    edit(&state, &who, &id, DispatchEdit::AddNote { text: b.text }).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    pub fields: shared::edit::DispatchFields,
}

/// Correct the job's fields (customer, appliance, problem, priority, SLA); absent fields stay.
#[utoipa::path(post, path = "/admin/v1/jobs/{id}/update", tag = "jobs", params(("id" = JobId, Path, description = "the job")),
    request_body = UpdateBody, responses((status = 200, body = JobState)))]
pub async fn update(
    State(state): State<AppState>,
    who: DispatcherAuth,
    Path(id): Path<String>,
    AppJson(b): AppJson<UpdateBody>,
) -> AppResult<(AuditDetail, AppJson<JobState>)> {
    edit(&state, &who, &id, DispatchEdit::Update { fields: Box::new(b.fields) }).await
}

/// Largest page of a job list (the store's limit, which every list is bounded by).
pub use crate::store::PAGE_MAX;

pub mod accounts;
pub mod erasure;
pub mod photos;
pub mod reference;
pub mod views;

/// Deactivate a technician: their devices stop syncing at once.
#[utoipa::path(post, path = "/admin/v1/technicians/{id}/deactivate", tag = "technicians",
    params(("id" = TechnicianId, Path, description = "the technician")), responses((status = 200, body = Technician)))]
pub async fn deactivate_technician(
    State(state): State<AppState>,
    _who: AdminAuth,
    Path(id): Path<String>,
) -> AppResult<AppJson<Technician>> {
    let t = technician_by_path(&state, &id).await?;
    Ok(AppJson(set_active(&state, t.id, false).await?))
}

/// Reactivate a technician: their devices that were not revoked sync again.
#[utoipa::path(post, path = "/admin/v1/technicians/{id}/reactivate", tag = "technicians",
    params(("id" = TechnicianId, Path, description = "the technician")), responses((status = 200, body = Technician)))]
pub async fn reactivate_technician(
    State(state): State<AppState>,
    _who: AdminAuth,
    Path(id): Path<String>,
) -> AppResult<AppJson<Technician>> {
    let t = technician_by_path(&state, &id).await?;
    Ok(AppJson(set_active(&state, t.id, true).await?))
}

/// Set a technician's daily working hours (their local time).
#[utoipa::path(put, path = "/admin/v1/technicians/{id}/working-hours", tag = "technicians",
    params(("id" = TechnicianId, Path, description = "the technician")), request_body = crate::store::WorkingHours,
    responses((status = 200, body = Technician)))]
pub async fn set_working_hours(
    State(state): State<AppState>,
    _who: AdminAuth,
    Path(id): Path<String>,
    AppJson(hours): AppJson<crate::store::WorkingHours>,
) -> AppResult<AppJson<Technician>> {
    let t = technician_by_path(&state, &id).await?;
    Ok(AppJson(save_hours(&state, t.id, Some(hours)).await?))
}

/// Where a technician last checked in, and when.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LastSeen {
    pub position: GeoPoint,
    pub at: Timestamp,
}

/// A technician as the dispatcher console shows them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TechnicianView {
    #[serde(flatten)]
    pub technician: Technician,
    pub last_check_in: Option<LastSeen>,
    pub open_jobs: usize,
    pub van_stock_version: Option<u32>,
}

/// One technician with where they were last seen and how busy they are.
#[utoipa::path(get, path = "/admin/v1/technicians/{id}", tag = "technicians",
    params(("id" = TechnicianId, Path, description = "the technician")), responses((status = 200, body = TechnicianView)))]
pub async fn get_technician(State(state): State<AppState>, _who: ViewerAuth, Path(id): Path<String>) -> AppResult<AppJson<TechnicianView>> {
    let t = technician_by_path(&state, &id).await?;
    let open = views::open_jobs_of(&state, t.id).await?.len();
    Ok(AppJson(TechnicianView {
        last_check_in: state.store.location(t.id).await?.map(|(position, at)| LastSeen { position, at }),
        open_jobs: open,
        van_stock_version: state.store.reference(&crate::reference::van_stock_kind(t.id), None).await?.map(|(v, _)| v),
        technician: t,
    }))
}

/// Free text a dispatcher writes, as the description states its limit.
pub(crate) fn long_text(field: &'static str, s: &str) -> AppResult<()> {
    shared::edit::check_chars(field, s, shared::edit::LONG_TEXT_CHARS_MAX).map_err(|e| AppError::Unprocessable(e.to_string()))
}

/// Skills are category names; both lists are short.
fn check_skills(skills: &[String], brands: &[String]) -> AppResult<()> {
    if let Some(bad) = skills.iter().find(|s| shared::model::Category::parse(s).is_none()) {
        let known: Vec<&str> = shared::model::Category::ALL.iter().map(|c| c.as_str()).collect();
        return Err(AppError::Unprocessable(format!("skill {bad:?} is not a category ({})", known.join(", "))));
    }
    if skills.len() > 50 || brands.len() > 100 || brands.iter().any(|b| b.trim().is_empty() || b.chars().count() > 50) {
        return Err(AppError::Unprocessable("at most 50 skills and 100 brands, each 1 to 50 characters".into()));
    }
    Ok(())
}

pub(crate) async fn technician_by_path(state: &AppState, id: &str) -> AppResult<Technician> {
    let id: TechnicianId = id.parse().map_err(|_| AppError::BadRequest(format!("not a technician id: {id}")))?;
    state.store.technician(id).await?.ok_or_else(|| AppError::NotFound(format!("no technician {id}")))
}
