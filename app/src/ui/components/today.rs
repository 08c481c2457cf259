//! Today: the day's jobs grouped by status, ordered by appointment, with late and urgent jobs
//! flagged, times as a technician reads them, the days ahead one tap away, what the van lacks for
//! the day's known fixes, an offline banner and an honest sync indicator.

use dioxus::prelude::*;
use shared::model::{GeoPoint, Priority};
use shared::status::Status;
use shared::{JobId, Timestamp};

use crate::store::{JobSummary, Shortfall};
use crate::sync_client::{SyncProblem, SyncStatus};
use crate::ui::{Lang, countdown, day_word, distance_text, status_label, window_text};

/// Order of the groups on screen: what needs the technician now first.
const GROUPS: [Status; 9] = [
    Status::InProgress,
    Status::OnSite,
    Status::EnRoute,
    Status::Accepted,
    Status::Assigned,
    Status::OnHold,
    Status::CannotComplete,
    Status::Completed,
    Status::Cancelled,
];

fn problem_text(lang: Lang, p: SyncProblem) -> &'static str {
    match p {
        SyncProblem::Unreachable => {
            lang.t("连不上服务器：工作已存在手机上，联网后自动同步", "Server unreachable: your work is on the phone and syncs later")
        }
        SyncProblem::NotAccepted => lang.t(
            "服务器不再接受这台手机：请向调度索取新的配对码",
            "The server no longer accepts this phone: ask dispatch for a new pairing code",
        ),
        SyncProblem::ServerBusy => lang.t("服务器繁忙：稍后自动重试", "Server busy: it retries by itself"),
        SyncProblem::Refused => {
            lang.t("有修改被服务器拒绝（见下方说明），其余已同步", "The server refused some changes (see below); the rest synced")
        }
        SyncProblem::Other => lang.t("同步失败", "Sync failed"),
    }
}

#[component]
pub fn SyncIndicator(sync: SyncStatus, online: bool, lang: Lang, utc_offset_min: i32) -> Element {
    let state = if sync.running {
        lang.t("同步中…", "Syncing…").to_owned()
    } else if sync.is_synced() && online {
        lang.t("已同步", "Synced").to_owned()
    } else {
        format!(
            "{} {} · {} {} KB",
            lang.t("待上传", "Unsent:"),
            sync.pending_changes,
            lang.t("照片", "photos"),
            sync.pending_blob_bytes.div_ceil(1024)
        )
    };
    let last = sync.last_success.map(|t| t.in_zone(utc_offset_min)).unwrap_or_else(|| lang.t("从未", "never").to_owned());
    rsx! {
        div { class: "sync", "data-testid": "sync", "data-unsent": "{sync.pending_changes > 0 || sync.pending_blob_bytes > 0}",
            span { class: if sync.is_synced() { "ok" } else { "" }, "{state}" }
            span { class: "muted", " · {lang.t(\"上次同步\", \"last sync\")} {last}" }
            if let Some(problem) = sync.problem {
                div { class: "bad", "data-problem": "{problem:?}", {problem_text(lang, problem)} }
            }
            if let Some(err) = &sync.last_error {
                details { class: "muted", summary { {lang.t("详情", "Details")} } "{err}" }
            }
        }
    }
}

/// Whether the technician is late for the job: the arrival deadline (or the appointment's end)
/// has passed and they are not there yet.
pub fn is_late(job: &JobSummary, now: Timestamp) -> bool {
    let not_there = matches!(job.status, Status::New | Status::Assigned | Status::Accepted | Status::EnRoute);
    let arrive_by = job.arrive_by.or(job.appointment.map(|w| w.end));
    let overdue = job.resolve_by.is_some_and(|d| d < now) && job.status.is_open();
    (not_there && arrive_by.is_some_and(|d| d < now)) || overdue
}

