//! The technician app in a browser (`wasm32-unknown-unknown`): one wasm module runs twice.
//!
//! - In the page it draws the screens (the Dioxus web renderer) and answers the hardware through
//!   the page's APIs (file inputs with the camera, geolocation).
//! - In a dedicated Web Worker it runs the [`Engine`](crate::ui::engine::Engine): the same store
//!   code over SQLite kept in the origin's private file system (OPFS) by the `opfs-sahpool` VFS,
//!   the sync client (the browser's `fetch`), photo and barcode processing. Only a dedicated worker
//!   may hold OPFS's synchronous file handles, which is what lets SQLite commit durably: a
//!   reload or a killed tab after "saved" loses nothing.
//!
//! The page talks to the worker with [`worker_link::WorkerLink`]: each ask is MessagePack bytes with
//! a number, each answer comes back with the same number.

pub mod bench;
pub mod cipher;
pub mod worker;
pub mod worker_link;

use wasm_bindgen::JsCast;

/// Talc instead of Rust's default dlmalloc: loading a job's documents is thousands of small
/// allocations, and the browser store's open and commit times are mostly that.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Whether this copy of the module runs in the store worker (not in the page).
pub fn in_worker() -> bool {
    js_sys::global().dyn_into::<web_sys::DedicatedWorkerGlobalScope>().is_ok()
}

/// The path the app is served under, from the page's `<meta name="onsite-base">` (written by the
/// build script), so one build serves from any folder of any web server.
pub fn base_path() -> Option<String> {
    let meta = web_sys::window()?.document()?.query_selector("meta[name=onsite-base]").ok()??;
    meta.get_attribute("content").filter(|b| b.starts_with('/'))
}

/// Why this page cannot hold the app's data, if it cannot: browsers give offline storage (OPFS)
/// and service workers only to secure origins (HTTPS, or localhost), and not in every private
/// window.
pub fn storage_problem() -> Option<&'static str> {
    let window = web_sys::window()?;
    if !window.is_secure_context() {
        return Some("insecure");
    }
    let storage = js_sys::Reflect::get(&window.navigator(), &"storage".into()).ok()?;
    let has_opfs = !storage.is_undefined() && js_sys::Reflect::has(&storage, &"getDirectory".into()).unwrap_or(false);
    (!has_opfs).then_some("no-opfs")
}

/// The page's origin (`https://host:port`): the server that serves the app is the one it syncs with.
pub fn page_origin() -> Option<String> {
    web_sys::window()?.location().origin().ok()
}

/// The pairing code the page was opened with (`/app/#pair=CODE`, the link in the console's QR
/// code). Read once, before the router rewrites the address; kept in the fragment so the code
/// never reaches a server's or a proxy's log.
pub fn pairing_code_in_link() -> Option<String> {
    thread_local! {
        static CODE: Option<String> = web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .and_then(|h| h.strip_prefix("#pair=").map(str::to_owned))
            .filter(|c| !c.is_empty() && c.len() <= 32 && c.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
    CODE.with(Clone::clone)
}

/// The page's time zone, in minutes east of UTC (for display only; times are stored in UTC).
pub fn utc_offset_min() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// Frames an ask or an answer: its number, then the MessagePack bytes.
pub(crate) fn frame(id: u32, body: &[u8]) -> js_sys::Uint8Array {
    let out = js_sys::Uint8Array::new_with_length((4 + body.len()) as u32);
    out.subarray(0, 4).copy_from(&id.to_le_bytes());
    out.subarray(4, (4 + body.len()) as u32).copy_from(body);
    out
}

/// The number and the bytes of a framed message, or `None` for anything else.
pub(crate) fn unframe(data: &wasm_bindgen::JsValue) -> Option<(u32, Vec<u8>)> {
    let bytes = data.dyn_ref::<js_sys::Uint8Array>()?.to_vec();
    let (id, body) = bytes.split_at_checked(4)?;
    Some((u32::from_le_bytes(id.try_into().ok()?), body.to_vec()))
}
