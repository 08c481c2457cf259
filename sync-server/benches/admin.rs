//! Dispatcher views at scale: by default 100,000 jobs (a year of a mid-size company) in the
//! embedded store; `ONSITE_BENCH_JOBS=1000000` for a national network, and
//! `ONSITE_BENCH_DATABASE_URL` (an empty PostgreSQL database) for the same on PostgreSQL
//! (`scripts/bench-views.sh` sets both up). Reports list pages (filtered, overdue, by area) and
//! KPI reports over the whole year and over the console's default month.

use criterion::{Criterion, criterion_group, criterion_main};
use onsite_server::kpi;
use onsite_server::store::{JobQuery, KpiKey};
use onsite_server::{AppState, BlobBackend, Limits, StoreBackend};
use shared::Timestamp;

const TECHS: usize = 50;

fn bench(c: &mut Criterion) {
    let jobs: usize = std::env::var("ONSITE_BENCH_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (state, backend) = match std::env::var("ONSITE_BENCH_DATABASE_URL") {
        Ok(url) => {
            let store = StoreBackend::Postgres { url, connections: 8 };
            (rt.block_on(AppState::open(dir.path(), &Limits::default(), &store, &BlobBackend::Files)).unwrap(), "PostgreSQL")
        }
        Err(_) => (AppState::embedded(dir.path(), &Limits::default()).unwrap(), "SQLite"),
    };
    let now = Timestamp::now();
    let today = now.start_of_local_day(8 * 60);
    let t0 = std::time::Instant::now();
    let step = (jobs / 10).max(1);
    let progress = |n: usize| {
        if n.is_multiple_of(step) {
            eprintln!("setup: {n} of {jobs} jobs, {:.0} s", t0.elapsed().as_secs_f64());
        }
    };
    let techs = rt.block_on(onsite_server::demo::seed_history(&state, jobs, TECHS, today, &progress)).unwrap();
    println!("setup: {jobs} jobs on {backend} in {:.0} s", t0.elapsed().as_secs_f64());

    let week = JobQuery {
        status: Some("assigned,accepted,en_route,on_site,in_progress,on_hold,completed".into()),
        technician: Some(techs[3]),
        from: Some(Timestamp(today.0 - 7 * Timestamp::DAY)),
        to: Some(Timestamp(today.0 + Timestamp::DAY)),
        limit: Some(50),
        ..JobQuery::default()
    };
    let page = rt.block_on(state.store.list_jobs(&week, now)).unwrap();
    println!("filtered page: {} jobs", page.len());
    c.bench_function("list_jobs_filtered", |b| b.iter(|| rt.block_on(state.store.list_jobs(&week, now)).unwrap()));
    let overdue = JobQuery { overdue: true, limit: Some(50), ..JobQuery::default() };
    c.bench_function("list_jobs_overdue", |b| b.iter(|| rt.block_on(state.store.list_jobs(&overdue, now)).unwrap()));
    let area = JobQuery { lat: Some(31.23), lon: Some(121.47), radius_km: Some(3.0), limit: Some(50), ..JobQuery::default() };
    c.bench_function("list_jobs_area", |b| b.iter(|| rt.block_on(state.store.list_jobs(&area, now)).unwrap()));

    let (from, to) = (Timestamp(today.0 - 400 * Timestamp::DAY), Timestamp(now.0 + Timestamp::DAY));
    let store = state.store.as_ref();
    let (k, _) = rt.block_on(kpi::report(store, from, to, KpiKey::All)).unwrap();
    println!("kpi over {} jobs: completed {}, first-time-fix {:?}, repeat {}", k.jobs, k.completed, k.first_time_fix_rate, k.repeat_visits);
    let mut g = c.benchmark_group("kpi");
    g.sample_size(10);
    // The API's report over every job, grouped by technician.
    g.bench_function("kpi_report_all_by_technician", |b| b.iter(|| rt.block_on(kpi::report(store, from, to, KpiKey::Technician)).unwrap()));
    // The console's default page: the last 30 days by day and by technician.
    let month = Timestamp(today.0 - 29 * Timestamp::DAY);
    g.bench_function("kpi_console_30_days", |b| {
        b.iter(|| {
            let by_day = rt.block_on(kpi::report(store, month, to, KpiKey::Day { offset_minutes: 8 * 60 })).unwrap();
            let by_tech = rt.block_on(kpi::report(store, month, to, KpiKey::Technician)).unwrap();
            (by_day, by_tech)
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
