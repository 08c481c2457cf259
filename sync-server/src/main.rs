//! `onsite-server`: the sync server on its embedded SQLite store.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use onsite_server::{AppState, Limits, demo, serve_router};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "onsite-server", about = "OnSite sync server")]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "ONSITE_LISTEN", default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Folder for the database and blobs.
    #[arg(long, env = "ONSITE_DATA", default_value = "onsite-data")]
    data: PathBuf,
    /// Seed demo technicians, jobs and a dispatcher (only into an empty data folder).
    #[arg(long)]
    demo: bool,
    /// Dispatcher token for the demo dispatcher (random when not given).
    #[arg(long, env = "ONSITE_DEMO_DISPATCHER_TOKEN")]
    demo_dispatcher_token: Option<String>,
    /// Sync and blob requests per second per device.
    #[arg(long, default_value_t = 20)]
    device_requests_per_s: u32,
    /// Days a closed or cancelled job stays on its technician's phones.
    #[arg(long, env = "ONSITE_FINISHED_JOB_RETENTION_DAYS", default_value_t = 30)]
    finished_job_retention_days: u32,
    /// Folder of the built technician web app (`scripts/build-web.sh`), served at /app/.
    #[arg(long, env = "ONSITE_WEB_APP")]
    web_app: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn")))
        .init();
    let cli = Cli::parse();
    let fresh = !cli.data.join("onsite-server.sqlite").exists();
    let limits = Limits {
        device_requests_per_s: cli.device_requests_per_s,
        finished_job_retention_days: cli.finished_job_retention_days,
        ..Limits::default()
    };
    let state = AppState::embedded(&cli.data, &limits).with_context(|| format!("opening {}", cli.data.display()))?;
    if cli.demo && fresh {
        let token = cli.demo_dispatcher_token.unwrap_or_else(|| onsite_server::auth::new_token("osa_"));
        let creds = demo::seed(&state, &token).await.context("seeding demo data")?;
        let path = cli.data.join("demo-credentials.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&creds)?)?;
        tracing::info!(file = %path.display(), "demo data seeded; dispatcher token and pairing codes written");
    }
    let listener = tokio::net::TcpListener::bind(cli.listen).await.with_context(|| format!("binding {}", cli.listen))?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    let mut app = onsite_server::router(state);
    if let Some(dir) = &cli.web_app {
        anyhow::ensure!(dir.join("index.html").is_file(), "{} holds no built web app (run scripts/build-web.sh)", dir.display());
        app = app.merge(onsite_server::web_app::routes(dir));
        tracing::info!(dir = %dir.display(), "technician web app at {}/", onsite_server::web_app::WEB_APP_PATH);
    }
    serve_router(listener, app, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing in-flight requests");
    })
    .await?;
    Ok(())
}
