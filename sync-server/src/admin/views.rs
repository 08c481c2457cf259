//! Dispatcher views and decisions: job lists, assignment suggestions, self-service answers, KPIs,
//! the service report and the live progress stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use futures_util::stream::Stream;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::approval::{ApprovalCheck, check};
use shared::docs::{read_dispatch, read_field};
use shared::edit::DispatchEdit;
use shared::model::SignaturePurpose;
use shared::pricing::{line_amount, totals};
use shared::reference::{KbArticle, KnowledgeBase};
use shared::signature::Strokes;
use shared::{JobId, TechnicianId, Timestamp};

use crate::AppState;
use crate::JobChange;
use crate::body::AppJson;
use crate::error::{AppError, AppResult};
use crate::jobs::SELF_SERVICE_PREFIX;
use crate::kpi::{self, Kpis};
use crate::ranking::{Candidate, JobNeeds, Suggestion, rank};
use crate::staff::{DispatcherAuth, ViewerAuth};
use crate::store::KpiKey;
use crate::store::{JobIndex, JobQuery};

fn parse_job(id: &str) -> AppResult<JobId> {
    id.parse().map_err(|_| AppError::BadRequest(format!("not a job id: {id}")))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobPage {
    pub jobs: Vec<JobIndex>,
    /// Offset of the next page, when there may be one.
    pub next_offset: Option<usize>,
}

/// Jobs, newest appointment first, filtered; a page at a time.
#[utoipa::path(get, path = "/admin/v1/jobs", tag = "jobs", params(JobQuery), responses((status = 200, body = JobPage)))]
pub async fn list_jobs(
    State(state): State<AppState>,
    _who: ViewerAuth,
    q: Result<Query<JobQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<AppJson<JobPage>> {
    let Query(q) = q.map_err(|e| AppError::BadRequest(e.body_text()))?;
    if q.limit.is_some_and(|l| l == 0 || l > super::PAGE_MAX) {
        return Err(AppError::BadRequest(format!("limit must be 1..={}", super::PAGE_MAX)));
    }
    if q.offset.is_some_and(|o| o > 1_000_000_000) {
        return Err(AppError::BadRequest("offset is too large".into()));
    }
    match (q.lat, q.lon, q.radius_km) {
        (None, None, None) => {}
        (Some(lat), Some(lon), Some(r))
            if shared::model::GeoPoint { lat, lon }.is_valid() && r.is_finite() && (0.0..=20_000.0).contains(&r) => {}
        _ => return Err(AppError::Unprocessable("area: lat (-90..90), lon (-180..180) and radius_km (0..20000) together".into())),
    }
    if let Some(s) = &q.status
        && let Some(bad) = s.split(',').map(str::trim).find(|x| shared::status::Status::parse(x).is_none())
    {
        return Err(AppError::Unprocessable(format!("unknown status {bad:?}")));
    }
    let limit = q.limit.unwrap_or(50);
    let mut jobs = state.store.list_jobs(&q, Timestamp::now()).await?;
    let full = jobs.len() == limit;
    if let (Some(lat), Some(lon), Some(r)) = (q.lat, q.lon, q.radius_km) {
        let centre = shared::model::GeoPoint { lat, lon };
        jobs.retain(|j| j.location.is_some_and(|l| l.distance_m(&centre) <= r * 1000.0));
    }
    Ok(AppJson(JobPage { jobs, next_offset: full.then(|| q.offset.unwrap_or(0) + limit) }))
}

pub(crate) async fn open_jobs_of(state: &AppState, tech: TechnicianId) -> AppResult<Vec<JobIndex>> {
    let q = JobQuery {
        technician: Some(tech),
        status: Some("assigned,accepted,en_route,on_site,in_progress,on_hold".into()),
        limit: Some(super::PAGE_MAX),
        ..JobQuery::default()
    };
    Ok(state.store.list_jobs(&q, Timestamp::now()).await?)
}

pub(crate) async fn suggestions_for(state: &AppState, job: JobId) -> AppResult<Vec<Suggestion>> {
    ranked(state, job, None).await
}

/// Technicians ranked for `job` (only `only`, when given).
async fn ranked(state: &AppState, job: JobId, only: Option<TechnicianId>) -> AppResult<Vec<Suggestion>> {
    let (d, _) = state.store.load_job(job).await?.ok_or_else(|| AppError::NotFound(format!("no job {job}")))?;
    let d = read_dispatch(&d)?;
    let needs = JobNeeds {
        category: d.appliance.category,
        brand: d.appliance.brand.clone(),
        location: d.customer.location,
        window: d.appointment,
        arrive_by: d.sla.arrive_by,
    };
    let mut candidates = Vec::new();
    for t in state.store.technicians().await?.into_iter().filter(|t| only.is_none_or(|o| o == t.id)) {
        let open_jobs = open_jobs_of(state, t.id).await?.into_iter().filter(|j| j.job != job).collect();
        candidates.push(Candidate { last_check_in: state.store.location(t.id).await?, open_jobs, technician: t });
    }
    Ok(rank(&needs, &candidates, Timestamp::now()))
}

/// Technicians ranked for the job, each with the reasons.
#[utoipa::path(get, path = "/admin/v1/jobs/{id}/suggestions", tag = "jobs", params(("id" = JobId, Path, description = "the job")),
    responses((status = 200, body = Vec<Suggestion>)))]
