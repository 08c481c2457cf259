//! One component per route. A view reads what its screen shows through the store hooks (off the
//! UI thread), hands it to the screen component as plain data, and turns the screen's events into
//! navigation or actions. The screen components (`super::components`) never see the store, so
//! they render in tests from fixed data.

pub mod job;
mod panels;
mod today;

pub use job::Job;
pub use panels::{Kb, KbFor, NotFound, Settings, Van};
pub use today::{Day, Today};

use dioxus::prelude::*;

use super::Lang;
use super::error::UiError;

/// What a view shows while its first read is under way, or when it failed.
#[component]
pub fn Loading(lang: Lang) -> Element {
    rsx! { div { class: "card muted", "data-testid": "loading", {lang.t("正在读取…", "Loading…")} } }
}

/// A read that failed, in the technician's language.
pub fn read_failed(e: &UiError, lang: Lang) -> Element {
    rsx! { div { class: "notice error", "data-testid": "read-error", "{e.text(lang)}" } }
}
