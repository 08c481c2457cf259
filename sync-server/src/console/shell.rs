//! The console's frame: the header with its tabs, the language switch and the session check.

use std::time::Duration;

use dioxus::prelude::*;
use shared::JobId;
use shared::i18n::Lang;

use super::Console;
use super::board::Board;
use super::kpis::KpiPage;
use super::map::MapPage;
use super::new_job::NewJobForm;
use super::reference::ReferencePage;
use super::technicians::TechnicianPage;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Board,
    NewJob,
    Map,
    Technicians,
    Reference,
    Kpis,
}

impl Tab {
    fn label(self, l: Lang) -> &'static str {
        match self {
            Tab::Board => l.t("工单看板", "Job board"),
            Tab::NewJob => l.t("新建工单", "New job"),
            Tab::Map => l.t("地图", "Map"),
            Tab::Technicians => l.t("技师", "Technicians"),
            Tab::Reference => l.t("基础数据", "Reference data"),
            Tab::Kpis => l.t("指标", "KPIs"),
        }
    }

    fn test_id(self) -> &'static str {
        match self {
            Tab::Board => "tab-board",
            Tab::NewJob => "tab-new-job",
            Tab::Map => "tab-map",
            Tab::Technicians => "tab-technicians",
            Tab::Reference => "tab-reference",
            Tab::Kpis => "tab-kpis",
        }
    }
}

#[component]
pub fn ConsoleApp() -> Element {
    let ctx = use_context::<Console>();
    let mut lang = use_signal(|| Lang::Zh);
    let mut tab = use_signal(|| Tab::Board);
    let selected = use_signal(|| None::<JobId>);
    let who = format!("{} ({})", ctx.actor.name, ctx.actor.role);
    // The session is checked again every minute: a logout, expiry or disabled account ends the tab.
    let mut ended = use_signal(|| false);
    let check = ctx.clone();
    use_future(move || {
        let ctx = check.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                if !ctx.still_valid().await {
                    ended.set(true);
                    break;
                }
            }
        }
    });
    if ended() {
        return rsx! {
            main { p { "data-testid": "session-ended", "会话已结束，请重新登录 / Your session ended: " a { href: "/console", "log in again" } } }
        };
    }
    let mut tabs = vec![Tab::Board];
    if ctx.can_dispatch() {
        tabs.push(Tab::NewJob);
    }
    tabs.extend([Tab::Map, Tab::Technicians, Tab::Reference, Tab::Kpis]);
    let l = lang();
    rsx! {
        header {
            strong { "OnSite" }
            nav {
                for t in tabs {
                    button { class: if tab() == t { "on" } else { "" }, "data-testid": t.test_id(), onclick: move |_| tab.set(t), {t.label(l)} }
                }
                a { href: "/api-docs", target: "_blank", {l.t("接口", "API")} }
            }
            span { class: "who", "{who}" }
            button { "data-testid": "lang", onclick: move |_| lang.set(l.other()), {l.t("English", "中文")} }
        }
        main {
            match tab() {
                Tab::Board => rsx! { Board { lang, selected } },
                Tab::NewJob => rsx! { NewJobForm { lang, on_created: move |id| { let mut s = selected; s.set(Some(id)); tab.set(Tab::Board); } } },
                Tab::Map => rsx! { MapPage { lang } },
                Tab::Technicians => rsx! { TechnicianPage { lang } },
                Tab::Reference => rsx! { ReferencePage { lang } },
                Tab::Kpis => rsx! { KpiPage { lang } },
            }
        }
    }
}
