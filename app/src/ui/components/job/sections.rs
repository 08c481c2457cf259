//! Everything on the job that is not the next step: reachable, folded out of the way, open by
//! default only where the current step needs it (the customer before arriving, photos while
//! working).

use dioxus::prelude::*;
use shared::Timestamp;
use shared::model::WarrantyState;
use shared::status::Status;

use super::parts::{FixList, PhotoBlock, QuoteBlock, ReportBlock, ScanBlock, stamp};
use super::{Drafts, JobScreenData, Step, UiAction};
use crate::ui::{Lang, category_label, status_label};

#[component]
pub fn Sections(data: JobScreenData, lang: Lang, drafts: Drafts, on_action: EventHandler<UiAction>) -> Element {
    let v = &data.view;
    let (d, f) = (&v.dispatch, &v.field);
    let status = v.derived.status;
    let step = Step::of(v, (drafts.no_charge)());
    let working = matches!(status, Status::OnSite | Status::InProgress | Status::OnHold);
    let before_arrival = matches!(step, Step::Accept | Step::Travel | Step::CheckIn);
    let report_in_step = matches!(step, Step::Report | Step::CompletionSignature | Step::Rating | Step::Done);
    let category = d.appliance.category;
    let warranty = match d.appliance.warranty_on(data.now.0.div_euclid(Timestamp::DAY)) {
        WarrantyState::InWarranty { days_left } => {
            (format!("{} {days_left} {}", lang.t("保修期内，剩", "In warranty,"), lang.t("天", "days left")), "ok")
        }
        WarrantyState::Expired { days_ago } => {
            (format!("{} {days_ago} {}", lang.t("已过保", "Out of warranty for"), lang.t("天", "days")), "bad")
        }
        WarrantyState::Unknown => (lang.t("保修未知：请查看购买凭证", "Warranty unknown: ask for the receipt").to_owned(), "muted"),
    };
    let maps = d.customer.location.map(|l| format!("https://uri.amap.com/marker?position={},{}", l.lon, l.lat));
    let mut note = drafts.note;
    rsx! {
        details { class: "section", open: before_arrival, "data-testid": "customer-section",
            summary { {lang.t("客户与设备", "Customer and appliance")} }
            div { class: "body",
                div { b { "{d.customer.name}" } }
                if !d.customer.phone.is_empty() {
                    a { class: "btn secondary", href: "tel:{d.customer.phone.replace(' ', \"\")}", "📞 {d.customer.phone}" }
                }
                div { "{d.customer.address}" }
                if let Some(m) = maps { a { href: "{m}", {lang.t("地图导航", "Open in maps")} } }
                div { b { "{d.appliance.brand} {d.appliance.model}" } " · {category_label(lang, category)} · SN {d.appliance.serial}" }
                div { class: "{warranty.1}", "data-testid": "warranty", "{warranty.0}" }
                div { "data-testid": "problem", "{d.problem}" }
                if !d.customer_photos.is_empty() {
                    div { "data-testid": "customer-photos",
                        div { class: "muted", {lang.t("客户发来的照片", "Photos from the customer")} }
                        div { class: "thumbs",
                            for p in &d.customer_photos {
                                if let Some((_, url)) = data.thumbnails.iter().find(|(h, _)| h == p.thumbnail.as_str()) {
                                    img { src: "{url}", alt: "{p.caption}", title: "{p.caption}", onclick: { let t = p.thumbnail.to_string(); move |_| on_action.call(UiAction::ViewPhoto(Some(t.clone()))) } }
                                } else {
                                    span { class: "muted", "⏳ {p.caption} ({lang.t(\"联网后下载\", \"downloads when online\")})" }
                                }
                            }
                        }
                    }
                }
                for n in &d.notes { div { class: "muted", "📝 {n.author}: {n.text}" } }
            }
        }
        details { class: "section", open: working, "data-testid": "photos-section",
            summary { "{lang.t(\"照片\", \"Photos\")} ({f.photos.len()})" }
            div { class: "body", PhotoBlock { data: data.clone(), lang, working, on_action } }
        }
        details { class: "section", "data-testid": "fixes",
            summary { "{lang.t(\"已知故障与处理\", \"Known fixes\")} ({data.fixes.len()})" }
            div { class: "body",
                FixList { fixes: data.fixes.clone(), lang, on_use: None }
                button { class: "secondary", "data-testid": "search-kb", onclick: move |_| on_action.call(UiAction::SearchKb(category)),
                    "{lang.t(\"搜索知识库\", \"Search fixes for\")} {category_label(lang, category)}"
                }
            }
        }
        if working && step != Step::Quote {
            details { class: "section", "data-testid": "scan-section",
                summary { {lang.t("扫码配件", "Scan a part")} }
                div { class: "body", ScanBlock { data: data.clone(), lang, on_action } }
            }
        }
        if step != Step::Quote && (working || !f.quote.lines.is_empty()) {
            details { class: "section", "data-testid": "quote-section",
                summary { "{lang.t(\"报价\", \"Quote\")} ({f.quote.lines.len()})" }
                div { class: "body", QuoteBlock { data: data.clone(), lang, drafts, on_action } }
            }
        }
        if working && !report_in_step {
            details { class: "section", "data-testid": "report-section",
                summary { {lang.t("维修报告", "Service report")} }
                div { class: "body", ReportBlock { data: data.clone(), lang, drafts, on_action } }
            }
        }
        details { class: "section", "data-testid": "notes",
            summary { "{lang.t(\"备注\", \"Notes\")} ({f.notes.len()})" }
            div { class: "body",
                for n in &f.notes { div { class: "muted", "{stamp(n.at, data.utc_offset_min)} {n.author}: {n.text}" } }
                if status.is_open() {
                    label { class: "field", span { {lang.t("添加备注", "Add a note")} }
                        textarea { "data-testid": "note", rows: "2", value: "{note}", oninput: move |e| note.set(e.value()) }
                    }
                    button { class: "secondary", "data-testid": "save-note",
                        // The draft is cleared once the note is saved (by the app), not before.
                        onclick: move |_| { let n = note.read().clone(); if !n.trim().is_empty() { on_action.call(UiAction::AddNote(n)); } },
                        {lang.t("保存备注", "Save note")}
                    }
                }
            }
        }
        if !data.history.is_empty() {
            details { class: "section", "data-testid": "history",
                summary { "{lang.t(\"此设备的维修记录\", \"Earlier visits to this appliance\")} ({data.history.len()})" }
                div { class: "body",
                    for h in &data.history {
                        div { class: "muted", "{h.appointment.map(|w| stamp(w.start, data.utc_offset_min)).unwrap_or_default()} · {status_label(lang, h.status)} · {h.problem}" }
                    }
                }
            }
        }
    }
}
