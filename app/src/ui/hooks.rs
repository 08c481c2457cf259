//! Store reads for the screens: each is an ask to the engine, run again whenever the store changes.

use dioxus::prelude::*;

use super::engine::Ask;
use super::error::UiError;
use super::services::Services;
use super::state::use_app_state;

/// Asks `make()` of the engine, again after every change to the store (and whenever a signal
/// `make` reads changes). `None` until the first answer arrives; the screen keeps showing the
/// previous answer while a new one is read, so a refresh never flashes.
pub fn use_ask<A: Ask>(make: impl Fn() -> A + 'static) -> Resource<Result<A::Answer, UiError>> {
    let services = use_context::<Services>();
    let state = use_app_state();
    use_resource(move || {
        // Subscribes the read to the store's revision.
        let _ = (state.revision)();
        let (engine, ask) = (services.engine.clone(), make());
        async move { engine.ask(ask).await }
    })
}
