//! App-wide state the screens share through context: language, sync state, the store's revision,
//! what the last action did, and long work in progress.

use std::sync::Arc;

use dioxus::prelude::*;
use shared::model::GeoPoint;

use super::Lang;
use super::error::UiError;
use crate::sync_client::SyncStatus;

/// What the last action did, said to the technician until the next one.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// Written on the phone; the next sync sends it.
    Saved,
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
            Notice::Saved => lang.t("已保存在手机上 · 将自动同步", "Saved on the phone · will sync").into(),
            Notice::Sent => lang.t("已发送到服务器", "Sent to the server").into(),
            Notice::SavedOffline => {
                lang.t("连不上服务器——你的工作安全地保存在手机上", "Can't reach the server — your work is safe on the phone").into()
            }
            Notice::SignedOut => lang.t("已退出，本机的工单已清除", "Signed out: this phone's jobs are cleared").into(),
            Notice::Paired => lang.t("配对成功，正在下载工单", "Paired: downloading your jobs").into(),
            Notice::Failed(e) => e.text(lang),
        }
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

/// The shared signals (all `Copy`), provided once by the root.
#[derive(Clone, Copy)]
pub struct AppState {
    pub lang: Signal<Lang>,
    pub sync: Signal<SyncStatus>,
    /// Bumped whenever the store changed (an action, a sync): every store read re-runs.
    pub revision: Signal<u64>,
    pub notice: Signal<Option<Notice>>,
    pub busy: Signal<Option<Busy>>,
    /// Where the phone is, as last known (a check-in compares it with the address).
    pub here: Signal<Option<GeoPoint>>,
    /// Wakes the background sync early (after an action, or "Sync now").
    pub nudge: Signal<Arc<tokio::sync::Notify>>,
}

impl AppState {
    pub fn refresh(mut self) {
        *self.revision.write() += 1;
    }

    /// Asks the background sync to run now.
    pub fn sync_soon(self) {
        self.nudge.peek().notify_one();
    }
}

pub fn use_app_state() -> AppState {
    use_context::<AppState>()
}
