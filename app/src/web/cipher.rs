//! The browser store's encryption: SQLite3 Multiple Ciphers (ChaCha20-Poly1305 pages) over the
//! OPFS VFS, keyed by a key the browser keeps for this origin.
//!
//! Where the key lives, honestly: `worker.js` keeps a *non-extractable* HMAC key in IndexedDB
//! (WebCrypto: this origin's scripts can use it but never read it) and the store key is derived
//! from it at each start, held only in the worker's memory. So the database file alone — the
//! origin's private file system copied out of a profile, or read by a tool that sees only that
//! file — is noise. Whoever has the whole browser profile, or runs script on this origin, can
//! use the key too; a browser offers nothing stronger to a web page.

use wasm_bindgen::JsCast;

use crate::store::StoreKey;
use crate::ui::error::UiError;

/// Makes the encrypting VFS, wrapped around the OPFS pool named `vfs`, SQLite's default.
#[allow(unsafe_code)]
pub fn encrypt_vfs(vfs: &str) -> Result<(), UiError> {
    let name = std::ffi::CString::new(vfs).map_err(|_| UiError::Engine(format!("bad VFS name {vfs:?}")))?;
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call (SQLite3 Multiple
    // Ciphers copies it); the VFS it names was registered by `sahpool::install` just before; the
    // worker runs one thread, so nothing else touches SQLite's VFS list meanwhile.
    let rc = unsafe { sqlite_wasm_rs::sqlite3mc_vfs_create(name.as_ptr(), 1) };
    if rc != sqlite_wasm_rs::SQLITE_OK {
        return Err(UiError::Engine(format!("the store's encryption could not start (SQLite error {rc})")));
    }
    Ok(())
}

/// The store's key, from the browser (`onsiteStoreKey` in `worker.js`).
pub async fn store_key() -> Result<StoreKey, UiError> {
    let fail = |what: &str| UiError::Engine(format!("the store's key is not available: {what}"));
    let global = js_sys::global();
    let get = js_sys::Reflect::get(&global, &"onsiteStoreKey".into()).map_err(|_| fail("no key function"))?;
    let get: js_sys::Function = get.dyn_into().map_err(|_| fail("no key function"))?;
    let promise: js_sys::Promise =
        get.call0(&global).map_err(|e| fail(&format!("{e:?}")))?.dyn_into().map_err(|_| fail("not a promise"))?;
    let bytes = wasm_bindgen_futures::JsFuture::from(promise).await.map_err(|e| fail(&format!("{e:?}")))?;
    let bytes = js_sys::Uint8Array::new(&bytes).to_vec();
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| fail("not 32 bytes"))?;
    Ok(StoreKey::from_bytes(bytes))
}
