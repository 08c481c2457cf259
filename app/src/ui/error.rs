//! What went wrong, as the technician reads it: every error a screen shows is one of these
//! typed values, rendered in the screen's language (never the library's English text alone).

use shared::edit::EditError;
use shared::model::FieldAction;
use shared::photo::PhotoError;
use shared::rules::RuleViolation;

use super::Lang;
use crate::scan::ScanError;
use crate::store::StoreError;
use crate::sync_client::SyncError;

/// An error an action on a screen ran into.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Photo(#[from] PhotoError),
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// The picture chosen could not be read from the page or the file system.
    #[error("could not read the picture: {0}")]
    Picture(String),
    /// The background work ended without an answer (the app is shutting down).
    #[error("the phone stopped before finishing")]
    Interrupted,
    /// The part of the app that holds the store (the browser's worker) failed or did not answer.
    #[error("the app's store did not answer: {0}")]
    Engine(String),
    /// An error that crossed from the engine in another context (the browser's worker), as the
    /// technician reads it in both languages.
    #[error("{en}")]
    Said { zh: String, en: String },
}

/// Errors cross to the page as what they say: the page shows them, it does not branch on them.
impl serde::Serialize for UiError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.text(Lang::Zh), self.text(Lang::En)).serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for UiError {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (zh, en) = <(String, String)>::deserialize(d)?;
        Ok(UiError::Said { zh, en })
    }
}

impl From<EditError> for UiError {
    fn from(e: EditError) -> Self {
        UiError::Store(StoreError::Edit(e))
    }
}

// Equality for props and signals: two errors are the same when they read the same.
impl PartialEq for UiError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl UiError {
    /// The message in the technician's language. Errors without a tailored sentence get a
    /// localized lead and the detail.
    pub fn text(&self, lang: Lang) -> String {
        match self {
            UiError::Store(e) => store_text(e, lang),
            UiError::Photo(e) => match e {
                PhotoError::TooLarge(_) | PhotoError::TooManyPixels { .. } => {
                    lang.t("照片太大，请用相机重新拍一张", "The photo is too large: take a new one with the camera").into()
                }
                _ => lang.t("无法读取这张照片，请重新拍摄", "This photo cannot be read: take it again").into(),
            },
            UiError::Scan(ScanError::NotFound) => {
                lang.t("图中没有找到二维码或条码：靠近一点再拍", "No QR code or barcode found: move closer and try again").into()
            }
            UiError::Scan(_) => {
                lang.t("无法读取这张图片，请重新拍摄标签", "This picture cannot be read: photograph the label again").into()
            }
            UiError::Sync(e) => sync_text(e, lang),
            UiError::Picture(detail) => with_detail(lang, lang.t("无法读取所选图片", "Could not read the chosen picture"), detail),
            UiError::Interrupted => lang.t("操作未完成，请重试", "The action did not finish: try again").into(),
            UiError::Engine(detail) => with_detail(
                lang,
                lang.t("应用的本地存储没有响应，请重新打开应用", "The app's storage did not answer: reopen the app"),
                detail,
            ),
            UiError::Said { zh, en } => match lang {
                Lang::Zh => zh.clone(),
                Lang::En => en.clone(),
            },
        }
    }
}

/// A localized lead with the software's detail after it (for errors without their own sentence).
fn with_detail(lang: Lang, lead: &str, detail: impl std::fmt::Display) -> String {
    match lang {
        Lang::Zh => format!("{lead}（{detail}）"),
        Lang::En => format!("{lead} ({detail})"),
    }
}

fn action_text(lang: Lang, a: FieldAction) -> &'static str {
    use FieldAction::*;
    match a {
        Decline => lang.t("拒单需要填写原因", "Declining needs a reason"),
        CannotComplete => lang.t("无法完成需要填写原因", "\"Cannot complete\" needs a reason"),
        CheckIn => lang.t("离客户地址较远（或无法定位），签到需要填写原因", "You are away from the address (or have no position): say why"),
        Hold => lang.t("暂停需要填写原因", "Holding needs a reason"),
        _ => lang.t("需要填写原因", "A reason is needed"),
    }
}

