//! The step card: the one thing to do next, first on the screen, with the reason asked for right
//! where a step needs one and a confirmation before completing.

use dioxus::prelude::*;
use shared::model::{FieldAction, PhotoKind};
use shared::status::Action;

use super::parts::{FixList, PhotoButtons, QuoteBlock, ReportBlock, ScanBlock};
use super::{Drafts, JobScreenData, Step, UiAction, action_label};
use crate::platform::CHECK_IN_RADIUS_M;
use crate::ui::{Lang, distance_text, money};

/// The field actions the job's state allows its assignee now.
pub(crate) fn allowed(data: &JobScreenData) -> Vec<FieldAction> {
    let state = data.view.derived.state();
    let Some(me) = state.assignee else { return Vec::new() };
    FieldAction::ALL.into_iter().filter(|a| state.apply(&Action::Field { action: *a, by: me }).is_ok()).collect()
}

/// A status button (`data-action` names it for tests and assistive tools).
#[component]
fn ActionButton(
    action: FieldAction,
    lang: Lang,
    class: String,
    disabled: bool,
    reason: String,
    on_action: EventHandler<UiAction>,
) -> Element {
    rsx! {
        button { class, "data-action": "{shared::status::field_name(action)}", disabled,
            onclick: move |_| on_action.call(UiAction::Status { action, reason: reason.clone() }),
            "{action_label(lang, action)}"
        }
    }
}

