//! The live job board: open jobs by status, the unassigned queue first, SLA risk in colour and
//! countdown, filters, and rows updated from the event channel without a reload.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use dioxus::prelude::*;
use shared::i18n::{Lang, category_label, channel_label, priority_label, status_label};
use shared::model::{Category, Channel, GeoPoint, Priority};
use shared::status::Status;
use shared::{JobId, TechnicianId, Timestamp};

use super::Console;
use super::job_panel::JobPanel;
use crate::store::{JobIndex, JobQuery};

const OPEN: &str = "new,assigned,accepted,en_route,on_site,in_progress,on_hold";

/// How many rows each of the board's reads brings (the store's page limit): the queue, today and
/// upcoming, the overdue, and today's completed.
pub const BOARD_READ_MAX: usize = crate::admin::PAGE_MAX;

/// What the dispatcher narrowed the board to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub technician: Option<TechnicianId>,
    pub category: Option<Category>,
    pub priority: Option<Priority>,
    pub channel: Option<Channel>,
    /// Centre and radius in km.
    pub area: Option<(GeoPoint, f64)>,
}

impl Filter {
    /// The store queries for what the board shows, each narrowed by this filter (the area as
    /// its bounding box): the unassigned queue (oldest first), open jobs from yesterday on, open
    /// jobs past their deadline, and what was completed today.
    pub fn queries(&self, today: Timestamp) -> [JobQuery; 4] {
        let base = JobQuery {
            status: Some(OPEN.into()),
            technician: self.technician,
            category: self.category,
            priority: self.priority,
            channel: self.channel,
            lat: self.area.map(|a| a.0.lat),
            lon: self.area.map(|a| a.0.lon),
            radius_km: self.area.map(|a| a.1),
            limit: Some(BOARD_READ_MAX),
            ..JobQuery::default()
        };
        [
            JobQuery { status: Some("new".into()), unassigned: true, ..base.clone() },
            JobQuery { from: Some(today.plus_minutes(-24 * 60)), ..base.clone() },
            JobQuery { overdue: true, ..base.clone() },
            JobQuery { status: Some("completed".into()), completed_since: Some(today), ..base },
        ]
    }

    /// Whether a row (as an event delivers it) belongs on the board: open, or completed today.
    pub fn admits(&self, j: &JobIndex, today: Timestamp) -> bool {
        let open = !matches!(j.status, Status::Completed | Status::Closed | Status::Cancelled | Status::CannotComplete);
        let done_today = j.status == Status::Completed && j.facts.completed_at.is_some_and(|t| t >= today);
        (open || done_today)
            && self.technician.is_none_or(|t| j.assignee == Some(t))
            && self.category.is_none_or(|c| j.category == c)
            && self.priority.is_none_or(|p| j.priority == p)
            && self.channel.is_none_or(|c| j.channel == c)
            && self.area.is_none_or(|(centre, km)| j.location.is_some_and(|l| l.distance_m(&centre) <= km * 1000.0))
    }
}

/// Parses "lat, lon" and a radius in km into an area.
fn parse_area(centre: &str, km: &str) -> Result<Option<(GeoPoint, f64)>, &'static str> {
    if centre.trim().is_empty() {
        return Ok(None);
    }
    let (lat, lon) = centre.split_once(',').ok_or("lat, lon")?;
    let p = GeoPoint { lat: lat.trim().parse().map_err(|_| "lat, lon")?, lon: lon.trim().parse().map_err(|_| "lat, lon")? };
    let km: f64 = km.trim().parse().map_err(|_| "km")?;
    if !p.is_valid() || !km.is_finite() || !(0.0..=20_000.0).contains(&km) {
        return Err("lat -90..90, lon -180..180, km 0..20000");
    }
    Ok(Some((p, km)))
}

/// Minutes until a deadline, as the board shows it, and the colour of its risk.
fn countdown(deadline: Option<Timestamp>, now: Timestamp) -> (String, &'static str) {
    let Some(d) = deadline else { return ("—".into(), "sla-none") };
    let min = d.minutes_since(now);
    let text = if min.abs() >= 24 * 60 {
        format!("{}d {}h", min / (24 * 60), (min % (24 * 60)) / 60)
    } else {
        format!("{}h {:02}m", min / 60, (min % 60).abs())
    };
    let class = if min < 0 {
        "sla-late"
    } else if min < 60 {
        "sla-risk"
    } else {
        "sla-ok"
    };
    (text, class)
}

/// The start of the office's day: the board keeps what was completed since.
fn today() -> Timestamp {
    Timestamp::now().start_of_local_day(super::job_panel::OFFICE_OFFSET_MIN)
}

