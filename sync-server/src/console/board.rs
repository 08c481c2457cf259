//! The console's screens: the live job board, a job's panel (assign from suggestions), a new
//! job form. Each works with the same services as the API and writes the same audit entries.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use dioxus::prelude::*;
use shared::edit::DispatchEdit;
use shared::model::{Appliance, Category, Channel, Customer, Priority, Window};
use shared::status::Status;
use shared::{JobId, TechnicianId, Timestamp};

use super::Console;
use crate::accounts::Role;
use crate::ranking::Suggestion;
use crate::store::{JobIndex, JobQuery};

/// The language the tab shows (both are always available).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    Zh,
    En,
}

impl Lang {
    fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        if self == Lang::Zh { zh } else { en }
    }
}

const OPEN: &str = "new,assigned,accepted,en_route,on_site,in_progress,on_hold";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Board,
    NewJob,
}

#[component]
pub fn ConsoleApp() -> Element {
    let ctx = use_context::<Console>();
    let lang = use_signal(|| Lang::Zh);
    let mut tab = use_signal(|| Tab::Board);
    let selected = use_signal(|| None::<JobId>);
    let mut l = lang;
    let who = format!("{} ({})", ctx.actor.name, ctx.actor.role);
    // The session is checked again every minute: a logout, expiry or disabled account ends the tab.
    let mut ended = use_signal(|| false);
    let check = ctx.clone();
    use_future(move || {
        let ctx = check.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                if !ctx.still_valid().await {
                    ended.set(true);
                    break;
                }
            }
        }
    });
    if ended() {
        return rsx! {
            main { p { "data-testid": "session-ended", "会话已结束，请重新登录 / Your session ended: " a { href: "/console", "log in again" } } }
        };
    }
    rsx! {
        header {
            strong { "OnSite" }
            nav {
                button { class: if tab() == Tab::Board { "on" } else { "" }, "data-testid": "tab-board", onclick: move |_| tab.set(Tab::Board), {lang().t("工单看板", "Job board")} }
                if ctx.actor.role >= Role::Dispatcher {
                    button { class: if tab() == Tab::NewJob { "on" } else { "" }, "data-testid": "tab-new-job", onclick: move |_| tab.set(Tab::NewJob), {lang().t("新建工单", "New job")} }
                }
                a { href: "/api-docs", target: "_blank", {lang().t("接口", "API")} }
            }
            span { class: "who", "{who}" }
            button { "data-testid": "lang", onclick: move |_| l.set(if lang() == Lang::Zh { Lang::En } else { Lang::Zh }), {lang().t("English", "中文")} }
        }
        main {
            match tab() {
                Tab::Board => rsx! { Board { lang, selected } },
                Tab::NewJob => rsx! { NewJobForm { lang, on_created: move |id| { let mut s = selected; s.set(Some(id)); tab.set(Tab::Board); } } },
            }
        }
    }
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

