//! Today: the day's jobs grouped by status, ordered by appointment, with SLA countdowns,
//! distances, priority marks, an offline banner and an honest sync indicator.

use dioxus::prelude::*;
use shared::model::{GeoPoint, Priority};
use shared::status::Status;
use shared::{JobId, Timestamp};

use super::{Lang, countdown, distance_text, status_label};
use crate::store::JobSummary;
use crate::sync_client::{SyncProblem, SyncStatus};

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
                div { class: "muted", "{err}" }
            }
        }
    }
}

#[component]
pub fn TodayScreen(
    jobs: Vec<JobSummary>,
    now: Timestamp,
    here: Option<GeoPoint>,
    sync: SyncStatus,
    online: bool,
    lang: Lang,
    utc_offset_min: i32,
    on_open: EventHandler<JobId>,
    /// Set while the phone is not paired: the screen offers pairing instead of a sync state.
    on_pair: Option<EventHandler<()>>,
) -> Element {
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
        if jobs.is_empty() {
            div { class: "card", "data-testid": "empty", {lang.t("今天没有工单", "No jobs today")} }
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
        Priority::Urgent => "card prio-urgent",
        Priority::High => "card prio-high",
        _ => "card",
    };
    let when = job
        .appointment
        .map(|w| format!("{} – {}", w.start.in_zone(utc_offset_min), w.end.in_zone(utc_offset_min)[11..].to_owned()))
        .unwrap_or_else(|| lang.t("未预约", "no appointment").to_owned());
    let sla = job.resolve_by.filter(|_| job.status.is_open()).map(|d| countdown(lang, now, d));
    let distance = distance_text(here, job.location);
    let id = job.job_id;
    rsx! {
        div { class: "{prio}", "data-testid": "job-card", onclick: move |_| on_open.call(id),
            div { class: "row",
                b { "{job.customer_name}" }
                if job.priority == Priority::Urgent { span { class: "bad", {lang.t("加急", "URGENT")} } }
                if job.has_conflicts { span { class: "bad", {lang.t("⚠ 有冲突", "⚠ conflict")} } }
            }
            div { class: "muted", "{when}" }
            div { "{job.brand} {job.model} · {job.problem}" }
            div { class: "row muted",
                span { "{job.address}" }
                if let Some(d) = distance { span { "· {d}" } }
            }
            if let Some((text, late)) = sla {
                div { class: if late { "bad" } else { "muted" }, "SLA {text}" }
            }
        }
    }
}