#[component]
pub fn TodayScreen(
    jobs: Vec<JobSummary>,
    /// Parts the day's known fixes call for that the van lacks.
    #[props(default)]
    readiness: Vec<Shortfall>,
    /// Which day: 0 today, 1 tomorrow...
    #[props(default)]
    day_offset: i32,
    now: Timestamp,
    here: Option<GeoPoint>,
    sync: SyncStatus,
    online: bool,
    lang: Lang,
    utc_offset_min: i32,
    on_open: EventHandler<JobId>,
    /// Another day (offset from today).
    #[props(default)]
    on_day: Option<EventHandler<i32>>,
    /// Set while the phone is not paired: the screen offers pairing instead of a sync state.
    on_pair: Option<EventHandler<()>>,
) -> Element {
    let day = Timestamp(now.0 + i64::from(day_offset) * Timestamp::DAY);
    let day_name = match day_offset {
        0 => lang.t("今天", "Today").to_owned(),
        _ => day_word(lang, day, now, utc_offset_min),
    };
    let late = jobs.iter().filter(|j| is_late(j, now)).count();
    let urgent = jobs.iter().filter(|j| j.priority == Priority::Urgent && j.status.is_open()).count();
    rsx! {
        if let Some(pair) = on_pair {
            div { class: "card", "data-testid": "not-paired",
                div { {lang.t("这台手机还没有配对。请向调度索取配对码。", "This phone is not paired yet. Ask dispatch for a pairing code.")} }
                button { "data-testid": "go-pair", onclick: move |_| pair.call(()), {lang.t("去配对", "Pair this phone")} }
            }
        } else {
            if !online {
                div { class: "banner offline", "data-testid": "offline",
                    {lang.t("离线模式：所有操作已保存在手机上，联网后自动同步", "Offline: everything is saved on the phone and syncs when the network is back")}
                }
            }
            SyncIndicator { sync: sync.clone(), online, lang, utc_offset_min }
        }
        div { class: "day-bar", "data-testid": "day-bar",
            if let Some(go) = on_day {
                button { class: "secondary", "data-testid": "day-prev", disabled: day_offset <= 0, aria_label: lang.t("前一天", "Previous day"), onclick: move |_| go.call(day_offset - 1), "‹" }
            }
            h2 { "data-testid": "day-name", "{day_name} · {jobs.len()} {lang.t(\"单\", \"jobs\")}" }
            if let Some(go) = on_day {
                button { class: "secondary", "data-testid": "day-next", aria_label: lang.t("后一天", "Next day"), onclick: move |_| go.call(day_offset + 1), "›" }
            }
        }
        if late > 0 || urgent > 0 {
            div { class: "banner error", "data-testid": "attention",
                if late > 0 { span { "{late} {lang.t(\"单已迟到或超时\", \"late or overdue\")}" } }
                if late > 0 && urgent > 0 { " · " }
                if urgent > 0 { span { "{urgent} {lang.t(\"单加急\", \"urgent\")}" } }
            }
        }
        if !jobs.is_empty() {
            if readiness.is_empty() {
                div { class: "card ok", "data-testid": "van-ready", {lang.t("✔ 车上备件够用（按已知故障估计）", "✔ The van holds the parts the known fixes call for")} }
            } else {
                div { class: "card", "data-testid": "van-short",
                    b { {lang.t("车上可能缺的配件", "The van may lack")} }
                    for s in &readiness {
                        div { class: "bad", "data-part": "{s.part_no}",
                            if lang == Lang::Zh { "{s.name_zh}" } else { "{s.name_en}" }
                            " · {lang.t(\"需要\", \"need\")} {s.needed}, {lang.t(\"车上\", \"in van\")} {s.in_van}"
                            span { class: "muted", " ({s.for_customers.join(\", \")})" }
                        }
                    }
                }
            }
        }
        if jobs.is_empty() {
            div { class: "card", "data-testid": "empty", {lang.t("这一天没有工单", "No jobs on this day")} }
        }
        for status in GROUPS {
            if jobs.iter().any(|j| j.status == status) {
                h2 { "{status_label(lang, status)}" }
                for job in jobs.iter().filter(|j| j.status == status) {
                    JobCard { key: "{job.job_id}", job: job.clone(), now, here, lang, utc_offset_min, on_open }
                }
            }
        }
    }
}

#[component]
fn JobCard(
    job: JobSummary,
    now: Timestamp,
    here: Option<GeoPoint>,
    lang: Lang,
    utc_offset_min: i32,
    on_open: EventHandler<JobId>,
) -> Element {
    let prio = match job.priority {
        Priority::Urgent => "card job prio-urgent",
        Priority::High => "card job prio-high",
        _ => "card job",
    };
    let when =
        job.appointment.map(|w| window_text(lang, w, now, utc_offset_min)).unwrap_or_else(|| lang.t("未预约", "no appointment").to_owned());
    let sla = job.resolve_by.filter(|_| job.status.is_open()).map(|d| countdown(lang, now, d));
    let distance = distance_text(here, job.location);
    let late = is_late(&job, now);
    let id = job.job_id;
    rsx! {
        button { class: "{prio}", "data-testid": "job-card", "data-late": "{late}", onclick: move |_| on_open.call(id),
            div { class: "row",
                b { class: "when", "{when}" }
                if job.priority == Priority::Urgent { span { class: "tag urgent", {lang.t("加急", "URGENT")} } }
                if late { span { class: "tag late", "data-testid": "late", {lang.t("迟到", "LATE")} } }
                if job.has_conflicts { span { class: "tag urgent", {lang.t("⚠ 冲突", "⚠ conflict")} } }
            }
            div { b { "{job.customer_name}" } " · {job.brand} {job.model}" }
            div { class: "muted", "{job.problem}" }
            div { class: "row muted",
                span { "{job.address}" }
                if let Some(d) = distance { span { "· {d}" } }
            }
            if let Some((text, overdue)) = sla {
                div { class: if overdue { "bad" } else { "muted" }, "{lang.t(\"时限\", \"SLA\")} {text}" }
            }
        }
    }
}
