//! `onsite`: the technician app. Without a command it opens the app window; the commands drive
//! the local store and the sync client from the command line (pair, sync, list today's jobs,
//! offline demo seed) or serve the screens to a browser.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use onsite_app::demo::{DEMO_UTC_OFFSET_MIN, seed};
use onsite_app::store::{Store, TodayQuery};
use onsite_app::sync_client::{SyncClient, pair};
use shared::Timestamp;
use std::sync::{Arc, Mutex};

#[derive(Parser)]
#[command(name = "onsite", about = "OnSite technician app")]
struct Cli {
    /// The local store (SQLite file).
    #[arg(long, env = "ONSITE_STORE", default_value = "onsite-device.sqlite")]
    store: PathBuf,
    /// Time zone for display, minutes east of UTC (Shanghai: 480).
    #[arg(long, env = "ONSITE_UTC_OFFSET_MIN", default_value_t = DEMO_UTC_OFFSET_MIN)]
    utc_offset_min: i32,
    /// Without a command: open the app window.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Fill the store with demo data as one technician's phone (li, zhang, wang, chen).
    Seed {
        #[arg(long, default_value = "li")]
        technician: String,
    },
    /// Print today's jobs.
    Today,
    /// Pair this device with a sync server using a dispatcher's one-time code.
    Pair {
        #[arg(long, default_value = "http://127.0.0.1:8787")]
        server: String,
        #[arg(long)]
        code: String,
        #[arg(long, default_value = "onsite-desktop")]
        name: String,
    },
    /// Sync with the paired server once and report what happened.
    Sync,
    /// Serve the app's screens to a browser instead of opening a window (try it at phone size).
    #[cfg(feature = "liveview")]
    Serve {
        /// Where to listen. The page has no login of its own: whoever reaches this address works
        /// as the paired technician, so it stays on loopback unless you mean otherwise.
        #[arg(long, default_value = "127.0.0.1:8790")]
        listen: std::net::SocketAddr,
        /// Serve on an address other machines reach, in plain HTTP (a network you trust only).
        #[arg(long)]
        allow_plain_http: bool,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let cli = Cli::parse();
    let mut store = Store::open(&cli.store).with_context(|| format!("opening {}", cli.store.display()))?;
    let Some(command) = cli.command else {
        return open_window(store, cli.utc_offset_min);
    };
    match command {
        Command::Pair { server, code, name } => {
            let store = Arc::new(Mutex::new(store));
            let rt = tokio::runtime::Runtime::new()?;
            let who = rt.block_on(pair(&store, &server, &code, &name)).context("pairing")?;
            println!("paired as {} (device {}) with {server}", who.name, who.device);
        }
        Command::Sync => {
            let store = Arc::new(Mutex::new(store));
            let client = SyncClient::new(store);
            let rt = tokio::runtime::Runtime::new()?;
            let report = rt.block_on(client.sync_now()).context("syncing")?;
            let st = client.status();
            println!(
                "synced: {} new jobs, {} dropped, {} blobs uploaded, {} round trips; pending: {} jobs with unsent work, {} photo bytes",
                report.new_jobs, report.dropped_jobs, report.blobs_uploaded, report.rounds, st.pending_changes, st.pending_blob_bytes
            );
            for r in report.refused {
                println!("refused by the server: job {} ({}): {}", r.job, r.code, r.message);
            }
        }
        #[cfg(feature = "liveview")]
        Command::Serve { listen, allow_plain_http } => {
            if !listen.ip().is_loopback() && !allow_plain_http {
                anyhow::bail!(
                    "refusing to serve the app in plain HTTP on {listen}: the page, its key and customers' data would cross the \
                     network unencrypted. Serve on 127.0.0.1, or pass --allow-plain-http on a network you trust"
                );
            }
            let services = onsite_app::ui::app::Services::new(store, cli.utc_offset_min);
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
                let app = onsite_app::ui::liveview::serve(services);
                println!("OnSite app at http://{listen}{} (the address carries this session's key: keep it to yourself)", app.start_path());
                axum::serve(listener, app.router).await.context("serving the app")
            })?;
        }
        Command::Seed { technician } => {
            let n = seed(&mut store, &technician, Timestamp::now()).context("seeding demo data")?;
            println!("seeded {n} demo jobs for {technician} into {}", cli.store.display());
        }
        Command::Today => {
            let now = Timestamp::now();
            let jobs = store.list_today(TodayQuery { day_start: now.start_of_local_day(DEMO_UTC_OFFSET_MIN) })?;
            for j in jobs {
                let when = j.appointment.map(|w| w.start.in_zone(DEMO_UTC_OFFSET_MIN)).unwrap_or_else(|| "-".into());
                println!("{when}  {:<15} {:<24} {} {}", j.status.as_str(), j.customer_name, j.brand, j.model);
            }
        }
    }
    Ok(())
}

#[cfg(feature = "desktop")]
fn open_window(store: Store, utc_offset_min: i32) -> anyhow::Result<()> {
    use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
    let services = onsite_app::ui::app::Services::new(store, utc_offset_min);
    let window = WindowBuilder::new().with_title("OnSite").with_inner_size(LogicalSize::new(400.0, 780.0));
    dioxus::LaunchBuilder::desktop()
        .with_cfg(Config::new().with_window(window).with_menu(None))
        .with_context(services)
        .launch(onsite_app::ui::app::App);
    Ok(())
}

#[cfg(not(feature = "desktop"))]
fn open_window(_store: Store, _utc_offset_min: i32) -> anyhow::Result<()> {
    anyhow::bail!("this build has no window (built without the `desktop` feature); use a subcommand")
}
