//! The root: shared state and the background work (sync, position), the router, and the shell
//! every screen sits in (top bar with the sync state, what the last action did, the tab bar).

use std::sync::Arc;
use std::time::Duration;

use dioxus::prelude::*;

use super::actions::SYNC_EVERY;
use super::engine::{ChosenLanguage, Status, SyncNow};
use super::route::{Route, Tab};
use super::state::{AppState, Notice, use_app_state};
use super::{Lang, STYLE};
use crate::sync_client::SyncProblem;

pub use super::services::{EngineHandle, Services};

#[component]
pub fn App() -> Element {
    let services = use_context::<Services>();
    use_context_provider(|| services.camera.clone());
    let state = use_context_provider(|| AppState {
        lang: Signal::new(Lang::Zh),
        sync: Signal::new(Default::default()),
        revision: Signal::new(0),
        notice: Signal::new(None),
        busy: Signal::new(Vec::new()),
        here: Signal::new(services.locator.current()),
        job_drafts: Signal::new(Default::default()),
        nudge: Signal::new(Arc::new(tokio::sync::Notify::new())),
    });

    // Background sync: every 30 s (backing off while the server cannot be reached), at once when
    // an action asks. The engine does the work off the thread that draws; this loop only waits
    // and sets the signals.
    let bg = services.clone();
    use_future(move || {
        let bg = bg.clone();
        async move {
            let mut sync = state.sync;
            if let Ok(Some(lang)) = bg.engine.ask(ChosenLanguage).await {
                let mut l = state.lang;
                l.set(lang);
            }
            if let Ok(status) = bg.engine.ask(Status).await {
                sync.set(status);
            }
            let nudge = state.nudge.peek().clone();
            let mut wait = SYNC_EVERY;
            loop {
                sync.write().running = true;
                match bg.engine.ask(SyncNow { every: SYNC_EVERY, last_wait: wait }).await {
                    Ok(synced) => {
                        wait = synced.next_wait;
                        let mut notice = state.notice;
                        // "Saved on the phone" becomes "sent", or says the work waits on the phone.
                        if notice.peek().as_ref().is_some_and(Notice::is_saved) {
                            if synced.status.is_synced() {
                                notice.set(Some(Notice::Sent));
                            } else if synced.status.problem == Some(SyncProblem::Unreachable) {
                                notice.set(Some(Notice::SavedOffline));
                            }
                        }
                        sync.set(synced.status);
                        // Only a sync that brought or sent something makes the screens read again.
                        if synced.changed {
                            state.refresh();
                        }
                    }
                    Err(e) => {
                        tracing::warn!("background sync did not answer: {e}");
                        sync.write().running = false;
                        wait = SYNC_EVERY;
                    }
                }
                tokio::select! {
                    _ = crate::platform::sleep(wait) => {}
                    _ = nudge.notified() => {}
                }
            }
        }
    });

    // A locator that listens to the page (browser, webview) does so while the app is open; a
    // real move redraws the distances and the check-in check.
    let watcher = services.locator.clone();
    use_future(move || {
        let watcher = watcher.clone();
        async move {
            let current = watcher.clone();
            let here = state.here;
            if let Some(watch) = watcher.watch(Box::new(move || {
                let mut here = here;
                here.set(current.current());
            })) {
                watch.await;
            }
        }
    });

    rsx! {
        style { {STYLE} }
        Router::<Route> {}
    }
}

/// The frame around every screen.
#[component]
pub fn Shell() -> Element {
    let state = use_app_state();
    let route = use_route::<Route>();
    let lang = (state.lang)();
    let sync = (state.sync)();
    let mut notice = state.notice;
    // A notice of success goes after a few seconds; an error stays until tapped away.
    let shown = notice();
    use_effect(use_reactive!(|shown| {
        if shown.as_ref().is_some_and(|n| !n.is_error()) {
            spawn(async move {
                crate::platform::sleep(Duration::from_secs(4)).await;
                if *notice.peek() == shown {
                    notice.set(None);
                }
            });
        }
    }));
    let tab = route.tab();
    let on = |t: Tab| if t == tab { "on" } else { "" };
    let online = sync.problem != Some(SyncProblem::Unreachable);
    let dot = if sync.running {
        ("◐", lang.t("同步中", "syncing"))
    } else if sync.is_synced() && online {
        ("●", lang.t("已同步", "synced"))
    } else if !online {
        ("○", lang.t("离线", "offline"))
    } else {
        ("◍", lang.t("待上传", "unsent"))
    };
    rsx! {
        div { class: "app",
            header {
                h1 { "OnSite" }
                span { class: "sync", "data-testid": "sync-dot", title: "{dot.1}", "{dot.0} {dot.1}" }
            }
            if let Some(b) = (state.busy)().last() {
                div { class: "progress", "data-testid": "busy", role: "status", span { class: "spinner" } "{b.text(lang)}" }
            }
            if let Some(n) = notice() {
                div {
                    class: if n.is_error() { "notice error" } else { "notice" },
                    "data-testid": "notice",
                    "data-kind": if n.is_error() { "error" } else { "ok" },
                    role: if n.is_error() { "alert" } else { "status" },
                    span { "{n.text(lang)}" }
                    button { class: "close", aria_label: lang.t("关闭", "Dismiss"), onclick: move |_| notice.set(None), "✕" }
                }
            }
            main { Outlet::<Route> {} }
            nav { class: "tabs",
                Link { class: on(Tab::Today), "data-tab": "today", to: Route::Today {}, {lang.t("今日", "Today")} }
                Link { class: on(Tab::Kb), "data-tab": "kb", to: Route::Kb {}, {lang.t("知识库", "Fixes")} }
                Link { class: on(Tab::Van), "data-tab": "stock", to: Route::Van {}, {lang.t("库存", "Van")} }
                Link { class: on(Tab::Settings), "data-tab": "settings", to: Route::Settings {}, {lang.t("设置", "Settings")} }
            }
        }
    }
}
