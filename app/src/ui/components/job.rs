//! Job detail: customer, appliance and warranty, problem, history, the actions the status
//! allows (check-in compares positions), notes, photos, part scans, the quote with the
//! customer's signature, completion and rating.

use std::sync::Arc;

use dioxus::prelude::*;
use shared::approval::{ApprovalCheck, check, content_hash, latest_signature};
use shared::model::{Category, FieldAction, FieldDoc, GeoPoint, LineKind, PhotoKind, Quote, Report, SignaturePurpose, WarrantyState};
use shared::pricing::{line_amount, totals};
use shared::reference::PriceItem;
use shared::signature::Strokes;
use shared::status::{Action, Status};
use shared::{ItemId, Timestamp};

use super::panels::KbArticleBody;
use super::sign::SignaturePad;
use crate::platform::{CHECK_IN_RADIUS_M, Camera, FilePicker};
use crate::store::{JobSummary, JobView, KbHit, ScanMatch};
use crate::ui::{Lang, category_label, distance_text, money, status_label};

/// What the technician asked for on the job screen.
#[derive(Clone, Debug, PartialEq)]
pub enum UiAction {
    Status {
        action: FieldAction,
        reason: String,
    },
    AddNote(String),
    AddPhoto {
        kind: PhotoKind,
        bytes: Vec<u8>,
    },
    Scan(Vec<u8>),
    UsePart {
        part_no: String,
    },
    /// Adds a line from the price list; the same item again counts one more.
    AddPriceLine(String),
    RemoveLine(ItemId),
    /// Hours of labour, units cleaned: quantity of a line that is not a part (parts come from
    /// scans, so the van count follows).
    SetQuantity {
        id: ItemId,
        quantity: u32,
    },
    Sign {
        purpose: SignaturePurpose,
        signer: String,
        strokes: Strokes,
        shown_hash: String,
    },
    SetReport(Report),
    Rate {
        score: u8,
        comment: String,
    },
    /// Something went wrong before an action could be built (a picked file unreadable).
    Failed(String),
    /// Open the knowledge base on this kind of appliance.
    SearchKb(Category),
    /// Show the full picture behind this thumbnail (by its hash), or close it.
    ViewPhoto(Option<String>),
    Back,
}

/// Everything the job screen shows.
#[derive(Clone, Debug, PartialEq)]
pub struct JobScreenData {
    pub view: JobView,
    pub here: Option<GeoPoint>,
    pub now: Timestamp,
    pub prices: Vec<PriceItem>,
    pub history: Vec<JobSummary>,
    /// Thumbnails as data URLs, by blob hash.
    pub thumbnails: Vec<(String, String)>,
    pub last_scan: Option<ScanMatch>,
    /// Known fixes resembling this job's appliance and problem (see `Store::fixes_for`).
    pub fixes: Vec<KbHit>,
    pub message: Option<String>,
    pub utc_offset_min: i32,
    /// The full picture the technician opened from a thumbnail.
    pub photo_view: Option<PhotoView>,
}

/// A full-size picture shown over the job screen.
#[derive(Clone, Debug, PartialEq)]
pub struct PhotoView {
    /// A `data:` URL of the JPEG.
    pub url: String,
    pub caption: String,
}

fn photo_kind_label(lang: Lang, k: PhotoKind) -> &'static str {
    match k {
        PhotoKind::DataPlate => lang.t("铭牌", "Data plate"),
        PhotoKind::Fault => lang.t("故障", "Fault"),
        PhotoKind::Before => lang.t("修前", "Before"),
        PhotoKind::After => lang.t("修后", "After"),
        PhotoKind::Part => lang.t("配件", "Part"),
    }
}

fn action_label(lang: Lang, a: FieldAction) -> &'static str {
    use FieldAction::*;
    match a {
        Accept => lang.t("接单", "Accept"),
        Decline => lang.t("拒单", "Decline"),
        EnRoute => lang.t("出发", "En route"),
        CheckIn => lang.t("到场签到", "Check in"),
        Start => lang.t("开始维修", "Start work"),
        Hold => lang.t("暂停(待料)", "Hold (parts)"),
        Resume => lang.t("继续", "Resume"),
        Complete => lang.t("完工", "Complete"),
        CannotComplete => lang.t("无法完成", "Cannot complete"),
    }
}

