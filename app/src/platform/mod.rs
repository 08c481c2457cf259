//! Platform services behind traits. Dioxus has no first-party camera or GPS API, so the app asks
//! these; the desktop backends (file picker, configured position, decoding codes from an image in
//! Rust) are what runs in development and tests, and the mobile backends plug in through
//! Kotlin/Swift plugins later.

pub mod camera;

use shared::model::GeoPoint;

pub use camera::{BrowserFiles, Camera, FilePicker};

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

/// Where the device is.
pub trait Locator: Send + Sync {
    /// The current position, if the platform knows it.
    fn current(&self) -> Option<GeoPoint>;
}

/// A fixed position from configuration (`ONSITE_LOCATION=lat,lon`), for desktop use.
#[derive(Clone, Copy, Debug, Default)]
pub struct FixedLocator(pub Option<GeoPoint>);

impl FixedLocator {
    pub fn from_env() -> Self {
        let parsed = std::env::var("ONSITE_LOCATION").ok().and_then(|v| {
            let (lat, lon) = v.split_once(',')?;
            let p = GeoPoint { lat: lat.trim().parse().ok()?, lon: lon.trim().parse().ok()? };
            p.is_valid().then_some(p)
        });
        FixedLocator(parsed)
    }
}

impl Locator for FixedLocator {
    fn current(&self) -> Option<GeoPoint> {
        self.0
    }
}

/// How far from the job's address a check-in may be before the technician must say why.
pub const CHECK_IN_RADIUS_M: f64 = 300.0;
