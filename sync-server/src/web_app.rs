//! Serves the technician web app (the static files `scripts/build-web.sh` makes) at `/app/`: the
//! same origin as the sync API, so the app's requests need no CORS and its service worker's scope
//! is the app alone.

use std::path::Path;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Redirect;
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// Where the app is served.
pub const WEB_APP_PATH: &str = "/app";

/// Routes for the app's files in `dir`. A path under `/app/` that names no file (a screen the
/// app routes itself, e.g. `/app/jobs/…` opened from a bookmark) answers with `index.html`.
/// Every answer is revalidated (`no-cache`): the service worker, not the HTTP cache, keeps the
/// app for offline starts, and a new build is seen at once.
pub fn routes(dir: &Path) -> Router {
    let files = ServeDir::new(dir).append_index_html_on_directories(true).fallback(ServeFile::new(dir.join("index.html")));
    Router::new()
        .route(WEB_APP_PATH, get(|| async { Redirect::permanent("/app/") }))
        .nest_service(&format!("{WEB_APP_PATH}/"), files)
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        // The app is never framed by another page (clicks tricked into it), and files are what
        // their type says.
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
}
