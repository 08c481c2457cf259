//! The job screen. It leads: who, when, where and the status stay in view at the top; the next
//! step for the current status comes first (accept → en route → check in → diagnose → quote and
//! the customer's signature → report → complete with confirmation → the customer's signature
//! → rating); everything else is in sections below, out of the way but a tap away.

mod parts;
mod sections;
mod step;

use dioxus::prelude::*;
use shared::model::{Category, FieldAction, GeoPoint, PhotoKind, Report, SignaturePurpose};
use shared::reference::PriceItem;
use shared::signature::Strokes;
use shared::status::Status;
use shared::{ItemId, Timestamp};

pub use crate::ui::state::Drafts;
pub use parts::{ApprovalLine, Charges};

use crate::store::{JobProblem, JobSummary, JobView, KbHit, ScanMatch};
use crate::ui::{Lang, conflict_text, countdown, distance_text, status_label, window_text};

/// What the technician asked for on the job screen.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum UiAction {
    Status {
        action: FieldAction,
        reason: String,
    },
    AddNote(String),
    AddPhoto {
        kind: PhotoKind,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    Scan(#[serde(with = "serde_bytes")] Vec<u8>),
    UsePart {
        part_no: String,
    },
    /// Adds a line from the price list; the same item again counts one more.
    AddPriceLine(String),
    RemoveLine(ItemId),
    /// One more or one less of a line that is not a part (parts come from scans, so the van
    /// count follows). Relative, so quick taps add up.
    StepQuantity {
        id: ItemId,
        by: i32,
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
    pub utc_offset_min: i32,
    /// The full picture the technician opened from a thumbnail.
    pub photo_view: Option<PhotoView>,
    /// What the last sync could not do for this job.
    pub problems: Vec<JobProblem>,
}

/// A sync problem of this job, as the technician reads it (the server's words as detail).
pub fn problem_text(lang: Lang, p: &JobProblem) -> (String, String) {
    use shared::wire::RefusalCode::*;
    match p {
        JobProblem::Refused { code, message } => {
            let why = match code {
                NotAssigned => lang.t("这个工单已不属于你", "this job is no longer yours"),
                ClockSkew => lang.t("手机时间不对，请设为自动时间", "the phone's clock is wrong: set it to automatic time"),
                TooLarge => lang.t("内容超出限制", "it is over a size limit"),
                InvalidDocument | MalformedMessage | ForeignActor | DispatchReadOnly => {
                    lang.t("请更新应用并联系调度", "update the app and tell the office")
                }
                NotFound => lang.t("服务器上没有这个工单", "the server has no such job"),
            };
            (
                format!(
                    "{}：{why}",
                    lang.t(
                        "服务器没有接收这个工单的修改（已保留在手机上）",
                        "The server did not take this job's changes (they stay on the phone)"
                    )
                ),
                message.clone(),
            )
        }
        JobProblem::PhotoNotSent { error } => (
            lang.t("有照片还没能上传，每次同步都会重试", "A photo could not be sent yet; every sync tries again").to_owned(),
            error.clone(),
        ),
        JobProblem::CannotTake { error } => (
            lang.t("手机无法读取服务器发来的这个工单，请联系调度", "This phone cannot read the job the server sent: tell the office")
                .to_owned(),
            error.clone(),
        ),
    }
}

/// A full-size picture shown over the job screen.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PhotoView {
    /// A `data:` URL of the JPEG.
    pub url: String,
    pub caption: String,
}

pub(crate) use shared::i18n::{action_label, photo_kind_label};

#[component]
pub fn JobScreen(
    data: JobScreenData,
    lang: Lang,
    on_action: EventHandler<UiAction>,
    /// The app's drafts for this job; without them (tests) the screen keeps its own.
    #[props(default)]
    drafts: Option<Drafts>,
) -> Element {
    let app_drafts = drafts;
    let v = &data.view;
    let d = &v.dispatch;
    let status = v.derived.status;
    let drafts = app_drafts.unwrap_or(Drafts {
        report: use_signal(|| None),
        signer: use_signal(|| None),
        comment: use_signal(String::new),
        note: use_signal(String::new),
        no_charge: use_signal(|| false),
    });
    let tel = format!("tel:{}", d.customer.phone.replace(' ', ""));
    let when = d.appointment.map(|w| window_text(lang, w, data.now, data.utc_offset_min));
    let sla = d.sla.resolve_by.filter(|_| status.is_open()).map(|t| countdown(lang, data.now, t));
    let distance = distance_text(data.here, d.customer.location);
    let prio = match d.priority {
        shared::model::Priority::Urgent => Some(("tag urgent", lang.t("加急", "URGENT"))),
        shared::model::Priority::High => Some(("tag high", lang.t("优先", "High priority"))),
        _ => None,
    };
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
        // Always in view: who, when, where, how urgent, and where the job stands.
        div { class: "job-head", "data-testid": "job-head",
            div { class: "top",
                button { class: "secondary back", "data-testid": "back", aria_label: lang.t("返回", "Back"), onclick: move |_| on_action.call(UiAction::Back), "←" }
                b { class: "name", "{d.customer.name}" }
                span { class: "status-pill", "data-testid": "status", "data-status": "{status.as_str()}", "{status_label(lang, status)}" }
            }
            div { class: "row",
                span { "data-testid": "appointment", {when.unwrap_or_else(|| lang.t("未预约", "no appointment").to_owned())} }
                if let Some((class, text)) = prio { span { class: "{class}", "{text}" } }
                if let Some((text, late)) = sla { span { class: if late { "bad" } else { "muted" }, "data-testid": "sla", "{lang.t(\"时限\", \"SLA\")} {text}" } }
            }
            div { class: "row muted addr",
                span { "{d.customer.address}" }
                if let Some(dist) = distance { span { "· {dist}" } }
                if !d.customer.phone.is_empty() { a { href: "{tel}", "📞 {d.customer.phone}" } }
            }
        }
        for p in &data.problems {
            {
                let (text, detail) = problem_text(lang, p);
                rsx! {
                    div { class: "banner error", "data-testid": "job-problem",
                        "⚠ {text}"
                        if !detail.is_empty() { details { class: "muted", summary { {lang.t("详情", "Details")} } "{detail}" } }
                    }
                }
            }
        }
        for c in &v.derived.conflicts {
            div { class: "banner conflict", "data-testid": "conflict", "⚠ {lang.t(\"冲突\", \"Conflict\")}: {conflict_text(lang, &c.rejection)}" }
        }
        // Keyed by the step: a reason typed for one step never carries over to the next.
        {rsx! { step::NextStep { key: "{Step::of(v, (drafts.no_charge)()).name()}", data: data.clone(), lang, drafts, on_action } }}
        sections::Sections { data: data.clone(), lang, drafts, on_action }
    }
}

