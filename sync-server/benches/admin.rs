//! Dispatcher views at scale: by default 100,000 jobs (a year of a mid-size company) in the
//! embedded store; `ONSITE_BENCH_JOBS=1000000` for a national network, and
//! `ONSITE_BENCH_DATABASE_URL` (an empty PostgreSQL database) for the same on PostgreSQL
//! (`scripts/bench-views.sh` sets both up). Reports the console board's reads, API list pages
//! (filtered, overdue, by area) and KPI reports over the whole year and the console's default month.

use criterion::{Criterion, criterion_group, criterion_main};
use onsite_server::console::board::Filter;
use onsite_server::kpi;
use onsite_server::store::{JobQuery, KpiKey};
use onsite_server::{AppState, BlobBackend, Limits, StoreBackend};
use shared::Timestamp;
use shared::model::GeoPoint;

fn bench(c: &mut Criterion) {
    let jobs: usize = std::env::var("ONSITE_BENCH_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    // `ONSITE_BENCH_DIR` keeps the seeded data between runs (seeding a million jobs takes long).
    let temp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("ONSITE_BENCH_DIR").map_or_else(|| temp.path().to_owned(), std::path::PathBuf::from);
    let (state, backend) = match std::env::var("ONSITE_BENCH_DATABASE_URL") {
        Ok(url) => {
            let store = StoreBackend::Postgres { url, connections: 8, ca_file: None };
            (rt.block_on(AppState::open(&dir, &Limits::default(), &store, &BlobBackend::Files)).unwrap(), "PostgreSQL")
        }
        Err(_) => (AppState::embedded(&dir, &Limits::default()).unwrap(), "SQLite"),
    };
    let now = Timestamp::now();
    let today = now.start_of_local_day(8 * 60);
    let mut techs: Vec<_> = rt.block_on(state.store.technicians()).unwrap().into_iter().map(|t| t.id).collect();
    let held = rt.block_on(state.store.job_ids()).unwrap().len();
    if held == 0 {
        let t0 = std::time::Instant::now();
        let step = (jobs / 10).max(1);
        let progress = |n: usize| {
            if n.is_multiple_of(step) {
                eprintln!("setup: {n} of {jobs} jobs, {:.0} s", t0.elapsed().as_secs_f64());
            }
        };
        // About a thousand jobs a year per technician (at least 50 technicians).
        techs = rt.block_on(onsite_server::demo::seed_history(&state, jobs, (jobs / 1000).max(50), today, &progress)).unwrap();
        println!("setup: {jobs} jobs on {backend} in {:.0} s", t0.elapsed().as_secs_f64());
    } else {
        println!("setup: {held} jobs already on {backend} in {}", dir.display());
    }

    // The console's board: its four reads, as a whole, as one technician's and over an area.
    let board = |f: &Filter| f.queries(today).iter().map(|q| rt.block_on(state.store.list_jobs(q, now)).unwrap().len()).collect::<Vec<_>>();
    let area = Some((GeoPoint { lat: 31.23, lon: 121.47 }, 3.0));
    for (name, f) in [
        ("board", Filter::default()),
        ("board_technician", Filter { technician: Some(techs[3]), ..Filter::default() }),
        ("board_area", Filter { area, ..Filter::default() }),
    ] {
        println!("{name}: {:?} rows (queue, from yesterday, overdue, completed today)", board(&f));
        c.bench_function(name, |b| b.iter(|| board(&f)));
    }
    // The API's list: a technician's week, the overdue, an area over all time.
    let week = JobQuery {
        status: Some("assigned,accepted,en_route,on_site,in_progress,on_hold,completed".into()),
        technician: Some(techs[3]),
        from: Some(Timestamp(today.0 - 7 * Timestamp::DAY)),
        to: Some(Timestamp(today.0 + Timestamp::DAY)),
        limit: Some(50),
        ..JobQuery::default()
    };
    let overdue = JobQuery { overdue: true, limit: Some(50), ..JobQuery::default() };
    let area = JobQuery { lat: Some(31.23), lon: Some(121.47), radius_km: Some(3.0), limit: Some(50), ..JobQuery::default() };
    for (name, q) in [("list_jobs_filtered", week), ("list_jobs_overdue", overdue), ("list_jobs_area", area)] {
        println!("{name}: {} rows", rt.block_on(state.store.list_jobs(&q, now)).unwrap().len());
        c.bench_function(name, |b| b.iter(|| rt.block_on(state.store.list_jobs(&q, now)).unwrap()));
    }

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
