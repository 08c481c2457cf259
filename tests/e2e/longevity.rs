//! A phone that has worked for years: closed and cancelled jobs leave it after the retention
//! period, so its sync stays small and never runs into the wire's limits.

use automerge::ActorId;
use onsite_server::Limits;
use onsite_tests::harness::{Device, Server, new_job_json};
use shared::docs::{NewJob, create_job, read_field};
use shared::edit::{DispatchEdit, apply_dispatch_edit};
use shared::{TechnicianId, Timestamp};

/// Jobs of `tech` created and cancelled over the past `days` days, `per_day` a day, written
/// straight into the server's store (as years of dispatch would have left them).
async fn years_of_jobs(server: &Server, tech: TechnicianId, days: i64, per_day: i64) -> usize {
    let now = Timestamp::now();
    let mut n = 0;
    for day in 0..days {
        for k in 0..per_day {
            let at = Timestamp(now.0 - (days - day) * Timestamp::DAY + k * Timestamp::HOUR);
            let new: NewJob = serde_json::from_value(new_job_json(n)).unwrap();
            let mut docs = create_job(new, "调度 Ann", at, ActorId::random()).unwrap();
            let field = read_field(&docs.field).unwrap();
            let assign = DispatchEdit::Assign { technician: tech };
            apply_dispatch_edit(&mut docs.dispatch, &field, "调度 Ann", at.plus_minutes(1), assign).unwrap();
            let cancel = DispatchEdit::Cancel { reason: "客户已自行修好 fixed by the customer".into() };
            apply_dispatch_edit(&mut docs.dispatch, &field, "调度 Ann", at.plus_minutes(120), cancel).unwrap();
            onsite_server::jobs::store_new(&server.state, docs).await.unwrap();
            n += 1;
        }
    }
    n
}

async fn sync_until_done(dev: &Device) {
    for _ in 0..20 {
        if !dev.client.sync_now().await.expect("the phone syncs").more {
            return;
        }
    }
    panic!("sync never finished");
}

#[tokio::test]
async fn a_phone_that_has_worked_three_years_still_syncs_and_keeps_only_recent_jobs() {
    let dir = tempfile::tempdir().unwrap();
    // Before retention existed, every job ever assigned stayed on the phone.
    let keep_all = Limits { finished_job_retention_days: 100_000, ..Limits::default() };
    let server = Server::start(dir.path().join("server"), &keep_all).await;
    let dispatcher = server.dispatcher("调度 Ann").await;
    let li = dispatcher.technician("李明", &["washer"]).await;
    let code = dispatcher.pairing_code(li).await;
    let dev = Device::pair(dir.path(), "李明", &server.url(), &code).await;
    let old = years_of_jobs(&server, li, 3 * 365, 3).await;
    assert!(old > shared::wire::SYNC_JOBS_MAX / 5, "{old}");
    let mut today = Vec::new();
    for i in 0..5 {
        // The first is a return visit: the same washer as the sixth job, three years ago.
        let job = dispatcher.create_job(if i == 0 { 5 } else { 100_000 + i }).await;
        dispatcher.assign(job, li).await;
        today.push(job);
    }
    sync_until_done(&dev).await;
    assert_eq!(dev.with(|s| s.job_count().unwrap()) as usize, old + 5, "the phone holds three years of jobs");

    // The server now keeps finished jobs on phones for 30 days: the phone lets the old ones go.
    let (data, addr) = server.stop().await;
    let server = Server::start_on(data, addr, &Limits::default()).await;
    sync_until_done(&dev).await;
    let held = dev.with(|s| s.job_count().unwrap()) as usize;
    assert!(held <= 5 + 31 * 3, "{held} jobs held");
    let ids: Vec<_> = dev.with(|s| s.list_all().unwrap()).into_iter().map(|j| j.job_id).collect();
    assert!(today.iter().all(|j| ids.contains(j)), "today's jobs stay");
    // And it keeps syncing, a small request each time.
    let report = dev.client.sync_now().await.unwrap();
    assert!(report.bytes_sent < 24 * (held + 10) + 1024, "{} bytes sent", report.bytes_sent);

    // Online, the technician still finds the washer's earlier visit, long gone from the phone.
    let past = dev.client.history(today[0]).await.unwrap();
    assert_eq!(past.len(), 1, "{past:?}");
    assert_eq!((past[0].serial.as_str(), past[0].status.as_str()), ("HA00000005", "cancelled"));
    assert!(!ids.contains(&past[0].job));
    // Only for the technician's own jobs.
    let other = dispatcher.create_job(5).await;
    assert!(dev.client.history(other).await.is_err());
    drop(server);
}
