//! Where the technician is: a check-in records it, the Today list measures distances from it.
//!
//! Two backends: a position configured for desktop development ([`FixedLocator`]), and the page's
//! own `navigator.geolocation` ([`PageGeolocation`]), which a browser on liveview answers, and so
//! can a phone's webview once its host grants the location permission.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use web_time::Instant;

use dioxus::prelude::*;
use serde::Deserialize;
use shared::model::GeoPoint;

/// A backend's watch over the page, run by the app for as long as it is open.
pub type Watch<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Where the device is.
pub trait Locator: Send + Sync {
    /// The current position, if the platform knows it.
    fn current(&self) -> Option<GeoPoint>;

    /// Backends that learn the position from the page the UI runs in return the work that
    /// listens to it; `moved` is called when the position changed enough to redraw distances.
    fn watch<'a>(&'a self, moved: Box<dyn Fn() + 'a>) -> Option<Watch<'a>> {
        let _ = moved;
        None
    }
}

/// A fixed position from configuration (`ONSITE_LOCATION=lat,lon`), for desktop use.
#[derive(Clone, Copy, Debug, Default)]
pub struct FixedLocator(pub Option<GeoPoint>);

impl FixedLocator {
    pub fn from_env() -> Self {
        FixedLocator(std::env::var("ONSITE_LOCATION").ok().and_then(|v| parse_lat_lon(&v)))
    }
}

fn parse_lat_lon(v: &str) -> Option<GeoPoint> {
    let (lat, lon) = v.split_once(',')?;
    let p = GeoPoint { lat: lat.trim().parse().ok()?, lon: lon.trim().parse().ok()? };
    p.is_valid().then_some(p)
}

impl Locator for FixedLocator {
    fn current(&self) -> Option<GeoPoint> {
        self.0
    }
}

/// A fix older than this is not where the technician is any more.
pub const FIX_MAX_AGE: Duration = Duration::from_secs(10 * 60);
/// Movement below this does not redraw the screens (GPS jitters by a few metres).
const REDRAW_AFTER_M: f64 = 10.0;

/// Watches the page's `navigator.geolocation`; until a fresh fix arrives (no permission, no
/// signal, or a page that is not a secure context) it answers with `fallback`.
pub struct PageGeolocation {
    fallback: Arc<dyn Locator>,
    last: Mutex<Option<(GeoPoint, Instant)>>,
}

impl PageGeolocation {
    pub fn new(fallback: Arc<dyn Locator>) -> Self {
        PageGeolocation { fallback, last: Mutex::new(None) }
    }

    /// Takes a fix from the page; true when it moved the position far enough to redraw.
    fn record(&self, fix: GeoPoint, at: Instant) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let moved = last.is_none_or(|(p, seen)| p.distance_m(&fix) >= REDRAW_AFTER_M || at.duration_since(seen) >= FIX_MAX_AGE);
        *last = Some((fix, at));
        moved
    }

    fn fresh(&self, now: Instant) -> Option<GeoPoint> {
        let last = *self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.filter(|(_, at)| now.duration_since(*at) < FIX_MAX_AGE).map(|(p, _)| p)
    }
}

/// What the page reports: a position, or why there is none.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PageFix {
    Position { lat: f64, lon: f64 },
    Error { error: String },
}

const WATCH_SCRIPT: &str = r#"
if (!navigator.geolocation) { dioxus.send({ error: "this page offers no geolocation" }); return; }
navigator.geolocation.watchPosition(
  (p) => dioxus.send({ lat: p.coords.latitude, lon: p.coords.longitude }),
  (e) => dioxus.send({ error: e.message || ("geolocation error " + e.code) }),
  { enableHighAccuracy: true, maximumAge: 30000 });
await new Promise(() => {});
"#;

impl Locator for PageGeolocation {
    fn current(&self) -> Option<GeoPoint> {
        self.fresh(Instant::now()).or_else(|| self.fallback.current())
    }

    fn watch<'a>(&'a self, moved: Box<dyn Fn() + 'a>) -> Option<Watch<'a>> {
        Some(Box::pin(async move {
            let mut page = document::eval(WATCH_SCRIPT);
            loop {
                match page.recv::<PageFix>().await {
                    Ok(PageFix::Position { lat, lon }) => {
                        let fix = GeoPoint { lat, lon };
                        if fix.is_valid() && self.record(fix, Instant::now()) {
                            moved();
                        }
                    }
                    Ok(PageFix::Error { error }) => tracing::info!(%error, "no position from the page; using the configured one"),
                    Err(e) => {
                        tracing::debug!(error = ?e, "the page stopped reporting positions");
                        return;
                    }
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_go_stale_and_small_moves_do_not_redraw() {
        let configured = GeoPoint { lat: 31.0, lon: 121.0 };
        let page = PageGeolocation::new(Arc::new(FixedLocator(Some(configured))));
        let t0 = Instant::now();
        assert_eq!(page.fresh(t0), None);
        assert_eq!(page.current(), Some(configured), "no fix yet: the configured position");

        let door = GeoPoint { lat: 31.2309, lon: 121.5215 };
        assert!(page.record(door, t0), "the first fix redraws");
        assert_eq!(page.fresh(t0 + Duration::from_secs(5)), Some(door));
        assert!(!page.record(GeoPoint { lat: 31.23091, lon: 121.5215 }, t0 + Duration::from_secs(1)), "1 m of jitter");
        assert!(page.record(GeoPoint { lat: 31.2319, lon: 121.5215 }, t0 + Duration::from_secs(2)), "110 m walked");
        assert_eq!(page.fresh(t0 + FIX_MAX_AGE + Duration::from_secs(3)), None, "ten minutes later it is stale");

        assert_eq!(parse_lat_lon("31.23, 121.52"), Some(GeoPoint { lat: 31.23, lon: 121.52 }));
        assert_eq!(parse_lat_lon("91,0"), None);
        assert_eq!(parse_lat_lon("here"), None);
    }

    #[test]
    fn page_reports_parse() {
        let p: PageFix = serde_json::from_str(r#"{"lat": 31.2, "lon": 121.5}"#).unwrap();
        assert!(matches!(p, PageFix::Position { lat, lon } if lat == 31.2 && lon == 121.5));
        let e: PageFix = serde_json::from_str(r#"{"error": "User denied Geolocation"}"#).unwrap();
        assert!(matches!(e, PageFix::Error { error } if error.contains("denied")));
    }
}
