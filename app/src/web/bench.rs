//! The store's speed in the browser, for comparison with the native benchmark
//! (`cargo bench -p app --bench store`): the same store code and the same 5,000-job shape, over
//! SQLite in OPFS. Run by `bench.html` (see `scripts/bench-web.sh`); answers JSON.

use shared::Timestamp;
use shared::edit::FieldEdit;
use shared::model::Report;
use web_time::Instant;

use crate::demo::{DEMO_UTC_OFFSET_MIN, fill_for_bench};
use crate::store::{Store, TodayQuery};
use crate::ui::error::UiError;

/// Mean milliseconds of `runs` calls of `f`.
fn mean_ms(runs: u32, mut f: impl FnMut(u32) -> Result<(), UiError>) -> Result<f64, UiError> {
    let t = Instant::now();
    for i in 0..runs {
        f(i)?;
    }
    Ok(t.elapsed().as_secs_f64() * 1000.0 / f64::from(runs))
}

pub async fn run(jobs: usize) -> Result<String, UiError> {
    // A pool of its own, emptied first: the app's store is never touched.
    let cfg = sqlite_wasm_vfs::sahpool::OpfsSAHPoolCfgBuilder::new()
        .vfs_name("onsite-bench")
        .directory(".onsite-bench")
        .clear_on_init(true)
        .build();
    let pool = sqlite_wasm_vfs::sahpool::install::<sqlite_wasm_rs::WasmOsCallback>(&cfg, true)
        .await
        .map_err(|e| UiError::Engine(format!("the browser's private file system is not available ({e:?})")))?;
    super::cipher::encrypt_vfs("onsite-bench")?;
    let key = super::cipher::store_key().await?;
    let mut store = Store::open_with_key("/bench.db", &key)?;
    let now = Timestamp::now();
    let t = Instant::now();
    let open = fill_for_bench(&mut store, jobs, now)?;
    let fill_s = t.elapsed().as_secs_f64();
    let all: Vec<_> = store.list_all()?.into_iter().map(|j| j.job_id).collect();
    let q = TodayQuery { day_start: now.start_of_local_day(DEMO_UTC_OFFSET_MIN) };
    // Warm, as criterion warms the native runs: one pass over every job first (the page cache
    // then holds the file, as it would after a day of use).
    let first_open_ms = mean_ms(all.len() as u32, |i| Ok(store.open_job(all[i as usize]).map(drop)?))?;
    let list_today_ms = mean_ms(50, |_| Ok(store.list_today(q).map(drop)?))?;
    let open_job_ms = mean_ms(200, |i| Ok(store.open_job(all[(i as usize * 7919) % all.len()]).map(drop)?))?;
    // One job again and again: what opening costs when its pages are in the cache.
    let open_job_hot_ms = mean_ms(200, |_| Ok(store.open_job(all[0]).map(drop)?))?;
    let open_job_documents_ms = mean_ms(200, |i| Ok(store.open_job_from_documents(all[(i as usize * 7919) % all.len()]).map(drop)?))?;
    let edit_committed_ms = mean_ms(100, |i| {
        let report = Report { cause: format!("drain pump impeller seized #{i}"), method: "replaced pump".into(), warranty_days: 90 };
        Ok(store.apply_edit(open[i as usize % open.len()], FieldEdit::SetReport { report }).map(drop)?)
    })?;
    // The smallest commit (one row of `meta`): what any committed action costs at least.
    let commit_one_row_ms = mean_ms(100, |i| Ok(store.set_meta("bench", &i.to_string())?))?;
    // A commit of ten pages (a 40 KB value): what each further page written costs.
    let big = "x".repeat(40_000);
    let commit_ten_pages_ms = mean_ms(50, |i| Ok(store.set_meta("bench-big", &format!("{i}{big}"))?))?;
    // The same edits with SQLite syncing less often (NORMAL): what FULL's extra flush costs here.
    store.set_synchronous_for_bench("NORMAL")?;
    let edit_committed_normal_ms = mean_ms(100, |i| {
        let report = Report { cause: format!("thermostat #{i}"), method: "replaced".into(), warranty_days: 30 };
        Ok(store.apply_edit(open[i as usize % open.len()], FieldEdit::SetReport { report }).map(drop)?)
    })?;
    store.set_synchronous_for_bench("FULL")?;
    let tap_to_load_job_ms = mean_ms(100, |i| Ok(crate::ui::views::job::load(&mut store, open[i as usize % open.len()]).map(drop)?))?;
    let bytes_per_job = store.size_bytes()? / jobs.max(1) as u64;
    drop(store);
    // Nothing stays behind in the origin's quota.
    let _ = pool.clear_all().await;
    Ok(serde_json::json!({
        "jobs": jobs,
        "fill_s": fill_s,
        "bytes_per_job": bytes_per_job,
        "list_today_ms": list_today_ms,
        "open_job_ms": open_job_ms,
        "open_job_cold_ms": first_open_ms,
        "open_job_from_documents_ms": open_job_documents_ms,
        "open_job_hot_ms": open_job_hot_ms,
        "edit_committed_ms": edit_committed_ms,
        "commit_one_row_ms": commit_one_row_ms,
        "commit_ten_pages_ms": commit_ten_pages_ms,
        "edit_committed_normal_sync_ms": edit_committed_normal_ms,
        "tap_to_load_job_ms": tap_to_load_job_ms,
    })
    .to_string())
}