pub async fn suggestions(State(state): State<AppState>, _who: ViewerAuth, Path(id): Path<String>) -> AppResult<AppJson<Vec<Suggestion>>> {
    Ok(AppJson(suggestions_for(&state, parse_job(&id)?).await?))
}

/// What to tell a dispatcher who assigns `job` to `tech`, in both languages.
pub(crate) async fn assignment_warnings(state: &AppState, job: JobId, tech: TechnicianId) -> AppResult<Vec<String>> {
    let mut warnings = Vec::new();
    let row = state.store.job_row(job).await?.ok_or_else(|| AppError::NotFound(format!("no job {job}")))?;
    if let Some(s) = ranked(state, job, Some(tech)).await?.into_iter().next() {
        if !s.qualified {
            let why: Vec<&str> = s.reasons.iter().filter(|r| r.starts_with("not ") || r.contains("below")).map(String::as_str).collect();
            warnings.push(format!("技师不符合此工单要求 / not qualified for this job: {}", why.join("; ")));
        }
        if s.overloaded {
            warnings.push(format!(
                "技师当天已满 / already busy: {} open jobs that day, {} in the appointment window",
                s.open_jobs_that_day, s.booked_in_window
            ));
        }
        if s.sla_slack_min.is_some_and(|m| m < 0) {
            warnings.push("预计晚于 SLA 到达时间 / expected to arrive after the SLA's arrive-by".into());
        }
    }
    if row.appt_start.is_some_and(|s| s < Timestamp::now()) {
        warnings.push("预约时间已过，请与客户重新约定 / the appointment has already begun: agree a new one with the customer".into());
    }
    Ok(warnings)
}

/// Assigns the best qualified, free technician, if there is one and the appointment (if any)
/// has not begun: a job whose time has passed needs a person to agree a new one first.
pub(crate) async fn assign_best(state: &AppState, job: JobId, by: &str) -> AppResult<Option<Suggestion>> {
    let row = state.store.job_row(job).await?.ok_or_else(|| AppError::NotFound(format!("no job {job}")))?;
    if row.appt_start.is_some_and(|s| s < Timestamp::now()) {
        return Ok(None);
    }
    let Some(best) = suggestions_for(state, job).await?.into_iter().find(|s| s.qualified && !s.overloaded) else {
        return Ok(None);
    };
    crate::jobs::dispatch_edit(state, job, by, DispatchEdit::Assign { technician: best.technician }).await?;
    Ok(Some(best))
}

/// Assign the best qualified, free technician (refused when none is, or when the appointment
/// has already begun: reschedule it first).
#[utoipa::path(post, path = "/admin/v1/jobs/{id}/auto-assign", tag = "jobs", params(("id" = JobId, Path, description = "the job")),
    responses((status = 200, body = super::JobAssignment)))]
pub async fn auto_assign(
    State(state): State<AppState>,
    who: DispatcherAuth,
    Path(id): Path<String>,
) -> AppResult<AppJson<super::JobAssignment>> {
    let job = parse_job(&id)?;
    let best = assign_best(&state, job, &who.name).await?.ok_or_else(|| {
        AppError::Conflict("no qualified technician is free for this job, or its appointment has begun (reschedule it first)".into())
    })?;
    Ok(AppJson(super::JobAssignment { job_id: job, assignee: Some(best.technician), suggestion: Some(best) }))
}

async fn knowledge_base(state: &AppState) -> AppResult<Option<KnowledgeBase>> {
    match state.store.reference("knowledge_base", None).await? {
        Some((_, j)) => Ok(Some(serde_json::from_str(&j).map_err(|e| AppError::Internal(e.into()))?)),
        None => Ok(None),
    }
}

