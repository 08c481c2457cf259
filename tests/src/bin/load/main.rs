//! `onsite-load`: load generator for the sync server on loopback.
//!
//! Sets up `--devices` technicians with `--jobs` jobs each on an in-process server (embedded
//! SQLite in a temporary folder), then measures: a full initial sync of one real device (real
//! store, real client), no-change and one-edit rounds of that device, and saturation — all
//! simulated devices sending no-change rounds concurrently for `--seconds`; then `--honest`
//! devices making real edits for `--attack-seconds`, first alone and then while one device sends
//! hostile sync messages as fast as it is answered. Bounded in count and time; traffic stays on
//! 127.0.0.1.

mod attack;
mod console;
mod contention;
mod instances;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::StreamExt;
use onsite_server::auth::{hash_secret, new_token};
use onsite_server::store::{NewDevice, Redeemed};
use onsite_server::{AppState, Limits};
use onsite_tests::harness::{Device, Server, new_job_json};
use shared::edit::{DispatchEdit, FieldEdit};
use shared::wire::{self, JobDigest, SyncRequest, SyncResponse};
use shared::{DeviceId, Timestamp};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 1000)]
    devices: usize,
    #[arg(long, default_value_t = 20)]
    jobs: usize,
    /// Length of the saturation phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Requests in flight during saturation.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Devices making real edits in the attack phase.
    #[arg(long, default_value_t = 100)]
    honest: usize,
    /// Length of each half (without, then with the attacker) of the attack phase.
    #[arg(long, default_value_t = 10)]
    attack_seconds: u64,
    /// The attacker's requests in flight.
    #[arg(long, default_value_t = 4)]
    attack_in_flight: usize,
    /// Saturate N instances of the real server binary sharing one PostgreSQL database (needs
    /// ONSITE_TEST_POSTGRES): one instance first, then all N, with CPU seconds per round.
    #[arg(long)]
    instances: Option<usize>,
    /// With --instances: pin instance i to CPU core i (taskset), to show scaling on a machine
    /// with cores to spare.
    #[arg(long)]
    pin: bool,
    /// The server binary for --instances (default: `onsite-server` beside this program).
    #[arg(long)]
    server_exe: Option<std::path::PathBuf>,
    /// Instead: measure the dispatcher console in Chromium over a server holding this many jobs.
    #[arg(long)]
    console_jobs: Option<usize>,
    /// Changes timed on the console's board.
    #[arg(long, default_value_t = 20)]
    console_changes: usize,
    /// Instead: `--concurrency` dispatchers' edits on this many jobs through two instances on
    /// one PostgreSQL database (needs ONSITE_TEST_POSTGRES), for `--seconds`.
    #[arg(long)]
    contention: Option<usize>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

struct SimDevice {
    token: String,
    jobs: Vec<JobDigest>,
    actor: shared::edit::FieldActor,
    docs: Vec<(shared::JobId, automerge::AutoCommit, automerge::AutoCommit)>,
}

