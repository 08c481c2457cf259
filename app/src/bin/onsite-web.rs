//! The technician app as a web app: the same module starts the screens in the page and the store
//! in its worker (see `onsite_app::web`). Built for `wasm32-unknown-unknown` by
//! `scripts/build-web.sh`.

#[cfg(target_arch = "wasm32")]
fn main() {
    use onsite_app::web;

    console_error_panic_hook::set_once();
    if web::in_worker() {
        web::worker::run();
        return;
    }
    // Before the router owns the address: a pairing link's code is kept for the settings screen.
    let _ = web::pairing_code_in_link();
    // The screens' paths sit under the folder the app is served from (`/app` by default).
    let history = dioxus::web::WebHistory::new(web::base_path(), true);
    dioxus::LaunchBuilder::web().with_cfg(dioxus::web::Config::new().history(std::rc::Rc::new(history))).launch(Root);
}

/// Starts the store worker and provides what the screens run on (the worker's handle is tied to
/// the page's thread, so it is made here rather than passed to the launcher).
#[cfg(target_arch = "wasm32")]
#[allow(non_snake_case)]
fn Root() -> dioxus::prelude::Element {
    use std::sync::Arc;

    use dioxus::prelude::*;
    use onsite_app::platform::{FilePicker, FixedLocator, PageGeolocation};
    use onsite_app::ui::{EngineHandle, Services};
    use onsite_app::web;

    let start = || {
        let store = web::worker_link::WorkerLink::start("./worker.js", web::worker::STORE)?;
        let media = web::worker_link::WorkerLink::start("./worker.js", web::worker::MEDIA)?;
        Ok::<_, onsite_app::ui::error::UiError>(EngineHandle::workers(store, media))
    };
    let problem = use_hook(web::storage_problem);
    if let Some(problem) = problem {
        return rsx! {
            div { class: "card", "data-testid": "no-storage", "data-problem": "{problem}",
                if problem == "insecure" {
                    p { "OnSite 需要通过 HTTPS（或 localhost）打开，才能离线保存工作。请使用调度提供的 https:// 地址。" }
                    p { lang: "en", "OnSite must be opened over HTTPS (or on localhost) to keep your work offline. Use the https:// address from dispatch." }
                } else {
                    p { "此浏览器窗口无法为 OnSite 保存数据（无痕模式或旧版浏览器）。请用最新版 Chrome 或 Safari 的普通窗口打开。" }
                    p { lang: "en", "This browser window cannot keep OnSite's data (private mode or an old browser). Open it in a normal window of a current Chrome or Safari." }
                }
            }
        };
    }
    let started = use_hook(|| match start() {
        Ok(engine) => {
            provide_context(Services {
                engine,
                locator: Arc::new(PageGeolocation::new(Arc::new(FixedLocator(None)))),
                camera: Arc::new(FilePicker),
                utc_offset_min: web::utc_offset_min(),
            });
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    });
    match started {
        Ok(()) => rsx! { onsite_app::ui::App {} },
        Err(e) => rsx! { p { "OnSite could not start its storage / 无法启动本地存储: {e}" } },
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("onsite-web is the browser build: see scripts/build-web.sh");
    std::process::exit(2);
}
