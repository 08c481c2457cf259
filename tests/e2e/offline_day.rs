//! A technician works a whole day offline while the dispatcher changes the same jobs; on
//! reconnect both sides hold identical documents and nothing either side saved is missing.

use onsite_app::store::ReadyPhoto;
use serde_json::json;
use shared::approval::content_hash;
use shared::edit::FieldEdit;
use shared::model::{FieldAction, GeoPoint, LineItem, LineKind, PartScan, PhotoKind, Report, SignaturePurpose, Window};
use shared::signature::Strokes;
use shared::status::Status;
use shared::{ItemId, Timestamp};

use crate::World;
use onsite_tests::harness::jpeg;

fn status(action: FieldAction) -> FieldEdit {
    // A fixed position away from the jobs' addresses: check-ins there say why.
    let reason = if action == FieldAction::CheckIn { "地址定位偏差 pin off the building".into() } else { String::new() };
    FieldEdit::Status { action, location: Some(GeoPoint { lat: 31.19, lon: 121.43 }), reason }
}

#[tokio::test]
async fn offline_day_converges_and_loses_nothing() {
    let w = World::new().await;
    let (li, dev) = w.technician("李明").await;
    let jobs = w.assigned_jobs(li, 20).await;
    // The parts catalog and the van's stock come from the office, like everything else.
    let catalog: serde_json::Value = serde_json::from_str(include_str!("../../assets/catalog.json")).unwrap();
    assert_eq!(w.dispatcher.put("/admin/v1/reference/catalog", catalog).await.0, 200);
    let stock = serde_json::json!([{ "part_no": "WM-PUMP-01", "quantity": 20, "min_quantity": 2 }]);
    assert_eq!(w.dispatcher.put(&format!("/admin/v1/technicians/{li}/van-stock"), stock).await.0, 200);
    let first = dev.client.sync_now().await.unwrap();
    assert_eq!(first.new_jobs, 20);

    // Offline: the whole day's work on the phone.
    for (i, &job) in jobs.iter().enumerate() {
        dev.with(|s| {
            for a in [FieldAction::Accept, FieldAction::EnRoute, FieldAction::CheckIn, FieldAction::Start] {
                s.apply_edit(job, status(a)).unwrap();
            }
            s.apply_edit(job, FieldEdit::AddNote { text: format!("排水泵卡死 pump jammed #{i}") }).unwrap();
            let photo = ReadyPhoto { jpeg: jpeg(320, 240, i as u8), thumbnail: jpeg(64, 48, i as u8), width: 320, height: 240 };
            s.add_photo(job, PhotoKind::DataPlate, "铭牌", photo).unwrap();
            s.apply_edit(
                job,
                FieldEdit::AddPartScan {
                    scan: PartScan {
                        id: ItemId::new(),
                        at: Timestamp::now(),
                        code: "6901234567892".into(),
                        symbology: "ean_13".into(),
                        part_no: Some("WM-PUMP-01".into()),
                        quantity: 1,
                        compatible: true,
                        in_van_stock: true,
                    },
                },
            )
            .unwrap();
            // The pump comes out of the van (the only way a part reaches a quote).
            s.use_part(job, "WM-PUMP-01", 1).unwrap();
            for (kind, code, price) in [(LineKind::CallOut, "CALLOUT", 50_00), (LineKind::Labor, "LAB-WM", 120_00)] {
                let line =
                    LineItem { id: ItemId::new(), kind, code: code.into(), description: code.into(), quantity: 1, unit_price_minor: price };
                s.apply_edit(job, FieldEdit::UpsertLine { line }).unwrap();
            }
            let view = s.open_job(job).unwrap();
            let shown = content_hash(SignaturePurpose::QuoteApproval, &view.dispatch, &view.field).unwrap();
            let strokes = Strokes(vec![vec![(0, 0), (30, 20), (60, 5)], vec![(10, 30), (50, 30)]]);
            s.apply_edit(
                job,
                FieldEdit::Sign {
                    purpose: SignaturePurpose::QuoteApproval,
                    signer: "客户".into(),
                    strokes: strokes.clone(),
                    shown_hash: shown,
                },
            )
            .unwrap();
            s.apply_edit(
                job,
                FieldEdit::SetReport {
                    report: Report { cause: "排水泵叶轮卡死".into(), method: "更换排水泵".into(), warranty_days: 90 }
                },
            )
            .unwrap();
            s.apply_edit(job, status(FieldAction::Complete)).unwrap();
            let view = s.open_job(job).unwrap();
            let shown = content_hash(SignaturePurpose::Completion, &view.dispatch, &view.field).unwrap();
            s.apply_edit(job, FieldEdit::Sign { purpose: SignaturePurpose::Completion, signer: "客户".into(), strokes, shown_hash: shown })
                .unwrap();
            s.apply_edit(job, FieldEdit::Rate { score: 5, comment: "很专业".into() }).unwrap();
        });
    }
    assert_eq!(dev.client.refresh_pending().unwrap().pending_changes, 20, "honest: 20 jobs unsent");
    assert!(!dev.client.status().is_synced());

    // Meanwhile the dispatcher reschedules some jobs and leaves notes on others.
    let later = Timestamp::now().0 + 86_400_000;
    for &job in &jobs[..5] {
        let (s, b) = w
            .dispatcher
            .act(job, "reschedule", json!({ "window": Window { start: Timestamp(later), end: Timestamp(later + 3_600_000) } }))
            .await;
        // Rescheduling is allowed while open; the technician's completion is offline, unseen.
        assert_eq!(s, 200, "{b}");
    }
    for &job in &jobs[5..15] {
        let (s, b) = w.dispatcher.act(job, "add_note", json!({ "text": "客户来电：请先打电话 / call first" })).await;
        assert_eq!(s, 200, "{b}");
    }

    // Back online.
    let mut reports = Vec::new();
    loop {
        let r = dev.client.sync_now().await.unwrap();
        assert!(r.refused.is_empty(), "{:?}", r.refused);
        let more = r.more;
        reports.push(r);
        if !more || reports.len() > 5 {
            break;
        }
    }
    let st = dev.client.status();
    let unsent = dev.with(|s| s.pending_jobs().unwrap());
    assert_eq!((st.pending_changes, st.pending_blob_bytes), (0, 0), "{st:?}\nunsent: {unsent:?}\nsyncs: {reports:#?}");
    assert!(st.is_synced());

    for (i, &job) in jobs.iter().enumerate() {
        let server = w.dispatcher.job(job).await;
        let local = dev.with(|s| s.open_job(job).unwrap());
        assert_eq!(server["dispatch"], serde_json::to_value(&local.dispatch).unwrap(), "job {i}: dispatch documents differ");
        assert_eq!(server["field"], serde_json::to_value(&local.field).unwrap(), "job {i}: field documents differ");
        assert_eq!(local.derived.status, Status::Completed);
        assert_eq!(local.field.events.len(), 5);
        assert_eq!(local.field.notes.len(), 1);
        assert_eq!(local.field.signatures.len(), 2);
        assert_eq!(server["quote_approval"]["state"], "valid");
        assert_eq!(server["photo_links"].as_array().unwrap().len(), 1);
        assert!(server["signatures"][0]["svg"].as_str().unwrap().starts_with("<svg"));
        assert_eq!(server["completion_approval"]["state"], "valid");
        if i < 5 {
            assert_eq!(local.dispatch.appointment.unwrap().start, Timestamp(later), "the reschedule reached the phone");
        }
        if (5..15).contains(&i) {
            assert_eq!(local.dispatch.notes.len(), 1, "the dispatcher's note reached the phone");
        }
        for p in &local.field.photos {
            for h in [&p.blob, &p.thumbnail] {
                let r = w
                    .dispatcher
                    .http
                    .get(format!("{}/admin/v1/blobs/{h}", w.dispatcher.base))
                    .bearer_auth(&w.dispatcher.token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200, "photo {h} reached the server");
                assert!(h.matches(&r.bytes().await.unwrap()));
            }
        }
    }
}

