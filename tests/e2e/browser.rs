//! The real app UI in a real browser engine: the app's screens served by dioxus-liveview next to a
//! real store, Debian's Chromium driven by Playwright (tests/browser/job_flow.mjs) through one
//! whole job against a real sync server with the demo data. Afterwards the phone's store must hold
//! everything the browser did, and one sync must bring it all to the server. Screenshots of each
//! screen (360x740) land in `screenshots/liveview/` at the workspace root.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use onsite_app::platform::FixedLocator;
use onsite_app::store::{Store, TodayQuery};
use onsite_app::ui::app::Services;
use onsite_app::ui::liveview;
use onsite_tests::harness::{Server, jpeg};
use shared::Timestamp;
use shared::approval::{ApprovalCheck, check};
use shared::model::{GeoPoint, PhotoKind, SignaturePurpose};
use shared::status::Status;

pub(crate) const OFFSET_MIN: i32 = onsite_server::demo::DEMO_UTC_OFFSET_MIN;
/// The demo job worked here: a Midea kettle that keeps boiling, li's, today.
pub(crate) const CUSTOMER: &str = "Zhao Fang";
pub(crate) const PART: &str = "KT-THERM-01";

pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A QR code holding `text`, rendered by rxing's encoder into a PNG.
fn qr_png(text: &str) -> Vec<u8> {
    use rxing::Writer;
    let m = rxing::qrcode::QRCodeWriter.encode(text, &rxing::BarcodeFormat::QR_CODE, 600, 600).unwrap();
    let img = image::GrayImage::from_fn(m.width(), m.height(), |x, y| image::Luma([if m.get(x, y) { 0 } else { 255 }]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// The files the technician picks in the browser.
pub(crate) struct Pictures {
    /// A 2400x1800 JPEG (the data plate).
    pub photo: PathBuf,
    /// A 12 MP picture with detail everywhere (noise), as a phone camera takes it.
    pub big: PathBuf,
    /// A QR code of the part [`PART`].
    pub qr: PathBuf,
}

pub(crate) fn pictures(dir: &Path) -> Pictures {
    let photo = dir.join("data-plate.jpg");
    std::fs::write(&photo, jpeg(2400, 1800, 7)).unwrap();
    let big = dir.join("fault-12mp.jpg");
    let mut seed = 0x9e37_79b9_u32;
    let noisy = image::RgbImage::from_fn(4000, 3000, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        image::Rgb([(x / 16) as u8 ^ (seed as u8 & 0x3f), (y / 12) as u8, (seed >> 8) as u8 & 0x7f])
    });
    noisy.save_with_format(&big, image::ImageFormat::Jpeg).unwrap();
    let qr = dir.join("part-qr.png");
    std::fs::write(&qr, qr_png(PART)).unwrap();
    Pictures { photo, big, qr }
}

/// `node tests/browser/{script}` with what every flow is given: the server and the pairing code,
/// the job to work, where the phone stands, the pictures it picks, where screenshots go.
pub(crate) fn node_flow(
    browser_dir: &Path,
    script: &str,
    server: &str,
    code: &str,
    here: GeoPoint,
    pictures: &Pictures,
    shots: &Path,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(browser_dir.join(script))
        .current_dir(browser_dir)
        .env("ONSITE_SERVER_URL", server)
        .env("ONSITE_PAIRING_CODE", code)
        .env("ONSITE_CUSTOMER", CUSTOMER)
        .env("ONSITE_GEOLOCATION", format!("{},{}", here.lat, here.lon))
        .env("ONSITE_PHOTO", &pictures.photo)
        .env("ONSITE_QR", &pictures.qr)
        .env("ONSITE_BIG_PHOTO", &pictures.big)
        .env("ONSITE_SCREENSHOTS", shots)
        .kill_on_drop(true);
    cmd
}

/// Each named screen has a screenshot in `shots`, at phone size (360x740 CSS pixels at 2x).
pub(crate) fn assert_screenshots(shots: &Path, screens: &[&str]) {
    let names: Vec<String> = std::fs::read_dir(shots).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    for screen in screens {
        let file =
            names.iter().find(|n| n.ends_with(&format!("-{screen}.png"))).unwrap_or_else(|| panic!("no screenshot of {screen}: {names:?}"));
        let png = image::open(shots.join(file)).unwrap();
        assert_eq!((png.width(), png.height()), (720, 1480), "{file}");
    }
}

/// Node and the npm packages must be there: `scripts/test.sh` installs them (and Chromium).
pub(crate) fn browser_prerequisites(browser_dir: &Path) {
    let node = std::process::Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is missing: run ./scripts/test.sh, which installs node, chromium and the npm packages"
    );
    assert!(
        browser_dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is missing: run ./scripts/test.sh (or `npm ci --prefix tests/browser`)"
    );
    let chromium = std::env::var("ONSITE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(Path::new(&chromium).exists(), "{chromium} is missing: run ./scripts/test.sh, which installs Debian's chromium");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_job_in_a_real_browser() {
    let root = workspace_root();
    let browser_dir = root.join("tests/browser");
    browser_prerequisites(&browser_dir);
    let dir = tempfile::tempdir().unwrap();

    // The sync server with the demo data; li's phone is a fresh store, paired from the browser.
    let server = Server::start(dir.path().join("server"), &Default::default()).await;
    let creds = onsite_server::demo::seed(&server.state, "osa_browser_e2e_dispatcher").await.unwrap();
    let code = creds.technicians["li"].1.clone();
    // The customer sent a picture of the kettle's data plate with the request.
    let dispatcher =
        onsite_tests::harness::Dispatcher { base: server.url(), token: "osa_browser_e2e_dispatcher".into(), http: reqwest::Client::new() };
    let (_, page) = dispatcher.get("/admin/v1/jobs?limit=500").await;
    let zhao = page["jobs"].as_array().unwrap().iter().find(|j| j["customer_name"].as_str().is_some_and(|n| n.contains(CUSTOMER))).unwrap();
    let zhao = zhao["job"].as_str().unwrap().to_owned();
    let (s, sent) =
        dispatcher.post_bytes(&format!("/admin/v1/jobs/{zhao}/customer-photos?caption=kettle"), "image/jpeg", jpeg(1200, 900, 3)).await;
    assert_eq!(s, 200, "{sent}");
    let phone = dir.path().join("phone.sqlite");
    // The browser stands ~15 m from the customer's door, so the check-in needs no reason. The
    // phone has no configured position: the one the check-in records can only be the browser's.
    let here = GeoPoint { lat: 31.2309, lon: 121.5215 };
    let services = Services { locator: Arc::new(FixedLocator(None)), ..Services::new(Store::open(&phone).unwrap(), OFFSET_MIN) };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_addr = listener.local_addr().unwrap();
    let live = liveview::serve(services.clone());
    let start = live.start_path();
    let app = tokio::spawn(axum::serve(listener, live.router).into_future());

    let pictures = pictures(dir.path());
    let shots = root.join("screenshots/liveview");
    let _ = std::fs::remove_dir_all(&shots);

    let run = node_flow(&browser_dir, "job_flow.mjs", &server.url(), &code, here, &pictures, &shots)
        .env("ONSITE_APP_URL", format!("http://{app_addr}{start}"))
        .status();
    // Every browser step has its own 15 s limit; this bounds the run as a whole.
    let out = tokio::time::timeout(std::time::Duration::from_secs(300), run)
        .await
        .expect("the browser run took over 5 minutes")
        .expect("starting node");
    if !out.success() {
        let store = services.engine.engine().store().try_lock().expect("the store is not locked once the browser is done");
        for j in store.list_today(TodayQuery { day_start: Timestamp::now().start_of_local_day(OFFSET_MIN) }).unwrap() {
            eprintln!("store after the failure: {} {:?}", j.customer_name, j.status);
        }
    }
    assert!(out.success(), "the browser run failed (its log is above; screenshots in {})", shots.display());

    // Every screen was photographed at phone size (360x740 CSS pixels at 2x).
    assert_screenshots(
        &shots,
        &[
            "today-empty",
            "settings-paired",
            "today",
            "job-assigned",
            "job-check-in",
            "job-diagnose",
            "job-photo",
            "job-scan",
            "quote-signed-next-report",
            "report-form",
            "complete-asks",
            "report-signed-rated",
            "knowledge-base",
            "van-stock",
            "settings-sync",
        ],
    );

    // The phone's store holds the whole job, exactly as done in the browser.
    let (job, photo_bytes, stock_left) = {
        let store = services.engine.engine().store().lock().unwrap();
        let today = store.list_today(TodayQuery { day_start: Timestamp::now().start_of_local_day(OFFSET_MIN) }).unwrap();
        let job = today.iter().find(|j| j.customer_name.contains(CUSTOMER)).expect("the job is on today's list").job_id;
        let v = store.open_job(job).unwrap();
        assert_eq!(v.derived.status, Status::Completed, "{:?}", v.derived);
        assert!(v.derived.conflicts.is_empty());
        let check_in = v.field.events.iter().find(|e| e.action == shared::model::FieldAction::CheckIn).expect("a check-in event");
        assert_eq!(check_in.location, Some(here), "the check-in records where the browser said it was");
        let [p, fault] = v.field.photos.as_slice() else { panic!("two photos: {:?}", v.field.photos) };
        assert_eq!((p.kind, fault.kind), (PhotoKind::DataPlate, PhotoKind::Fault));
        let big = image::load_from_memory(&store.blob(&fault.blob).unwrap().expect("the 12 MP photo's bytes")).unwrap();
        assert_eq!((big.width(), big.height()), (1600, 1200), "the 12 MP photo, downscaled");
        let photo_bytes = store.blob(&p.blob).unwrap().expect("photo bytes on the phone");
        let full = image::load_from_memory(&photo_bytes).unwrap();
        assert_eq!(full.width().max(full.height()), 1600, "downscaled to a 1600 px long edge");
        assert!(store.blob(&p.thumbnail).unwrap().is_some());
        let [scan] = v.field.part_scans.as_slice() else { panic!("one scan: {:?}", v.field.part_scans) };
        assert_eq!((scan.code.as_str(), scan.symbology.as_str(), scan.part_no.as_deref()), (PART, "qr_code", Some(PART)));
        assert!(scan.compatible && scan.in_van_stock);
        assert_eq!(v.field.quote.lines.len(), 2, "{:?}", v.field.quote.lines);
        assert!(v.field.quote.lines.iter().any(|l| l.code == PART));
        for purpose in [SignaturePurpose::QuoteApproval, SignaturePurpose::Completion] {
            assert!(matches!(check(purpose, &v.dispatch, &v.field), ApprovalCheck::Valid { .. }), "{purpose:?} signature");
        }
        let sig = v.field.signatures.iter().find(|s| s.purpose == SignaturePurpose::QuoteApproval).unwrap();
        let strokes = shared::signature::Strokes::decode(&sig.strokes).unwrap();
        assert!(strokes.0.iter().map(Vec::len).sum::<usize>() >= 10, "the pointer moves became strokes: {strokes:?}");
        assert_eq!(v.field.report.cause, "Thermostat contacts welded shut");
        assert_eq!(v.field.report.warranty_days, 90);
        assert_eq!((v.field.rating.score, v.field.rating.comment.as_str()), (Some(5), "Fast and tidy"));
        let stock = store.van_stock(shared::Timestamp(0)).unwrap();
        (job, photo_bytes, stock.iter().find(|s| s.part_no == PART).unwrap().quantity)
    };
    assert_eq!(stock_left, 1, "the used thermostat left the van (2 before)");

    // One sync brings it all to the server: the dispatcher sees the completed, signed job with its photo.
    let first = services.engine.engine().sync().sync_now().await.unwrap();
    if !services.engine.engine().sync().status().is_synced() {
        // The app's own background sync may have been mid-round when the last tap landed; the
        // next round must then finish the job (a second one that does not is a real failure).
        let second = services.engine.engine().sync().sync_now().await.unwrap();
        assert!(
            services.engine.engine().sync().status().is_synced(),
            "{:?}\nfirst: {first:?}\nsecond: {second:?}",
            services.engine.engine().sync().status()
        );
    }
    let http = reqwest::Client::new();
    let get = |path: String| http.get(format!("{}{path}", server.url())).bearer_auth("osa_browser_e2e_dispatcher").send();
    let view: serde_json::Value = get(format!("/admin/v1/jobs/{job}")).await.unwrap().json().await.unwrap();
    assert_eq!(view["derived"]["status"], "completed", "{view}");
    assert_eq!(view["quote_approval"]["state"], "valid", "{view}");
    assert_eq!(view["completion_approval"]["state"], "valid", "{view}");
    assert_eq!(view["field"]["rating"]["score"], 5, "{view}");
    let photo_url = view["photo_links"][0]["url"].as_str().expect("a photo link").to_owned();
    let on_server = get(photo_url).await.unwrap().bytes().await.unwrap();
    assert_eq!(on_server.as_ref(), photo_bytes.as_slice(), "the photo reached the server intact");
    app.abort();
}
