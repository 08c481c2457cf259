//! The technician app as a web app: the same module starts the screens in the page and the store
//! in its worker (see `onsite_app::web`). Built for `wasm32-unknown-unknown` by
//! `scripts/build-web.sh`.

#[cfg(target_arch = "wasm32")]
fn main() {
    use std::sync::Arc;

    use onsite_app::platform::{FilePicker, FixedLocator, PageGeolocation};
    use onsite_app::ui::{EngineHandle, Services};
    use onsite_app::web;

    console_error_panic_hook::set_once();
    if web::in_worker() {
        web::worker::run();
        return;
    }
    let link = match web::worker_link::WorkerLink::start("./worker.js") {
        Ok(link) => link,
        Err(e) => {
            web_sys::console::error_1(&format!("OnSite could not start its store: {e}").into());
            return;
        }
    };
    let services = Services {
        engine: EngineHandle::worker(link),
        locator: Arc::new(PageGeolocation::new(Arc::new(FixedLocator(None)))),
        camera: Arc::new(FilePicker),
        utc_offset_min: web::utc_offset_min(),
    };
    dioxus::LaunchBuilder::web().with_context(services).launch(onsite_app::ui::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("onsite-web is the browser build: see scripts/build-web.sh");
    std::process::exit(2);
}
