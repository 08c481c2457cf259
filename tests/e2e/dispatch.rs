//! The dispatcher endpoint against a real server with devices syncing at the same time.

use std::time::Duration;

use onsite_app::store::ReadyPhoto;
use serde_json::{Value, json};
use shared::edit::FieldEdit;
use shared::model::{FieldAction, GeoPoint, PhotoKind};
use shared::{JobId, Timestamp};

use crate::World;
use onsite_tests::harness::jpeg;

fn status(action: FieldAction) -> FieldEdit {
    // A fixed position away from the jobs' addresses: check-ins there say why.
    let reason = if action == FieldAction::CheckIn { "地址定位偏差 pin off the building".into() } else { String::new() };
    FieldEdit::Status { action, location: Some(GeoPoint { lat: 31.2, lon: 121.44 }), reason }
}

#[tokio::test]
async fn reassigning_while_the_first_technician_is_offline_keeps_their_work() {
    let w = World::new().await;
    let (li, li_dev) = w.technician("李明").await;
    let (zhang, zhang_dev) = w.technician("张伟").await;
    let job = w.assigned_jobs(li, 1).await[0];
    li_dev.client.sync_now().await.unwrap();

    // Li accepts, then loses signal.
    li_dev.with(|s| s.apply_edit(job, status(FieldAction::Accept)).unwrap());
    li_dev.client.sync_now().await.unwrap();
    // The dispatcher gives the job to Zhang, whose phone takes it.
    w.dispatcher.assign(job, zhang).await;
    zhang_dev.client.sync_now().await.unwrap();
    assert!(zhang_dev.with(|s| s.open_job(job)).is_ok(), "the job reached the second technician");

    // Li, offline, does not know and keeps working.
    li_dev.with(|s| {
        s.apply_edit(job, FieldEdit::AddNote { text: "门禁密码 1234 / gate code 1234".into() }).unwrap();
        s.apply_edit(job, status(FieldAction::EnRoute)).unwrap();
        s.add_photo(
            job,
            PhotoKind::Fault,
            "漏水 leak",
            ReadyPhoto { jpeg: jpeg(200, 150, 7), thumbnail: jpeg(40, 30, 7), width: 200, height: 150 },
        )
        .unwrap();
    });
    assert_eq!(li_dev.client.refresh_pending().unwrap().pending_changes, 1);

    // Li's phone reconnects: its work is uploaded first, and only then does the job leave it.
    let report = li_dev.client.sync_now().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(report.dropped_jobs, 1);
    assert!(li_dev.with(|s| s.open_job(job)).is_err(), "the job left Li's phone");
    let st = li_dev.client.status();
    assert_eq!((st.pending_changes, st.pending_blob_bytes), (0, 0));

    let detail = w.dispatcher.job(job).await;
    let notes: Vec<&str> = detail["field"]["notes"].as_array().unwrap().iter().map(|n| n["text"].as_str().unwrap()).collect();
    assert_eq!(notes, ["门禁密码 1234 / gate code 1234"], "Li's offline note is kept and visible");
    assert_eq!(detail["field"]["photos"].as_array().unwrap().len(), 1);
    assert_eq!(detail["derived"]["status"], "assigned");
    // Li's en-route after the reassignment is kept, flagged for the dispatcher.
    let conflicts = detail["derived"]["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0]["rejection"]["kind"], "not_assignee");

    // And Zhang sees Li's note once he syncs.
    zhang_dev.client.sync_now().await.unwrap();
    let z = zhang_dev.with(|s| s.open_job(job).unwrap());
    assert_eq!(z.field.notes.len(), 1);
    assert_eq!(z.field.photos.len(), 1);
}

#[tokio::test]
async fn lists_filter_and_page() {
    let w = World::new().await;
    let (li, _dev) = w.technician("李明").await;
    let jobs = w.assigned_jobs(li, 5).await;
    for i in 0..3 {
        w.dispatcher.create_job(100 + i).await;
    }
    let (s, b) = w.dispatcher.get("/admin/v1/jobs?limit=100").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["jobs"].as_array().unwrap().len(), 8);
    let (_, b) = w.dispatcher.get(&format!("/admin/v1/jobs?technician={li}&status=assigned")).await;
    assert_eq!(b["jobs"].as_array().unwrap().len(), 5);
    let (_, b) = w.dispatcher.get("/admin/v1/jobs?status=new").await;
    assert_eq!(b["jobs"].as_array().unwrap().len(), 3);
    // Paging: 3 + 3 + 2, no overlap.
    let mut seen = Vec::new();
    let mut offset = Some(0);
    while let Some(o) = offset {
        let (_, b) = w.dispatcher.get(&format!("/admin/v1/jobs?limit=3&offset={o}")).await;
        seen.extend(b["jobs"].as_array().unwrap().iter().map(|j| j["job"].as_str().unwrap().to_owned()));
        offset = b["next_offset"].as_u64().map(|x| x as usize);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 8);
    // Area: the demo jobs sit along 31.19.. lat, 121.43 lon; a 1 km circle far away holds none.
    let (_, b) = w.dispatcher.get("/admin/v1/jobs?lat=31.19&lon=121.43&radius_km=1").await;
    assert!(!b["jobs"].as_array().unwrap().is_empty());
    let (_, b) = w.dispatcher.get("/admin/v1/jobs?lat=39.9&lon=116.4&radius_km=5").await;
    assert!(b["jobs"].as_array().unwrap().is_empty());
    // Overdue: none have a resolve-by yet; give one a past deadline.
    let (s, b) = w.dispatcher.act(jobs[0], "update", json!({ "fields": { "sla": { "resolve_by": 1000 } } })).await;
    assert_eq!(s, 200, "{b}");
    let (_, b) = w.dispatcher.get("/admin/v1/jobs?overdue=true").await;
    let overdue: Vec<_> = b["jobs"].as_array().unwrap().iter().map(|j| j["job"].as_str().unwrap().to_owned()).collect();
    assert_eq!(overdue, [jobs[0].to_string()]);

    for bad in ["/admin/v1/jobs?limit=0", "/admin/v1/jobs?limit=9999", "/admin/v1/jobs?technician=xyz", "/admin/v1/jobs?colour=red"] {
        let (s, b) = w.dispatcher.get(bad).await;
        assert_eq!((s, b["error"]["code"].as_str()), (400, Some("bad_request")), "{bad}");
    }
    for bad in ["/admin/v1/jobs?status=lost", "/admin/v1/jobs?lat=31.2&lon=121.4"] {
        let (s, b) = w.dispatcher.get(bad).await;
        assert_eq!((s, b["error"]["code"].as_str()), (422, Some("unprocessable")), "{bad}");
    }
}

