//! `--contention HOT`: two instances (two server states, two connection pools) on one
//! PostgreSQL database, `--concurrency` writers for `--seconds`, each adding a dispatcher's note
//! to one of `HOT` jobs through instance A or B in turn. Few hot jobs means many writers on the
//! same job at once across instances: what the job lease (or any replacement for it) has to get
//! right and pay for. Afterwards every note is counted in the stored documents: nothing lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use onsite_server::{AppState, BlobBackend, Limits};
use shared::JobId;
use shared::edit::DispatchEdit;

use crate::percentile;

pub async fn run(hot: usize, concurrency: usize, seconds: u64) -> anyhow::Result<()> {
    anyhow::ensure!(hot >= 1, "--contention is at least 1 job");
    let dir = tempfile::tempdir()?;
    let store = onsite_tests::backends::store_for(&dir.path().join("shared")).await;
    anyhow::ensure!(
        matches!(store, onsite_server::StoreBackend::Postgres { .. }),
        "--contention needs a shared database: set ONSITE_TEST_POSTGRES (see tests/src/backends.rs)"
    );
    let mut instances = Vec::new();
    for name in ["a", "b"] {
        let data = dir.path().join(name);
        instances.push(AppState::open(&data, &Limits::default(), &store, &BlobBackend::Files).await?);
    }
    let mut jobs = Vec::new();
    for n in 0..hot {
        let job: shared::docs::NewJob = serde_json::from_value(onsite_tests::harness::new_job_json(n))?;
        jobs.push(onsite_server::jobs::create(&instances[0], job, "load").await.map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    let (instances, jobs) = (Arc::new(instances), Arc::new(jobs));
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (instances, jobs, done) = (instances.clone(), jobs.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = 0;
            while Instant::now() < deadline {
                let state: &AppState = &instances[(w + i) % 2];
                // Each writer its own sequence of jobs, so writers meet on a job by chance.
                let pick =
                    (w as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 33;
                let job: JobId = jobs[pick as usize % jobs.len()];
                let t = Instant::now();
                let edit = DispatchEdit::AddNote { text: format!("争用 contention {w}/{i}") };
                onsite_server::jobs::dispatch_edit(state, job, "load", edit).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                lat.push(t.elapsed());
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let edits = done.load(Ordering::Relaxed);
    // Nothing lost: every note made is in the stored documents, read back through instance B.
    let mut stored = 0;
    for &job in jobs.iter() {
        let (d, _) = instances[1].store.load_job(job).await?.ok_or_else(|| anyhow::anyhow!("job {job} vanished"))?;
        let d = shared::docs::read_dispatch(&d)?;
        stored += d.notes.iter().filter(|n| n.text.starts_with("争用")).count();
    }
    println!(
        "contention: {hot} hot job(s), {concurrency} writers over 2 instances, {seconds} s: {:.0} edits/s, p50 {:.2} ms, p99 {:.2} ms; {edits} edits made, {stored} stored",
        edits as f64 / elapsed,
        percentile(&all, 0.5).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
    );
    anyhow::ensure!(stored == edits, "{} of {edits} notes lost", edits - stored);
    Ok(())
}
