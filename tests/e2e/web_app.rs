//! The installable web app on a phone with no signal: the technician app built for the browser
//! (`scripts/build-web.sh`), served by a real sync server at `/app/`, driven by Playwright in
//! Debian's Chromium at phone size (tests/browser/web_app.mjs): paired online, then a whole job
//! worked offline after a reload from the service worker's cache, the app closed and reopened
//! offline, a tab killed right after a save; back online, one sync must bring the whole job to the
//! server, photos included. Screenshots land in `screenshots/web-app/`.

use std::path::PathBuf;

use onsite_tests::harness::{Dispatcher, Server, jpeg};
use shared::model::GeoPoint;

use crate::browser::{CUSTOMER, PART, assert_screenshots, browser_prerequisites, node_flow, pictures, workspace_root};

/// Another of li's demo jobs, still open: the note saved right before the browser is killed.
const OTHER_CUSTOMER: &str = "Wang Yan";

/// The built app: `scripts/test.sh` builds it before the tests (or `ONSITE_WEB_APP` names one).
fn built_web_app() -> PathBuf {
    let dir = std::env::var_os("ONSITE_WEB_APP").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target/web/app"));
    assert!(
        dir.join("index.html").is_file() && dir.join("onsite-web_bg.wasm").is_file(),
        "no built web app in {}: run scripts/build-web.sh (scripts/test.sh does)",
        dir.display()
    );
    dir
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_job_offline_in_the_installed_web_app() {
    let root = workspace_root();
    let browser_dir = root.join("tests/browser");
    browser_prerequisites(&browser_dir);
    let web_app = built_web_app();
    let dir = tempfile::tempdir().unwrap();

    // A copy: the browser run publishes a "new version" into it.
    let served = dir.path().join("app");
    copy_dir(&web_app, &served);
    let server = Server::start_with_web_app(dir.path().join("server"), &served).await;
    let token = "osa_web_app_e2e_dispatcher";
    let creds = onsite_server::demo::seed(&server.state, token).await.unwrap();
    let code = creds.technicians["li"].1.clone();
    let dispatcher = Dispatcher { base: server.url(), token: token.into(), http: reqwest::Client::new() };
    let (_, page) = dispatcher.get("/admin/v1/jobs?limit=500").await;
    let job = page["jobs"].as_array().unwrap().iter().find(|j| j["customer_name"].as_str().is_some_and(|n| n.contains(CUSTOMER))).unwrap();
    let job = job["job"].as_str().unwrap().to_owned();
    let (s, sent) =
        dispatcher.post_bytes(&format!("/admin/v1/jobs/{job}/customer-photos?caption=kettle"), "image/jpeg", jpeg(1200, 900, 3)).await;
    assert_eq!(s, 200, "{sent}");

    let here = GeoPoint { lat: 31.2309, lon: 121.5215 };
    let pictures = pictures(dir.path());
    let shots = root.join("screenshots/web-app");
    let _ = std::fs::remove_dir_all(&shots);
    let run = node_flow(&browser_dir, "web_app.mjs", &server.url(), &code, here, &pictures, &shots)
        .env("ONSITE_APP_URL", format!("{}/app/", server.url()))
        .env("ONSITE_OTHER_CUSTOMER", OTHER_CUSTOMER)
        .env("ONSITE_PROFILE", dir.path().join("browser-profile"))
        .env("ONSITE_WEB_DIR", &served)
        .status();
    let out = tokio::time::timeout(std::time::Duration::from_secs(420), run)
        .await
        .expect("the browser run took over 7 minutes")
        .expect("starting node");
    assert!(out.success(), "the browser run failed (its log is above; screenshots in {})", shots.display());

    assert_screenshots(
        &shots,
        &[
            "web-offline-start",
            "job-photo",
            "job-scan",
            "report-signed-rated",
            "web-reopened-offline",
            "web-after-kill",
            "web-synced",
            "web-update-ready",
        ],
    );

    // The server has the whole job as it was done offline: completed, both signatures valid,
    // rated, the part scanned and used, the check-in where the phone was, the note saved just
    // before the tab was killed, and both photos, byte for byte what the phone made.
    let (_, view) = dispatcher.get(&format!("/admin/v1/jobs/{job}")).await;
    assert_eq!(view["derived"]["status"], "completed", "{view}");
    assert_eq!(view["quote_approval"]["state"], "valid", "{view}");
    assert_eq!(view["completion_approval"]["state"], "valid", "{view}");
    assert_eq!(view["field"]["rating"]["score"], 5, "{view}");
    assert_eq!(view["field"]["report"]["warranty_days"], 90, "{view}");
    let field = &view["field"];
    assert!(field["part_scans"].as_array().unwrap().iter().any(|s| s["code"] == PART), "{view}");
    assert!(field["quote"]["lines"].as_array().unwrap().iter().any(|l| l["code"] == PART), "{view}");
    let check_in = field["events"].as_array().unwrap().iter().find(|e| e["action"] == "check_in").expect("a check-in");
    assert_eq!((check_in["location"]["lat"].as_f64(), check_in["location"]["lon"].as_f64()), (Some(here.lat), Some(here.lon)));
    // The note saved on another job just before its tab was killed reached the server too.
    let mut noted = 0;
    for j in page["jobs"].as_array().unwrap() {
        let (_, v) = dispatcher.get(&format!("/admin/v1/jobs/{}", j["job"].as_str().unwrap())).await;
        let notes = v["field"]["notes"].as_array().cloned().unwrap_or_default();
        noted += notes.iter().filter(|n| n["text"].as_str().is_some_and(|t| t.contains("gate code 4711"))).count();
    }
    assert_eq!(noted, 1, "the note saved right before the tab was killed, once");
    let links = view["photo_links"].as_array().expect("photo links");
    assert_eq!(links.len(), 2, "{view}");
    for link in links {
        let url = link["url"].as_str().unwrap();
        let resp = dispatcher.http.get(format!("{}{url}", server.url())).bearer_auth(token).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        let img = image::load_from_memory(&resp.bytes().await.unwrap()).expect("a photo the server holds");
        assert_eq!(img.width().max(img.height()), 1600, "downscaled on the phone, in wasm, to a 1600 px long edge");
    }
}