fn store_text(e: &StoreError, lang: Lang) -> String {
    let detail = |lead: &str| with_detail(lang, lead, e);
    match e {
        StoreError::Edit(edit) => match edit {
            EditError::Transition(_) => lang.t("当前状态下不能这样操作", "Not possible in the job's current status").into(),
            EditError::JobFinished(_) => lang.t("工单已结束，不能再修改", "The job is finished and can no longer be changed").into(),
            EditError::NotAssigned => lang.t("这个工单没有派给你", "This job is not assigned to you").into(),
            EditError::ContentChanged => lang
                .t("签名后内容已改变：请让客户重新查看并签名", "The content changed after it was shown: show it again and re-sign")
                .into(),
            EditError::NothingToSign(_) => lang.t("还没有可以签名的内容", "Nothing to sign yet").into(),
            EditError::ReportMissing => {
                lang.t("完工前请先保存维修报告（原因和方法）", "Save the service report (cause and method) before completing").into()
            }
            EditError::BadRating(_) => lang.t("评分为 1 到 5 星", "A rating is 1 to 5 stars").into(),
            EditError::RatingBeforeCompletion => lang.t("完工后客户才能评价", "The customer rates once the job is completed").into(),
            EditError::TextTooLong { .. } => lang.t("文字太长，请缩短", "The text is too long: shorten it").into(),
            EditError::Empty(_) => lang.t("请先填写内容", "Fill it in first").into(),
            EditError::TooMany(_) => lang.t("此工单的条目已达上限", "This job holds the most items it can").into(),
            EditError::DuplicateLine(_) => lang.t("该项目已在报价中，已为你加一", "Already on the quote: count it one more").into(),
            EditError::NoSuchLine(_) => lang.t("该报价行已不存在", "That line is no longer on the quote").into(),
            EditError::BadLocation => lang.t("定位无效，请稍后再试", "The position is not valid: try again shortly").into(),
            EditError::Rule(RuleViolation::ReasonRequired(a)) => action_text(lang, *a).into(),
            EditError::Rule(RuleViolation::Clock { .. }) => {
                lang.t("手机时间不对：请把手机设为自动时间", "The phone's clock is wrong: set it to automatic time").into()
            }
            _ => detail(lang.t("无法保存", "Could not save")),
        },
        StoreError::WrongKey { .. } => lang
            .t(
                "手机上的数据无法用本机的密钥读取（文件损坏或来自另一台设备）：文件保持原样，请联系管理员",
                "This device's key cannot read the data on the phone (damaged, or from another device): the file was left as it is; call your office",
            )
            .into(),
        StoreError::NoEncryption => {
            lang.t("这个版本无法加密手机上的数据，因此不会保存客户信息", "This build cannot encrypt the phone's data, so it keeps no customer data").into()
        }
        StoreError::Key(_) => detail(lang.t("读取数据密钥失败", "Could not read the data's key")),
        StoreError::JobLeft(_) => lang
            .t(
                "这个工单已改派或已关闭：之前的工作已保留，不能再添加新内容",
                "This job went to someone else or closed: your earlier work is kept, nothing new can be added",
            )
            .into(),
        StoreError::PartsFromVan => {
            lang.t("配件只能从车上库存出库添加（扫码后“加入报价”）", "Parts come from the van: scan one and add it to the quote").into()
        }
        StoreError::OutOfStock { part_no, have, .. } => match lang {
            Lang::Zh => format!("车上 {part_no} 库存不足（剩 {have} 件）"),
            Lang::En => format!("Not enough {part_no} in the van ({have} left)"),
        },
        StoreError::UnknownPart(p) => format!("{}: {p}", lang.t("目录中没有这个配件", "Not in the parts catalog")),
        StoreError::UnknownPriceItem(p) => format!("{}: {p}", lang.t("价目表中没有这个项目", "Not on the price list")),
        StoreError::NoSuchJob(_) => lang.t("这台手机上没有这个工单", "This job is not on this phone").into(),
        StoreError::NotPaired => lang.t("这台手机还没有配对", "This phone is not paired yet").into(),
        StoreError::UnsyncedWork { jobs, photo_bytes } => match lang {
            Lang::Zh => format!("还有未上传的工作（{jobs} 个工单，{} KB 照片），请先同步后再退出", photo_bytes.div_ceil(1024)),
            Lang::En => {
                format!("Unsent work is on this phone ({jobs} jobs, {} KB of photos): sync before signing out", photo_bytes.div_ceil(1024))
            }
        },
        _ => detail(lang.t("手机存储出错，工作未丢失，请重试", "The phone's storage failed; nothing was lost, try again")),
    }
}

fn sync_text(e: &SyncError, lang: Lang) -> String {
    match e {
        SyncError::NotPaired => lang.t("这台手机还没有配对", "This phone is not paired yet").into(),
        SyncError::Network(_) => lang
            .t(
                "连不上服务器：你的工作安全地保存在手机上，联网后自动同步",
                "Can't reach the server: your work is safe on the phone and syncs later",
            )
            .into(),
        SyncError::Server { status: 401, .. } => lang
            .t("服务器不再接受这台手机：请向调度索取新的配对码", "The server no longer accepts this phone: ask dispatch for a new code")
            .into(),
        SyncError::Server { code, .. } if code == "bad_code" || code == "not_found" => {
            lang.t("配对码无效或已过期：请向调度索取新的配对码", "The pairing code is wrong or expired: ask dispatch for a new one").into()
        }
        SyncError::Server { status, .. } if *status == 429 || *status >= 500 => {
            lang.t("服务器繁忙：稍后自动重试", "The server is busy: it retries by itself").into()
        }
        SyncError::Store(e) => store_text(e, lang),
        SyncError::BadServer(_) => lang
            .t(
                "服务器地址须以 https:// 开头（仅本机可用 http://127.0.0.1）",
                "The server address must start with https:// (plain http only for 127.0.0.1 on this device)",
            )
            .into(),
        other => with_detail(lang, lang.t("同步失败", "Sync failed"), other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_reads_in_both_languages() {
        let errors = [
            UiError::Store(StoreError::PartsFromVan),
            UiError::Store(StoreError::Edit(EditError::Rule(RuleViolation::ReasonRequired(FieldAction::Decline)))),
            UiError::Scan(ScanError::NotFound),
            UiError::Photo(PhotoError::TooLarge(1)),
            UiError::Picture("x".into()),
            UiError::Sync(SyncError::NotPaired),
            UiError::Sync(SyncError::BadServer("http://10.0.0.2".into())),
            UiError::Store(StoreError::WrongKey { path: "/onsite.db".into() }),
            UiError::Store(StoreError::NoEncryption),
        ];
        for e in errors {
            let (zh, en) = (e.text(Lang::Zh), e.text(Lang::En));
            assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{zh}");
            assert!(en.is_ascii() || en.contains('"'), "{en}");
            assert_ne!(zh, en);
        }
    }
}
