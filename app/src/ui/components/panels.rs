//! Knowledge base, van stock, and settings (pairing, sync, storage, sign out).

use dioxus::prelude::*;

use shared::model::Category;
use shared::reference::KbArticle;

use super::today::SyncIndicator;
use crate::store::{KbHit, StockView};
use crate::sync_client::SyncStatus;
use crate::ui::{Lang, category_label};

/// One article's symptom, cause, fix and parts, as the knowledge base and the job screen show it.
#[component]
pub fn KbArticleBody(article: KbArticle, lang: Lang) -> Element {
    let a = &article;
    let zh = lang == Lang::Zh;
    rsx! {
        div { b { {lang.t("症状", "Symptom")} } ": " if zh { "{a.symptom_zh}" } else { "{a.symptom_en}" } }
        div { b { {lang.t("原因", "Cause")} } ": " if zh { "{a.cause_zh}" } else { "{a.cause_en}" } }
        div { b { {lang.t("处理", "Fix")} } ": " if zh { "{a.fix_zh}" } else { "{a.fix_en}" } }
        if !a.parts.is_empty() { div { class: "muted", "{lang.t(\"配件\", \"Parts\")}: {a.parts.join(\", \")}" } }
    }
}

/// Search by symptom (Chinese or English), narrowed to one kind of appliance.
#[component]
pub fn KbScreen(
    query: String,
    category: Option<Category>,
    hits: Vec<KbHit>,
    lang: Lang,
    on_search: EventHandler<String>,
    on_category: EventHandler<Option<Category>>,
) -> Element {
    let zh = lang == Lang::Zh;
    rsx! {
        select { "data-testid": "kb-category", onchange: move |e| on_category.call(Category::parse(&e.value())),
            option { value: "", selected: category.is_none(), {lang.t("全部设备", "All appliances")} }
            for c in Category::ALL {
                option { value: "{c.as_str()}", selected: category == Some(c), {category_label(lang, c)} }
            }
        }
        input { "data-testid": "kb-search", placeholder: lang.t("搜索故障：品牌、症状、错误码…", "Search faults: brand, symptom, error code…"), value: "{query}", oninput: move |e| on_search.call(e.value()) }
        if hits.is_empty() && !query.trim().is_empty() {
            div { class: "card", {lang.t("没有找到相关故障", "No matching faults")} }
        }
        for h in hits {
            div { class: "card", "data-testid": "kb-hit",
                b { if zh { "{h.article.title_zh}" } else { "{h.article.title_en}" } }
                div { class: "muted", "{category_label(lang, h.article.category)} {h.article.brands.join(\", \")}" }
                KbArticleBody { article: h.article.clone(), lang }
            }
        }
    }
}

#[component]
pub fn StockScreen(stock: Vec<StockView>, lang: Lang) -> Element {
    let zh = lang == Lang::Zh;
    let low = stock.iter().filter(|s| s.is_low()).count();
    rsx! {
        if stock.is_empty() { div { class: "card", {lang.t("车上没有库存记录", "No van stock recorded")} } }
        if low > 0 { div { class: "banner error", "{low} {lang.t(\"种配件库存不足\", \"parts are low\")}" } }
        table { "data-testid": "stock",
            for s in stock {
                tr { class: if s.is_low() { "bad" } else { "" },
                    td { if zh { "{s.name_zh}" } else { "{s.name_en}" } div { class: "muted", "{s.part_no}" } }
                    td { class: "n", "{s.quantity}" }
                    td { class: "n muted", "{lang.t(\"今日用\", \"used today\")} {s.used_today}" }
                }
            }
        }
    }
}

/// What the settings screen shows.
#[derive(Clone, Debug, PartialEq)]
pub struct SettingsData {
    pub server: Option<String>,
    pub technician: Option<String>,
    pub storage_bytes: u64,
    /// The server to offer when pairing (the web app's own origin: it is served by its server).
    pub suggested_server: Option<String>,
    /// The code the app was opened with (the console's pairing QR code links to `/app/#pair=…`).
    pub suggested_code: Option<String>,
    /// What the browser says about the site's storage (in a browser only).
    pub browser_storage: Option<BrowserStorage>,
    pub sync: SyncStatus,
    pub online: bool,
    pub utc_offset_min: i32,
}

/// The browser's answer on keeping the app's data: whether it promised not to clear it when space
/// runs short (`navigator.storage.persist()`), and how much of its quota the site uses.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct BrowserStorage {
    pub persisted: bool,
    pub usage: u64,
    pub quota: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SettingsAction {
    Pair { server: String, code: String },
    SyncNow,
    SignOut,
    SwitchLanguage,
}

