//! The technician's screens (Dioxus). Screens take data and callbacks, never the store: the root
//! [`app::App`] reads the store, runs the actions and hands each screen what it shows, so every
//! screen renders in tests from fixed data (dioxus-ssr).

pub mod app;
pub mod job;
#[cfg(feature = "liveview")]
pub mod liveview;
pub mod panels;
pub mod sign;
pub mod today;

use shared::Timestamp;
use shared::model::{Category, GeoPoint};
use shared::status::Status;

/// The language the screens speak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

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

/// "in 2 h 05 min" / "overdue 35 min", for SLA countdowns.
pub fn countdown(lang: Lang, now: Timestamp, deadline: Timestamp) -> (String, bool) {
    let mins = deadline.minutes_since(now);
    let (h, m) = (mins.abs() / 60, mins.abs() % 60);
    let span = if h > 0 { format!("{h} h {m:02} min") } else { format!("{m} min") };
    if mins >= 0 {
        (format!("{} {span}", lang.t("剩余", "due in")), false)
    } else {
        (format!("{} {span}", lang.t("已超时", "overdue")), true)
    }
}

pub fn distance_text(here: Option<GeoPoint>, there: Option<GeoPoint>) -> Option<String> {
    let m = here?.distance_m(&there?);
    Some(if m < 1000.0 { format!("{m:.0} m") } else { format!("{:.1} km", m / 1000.0) })
}

pub fn money(minor: i64, currency: &str) -> String {
    shared::money::Money { minor, currency: currency.to_owned() }.to_string()
}

/// Phone-sized, large touch targets, high contrast for outdoors.
pub const STYLE: &str = r#"
* { box-sizing: border-box; }
body { margin: 0; font-family: "Noto Sans CJK SC", "PingFang SC", sans-serif; font-size: 17px; background: #f4f5f7; color: #111; }
.app { max-width: 480px; margin: 0 auto; min-height: 100vh; display: flex; flex-direction: column; }
header { background: #0b5cad; color: #fff; padding: 12px 14px; display: flex; justify-content: space-between; align-items: center; }
header h1 { font-size: 20px; margin: 0; }
main { flex: 1; padding: 10px; }
nav.tabs { display: flex; position: sticky; bottom: 0; background: #fff; border-top: 1px solid #ccc; }
nav.tabs button { flex: 1; min-height: 56px; border: 0; border-radius: 0; background: none; color: #333; font-size: 15px; }
nav.tabs button.on { color: #0b5cad; font-weight: bold; }
button, .btn { min-height: 48px; padding: 10px 14px; border-radius: 8px; border: 1px solid #0b5cad; background: #0b5cad; color: #fff; font-size: 17px; }
.btn { display: inline-block; margin: 6px 0; text-decoration: none; }
button.secondary { background: #fff; color: #0b5cad; }
button.danger { background: #b00020; border-color: #b00020; }
button:disabled { opacity: .45; }
input, select, textarea { width: 100%; min-height: 48px; font-size: 17px; padding: 8px; border: 1px solid #888; border-radius: 8px; }
.card { background: #fff; border-radius: 10px; padding: 12px; margin-bottom: 10px; box-shadow: 0 1px 2px rgba(0,0,0,.12); }
.row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.muted { color: #555; font-size: 15px; }
.bad { color: #b00020; font-weight: bold; }
.ok { color: #116b2e; font-weight: bold; }
.banner { padding: 10px; border-radius: 8px; margin-bottom: 10px; font-weight: bold; }
.banner.offline { background: #fff3cd; color: #6b4e00; }
.banner.error { background: #fde7ea; color: #8a0018; }
.banner.conflict { background: #fde7ea; color: #8a0018; }
.sync { font-size: 14px; }
.prio-urgent { border-left: 6px solid #b00020; }
.prio-high { border-left: 6px solid #e07000; }
h2 { font-size: 18px; margin: 14px 0 6px; }
table { width: 100%; border-collapse: collapse; } td { padding: 4px 2px; border-bottom: 1px solid #eee; }
td.n { text-align: right; white-space: nowrap; }
.line-controls button { min-width: 48px; }
.photo-view { position: fixed; inset: 0; background: rgba(0,0,0,.92); color: #fff; z-index: 10; display: flex; flex-direction: column; align-items: center; justify-content: center; padding: 8px; }
.photo-view img { max-width: 100%; max-height: 85vh; object-fit: contain; }
figure { margin: 0; display: inline-block; text-align: center; }
.pad { width: 100%; height: 180px; border: 2px dashed #0b5cad; border-radius: 8px; background: #fff; touch-action: none; }
.signature { display: block; width: 240px; height: 80px; margin: 4px 0; border-bottom: 1px solid #bbb; }
.thumbs img { width: 96px; height: 72px; object-fit: cover; border-radius: 6px; margin: 2px; }
.stars button { min-width: 52px; }
"#;
