//! Today's plan and the days ahead.

use dioxus::prelude::*;
use shared::Timestamp;

use super::{Loading, read_failed};
use crate::sync_client::SyncProblem;
use crate::ui::components::today::TodayScreen;
use crate::ui::engine;
use crate::ui::hooks::use_ask;
use crate::ui::route::Route;
use crate::ui::services::Services;
use crate::ui::state::use_app_state;

#[component]
pub fn Today() -> Element {
    rsx! { DayPlan { offset: 0 } }
}

#[component]
pub fn Day(offset: i32) -> Element {
    rsx! { DayPlan { key: "{offset}", offset: offset.clamp(-1, 14) } }
}

/// The jobs of one day (today also holds unfinished earlier ones), with what the van lacks.
#[component]
fn DayPlan(offset: i32) -> Element {
    let services = use_context::<Services>();
    let state = use_app_state();
    let off = services.utc_offset_min;
    let plan = use_ask(move || engine::DayPlan { offset, utc_offset_min: off });
    let lang = (state.lang)();
    let sync = (state.sync)();
    let online = sync.problem != Some(SyncProblem::Unreachable);
    let nav = navigator();
    let read = plan.read();
    match &*read {
        None => rsx! { Loading { lang } },
        Some(Err(e)) => read_failed(e, lang),
        Some(Ok(engine::Day { jobs, readiness, paired })) => rsx! {
            TodayScreen {
                jobs: jobs.clone(),
                readiness: readiness.clone(),
                day_offset: offset,
                now: Timestamp::now(),
                here: (state.here)(),
                sync,
                online,
                lang,
                utc_offset_min: off,
                on_open: move |id| { nav.push(Route::Job { id }); },
                on_day: move |d: i32| { nav.push(if d == 0 { Route::Today {} } else { Route::Day { offset: d } }); },
                on_pair: (!paired).then_some(EventHandler::new(move |_| { nav.push(Route::Settings {}); })),
            }
        },
    }
}
