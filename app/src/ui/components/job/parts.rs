//! The job screen's building blocks: the quote with its signature, the service report, photo and
//! code capture, known fixes. Each appears once on the screen: in the step card when it is the
//! next step, in its section otherwise.

use std::sync::Arc;

use dioxus::prelude::*;
use shared::approval::{ApprovalCheck, check, content_hash, latest_signature};
use shared::model::{FieldDoc, LineKind, PhotoKind, Quote, SignaturePurpose};
use shared::pricing::{line_amount, totals};
use shared::signature::Strokes;
use shared::{ItemId, Timestamp};

use super::{Drafts, JobScreenData, UiAction, photo_kind_label};
use crate::platform::{Camera, FilePicker};
use crate::store::KbHit;
use crate::ui::components::panels::KbArticleBody;
use crate::ui::components::sign::SignaturePad;
use crate::ui::{Lang, money};

/// The newest signature for `purpose`, drawn from its vector strokes, as an SVG data URL: the
/// customer sees the signature that stands on the screen they signed.
fn signature_image(field: &FieldDoc, purpose: SignaturePurpose) -> Option<String> {
    use base64::Engine;
    let strokes = Strokes::decode(&latest_signature(field, purpose)?.strokes).ok()?;
    let svg = strokes.to_svg(240, 80);
    Some(format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg)))
}

#[component]
pub fn ApprovalLine(check: ApprovalCheck, lang: Lang, drawn: Option<String>) -> Element {
    match check {
        ApprovalCheck::Unsigned => {
            rsx! { div { class: "muted", "data-testid": "approval", {lang.t("客户尚未签名", "Not signed by the customer yet")} } }
        }
        ApprovalCheck::Valid { signer } => rsx! {
            div { class: "ok", "data-testid": "approval", "✔ {signer} {lang.t(\"已签名确认\", \"signed and approved\")}" }
            if let Some(url) = drawn { img { class: "signature", "data-testid": "signature-image", src: "{url}", alt: "{signer}" } }
        },
        ApprovalCheck::Voided { signer, .. } => {
            let text = match lang {
                Lang::Zh => format!("✘ 内容已修改，{signer} 的签名作废，需要重新签名"),
                Lang::En => format!("✘ Changed after {signer}'s signature: it is void, sign again"),
            };
            rsx! { div { class: "bad", "data-testid": "approval", "{text}" } }
        }
    }
}

/// The quote's lines and its totals as the customer approves them: subtotal, discount and tax
/// appear whenever they change the total, since the signature covers them too.
#[component]
pub fn Charges(
    quote: Quote,
    lang: Lang,
    on_remove: Option<EventHandler<ItemId>>,
    on_quantity: Option<EventHandler<(ItemId, i32)>>,
) -> Element {
    let cur = quote.currency.clone();
    let t = totals(&quote);
    rsx! {
        table { "data-testid": "charges",
            for l in &quote.lines {
                tr {
                    td {
                        div { "{l.description}" }
                        div { class: "muted", "{money(l.unit_price_minor, &cur)} ×{l.quantity}" }
                        if on_remove.is_some() || on_quantity.is_some() {
                            div { class: "row line-controls",
                                if let Some(set) = on_quantity.filter(|_| l.kind != LineKind::Part) {
                                    button { class: "secondary", "data-step": "down", aria_label: lang.t("减一", "One less"), disabled: l.quantity <= 1, onclick: { let id = l.id; move |_| set.call((id, -1)) }, "−" }
                                    button { class: "secondary", "data-step": "up", aria_label: lang.t("加一", "One more"), onclick: { let id = l.id; move |_| set.call((id, 1)) }, "+" }
                                }
                                if let Some(remove) = on_remove {
                                    button { class: "secondary", "data-remove": "{l.code}", onclick: { let id = l.id; move |_| remove.call(id) }, "✕ {lang.t(\"删除\", \"Remove\")}" }
                                }
                            }
                        }
                    }
                    td { class: "n", match line_amount(l) { Ok(a) => money(a, &cur), Err(e) => e.to_string() } }
                }
            }
        }
        match t {
            Ok(t) => rsx! {
                if t.discount_minor != 0 || t.tax_minor != 0 {
                    div { class: "n", "{lang.t(\"小计\", \"Subtotal\")} {money(t.subtotal_minor, &cur)}" }
                }
                if t.discount_minor != 0 {
                    div { class: "n", "{lang.t(\"优惠\", \"Discount\")} −{money(t.discount_minor, &cur)}" }
                }
                if t.tax_minor != 0 {
                    div { class: "n", "{lang.t(\"税\", \"Tax\")} {quote.tax_rate_bp / 100}.{quote.tax_rate_bp % 100:02} % {money(t.tax_minor, &cur)}" }
                }
                div { class: "n", "data-testid": "total", b { "{lang.t(\"合计\", \"Total\")} {money(t.total_minor, &cur)}" } }
            },
            Err(e) => rsx! { div { class: "bad", "data-testid": "total", "{e}" } },
        }
    }
}

