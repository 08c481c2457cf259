//! Platform services behind traits. Dioxus has no first-party camera or GPS API, so the app asks
//! these; the desktop backends (file picker, configured position, decoding codes from an image in
//! Rust) are what runs in development and tests. A page the app runs in (a browser over liveview,
//! a phone's webview) can also answer through its own web APIs ([`PageGeolocation`],
//! [`BrowserFiles`]); native capture on phones plugs in through Kotlin/Swift plugins later.

pub mod camera;
pub mod keys;
pub mod location;

pub use camera::{BrowserFiles, Camera, FilePicker};
pub use location::{FixedLocator, Locator, PageGeolocation, Watch};

use crate::scan::{ScanError, Scanned};

/// Reads the code on a part's label from a picture of it.
pub trait Scanner: Send + Sync {
    fn scan(&self, image: &[u8]) -> Result<Scanned, ScanError>;
}

/// Decodes QR codes and 1-D barcodes in Rust (rxing): the same on every platform; a phone may
/// swap in its native scanner.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImageScanner;

impl Scanner for ImageScanner {
    fn scan(&self, image: &[u8]) -> Result<Scanned, ScanError> {
        crate::scan::decode(image)
    }
}

pub use shared::rules::CHECK_IN_RADIUS_M;

/// Waits `d` on whatever runs the app's futures (tokio on a PC, the page's timers in a browser).
pub async fn sleep(d: std::time::Duration) {
    #[cfg(not(target_arch = "wasm32"))]
    tokio::time::sleep(d).await;
    #[cfg(target_arch = "wasm32")]
    gloo_timers::future::sleep(d).await;
}
