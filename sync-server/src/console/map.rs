//! A map of open jobs (at the customer's address) and technicians' last check-ins, drawn as SVG
//! in Web Mercator. Tiles come from the provider the server was configured with; without one
//! (offline offices, tests) the same map is drawn on a plain grid.

use std::collections::HashMap;
use std::f64::consts::PI;
use std::time::Duration;

use dioxus::prelude::*;
use shared::i18n::{Lang, status_label};
use shared::model::GeoPoint;
use shared::status::Status;
use shared::{TechnicianId, Timestamp};

use super::Console;
use super::job_panel::OFFICE_OFFSET_MIN;
use crate::store::{JobIndex, JobQuery};

const W: f64 = 960.0;
const H: f64 = 600.0;
const TILE: f64 = 256.0;

/// A position in the Web Mercator world square, 0..1 on both axes.
fn world(p: GeoPoint) -> (f64, f64) {
    let lat = p.lat.clamp(-85.05, 85.05).to_radians();
    ((p.lon + 180.0) / 360.0, (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / PI) / 2.0)
}

/// The view that fits every point: zoom level and the world position of its centre.
#[derive(Clone, Copy, Debug, PartialEq)]
struct View {
    zoom: u8,
    cx: f64,
    cy: f64,
}

impl View {
    fn fit(points: &[GeoPoint]) -> View {
        let ws: Vec<(f64, f64)> = points.iter().copied().filter(GeoPoint::is_valid).map(world).collect();
        if ws.is_empty() {
            // Shanghai, where the demo company works, at city scale.
            let (cx, cy) = world(GeoPoint { lat: 31.23, lon: 121.47 });
            return View { zoom: 11, cx, cy };
        }
        let (mut x0, mut y0, mut x1, mut y1) = (1.0f64, 1.0f64, 0.0f64, 0.0f64);
        for (x, y) in &ws {
            (x0, y0, x1, y1) = (x0.min(*x), y0.min(*y), x1.max(*x), y1.max(*y));
        }
        let span = ((x1 - x0) * TILE / W).max((y1 - y0) * TILE / H).max(1e-9) * 1.25;
        let zoom = (1.0 / span).log2().floor().clamp(1.0, 16.0) as u8;
        View { zoom, cx: (x0 + x1) / 2.0, cy: (y0 + y1) / 2.0 }
    }

    fn scale(self) -> f64 {
        TILE * f64::from(1u32 << self.zoom)
    }

    /// Kilometres across `px` pixels at the view's centre.
    fn km_per(self, px: f64) -> f64 {
        let lat = (PI * (1.0 - 2.0 * self.cy)).sinh().atan();
        40_075.016_686 * lat.cos() * px / self.scale()
    }

    /// Where a position falls on the drawing.
    fn pixel(self, p: GeoPoint) -> (f64, f64) {
        let (x, y) = world(p);
        ((x - self.cx) * self.scale() + W / 2.0, (y - self.cy) * self.scale() + H / 2.0)
    }

    /// The tiles that cover the drawing: (x, y) and where each one's corner goes.
    fn tiles(self) -> Vec<(u32, u32, f64, f64)> {
        let n = 1i64 << self.zoom;
        let left = self.cx * self.scale() - W / 2.0;
        let top = self.cy * self.scale() - H / 2.0;
        let (tx0, ty0) = ((left / TILE).floor() as i64, (top / TILE).floor() as i64);
        let (tx1, ty1) = (((left + W) / TILE).floor() as i64, ((top + H) / TILE).floor() as i64);
        let mut out = Vec::new();
        for ty in ty0.max(0)..=ty1.min(n - 1) {
            for tx in tx0..=tx1 {
                let wrapped = tx.rem_euclid(n);
                out.push((wrapped as u32, ty as u32, tx as f64 * TILE - left, ty as f64 * TILE - top));
            }
        }
        out
    }
}

fn tile_url(template: &str, z: u8, x: u32, y: u32) -> String {
    template.replace("{z}", &z.to_string()).replace("{x}", &x.to_string()).replace("{y}", &y.to_string())
}

#[derive(Clone, PartialEq)]
struct Positions {
    jobs: Vec<JobIndex>,
    technicians: Vec<(TechnicianId, String, GeoPoint, Timestamp)>,
}

async fn positions(ctx: &Console) -> Positions {
    let q = JobQuery {
        status: Some("new,assigned,accepted,en_route,on_site,in_progress,on_hold".into()),
        limit: Some(super::board::BOARD_READ_MAX),
        ..JobQuery::default()
    };
    let jobs =
        ctx.state.store.list_jobs(&q, Timestamp::now()).await.unwrap_or_default().into_iter().filter(|j| j.location.is_some()).collect();
    let mut technicians = Vec::new();
    for t in ctx.state.store.technicians().await.unwrap_or_default().into_iter().filter(|t| t.active) {
        if let Ok(Some((p, at))) = ctx.state.store.location(t.id).await {
            technicians.push((t.id, t.name, p, at));
        }
    }
    Positions { jobs, technicians }
}