/// Published knowledge-base articles that may let the customer fix it alone.
#[utoipa::path(get, path = "/admin/v1/jobs/{id}/self-service", tag = "jobs", params(("id" = JobId, Path, description = "the job")),
    responses((status = 200, body = Vec<KbArticle>)))]
pub async fn self_service_candidates(
    State(state): State<AppState>,
    _who: ViewerAuth,
    Path(id): Path<String>,
) -> AppResult<AppJson<Vec<KbArticle>>> {
    let job = parse_job(&id)?;
    let (d, _) = state.store.load_job(job).await?.ok_or_else(|| AppError::NotFound(format!("no job {job}")))?;
    let d = read_dispatch(&d)?;
    let kb = knowledge_base(&state).await?.unwrap_or(KnowledgeBase { version: 0, articles: vec![] });
    let problem = d.problem.to_lowercase();
    let mut hits: Vec<(usize, KbArticle)> = kb
        .articles
        .into_iter()
        .filter(|a| a.self_service && a.category == d.appliance.category)
        .map(|a| {
            // Rank by how many of the article's symptom words the customer used.
            let words = format!("{} {} {} {}", a.symptom_en, a.symptom_zh, a.title_en, a.title_zh).to_lowercase();
            let score = words.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= 2 && problem.contains(*w)).count();
            (score, a)
        })
        .collect();
    hits.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
    Ok(AppJson(hits.into_iter().map(|(_, a)| a).collect()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfService {
    pub article_id: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SelfServiced {
    pub job_id: JobId,
    pub status: shared::status::Status,
    pub article: String,
}

/// Answer with an article instead of a visit (the job is cancelled with a `self_service:`
/// reason and the article noted).
#[utoipa::path(post, path = "/admin/v1/jobs/{id}/self-service", tag = "jobs", params(("id" = JobId, Path, description = "the job")),
    request_body = SelfService, responses((status = 200, body = SelfServiced)))]
pub async fn answer_self_service(
    State(state): State<AppState>,
    who: DispatcherAuth,
    Path(id): Path<String>,
    AppJson(body): AppJson<SelfService>,
) -> AppResult<AppJson<SelfServiced>> {
    let job = parse_job(&id)?;
    let kb = knowledge_base(&state).await?.ok_or_else(|| AppError::Conflict("no knowledge base is published".into()))?;
    let a = kb
        .articles
        .into_iter()
        .find(|a| a.id == body.article_id && a.self_service)
        .ok_or_else(|| AppError::NotFound(format!("no self-service article {:?}", body.article_id)))?;
    let note = format!("自助解决 Self-service: {} / {} — {} / {}", a.title_zh, a.title_en, a.fix_zh, a.fix_en);
    crate::jobs::dispatch_edit(&state, job, &who.name, DispatchEdit::AddNote { text: note }).await?;
    let index =
        crate::jobs::dispatch_edit(&state, job, &who.name, DispatchEdit::Cancel { reason: format!("{SELF_SERVICE_PREFIX}{}", a.id) })
            .await?;
    Ok(AppJson(SelfServiced { job_id: job, status: index.status, article: a.id }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct KpiQuery {
    /// Jobs created at or after (ISO 8601 with zone).
    pub from: Timestamp,
    /// Jobs created before.
    pub to: Timestamp,
    /// Also per group.
    pub group_by: Option<KpiGroup>,
}

#[derive(Clone, Copy, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KpiGroup {
    Technician,
    Category,
    BrandModel,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct KpiReport {
    pub from: Timestamp,
    pub to: Timestamp,
    pub overall: Kpis,
    pub groups: std::collections::BTreeMap<String, Kpis>,
}

/// KPIs over the jobs created in a period, overall and per group.
#[utoipa::path(get, path = "/admin/v1/kpis", tag = "reports", params(KpiQuery), responses((status = 200, body = KpiReport)))]
pub async fn kpis(
    State(state): State<AppState>,
    _who: ViewerAuth,
    q: Result<Query<KpiQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<AppJson<KpiReport>> {
    let Query(q) = q.map_err(|e| AppError::BadRequest(e.body_text()))?;
    Ok(AppJson(kpi_report(&state, q.from, q.to, q.group_by).await?))
}

/// The KPIs of a period, overall and grouped as asked (technicians by id).
pub async fn kpi_report(state: &AppState, from: Timestamp, to: Timestamp, group_by: Option<KpiGroup>) -> AppResult<KpiReport> {
    if from >= to {
        return Err(AppError::Unprocessable("from must be before to".into()));
    }
    let key = match group_by {
        None => KpiKey::All,
        Some(KpiGroup::Technician) => KpiKey::Technician,
        Some(KpiGroup::Category) => KpiKey::Category,
        Some(KpiGroup::BrandModel) => KpiKey::BrandModel,
    };
    let (overall, mut groups) = kpi::report(state.store.as_ref(), from, to, key).await?;
    if let Some(none) = groups.remove("").filter(|_| key == KpiKey::Technician) {
        groups.insert("(unassigned)".into(), none);
    }
    Ok(KpiReport { from, to, overall, groups })
}

/// The same KPIs as a spreadsheet: one row for the whole period, then one per group.
#[utoipa::path(get, path = "/admin/v1/kpis.csv", tag = "reports", params(KpiQuery),
    responses((status = 200, description = "one row overall, then one per group (technicians by name)", content_type = "text/csv", body = String)))]
pub async fn kpis_csv(
    State(state): State<AppState>,
    _who: ViewerAuth,
    q: Result<Query<KpiQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Response> {
    let Query(q) = q.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let report = kpi_report(&state, q.from, q.to, q.group_by).await?;
    let names: std::collections::HashMap<String, String> = match q.group_by {
        Some(KpiGroup::Technician) => state.store.technicians().await?.into_iter().map(|t| (t.id.to_string(), t.name)).collect(),
        _ => Default::default(),
    };
    let body = kpi::to_csv(&report.overall, report.groups.iter().map(|(k, v)| (names.get(k).unwrap_or(k).as_str(), v)))
        .map_err(|e| AppError::Internal(e.into()))?;
    let file = format!("onsite-kpis-{}-{}.csv", &q.from.to_rfc3339()[..10], &q.to.to_rfc3339()[..10]);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}\"")),
        ],
        body,
    )
        .into_response())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn money(minor: i64, currency: &str) -> String {
    shared::money::Money { minor, currency: currency.to_owned() }.to_string()
}

