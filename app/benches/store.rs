//! Local store at realistic size: 5,000 jobs (months of history plus today's work).
//! Reports list today, open one job (from its cached copy and from its documents), one committed
//! edit, the smallest commit and one of ten pages, and bytes per job; then the same reads and
//! edit on an unencrypted store (`*_unencrypted`), which is what encryption costs.

use criterion::{Criterion, criterion_group, criterion_main};
use dioxus::prelude::*;
use onsite_app::demo::DEMO_UTC_OFFSET_MIN;
use onsite_app::store::{Store, TodayQuery};
use shared::edit::FieldEdit;
use shared::model::Report;
use shared::{JobId, Timestamp};

const JOBS: usize = 5_000;

fn fill(store: &mut Store, now: Timestamp) -> Vec<JobId> {
    onsite_app::demo::fill_for_bench(store, JOBS, now).unwrap()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.sqlite");
    let mut store = Store::open(&path).unwrap();
    let now = Timestamp::now();
    let open = fill(&mut store, now);
    let all: Vec<JobId> = store.list_all().unwrap().into_iter().map(|j| j.job_id).collect();
    let q = TodayQuery { day_start: now.start_of_local_day(DEMO_UTC_OFFSET_MIN) };
    println!(
        "store: {} jobs, {} today, {} bytes on disk, {} bytes per job",
        store.job_count().unwrap(),
        store.list_today(q).unwrap().len(),
        store.size_bytes().unwrap(),
        store.size_bytes().unwrap() / JOBS as u64
    );

    c.bench_function("list_today_5000", |b| b.iter(|| store.list_today(q).unwrap()));
    let mut i = 0;
    c.bench_function("open_job_5000", |b| {
        b.iter(|| {
            i = (i + 7919) % all.len();
            store.open_job(all[i]).unwrap()
        })
    });
    // The same jobs read from their Automerge documents, passing over the cached copy.
    c.bench_function("open_job_from_documents_5000", |b| {
        b.iter(|| {
            i = (i + 7919) % all.len();
            store.open_job_from_documents(all[i]).unwrap()
        })
    });
    // Tap to render: what a tap on a job card costs before the screen can draw (the job screen's
    // store reads, then rendering it), and the same for Today (its list and the van check).
    let mut k = 0;
    c.bench_function("tap_to_render_job_5000", |b| {
        b.iter(|| {
            k = (k + 7919) % open.len();
            let loaded = onsite_app::ui::views::job::load(&mut store, open[k]).unwrap();
            let data = loaded.screen(None, now, DEMO_UTC_OFFSET_MIN);
            let mut dom = VirtualDom::new_with_props(job_screen, JobProps { data });
            dom.rebuild_in_place();
            dioxus_ssr::render(&dom)
        })
    });
    c.bench_function("tap_to_render_today_5000", |b| {
        b.iter(|| {
            let jobs = store.list_today(q).unwrap();
            let readiness = store.van_readiness(&jobs).unwrap();
            let mut dom = VirtualDom::new_with_props(today_screen, TodayProps { jobs, readiness });
            dom.rebuild_in_place();
            dioxus_ssr::render(&dom)
        })
    });
    let mut n = 0u64;
    c.bench_function("edit_committed_5000", |b| {
        b.iter(|| {
            n += 1;
            let job = open[n as usize % open.len()];
            let report = Report { cause: format!("drain pump impeller seized #{n}"), method: "replaced pump".into(), warranty_days: 90 };
            store.apply_edit(job, FieldEdit::SetReport { report }).unwrap()
        })
    });
    // The smallest commit (one row of `meta`): what any committed action costs at least.
    let mut m = 0u64;
    c.bench_function("commit_one_row_5000", |b| {
        b.iter(|| {
            m += 1;
            store.set_meta("bench", &m.to_string()).unwrap()
        })
    });
    // A commit of ten pages (a 40 KB value): what each further page written costs.
    let big = "x".repeat(40_000);
    c.bench_function("commit_ten_pages_5000", |b| {
        b.iter(|| {
            m += 1;
            store.set_meta("bench-big", &format!("{m}{big}")).unwrap()
        })
    });
    println!("after edits: {} bytes per job", store.size_bytes().unwrap() / JOBS as u64);
    drop(store);

    // Cold start: open the file, read today's list, render the Today screen to HTML.
    c.bench_function("cold_start_today_5000", |b| {
        b.iter(|| {
            let store = Store::open(&path).unwrap();
            let jobs = store.list_today(q).unwrap();
            let mut dom = VirtualDom::new_with_props(today_screen, TodayProps { jobs, readiness: Vec::new() });
            dom.rebuild_in_place();
            dioxus_ssr::render(&dom)
        })
    });

    // What encryption costs: the same reads and edit on an unencrypted store.
    let plain_path = dir.path().join("plain.sqlite");
    let mut plain = Store::open_unencrypted(&plain_path).unwrap();
    let open = fill(&mut plain, now);
    let all: Vec<JobId> = plain.list_all().unwrap().into_iter().map(|j| j.job_id).collect();
    c.bench_function("list_today_5000_unencrypted", |b| b.iter(|| plain.list_today(q).unwrap()));
    let mut i = 0;
    c.bench_function("open_job_5000_unencrypted", |b| {
        b.iter(|| {
            i = (i + 7919) % all.len();
            plain.open_job(all[i]).unwrap()
        })
    });
    let mut n = 0u64;
    c.bench_function("edit_committed_5000_unencrypted", |b| {
        b.iter(|| {
            n += 1;
            let job = open[n as usize % open.len()];
            let report = Report { cause: format!("drain pump impeller seized #{n}"), method: "replaced pump".into(), warranty_days: 90 };
            plain.apply_edit(job, FieldEdit::SetReport { report }).unwrap()
        })
    });
}

#[derive(Clone, PartialEq, Props)]
struct TodayProps {
    jobs: Vec<onsite_app::store::JobSummary>,
    readiness: Vec<onsite_app::store::Shortfall>,
}

#[derive(Clone, PartialEq, Props)]
struct JobProps {
    data: onsite_app::ui::components::job::JobScreenData,
}

fn job_screen(p: JobProps) -> Element {
    rsx! { onsite_app::ui::components::job::JobScreen { data: p.data, lang: onsite_app::ui::Lang::Zh, on_action: |_| {} } }
}

fn today_screen(p: TodayProps) -> Element {
    rsx! {
        onsite_app::ui::components::today::TodayScreen {
            jobs: p.jobs,
            readiness: p.readiness,
            now: Timestamp::now(),
            here: None,
            sync: onsite_app::sync_client::SyncStatus::default(),
            online: true,
            lang: onsite_app::ui::Lang::Zh,
            utc_offset_min: DEMO_UTC_OFFSET_MIN,
            on_open: |_| {},
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