/// The quote: lines, the price list, and the customer's signature. A signed quote is locked:
/// changing it voids the signature, so the technician confirms first.
#[component]
pub fn QuoteBlock(data: JobScreenData, lang: Lang, drafts: Drafts, on_action: EventHandler<UiAction>) -> Element {
    let v = &data.view;
    let (d, f) = (&v.dispatch, &v.field);
    let finished = !v.derived.status.is_open();
    let approval = check(SignaturePurpose::QuoteApproval, d, f);
    let signed = approval.is_valid();
    let mut unlocked = use_signal(|| false);
    let editable = !finished && (!signed || unlocked());
    let shown = content_hash(SignaturePurpose::QuoteApproval, d, f).unwrap_or_default();
    let cur = f.quote.currency.clone();
    let mut signer_draft = drafts.signer;
    let signer = signer_draft().unwrap_or_else(|| d.customer.name.clone());
    rsx! {
        div { "data-testid": "quote",
            if editable {
                Charges {
                    quote: f.quote.clone(),
                    lang,
                    on_remove: move |id| on_action.call(UiAction::RemoveLine(id)),
                    on_quantity: move |(id, by)| on_action.call(UiAction::StepQuantity { id, by }),
                }
                PriceSelect { prices: data.prices.clone(), currency: cur.clone(), lines: f.quote.lines.len(), lang, on_action }
            } else {
                Charges { quote: f.quote.clone(), lang, on_remove: None, on_quantity: None }
            }
            ApprovalLine { check: approval.clone(), lang, drawn: signature_image(f, SignaturePurpose::QuoteApproval) }
            if signed && !finished && !unlocked() {
                button { class: "secondary", "data-testid": "edit-quote", onclick: move |_| unlocked.set(true),
                    {lang.t("修改报价（客户需重新签名）", "Change the quote (the customer signs again)")}
                }
            }
            if signed && unlocked() {
                div { class: "card confirm", "data-testid": "edit-quote-warning",
                    {lang.t("已签名的报价：任何修改都会使签名作废，需要客户重新签名。", "This quote is signed: any change voids the signature and the customer signs again.")}
                    button { class: "secondary", onclick: move |_| unlocked.set(false), {lang.t("不改了", "Keep it as signed")} }
                }
            }
            if !f.quote.lines.is_empty() && !signed && !finished {
                div { class: "step-hint", {lang.t("请客户核对以上项目并签名确认", "Customer: check the lines above and sign to approve")} }
                label { class: "field", span { {lang.t("签名人", "Signed by")} }
                    input { value: "{signer}", "data-testid": "signer", oninput: move |e| signer_draft.set(Some(e.value())) }
                }
                SignaturePad { lang, on_done: { let signer = signer.clone(); move |strokes: Strokes| on_action.call(UiAction::Sign { purpose: SignaturePurpose::QuoteApproval, signer: signer.clone(), strokes, shown_hash: shown.clone() }) } }
            }
        }
    }
}

