//! The dispatcher console in a real browser: Debian's Chromium driven by Playwright
//! (tests/browser/console.mjs) logs in, creates a job with the form, assigns it from the
//! suggestions and watches a real technician's device (a real store through the real sync
//! client) take it to completed — the board follows without a reload. Screenshots (desktop size)
//! in `screenshots/console/`.

use std::time::Duration;

use onsite_server::accounts::Role;
use shared::JobId;
use shared::edit::FieldEdit;
use shared::model::{FieldAction, GeoPoint, Report};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::World;
use crate::browser::{browser_prerequisites, workspace_root};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatchers_day_in_the_console() {
    let root = workspace_root();
    let browser_dir = root.join("tests/browser");
    browser_prerequisites(&browser_dir);
    let w = World::new().await;
    let (li, dev) = w.technician("李明").await;
    let password = "a long pass phrase";
    onsite_server::admin::accounts::create_account(&w.server.state, "ann", "调度 Ann", Role::Dispatcher, Some(password.into()))
        .await
        .unwrap();
    let boss_password = "another long pass phrase";
    onsite_server::admin::accounts::create_account(&w.server.state, "boss", "主管 Boss", Role::Admin, Some(boss_password.into()))
        .await
        .unwrap();
    let shots = root.join("screenshots/console");
    let _ = std::fs::remove_dir_all(&shots);

    let mut node = tokio::process::Command::new("node")
        .arg(browser_dir.join("console.mjs"))
        .current_dir(&browser_dir)
        // `localhost`: the browser keeps the session's Secure cookie there without HTTPS.
        .env("ONSITE_SERVER_URL", w.server.url().replace("127.0.0.1", "localhost"))
        .env("ONSITE_LOGIN", "ann")
        .env("ONSITE_PASSWORD", password)
        .env("ONSITE_ADMIN_LOGIN", "boss")
        .env("ONSITE_ADMIN_PASSWORD", boss_password)
        .env("ONSITE_SHOTS", &shots)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting node");
    let mut lines = BufReader::new(node.stdout.take().unwrap()).lines();
    let run = async {
        let mut numbers = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            println!("{line}");
            if line.starts_with("NUMBERS") {
                numbers.push(line.clone());
            }
            if let Some(job) = line.strip_prefix("ASSIGNED ") {
                let job: JobId = job.parse().unwrap();
                // The phone takes the job and works it through to completion, then syncs.
                dev.client.sync_now().await.unwrap();
                let at = Some(GeoPoint { lat: 31.2, lon: 121.44 });
                let status = |action| FieldEdit::Status {
                    action,
                    location: at,
                    reason: if action == FieldAction::CheckIn { "地址定位偏差 pin off the building".into() } else { String::new() },
                };
                dev.with(|s| {
                    s.open_job(job).expect("the assigned job reached the phone");
                    for a in [FieldAction::Accept, FieldAction::CheckIn, FieldAction::Start] {
                        s.apply_edit(job, status(a)).unwrap();
                    }
                    let report = Report { cause: "进水阀老化".into(), method: "更换进水阀".into(), warranty_days: 90 };
                    s.apply_edit(job, FieldEdit::SetReport { report }).unwrap();
                    s.apply_edit(job, status(FieldAction::Complete)).unwrap();
                });
                dev.client.sync_now().await.unwrap();
            }
        }
        numbers
    };
    let numbers = tokio::time::timeout(Duration::from_secs(240), run).await.expect("the browser run took over 4 minutes");
    let out = node.wait().await.unwrap();
    assert!(out.success(), "the browser run failed (its log is above; screenshots in {})", shots.display());
    assert!(numbers.iter().any(|n| n.contains("board_update_wait_ms")), "{numbers:?}");
    let _ = li;
    // What the browser read, checked again here against the server's own state.
    let techs = w.server.state.store.technicians().await.unwrap();
    let wang = techs.iter().find(|t| t.name == "王强 Wang").expect("the technician the admin added");
    assert!(!wang.active, "deactivated from the console");
    assert_eq!(wang.brands, ["Midea", "Haier"]);
    let catalog = w.server.state.store.reference_versions("catalog").await.unwrap();
    assert_eq!(catalog.len(), 1, "the bad catalog was refused, the good one published once");
    let q = onsite_server::store::accounts::AuditQuery { account: None, before: None, limit: 500 };
    let audit = w.server.state.audit.audit(q).await.unwrap();
    for action in ["create job", "assign", "save technician", "deactivate technician", "publish reference"] {
        assert!(audit.iter().any(|e| e.entry.via == "console" && e.entry.route == action), "no audit entry for {action}");
    }
    for screen in [
        "login-refused",
        "board",
        "new-job-form",
        "suggestions",
        "assigned",
        "completed",
        "report",
        "kpis",
        "map",
        "technician-qr",
        "reference",
    ] {
        let file = std::fs::read_dir(&shots)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .find(|n| n.ends_with(&format!("-{screen}.png")))
            .unwrap_or_else(|| panic!("no screenshot of {screen}"));
        let png = image::open(shots.join(&file)).unwrap();
        assert_eq!(png.width(), 1440, "{file}: desktop size");
    }
}
