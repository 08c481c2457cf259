//! `onsite-load --console-jobs N`: the dispatcher console over a server holding N jobs (a year
//! of history). Chromium (Playwright, tests/browser/console_bench.mjs) logs in and measures the
//! board's first render, then how long a change made through the API takes to reach its row.

use std::path::Path;
use std::time::Instant;

use onsite_server::accounts::Role;
use onsite_server::{AppState, Limits};
use onsite_tests::harness::Server;
use shared::Timestamp;
use tokio::io::{AsyncBufReadExt, BufReader};

pub async fn run(jobs: usize, changes: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let limits = Limits { client_requests_per_s: 1_000_000, auth_attempts_per_min: 1_000, ..Limits::default() };
    let server = Server::start(dir.path().join("server"), &limits).await;
    let state: AppState = server.state.clone();
    let t = Instant::now();
    let today = Timestamp::now().start_of_local_day(onsite_server::demo::DEMO_UTC_OFFSET_MIN);
    let techs = onsite_server::demo::seed_history(&state, jobs, 50, today, &|n| {
        println!("seeding: {n} of {jobs} jobs ({:.0} s)", t.elapsed().as_secs_f64());
    })
    .await?;
    println!("setup: {jobs} jobs in {:.0} s; server RSS {:.0} MiB", t.elapsed().as_secs_f64(), super::rss_mib());
    let password = "console bench pass phrase";
    onsite_server::admin::accounts::create_account(&state, "bench", "调度 Bench", Role::Dispatcher, Some(password.into()))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let api = server.dispatcher("bench api").await;
    let browser = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let mut node = tokio::process::Command::new("node")
        .arg(browser.join("console_bench.mjs"))
        .current_dir(&browser)
        // `localhost`: the browser keeps the session's Secure cookie there without HTTPS.
        .env("ONSITE_SERVER_URL", server.url().replace("127.0.0.1", "localhost"))
        .env("ONSITE_LOGIN", "bench")
        .env("ONSITE_PASSWORD", password)
        .env("ONSITE_TOKEN", &api.token)
        .env("ONSITE_TECHNICIAN", techs[0].to_string())
        .env("ONSITE_CHANGES", changes.to_string())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(node.stdout.take().expect("piped")).lines();
    while let Some(line) = lines.next_line().await? {
        println!("{line}");
    }
    anyhow::ensure!(node.wait().await?.success(), "the browser run failed (its log is above)");
    println!("server RSS after the browser run: {:.0} MiB", super::rss_mib());
    Ok(())
}