async fn post(http: &reqwest::Client, url: &str, token: &str, req: &SyncRequest) -> (SyncResponse, usize, usize) {
    let body = wire::encode(req);
    let sent = body.len();
    let r = http.post(url).bearer_auth(token).body(body).send().await.expect("server reachable");
    assert!(r.status().is_success(), "sync failed: {}", r.status());
    let bytes = r.bytes().await.unwrap();
    (wire::decode(&bytes).unwrap(), sent, bytes.len())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(jobs) = args.console_jobs {
        return console::run(jobs, args.console_changes).await;
    }
    if let Some(hot) = args.contention {
        return contention::run(hot, args.concurrency, args.seconds).await;
    }
    let dir = tempfile::tempdir()?;
    let rss_start = rss_mib();
    // Generous per-device limits: the point is the server's capacity, not its throttle.
    let limits =
        Limits { device_requests_per_s: 1_000_000, pairings_per_s: 1_000_000, client_requests_per_s: 1_000_000, ..Limits::default() };
    let server = Server::start(dir.path().join("server"), &limits).await;
    let state: AppState = server.state.clone();
    let url = format!("{}/v1/sync", server.url());
    let http = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency * 2).build()?;

    let t = Instant::now();
    // Devices are set up several at a time (the store takes concurrent writers; PostgreSQL
    // needs it to seed 10,000 devices in minutes).
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let made: Vec<anyhow::Result<(usize, Option<SimDevice>, String)>> = futures_util::stream::iter(0..args.devices)
        .map(|d| {
            let (state, done) = (state.clone(), done.clone());
            let (jobs, devices) = (args.jobs, args.devices);
            async move {
                // A line every tenth of the way: seeding 10,000 devices takes minutes.
                let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if n.is_multiple_of((devices / 10).max(1)) {
                    eprintln!("setup: {n} of {devices} devices, {:.0} s", t.elapsed().as_secs_f64());
                }
                let tech = shared::TechnicianId::new();
                state
                    .store
                    .put_technician(&onsite_server::store::Technician {
                        id: tech,
                        name: format!("tech {d}"),
                        phone: String::new(),
                        active: true,
                        skills: vec!["washer".into()],
                        brands: vec![],
                        level: 2,
                        home: None,
                        working_hours: None,
                    })
                    .await?;
                for j in 0..jobs {
                    let job: shared::docs::NewJob = serde_json::from_value(new_job_json(d * jobs + j))?;
                    let id = onsite_server::jobs::create(&state, job, "load").await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    onsite_server::jobs::dispatch_edit(&state, id, "load", DispatchEdit::Assign { technician: tech })
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                }
                let code = onsite_server::admin::pairing_code(&state, tech).await.map_err(|e| anyhow::anyhow!("{e}"))?.code;
                if d == 0 {
                    // Device 0 is a real phone (real store and client), paired over HTTP.
                    return Ok((d, None, code));
                }
                let token = new_token("osd_");
                let device = NewDevice { id: DeviceId::new(), name: "sim".into(), token_hash: hash_secret(&token), previous: None };
                let actor = shared::edit::FieldActor { technician: tech, device: device.id, name: format!("tech {d}") };
                let redeemed = state.store.redeem_pairing_code(&hash_secret(&code), Timestamp::now(), device).await?;
                anyhow::ensure!(matches!(redeemed, Redeemed::Paired(_)), "a fresh code pairs: {redeemed:?}");
                Ok((d, Some(SimDevice { token, jobs: Vec::new(), actor, docs: Vec::new() }), String::new()))
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut made = made.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    made.sort_by_key(|(d, _, _)| *d);
    let mut real_code = String::new();
    let mut sims = Vec::with_capacity(args.devices);
    for (_, sim, code) in made {
        match sim {
            Some(sim) => sims.push(sim),
            None => real_code = code,
        }
    }
    println!("setup: {} devices x {} jobs in {:.1} s", args.devices, args.jobs, t.elapsed().as_secs_f64());

    // A real device: initial sync, then no-change and one-edit rounds.
    let phone = Device::pair(dir.path(), "phone", &server.url(), &real_code).await;
    let t = Instant::now();
    let first = phone.client.sync_now().await?;
    println!(
        "initial sync (real device, {} jobs): {:.1} ms, {} rounds, {} B sent, {} B received",
        first.new_jobs,
        t.elapsed().as_secs_f64() * 1e3,
        first.rounds,
        first.bytes_sent,
        first.bytes_received
    );
    let mut lat = Vec::new();
    let mut bytes = (0, 0);
    for _ in 0..200 {
        let t = Instant::now();
        let r = phone.client.sync_documents().await?;
        lat.push(t.elapsed());
        bytes = (r.bytes_sent, r.bytes_received);
    }
    lat.sort();
    println!(
        "no-change sync: p50 {:.2} ms, p99 {:.2} ms; {} B sent + {} B received = {:.1} B per job",
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        bytes.0,
        bytes.1,
        (bytes.0 + bytes.1) as f64 / args.jobs as f64
    );
    let jobs: Vec<_> = phone.with(|s| s.list_all().unwrap()).into_iter().map(|j| j.job_id).collect();
    let mut lat = Vec::new();
    let mut rounds = 0;
    for i in 0..100 {
        phone.with(|s| s.apply_edit(jobs[i % jobs.len()], FieldEdit::AddNote { text: format!("load note {i}") }).unwrap());
        let t = Instant::now();
        let r = phone.client.sync_documents().await?;
        lat.push(t.elapsed());
        rounds += r.rounds;
        assert_eq!(phone.client.refresh_pending()?.pending_changes, 0);
    }
    lat.sort();
    println!(
        "one-edit sync (edit reaches the server, confirmed): p50 {:.2} ms, p99 {:.2} ms, {:.1} HTTP round trips each",
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        rounds as f64 / 100.0
    );

    // Simulated devices take their jobs (one round each), then saturate with no-change rounds.
    let t = Instant::now();
    for (n, sim) in sims.iter_mut().enumerate() {
        let (resp, _, _) = post(&http, &url, &sim.token, &SyncRequest::default()).await;
        for nj in &resp.new_jobs {
            let mut d = shared::docs::load(&nj.dispatch).unwrap();
            let mut f = shared::docs::load(&nj.field).unwrap();
            sim.jobs.push(JobDigest { job: nj.job, digest: wire::digest(&d.get_heads(), &f.get_heads()) });
            // The devices of the attack phase keep their documents to edit them.
            if n < args.honest {
                f.set_actor(shared::docs::device_actor(sim.actor.device));
                sim.docs.push((nj.job, d, f));
            }
        }
    }
    println!("initial sync of {} simulated devices: {:.1} s", sims.len(), t.elapsed().as_secs_f64());

    let sims = Arc::new(sims);
    if let Some(n) = args.instances {
        return instances::run(&args, n, dir.path().join("server"), sims).await;
    }
    let all = instances::saturate(&http, std::slice::from_ref(&url), &sims, args.seconds, args.concurrency).await?;
    println!(
        "saturation ({} in flight, {} s): {:.0} sync rounds/s, p50 {:.2} ms, p99 {:.2} ms",
        args.concurrency,
        args.seconds,
        all.len() as f64 / args.seconds as f64,
        percentile(&all, 0.5).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3
    );
    println!("process RSS: {:.0} MiB at start, {:.0} MiB now (server + generator, in one process)", rss_start, rss_mib());

    // Attack: honest devices edit while one device sends hostile messages at full speed.
    let honest: Vec<_> = Arc::try_unwrap(sims)
        .map_err(|_| anyhow::anyhow!("saturation tasks still hold the devices"))?
        .into_iter()
        .take(args.honest)
        .map(|s| Arc::new(tokio::sync::Mutex::new(attack::HonestDevice { token: s.token, actor: s.actor, jobs: s.docs })))
        .collect();
    let (attacker_token, attacker_requests) = {
        let tech = shared::TechnicianId::new();
        state
            .store
            .put_technician(&onsite_server::store::Technician {
                id: tech,
                name: "attacker".into(),
                phone: String::new(),
                active: true,
                skills: vec![],
                brands: vec![],
                level: 1,
                home: None,
                working_hours: None,
            })
            .await?;
        let job: shared::docs::NewJob = serde_json::from_value(new_job_json(0))?;
        let id = onsite_server::jobs::create(&state, job, "load").await.map_err(|e| anyhow::anyhow!("{e}"))?;
        onsite_server::jobs::dispatch_edit(&state, id, "load", DispatchEdit::Assign { technician: tech })
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let token = new_token("osd_");
        let code = onsite_server::admin::pairing_code(&state, tech).await.map_err(|e| anyhow::anyhow!("{e}"))?.code;
        let device = NewDevice { id: DeviceId::new(), name: "attacker".into(), token_hash: hash_secret(&token), previous: None };
        let actor = shared::edit::FieldActor { technician: tech, device: device.id, name: "attacker".into() };
        state.store.redeem_pairing_code(&hash_secret(&code), Timestamp::now(), device).await?;
        let (_, mut field) = state.store.load_job(id).await?.expect("the job was just made");
        (token, attack::hostile_messages(id, &actor, &mut field))
    };
    let base = attack::phase(&http, &url, &honest, None, args.attack_seconds).await;
    let hit =
        attack::phase(&http, &url, &honest, Some((attacker_token, attacker_requests, args.attack_in_flight)), args.attack_seconds).await;
    for (what, r) in [("without attack", &base), ("under attack", &hit)] {
        println!(
            "{} honest devices editing, {what}: {:.0} rounds/s, p50 {:.2} ms, p99 {:.2} ms; {} hostile requests answered ({:.0}/s); peak RSS {:.0} MiB",
            honest.len(),
            r.honest_rounds_per_s,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            r.hostile_requests,
            r.hostile_requests as f64 / args.attack_seconds as f64,
            r.rss_mib
        );
    }
    println!("honest p99 under attack / without: {:.2}x (target: at most 2x)", hit.p99.as_secs_f64() / base.p99.as_secs_f64().max(1e-9));
    server.stop().await;
    Ok(())
}
