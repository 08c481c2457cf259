//! The store worker: opens the store in OPFS, then answers the page's asks.

use std::sync::Arc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::store::Store;
use crate::ui::Lang;
use crate::ui::engine::{Engine, answer_bytes, answer_media_bytes};
use crate::ui::error::UiError;

/// The store's file name in the pool.
pub const STORE_FILE: &str = "/onsite.db";

/// The worker's name says its role: the one store worker holds the store (OPFS allows one), the
/// media worker processes photos and codes meanwhile.
pub const STORE: &str = "onsite-store";
pub const MEDIA: &str = "onsite-media";
/// `onsite-bench:N` (bench.html): times the store with N jobs in a pool of its own.
pub const BENCH: &str = "onsite-bench";

/// Starts answering, as the role the page named this worker for.
pub fn run() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let name = scope.name();
    if name == MEDIA {
        run_media(&scope);
    } else if let Some(jobs) = name.strip_prefix(BENCH) {
        let jobs = jobs.trim_start_matches(':').parse().unwrap_or(5_000usize).clamp(20, 20_000);
        wasm_bindgen_futures::spawn_local(async move {
            let out = super::bench::run(jobs).await.unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string());
            let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
            let _ = scope.post_message(&JsValue::from_str(&out));
        });
    } else {
        run_store(&scope);
    }
}

/// Photos and codes: each ask answered as it comes, one at a time (the worker has one thread).
fn run_media(scope: &DedicatedWorkerGlobalScope) {
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        if let Some((id, request)) = super::unframe(&e.data()) {
            wasm_bindgen_futures::spawn_local(async move { reply(id, &answer_media_bytes(&request).await) });
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
}

/// The store: asks that arrive while it opens wait for it.
fn run_store(scope: &DedicatedWorkerGlobalScope) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u32, Vec<u8>)>();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        if let Some(msg) = super::unframe(&e.data()) {
            let _ = tx.send(msg);
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The worker lives as long as the page: so does its handler.
    on_message.forget();
    wasm_bindgen_futures::spawn_local(async move {
        let engine = open().await;
        if let Err(e) = &engine {
            web_sys::console::error_1(&format!("the store could not be opened: {e}").into());
        }
        while let Some((id, request)) = rx.recv().await {
            match &engine {
                Ok(engine) => {
                    let engine = engine.clone();
                    // Each ask is its own task: reads go on while a sync waits on the network.
                    wasm_bindgen_futures::spawn_local(async move {
                        reply(id, &answer_bytes(engine, &request).await);
                    });
                }
                Err(e) => {
                    reply(id, &crate::ui::engine::encode(&Err::<(), _>(UiError::Said { zh: e.text(Lang::Zh), en: e.text(Lang::En) })))
                }
            }
        }
    });
}

fn reply(id: u32, body: &[u8]) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let framed = super::frame(id, body);
    let transfer = js_sys::Array::of1(&framed.buffer());
    if let Err(e) = scope.post_message_with_transfer(&framed, &transfer) {
        web_sys::console::error_1(&format!("could not answer the page: {e:?}").into());
    }
}

/// Installs the OPFS VFS as SQLite's default and opens the store on it.
async fn open() -> Result<Arc<Engine>, UiError> {
    let cfg = sqlite_wasm_vfs::sahpool::OpfsSAHPoolCfgBuilder::new().directory(".onsite").build();
    sqlite_wasm_vfs::sahpool::install::<sqlite_wasm_rs::WasmOsCallback>(&cfg, true)
        .await
        .map_err(|e| UiError::Engine(format!("the store's files are not available: is OnSite open in another tab or window? ({e:?})")))?;
    super::cipher::encrypt_vfs(&cfg.vfs_name)?;
    let key = super::cipher::store_key().await?;
    let store = Store::open_with_key(STORE_FILE, &key)?;
    Ok(Arc::new(Engine::new(store)))
}
