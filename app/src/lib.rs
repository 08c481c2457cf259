//! The OnSite technician app's library: the local store the screens call, and (later modules)
//! the sync client and platform services.
#![forbid(unsafe_code)]

pub mod store;

pub use store::{Store, StoreError};