/// Adds a price-list item. Keyed by the line count: a fresh select (back on its prompt) after
/// each added line.
#[component]
fn PriceSelect(
    prices: Vec<shared::reference::PriceItem>,
    currency: String,
    lines: usize,
    lang: Lang,
    on_action: EventHandler<UiAction>,
) -> Element {
    rsx! {
        select { key: "{lines}", value: "", "data-testid": "price-select", aria_label: lang.t("从价目表添加", "Add from the price list"),
            onchange: move |e| { let code = e.value(); if !code.is_empty() { on_action.call(UiAction::AddPriceLine(code)); } },
            option { value: "", {lang.t("＋ 从价目表添加", "+ Add from the price list")} }
            for p in prices.iter().filter(|p| p.kind != LineKind::Part) {
                option { value: "{p.code}", "{p.name_zh} {p.name_en} {money(p.unit_price_minor, &currency)}" }
            }
        }
    }
}

/// The service report: a form while working; once completed, everything the customer's signature
/// covers, the signature, and the rating.
#[component]
pub fn ReportBlock(data: JobScreenData, lang: Lang, drafts: Drafts, on_action: EventHandler<UiAction>) -> Element {
    let v = &data.view;
    let (d, f) = (&v.dispatch, &v.field);
    let finished = !v.derived.status.is_open();
    let draft = drafts.report;
    let (mut signer_draft, mut comment) = (drafts.signer, drafts.comment);
    let signer = signer_draft().unwrap_or_else(|| d.customer.name.clone());
    let completion = check(SignaturePurpose::Completion, d, f);
    let shown = content_hash(SignaturePurpose::Completion, d, f).unwrap_or_default();
    // What the form shows: the draft, or the stored report until the technician types.
    let report = draft().unwrap_or_else(|| f.report.clone());
    let saved = f.report == report;
    let stored = f.report.clone();
    if !finished {
        return rsx! {
            div { "data-testid": "report",
                // A known fix fills what is still empty; it never overwrites what was typed.
                FixList { fixes: data.fixes.clone(), lang, on_use: Some(EventHandler::new({ let stored = stored.clone(); move |(cause, method): (String, String)| {
                    edit_report(draft, &stored, |r| {
                        if r.cause.trim().is_empty() {
                            r.cause = cause;
                        }
                        if r.method.trim().is_empty() {
                            r.method = method;
                        }
                    });
                } })) }
                label { class: "field", span { {lang.t("故障原因", "Cause")} }
                    textarea { "data-field": "cause", rows: "3", value: "{report.cause}",
                        oninput: { let stored = stored.clone(); move |e: FormEvent| edit_report(draft, &stored, |r| r.cause = e.value()) } }
                }
                label { class: "field", span { {lang.t("维修方法", "What was done")} }
                    textarea { "data-field": "method", rows: "3", value: "{report.method}",
                        oninput: { let stored = stored.clone(); move |e: FormEvent| edit_report(draft, &stored, |r| r.method = e.value()) } }
                }
                label { class: "field", span { {lang.t("保修天数", "Warranty (days)")} }
                    input { r#type: "number", "data-field": "warranty", inputmode: "numeric", min: "0", value: "{report.warranty_days}",
                        oninput: { let stored = stored.clone(); move |e: FormEvent| edit_report(draft, &stored, |r| r.warranty_days = e.value().parse().unwrap_or(0)) } }
                }
                button { "data-testid": "save-report", class: if saved { "secondary" } else { "" },
                    onclick: { let report = report.clone(); move |_| on_action.call(UiAction::SetReport(report.clone())) },
                    if saved { {lang.t("✔ 报告已保存", "✔ Report saved")} } else { {lang.t("保存报告", "Save report")} }
                }
            }
        };
    }
    rsx! {
        div { "data-testid": "report",
            // Everything the customer's signature covers, on one card they can read.
            div { "data-testid": "report-content",
                div { "{d.customer.name} · {d.customer.address}" }
                div { "{d.appliance.brand} {d.appliance.model} · SN {d.appliance.serial}" }
                div { b { {lang.t("原因", "Cause")} } ": {f.report.cause}" }
                div { b { {lang.t("方法", "Method")} } ": {f.report.method}" }
                div { b { {lang.t("保修", "Warranty")} } ": {f.report.warranty_days} {lang.t(\"天\", \"days\")}" }
                Charges { quote: f.quote.clone(), lang, on_remove: None, on_quantity: None }
            }
            ApprovalLine { check: completion.clone(), lang, drawn: signature_image(f, SignaturePurpose::Completion) }
            if !completion.is_valid() && !f.report.cause.is_empty() {
                div { class: "step-hint", {lang.t("请客户阅读报告并签名", "Customer: read the report and sign")} }
                label { class: "field", span { {lang.t("签名人", "Signed by")} }
                    input { value: "{signer}", oninput: move |e| signer_draft.set(Some(e.value())) }
                }
                SignaturePad { lang, on_done: { let signer = signer.clone(); move |strokes: Strokes| on_action.call(UiAction::Sign { purpose: SignaturePurpose::Completion, signer: signer.clone(), strokes, shown_hash: shown.clone() }) } }
            }
            if completion.is_valid() {
                h2 { {lang.t("客户评价", "Customer rating")} }
                match f.rating.score {
                    Some(s) => rsx! { div { "data-testid": "rating", "{\"★\".repeat(s as usize)} {f.rating.comment}" } },
                    None => rsx! {
                        label { class: "field", span { {lang.t("评价（可选）", "Comment (optional)")} }
                            input { "data-field": "comment", placeholder: lang.t("评价（可选）", "Comment (optional)"), value: "{comment}", oninput: move |e| comment.set(e.value()) }
                        }
                        div { class: "row stars",
                            for s in 1..=5u8 {
                                button { "data-star": "{s}", aria_label: "{s}", onclick: move |_| on_action.call(UiAction::Rate { score: s, comment: comment.read().clone() }), "{s}★" }
                            }
                        }
                    },
                }
            }
        }
    }
}

