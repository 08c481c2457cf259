//! What the screens run on: the store behind an async handle, the sync client and the phone's
//! hardware, provided to the whole app as context.

use std::sync::{Arc, Mutex};

use crate::platform::{Camera, FilePicker, FixedLocator, ImageScanner, Locator, Scanner};
use crate::store::{Store, StoreError};
use crate::sync_client::SyncClient;

use super::error::UiError;

/// The local store, used from async code: every call runs on a blocking thread, never on the
/// thread that draws the screens (SQLite, document hydration, search and photo work all take
/// milliseconds to seconds). One lock, shared with the sync client: one action is one
/// transaction, in order.
#[derive(Clone)]
pub struct StoreHandle {
    inner: Arc<Mutex<Store>>,
}

impl StoreHandle {
    pub fn new(store: Arc<Mutex<Store>>) -> Self {
        StoreHandle { inner: store }
    }

    /// The shared store (for the sync client, which runs its own work).
    pub fn shared(&self) -> &Arc<Mutex<Store>> {
        &self.inner
    }

    /// Runs `f` with the store off the UI thread.
    pub async fn run<T, E>(&self, f: impl FnOnce(&mut Store) -> Result<T, E> + Send + 'static) -> Result<T, UiError>
    where
        T: Send + 'static,
        E: Into<UiError> + Send + 'static,
    {
        let inner = self.inner.clone();
        let work = move || {
            let mut store = inner.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut store).map_err(Into::into)
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(UiError::Interrupted),
        }
    }

    /// [`StoreHandle::run`] for the store's own errors (used by the hooks).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, UiError> {
        self.run(f).await
    }
}

/// What the app runs on, provided as root context.
#[derive(Clone)]
pub struct Services {
    pub store: StoreHandle,
    pub sync: Arc<SyncClient>,
    pub locator: Arc<dyn Locator>,
    /// Photos and pictures of part labels.
    pub camera: Arc<dyn Camera>,
    pub scanner: Arc<dyn Scanner>,
    /// The technician's time zone for display.
    pub utc_offset_min: i32,
}

impl Services {
    pub fn new(store: Store, utc_offset_min: i32) -> Self {
        let store = Arc::new(Mutex::new(store));
        Services {
            sync: Arc::new(SyncClient::new(store.clone())),
            store: StoreHandle::new(store),
            locator: Arc::new(FixedLocator::from_env()),
            camera: Arc::new(FilePicker),
            scanner: Arc::new(ImageScanner),
            utc_offset_min,
        }
    }
}