/// The service report as a page: work, charges, signatures shown valid or void.
#[utoipa::path(get, path = "/admin/v1/jobs/{id}/report.html", tag = "jobs", params(("id" = JobId, Path, description = "the job")),
    responses((status = 200, description = "the report", content_type = "text/html", body = String)))]
pub async fn report(State(state): State<AppState>, _who: ViewerAuth, Path(id): Path<String>) -> AppResult<Response> {
    let job = parse_job(&id)?;
    let (d, f) = state.store.load_job(job).await?.ok_or_else(|| AppError::NotFound(format!("no job {job}")))?;
    let (d, f) = (read_dispatch(&d)?, read_field(&f)?);
    let derived = shared::status::derive(&d, &f);
    let cur = &f.quote.currency;
    let mut lines = String::new();
    for l in &f.quote.lines {
        let amount = line_amount(l).map(|a| money(a, cur)).unwrap_or_else(|e| e.to_string());
        lines.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{amount}</td></tr>",
            esc(&l.code),
            esc(&l.description),
            l.quantity,
            money(l.unit_price_minor, cur)
        ));
    }
    let totals_html = match totals(&f.quote) {
        Ok(t) => format!(
            "<p>小计 Subtotal {} · 折扣 Discount {} · 税 Tax {} · <b>合计 Total {}</b></p>",
            money(t.subtotal_minor, cur),
            money(t.discount_minor, cur),
            money(t.tax_minor, cur),
            money(t.total_minor, cur)
        ),
        Err(e) => format!("<p class=bad>quote cannot be priced: {}</p>", esc(&e.to_string())),
    };
    let mut sigs = String::new();
    for purpose in [SignaturePurpose::QuoteApproval, SignaturePurpose::Completion] {
        let label = match purpose {
            SignaturePurpose::QuoteApproval => "报价确认 Quote approval",
            SignaturePurpose::Completion => "完工确认 Completion",
        };
        let (verdict, class) = match check(purpose, &d, &f) {
            ApprovalCheck::Valid { signer } => (format!("✔ valid — signed by {}", esc(&signer)), "ok"),
            ApprovalCheck::Voided { signer, .. } => (format!("✘ VOID — the content changed after {} signed", esc(&signer)), "bad"),
            ApprovalCheck::Unsigned => ("— not signed".to_owned(), "none"),
        };
        let svg = shared::approval::latest_signature(&f, purpose)
            .and_then(|s| Strokes::decode(&s.strokes).ok())
            .map(|s| s.to_svg(300, 100))
            .unwrap_or_default();
        sigs.push_str(&format!("<div class=sig><h3>{label}</h3><p class={class}>{verdict}</p>{svg}</div>"));
    }
    let a = &d.appliance;
    let html = format!(
        r#"<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>Service report {job}</title>
<style>body{{font-family:sans-serif;max-width:50rem;margin:2rem auto}}table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:.3rem}}.n{{text-align:right}}.ok{{color:#060}}.bad{{color:#b00;font-weight:bold}}</style></head>
<body><h1>维修服务报告 Service report</h1>
<p>Job {job} · 状态 Status: {status}</p>
<h2>客户 Customer</h2><p>{cname} · {phone}<br>{addr}</p>
<h2>设备 Appliance</h2><p>{cat} · {brand} {model} · SN {serial}</p>
<h2>故障 Problem</h2><p>{problem}</p>
<h2>维修 Repair</h2><p>原因 Cause: {cause}<br>方法 Method: {method}<br>保修 Warranty: {days} days</p>
<h2>费用 Charges</h2><table><tr><th>Code</th><th>Item</th><th>Qty</th><th>Unit</th><th>Amount</th></tr>{lines}</table>{totals_html}
<h2>签名 Signatures</h2>{sigs}
<p>评分 Rating: {rating}</p></body></html>"#,
        status = derived.status.as_str(),
        cname = esc(&d.customer.name),
        phone = esc(&d.customer.phone),
        addr = esc(&d.customer.address),
        cat = a.category.as_str(),
        brand = esc(&a.brand),
        model = esc(&a.model),
        serial = esc(&a.serial),
        problem = esc(&d.problem),
        cause = esc(&f.report.cause),
        method = esc(&f.report.method),
        days = f.report.warranty_days,
        rating = f.rating.score.map_or("—".to_owned(), |s| format!("{s}/5 {}", esc(&f.rating.comment))),
    );
    Ok(Html(html).into_response())
}

