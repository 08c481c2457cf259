//! The app's screens served to a browser over a websocket (dioxus-liveview on axum).
//!
//! The same components as the desktop window, running next to the same store; the browser only
//! draws and sends events. This is what the real-browser end-to-end test drives, and a way to try
//! the app at phone size in any browser, or on a phone on the same network (`onsite serve`).

use std::sync::Arc;

use axum::Router;
use axum::extract::WebSocketUpgrade;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
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

/// The app served to browser tabs, behind this session's key.
pub struct Liveview {
    pub router: Router,
    key: String,
}

impl Liveview {
    /// The address to open (path and query): it carries the key once; the page then keeps it in
    /// a cookie and drops it from the address bar.
    pub fn start_path(&self) -> String {
        format!("{START_PATH}?key={}", self.key)
    }
}

const KEY_COOKIE: &str = "onsite_live";

/// The session key a request carries in its cookie, or in `?key=`.
fn presented_key(headers: &HeaderMap, query: Option<&str>) -> (Option<String>, bool) {
    let from_query = query.and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("key=")).map(str::to_owned));
    if from_query.is_some() {
        return (from_query, true);
    }
    let from_cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == KEY_COOKIE)
        .map(|(_, value)| value.to_owned());
    (from_cookie, false)
}

/// Whether the request's `Origin` is the page's own host (browsers always send it on a
/// WebSocket): another site's page cannot open the app's socket.
fn same_origin(headers: &HeaderMap) -> bool {
    let (Some(origin), Some(host)) = (headers.get(header::ORIGIN), headers.get(header::HOST)) else { return false };
    let (Ok(origin), Ok(host)) = (origin.to_str(), host.to_str()) else { return false };
    origin.split_once("://").is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
}

fn refused() -> Response {
    let body = "<!DOCTYPE html><meta charset=utf-8><meta name=viewport content=\"width=device-width\"><title>OnSite</title>\
        <p>请打开 <code>onsite serve</code> 打印的地址（其中带有本次的密钥）。</p>\
        <p>Open the address <code>onsite serve</code> printed (it carries this session's key).</p>";
    (StatusCode::FORBIDDEN, Html(body)).into_response()
}

/// The app for browser tabs; every tab gets its own screen state over the shared store.
///
/// The page has no login of its own: whoever drives it works as the paired technician. So only
/// a browser that was given this session's key (a random secret printed at start) gets the page
/// and its socket, and the socket also checks that it is opened by the app's own page (`Origin`),
/// so other web pages open in the same browser cannot drive the app.
pub fn serve(services: Services) -> Liveview {
    let key = {
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes).expect("the OS random source works");
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    Liveview { router: router_with_key(services, key.clone()), key }
}

fn router_with_key(services: Services, key: String) -> Router {
    // Files picked in the page stay in the browser: read them there. Each tab asks its own
    // browser where it is, falling back to the configured position.
    let services = Services { camera: Arc::new(BrowserFiles), ..services };
    let pool = LiveViewPool::new();
    let html = page();
    let ws_key = key.clone();
    let ws = get(move |headers: HeaderMap, upgrade: WebSocketUpgrade| async move {
        let (presented, _) = presented_key(&headers, None);
        if presented.as_deref() != Some(ws_key.as_str()) || !same_origin(&headers) {
            tracing::warn!(origin = ?headers.get(header::ORIGIN), "refused a socket without this session's key or from another origin");
            return refused();
        }
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
    let pages = get(move |headers: HeaderMap, uri: Uri| async move {
        match presented_key(&headers, uri.query()) {
            (Some(k), from_query) if k == key => {
                if from_query {
                    // Keep the key in a cookie only this site's pages send, and take it out of the
                    // address (and so out of the history and screenshots).
                    let cookie = format!("{KEY_COOKIE}={key}; HttpOnly; SameSite=Strict; Path=/");
                    let to = uri.path().to_owned();
                    return ([(header::SET_COOKIE, cookie), (header::LOCATION, to)], StatusCode::SEE_OTHER).into_response();
                }
                Html(html.clone()).into_response()
            }
            _ => refused(),
        }
    });
    Router::new().route(WS_PATH, ws).fallback(pages)
}
