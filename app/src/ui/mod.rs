//! The technician's screens (Dioxus).
//!
//! - [`route::Route`]: one route per screen, inside the [`app::Shell`] layout (top bar with the
//!   sync state, the last action's notice, the tab bar).
//! - [`views`]: one component per route; reads through [`hooks::use_store`] (off the UI thread,
//!   again after every change) and hands plain data to a screen component.
//! - [`components`]: the screens and their pieces; data and callbacks only, so they render in
//!   tests from fixed data (dioxus-ssr).
//! - [`actions`]: every action runs there, off the UI thread, with progress and a notice of what
//!   happened ([`state::Notice`]); errors are typed ([`error::UiError`]) and rendered per language.
//! - [`state::AppState`]: the signals the screens share (language, sync state, revision...).

pub mod actions;
pub mod app;
pub mod components;
pub mod engine;
pub mod error;
pub mod hooks;
#[cfg(feature = "liveview")]
pub mod liveview;
pub mod route;
pub mod services;
pub mod state;
pub mod views;

pub use app::App;
pub use services::{EngineHandle, Services};

use shared::Timestamp;
pub use shared::i18n::{Lang, category_label, status_label};
use shared::model::GeoPoint;

/// Why an event stayed in the record without moving the status, as the technician reads it.
pub fn conflict_text(lang: Lang, r: &shared::status::Rejection) -> String {
    use shared::status::Rejection::*;
    match r {
        NotAllowed { from, .. } => {
            format!("{} {}", lang.t("此操作在该状态下无效：", "An action not possible while the job was"), status_label(lang, *from))
        }
        NotAssignee { .. } => lang.t("由未被派单的技师记录的操作", "Work recorded by a technician the job is not assigned to").into(),
        WorkAfterCancel { .. } => lang.t("工单取消后在现场记录的工作", "Work recorded after the job was cancelled").into(),
        CancelAfterCompletion => lang.t("现场完工后调度取消了工单", "Cancelled by the office after the work was completed").into(),
    }
}

/// "in 2 h 05 min" / "overdue 35 min", for SLA countdowns.
pub fn countdown(lang: Lang, now: Timestamp, deadline: Timestamp) -> (String, bool) {
    let mins = deadline.minutes_since(now);
    let (h, m) = (mins.abs() / 60, mins.abs() % 60);
    let span = match (lang, h > 0) {
        (Lang::Zh, true) => format!("{h} 小时 {m:02} 分"),
        (Lang::Zh, false) => format!("{m} 分钟"),
        (Lang::En, true) => format!("{h} h {m:02} min"),
        (Lang::En, false) => format!("{m} min"),
    };
    if mins >= 0 {
        (format!("{} {span}", lang.t("剩余", "due in")), false)
    } else {
        (format!("{} {span}", lang.t("已超时", "overdue")), true)
    }
}

/// "14:00" in the technician's zone.
pub fn clock(t: Timestamp, utc_offset_min: i32) -> String {
    t.in_zone(utc_offset_min).get(11..16).unwrap_or_default().to_owned()
}

/// A day as a technician says it, relative to `now`: today (empty), tomorrow, yesterday, or the
/// date ("12-05").
pub fn day_word(lang: Lang, t: Timestamp, now: Timestamp, utc_offset_min: i32) -> String {
    let days = t.start_of_local_day(utc_offset_min).0.saturating_sub(now.start_of_local_day(utc_offset_min).0).div_euclid(Timestamp::DAY);
    match days {
        0 => String::new(),
        1 => lang.t("明天", "Tomorrow").into(),
        2 => lang.t("后天", "In 2 days").into(),
        -1 => lang.t("昨天", "Yesterday").into(),
        _ => t.in_zone(utc_offset_min).get(5..10).unwrap_or_default().to_owned(),
    }
}

/// An appointment window as a technician reads it: "14:00–16:00", "Tomorrow 09:00–11:00".
pub fn window_text(lang: Lang, w: shared::model::Window, now: Timestamp, utc_offset_min: i32) -> String {
    let day = day_word(lang, w.start, now, utc_offset_min);
    let span = format!("{}–{}", clock(w.start, utc_offset_min), clock(w.end, utc_offset_min));
    if day.is_empty() { span } else { format!("{day} {span}") }
}

pub fn distance_text(here: Option<GeoPoint>, there: Option<GeoPoint>) -> Option<String> {
    let m = here?.distance_m(&there?);
    Some(if m < 1000.0 { format!("{m:.0} m") } else { format!("{:.1} km", m / 1000.0) })
}

pub fn money(minor: i64, currency: &str) -> String {
    shared::money::Money { minor, currency: currency.to_owned() }.to_string()
}

/// Phone-sized, large touch targets, high contrast for outdoors (`app/assets/style.css`).
pub const STYLE: &str = include_str!("../../assets/style.css");