#[tokio::test]
async fn signing_out_keeps_unsent_work_then_hands_the_phone_over_clean() {
    use onsite_app::store::StoreError;
    use onsite_app::sync_client::{SyncError, pair};

    let w = World::new().await;
    let d = &w.dispatcher;
    let catalog: serde_json::Value = serde_json::from_str(include_str!("../../assets/catalog.json")).unwrap();
    assert_eq!(d.put("/admin/v1/reference/catalog", catalog).await.0, 200);
    let (li, dev) = w.technician("李明").await;
    let stock = json!([{ "part_no": "WM-PUMP-01", "quantity": 3, "min_quantity": 1 }]);
    assert_eq!(d.put(&format!("/admin/v1/technicians/{li}/van-stock"), stock).await.0, 200);
    let job = w.assigned_jobs(li, 1).await[0];
    dev.client.sync_now().await.unwrap();

    // Work done with no signal: signing out now would lose it, so it is refused and nothing changes.
    let photo = dev.with(|s| {
        s.apply_edit(job, status(FieldAction::Accept)).unwrap();
        let ready = ReadyPhoto { jpeg: jpeg(320, 240, 3), thumbnail: jpeg(64, 48, 3), width: 320, height: 240 };
        s.add_photo(job, PhotoKind::Fault, "漏水", ready).unwrap().field.photos[0].blob.clone()
    });
    let err = dev.client.sign_out().await.unwrap_err();
    assert!(matches!(err, SyncError::Store(StoreError::UnsyncedWork { jobs: 1, photo_bytes }) if photo_bytes > 0), "{err}");
    dev.with(|s| {
        assert_eq!(s.identity().unwrap().map(|i| i.technician), Some(li));
        assert_eq!(s.open_job(job).unwrap().field.photos.len(), 1);
        assert!(s.blob(&photo).unwrap().is_some());
        assert_eq!(s.van_stock(Timestamp(0)).unwrap().len(), 1);
    });

    // Once the server holds it all, signing out clears the technician's data and keeps the shared data.
    dev.client.sync_now().await.unwrap();
    dev.client.sign_out().await.unwrap();
    dev.with(|s| {
        assert_eq!(s.job_count().unwrap(), 0);
        assert!(s.blob(&photo).unwrap().is_none(), "the customer's photo left the phone");
        assert!(s.identity().unwrap().is_none());
        assert_eq!(s.meta("token").unwrap(), None);
        assert!(s.van_stock(Timestamp(0)).unwrap().is_empty(), "the van stock was the previous technician's");
        assert!(s.part("KT-THERM-01").unwrap().is_some(), "the catalog stays for the next technician");
        assert_eq!(s.meta("server").unwrap(), Some(w.server.url()));
    });
    assert!(matches!(dev.client.sync_now().await, Err(SyncError::NotPaired)));
    assert!(!dev.client.status().is_synced());

    // The next technician pairs the same phone and sees only their own jobs.
    let zhang = d.technician("张伟", &["washer"]).await;
    let theirs = w.assigned_jobs(zhang, 1).await[0];
    let code = d.pairing_code(zhang).await;
    pair(&dev.store, &w.server.url(), &code, "shared phone").await.unwrap();
    assert_eq!(dev.client.sync_now().await.unwrap().new_jobs, 1);
    dev.with(|s| {
        assert_eq!(s.list_all().unwrap().iter().map(|j| j.job_id).collect::<Vec<_>>(), [theirs]);
        assert_eq!(s.identity().unwrap().map(|i| i.technician), Some(zhang));
    });

    // And Li's work is on the server, whole.
    let detail = d.job(job).await;
    assert_eq!(detail["derived"]["status"], "accepted");
    assert_eq!(detail["field"]["photos"].as_array().unwrap().len(), 1);
}