/// The board's rows, and whether any read was cut at its limit.
async fn load(ctx: &Console, filter: &Filter) -> (BTreeMap<JobId, JobIndex>, bool) {
    let today = today();
    let mut out = BTreeMap::new();
    let mut cut = false;
    for q in filter.queries(today) {
        match ctx.state.store.list_jobs(&q, Timestamp::now()).await {
            Ok(rows) => {
                cut |= rows.len() >= BOARD_READ_MAX;
                out.extend(rows.into_iter().filter(|r| filter.admits(r, today)).map(|r| (r.job, r)));
            }
            Err(e) => tracing::warn!(error = %e, "the board could not load its jobs"),
        }
    }
    (out, cut)
}

#[component]
pub fn Board(lang: Signal<Lang>, selected: Signal<Option<JobId>>) -> Element {
    let ctx = use_context::<Console>();
    let mut jobs = use_signal(BTreeMap::<JobId, JobIndex>::new);
    let mut names = use_signal(HashMap::<TechnicianId, String>::new);
    let mut now = use_signal(Timestamp::now);
    let mut live = use_signal(|| false);
    let mut cut = use_signal(|| false);
    let mut filter = use_signal(Filter::default);
    let mut centre = use_signal(String::new);
    let mut radius = use_signal(|| "5".to_owned());
    // What the last assignment from the panel said (kept while the panel reloads for the change).
    let message = use_signal(Vec::<String>::new);

    // Load, then follow the event stream: each event names a job whose row is read again.
    // A resource, not a future: it restarts (and reloads) when the filter it reads changes.
    let feed = ctx.clone();
    let _feed = use_resource(move || {
        let ctx = feed.clone();
        let f = filter();
        async move {
            let mut rx = ctx.state.events.subscribe();
            live.set(false);
            let (rows, was_cut) = load(&ctx, &f).await;
            jobs.set(rows);
            cut.set(was_cut);
            if let Ok(techs) = ctx.state.store.technicians().await {
                names.set(techs.into_iter().map(|t| (t.id, t.name)).collect());
            }
            live.set(true);
            loop {
                match rx.recv().await {
                    Ok(crate::JobChange::Changed(job)) => match ctx.state.store.job_row(job).await {
                        Ok(Some(row)) if f.admits(&row, today()) => {
                            jobs.write().insert(job, row);
                        }
                        _ => {
                            jobs.write().remove(&job);
                        }
                    },
                    // Fell behind, or another instance's changes may have been missed: reload
                    // everything rather than show a stale board.
                    Ok(crate::JobChange::Lagged) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let (rows, was_cut) = load(&ctx, &f).await;
                        jobs.set(rows);
                        cut.set(was_cut);
                    }
                    Err(_) => break,
                }
            }
        }
    });
    use_future(move || async move {
        loop {
            tokio::time::sleep(Duration::from_secs(30)).await;
            now.set(Timestamp::now());
        }
    });

    let l = lang();
    let t_now = now();
    let all = jobs.read();
    let queue: Vec<&JobIndex> = all.values().filter(|j| j.assignee.is_none() && j.status == Status::New).collect();
    let mut by_status: BTreeMap<Status, Vec<&JobIndex>> = BTreeMap::new();
    for j in all.values().filter(|j| j.assignee.is_some() || j.status != Status::New) {
        by_status.entry(j.status).or_default().push(j);
    }
    let names_r = names.read();
    let mut tech_list: Vec<(TechnicianId, String)> = names_r.iter().map(|(k, v)| (*k, v.clone())).collect();
    tech_list.sort_by(|a, b| a.1.cmp(&b.1));
    let area_error = parse_area(&centre.read(), &radius.read()).err();
    // A new area reloads the board only once it parses and differs.
    let mut apply_area = move || {
        if let Ok(a) = parse_area(&centre.read(), &radius.read())
            && filter.read().area != a
        {
            filter.write().area = a;
        }
    };
    let row = |j: &JobIndex| {
        let who = j.assignee.and_then(|t| names_r.get(&t).cloned()).unwrap_or_else(|| l.t("未派", "unassigned").to_owned());
        rsx! {
            JobRow { key: "{j.job}", j: j.clone(), who, now: t_now, lang: l, is_selected: selected() == Some(j.job),
                on_select: move |id| {
                    if selected() != Some(id) {
                        let mut m = message;
                        m.set(Vec::new());
                    }
                    selected.set(Some(id));
                }
            }
        }
    };
    let shown = all.len();
    rsx! {
        div { class: "board",
            section { class: "lists",
                form { class: "filters", "data-testid": "filters", onsubmit: move |e| e.prevent_default(),
                    select { "data-testid": "filter-technician", "aria-label": l.t("技师", "Technician"),
                        onchange: move |e| filter.write().technician = e.value().parse().ok(),
                        option { value: "", {l.t("全部技师", "All technicians")} }
                        for (id, name) in tech_list.iter() { option { value: "{id}", "{name}" } }
                    }
                    select { "data-testid": "filter-category", "aria-label": l.t("品类", "Category"),
                        onchange: move |e| filter.write().category = Category::parse(&e.value()),
                        option { value: "", {l.t("全部品类", "All categories")} }
                        for c in Category::ALL { option { value: "{c.as_str()}", {category_label(l, c)} } }
                    }
                    select { "data-testid": "filter-priority", "aria-label": l.t("优先级", "Priority"),
                        onchange: move |e| filter.write().priority = e.value().parse().ok().and_then(Priority::from_rank),
                        option { value: "", {l.t("全部优先级", "All priorities")} }
                        for p in Priority::ALL { option { value: "{p.rank()}", {priority_label(l, p)} } }
                    }
                    select { "data-testid": "filter-channel", "aria-label": l.t("来源", "Channel"),
                        onchange: move |e| filter.write().channel = Channel::parse(&e.value()),
                        option { value: "", {l.t("全部来源", "All channels")} }
                        for c in Channel::ALL { option { value: "{c.as_str()}", {channel_label(l, c)} } }
                    }
                    input { "data-testid": "filter-centre", placeholder: l.t("区域中心 纬度, 经度", "Area centre lat, lon"), value: "{centre}",
                        oninput: move |e| { centre.set(e.value()); apply_area(); } }
                    input { "data-testid": "filter-radius", r#type: "number", min: "0", step: "0.5", value: "{radius}", "aria-label": "km",
                        oninput: move |e| { radius.set(e.value()); apply_area(); } }
                    " km"
                    if let Some(e) = area_error { span { class: "error", "{e}" } }
                }
                p { class: "live", "data-testid": "live", "data-live": "{live()}", "data-shown": "{shown}",
                    if live() { {l.t("● 实时更新", "● Live")} } else { {l.t("载入中…", "Loading…")} }
                    if cut() { span { class: "warning", "data-testid": "board-cut", {l.t(" 工单过多，每类仅显示前 500 条：请用筛选缩小范围", " more jobs than the board shows (500 of each kind): narrow with a filter")} } }
                }
                h2 { {l.t("待派单", "Unassigned queue")} " ({queue.len()})" }
                table { "data-testid": "queue", tbody { for j in queue.iter() { {row(j)} } } }
                for (status, list) in by_status.iter() {
                    h2 { "{status_label(l, *status)} ({list.len()})" }
                    table { "data-testid": "status-{status.as_str()}", tbody { for j in list.iter() { {row(j)} } } }
                }
            }
            if let Some(id) = selected() {
                // Keyed by the job's state too: a change anywhere reloads its panel.
                JobPanel { key: "{id}-{panel_key(all.get(&id))}", lang, job: id, message }
            }
        }
    }
}

