//! What the screens run on: the engine behind an async handle and the phone's hardware, provided
//! to the whole app as context.

use std::sync::Arc;

use super::engine::Ask;
use super::error::UiError;
use crate::platform::{Camera, FilePicker, FixedLocator, Locator};

/// Where the screens' asks go: the engine in this process (desktop, liveview), or the browser's
/// store worker.
#[derive(Clone)]
pub struct EngineHandle {
    #[cfg(not(target_arch = "wasm32"))]
    engine: Arc<super::engine::Engine>,
    /// The store worker, and the media worker for [`Ask::MEDIA`] asks.
    #[cfg(target_arch = "wasm32")]
    workers: [std::rc::Rc<crate::web::worker_link::WorkerLink>; 2],
}

impl EngineHandle {
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(engine: Arc<super::engine::Engine>) -> Self {
        EngineHandle { engine }
    }

    #[cfg(target_arch = "wasm32")]
    pub fn workers(
        store: std::rc::Rc<crate::web::worker_link::WorkerLink>,
        media: std::rc::Rc<crate::web::worker_link::WorkerLink>,
    ) -> Self {
        EngineHandle { workers: [store, media] }
    }

    /// The engine itself (tests, benchmarks and the command line use its store directly).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn engine(&self) -> &Arc<super::engine::Engine> {
        &self.engine
    }

    /// Asks the engine; the work runs off the thread that draws.
    pub async fn ask<A: Ask>(&self, ask: A) -> Result<A::Answer, UiError> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            match tokio::spawn(ask.answer(self.engine.clone())).await {
                Ok(answer) => answer,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => Err(UiError::Interrupted),
            }
        }
        #[cfg(target_arch = "wasm32")]
        {
            self.workers[usize::from(A::MEDIA)].ask(ask).await
        }
    }
}

/// What the app runs on, provided as root context.
#[derive(Clone)]
pub struct Services {
    pub engine: EngineHandle,
    pub locator: Arc<dyn Locator>,
    /// Photos and pictures of part labels.
    pub camera: Arc<dyn Camera>,
    /// The technician's time zone for display.
    pub utc_offset_min: i32,
}

impl Services {
    pub fn with_engine(engine: EngineHandle, utc_offset_min: i32) -> Self {
        Services { engine, locator: Arc::new(FixedLocator::from_env()), camera: Arc::new(FilePicker), utc_offset_min }
    }

    /// An engine in this process over `store`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new(store: crate::store::Store, utc_offset_min: i32) -> Self {
        Self::with_engine(EngineHandle::new(Arc::new(super::engine::Engine::new(store))), utc_offset_min)
    }
}