/// What the screen leads with, by status (and, while working, by how far the work is).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Accept,
    Travel,
    CheckIn,
    Diagnose,
    Quote,
    Report,
    Complete,
    OnHold,
    CompletionSignature,
    Rating,
    Done,
    Closed,
}

impl Step {
    /// `no_charge`: the technician chose to go on without a quote while it has no lines.
    pub fn of(view: &JobView, no_charge: bool) -> Step {
        use shared::approval::check;
        let f = &view.field;
        let report_saved = !f.report.cause.trim().is_empty() && !f.report.method.trim().is_empty();
        // Signed by the customer, or nothing to charge and the technician said so.
        let quote_settled = check(SignaturePurpose::QuoteApproval, &view.dispatch, f).is_valid() || (no_charge && f.quote.lines.is_empty());
        match view.derived.status {
            Status::New | Status::Assigned => Step::Accept,
            Status::Accepted => Step::Travel,
            Status::EnRoute => Step::CheckIn,
            Status::OnSite => Step::Diagnose,
            Status::InProgress if !quote_settled => Step::Quote,
            Status::InProgress if !report_saved => Step::Report,
            Status::InProgress => Step::Complete,
            Status::OnHold => Step::OnHold,
            Status::Completed if !check(SignaturePurpose::Completion, &view.dispatch, f).is_valid() => Step::CompletionSignature,
            Status::Completed if f.rating.score.is_none() => Step::Rating,
            Status::Completed => Step::Done,
            Status::Closed | Status::Cancelled | Status::CannotComplete => Step::Closed,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Step::Accept => "accept",
            Step::Travel => "travel",
            Step::CheckIn => "check_in",
            Step::Diagnose => "diagnose",
            Step::Quote => "quote",
            Step::Report => "report",
            Step::Complete => "complete",
            Step::OnHold => "on_hold",
            Step::CompletionSignature => "completion_signature",
            Step::Rating => "rating",
            Step::Done => "done",
            Step::Closed => "closed",
        }
    }

    pub fn title(self, lang: Lang) -> &'static str {
        match self {
            Step::Accept => lang.t("下一步：接单", "Next: accept the job"),
            Step::Travel => lang.t("下一步：出发", "Next: set off"),
            Step::CheckIn => lang.t("下一步：到场签到", "Next: check in at the door"),
            Step::Diagnose => lang.t("下一步：诊断", "Next: diagnose"),
            Step::Quote => lang.t("下一步：报价并请客户签名", "Next: quote, and the customer signs"),
            Step::Report => lang.t("下一步：维修报告", "Next: the service report"),
            Step::Complete => lang.t("下一步：完工", "Next: complete the job"),
            Step::OnHold => lang.t("暂停中（待料）", "On hold (waiting for parts)"),
            Step::CompletionSignature => lang.t("下一步：客户在报告上签名", "Next: the customer signs the report"),
            Step::Rating => lang.t("下一步：客户评价", "Next: the customer's rating"),
            Step::Done => lang.t("✔ 工单已完成", "✔ Job done"),
            Step::Closed => lang.t("工单已结束", "This job is closed"),
        }
    }
}