#[component]
fn Board(lang: Signal<Lang>, selected: Signal<Option<JobId>>) -> Element {
    let ctx = use_context::<Console>();
    let mut jobs = use_signal(BTreeMap::<JobId, JobIndex>::new);
    let mut names = use_signal(HashMap::<TechnicianId, String>::new);
    let mut now = use_signal(Timestamp::now);
    let mut live = use_signal(|| false);
    // What the last assignment from the panel said (kept while the panel reloads for the change).
    let message = use_signal(Vec::<String>::new);

    // Load, then follow the event stream: each event carries the job's new row.
    let feed = ctx.clone();
    use_future(move || {
        let ctx = feed.clone();
        async move {
            let mut rx = ctx.state.events.subscribe();
            let q = JobQuery { status: Some(OPEN.into()), limit: Some(crate::admin::PAGE_MAX), ..JobQuery::default() };
            if let Ok(rows) = ctx.state.store.list_jobs(&q, Timestamp::now()).await {
                jobs.set(rows.into_iter().map(|r| (r.job, r)).collect());
            }
            if let Ok(techs) = ctx.state.store.technicians().await {
                names.set(techs.into_iter().map(|t| (t.id, t.name)).collect());
            }
            live.set(true);
            loop {
                match rx.recv().await {
                    Ok(job) => match ctx.state.store.job_row(job).await {
                        Ok(Some(row)) => {
                            jobs.write().insert(job, row);
                        }
                        _ => {
                            jobs.write().remove(&job);
                        }
                    },
                    // Fell behind: reload everything rather than show a stale board.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        if let Ok(rows) = ctx.state.store.list_jobs(&q, Timestamp::now()).await {
                            jobs.set(rows.into_iter().map(|r| (r.job, r)).collect());
                        }
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

    let lang_v = lang();
    let t_now = now();
    let all = jobs.read();
    let queue: Vec<&JobIndex> = all.values().filter(|j| j.assignee.is_none() && j.status == Status::New).collect();
    let mut by_status: BTreeMap<&'static str, Vec<&JobIndex>> = BTreeMap::new();
    for j in all.values().filter(|j| j.assignee.is_some() || j.status != Status::New) {
        by_status.entry(j.status.as_str()).or_default().push(j);
    }
    let names_r = names.read();
    let row = |j: &JobIndex| {
        let finished = matches!(j.status, Status::Completed | Status::Closed | Status::Cancelled);
        let (sla, class) = if finished { ("—".to_owned(), "sla-none") } else { countdown(j.arrive_by, t_now) };
        let id = j.job;
        let who = j.assignee.and_then(|t| names_r.get(&t).cloned()).unwrap_or_else(|| lang_v.t("未派", "unassigned").to_owned());
        let appt = j.appt_start.map(|s| s.in_zone(480)).unwrap_or_default();
        rsx! {
            tr { key: "{id}", "data-testid": "job-row", "data-job": "{id}", "data-status": "{j.status.as_str()}",
                onclick: move |_| {
                    if selected() != Some(id) {
                        let mut m = message;
                        m.set(Vec::new());
                    }
                    selected.set(Some(id));
                },
                td { "{j.customer_name}" }
                td { "{j.category.as_str()} · {j.brand} {j.model}" }
                td { "{appt}" }
                td { class: "{class}", "data-testid": "sla", "{sla}" }
                td { "{who}" }
                td { class: "status", "{j.status.as_str()}" }
            }
        }
    };
    rsx! {
        div { class: "board",
            section { class: "lists",
                p { class: "live", "data-testid": "live", "data-live": "{live()}", if live() { {lang_v.t("● 实时更新", "● Live")} } else { {lang_v.t("载入中…", "Loading…")} } }
                h2 { {lang_v.t("待派单", "Unassigned queue")} " ({queue.len()})" }
                table { "data-testid": "queue", tbody { for j in queue.iter() { {row(j)} } } }
                for (status, list) in by_status.iter() {
                    h2 { "{status} ({list.len()})" }
                    table { "data-testid": "status-{status}", tbody { for j in list.iter() { {row(j)} } } }
                }
            }
            if let Some(id) = selected() {
                // Keyed by the job's state too: a change anywhere reloads its panel.
                JobPanel { key: "{id}-{panel_key(all.get(&id))}", lang, job: id, message }
            }
        }
    }
}

fn panel_key(row: Option<&JobIndex>) -> String {
    row.map(|r| format!("{}-{:?}-{}", r.status.as_str(), r.assignee, hex::encode(r.digest))).unwrap_or_default()
}

#[component]
fn JobPanel(lang: Signal<Lang>, job: JobId, message: Signal<Vec<String>>) -> Element {
    let ctx = use_context::<Console>();
    let mut message = message;
    let sug_ctx = ctx.clone();
    let suggestions = use_resource(move || {
        let ctx = sug_ctx.clone();
        async move { crate::admin::views::suggestions_for(&ctx.state, job).await.unwrap_or_default() }
    });
    let detail_ctx = ctx.clone();
    let detail = use_resource(move || {
        let ctx = detail_ctx.clone();
        async move {
            let (d, f) = ctx.state.store.load_job(job).await.ok().flatten()?;
            let d = shared::docs::read_dispatch(&d).ok()?;
            let f = shared::docs::read_field(&f).ok()?;
            Some(shared::status::derive(&d, &f).timeline)
        }
    });
    let can_change = ctx.actor.role >= Role::Dispatcher;
    let l = lang();
    let assign = move |tech: TechnicianId| {
        let ctx = ctx.clone();
        // The button is only drawn for dispatchers; the action checks again.
        if ctx.actor.role < Role::Dispatcher {
            return;
        }
        spawn(async move {
            let warnings = crate::admin::views::assignment_warnings(&ctx.state, job, tech).await.unwrap_or_default();
            let done = crate::jobs::dispatch_edit(&ctx.state, job, &ctx.actor.name, DispatchEdit::Assign { technician: tech }).await;
            let entry = crate::store::accounts::NewAuditEntry::internal(
                ctx.actor.login.clone(),
                "console",
                "assign",
                serde_json::json!({ "job": job, "technician": tech }),
            );
            let _ = ctx.state.audit.append_audit(entry).await;
            message.set(match done {
                Ok(_) => warnings,
                Err(e) => vec![e.to_string()],
            });
        });
    };
    rsx! {
        aside { class: "panel", "data-testid": "job-panel",
            h2 { {l.t("工单", "Job")} " " code { "{job}" } }
            a { href: "/admin/v1/jobs/{job}/report.html", target: "_blank", "data-testid": "report-link", {l.t("服务报告", "Service report")} }
            for w in message.read().iter() {
                p { class: "warning", "data-testid": "warning", "{w}" }
            }
            h3 { {l.t("推荐技师", "Suggested technicians")} }
            match &*suggestions.read() {
                None => rsx! { p { {l.t("计算中…", "Ranking…")} } },
                Some(list) => rsx! {
                    ol { class: "suggestions",
                        for s in list.iter().cloned() {
                            SuggestionRow { key: "{s.technician}", lang, s: s.clone(), can_change, on_assign: assign.clone() }
                        }
                    }
                },
            }
            h3 { {l.t("时间线", "Timeline")} }
            match &*detail.read() {
                Some(Some(timeline)) => rsx! {
                    ul { class: "timeline", "data-testid": "timeline",
                        for e in timeline.iter() {
                            li { "{e.at.in_zone(480)} · {e.status.as_str()}" }
                        }
                    }
                },
                _ => rsx! { p { "…" } },
            }
        }
    }
}

#[component]
fn SuggestionRow(lang: Signal<Lang>, s: Suggestion, can_change: bool, on_assign: EventHandler<TechnicianId>) -> Element {
    let l = lang();
    let tech = s.technician;
    let class = if s.qualified && !s.overloaded { "ok" } else { "weak" };
    let reasons = s.reasons.join(" · ");
    rsx! {
        li { class: "{class}", "data-testid": "suggestion",
            strong { "{s.name}" }
            " "
            small { "{reasons}" }
            if can_change {
                button { "data-testid": "assign", onclick: move |_| on_assign.call(tech), {l.t("派给此人", "Assign")} }
            }
        }
    }
}

#[component]
fn NewJobForm(lang: Signal<Lang>, on_created: EventHandler<JobId>) -> Element {
    let ctx = use_context::<Console>();
    let mut name = use_signal(String::new);
    let mut phone = use_signal(String::new);
    let mut address = use_signal(String::new);
    let mut category = use_signal(|| "washer".to_owned());
    let mut brand = use_signal(String::new);
    let mut model = use_signal(String::new);
    let mut problem = use_signal(String::new);
    let mut priority = use_signal(|| "normal".to_owned());
    let mut appointment = use_signal(String::new);
    let mut error = use_signal(|| None::<String>);
    let l = lang();

    let build = move || -> Result<shared::docs::NewJob, String> {
        let appointment = match appointment.read().trim() {
            "" => None,
            s => {
                // `datetime-local` gives local wall time; the office is in UTC+8 for now.
                let start = Timestamp::parse_rfc3339(&format!("{s}:00+08:00")).ok_or("appointment: not a date and time")?;
                Some(Window { start, end: start.plus_minutes(120) })
            }
        };
        let job = shared::docs::NewJob {
            channel: Channel::Phone,
            priority: Priority::ALL
                .into_iter()
                .find(|p| format!("{p:?}").eq_ignore_ascii_case(&priority.read()))
                .unwrap_or(Priority::Normal),
            customer: Customer {
                name: name.read().trim().to_owned(),
                phone: phone.read().trim().to_owned(),
                address: address.read().trim().to_owned(),
                location: None,
            },
            appliance: Appliance {
                category: Category::parse(&category.read()).unwrap_or(Category::Other),
                brand: brand.read().trim().to_owned(),
                model: model.read().trim().to_owned(),
                serial: String::new(),
                purchase_date: String::new(),
                warranty_months: 0,
            },
            problem: problem.read().trim().to_owned(),
            sla: Default::default(),
            appointment,
            currency: "CNY".into(),
        };
        job.check().map_err(|e| e.to_string())?;
        Ok(job)
    };
    // Validation as you type: the same check the API runs.
    let live_error = if name.read().is_empty() && problem.read().is_empty() { None } else { build().err() };
    let submit = move |e: FormEvent| {
        e.prevent_default();
        let ctx = ctx.clone();
        if ctx.actor.role < Role::Dispatcher {
            error.set(Some("需要调度员权限 / this needs the dispatcher role".into()));
            return;
        }
        let job = build();
        spawn(async move {
            match job {
                Err(e) => error.set(Some(e)),
                Ok(job) => match crate::jobs::create(&ctx.state, job, &ctx.actor.name).await {
                    Ok(id) => {
                        let entry = crate::store::accounts::NewAuditEntry::internal(
                            ctx.actor.login.clone(),
                            "console",
                            "create job",
                            serde_json::json!({ "job": id }),
                        );
                        let _ = ctx.state.audit.append_audit(entry).await;
                        on_created.call(id);
                    }
                    Err(e) => error.set(Some(e.to_string())),
                },
            }
        });
    };
    rsx! {
        form { class: "new-job", "data-testid": "new-job", onsubmit: submit,
            h2 { {l.t("新建工单", "New job")} }
            label { {l.t("客户姓名", "Customer name")} input { "data-testid": "customer-name", value: "{name}", oninput: move |e| name.set(e.value()) } }
            label { {l.t("电话", "Phone")} input { "data-testid": "customer-phone", value: "{phone}", oninput: move |e| phone.set(e.value()) } }
            label { {l.t("地址", "Address")} input { "data-testid": "customer-address", value: "{address}", oninput: move |e| address.set(e.value()) } }
            label { {l.t("品类", "Category")}
                select { "data-testid": "category", value: "{category}", onchange: move |e| category.set(e.value()),
                    for c in Category::ALL { option { value: "{c.as_str()}", "{c.as_str()}" } }
                }
            }
            label { {l.t("品牌", "Brand")} input { "data-testid": "brand", value: "{brand}", oninput: move |e| brand.set(e.value()) } }
            label { {l.t("型号", "Model")} input { "data-testid": "model", value: "{model}", oninput: move |e| model.set(e.value()) } }
            label { {l.t("故障描述", "Problem")} textarea { "data-testid": "problem", value: "{problem}", oninput: move |e| problem.set(e.value()) } }
            label { {l.t("优先级", "Priority")}
                select { "data-testid": "priority", value: "{priority}", onchange: move |e| priority.set(e.value()),
                    for p in ["low", "normal", "high", "urgent"] { option { value: "{p}", "{p}" } }
                }
            }
            label { {l.t("预约时间（北京时间，两小时）", "Appointment (Beijing time, two hours)")} input { r#type: "datetime-local", "data-testid": "appointment", value: "{appointment}", oninput: move |e| appointment.set(e.value()) } }
            if let Some(e) = live_error.or(error()) {
                p { class: "error", "data-testid": "form-error", "{e}" }
            }
            button { r#type: "submit", "data-testid": "create", {l.t("创建", "Create")} }
        }
    }
}
