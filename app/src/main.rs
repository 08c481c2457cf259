//! `onsite`: the technician app. Until the UI lands this binary drives the local store from the
//! command line (seed demo data, list today's jobs).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use onsite_app::demo::{DEMO_UTC_OFFSET_MIN, seed};
use onsite_app::store::{Store, TodayQuery};
use shared::Timestamp;

#[derive(Parser)]
#[command(name = "onsite", about = "OnSite technician app")]
struct Cli {
    /// The local store (SQLite file).
    #[arg(long, env = "ONSITE_STORE", default_value = "onsite-device.sqlite")]
    store: PathBuf,
    #[command(subcommand)]
    command: Command,
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
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let cli = Cli::parse();
    let mut store = Store::open(&cli.store).with_context(|| format!("opening {}", cli.store.display()))?;
    match cli.command {
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
