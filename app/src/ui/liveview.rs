//! The app's screens served to a browser over a websocket (dioxus-liveview on axum).
//!
//! The same components as the desktop window, running next to the same store; the browser only
//! draws and sends events. This is what the real-browser end-to-end test drives, and a way to try
//! the app at phone size in any browser during development (`onsite serve`).

use axum::Router;
use dioxus::prelude::*;
use dioxus_liveview::LiveviewRouter;

use super::app::{App, Services};
use super::pick::FileSource;

/// The page to open: liveview answers every path below the root except the bare `/`, and its
/// websocket path is right only when mounted at the root (0.7.10 drops the leading `/` of
/// deeper mount points).
pub const START_PATH: &str = "/today";

/// A router serving the app at the root (open [`START_PATH`]); every browser tab gets its own
/// screen state over the shared store.
pub fn router(services: Services) -> Router {
    Router::new().with_virtual_dom("/", move || {
        VirtualDom::new(App).with_root_context(services.clone()).with_root_context(FileSource::Browser)
    })
}