#[component]
pub fn NextStep(data: JobScreenData, lang: Lang, drafts: Drafts, on_action: EventHandler<UiAction>) -> Element {
    let step = Step::of(&data.view, (drafts.no_charge)());
    let mut no_charge = drafts.no_charge;
    let allowed = allowed(&data);
    let can = |a: FieldAction| allowed.contains(&a);
    let d = &data.view.dispatch;
    let f = &data.view.field;
    let mut reason = use_signal(String::new);
    let mut confirming = use_signal(|| false);
    let distance_m = data.here.zip(d.customer.location).map(|(a, b)| a.distance_m(&b));
    let far = distance_m.is_none_or(|m| m > CHECK_IN_RADIUS_M);
    let maps = d.customer.location.map(|l| format!("https://uri.amap.com/marker?position={},{}", l.lon, l.lat));
    let why = reason.read().clone();
    let no_reason = why.trim().is_empty();
    let total = shared::pricing::totals(&f.quote).map(|t| money(t.total_minor, &f.quote.currency)).unwrap_or_default();
    let body = match step {
        Step::Accept => rsx! {
            div { class: "step-hint", "{d.appliance.brand} {d.appliance.model} · {d.problem}" }
            if can(FieldAction::Accept) {
                ActionButton { action: FieldAction::Accept, lang, class: "big".to_owned(), disabled: false, reason: String::new(), on_action }
            }
            if can(FieldAction::Decline) {
                details { "data-testid": "decline",
                    summary { {lang.t("不能接这单？", "Can't take this job?")} }
                    label { class: "field", span { {lang.t("拒单原因（必填）", "Why (required)")} }
                        textarea { "data-testid": "reason", rows: "2", value: "{why}", oninput: move |e| reason.set(e.value()) }
                    }
                    ActionButton { action: FieldAction::Decline, lang, class: "danger".to_owned(), disabled: no_reason, reason: why.clone(), on_action }
                }
            }
        },
        Step::Travel => rsx! {
            div { class: "step-hint", "{d.customer.address}" }
            if let Some(m) = maps { a { class: "btn secondary", href: "{m}", {lang.t("地图导航", "Open in maps")} } }
            if can(FieldAction::EnRoute) {
                ActionButton { action: FieldAction::EnRoute, lang, class: "big".to_owned(), disabled: false, reason: String::new(), on_action }
            }
        },
        Step::CheckIn => rsx! {
            if far {
                div { class: "bad", "data-testid": "far",
                    match distance_m {
                        Some(_) => format!(
                            "{} {} — {}",
                            lang.t("距客户地址", "You are"),
                            distance_text(data.here, d.customer.location).unwrap_or_default(),
                            lang.t("请说明原因", "from the address: say why")
                        ),
                        None => lang.t("无法定位：签到需说明原因", "No position: say why to check in").to_owned(),
                    }
                }
                label { class: "field", span { {lang.t("原因（必填）", "Reason (required)")} }
                    textarea { "data-testid": "reason", rows: "2", value: "{why}", oninput: move |e| reason.set(e.value()) }
                }
            } else {
                div { class: "ok", {lang.t("已在客户地址附近", "You are at the address")} }
            }
            if can(FieldAction::CheckIn) {
                ActionButton { action: FieldAction::CheckIn, lang, class: "big".to_owned(), disabled: far && no_reason, reason: why.clone(), on_action }
            }
        },
        Step::Diagnose => rsx! {
            div { class: "step-hint", {lang.t("拍下铭牌和故障，对照已知故障，然后开始维修。", "Photograph the data plate and the fault, check the known fixes, then start.")} }
            PhotoButtons { kinds: vec![PhotoKind::DataPlate, PhotoKind::Fault], lang, on_action, place: "step-".to_owned() }
            if let Some(best) = data.fixes.first() {
                FixList { fixes: vec![best.clone()], lang, on_use: None }
            }
            if can(FieldAction::Start) {
                ActionButton { action: FieldAction::Start, lang, class: "big".to_owned(), disabled: false, reason: String::new(), on_action }
            }
        },
        Step::Quote => rsx! {
            ScanBlock { data: data.clone(), lang, on_action }
            QuoteBlock { data: data.clone(), lang, drafts, on_action }
            if f.quote.lines.is_empty() {
                button { class: "secondary", "data-testid": "no-charge", onclick: move |_| no_charge.set(true),
                    {lang.t("不收费（如保修），直接填写报告", "No charge (e.g. warranty): go on to the report")}
                }
            }
        },
        Step::Report => rsx! {
            ReportBlock { data: data.clone(), lang, drafts, on_action }
        },
        Step::Complete => rsx! {
            div { class: "step-hint",
                if f.quote.lines.is_empty() {
                    {lang.t("报告已保存，不收费", "Report saved, no charge")}
                } else {
                    "{lang.t(\"报告已保存，报价已签名\", \"Report saved, quote signed\")} · {lang.t(\"合计\", \"Total\")} {total}"
                }
            }
            if can(FieldAction::Complete) {
                if confirming() {
                    div { class: "card confirm", "data-testid": "confirm-complete-question",
                        {lang.t(
                            "确认完工？完工后报价和报告不能再修改，请客户在报告上签名。",
                            "Complete the job? The quote and report can no longer change; the customer then signs the report.",
                        )}
                        div { class: "row",
                            button { class: "big", "data-testid": "confirm-complete",
                                onclick: move |_| { confirming.set(false); on_action.call(UiAction::Status { action: FieldAction::Complete, reason: String::new() }) },
                                {lang.t("确认完工", "Yes, complete")}
                            }
                            button { class: "secondary", onclick: move |_| confirming.set(false), {lang.t("取消", "Cancel")} }
                        }
                    }
                } else {
                    button { class: "big", "data-action": "complete", onclick: move |_| confirming.set(true), {action_label(lang, FieldAction::Complete)} }
                }
            }
        },
        Step::OnHold => rsx! {
            if can(FieldAction::Resume) {
                ActionButton { action: FieldAction::Resume, lang, class: "big".to_owned(), disabled: false, reason: String::new(), on_action }
            }
        },
        Step::CompletionSignature | Step::Rating | Step::Done => rsx! {
            ReportBlock { data: data.clone(), lang, drafts, on_action }
        },
        Step::Closed => rsx! {
            if let Some(last) = f.events.iter().rev().find(|e| !e.reason.is_empty()) {
                div { class: "muted", "{lang.t(\"原因\", \"Reason\")}: {last.reason}" }
            }
            // What was done and signed stays readable after the job closed.
            if !f.report.cause.trim().is_empty() {
                ReportBlock { data: data.clone(), lang, drafts, on_action }
            }
        },
    };
    // Holding for parts and giving up: away from the main button, each with its reason.
    let others: Vec<FieldAction> =
        [FieldAction::Hold, FieldAction::CannotComplete].into_iter().filter(|a| can(*a) && step != Step::Complete).collect();
    rsx! {
        div { class: "card next-step", "data-testid": "next-step", "data-step": "{step.name()}",
            h2 { {step.title(lang)} }
            {body}
            if !others.is_empty() {
                details { "data-testid": "other-actions",
                    summary { {lang.t("暂停或无法完成…", "Hold, or cannot complete…")} }
                    label { class: "field", span { {lang.t("原因（无法完成时必填）", "Reason (required to give up)")} }
                        textarea { "data-testid": "reason", rows: "2", value: "{why}", oninput: move |e| reason.set(e.value()) }
                    }
                    div { class: "row",
                        for a in others {
                            ActionButton { action: a, lang, class: if a == FieldAction::CannotComplete { "danger".to_owned() } else { "secondary".to_owned() },
                                disabled: a == FieldAction::CannotComplete && no_reason, reason: why.clone(), on_action }
                        }
                    }
                }
            }
        }
    }
}
