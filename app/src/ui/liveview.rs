//! The app's screens served to a browser over a websocket (dioxus-liveview on axum).
//!
//! The same components as the desktop window, running next to the same store; the browser only
//! draws and sends events. This is what the real-browser end-to-end test drives, and a way to try
//! the app at phone size in any browser, or on a phone on the same network (`onsite serve`).

use std::sync::Arc;

use axum::Router;
use axum::extract::WebSocketUpgrade;
use axum::response::Html;
use axum::routing::get;
use dioxus::prelude::*;
use dioxus_liveview::{LiveViewPool, axum_socket, interpreter_glue};

use super::app::{App, Services};
use crate::platform::{BrowserFiles, PageGeolocation};

/// The page to open. Every path serves the page; the app's router then shows the screen the path
/// names (`/today`, `/jobs/{id}`...), so reloads and the browser's back button land where expected.
pub const START_PATH: &str = "/today";
const WS_PATH: &str = "/ws";

/// A phone page rather than liveview's stock one: a viewport for phones and a proper title.
fn page() -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<title>OnSite</title>
</head>
<body><div id="main"></div>
{}
</body>
</html>"#,
        interpreter_glue(WS_PATH)
    )
}

/// A router serving the app; every browser tab gets its own screen state over the shared store.
pub fn router(services: Services) -> Router {
    // Files picked in the page stay in the browser: read them there. Each tab asks its own
    // browser where it is, falling back to the configured position.
    let services = Services { camera: Arc::new(BrowserFiles), ..services };
    let pool = LiveViewPool::new();
    let html = Html(page());
    let ws = get(move |upgrade: WebSocketUpgrade| async move {
        upgrade.on_upgrade(move |socket| async move {
            let make = move || {
                let locator = Arc::new(PageGeolocation::new(services.locator.clone()));
                VirtualDom::new(App).with_root_context(Services { locator, ..services })
            };
            if let Err(e) = pool.launch_virtualdom(axum_socket(socket), make).await {
                tracing::debug!(error = ?e, "a browser tab closed");
            }
        })
    });
    Router::new().route(WS_PATH, ws).fallback(get(move || async move { html }))
}
