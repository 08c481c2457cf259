//! Store reads for the screens: each runs off the UI thread and again whenever the store changes.

use dioxus::prelude::*;

use super::error::UiError;
use super::services::Services;
use super::state::use_app_state;
use crate::store::{Store, StoreError};

/// Reads from the store with `f` (on a blocking thread), again after every change to the store.
/// `None` until the first answer arrives; the screen keeps showing the previous answer while a
/// new one is read, so a refresh never flashes.
pub fn use_store<T, F>(f: F) -> Resource<Result<T, UiError>>
where
    T: Send + 'static,
    F: Fn(&mut Store) -> Result<T, StoreError> + Clone + Send + 'static,
{
    let services = use_context::<Services>();
    let state = use_app_state();
    use_resource(move || {
        // Subscribes the read to the store's revision.
        let _ = (state.revision)();
        let (store, f) = (services.store.clone(), f.clone());
        async move { store.read(f).await }
    })
}