/// Changes the report draft, starting it from the stored report on the first keystroke.
fn edit_report(
    mut draft: Signal<Option<shared::model::Report>>,
    stored: &shared::model::Report,
    change: impl FnOnce(&mut shared::model::Report),
) {
    let mut w = draft.write();
    change(w.get_or_insert_with(|| stored.clone()));
}

/// Known fixes for the job, each readable in place; `on_use` starts the report from one.
#[component]
pub fn FixList(fixes: Vec<KbHit>, lang: Lang, on_use: Option<EventHandler<(String, String)>>) -> Element {
    rsx! {
        if fixes.is_empty() {
            div { class: "muted", {lang.t("知识库里没有相似的故障", "Nothing similar in the knowledge base")} }
        }
        for h in fixes {
            details { "data-testid": "fix",
                summary { if lang == Lang::Zh { "{h.article.title_zh}" } else { "{h.article.title_en}" } }
                KbArticleBody { article: h.article.clone(), lang }
                if let Some(use_it) = on_use {
                    button { class: "secondary", "data-testid": "use-fix",
                        onclick: {
                            let pair = if lang == Lang::Zh {
                                (h.article.cause_zh.clone(), h.article.fix_zh.clone())
                            } else {
                                (h.article.cause_en.clone(), h.article.fix_en.clone())
                            };
                            move |_| use_it.call(pair.clone())
                        },
                        {lang.t("用作维修报告草稿", "Start the report from this fix")}
                    }
                }
            }
        }
    }
}

/// A localized capture button: the file input sits invisible over it, so the phone's camera (or
/// the desktop's file dialog) opens with the technician's language on the button.
#[component]
pub fn CaptureButton(pick: String, label: String, on_action: EventHandler<UiAction>, scan: bool, kind: Option<PhotoKind>) -> Element {
    let camera = try_use_context::<Arc<dyn Camera>>().unwrap_or_else(|| Arc::new(FilePicker));
    rsx! {
        label { class: "capture", "data-capture": "{pick}",
            span { if scan { "▦" } else { "📷" } }
            "{label}"
            input { r#type: "file", accept: "image/*", capture: "environment", "data-pick": "{pick}", aria_label: "{label}",
                onchange: move |e: FormEvent| { let (camera, pick) = (camera.clone(), pick.clone()); async move {
                    match camera.pictures(&e, &pick).await {
                        Ok(all) if scan => if let Some(bytes) = all.into_iter().next() { on_action.call(UiAction::Scan(bytes)) },
                        Ok(all) => for bytes in all { on_action.call(UiAction::AddPhoto { kind: kind.unwrap_or(PhotoKind::Fault), bytes }) },
                        Err(msg) => on_action.call(UiAction::Failed(msg)),
                    }
                } }
            }
        }
    }
}

