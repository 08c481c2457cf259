//! One job beside the board: assign from the ranked suggestions, reschedule, unassign or
//! cancel, the timeline with conflicts flagged, and the service report.

use std::collections::HashMap;

use dioxus::prelude::*;
use shared::approval::{ApprovalCheck, check};
use shared::edit::{DispatchEdit, DispatchFields};
use shared::i18n::{Lang, action_label, dispatch_action_label, photo_kind_label, priority_label, status_label};
use shared::model::{Customer, DispatchDoc, Photo, Priority, SignaturePurpose, Window};
use shared::status::{Action, Derived, Status, TimelineEntry};
use shared::{ItemId, JobId, TechnicianId, Timestamp};

use super::Console;
use crate::accounts::Role;
use crate::ranking::Suggestion;

/// The office's zone until accounts carry their own: Beijing time.
pub const OFFICE_OFFSET_MIN: i32 = 480;

/// A `datetime-local` value (office wall time) as an instant.
pub fn parse_local(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let with_seconds = if s.len() == 16 { format!("{s}:00") } else { s.to_owned() };
    Timestamp::parse_rfc3339(&format!("{with_seconds}+08:00"))
}

/// What the panel shows of a job beyond its row.
struct Detail {
    d: DispatchDoc,
    derived: Derived,
    /// Who did each step of the timeline.
    by: HashMap<ItemId, String>,
    photos: Vec<Photo>,
    signatures: [(SignaturePurpose, ApprovalCheck); 2],
}