/// How long one event stream lasts before the client must reconnect (and authenticate again).
pub const EVENT_STREAM_MAX: Duration = Duration::from_secs(5 * 60);

/// One event of the live stream: the job's row as the job list shows it, after the change
/// (absent when the job is gone), so a board updates without fetching the job.
#[derive(Serialize, utoipa::ToSchema)]
pub struct JobEvent {
    pub job_id: JobId,
    pub job: Option<JobIndex>,
}

/// Live job changes as server-sent events: `job` (a [`JobEvent`]) per change; `lagged`
/// (`{"missed": n}`, `n` null when unknown) when this client fell behind and should reload.
#[utoipa::path(get, path = "/admin/v1/events", tag = "reports",
    responses((status = 200, description = "an endless `text/event-stream`; each `job` event's data is a JobEvent", content_type = "text/event-stream", body = JobEvent)))]
pub async fn events(State(state): State<AppState>, _who: ViewerAuth) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.events.subscribe();
    let stream = futures_util::stream::unfold((rx, state), |(mut rx, state)| async move {
        match rx.recv().await {
            // Another instance's changes may have been missed (its feed reconnected).
            Ok(JobChange::Lagged) => {
                let ev = Event::default().event("lagged").data(json!({ "missed": null }).to_string());
                Some((Ok(ev), (rx, state)))
            }
            Ok(JobChange::Changed(job)) => match state.store.job_row(job).await {
                Ok(row) => {
                    let data = serde_json::to_string(&JobEvent { job_id: job, job: row }).unwrap_or_default();
                    Some((Ok(Event::default().event("job").data(data)), (rx, state)))
                }
                // Not "the job is gone": tell the client to reload instead.
                Err(_) => Some((Ok(Event::default().event("lagged").data(json!({ "missed": 1 }).to_string())), (rx, state))),
            },
            // A slow console missed some: tell it to reload rather than pretend.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                let ev = Event::default().event("lagged").data(json!({ "missed": n }).to_string());
                Some((Ok(ev), (rx, state)))
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => None,
        }
    });
    // Credentials are checked when the stream opens; it ends after a while so a revoked token or
    // an expired session stops receiving (an EventSource reconnects, and is checked again).
    let stream = futures_util::StreamExt::take_until(stream, tokio::time::sleep(EVENT_STREAM_MAX));
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