#[tokio::test]
async fn suggestions_auto_assign_and_self_service() {
    let w = World::new().await;
    let d = &w.dispatcher;
    let near = d.technician("近 Near", &["washer"]).await; // home 31.23, 121.47
    let (s, b) =
        d.post("/admin/v1/technicians", json!({ "name": "远 Far", "skills": ["washer"], "home": { "lat": 31.6, "lon": 121.47 } })).await;
    assert_eq!(s, 200, "{b}");
    let far = b["id"].as_str().unwrap().to_owned();
    let (s, b) = d
        .post(
            "/admin/v1/technicians",
            json!({ "name": "家具 Furniture", "skills": ["furniture"], "home": { "lat": 31.19, "lon": 121.43 } }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let job = d.create_job(1).await;
    let (s, b) = d.get(&format!("/admin/v1/jobs/{job}/suggestions")).await;
    assert_eq!(s, 200, "{b}");
    let names: Vec<&str> = b.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["近 Near", "远 Far", "家具 Furniture"]);
    assert!(b[0]["reasons"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().contains("km from home base")));

    // A new job's deadlines come from the policy: arrival by the appointment's end.
    let detail = d.job(job).await;
    let sla = &detail["dispatch"]["sla"];
    assert_eq!(sla["arrive_by"], detail["dispatch"]["appointment"]["end"], "{sla}");
    assert!(sla["respond_by"].is_string() && sla["resolve_by"].as_str() > sla["arrive_by"].as_str(), "{sla}");

    // Assigning someone not trained for it works, with a warning to see.
    let (s, b) = d.act(job, "assign", json!({ "technician": b.as_array().unwrap()[2]["technician"] })).await;
    assert_eq!(s, 200, "{b}");
    let warnings = b["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("not trained for washer")), "{b}");
    let (s, b) = d.act(job, "unassign", Value::Null).await;
    assert_eq!((s, b["warnings"].as_array().map(Vec::len)), (200, Some(0)), "{b}");

    let (s, b) = d.post(&format!("/admin/v1/jobs/{job}/auto-assign"), Value::Null).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["assignee"], near.to_string());

    // A job whose appointment has begun is never placed automatically; by hand, with a warning.
    let mut late = onsite_tests::harness::new_job_json(4);
    let now = Timestamp::now();
    late["appointment"] = json!({ "start": now.plus_minutes(-24 * 60).to_iso8601(), "end": now.plus_minutes(-23 * 60).to_iso8601() });
    let (s, b) = d.post("/admin/v1/jobs?auto_assign=true", late).await;
    assert_eq!((s, &b["assignee"]), (200, &Value::Null), "{b}");
    let late: JobId = b["job_id"].as_str().unwrap().parse().unwrap();
    let (s, b) = d.post(&format!("/admin/v1/jobs/{late}/auto-assign"), Value::Null).await;
    assert_eq!((s, b["error"]["code"].as_str()), (409, Some("conflict")), "{b}");
    let (s, b) = d.act(late, "assign", json!({ "technician": near })).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["warnings"].to_string().contains("appointment has already begun"), "{b}");
    d.act(late, "unassign", Value::Null).await;
    // Auto-assign mode on creation: Near is now booked in that window, so Far gets it; a job
    // nobody is trained for stays new.
    let (s, b) = d.post("/admin/v1/jobs?auto_assign=true", onsite_tests::harness::new_job_json(2)).await;
    assert_eq!((s, b["assignee"].as_str()), (200, Some(far.as_str())), "{b}");
    let mut odd = onsite_tests::harness::new_job_json(3);
    odd["appliance"]["category"] = json!("other");
    let (s, b) = d.post("/admin/v1/jobs?auto_assign=true", odd).await;
    assert_eq!((s, &b["assignee"]), (200, &Value::Null), "{b}");

    // Self-service: publish the knowledge base, answer a kettle job with an article.
    let kb: Value = serde_json::from_str(include_str!("../../assets/knowledge_base.json")).unwrap();
    let (s, b) = d.put("/admin/v1/reference/knowledge_base", kb).await;
    assert_eq!((s, b["version"].as_u64()), (200, Some(1)), "{b}");
    let mut kettle = onsite_tests::harness::new_job_json(9);
    kettle["appliance"]["category"] = json!("kettle");
    kettle["problem"] = json!("水壶烧开后不断电 / keeps boiling, does not switch off");
    let (_, b) = d.post("/admin/v1/jobs", kettle).await;
    let kjob: JobId = b["job_id"].as_str().unwrap().parse().unwrap();
    let (_, cands) = d.get(&format!("/admin/v1/jobs/{kjob}/self-service")).await;
    assert_eq!(cands[0]["id"], "kb-kettle-no-off");
    let (s, b) = d.post(&format!("/admin/v1/jobs/{kjob}/self-service"), json!({ "article_id": "kb-kettle-no-off" })).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("cancelled")), "{b}");
    let (s, _) = d.post(&format!("/admin/v1/jobs/{job}/self-service"), json!({ "article_id": "no-such" })).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn reference_data_reaches_devices_and_old_versions_stay_readable() {
    let w = World::new().await;
    let (li, dev) = w.technician("李明").await;
    let d = &w.dispatcher;
    let mut catalog: Value = serde_json::from_str(include_str!("../../assets/catalog.json")).unwrap();
    assert_eq!(d.put("/admin/v1/reference/catalog", catalog.clone()).await.0, 200);
    catalog["parts"][0]["price_minor"] = json!(99_00);
    let (s, b) = d.put("/admin/v1/reference/catalog", catalog.clone()).await;
    assert_eq!((s, b["error"]["code"].as_str()), (409, Some("conflict")), "publishing over version 1 again: {b}");
    catalog["version"] = json!(2);
    let (s, b) = d.put("/admin/v1/reference/catalog", catalog).await;
    assert_eq!((s, b["version"].as_u64()), (200, Some(2)));
    let stock = json!([{ "part_no": "WM-PUMP-01", "quantity": 3, "min_quantity": 1 }]);
    assert_eq!(d.put(&format!("/admin/v1/technicians/{li}/van-stock"), stock).await.0, 200);

    dev.client.sync_now().await.unwrap();
    let (part, van, versions) =
        dev.with(|s| (s.part("KT-THERM-01").unwrap().unwrap(), s.van_stock(Timestamp(0)).unwrap(), s.reference_versions().unwrap()));
    assert_eq!(part.price_minor, 99_00);
    assert_eq!(versions.catalog, 2);
    assert_eq!(van.len(), 1);
    assert_eq!(van[0].quantity, 3);

    let (_, v1) = d.get("/admin/v1/reference/catalog/1").await;
    assert_eq!(v1["parts"][0]["price_minor"], 25_00, "version 1 is kept as it was");
    let (_, list) = d.get("/admin/v1/reference/catalog/versions").await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (s, _) = d.put("/admin/v1/reference/catalog", json!({ "version": 0, "currency": "yuan", "parts": [] })).await;
    assert_eq!(s, 422);
    let (s, _) = d.put("/admin/v1/reference/recipes", json!({})).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_new_van_count_never_puts_a_part_used_offline_back() {
    let w = World::new().await;
    let d = &w.dispatcher;
    let catalog: Value = serde_json::from_str(include_str!("../../assets/catalog.json")).unwrap();
    assert_eq!(d.put("/admin/v1/reference/catalog", catalog).await.0, 200);
    let (li, dev) = w.technician("李明").await;
    let job = w.assigned_jobs(li, 1).await[0];
    let path = format!("/admin/v1/technicians/{li}/van-stock");
    let count = |n: u32| json!([{ "part_no": "WM-PUMP-01", "quantity": n, "min_quantity": 1 }]);
    let on_board = || dev.with(|s| s.van_stock(Timestamp(0)).unwrap()[0].quantity);
    // A count is stamped by the server when it is published; bracket it to place uses around it.
    let publish = |n: u32| {
        let path = path.clone();
        async move {
            let before = Timestamp::now();
            assert_eq!(d.put(&path, count(n)).await.0, 200);
            (Timestamp(before.0 - 1), Timestamp(Timestamp::now().0 + 1))
        }
    };

    publish(3).await;
    dev.client.sync_now().await.unwrap();
    assert_eq!(on_board(), 3);

    // Used before the depot's next count: that count already reflects it.
    let (before_count, _) = publish(6).await;
    dev.with(|s| s.use_part_at(job, "WM-PUMP-01", 1, before_count).unwrap());
    assert_eq!(on_board(), 2);
    dev.client.sync_now().await.unwrap();
    assert_eq!(on_board(), 6, "restocked to 6, as counted");

    // Used offline after a count the phone has not received yet: it still comes off that count.
    let (_, after_count) = publish(8).await;
    dev.with(|s| s.use_part_at(job, "WM-PUMP-01", 2, after_count).unwrap());
    assert_eq!(on_board(), 4);
    dev.client.sync_now().await.unwrap();
    assert_eq!(on_board(), 6, "8 counted, 2 used after the count");
    let q = dev.with(|s| s.open_job(job).unwrap().field.quote.lines.iter().map(|l| l.quantity).sum::<u32>());
    assert_eq!(q, 3, "every part used is on the quote");
}

#[tokio::test]
async fn kpis_report_and_live_events() {
    let w = World::new().await;
    let (li, dev) = w.technician("李明").await;
    let d = &w.dispatcher;
    let start = Timestamp::now().0 - 60_000;

    // Subscribe to live progress before anything happens.
    let mut events = d.http.get(format!("{}/admin/v1/events", d.base)).bearer_auth(&d.token).send().await.unwrap();
    assert_eq!(events.status(), 200);

    let jobs = w.assigned_jobs(li, 2).await;
    dev.client.sync_now().await.unwrap();
    dev.with(|s| {
        for a in [FieldAction::Accept, FieldAction::CheckIn, FieldAction::Start] {
            s.apply_edit(jobs[0], status(a)).unwrap();
        }
        s.apply_edit(
            jobs[0],
            FieldEdit::SetReport {
                report: shared::model::Report { cause: "排水泵堵塞".into(), method: "清理".into(), warranty_days: 90 }
            },
        )
        .unwrap();
        s.apply_edit(jobs[0], status(FieldAction::Complete)).unwrap();
        s.apply_edit(jobs[0], FieldEdit::Rate { score: 2, comment: "来晚了".into() }).unwrap();
    });
    let report = dev.client.sync_now().await.unwrap();
    assert!(report.refused.is_empty() && !report.more, "the server took all of the phone's work: {report:?}");

    let (from, to) = (Timestamp(start).to_iso8601(), Timestamp(Timestamp::now().0 + 1000).to_iso8601());
    let (s, k) = d.get(&format!("/admin/v1/kpis?from={from}&to={to}&group_by=brand_model")).await;
    assert_eq!(s, 200, "{k}");
    assert_eq!(k["overall"]["jobs"], 2);
    if k["overall"]["completed"] != 1 {
        // What the server holds of the job, to say why it is not counted.
        let (_, job) = d.get(&format!("/admin/v1/jobs/{}", jobs[0])).await;
        let phone = dev.with(|s| format!("{:?}", s.open_job_from_documents(jobs[0]).unwrap().derived));
        panic!("the completed job is not counted\nKPIs: {k}\nserver: {job}\nphone: {phone}");
    }
    assert_eq!(k["overall"]["first_time_fix_rate"], 1.0);
    assert_eq!(k["overall"]["avg_rating"], 2.0);
    assert_eq!(k["overall"]["low_ratings_by_cause"]["排水泵堵塞"], 1);
    assert_eq!(k["groups"]["Haier EG100"]["jobs"], 2);
    for bad in [&format!("/admin/v1/kpis?from={from}&to={to}&group_by=moon"), "/admin/v1/kpis?from=yesterday&to=5", "/admin/v1/kpis"] {
        assert_eq!(d.get(bad).await.0, 400, "{bad}");
    }
    assert_eq!(d.get(&format!("/admin/v1/kpis?from={to}&to={from}")).await.0, 422, "a period ending before it starts");

    let r = d.http.get(format!("{}/admin/v1/jobs/{}/report.html", d.base, jobs[0])).bearer_auth(&d.token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("排水泵堵塞") && html.contains("Completion") && html.contains("not signed"));

    // The stream carried the jobs' changes.
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !seen.contains(&jobs[0].to_string()) || !seen.contains("completed") {
        let chunk = tokio::time::timeout_at(deadline, events.chunk()).await.expect("events arrive").unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: job"));
}

#[tokio::test]
async fn bad_dispatcher_input_is_refused_and_changes_nothing() {
    let w = World::new().await;
    let (li, dev) = w.technician("李明").await;
    let d = &w.dispatcher;
    let job = w.assigned_jobs(li, 1).await[0];
    let before = d.job(job).await;
    let unknown = shared::TechnicianId::new();
    for (status, code, (s, b)) in [
        (404, "not_found", d.post(&format!("/admin/v1/technicians/{unknown}/pairing-codes"), Value::Null).await),
        (400, "bad_request", d.post("/admin/v1/technicians/nope/pairing-codes", Value::Null).await),
        (
            422,
            "unprocessable",
            d.put(&format!("/admin/v1/technicians/{li}/working-hours"), json!({ "start_min": 600, "end_min": 500, "utc_offset_min": 480 }))
                .await,
        ),
        (422, "unprocessable", d.post("/admin/v1/technicians", json!({ "name": "" })).await),
        (400, "bad_request", d.post("/admin/v1/technicians", json!({ "name": "王", "nickname": "x" })).await),
        (
            422,
            "unprocessable",
            d.post(
                "/admin/v1/jobs",
                json!({ "channel": "phone", "priority": "normal", "currency": "CNY", "problem": "x",
                "customer": { "name": "张", "phone": "1", "address": "a", "location": null },
                "appliance": { "category": "washer", "brand": "b", "model": "m", "serial": "", "purchase_date": "", "warranty_months": 0 },
                "appointment": { "start": "2026-12-01T10:00:00+08:00", "end": "2026-12-01T09:00:00+08:00" } }),
            )
            .await,
        ),
        (
            400,
            "bad_request",
            d.post(
                "/admin/v1/jobs",
                json!({ "channel": "phone", "priority": "normal", "currency": "CNY", "problem": "x",
                "customer": { "name": "张", "phone": "1", "address": "a", "location": null },
                "appliance": { "category": "washer", "brand": "b", "model": "m", "serial": "", "purchase_date": "", "warranty_months": 0 },
                "appointmnet": { "start": "2026-12-01T10:00:00+08:00", "end": "2026-12-01T11:00:00+08:00" } }),
            )
            .await,
        ),
        (
            422,
            "unprocessable",
            d.act(job, "update", json!({ "fields": { "customer": { "name": " ", "phone": "", "address": "", "location": null } } })).await,
        ),
        (422, "unprocessable", d.act(job, "update", json!({ "fields": { "problem": "长".repeat(3000) } })).await),
        (400, "bad_request", d.act(job, "assign", json!({ "technician": "not-an-id" })).await),
        (400, "bad_request", d.act(job, "reschedule", json!({ "window": "tomorrow" })).await),
        (422, "unprocessable", d.act(job, "reschedule", json!({ "window": { "start": 10, "end": 5 } })).await),
        (422, "unprocessable", d.act(job, "close", json!({})).await),
        (404, "not_found", d.get(&format!("/admin/v1/jobs/{}/suggestions", JobId::new())).await),
        (400, "bad_request", d.post("/admin/v1/jobs", json!({ "channel": "fax" })).await),
    ] {
        assert_eq!((s, b["error"]["code"].as_str()), (status, Some(code)), "{b}");
    }
    assert_eq!(d.job(job).await, before, "nothing changed");

    // Deactivating a technician locks their devices out.
    dev.client.sync_now().await.unwrap();
    assert_eq!(d.post(&format!("/admin/v1/technicians/{li}/deactivate"), Value::Null).await.0, 200);
    let err = dev.client.sync_now().await.unwrap_err();
    assert!(matches!(err, onsite_app::sync_client::SyncError::Server { status: 401, .. }), "{err}");
    let (_, sugg) = d.get(&format!("/admin/v1/jobs/{job}/suggestions")).await;
    assert_eq!(sugg[0]["qualified"], false, "a deactivated technician is not suggested as qualified");
}

#[tokio::test]
async fn customer_photos_reach_the_assigned_phone_verified_and_bad_uploads_change_nothing() {
    let w = World::new().await;
    let (li, dev) = w.technician("李明").await;
    let d = &w.dispatcher;
    let job = w.assigned_jobs(li, 1).await[0];
    dev.client.sync_now().await.unwrap();

    // Bad uploads: each refused with a clear code, the job untouched.
    let before = d.job(job).await;
    let path = format!("/admin/v1/jobs/{job}/customer-photos");
    for (status, code, (s, b)) in [
        (422, "unprocessable", d.post_bytes(&path, "image/jpeg", b"not a picture at all".to_vec()).await),
        (400, "bad_request", d.post_bytes(&path, "image/jpeg", Vec::new()).await),
        (404, "not_found", d.post_bytes(&format!("/admin/v1/jobs/{}/customer-photos", JobId::new()), "image/jpeg", jpeg(64, 48, 1)).await),
        (404, "not_found", d.act(job, "add_customer_photo", json!({ "photo": {} })).await),
    ] {
        assert_eq!((s, b["error"]["code"].as_str()), (status, Some(code)), "{b}");
    }
    let http = reqwest::Client::new();
    let tech =
        http.post(format!("{}{path}", w.server.url())).bearer_auth(dev.with(|s| s.meta("token").unwrap().unwrap())).body(jpeg(64, 48, 1));
    assert_eq!(tech.send().await.unwrap().status().as_u16(), 401, "a device token is no dispatcher token");
    assert_eq!(d.job(job).await, before, "nothing changed");

    // A 3000x2000 phone picture from the customer: re-encoded on the server, both blobs stored.
    let (s, added) = d.post_bytes(&format!("{path}?caption=data%20plate"), "image/jpeg", jpeg(3000, 2000, 9)).await;
    assert_eq!(s, 200, "{added}");
    assert_eq!((added["photo"]["width"].as_u64(), added["photo"]["height"].as_u64()), (Some(1600), Some(1067)));
    let full = d.http.get(format!("{}{}", w.server.url(), added["url"].as_str().unwrap())).bearer_auth(&d.token).send().await.unwrap();
    let full = full.bytes().await.unwrap();
    assert_eq!(image::load_from_memory(&full).unwrap().width(), 1600);

    // The phone learns of it on the next sync and downloads both, each checked against its hash.
    let blob: shared::BlobHash = added["photo"]["blob"].as_str().unwrap().parse().unwrap();
    let thumb: shared::BlobHash = added["photo"]["thumbnail"].as_str().unwrap().parse().unwrap();
    let report = dev.client.sync_now().await.unwrap();
    assert_eq!(report.blobs_downloaded, 2, "{report:?}");
    dev.with(|s| {
        let v = s.open_job(job).unwrap();
        assert_eq!(v.dispatch.customer_photos.len(), 1);
        assert_eq!(v.dispatch.customer_photos[0].caption, "data plate");
        assert_eq!(s.blob(&blob).unwrap().as_deref(), Some(&full[..]));
        assert!(s.blob(&thumb).unwrap().is_some());
        assert!(s.wanted_blobs().unwrap().is_empty(), "nothing left to fetch");
        // Downloaded blobs are not the phone's to upload.
        assert_eq!(s.pending_blob_bytes().unwrap(), 0);
    });
    assert_eq!(dev.client.sync_now().await.unwrap().blobs_downloaded, 0, "fetched once");
    assert!(dev.client.status().is_synced());
}

/// The KPIs the database sums (SQL on either backend) equal the same figures added up row by
/// row in Rust, for every grouping, including repeat visits made and unmade by serials
/// corrected after the jobs were stored.
#[tokio::test]
async fn kpis_summed_by_the_database_match_the_rows() {
    use onsite_server::store::kpi::{KpiKey, REPEAT_WINDOW_MS, sums_of};
    let w = World::new().await;
    let (state, d) = (&w.server.state, &w.dispatcher);
    let today = Timestamp::now().start_of_local_day(480);
    onsite_server::demo::seed_history(state, 400, 5, today, &|_| {}).await.unwrap();

    let rows = async || {
        let mut rows = Vec::new();
        for id in state.store.job_ids().await.unwrap() {
            rows.push(state.store.job_row(id).await.unwrap().unwrap());
        }
        rows.sort_by_key(|r| r.created_at);
        rows
    };
    // Corrections: a job takes the serial of one serviced 5 days before it (it becomes a repeat
    // visit), and a job that others repeat loses its serial (they stop being repeats).
    let before = rows().await;
    let first = &before[100];
    let later = before.iter().find(|r| r.created_at.0 > first.created_at.0 + 5 * Timestamp::DAY && r.serial != first.serial).unwrap();
    let repeated = before
        .iter()
        .find(|r| {
            before
                .iter()
                .any(|l| l.serial == r.serial && l.created_at > r.created_at && l.created_at.0 - r.created_at.0 <= REPEAT_WINDOW_MS)
        })
        .expect("the seeded history has repeat visits");
    for (job, serial) in [(later.job, first.serial.clone()), (repeated.job, "CHANGED-0001".to_owned())] {
        let mut appliance = d.job(job).await["dispatch"]["appliance"].clone();
        appliance["serial"] = json!(serial);
        let (s, b) = d.act(job, "update", json!({ "fields": { "appliance": appliance } })).await;
        assert_eq!(s, 200, "{b}");
    }

    let rows = rows().await;
    let repeat = |r: &onsite_server::store::JobIndex| {
        !r.serial.is_empty()
            && rows
                .iter()
                .any(|p| p.serial == r.serial && p.created_at < r.created_at && r.created_at.0 - p.created_at.0 <= REPEAT_WINDOW_MS)
    };
    let flagged: Vec<_> = rows.iter().map(|r| (r, repeat(r))).collect();
    let repeats = flagged.iter().filter(|(_, x)| *x).count();
    assert!(repeats > 5 && flagged.iter().any(|(r, x)| r.job == later.job && *x), "{repeats} repeat visits");
    let low = flagged.iter().filter(|(r, _)| r.facts.rating.is_some_and(|x| x <= 2)).count();
    assert!(low > 5, "the history has low ratings to break down ({low})");

    let (from, to) = (Timestamp(today.0 - 200 * Timestamp::DAY), Timestamp(today.0 + Timestamp::DAY));
    let keys = [
        KpiKey::All,
        KpiKey::Technician,
        KpiKey::Category,
        KpiKey::BrandModel,
        KpiKey::Day { offset_minutes: 480 },
        KpiKey::Day { offset_minutes: -300 },
    ];
    for key in keys {
        let got: std::collections::BTreeMap<_, _> = state.store.kpi_sums(from, to, key).await.unwrap().into_iter().collect();
        let want = sums_of(flagged.iter().filter(|(r, _)| r.created_at >= from && r.created_at < to).map(|(r, x)| (*r, *x)), key);
        assert_eq!(got.len(), want.len(), "{key:?}: groups {:?} vs {:?}", got.keys(), want.keys());
        for (name, want) in &want {
            assert_eq!(got.get(name), Some(want), "{key:?} group {name:?}");
        }
    }
}
