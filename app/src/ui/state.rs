//! App-wide state the screens share through context: language, sync state, the store's revision,
//! what the last action did, and long work in progress.

use std::sync::Arc;

use dioxus::prelude::*;
use shared::JobId;
use shared::model::{GeoPoint, Report};
use std::collections::HashMap;

use super::Lang;
use super::error::UiError;
use crate::sync_client::SyncStatus;

/// What an action did, in the words of the notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Did {
    Status(shared::model::FieldAction),
    PhotoAdded,
    PartScanned,
    /// A part went on the quote; this many are left in the van.
    PartUsed(u32),
    QuoteChanged,
    Signed,
    ReportSaved,
    NoteSaved,
    Rated,
}

impl Did {
    fn text(self, lang: Lang) -> String {
        use shared::model::FieldAction::*;
        match self {
            Did::Status(a) => match a {
                Accept => lang.t("已接单", "Accepted").into(),
                Decline => lang.t("已拒单", "Declined").into(),
                EnRoute => lang.t("已出发", "On your way").into(),
                CheckIn => lang.t("已签到", "Checked in").into(),
                Start => lang.t("已开始维修", "Work started").into(),
                Hold => lang.t("已暂停", "On hold").into(),
                Resume => lang.t("已继续", "Resumed").into(),
                Complete => lang.t("已完工", "Completed").into(),
                CannotComplete => lang.t("已记录无法完成", "Recorded as cannot complete").into(),
            },
            Did::PhotoAdded => lang.t("照片已添加", "Photo added").into(),
            Did::PartScanned => lang.t("已识别", "Code read").into(),
            Did::PartUsed(left) => match lang {
                Lang::Zh => format!("已加入报价，车上还剩 {left} 件"),
                Lang::En => format!("Added to the quote, {left} left in the van"),
            },
            Did::QuoteChanged => lang.t("报价已更新", "Quote updated").into(),
            Did::Signed => lang.t("签名已保存", "Signature saved").into(),
            Did::ReportSaved => lang.t("报告已保存", "Report saved").into(),
            Did::NoteSaved => lang.t("备注已保存", "Note saved").into(),
            Did::Rated => lang.t("评价已保存", "Rating saved").into(),
        }
    }
}

/// What the last action did, said to the technician until the next one.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Notice {
    /// Written on the phone; the next sync sends it.
    Saved(Did),
    /// The server has it.
    Sent,
    /// Saved, but the server cannot be reached: the work waits safely on the phone.
    SavedOffline,
    /// Signed out; the phone's jobs are cleared.
    SignedOut,
    Paired,
    Failed(Arc<UiError>),
}

impl Notice {
    pub fn failed(e: UiError) -> Self {
        Notice::Failed(Arc::new(e))
    }

    pub fn text(&self, lang: Lang) -> String {
        match self {
            Notice::Saved(did) => format!("{} · {}", did.text(lang), lang.t("已保存在手机上，将自动同步", "saved on the phone, will sync")),
            Notice::Sent => lang.t("已发送到服务器", "Sent to the server").into(),
            Notice::SavedOffline => {
                lang.t("连不上服务器——你的工作安全地保存在手机上", "Can't reach the server — your work is safe on the phone").into()
            }
            Notice::SignedOut => lang.t("已退出，本机的工单已清除", "Signed out: this phone's jobs are cleared").into(),
            Notice::Paired => lang.t("配对成功，正在下载工单", "Paired: downloading your jobs").into(),
            Notice::Failed(e) => e.text(lang),
        }
    }

    /// Saved on the phone and not yet known to be sent.
    pub fn is_saved(&self) -> bool {
        matches!(self, Notice::Saved(_))
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Notice::Failed(_))
    }
}

/// Long work the technician is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Busy {
    Saving,
    ProcessingPhoto,
    ReadingCode,
    Syncing,
    Pairing,
}

impl Busy {
    pub fn text(self, lang: Lang) -> &'static str {
        match self {
            Busy::Saving => lang.t("正在保存…", "Saving…"),
            Busy::ProcessingPhoto => lang.t("正在处理照片…", "Processing the photo…"),
            Busy::ReadingCode => lang.t("正在识别条码…", "Reading the code…"),
            Busy::Syncing => lang.t("正在同步…", "Syncing…"),
            Busy::Pairing => lang.t("正在配对…", "Pairing…"),
        }
    }
}

/// Drafts the technician is typing, shared between the step card and the sections (the known fix
/// fills the report draft wherever the report form is). The app keeps one set per job for as long
/// as it runs (`Drafts::for_app`), so leaving the job — for the knowledge base, another tab —
/// loses nothing typed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Drafts {
    /// `None`: untouched, the stored report stands.
    pub report: Signal<Option<Report>>,
    /// `None`: the customer's name.
    pub signer: Signal<Option<String>>,
    pub comment: Signal<String>,
    pub note: Signal<String>,
    /// The technician said the visit costs the customer nothing (a warranty repair): no quote
    /// to sign, straight on to the report.
    pub no_charge: Signal<bool>,
}

impl Drafts {
    /// Drafts owned by the app rather than a screen: they outlive the job screen.
    pub fn for_app() -> Drafts {
        let root = ScopeId::ROOT;
        Drafts {
            report: Signal::new_in_scope(None, root),
            signer: Signal::new_in_scope(None, root),
            comment: Signal::new_in_scope(String::new(), root),
            note: Signal::new_in_scope(String::new(), root),
            no_charge: Signal::new_in_scope(false, root),
        }
    }
}

/// The shared signals (all `Copy`), provided once by the root.
#[derive(Clone, Copy)]
pub struct AppState {
    pub lang: Signal<Lang>,
    pub sync: Signal<SyncStatus>,
    /// Bumped whenever the store changed (an action, a sync): every store read re-runs.
    pub revision: Signal<u64>,
    pub notice: Signal<Option<Notice>>,
    /// Long work under way, newest last (several can run: a photo and a note).
    pub busy: Signal<Vec<Busy>>,
    /// Where the phone is, as last known (a check-in compares it with the address).
    pub here: Signal<Option<GeoPoint>>,
    /// What the technician is typing on each job opened since the app started.
    pub job_drafts: Signal<HashMap<JobId, Drafts>>,
    /// Wakes the background sync early (after an action, or "Sync now").
    pub nudge: Signal<Arc<tokio::sync::Notify>>,
}

impl AppState {
    /// Marks long work as started; the returned token ends it.
    pub fn begin(self, b: Busy) {
        let mut busy = self.busy;
        busy.write().push(b);
    }

    pub fn end(self, b: Busy) {
        let mut busy = self.busy;
        let mut w = busy.write();
        if let Some(i) = w.iter().rposition(|x| *x == b) {
            w.remove(i);
        }
    }

    pub fn refresh(mut self) {
        *self.revision.write() += 1;
    }

    /// Asks the background sync to run now.
    pub fn sync_soon(self) {
        self.nudge.peek().notify_one();
    }
}

impl AppState {
    /// The drafts of one job, created on first use.
    pub fn drafts_of(self, job: JobId) -> Drafts {
        let mut all = self.job_drafts;
        if let Some(d) = all.peek().get(&job) {
            return *d;
        }
        let d = Drafts::for_app();
        all.write().insert(job, d);
        d
    }
}

pub fn use_app_state() -> AppState {
    use_context::<AppState>()
}