/// Photo buttons for the given kinds. `place` keeps each control's `data-pick` unique on the
/// screen (the page reads the files of the control it names: two alike would read the wrong one).
#[component]
pub fn PhotoButtons(kinds: Vec<PhotoKind>, lang: Lang, on_action: EventHandler<UiAction>, #[props(default)] place: String) -> Element {
    rsx! {
        div { class: "row",
            for kind in kinds {
                CaptureButton { key: "{kind.as_str()}", pick: format!("{place}photo-{}", kind.as_str()), label: photo_kind_label(lang, kind).to_owned(), on_action, scan: false, kind: Some(kind) }
            }
        }
    }
}

/// Scanning a part's label, and what the scan matched.
#[component]
pub fn ScanBlock(data: JobScreenData, lang: Lang, on_action: EventHandler<UiAction>) -> Element {
    let cur = data.view.field.quote.currency.clone();
    rsx! {
        div { "data-testid": "scan",
            CaptureButton { pick: "scan".to_owned(), label: lang.t("扫配件条码", "Scan a part's label").to_owned(), on_action, scan: true, kind: None }
            if let Some(s) = &data.last_scan {
                match &s.part {
                    Some(p) => rsx! {
                        div { class: "card", "data-testid": "scan-result",
                            b { "{p.name_zh} {p.name_en}" } " ({p.part_no}) {money(p.price_minor, &cur)}"
                            if !s.fits { div { class: "bad", {lang.t("⚠ 与此型号不匹配", "⚠ Does not fit this model")} } }
                            if s.in_van == 0 { div { class: "bad", {lang.t("⚠ 车上无库存", "⚠ Not in the van")} } }
                            else { div { class: "muted", "{lang.t(\"车上库存\", \"In the van\")}: {s.in_van}" } }
                            button { disabled: s.in_van == 0, "data-testid": "use-part",
                                onclick: { let part_no = p.part_no.clone(); move |_| on_action.call(UiAction::UsePart { part_no: part_no.clone() }) },
                                {lang.t("加入报价并出库", "Add to quote, take from van")}
                            }
                        }
                    },
                    None => rsx! { div { class: "bad", "{lang.t(\"目录中没有此编码\", \"Code not in the catalog\")}: {s.code}" } },
                }
            }
        }
    }
}

/// The job's photos (tap for the full picture) and, while working, the buttons to add more.
#[component]
pub fn PhotoBlock(data: JobScreenData, lang: Lang, working: bool, on_action: EventHandler<UiAction>) -> Element {
    let f = &data.view.field;
    rsx! {
        div { class: "thumbs", "data-testid": "photos",
            if f.photos.is_empty() { span { class: "muted", {lang.t("还没有照片", "No photos yet")} } }
            for p in &f.photos {
                figure {
                    if let Some((_, url)) = data.thumbnails.iter().find(|(h, _)| h == p.thumbnail.as_str()) {
                        img { src: "{url}", alt: "{p.caption}", onclick: { let t = p.thumbnail.to_string(); move |_| on_action.call(UiAction::ViewPhoto(Some(t.clone()))) } }
                    } else {
                        span { class: "muted", "🖼 {p.caption} " }
                    }
                    figcaption { class: "muted", {photo_kind_label(lang, p.kind)} }
                }
            }
        }
        if working {
            PhotoButtons { kinds: PhotoKind::ALL.to_vec(), lang, on_action }
        }
    }
}

/// The local time of `t` for lists (notes, history).
pub fn stamp(t: Timestamp, utc_offset_min: i32) -> String {
    t.in_zone(utc_offset_min).get(..16).unwrap_or_default().to_owned()
}