#[component]
pub fn JobScreen(data: JobScreenData, lang: Lang, on_action: EventHandler<UiAction>) -> Element {
    let v = &data.view;
    let d = &v.dispatch;
    let f = &v.field;
    let state = v.derived.state();
    let me = state.assignee;
    let allowed: Vec<FieldAction> =
        FieldAction::ALL.into_iter().filter(|a| me.is_some_and(|t| state.apply(&Action::Field { action: *a, by: t }).is_ok())).collect();
    let distance_m = data.here.zip(d.customer.location).map(|(a, b)| a.distance_m(&b));
    let far = distance_m.is_none_or(|m| m > CHECK_IN_RADIUS_M);
    let mut reason = use_signal(String::new);
    let mut note = use_signal(String::new);
    let today_days = data.now.0.div_euclid(Timestamp::DAY);
    let warranty = match d.appliance.warranty_on(today_days) {
        WarrantyState::InWarranty { days_left } => {
            (format!("{} {days_left} {}", lang.t("保修期内，剩", "In warranty,"), lang.t("天", "days left")), "ok")
        }
        WarrantyState::Expired { days_ago } => {
            (format!("{} {days_ago} {}", lang.t("已过保", "Out of warranty for"), lang.t("天", "days")), "bad")
        }
        WarrantyState::Unknown => (lang.t("保修未知：请查看购买凭证", "Warranty unknown: ask for the receipt").to_owned(), "muted"),
    };
    let maps = d.customer.location.map(|l| format!("https://uri.amap.com/marker?position={},{}", l.lon, l.lat));
    let tel = format!("tel:{}", d.customer.phone.replace(' ', ""));
    let cur = f.quote.currency.clone();
    let quote_check = check(SignaturePurpose::QuoteApproval, d, f);
    let completion_check = check(SignaturePurpose::Completion, d, f);
    let quote_hash = content_hash(SignaturePurpose::QuoteApproval, d, f).unwrap_or_default();
    let completion_hash = content_hash(SignaturePurpose::Completion, d, f).unwrap_or_default();
    let status = v.derived.status;
    let mut report = use_signal(|| f.report.clone());
    let mut signer = use_signal(|| d.customer.name.clone());
    let mut comment = use_signal(String::new);
    let working = matches!(status, Status::OnSite | Status::InProgress | Status::OnHold);
    let finished = matches!(status, Status::Completed | Status::Closed);
    let category = d.appliance.category;
    let report_saved = !f.report.cause.trim().is_empty() && !f.report.method.trim().is_empty();
    let camera = try_use_context::<Arc<dyn Camera>>().unwrap_or_else(|| Arc::new(FilePicker));
    rsx! {
        if let Some(view) = &data.photo_view {
            div { class: "photo-view", "data-testid": "photo-view", onclick: move |_| on_action.call(UiAction::ViewPhoto(None)),
                img { src: "{view.url}", alt: "{view.caption}" }
                div {
                    if !view.caption.is_empty() { "{view.caption} · " }
                    {lang.t("点击关闭", "tap to close")}
                }
            }
        }
        div { class: "row",
            button { class: "secondary", onclick: move |_| on_action.call(UiAction::Back), {lang.t("← 返回", "← Back")} }
            b { "data-testid": "status", "data-status": "{status.as_str()}", "{status_label(lang, status)}" }
        }
        if let Some(msg) = &data.message {
            div { class: "banner error", "data-testid": "message", "{msg}" }
        }
        for c in &v.derived.conflicts {
            div { class: "banner conflict", "data-testid": "conflict", "⚠ {lang.t(\"冲突\", \"Conflict\")}: {c.rejection}" }
        }
        div { class: "card",
            b { "{d.customer.name}" }
            div { a { href: "{tel}", class: "btn", "📞 {d.customer.phone}" } }
            div { "{d.customer.address}" }
            if let Some(m) = maps { a { href: "{m}", {lang.t("地图导航", "Open in maps")} } }
            if let Some(dist) = distance_text(data.here, d.customer.location) { div { class: "muted", "{lang.t(\"距离\", \"Distance\")} {dist}" } }
        }
        div { class: "card",
            div { b { "{d.appliance.brand} {d.appliance.model}" } " · SN {d.appliance.serial}" }
            div { class: "{warranty.1}", "data-testid": "warranty", "{warranty.0}" }
            div { "{d.problem}" }
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
        div { class: "card", "data-testid": "fixes",
            b { {lang.t("已知故障与处理", "Known fixes")} }
            if data.fixes.is_empty() {
                div { class: "muted", {lang.t("知识库里没有相似的故障", "Nothing similar in the knowledge base")} }
            }
            for h in &data.fixes {
                details { "data-testid": "fix",
                    summary { if lang == Lang::Zh { "{h.article.title_zh}" } else { "{h.article.title_en}" } }
                    KbArticleBody { article: h.article.clone(), lang }
                    if working {
                        button { class: "secondary", "data-testid": "use-fix",
                            onclick: {
                                let (cause, method) = if lang == Lang::Zh {
                                    (h.article.cause_zh.clone(), h.article.fix_zh.clone())
                                } else {
                                    (h.article.cause_en.clone(), h.article.fix_en.clone())
                                };
                                move |_| {
                                    let mut r = report.write();
                                    r.cause = cause.clone();
                                    r.method = method.clone();
                                }
                            },
                            {lang.t("用作维修报告草稿", "Start the report from this fix")}
                        }
                    }
                }
            }
            button { class: "secondary", "data-testid": "search-kb", onclick: move |_| on_action.call(UiAction::SearchKb(category)),
                "{lang.t(\"搜索知识库\", \"Search fixes for\")} {category_label(lang, category)}"
            }
        }
        if !data.history.is_empty() {
            div { class: "card", "data-testid": "history",
                b { {lang.t("此设备的维修记录", "Earlier visits to this appliance")} }
                for h in &data.history {
                    div { class: "muted", "{h.appointment.map(|w| w.start.in_zone(data.utc_offset_min)).unwrap_or_default()} · {status_label(lang, h.status)} · {h.problem}" }
                }
            }
        }
        div { class: "card", "data-testid": "actions",
            if allowed.contains(&FieldAction::CheckIn) && far {
                div { class: "bad",
                    match distance_m {
                        Some(m) => format!("{} {:.0} m — {}", lang.t("距客户地址", "You are"), m, lang.t("请填写原因", "from the address: give a reason")),
                        None => lang.t("无法定位，签到需填写原因", "No position: a check-in needs a reason").to_owned(),
                    }
                }
            }
            if allowed.contains(&FieldAction::Complete) && !report_saved {
                div { class: "muted", "data-testid": "report-first", {lang.t("完工前请先保存维修报告（原因和方法）", "Save the service report (cause and method) to complete")} }
            }
            if allowed.iter().any(|a| matches!(a, FieldAction::Decline | FieldAction::Hold | FieldAction::CannotComplete | FieldAction::CheckIn)) {
                input { placeholder: lang.t("原因（拒单/暂停/无法完成/远距签到）", "Reason (decline / hold / cannot complete / far check-in)"), value: "{reason}", oninput: move |e| reason.set(e.value()) }
            }
            div { class: "row",
                for a in allowed.iter().copied() {
                    button {
                        class: if matches!(a, FieldAction::Decline | FieldAction::CannotComplete) { "danger" } else { "" },
                        "data-action": "{shared::status::field_name(a)}",
                        disabled: (a == FieldAction::CheckIn && far && reason.read().trim().is_empty())
                            || (a == FieldAction::Complete && !report_saved)
                            || (matches!(a, FieldAction::Decline | FieldAction::CannotComplete) && reason.read().trim().is_empty()),
                        onclick: move |_| on_action.call(UiAction::Status { action: a, reason: reason.read().clone() }),
                        "{action_label(lang, a)}"
                    }
                }
            }
        }
        div { class: "card",
            h2 { {lang.t("照片", "Photos")} }
            div { class: "thumbs", "data-testid": "photos",
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
                for (kind, label) in PhotoKind::ALL.map(|k| (k, photo_kind_label(lang, k))) {
                    label { class: "row", "📷 {label} "
                        input { r#type: "file", accept: "image/*", capture: "environment", "data-pick": "photo-{kind.as_str()}",
                            onchange: { let camera = camera.clone(); move |e: FormEvent| { let camera = camera.clone(); async move {
                                match camera.pictures(&e, &format!("photo-{}", kind.as_str())).await {
                                    Ok(all) => for bytes in all { on_action.call(UiAction::AddPhoto { kind, bytes }) },
                                    Err(msg) => on_action.call(UiAction::Failed(msg)),
                                }
                            } } }
                        }
                    }
                }
            }
        }
        if working {
            div { class: "card", "data-testid": "scan",
                h2 { {lang.t("扫码配件", "Scan a part")} }
                input { r#type: "file", accept: "image/*", capture: "environment", "data-pick": "scan",
                    onchange: move |e: FormEvent| { let camera = camera.clone(); async move {
                        match camera.pictures(&e, "scan").await {
                            Ok(all) => if let Some(bytes) = all.into_iter().next() { on_action.call(UiAction::Scan(bytes)) },
                            Err(msg) => on_action.call(UiAction::Failed(msg)),
                        }
                    } }
                }
                if let Some(s) = &data.last_scan {
                    match &s.part {
                        Some(p) => rsx! {
                            div { "data-testid": "scan-result",
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
        div { class: "card", "data-testid": "quote",
            h2 { {lang.t("报价", "Quote")} }
            if finished {
                Charges { quote: f.quote.clone(), lang, on_remove: None, on_quantity: None }
            } else {
                Charges {
                    quote: f.quote.clone(),
                    lang,
                    on_remove: move |id| on_action.call(UiAction::RemoveLine(id)),
                    on_quantity: move |(id, quantity)| on_action.call(UiAction::SetQuantity { id, quantity }),
                }
            }
            if !finished {
                // Keyed by the line count: a fresh select (back on its prompt) after each added line.
                select { key: "{f.quote.lines.len()}", "data-testid": "price-select",
                    onchange: move |e| { let code = e.value(); if !code.is_empty() { on_action.call(UiAction::AddPriceLine(code)); } },
                    option { value: "", {lang.t("＋ 从价目表添加", "+ Add from the price list")} }
                    for p in data.prices.iter().filter(|p| p.kind != LineKind::Part) {
                        option { value: "{p.code}", "{p.name_zh} {p.name_en} {money(p.unit_price_minor, &cur)}" }
                    }
                }
            }
            ApprovalLine { check: quote_check.clone(), lang, drawn: signature_image(f, SignaturePurpose::QuoteApproval) }
            if !f.quote.lines.is_empty() && !quote_check.is_valid() && !finished {
                div { {lang.t("请客户核对以上项目并签名确认", "Customer: check the lines above and sign to approve")} }
                input { value: "{signer}", oninput: move |e| signer.set(e.value()) }
                SignaturePad { lang, on_done: move |strokes: Strokes| on_action.call(UiAction::Sign { purpose: SignaturePurpose::QuoteApproval, signer: signer.read().clone(), strokes, shown_hash: quote_hash.clone() }) }
            }
        }
        if working || finished {
            div { class: "card", "data-testid": "report",
                h2 { {lang.t("维修报告", "Service report")} }
                if !finished {
                    input { placeholder: lang.t("故障原因", "Cause"), value: "{report.read().cause}", oninput: move |e| report.write().cause = e.value() }
                    input { placeholder: lang.t("维修方法", "Method"), value: "{report.read().method}", oninput: move |e| report.write().method = e.value() }
                    input { r#type: "number", placeholder: lang.t("保修天数", "Warranty days"), value: "{report.read().warranty_days}", oninput: move |e| report.write().warranty_days = e.value().parse().unwrap_or(0) }
                    button { "data-testid": "save-report", onclick: move |_| on_action.call(UiAction::SetReport(report.read().clone())), {lang.t("保存报告", "Save report")} }
                } else {
                    // Everything the customer's signature covers, on one card they can read.
                    div { "data-testid": "report-content",
                        div { "{d.customer.name} · {d.customer.address}" }
                        div { "{d.appliance.brand} {d.appliance.model} · SN {d.appliance.serial}" }
                        div { b { {lang.t("原因", "Cause")} } ": {f.report.cause}" }
                        div { b { {lang.t("方法", "Method")} } ": {f.report.method}" }
                        div { b { {lang.t("保修", "Warranty")} } ": {f.report.warranty_days} {lang.t(\"天\", \"days\")}" }
                        Charges { quote: f.quote.clone(), lang, on_remove: None, on_quantity: None }
                    }
                    ApprovalLine { check: completion_check.clone(), lang, drawn: signature_image(f, SignaturePurpose::Completion) }
                    if !completion_check.is_valid() && !f.report.cause.is_empty() {
                        div { {lang.t("请客户阅读报告并签名", "Customer: read the report and sign")} }
                        SignaturePad { lang, on_done: move |strokes: Strokes| on_action.call(UiAction::Sign { purpose: SignaturePurpose::Completion, signer: signer.read().clone(), strokes, shown_hash: completion_hash.clone() }) }
                    }
                    h2 { {lang.t("客户评价", "Customer rating")} }
                    match f.rating.score {
                        Some(s) => rsx! { div { "data-testid": "rating", "{\"★\".repeat(s as usize)} {f.rating.comment}" } },
                        None => rsx! {
                            input { placeholder: lang.t("评价（可选）", "Comment (optional)"), value: "{comment}", oninput: move |e| comment.set(e.value()) }
                            div { class: "row stars",
                                for s in 1..=5u8 {
                                    button { "data-star": "{s}", onclick: move |_| on_action.call(UiAction::Rate { score: s, comment: comment.read().clone() }), "{s}★" }
                                }
                            }
                        },
                    }
                }
            }
        }
        div { class: "card",
            h2 { {lang.t("备注", "Notes")} }
            for n in &f.notes { div { class: "muted", "{n.at.in_zone(data.utc_offset_min)} {n.author}: {n.text}" } }
            if status.is_open() {
                input { value: "{note}", placeholder: lang.t("添加备注", "Add a note"), oninput: move |e| note.set(e.value()) }
                button { class: "secondary", onclick: move |_| { let n = note.read().clone(); if !n.trim().is_empty() { on_action.call(UiAction::AddNote(n)); note.set(String::new()); } }, {lang.t("保存备注", "Save note")} }
            }
        }
    }
}

/// The newest signature for `purpose`, drawn from its vector strokes, as an SVG data URL: the
/// customer sees the signature that stands on the screen they signed.
fn signature_image(field: &FieldDoc, purpose: SignaturePurpose) -> Option<String> {
    use base64::Engine;
    let strokes = Strokes::decode(&latest_signature(field, purpose)?.strokes).ok()?;
    let svg = strokes.to_svg(240, 80);
    Some(format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg)))
}

#[component]
fn ApprovalLine(check: ApprovalCheck, lang: Lang, drawn: Option<String>) -> Element {
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
fn Charges(quote: Quote, lang: Lang, on_remove: Option<EventHandler<ItemId>>, on_quantity: Option<EventHandler<(ItemId, u32)>>) -> Element {
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
                                    button { class: "secondary", "data-step": "down", disabled: l.quantity <= 1, onclick: { let (id, q) = (l.id, l.quantity); move |_| set.call((id, q - 1)) }, "−" }
                                    button { class: "secondary", "data-step": "up", onclick: { let (id, q) = (l.id, l.quantity); move |_| set.call((id, q + 1)) }, "+" }
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
