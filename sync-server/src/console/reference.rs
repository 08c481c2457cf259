//! Reference data: the parts catalog, the price list and the knowledge base. Every published
//! version stays readable; a new one is pasted or edited as JSON and checked as the API checks
//! it before it reaches any phone.

use dioxus::prelude::*;
use shared::i18n::Lang;

use super::Console;
use super::job_panel::OFFICE_OFFSET_MIN;
use crate::reference::{KINDS, publish_kind};
use crate::store::ReferenceVersion;

fn kind_label(l: Lang, kind: &str) -> &'static str {
    match kind {
        "catalog" => l.t("配件目录", "Parts catalog"),
        "price_list" => l.t("价目表", "Price list"),
        _ => l.t("知识库", "Knowledge base"),
    }
}

/// A stored version as indented JSON for editing.
fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json).and_then(|v| serde_json::to_string_pretty(&v)).unwrap_or_else(|_| json.to_owned())
}

#[component]
pub fn ReferencePage(lang: Signal<Lang>) -> Element {
    let mut kind = use_signal(|| KINDS[0].to_owned());
    let l = lang();
    rsx! {
        section { class: "reference", "data-testid": "reference",
            nav { class: "subtabs",
                for k in KINDS {
                    button { class: if kind() == k { "on" } else { "" }, "data-testid": "kind-{k}", onclick: move |_| kind.set(k.to_owned()), {kind_label(l, k)} }
                }
            }
            KindEditor { key: "{kind}", lang, kind: kind() }
        }
    }
}

#[component]
fn KindEditor(lang: Signal<Lang>, kind: String) -> Element {
    let ctx = use_context::<Console>();
    let mut versions = use_signal(Vec::<ReferenceVersion>::new);
    let mut text = use_signal(String::new);
    let mut showing = use_signal(|| None::<u32>);
    let mut message = use_signal(|| None::<(bool, String)>);
    let load_ctx = ctx.clone();
    let k = kind.clone();
    use_future(move || {
        let ctx = load_ctx.clone();
        let kind = k.clone();
        async move {
            let list = ctx.state.store.reference_versions(&kind).await.unwrap_or_default();
            if let Some(last) = list.last()
                && let Ok(Some((v, json))) = ctx.state.store.reference(&kind, Some(last.version)).await
            {
                text.set(pretty(&json));
                showing.set(Some(v));
            }
            versions.set(list);
        }
    });
    let l = lang();
    let view_ctx = ctx.clone();
    let vk = kind.clone();
    let view = use_callback(move |v: u32| {
        let ctx = view_ctx.clone();
        let kind = vk.clone();
        spawn(async move {
            if let Ok(Some((v, json))) = ctx.state.store.reference(&kind, Some(v)).await {
                text.set(pretty(&json));
                showing.set(Some(v));
                message.set(None);
            }
        });
    });
    let pk = kind.clone();
    let publish = move |_| {
        let ctx = ctx.clone();
        let kind = pk.clone();
        let body = text.read().clone();
        // The version after the newest this page saw: if someone published meanwhile, the
        // store refuses rather than overwrite theirs.
        let next = versions.read().last().map_or(1, |v| v.version + 1);
        spawn(async move {
            if let Err(e) = ctx.require(crate::accounts::Role::Admin).await {
                return message.set(Some((false, e)));
            }
            let value = match serde_json::from_str::<serde_json::Value>(&body) {
                Ok(mut v) => {
                    if let Some(o) = v.as_object_mut() {
                        o.insert("version".into(), next.into());
                    }
                    v
                }
                Err(e) => return message.set(Some((false, format!("JSON: {e}")))),
            };
            match publish_kind(&ctx.state, kind.clone(), value).await {
                Ok(p) => {
                    ctx.audit("publish reference", serde_json::json!({ "kind": p.kind, "version": p.version })).await;
                    versions.set(ctx.state.store.reference_versions(&kind).await.unwrap_or_default());
                    // Shown as stored (indented, with its version), ready for the next edit.
                    if let Ok(Some((_, json))) = ctx.state.store.reference(&kind, Some(p.version)).await {
                        text.set(pretty(&json));
                    }
                    showing.set(Some(p.version));
                    message.set(Some((true, format!("v{}", p.version))));
                }
                Err(e) => message.set(Some((false, e.to_string()))),
            }
        });
    };
    let newest = versions.read().last().map(|v| v.version);
    rsx! {
        div { class: "board",
            div { class: "lists",
                if let Some(v) = showing() {
                    p { {l.t("正在查看版本 ", "Showing version ")} strong { "data-testid": "showing-version", "{v}" }
                        if Some(v) != newest { span { class: "warning", {l.t("（旧版本：发布将以它为新版本）", " (an old version: publishing makes it the newest)")} } }
                    }
                }
                textarea { class: "json", "data-testid": "reference-json", rows: "24", spellcheck: "false", value: "{text}", oninput: move |e| text.set(e.value()) }
                if let Some((ok, m)) = message() {
                    p { class: if ok { "live" } else { "error" }, "data-testid": "reference-message",
                        if ok { {l.t("已发布 ", "Published ")} } "{m}"
                    }
                }
                if ctx_can_admin() {
                    button { "data-testid": "publish-reference", onclick: publish, {l.t("发布为新版本", "Publish as a new version")} }
                }
            }
            aside { class: "panel",
                h3 { {l.t("版本历史", "Version history")} }
                if versions.read().is_empty() { p { {l.t("尚未发布", "Nothing published yet")} } }
                ol { reversed: true, "data-testid": "reference-versions",
                    for v in versions.read().iter().rev().cloned() {
                        li { key: "{v.version}",
                            button { onclick: move |_| view.call(v.version), "v{v.version}" }
                            " {v.published_at.in_zone(OFFICE_OFFSET_MIN)}"
                        }
                    }
                }
            }
        }
    }
}

fn ctx_can_admin() -> bool {
    use_context::<Console>().can_admin()
}
