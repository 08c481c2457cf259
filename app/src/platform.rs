//! Platform services behind traits. Dioxus has no first-party camera or GPS API, so the app asks
//! these; the desktop backends (file picker, configured position) are what runs in development
//! and tests, and the mobile backends plug in through Kotlin/Swift plugins later.

use shared::model::GeoPoint;

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