#[component]
pub fn JobPanel(lang: Signal<Lang>, job: JobId, message: Signal<Vec<String>>) -> Element {
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
            let derived = shared::status::derive(&d, &f);
            let names: HashMap<TechnicianId, String> =
                ctx.state.store.technicians().await.ok()?.into_iter().map(|t| (t.id, t.name)).collect();
            // Who did each step: the dispatcher's name on their events, the technician's on theirs.
            let by: HashMap<ItemId, String> = derived
                .timeline
                .iter()
                .filter_map(|e| match &e.action {
                    Action::Field { by, .. } => Some((e.id, names.get(by).cloned().unwrap_or_else(|| by.to_string()))),
                    Action::Dispatch(_) => d.events.iter().find(|x| x.id == e.id).map(|x| (e.id, x.by.clone())),
                })
                .collect();
            let signatures = [SignaturePurpose::QuoteApproval, SignaturePurpose::Completion].map(|p| (p, check(p, &d, &f)));
            Some(Detail { photos: f.photos.clone(), d, derived, by, signatures })
        }
    });
    // A finished job takes no assignment or edit; its panel is its record.
    let open = !matches!(
        detail.read().as_ref().and_then(|d| d.as_ref()).map(|d| d.derived.status),
        Some(Status::Completed | Status::Closed | Status::Cancelled)
    );
    let can_change = ctx.can_dispatch() && open;
    let l = lang();
    let mut new_start = use_signal(String::new);
    let mut hours = use_signal(|| "2".to_owned());
    let mut reason = use_signal(String::new);

    // Every change goes through the same service as the API and leaves the same audit entry.
    let act_ctx = ctx.clone();
    let act = move |edit: DispatchEdit, warnings: Vec<String>| {
        let ctx = act_ctx.clone();
        spawn(async move {
            let actor = match ctx.require(Role::Dispatcher).await {
                Ok(a) => a,
                Err(e) => return message.set(vec![e]),
            };
            let name = edit.name();
            // What was done, not the free text (a reason can name the customer; the audit log
            // keeps no personal data).
            let detail = match &edit {
                DispatchEdit::Assign { technician } => serde_json::json!({ "job": job, "technician": technician }),
                DispatchEdit::Reschedule { window } => serde_json::json!({ "job": job, "window": window }),
                _ => serde_json::json!({ "job": job }),
            };
            if let DispatchEdit::Assign { technician } = &edit
                && let Err(e) = crate::admin::assignable(&ctx.state, *technician).await
            {
                return message.set(vec![e.to_string()]);
            }
            let done = crate::jobs::dispatch_edit(&ctx.state, job, &actor.name, edit).await;
            if done.is_ok() {
                ctx.audit(name, detail).await;
            }
            message.set(match done {
                Ok(_) => warnings,
                Err(e) => vec![e.to_string()],
            });
        });
    };
    let assign_act = act.clone();
    let warn_ctx = ctx.clone();
    let assign = move |tech: TechnicianId| {
        let ctx = warn_ctx.clone();
        let act = assign_act.clone();
        spawn(async move {
            let warnings = crate::admin::views::assignment_warnings(&ctx.state, job, tech).await.unwrap_or_default();
            act(DispatchEdit::Assign { technician: tech }, warnings);
        });
    };
    let reschedule_act = act.clone();
    let reschedule = move |_| {
        let Some(start) = parse_local(&new_start.read()) else {
            message.set(vec![l.t("请选择新的预约时间", "Pick the new appointment time").to_owned()]);
            return;
        };
        let Some(h) = hours.read().trim().parse::<i64>().ok().filter(|h| (1..=12).contains(h)) else {
            message.set(vec![l.t("时长为 1 到 12 小时", "The window is 1 to 12 hours").to_owned()]);
            return;
        };
        reschedule_act(DispatchEdit::Reschedule { window: Window { start, end: start.plus_minutes(h * 60) } }, Vec::new());
    };
    let cancel_act = act.clone();
    let cancel = move |_| {
        let r = reason.read().trim().to_owned();
        if r.is_empty() {
            message.set(vec![l.t("取消需要填写原因", "A cancellation needs a reason").to_owned()]);
            return;
        }
        cancel_act(DispatchEdit::Cancel { reason: r }, Vec::new());
    };
    let unassign_act = act.clone();
    let edit_act = act.clone();

    rsx! {
        aside { class: "panel", "data-testid": "job-panel",
            h2 { {l.t("工单", "Job")} " " code { "{job}" } }
            a { href: "/admin/v1/jobs/{job}/report.html", target: "_blank", "data-testid": "report-link", {l.t("服务报告", "Service report")} }
            for w in message.read().iter() {
                p { class: "warning", "data-testid": "warning", "{w}" }
            }
            if let Some(Some(Detail { d, derived, photos, signatures, .. })) = &*detail.read() {
                p { "data-testid": "panel-customer", "{d.customer.name} · {d.customer.phone} · {d.customer.address}" }
                p { "{d.problem}" }
                if let Some(w) = d.appointment {
                    p { {l.t("预约：", "Appointment: ")} "{w.start.in_zone(OFFICE_OFFSET_MIN)} – {w.end.in_zone(OFFICE_OFFSET_MIN)}" }
                }
                p { {l.t("状态：", "Status: ")} strong { "data-testid": "panel-status", {status_label(l, derived.status)} } }
                div { class: "signatures", "data-testid": "signatures",
                    for (purpose, verdict) in signatures.iter() {
                        p { class: match verdict { ApprovalCheck::Valid { .. } => "ok", ApprovalCheck::Voided { .. } => "error", ApprovalCheck::Unsigned => "muted" },
                            match purpose { SignaturePurpose::QuoteApproval => l.t("报价签字：", "Quote signature: "), SignaturePurpose::Completion => l.t("完工签字：", "Completion signature: ") }
                            match verdict {
                                ApprovalCheck::Valid { signer } => rsx! { "✔ " {l.t("有效", "valid")} " — {signer}" },
                                ApprovalCheck::Voided { signer, .. } => rsx! { "✘ " {l.t("作废：签字后内容有改动，需要重新签字", "VOID: the content changed after signing; a new signature is needed")} " — {signer}" },
                                ApprovalCheck::Unsigned => rsx! { {l.t("未签", "not signed")} },
                            }
                        }
                    }
                }
                if !photos.is_empty() {
                    div { class: "photos", "data-testid": "photos",
                        for p in photos.iter() {
                            a { key: "{p.id}", href: "/admin/v1/blobs/{p.blob}", target: "_blank",
                                img { src: "/admin/v1/blobs/{p.thumbnail}", alt: photo_kind_label(l, p.kind), title: photo_kind_label(l, p.kind), loading: "lazy" }
                            }
                        }
                    }
                }
                if !derived.conflicts.is_empty() {
                    div { class: "warning", "data-testid": "conflicts",
                        strong { {l.t("冲突", "Conflicts")} " ({derived.conflicts.len()})" }
                        p { {l.t("这些记录已保存但未改变状态：请联系技师确认现场情况，再重新派单或关闭。",
                            "These were kept but did not change the status: call the technician to confirm what happened on site, then reassign or close.")} }
                        ul { for c in derived.conflicts.iter() { li { "{c.at.in_zone(OFFICE_OFFSET_MIN)} · {c.rejection}" } } }
                    }
                }
            }
            if let (true, Some(Some(Detail { d, .. }))) = (can_change, &*detail.read()) {
                details { "data-testid": "edit-fields",
                    summary { {l.t("修改工单信息", "Edit the job")} }
                    EditFields { lang, customer: d.customer.clone(), problem: d.problem.clone(), priority: d.priority,
                        on_save: move |fields: DispatchFields| edit_act(DispatchEdit::Update { fields: Box::new(fields) }, Vec::new()) }
                }
            }
            if can_change {
                details { "data-testid": "edit-job",
                    summary { {l.t("改约 / 取消", "Reschedule / cancel")} }
                    div { class: "edit",
                        label { {l.t("新预约（北京时间）", "New appointment (Beijing time)")}
                            input { r#type: "datetime-local", "data-testid": "reschedule-start", value: "{new_start}", oninput: move |e| new_start.set(e.value()) } }
                        label { {l.t("时长（小时）", "Hours")}
                            input { r#type: "number", min: "1", max: "12", value: "{hours}", oninput: move |e| hours.set(e.value()) } }
                        button { "data-testid": "reschedule", onclick: reschedule, {l.t("改约", "Reschedule")} }
                        button { "data-testid": "unassign", onclick: move |_| unassign_act(DispatchEdit::Unassign, Vec::new()), {l.t("撤回派单", "Unassign")} }
                        label { {l.t("取消原因", "Reason to cancel")}
                            input { "data-testid": "cancel-reason", value: "{reason}", oninput: move |e| reason.set(e.value()) } }
                        button { class: "danger", "data-testid": "cancel-job", onclick: cancel, {l.t("取消工单", "Cancel job")} }
                    }
                }
            }
            if open {
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
            }
            h3 { {l.t("时间线", "Timeline")} }
            match &*detail.read() {
                Some(Some(Detail { derived, by, .. })) => rsx! {
                    ul { class: "timeline", "data-testid": "timeline",
                        for e in derived.timeline.iter() { TimelineRow { lang, e: e.clone(), by: by.get(&e.id).cloned().unwrap_or_default() } }
                    }
                },
                _ => rsx! { p { "…" } },
            }
        }
    }
}

/// The customer, the problem and the priority, corrected in place (the same checks as the API's
/// update: a blank name or an over-long text is refused with the reason).
#[component]
fn EditFields(
    lang: Signal<Lang>,
    customer: Customer,
    problem: String,
    priority: Priority,
    on_save: EventHandler<DispatchFields>,
) -> Element {
    let l = lang();
    let mut name = use_signal(|| customer.name.clone());
    let mut phone = use_signal(|| customer.phone.clone());
    let mut address = use_signal(|| customer.address.clone());
    let mut text = use_signal(|| problem.clone());
    let mut prio = use_signal(|| priority.rank().to_string());
    let save = move |e: FormEvent| {
        e.prevent_default();
        let customer = Customer {
            name: name.read().trim().to_owned(),
            phone: phone.read().trim().to_owned(),
            address: address.read().trim().to_owned(),
            location: customer.location,
        };
        on_save.call(DispatchFields {
            priority: prio.read().parse().ok().and_then(Priority::from_rank),
            customer: Some(customer),
            appliance: None,
            problem: Some(text.read().trim().to_owned()),
            sla: None,
        });
    };
    rsx! {
        form { class: "edit", onsubmit: save,
            label { {l.t("客户姓名", "Customer name")} input { "data-testid": "edit-name", value: "{name}", oninput: move |e| name.set(e.value()) } }
            label { {l.t("电话", "Phone")} input { "data-testid": "edit-phone", value: "{phone}", oninput: move |e| phone.set(e.value()) } }
            label { {l.t("地址", "Address")} input { "data-testid": "edit-address", value: "{address}", oninput: move |e| address.set(e.value()) } }
            label { {l.t("故障描述", "Problem")} textarea { "data-testid": "edit-problem", value: "{text}", oninput: move |e| text.set(e.value()) } }
            label { {l.t("优先级", "Priority")}
                select { "data-testid": "edit-priority", value: "{prio}", onchange: move |e| prio.set(e.value()),
                    for p in Priority::ALL { option { value: "{p.rank()}", selected: p == priority, {priority_label(l, p)} } }
                }
            }
            button { r#type: "submit", "data-testid": "edit-save", {l.t("保存修改", "Save changes")} }
        }
    }
}

#[component]
fn TimelineRow(lang: Signal<Lang>, e: TimelineEntry, by: String) -> Element {
    let l = lang();
    let what = match &e.action {
        Action::Dispatch(a) => dispatch_action_label(l, a),
        Action::Field { action, .. } => action_label(l, *action),
    };
    rsx! {
        li { class: if e.conflict.is_some() { "conflict" } else { "" },
            "{e.at.in_zone(OFFICE_OFFSET_MIN)} · {by} · {what} → {status_label(l, e.status)}"
            if let Some(r) = &e.conflict { " ⚠ {r}" }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_time_is_office_time() {
        assert_eq!(parse_local("2026-12-04T09:30"), Timestamp::parse_rfc3339("2026-12-04T01:30:00Z"));
        assert_eq!(parse_local("not a time"), None);
    }
}