#[component]
pub fn MapPage(lang: Signal<Lang>) -> Element {
    let ctx = use_context::<Console>();
    let mut data = use_signal(|| None::<Positions>);
    let feed = ctx.clone();
    // Redrawn as jobs change (at most every five seconds: each redraw reads up to 2,000 jobs)
    // and every half minute for check-ins.
    use_future(move || {
        let ctx = feed.clone();
        async move {
            let mut rx = ctx.state.events.subscribe();
            loop {
                data.set(Some(positions(&ctx).await));
                let _ = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await;
                tokio::time::sleep(Duration::from_secs(5)).await;
                rx = rx.resubscribe();
            }
        }
    });
    let l = lang();
    let Some(p) = data() else { return rsx! { p { {l.t("载入中…", "Loading…")} } } };
    let names: HashMap<TechnicianId, String> = p.technicians.iter().map(|t| (t.0, t.1.clone())).collect();
    let all: Vec<GeoPoint> = p.jobs.iter().filter_map(|j| j.location).chain(p.technicians.iter().map(|t| t.2)).collect();
    let view = View::fit(&all);
    let tiles = ctx.state.map_tiles.clone();
    let now = Timestamp::now();
    rsx! {
        section { class: "map", "data-testid": "map", "data-tiles": "{tiles.is_some()}",
            p { class: "legend",
                span { class: "dot job" } {l.t(" 工单（客户地址）", " Jobs (customer's address)")} "  "
                span { class: "dot late" } {l.t(" 已超 SLA", " Past SLA")} "  "
                span { class: "dot tech" } {l.t(" 技师最后定位", " Technicians' last check-in")}
            }
            svg { width: "{W}", height: "{H}", view_box: "0 0 {W} {H}", role: "img", "aria-label": l.t("工单与技师地图", "Map of jobs and technicians"),
                rect { width: "{W}", height: "{H}", fill: "#eef2f5" }
                if let Some(t) = &tiles {
                    for (x, y, px, py) in view.tiles() {
                        image { key: "{x}-{y}-{px}", href: tile_url(t, view.zoom, x, y), x: "{px}", y: "{py}", width: "{TILE}", height: "{TILE}" }
                    }
                } else {
                    for i in 0..=((W / 80.0) as u32) { line { key: "v{i}", x1: "{f64::from(i) * 80.0}", y1: "0", x2: "{f64::from(i) * 80.0}", y2: "{H}", stroke: "#d9e0e6" } }
                    for i in 0..=((H / 80.0) as u32) { line { key: "h{i}", x1: "0", y1: "{f64::from(i) * 80.0}", x2: "{W}", y2: "{f64::from(i) * 80.0}", stroke: "#d9e0e6" } }
                }
                for j in p.jobs.iter() {
                    if let Some(loc) = j.location {
                        {
                            let (x, y) = view.pixel(loc);
                            let late = j.arrive_by.is_some_and(|d| d < now) && matches!(j.status, Status::New | Status::Assigned | Status::Accepted | Status::EnRoute);
                            let who = j.assignee.and_then(|t| names.get(&t).cloned()).unwrap_or_default();
                            rsx! {
                                circle { key: "{j.job}", "data-testid": "map-job", "data-job": "{j.job}", class: if late { "late" } else { "job" },
                                    cx: "{x:.1}", cy: "{y:.1}", r: "7",
                                    title { "{j.customer_name} · {status_label(l, j.status)} · {who}" }
                                }
                            }
                        }
                    }
                }
                for (id, name, pos, at) in p.technicians.iter() {
                    {
                        let (x, y) = view.pixel(*pos);
                        rsx! {
                            g { key: "{id}", "data-testid": "map-tech",
                                rect { class: "tech", x: "{x - 6.0:.1}", y: "{y - 6.0:.1}", width: "12", height: "12" }
                                text { x: "{x + 9.0:.1}", y: "{y + 4.0:.1}", class: "tech-label", "{name}" }
                                title { "{name} · {at.in_zone(OFFICE_OFFSET_MIN)}" }
                            }
                        }
                    }
                }
            }
            if tiles.is_none() {
                p { class: "muted", "data-testid": "map-scale",
                    {l.t("未配置地图底图（--map-tiles）：显示网格，每格约 ", "No map tiles configured (--map-tiles): drawn on a grid, each square about ")}
                    "{view.km_per(80.0):.1} km"
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_fits_every_point() {
        let pts = [GeoPoint { lat: 31.20, lon: 121.40 }, GeoPoint { lat: 31.30, lon: 121.55 }];
        let v = View::fit(&pts);
        for p in pts {
            let (x, y) = v.pixel(p);
            assert!((0.0..=W).contains(&x) && (0.0..=H).contains(&y), "{p:?} at {x},{y} with zoom {}", v.zoom);
        }
        assert!(v.zoom >= 10, "a city fits at city scale, got {}", v.zoom);
        // Tiles cover the whole drawing.
        let t = v.tiles();
        assert!(t.iter().any(|(_, _, px, py)| *px <= 0.0 && *py <= 0.0));
        assert!(t.iter().any(|(_, _, px, py)| px + TILE >= W && py + TILE >= H));
        // Shanghai at zoom 11: about 65 m a pixel, so 80 pixels are about 5.2 km.
        let shanghai = View { zoom: 11, ..View::fit(&[GeoPoint { lat: 31.23, lon: 121.47 }]) };
        assert!((shanghai.km_per(80.0) - 5.23).abs() < 0.05, "{}", shanghai.km_per(80.0));
        assert_eq!(tile_url("https://t/{z}/{x}/{y}.png", 3, 6, 2), "https://t/3/6/2.png");
    }

    #[test]
    fn a_lone_point_or_none_still_draws() {
        assert_eq!(View::fit(&[]).zoom, 11);
        let v = View::fit(&[GeoPoint { lat: 31.2, lon: 121.4 }]);
        assert_eq!(v.pixel(GeoPoint { lat: 31.2, lon: 121.4 }), (W / 2.0, H / 2.0));
    }
}