#[component]
pub fn SettingsScreen(data: SettingsData, lang: Lang, on_action: EventHandler<SettingsAction>) -> Element {
    let mut server = use_signal(|| data.server.clone().or_else(|| data.suggested_server.clone()).unwrap_or_default());
    let mut code = use_signal(|| data.suggested_code.clone().unwrap_or_default());
    // Signing out needs a second tap: re-pairing needs a new code from dispatch.
    let mut confirming = use_signal(|| false);
    // The store refuses anyway; saying so before the second tap saves the technician a surprise.
    let unsent = data.sync.pending_changes > 0 || data.sync.pending_blob_bytes > 0;
    // A revoked token (or a deactivated and reinstated technician): pairing again keeps the work.
    let not_accepted = data.sync.problem == Some(crate::sync_client::SyncProblem::NotAccepted);
    rsx! {
        div { class: "card",
            match &data.technician {
                Some(t) if !not_accepted => rsx! { div { "data-testid": "paired", "{lang.t(\"已登录\", \"Signed in as\")} {t}" } div { class: "muted", "{data.server.clone().unwrap_or_default()}" } },
                _ => rsx! {
                    b { {lang.t("配对设备", "Pair this phone")} }
                    if not_accepted {
                        div { "data-testid": "pair-again",
                            {lang.t(
                                "服务器不再接受这台手机。请向调度索取新的配对码重新配对：未上传的工作会保留并在配对后上传。",
                                "The server no longer accepts this phone. Pair again with a new code from dispatch: unsent work stays on the phone and is delivered after pairing.",
                            )}
                        }
                    }
                    label { class: "field", span { {lang.t("服务器地址", "Server address")} }
                        input { "data-testid": "server", r#type: "url", placeholder: "https://onsite.example.com", value: "{server}", oninput: move |e| server.set(e.value()) }
                    }
                    input { "data-testid": "code", placeholder: lang.t("调度提供的配对码", "Pairing code from dispatch"), value: "{code}", oninput: move |e| code.set(e.value()) }
                    button { "data-testid": "pair", onclick: move |_| on_action.call(SettingsAction::Pair { server: server.read().clone(), code: code.read().clone() }), {lang.t("配对", "Pair")} }
                },
            }
        }
        div { class: "card",
            SyncIndicator { sync: data.sync.clone(), online: data.online, lang, utc_offset_min: data.utc_offset_min }
            button { "data-testid": "sync-now", onclick: move |_| on_action.call(SettingsAction::SyncNow), {lang.t("立即同步", "Sync now")} }
            div { class: "muted", "{lang.t(\"本地存储\", \"Storage used\")}: {data.storage_bytes / 1024} KB" }
            if let Some(b) = &data.browser_storage {
                div { class: "muted", "data-testid": "browser-storage", "data-persisted": "{b.persisted}",
                    if b.persisted {
                        {lang.t("浏览器已承诺保留本机数据", "The browser keeps this app's data")}
                    } else {
                        {lang.t("浏览器空间不足时可能清除数据：请把应用添加到主屏幕", "The browser may clear data when space runs short: add the app to the home screen")}
                    }
                    " · {b.usage / (1024 * 1024)} / {b.quota / (1024 * 1024)} MB"
                }
            }
        }
        div { class: "card",
            b { {lang.t("语言", "Language")} }
            div { button { class: "secondary", "data-testid": "language", onclick: move |_| on_action.call(SettingsAction::SwitchLanguage), "中文 / English" } }
        }
        // Far from everything else: signing out clears the phone.
        div { class: "card", style: "margin-top: 32px",
            if data.technician.is_some() {
                if confirming() {
                    div { "data-testid": "sign-out-question",
                        if unsent {
                            {lang.t("本机还有未上传的工作：请先同步，再退出。", "This phone holds unsent work: sync first, then sign out.")}
                        } else {
                            {lang.t("退出后本机的工单和照片将被清除。确定退出？", "Signing out clears this phone's jobs and photos. Sign out?")}
                        }
                    }
                    div { class: "row",
                        button { class: "danger", "data-testid": "sign-out-confirm", disabled: unsent, onclick: move |_| { confirming.set(false); on_action.call(SettingsAction::SignOut) }, {lang.t("退出并清除", "Sign out and clear")} }
                        button { class: "secondary", "data-testid": "sign-out-cancel", onclick: move |_| confirming.set(false), {lang.t("取消", "Cancel")} }
                    }
                } else {
                    button { class: "danger", "data-testid": "sign-out", onclick: move |_| confirming.set(true), {lang.t("退出登录", "Sign out")} }
                }
            }
        }
    }
}
