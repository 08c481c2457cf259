//! The OnSite technician app's library: the local store the screens call, demo data, and (in
//! later modules) the sync client and platform services.
// One call into C is needed in the browser build (`web::cipher`), allowed there alone.
#![deny(unsafe_code)]

pub mod demo;
pub use shared::photo;
pub mod platform;
pub mod scan;
pub mod store;
pub mod sync_client;
pub mod ui;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use store::{Store, StoreError};
