//! The words both front ends show for the shared model, in Chinese and English: the
//! technician's app and the dispatcher console name a status or a category the same way.

use crate::model::{Category, Channel, DispatchAction, FieldAction, PhotoKind, Priority};
use crate::status::Status;

/// The language a screen speaks (both are always available).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// Picks the text for this language.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// The BCP 47 primary tag, as kept in the store.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

/// A status as people say it.
pub fn status_label(lang: Lang, s: Status) -> &'static str {
    use Status::*;
    match s {
        New => lang.t("新工单", "New"),
        Assigned => lang.t("已派单", "Assigned"),
        Accepted => lang.t("已接单", "Accepted"),
        EnRoute => lang.t("在途", "En route"),
        OnSite => lang.t("已到场", "On site"),
        InProgress => lang.t("维修中", "In progress"),
        OnHold => lang.t("待料", "On hold"),
        Completed => lang.t("已完工", "Completed"),
        CannotComplete => lang.t("无法完成", "Cannot complete"),
        Closed => lang.t("已关闭", "Closed"),
        Cancelled => lang.t("已取消", "Cancelled"),
    }
}

/// A category as people say it.
pub fn category_label(lang: Lang, c: Category) -> &'static str {
    match c {
        Category::Kettle => lang.t("电水壶", "Kettle"),
        Category::Washer => lang.t("洗衣机", "Washer"),
        Category::Fridge => lang.t("冰箱", "Fridge"),
        Category::AirConditioner => lang.t("空调", "Air conditioner"),
        Category::WaterHeater => lang.t("热水器", "Water heater"),
        Category::Furniture => lang.t("家具", "Furniture"),
        Category::Other => lang.t("其他", "Other"),
    }
}

/// A priority as people say it.
pub fn priority_label(lang: Lang, p: Priority) -> &'static str {
    match p {
        Priority::Low => lang.t("低", "Low"),
        Priority::Normal => lang.t("普通", "Normal"),
        Priority::High => lang.t("高", "High"),
        Priority::Urgent => lang.t("紧急", "Urgent"),
    }
}

/// Where a job came from, as people say it.
pub fn channel_label(lang: Lang, c: Channel) -> &'static str {
    match c {
        Channel::Phone => lang.t("电话", "Phone"),
        Channel::Web => lang.t("网站", "Web"),
        Channel::App => lang.t("App", "App"),
        Channel::WechatMiniProgram => lang.t("微信小程序", "WeChat mini program"),
    }
}

/// A kind of photo as people say it.
pub fn photo_kind_label(lang: Lang, k: PhotoKind) -> &'static str {
    match k {
        PhotoKind::DataPlate => lang.t("铭牌", "Data plate"),
        PhotoKind::Fault => lang.t("故障", "Fault"),
        PhotoKind::Before => lang.t("修前", "Before"),
        PhotoKind::After => lang.t("修后", "After"),
        PhotoKind::Part => lang.t("配件", "Part"),
    }
}

/// A technician's step, as its button says it.
pub fn action_label(lang: Lang, a: FieldAction) -> &'static str {
    use FieldAction::*;
    match a {
        Accept => lang.t("接单", "Accept"),
        Decline => lang.t("拒单", "Decline"),
        EnRoute => lang.t("出发", "On my way"),
        CheckIn => lang.t("到场签到", "Check in"),
        Start => lang.t("开始维修", "Start work"),
        Hold => lang.t("暂停(待料)", "Hold (parts)"),
        Resume => lang.t("继续维修", "Resume"),
        Complete => lang.t("完工", "Complete"),
        CannotComplete => lang.t("无法完成", "Cannot complete"),
    }
}

/// A dispatcher's step, as the job's history says it.
pub fn dispatch_action_label(lang: Lang, a: &DispatchAction) -> &'static str {
    match a {
        DispatchAction::Created => lang.t("创建", "Created"),
        DispatchAction::Assigned { .. } => lang.t("派单", "Assigned"),
        DispatchAction::Unassigned => lang.t("撤回派单", "Unassigned"),
        DispatchAction::Rescheduled { .. } => lang.t("改约", "Rescheduled"),
        DispatchAction::Cancelled { .. } => lang.t("取消", "Cancelled"),
        DispatchAction::Closed => lang.t("关闭", "Closed"),
    }
}
