//! Erasure and retention over real HTTP, a real server data folder and a real phone store: the
//! customer leaves every document (history included), index row, photo and file, the phone
//! holding the job drops it and nothing it still sends brings the data back, and the KPIs keep
//! counting the job.

use onsite_server::accounts::Role;
use onsite_tests::harness::{jpeg, new_job_json};
use serde_json::{Value, json};
use shared::edit::FieldEdit;
use shared::model::{FieldAction, PhotoKind};
use shared::photo::ReadyPhoto;

use crate::World;

use onsite_tests::backends::{files_holding, places_holding};

#[tokio::test]
async fn an_erased_customer_leaves_every_document_file_photo_and_phone() {
    let w = World::new().await;
    let d = &w.dispatcher;
    let (tech, phone) = w.technician("李师傅 Li").await;
    // One customer with two jobs (the number written two ways), and another customer.
    let first = d.create_job(41).await;
    let mut again = new_job_json(41);
    again["customer"]["phone"] = json!("13800000041");
    let (s, b) = d.post("/admin/v1/jobs", again).await;
    assert_eq!(s, 200, "{b}");
    let second: shared::JobId = b["job_id"].as_str().unwrap().parse().unwrap();
    let other = d.create_job(77).await;
    // A corrected name: the old spelling stays in the document's history.
    let (s, b) = d
        .act(
            first,
            "update",
            json!({ "fields": { "customer": { "name": "客户 Customer 41", "phone": "+86 138 0000 0041",
                    "address": "上海市徐汇区漕溪北路 41 号 5 室", "location": { "lat": 31.19, "lon": 121.43 } } } }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    d.assign(first, tech).await;
    // The technician works the job: a check-in where the customer lives, a photo of their home.
    phone.client.sync_now().await.unwrap();
    let photo = phone.with(|s| {
        let here = Some(shared::model::GeoPoint { lat: 31.190_01, lon: 121.430_02 });
        for action in [FieldAction::Accept, FieldAction::EnRoute, FieldAction::CheckIn] {
            let location = if action == FieldAction::CheckIn { here } else { None };
            s.apply_edit(first, FieldEdit::Status { action, location, reason: String::new() }).unwrap();
        }
        let ready = ReadyPhoto { jpeg: jpeg(200, 150, 9), thumbnail: jpeg(40, 30, 9), width: 200, height: 150 };
        s.add_photo(first, PhotoKind::Fault, "客厅 living room", ready).unwrap().field.photos[0].blob.clone()
    });
    phone.client.sync_now().await.unwrap();
    // Asked of the blob store, so the check holds for files and buckets alike.
    let blobs = w.server.state.blobs.clone();
    assert!(blobs.get(&photo).await.unwrap().is_some(), "the photo reached the server");
    // Offline again, the phone writes a note that names the customer; it is never sent.
    phone.with(|s| s.apply_edit(first, FieldEdit::AddNote { text: "王女士说门铃坏了 / Ms Wang: bell broken".into() }).unwrap());

    let secrets = ["Customer 41", "138 0000 0041", "13800000041", "漕溪北路 41 号", "Ms Wang"];
    let mut before = Vec::new();
    for s in secrets {
        before.extend(places_holding(&w.server.data, s).await);
    }
    assert!(!before.is_empty(), "the server's files hold the customer before erasure (the scan can fail)");

    // Only an admin erases.
    let dan = w.server.staff("调度 Dan", Role::Dispatcher).await;
    assert_eq!(dan.post("/admin/v1/erasures", json!({ "job": first, "include_open": true })).await.0, 403);
    // A dry run says which jobs would go, and erases nothing.
    let (s, preview) = d.post("/admin/v1/erasures", json!({ "job": first, "dry_run": true })).await;
    assert_eq!(s, 200, "{preview}");
    assert_eq!(preview["jobs"].as_array().unwrap().len(), 2);
    assert!(!places_holding(&w.server.data, "Customer 41").await.is_empty());
    let (_, tech_view) = d.get(&format!("/admin/v1/technicians/{tech}")).await;
    assert!(!tech_view["last_check_in"].is_null(), "the check-in at the customer's door is known: {tech_view}");
    // Both jobs are still open: erasing them takes them off the phones, so it must be asked for.
    let (s, refused) = d.post("/admin/v1/erasures", json!({ "job": first })).await;
    assert_eq!(s, 409, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains(&first.to_string()));
    let (s, erased) = d.post("/admin/v1/erasures", json!({ "job": first, "include_open": true })).await;
    assert_eq!(s, 200, "{erased}");
    let mut ids: Vec<String> = erased["jobs"].as_array().unwrap().iter().map(|j| j.as_str().unwrap().to_owned()).collect();
    ids.sort();
    let mut want = vec![first.to_string(), second.to_string()];
    want.sort();
    assert_eq!(ids, want, "both of the customer's jobs, not the other customer's");
    assert_eq!(erased["blobs_deleted"], 2, "the photo and its thumbnail");

    // The server: nothing of the customer in any file (database, its log, blobs; on PostgreSQL,
    // in any row of any table, and in the bucket) ...
    for s in secrets {
        assert_eq!(places_holding(&w.server.data, s).await, Vec::<String>::new(), "{s:?} is still on the server");
    }
    assert!(!places_holding(&w.server.data, "Customer 77").await.is_empty(), "the other customer is untouched");
    assert!(blobs.get(&photo).await.unwrap().is_none(), "the photo's bytes are gone");
    // ... nor in the documents' history (Automerge compresses columns on disk, so read them too).
    for job in [first, second] {
        let (mut dd, mut fd) = w.server.state.store.load_job(job).await.unwrap().unwrap();
        assert_eq!(dd.get_changes(&[]).len(), 1, "one change, no history");
        let text = String::from_utf8_lossy(&[dd.save_nocompress(), fd.save_nocompress()].concat()).into_owned();
        for s in secrets.iter().chain(&["客厅"]) {
            assert!(!text.contains(s), "{s:?} is in job {job}'s documents");
        }
    }
    let (_, tech_view) = d.get(&format!("/admin/v1/technicians/{tech}")).await;
    assert!(tech_view["last_check_in"].is_null(), "the technician's last position was the customer's door: {tech_view}");
    // The phone's photo upload for the erased job is refused.
    let token = phone.with(|s| s.meta("token").unwrap().unwrap());
    let r = reqwest::Client::new()
        .head(format!("{}/v1/blobs/{}", w.server.url(), photo))
        .bearer_auth(&token)
        .header("onsite-job", first.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "no photo of an erased job is taken");
    // The job is still there for the KPIs, as the work that was done.
    let view = d.job(first).await;
    assert_eq!(view["dispatch"]["customer"]["name"], shared::erase::ERASED_NAME);
    let events = view["field"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "the status events stay: {view}");
    assert!(events.iter().all(|e| e["location"].is_null()), "but not where the customer lives");
    assert_eq!(view["dispatch"]["appliance"]["brand"], "Haier");

    // The phone drops the job at its next sync, unsent note and all, and the note never reaches
    // the server.
    let report = phone.client.sync_now().await.unwrap();
    assert!(report.dropped_jobs >= 1, "{report:?}");
    assert!(phone.with(|s| s.open_job(first)).is_err(), "the erased job left the phone");
    for s in secrets {
        assert!(files_holding(phone.path.parent().unwrap(), s).is_empty(), "{s:?} is still in the phone's files");
    }
    let (dd, fd) = w.server.state.store.load_job(first).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&[dd.clone().save_nocompress(), fd.clone().save_nocompress()].concat()).into_owned();
    assert!(!text.contains("Ms Wang"));
    // The other job of the technician's stays on the phone.
    d.assign(other, tech).await;
    phone.client.sync_now().await.unwrap();
    assert!(phone.with(|s| s.open_job(other)).is_ok());
    let (_, log) = d.get("/admin/v1/audit").await;
    assert!(log.as_array().unwrap().iter().any(|e| e["route"] == "/admin/v1/erasures" && e["status"] == 200), "{log}");
}

#[tokio::test]
async fn retention_erases_jobs_finished_long_ago_and_nothing_else() {
    let w = World::new().await;
    let d = &w.dispatcher;
    let old = d.create_job(5).await;
    let (s, b) = d.act(old, "cancel", json!({ "reason": "客户取消 customer cancelled" })).await;
    assert_eq!(s, 200, "{b}");
    let open = d.create_job(6).await;
    // Jobs that finished before a minute from now: the cancelled one.
    let cutoff = shared::Timestamp::now().plus_minutes(1);
    let erased = onsite_server::erasure::sweep(&w.server.state, cutoff, 100).await.unwrap();
    assert_eq!(erased.jobs, vec![old]);
    assert_eq!(d.job(old).await["dispatch"]["customer"]["name"], shared::erase::ERASED_NAME);
    assert_eq!(d.job(open).await["dispatch"]["customer"]["name"], "客户 Customer 6");
    // Nothing left to do the second time.
    assert!(onsite_server::erasure::sweep(&w.server.state, cutoff, 100).await.unwrap().jobs.is_empty());
    let (_, kpis): (u16, Value) = d.get("/admin/v1/kpis").await;
    assert!(kpis.is_object(), "KPIs still answer over erased jobs: {kpis}");
}
