//! `--instances N`: the same no-change rounds against N processes of the real server binary on
//! one PostgreSQL database, first one instance, then all N, with the CPU each instance spent.
//!
//! On a machine with cores to spare (`--pin` puts instance i on core i) this shows how the
//! deployment scales out; on a small one it shows that more instances lose nothing and cost
//! little.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use onsite_tests::harness::ChildServer;
use shared::wire::SyncRequest;

use crate::{Args, SimDevice, percentile, post};

/// One phase's result.
struct Phase {
    rounds_per_s: f64,
    p50: Duration,
    p99: Duration,
    /// Server CPU seconds per round, all instances together.
    cpu_per_round: f64,
}

pub async fn run(args: &Args, n: usize, data: PathBuf, sims: Arc<Vec<SimDevice>>) -> anyhow::Result<()> {
    anyhow::ensure!(n >= 1, "--instances is at least 1");
    anyhow::ensure!(
        matches!(onsite_tests::backends::store_for(&data).await, onsite_server::StoreBackend::Postgres { .. }),
        "--instances needs a shared database: set ONSITE_TEST_POSTGRES (see tests/src/backends.rs)"
    );
    let exe = match &args.server_exe {
        Some(p) => p.clone(),
        None => std::env::current_exe()?.with_file_name("onsite-server"),
    };
    anyhow::ensure!(exe.is_file(), "no server binary at {} (build it, or give --server-exe)", exe.display());
    let mut servers = Vec::new();
    for i in 0..n {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let cpu = args.pin.then_some(i);
        servers.push(ChildServer::start_on_cpu(&exe, data.clone(), addr, cpu).await);
    }
    let http = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency * 2).build()?;
    let mut results = Vec::new();
    for k in [1, n] {
        let urls: Vec<String> = servers[..k].iter().map(|s| format!("{}/v1/sync", s.url())).collect();
        let r = phase(args, &http, &urls, &sims, &servers[..k]).await?;
        println!(
            "{k} instance(s) on one PostgreSQL ({} in flight, {} s{}): {:.0} sync rounds/s, p50 {:.2} ms, p99 {:.2} ms, {:.2} ms server CPU per round",
            args.concurrency,
            args.seconds,
            if args.pin { ", pinned" } else { "" },
            r.rounds_per_s,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            r.cpu_per_round * 1e3
        );
        results.push(r);
        if n == 1 {
            break;
        }
    }
    if let [one, all] = &results[..] {
        println!(
            "{n} instances / 1: {:.2}x rounds/s (machine: {} cores shared by the instances, PostgreSQL and this generator)",
            all.rounds_per_s / one.rounds_per_s.max(1e-9),
            std::thread::available_parallelism().map_or(1, |c| c.get())
        );
    }
    Ok(())
}

/// [`saturate`] against `servers`, with the CPU they spent.
async fn phase(
    args: &Args,
    http: &reqwest::Client,
    urls: &[String],
    sims: &Arc<Vec<SimDevice>>,
    servers: &[ChildServer],
) -> anyhow::Result<Phase> {
    let cpu_before: f64 = servers.iter().map(ChildServer::cpu_seconds).sum();
    let all = saturate(http, urls, sims, args.seconds, args.concurrency).await?;
    let cpu = servers.iter().map(ChildServer::cpu_seconds).sum::<f64>() - cpu_before;
    Ok(Phase {
        rounds_per_s: all.len() as f64 / args.seconds as f64,
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        cpu_per_round: cpu / all.len().max(1) as f64,
    })
}

/// No-change rounds from every simulated device for `seconds`, `concurrency` in flight, spread
/// over `urls`; returns every round's latency, sorted. Each worker syncs its own devices (a
/// phone never runs two rounds at once; the server refuses a second one), and a device always
/// talks to the same instance.
pub async fn saturate(
    http: &reqwest::Client,
    urls: &[String],
    sims: &Arc<Vec<SimDevice>>,
    seconds: u64,
    concurrency: usize,
) -> anyhow::Result<Vec<Duration>> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (sims, http, url) = (sims.clone(), http.clone(), urls[w % urls.len()].clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mine: Vec<usize> = (w..sims.len()).step_by(concurrency).collect();
            let mut i = 0;
            while Instant::now() < deadline && !mine.is_empty() {
                let sim = &sims[mine[i % mine.len()]];
                let req = SyncRequest { jobs: sim.jobs.clone(), ..SyncRequest::default() };
                let t = Instant::now();
                let (resp, _, _) = post(&http, &url, &sim.token, &req).await;
                lat.push(t.elapsed());
                assert!(resp.messages.is_empty() && resp.new_jobs.is_empty(), "no-change round changed something");
                i += 1;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    all.sort();
    Ok(all)
}