/// One row: its own component, so a change to one job re-renders that row only (unchanged props
/// are skipped), which keeps an update quick on a board of a thousand rows.
#[component]
fn JobRow(j: JobIndex, who: String, now: Timestamp, lang: Lang, is_selected: bool, on_select: EventHandler<JobId>) -> Element {
    let l = lang;
    let finished = matches!(j.status, Status::Completed | Status::Closed | Status::Cancelled);
    let (sla, class) = if finished { ("—".to_owned(), "sla-none") } else { countdown(j.arrive_by, now) };
    let id = j.job;
    let appt = j.appt_start.map(|s| s.in_zone(super::job_panel::OFFICE_OFFSET_MIN)).unwrap_or_default();
    let priority = priority_label(l, j.priority);
    let prio_class = format!("prio-{}", j.priority.rank());
    rsx! {
        tr { "data-testid": "job-row", "data-job": "{id}", "data-status": "{j.status.as_str()}",
            class: if is_selected { "selected" } else { "" },
            onclick: move |_| on_select.call(id),
            td { "{j.customer_name}" }
            td { "{category_label(l, j.category)} · {j.brand} {j.model}" }
            td { class: "{prio_class}", "{priority}" }
            td { "{appt}" }
            td { class: "{class}", "data-testid": "sla", "{sla}" }
            td { "{who}" }
            td { class: "status", "{status_label(l, j.status)}" }
        }
    }
}

fn panel_key(row: Option<&JobIndex>) -> String {
    row.map(|r| format!("{}-{:?}-{}", r.status.as_str(), r.assignee, hex::encode(r.digest))).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_area_is_a_centre_and_a_radius() {
        assert_eq!(parse_area("", "5"), Ok(None));
        assert_eq!(parse_area("31.2, 121.5", "5"), Ok(Some((GeoPoint { lat: 31.2, lon: 121.5 }, 5.0))));
        assert!(parse_area("31.2", "5").is_err());
        assert!(parse_area("91, 0", "5").is_err());
        assert!(parse_area("31, 121", "-1").is_err());
        assert!(parse_area("31, 121", "NaN").is_err());
    }
}
