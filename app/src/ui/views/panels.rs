//! The knowledge base, the van's stock, settings, and the page for a link that leads nowhere.

use dioxus::prelude::*;
use shared::Timestamp;
use shared::model::Category;

use super::{Loading, read_failed};
use crate::sync_client::SyncProblem;
use crate::ui::actions;
use crate::ui::components::panels::{KbScreen, SettingsAction, SettingsData, SettingsScreen, StockScreen};
use crate::ui::engine::{ChooseLanguage, SearchKb, StoreFacts, StoreInfo, VanStock};
use crate::ui::hooks::use_ask;
use crate::ui::route::Route;
use crate::ui::services::Services;
use crate::ui::state::use_app_state;

#[component]
pub fn Kb() -> Element {
    rsx! { KbSearch { category: None, from_job: false } }
}

/// Opened from a job: a way back to it comes first.
#[component]
pub fn KbFor(category: String) -> Element {
    rsx! { KbSearch { key: "{category}", category: Category::parse(&category), from_job: true } }
}

#[component]
fn KbSearch(category: Option<Category>, from_job: bool) -> Element {
    let state = use_app_state();
    let nav = navigator();
    let lang = (state.lang)();
    let mut query = use_signal(String::new);
    let mut category = use_signal(|| category);
    let services = use_context::<Services>();
    // Re-read on every keystroke, off the UI thread (full-text search over the whole base).
    let hits = use_resource(move || {
        let (q, c, _) = (query(), category(), (state.revision)());
        let engine = services.engine.clone();
        async move {
            // Typing restarts this read: only a pause of 150 ms searches (and takes the store).
            crate::platform::sleep(std::time::Duration::from_millis(150)).await;
            engine.ask(SearchKb { query: q, category: c }).await
        }
    });
    let hits = match &*hits.read() {
        Some(Ok(h)) => h.clone(),
        _ => Vec::new(),
    };
    rsx! {
        if from_job {
            button { class: "secondary", "data-testid": "kb-back", onclick: move |_| nav.go_back(), {lang.t("← 返回工单", "← Back to the job")} }
        }
        KbScreen {
            query: query(), category: category(), hits, lang,
            on_search: move |q| query.set(q),
            on_category: move |c| category.set(c),
        }
    }
}

#[component]
pub fn Van() -> Element {
    let services = use_context::<Services>();
    let state = use_app_state();
    let lang = (state.lang)();
    let off = services.utc_offset_min;
    let stock = use_ask(move || VanStock { day_start: Timestamp::now().start_of_local_day(off) });
    let read = stock.read();
    match &*read {
        None => rsx! { Loading { lang } },
        Some(Err(e)) => read_failed(e, lang),
        Some(Ok(stock)) => rsx! { StockScreen { stock: stock.clone(), lang } },
    }
}

#[component]
pub fn Settings() -> Element {
    let services = use_context::<Services>();
    let state = use_app_state();
    let lang = (state.lang)();
    let info = use_ask(|| StoreInfo);
    // In a browser: whether the storage is kept for good, and how much is used (none elsewhere).
    let browser_storage = use_resource(|| async {
        let ask = document::eval(
            r#"if (!navigator.storage || !navigator.storage.estimate) return null;
const e = await navigator.storage.estimate();
const persisted = navigator.storage.persisted ? await navigator.storage.persisted() : false;
return { persisted, usage: e.usage || 0, quota: e.quota || 0 };"#,
        );
        ask.join::<Option<crate::ui::components::panels::BrowserStorage>>().await.ok().flatten()
    });
    let sync = (state.sync)();
    let read = info.read();
    let Some(Ok(StoreFacts { server, technician, size_bytes: storage_bytes })) = &*read else {
        return match &*read {
            Some(Err(e)) => read_failed(e, lang),
            _ => rsx! { Loading { lang } },
        };
    };
    let data = SettingsData {
        browser_storage: browser_storage.read().clone().flatten(),
        #[cfg(target_arch = "wasm32")]
        suggested_server: crate::web::page_origin(),
        #[cfg(not(target_arch = "wasm32"))]
        suggested_server: None,
        #[cfg(target_arch = "wasm32")]
        suggested_code: crate::web::pairing_code_in_link(),
        #[cfg(not(target_arch = "wasm32"))]
        suggested_code: None,
        server: server.clone(),
        technician: technician.clone(),
        storage_bytes: *storage_bytes,
        online: sync.problem != Some(SyncProblem::Unreachable),
        sync,
        utc_offset_min: services.utc_offset_min,
    };
    let mut lang_signal = state.lang;
    rsx! {
        SettingsScreen { data, lang, on_action: move |a: SettingsAction| match a {
            SettingsAction::SwitchLanguage => {
                lang_signal.set(lang.other());
                let engine = services.engine.clone();
                spawn(async move {
                    if let Err(e) = engine.ask(ChooseLanguage(lang.other())).await {
                        tracing::warn!("the language choice was not kept: {e}");
                    }
                });
            }
            SettingsAction::SignOut => actions::sign_out(&services, state),
            SettingsAction::SyncNow => actions::sync_now(&services, state),
            SettingsAction::Pair { server, code } => actions::pair(&services, state, server, code),
        } }
    }
}

/// A path that names no screen: back to today.
#[component]
pub fn NotFound(segments: Vec<String>) -> Element {
    let lang = (use_app_state().lang)();
    rsx! {
        div { class: "card", "data-testid": "not-found",
            p { {lang.t("没有这个页面。", "There is no such page.")} }
            Link { to: Route::Today {}, class: "btn", {lang.t("回到今日", "Back to today")} }
        }
    }
}
