//! A modified phone against the real server: sync messages built to exhaust it, and field
//! changes the app would never make. Each is refused per document, stores nothing, and leaves the
//! server answering everyone else.

use automerge::AutoCommit;
use automerge::sync::{BloomFilter, ChunkList, Have, Message, MessageVersion};
use shared::docs::{DocKind, device_actor, read_field};
use shared::edit::FieldEdit;
use shared::model::{FieldAction, FieldDoc, Note};
use shared::wire::{self, DocMessage, RefusalCode, SyncRequest, SyncResponse};
use shared::{ItemId, JobId, TechnicianId, Timestamp};

use crate::World;
use onsite_tests::harness::Device;

fn token(d: &Device) -> String {
    d.with(|s| s.meta("token").unwrap().unwrap())
}

async fn send(w: &World, dev: &Device, messages: Vec<DocMessage>) -> SyncResponse {
    let req = SyncRequest { messages, ..SyncRequest::default() };
    let r = reqwest::Client::new()
        .post(format!("{}{}", w.server.url(), wire::http::SYNC_PATH))
        .bearer_auth(token(dev))
        .body(wire::encode(&req))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(r.status(), 200);
    wire::decode(&r.bytes().await.unwrap()).unwrap()
}

async fn healthy(w: &World) {
    let r = reqwest::get(format!("{}/health", w.server.url())).await.expect("the server is still up");
    assert_eq!(r.status(), 200);
}

fn message(heads: Vec<automerge::ChangeHash>, have: Vec<Have>, changes: Vec<Vec<u8>>) -> Vec<u8> {
    Message { heads, need: vec![], have, changes: ChunkList::from(changes), flags: None, version: MessageVersion::V1 }.encode()
}

fn chunk(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut c = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, kind];
    leb128::write::unsigned(&mut c, body.len() as u64).unwrap();
    c.extend(body);
    c
}

fn field_msg(job: JobId, message: Vec<u8>) -> DocMessage {
    DocMessage { job, kind: DocKind::Field, message }
}

#[tokio::test]
async fn messages_built_to_exhaust_the_server_are_refused_and_it_stays_up() {
    let w = World::new().await;
    let (li, dev) = w.technician("李明").await;
    let job = w.assigned_jobs(li, 1).await[0];
    dev.client.sync_now().await.unwrap();
    let before = w.dispatcher.job(job).await;

    // 1. A Bloom filter claiming 2^32-1 probes: Automerge would reserve 16 GiB for them.
    let mut bloom = Vec::new();
    for v in [3u64, 10, u32::MAX as u64] {
        leb128::write::unsigned(&mut bloom, v).unwrap();
    }
    bloom.extend([0xff; 4]);
    let have = Have { last_sync: vec![], bloom: BloomFilter::try_from(bloom.as_slice()).unwrap() };
    let probes = message(vec![], vec![have], vec![]);
    assert!(probes.len() <= 41, "{} bytes", probes.len());

    // 2. A compressed change that inflates to 64 MiB (and would to GiBs with more input).
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut enc, &vec![0u8; 64 << 20]).unwrap();
    let inflates = message(vec![], vec![], vec![chunk(2, &enc.finish().unwrap())]);

    // 3. A change whose action column repeats one operation 2^40 times in two bytes.
    let mut body = Vec::new();
    for v in [0u64, 16] {
        leb128::write::unsigned(&mut body, v).unwrap();
    }
    body.extend(device_actor(dev.who.device).to_bytes());
    for v in [1u64, 1] {
        leb128::write::unsigned(&mut body, v).unwrap();
    }
    leb128::write::signed(&mut body, 0).unwrap();
    for v in [0u64, 0, 1, (4 << 4) | 2] {
        leb128::write::unsigned(&mut body, v).unwrap();
    }
    let mut col = Vec::new();
    leb128::write::signed(&mut col, 1 << 40).unwrap();
    leb128::write::unsigned(&mut col, 1).unwrap();
    leb128::write::unsigned(&mut body, col.len() as u64).unwrap();
    body.extend(col);
    let runs = message(vec![], vec![], vec![chunk(1, &body)]);

    for (what, bytes, code) in [
        ("bloom probes", probes, RefusalCode::TooLarge),
        ("inflation", inflates, RefusalCode::TooLarge),
        ("operation runs", runs, RefusalCode::TooLarge),
        ("a whole document", message(vec![], vec![], vec![AutoCommit::new().save()]), RefusalCode::MalformedMessage),
    ] {
        let started = std::time::Instant::now();
        let resp = send(&w, &dev, vec![field_msg(job, bytes)]).await;
        let codes: Vec<_> = resp.refused.iter().map(|r| r.code).collect();
        assert_eq!(codes, vec![code], "{what}: {:?}", resp.refused);
        assert!(started.elapsed().as_secs() < 5, "{what} took {:?}", started.elapsed());
        healthy(&w).await;
    }
    assert_eq!(w.dispatcher.job(job).await, before, "nothing was stored");
    // The phone itself still syncs.
    dev.with(|s| s.apply_edit(job, FieldEdit::Status { action: FieldAction::Accept, location: None, reason: String::new() }).unwrap());
    let report = dev.client.sync_now().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(w.dispatcher.job(job).await["derived"]["status"], "accepted");
}

/// Writes `change` into the phone's copy of the field document as the phone's own Automerge
/// actor, bypassing the app's edits, and returns the message carrying it.
fn forge(dev: &Device, job: JobId, change: impl FnOnce(&mut FieldDoc)) -> DocMessage {
    let mut doc = dev.with(|s| s.doc_for_sync(job, DocKind::Field).unwrap());
    doc.set_actor(device_actor(dev.who.device));
    let base = doc.get_heads();
    let mut field = read_field(&doc).unwrap();
    change(&mut field);
    autosurgeon::reconcile(&mut doc, &field).unwrap();
    doc.commit();
    let changes = doc.get_changes(&base).iter().map(|c| c.raw_bytes().to_vec()).collect();
    field_msg(job, message(doc.get_heads(), vec![], changes))
}

fn note(author: &str, text: &str, at: Timestamp) -> Note {
    Note { id: ItemId::new(), at, author: author.into(), text: text.into() }
}

#[tokio::test]
async fn a_modified_phone_cannot_write_what_the_app_would_not() {
    let w = World::new().await;
    let (li, dev) = w.technician("李明").await;
    let job = w.assigned_jobs(li, 1).await[0];
    dev.client.sync_now().await.unwrap();
    dev.with(|s| {
        s.apply_edit(job, FieldEdit::Status { action: FieldAction::Accept, location: None, reason: String::new() }).unwrap();
        s.apply_edit(job, FieldEdit::AddNote { text: "门口有狗 dog at the door".into() }).unwrap();
    });
    dev.client.sync_now().await.unwrap();
    let before = w.dispatcher.job(job).await;
    let now = Timestamp::now();
    let other = TechnicianId::new();

    let cases: Vec<(&str, DocMessage, RefusalCode)> = vec![
        (
            "a note signed as the dispatcher",
            forge(&dev, job, |f| f.notes.push(note("调度 Ann", "客户已同意 customer agreed", now))),
            RefusalCode::InvalidDocument,
        ),
        (
            "an event naming another technician",
            forge(&dev, job, |f| {
                let mut e = f.events[0].clone();
                e.id = ItemId::new();
                e.by = other;
                e.action = FieldAction::EnRoute;
                f.events.push(e);
            }),
            RefusalCode::InvalidDocument,
        ),
        ("an earlier note deleted", forge(&dev, job, |f| f.notes.clear()), RefusalCode::InvalidDocument),
        (
            "an earlier event rewritten",
            forge(&dev, job, |f| f.events[0].at = Timestamp(f.events[0].at.0 - 3_600_000)),
            RefusalCode::InvalidDocument,
        ),
        ("a 1 MiB note", forge(&dev, job, |f| f.notes.push(note("李明", &"x".repeat(1 << 20), now))), RefusalCode::TooLarge),
        (
            "600 notes",
            forge(&dev, job, |f| {
                for i in 0..600 {
                    f.notes.push(note("李明", &format!("n{i}"), now));
                }
            }),
            RefusalCode::TooLarge,
        ),
        (
            "an event in the year 9999",
            forge(&dev, job, |f| {
                let mut e = f.events[0].clone();
                e.id = ItemId::new();
                e.at = Timestamp(253_402_214_400_000);
                e.action = FieldAction::EnRoute;
                f.events.push(e);
            }),
            RefusalCode::ClockSkew,
        ),
        ("a rating of 9", forge(&dev, job, |f| f.rating.score = Some(9)), RefusalCode::InvalidDocument),
    ];
    for (what, msg, code) in cases {
        let resp = send(&w, &dev, vec![msg]).await;
        let got: Vec<_> = resp.refused.iter().map(|r| r.code).collect();
        assert_eq!(got, vec![code], "{what}: {:?}", resp.refused);
        assert_eq!(w.dispatcher.job(job).await, before, "{what}: nothing was stored");
    }

    // The phone's own edits still go through.
    dev.with(|s| s.apply_edit(job, FieldEdit::AddNote { text: "已到 arrived soon".into() }).unwrap());
    let report = dev.client.sync_now().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let notes = w.dispatcher.job(job).await["field"]["notes"].as_array().unwrap().len();
    assert_eq!(notes, 2);
}

fn ready_photo(seed: u8) -> shared::photo::ReadyPhoto {
    let jpeg = onsite_tests::harness::jpeg(64, 48, seed);
    shared::photo::ReadyPhoto { jpeg, thumbnail: onsite_tests::harness::jpeg(16, 12, seed), width: 64, height: 48 }
}

#[tokio::test]
async fn a_former_assignee_delivers_its_work_and_receives_nothing_new() {
    let w = World::new().await;
    let (li, li_dev) = w.technician("李明").await;
    let (zhang, zhang_dev) = w.technician("张伟").await;
    let job = w.assigned_jobs(li, 1).await[0];
    li_dev.client.sync_now().await.unwrap();
    // Li works offline; meanwhile dispatch gives the job to Zhang, who starts on it.
    li_dev.with(|s| {
        s.apply_edit(job, FieldEdit::Status { action: FieldAction::Accept, location: None, reason: String::new() }).unwrap();
        s.apply_edit(job, FieldEdit::AddNote { text: "李明: 泵堵了 pump blocked".into() }).unwrap();
        s.add_photo(job, shared::model::PhotoKind::Fault, "li", ready_photo(1)).unwrap();
    });
    w.dispatcher.assign(job, zhang).await;
    zhang_dev.client.sync_now().await.unwrap();
    let zhang_photo = zhang_dev.with(|s| {
        s.apply_edit(job, FieldEdit::AddNote { text: "张伟: 客户电话 customer's phone 138...".into() }).unwrap();
        s.add_photo(job, shared::model::PhotoKind::DataPlate, "zhang", ready_photo(2)).unwrap().field.photos[0].blob.clone()
    });
    zhang_dev.client.sync_now().await.unwrap();

    // Li's phone asks about the job as it holds it: the answers carry heads, never Zhang's changes
    // or anything of the dispatch document.
    let digest = li_dev.with(|s| s.sync_summaries().unwrap());
    let mut doc = li_dev.with(|s| s.doc_for_sync(job, DocKind::Field).unwrap());
    let mut st = automerge::sync::State::new();
    let mut resp = SyncResponse::default();
    for _ in 0..4 {
        use automerge::sync::SyncDoc;
        let mine = doc.sync().generate_sync_message(&mut st).map(|m| field_msg(job, m.encode())).into_iter().collect();
        let req = SyncRequest { jobs: digest.clone(), messages: mine, ..SyncRequest::default() };
        let r = reqwest::Client::new()
            .post(format!("{}{}", w.server.url(), wire::http::SYNC_PATH))
            .bearer_auth(token(&li_dev))
            .body(wire::encode(&req))
            .send()
            .await
            .unwrap();
        resp = wire::decode(&r.bytes().await.unwrap()).unwrap();
        assert!(resp.refused.is_empty(), "{:?}", resp.refused);
        for m in resp.messages.iter().filter(|m| m.job == job) {
            assert_eq!(m.kind, DocKind::Field, "no dispatch content for a former assignee");
            let msg = Message::decode(&m.message).unwrap();
            assert!(msg.changes.is_empty(), "a former assignee is sent no changes");
            doc.sync().receive_sync_message(&mut st, msg).unwrap();
        }
    }
    assert!(resp.revoked.contains(&job));
    let notes = read_field(&doc).unwrap().notes;
    assert!(notes.iter().all(|n| !n.text.starts_with("张伟")), "Li never sees Zhang's note: {notes:?}");
    // Zhang's photo is not Li's to read.
    let r = reqwest::Client::new()
        .get(format!("{}{}", w.server.url(), wire::http::blob_path(&zhang_photo)))
        .bearer_auth(token(&li_dev))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // Li's own sync delivers the note and the photo, then the job leaves Li's phone.
    let report = li_dev.client.sync_now().await.unwrap();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(li_dev.with(|s| s.list_all().unwrap()).len(), 0, "the job left Li's phone once its work was confirmed");
    let field = &w.dispatcher.job(job).await["field"];
    let texts: Vec<&str> = field["notes"].as_array().unwrap().iter().map(|n| n["text"].as_str().unwrap()).collect();
    assert!(texts.iter().any(|t| t.starts_with("李明")) && texts.iter().any(|t| t.starts_with("张伟")), "{texts:?}");
    // Zhang's phone fetches the photo Li took on the job.
    zhang_dev.client.sync_now().await.unwrap();
    let held = zhang_dev.with(|s| {
        let v = s.open_job(job).unwrap();
        v.field.photos.iter().all(|p| s.blob(&p.blob).unwrap().is_some() && s.blob(&p.thumbnail).unwrap().is_some())
    });
    assert!(held, "the assigned phone holds every photo its job names");

    // Once the job has left Li's phone, Li writes nothing more to it.
    let late = forge(&zhang_dev, job, |_| {});
    let resp = send(&w, &li_dev, vec![late]).await;
    assert_eq!(resp.refused.iter().map(|r| r.code).collect::<Vec<_>>(), vec![RefusalCode::NotAssigned]);
}

#[tokio::test]
async fn a_stuck_upload_restarts_and_one_bad_photo_holds_back_no_other() {
    let w = World::new().await;
    let (li, dev) = w.technician("李明").await;
    let job = w.assigned_jobs(li, 1).await[0];
    dev.client.sync_now().await.unwrap();
    let photos: Vec<_> = (1..=3)
        .map(|i| {
            dev.with(|s| {
                s.add_photo(job, shared::model::PhotoKind::Fault, "", ready_photo(i)).unwrap().field.photos.last().unwrap().blob.clone()
            })
        })
        .collect();
    // The server crashed (or its disk filled) just as the first photo's upload began: an empty
    // length file is all that is left of it (in a bucket: a piece under no readable length).
    match onsite_tests::s3::backend_for(&w.server.data) {
        onsite_server::BlobBackend::Files => {
            std::fs::write(w.server.data.join("blobs").join("partial").join(format!("{}.{job}.len", photos[0])), "").unwrap()
        }
        onsite_server::BlobBackend::S3(s3) => {
            use object_store::ObjectStoreExt;
            let key = format!("{}/partial/{job}/{}/not-a-length/0", s3.prefix, photos[0]);
            s3.build().unwrap().put(&object_store::path::Path::from(key), b"?".to_vec().into()).await.unwrap();
        }
    }
    // The second photo's bytes on the phone were damaged (its hash no longer matches).
    let conn = onsite_app::store::Store::raw_connection(&dev.path).unwrap();
    conn.execute("UPDATE blobs SET bytes = randomblob(length(bytes)) WHERE hash = ?1", [photos[1].as_str()]).unwrap();

    let report = dev.client.sync_now().await.expect("one bad photo does not fail the sync");
    assert_eq!(report.blob_failures.iter().map(|f| f.hash.clone()).collect::<Vec<_>>(), vec![photos[1].clone()]);
    for (i, h) in photos.iter().enumerate() {
        let r = w
            .dispatcher
            .http
            .get(format!("{}/admin/v1/blobs/{h}", w.dispatcher.base))
            .bearer_auth(&w.dispatcher.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status() == 200, i != 1, "photo {i}: {}", r.status());
    }
    let status = dev.client.status();
    assert!(!status.is_synced(), "a photo is still unsent, and the phone says so");
    // ... on the job it belongs to.
    let problems = dev.with(|s| s.job_problems(job).unwrap());
    assert!(matches!(problems.as_slice(), [onsite_app::store::JobProblem::PhotoNotSent { .. }]), "{problems:?}");
    assert_eq!(status.problem, Some(onsite_app::sync_client::SyncProblem::Refused));
}

#[tokio::test]
async fn a_revoked_phone_pairs_again_and_delivers_its_earlier_work() {
    let w = World::new().await;
    let (li, dev) = w.technician("李明").await;
    let zhang = w.dispatcher.technician("张伟", &["washer"]).await;
    let job = w.assigned_jobs(li, 1).await[0];
    dev.client.sync_now().await.unwrap();
    // Work done offline, then the phone's token is revoked before it could sync.
    dev.with(|s| {
        s.apply_edit(job, FieldEdit::Status { action: FieldAction::Accept, location: None, reason: String::new() }).unwrap();
        s.apply_edit(job, FieldEdit::AddNote { text: "离线记录 written offline".into() }).unwrap();
        s.add_photo(job, shared::model::PhotoKind::Fault, "", ready_photo(7)).unwrap();
    });
    let old_device = dev.who.device;
    let (s, _) = w.dispatcher.post(&format!("/admin/v1/devices/{old_device}/revoke"), serde_json::Value::Null).await;
    assert_eq!(s, 200);
    assert!(dev.client.sync_now().await.is_err());
    assert_eq!(dev.client.status().problem, Some(onsite_app::sync_client::SyncProblem::NotAccepted));

    // A code for another technician is refused while Li's work is unsent, and stays usable.
    let other_code = w.dispatcher.pairing_code(zhang).await;
    let err = onsite_app::sync_client::pair(&dev.store, &w.server.url(), &other_code, "phone").await.unwrap_err();
    assert!(matches!(err, onsite_app::sync_client::SyncError::Server { status: 409, .. }), "{err}");
    // Li's new code: the phone pairs again and delivers what it did under its old identity.
    let code = w.dispatcher.pairing_code(li).await;
    let who = onsite_app::sync_client::pair(&dev.store, &w.server.url(), &code, "phone").await.unwrap();
    assert_ne!(who.device, old_device);
    let report = dev.client.sync_now().await.unwrap();
    assert!(report.refused.is_empty() && report.blob_failures.is_empty(), "{report:?}");
    assert!(dev.client.status().is_synced());
    let j = w.dispatcher.job(job).await;
    assert_eq!(j["derived"]["status"], "accepted");
    assert_eq!(j["field"]["notes"][0]["text"], "离线记录 written offline");
    // New work under the new identity goes through too.
    dev.with(|s| s.apply_edit(job, FieldEdit::Status { action: FieldAction::EnRoute, location: None, reason: String::new() }).unwrap());
    assert!(dev.client.sync_now().await.unwrap().refused.is_empty());

    // Dispatch sees both devices: the old one revoked, the new one taking it over, when each
    // was last seen and what it had left to send.
    let (s, devices) = w.dispatcher.get(&format!("/admin/v1/technicians/{li}/devices")).await;
    assert_eq!(s, 200, "{devices}");
    let devices = devices.as_array().unwrap();
    assert_eq!(devices.len(), 2, "{devices:?}");
    assert!(devices[0]["revoked_at"].is_string());
    assert_eq!(devices[1]["replaces"], old_device.to_string());
    assert!(devices[1]["last_seen_at"].is_string());
    assert_eq!(devices[1]["pending_jobs"], 0);
    // The other technician's code still pairs their own phone.
    let zd = Device::pair(w.dir.path(), "张伟", &w.server.url(), &other_code).await;
    assert_eq!(zd.who.technician, zhang);
}

#[tokio::test]
async fn a_clock_set_back_buys_no_on_time_arrival() {
    let mut w = World::new().await;
    let (li, dev) = w.technician("李明").await;
    // A job dispatched three hours ago, to be reached within the hour.
    let now = Timestamp::now();
    let created = Timestamp(now.0 - 3 * Timestamp::HOUR);
    let new: shared::docs::NewJob = serde_json::from_value(onsite_tests::harness::new_job_json(1)).unwrap();
    let mut docs = shared::docs::create_job(new, "调度 Ann", created, automerge::ActorId::random()).unwrap();
    let field = read_field(&docs.field).unwrap();
    let assign = shared::edit::DispatchEdit::Assign { technician: li };
    shared::edit::apply_dispatch_edit(&mut docs.dispatch, &field, "调度 Ann", created, assign).unwrap();
    let job = onsite_server::jobs::store_new(&w.server.state, docs).await.unwrap();
    dev.client.sync_now().await.unwrap();
    // The phone's last sync ended a few minutes ago (as the server, restarted, remembers it).
    let (data, addr) = w.server.stop().await;
    onsite_tests::backends::sql(&data, "UPDATE devices SET last_seen_at = last_seen_at - 180000").await;
    w.server = onsite_tests::harness::Server::start_on(data, addr, &Default::default()).await;

    // Its clock set back, the phone claims it accepted, drove and checked in hours ago — before
    // that last sync, which it would then have sent them with. Then it starts, honestly dated.
    let step = |a: FieldAction, at: Timestamp| {
        let reason = if a == FieldAction::CheckIn { "no GPS fix".into() } else { String::new() };
        dev.with(|s| s.apply_edit_at(job, FieldEdit::Status { action: a, location: None, reason }, at).unwrap())
    };
    step(FieldAction::Accept, Timestamp(created.0 + 5 * Timestamp::MINUTE));
    step(FieldAction::EnRoute, Timestamp(created.0 + 10 * Timestamp::MINUTE));
    step(FieldAction::CheckIn, Timestamp(created.0 + 40 * Timestamp::MINUTE));
    step(FieldAction::Start, Timestamp::now());
    let report = dev.client.sync_now().await.unwrap();
    assert!(report.refused.is_empty(), "the work is kept: {:?}", report.refused);

    let detail = w.dispatcher.job(job).await;
    assert_eq!(detail["derived"]["status"], "in_progress", "the status is the phone's");
    let flagged = detail["backdated_events"].as_array().unwrap();
    assert_eq!(flagged.len(), 3, "accept, en route and check-in are flagged, start is not: {flagged:?}");
    let (s, list) = w.dispatcher.get("/admin/v1/jobs?limit=5").await;
    assert_eq!(s, 200);
    let row = list.as_array().or_else(|| list["jobs"].as_array()).unwrap().iter().find(|j| j["job"] == job.to_string()).unwrap().clone();
    let on_site = serde_json::from_value::<Timestamp>(row["facts"]["first_on_site_at"].clone()).unwrap().0;
    assert!(
        on_site >= now.0,
        "KPIs count arrival from when the server learned of it, not the claimed {}",
        created.0 + 40 * Timestamp::MINUTE
    );
}

#[tokio::test]
async fn one_request_applies_a_bounded_amount_of_work_and_the_rest_waits() {
    let w = World::new().await;
    let (li, dev) = w.technician("李明").await;
    let jobs = w.assigned_jobs(li, 3).await;
    dev.client.sync_now().await.unwrap();
    // Each message: 100,000 operations under keys the app never writes (valid Automerge, within
    // every per-message limit); two of them use up one request's budget.
    let heavy = |job: JobId| {
        use automerge::transaction::Transactable;
        let mut doc = dev.with(|s| s.doc_for_sync(job, DocKind::Field).unwrap());
        doc.set_actor(device_actor(dev.who.device));
        let base = doc.get_heads();
        for c in 0..2 {
            let map = doc.put_object(automerge::ROOT, format!("junk{c}"), automerge::ObjType::Map).unwrap();
            // 49,999 puts and the map itself: just within one change's limit.
            for i in 0..49_999 {
                doc.put(&map, format!("k{i}"), 1i64).unwrap();
            }
            doc.commit();
        }
        let changes = doc.get_changes(&base).iter().map(|c| c.raw_bytes().to_vec()).collect();
        field_msg(job, message(doc.get_heads(), vec![], changes))
    };
    let before = w.dispatcher.job(jobs[2]).await;
    let resp = send(&w, &dev, jobs.iter().map(|&j| heavy(j)).collect()).await;
    assert!(resp.refused.is_empty(), "{:?}", resp.refused);
    assert!(resp.more, "the third job waits for the next round");
    assert_eq!(w.dispatcher.job(jobs[2]).await, before, "nothing of it was applied");
    healthy(&w).await;
}

/// A modified phone that keeps listing `job` and adds a note of its own every round: how many
/// rounds after it was told the job left it stored its work, and what was refused.
async fn keep_writing(w: &World, dev: &Device, job: JobId) -> (usize, Vec<RefusalCode>) {
    let digest = dev.with(|s| s.sync_summaries().unwrap());
    let mut st = automerge::sync::State::new();
    let mut stored_after_notice = 0;
    let mut told = false;
    let mut refused = Vec::new();
    for round in 0..10 {
        dev.with(|s| s.apply_edit(job, FieldEdit::AddNote { text: format!("李明 round {round}") }).unwrap());
        let mut doc = dev.with(|s| s.doc_for_sync(job, DocKind::Field).unwrap());
        use automerge::sync::SyncDoc;
        let mine = doc.sync().generate_sync_message(&mut st).map(|m| field_msg(job, m.encode())).into_iter().collect();
        let notes_before = w.dispatcher.job(job).await["field"]["notes"].as_array().unwrap().len();
        let req = SyncRequest { jobs: digest.clone(), messages: mine, ..SyncRequest::default() };
        let r = reqwest::Client::new()
            .post(format!("{}{}", w.server.url(), wire::http::SYNC_PATH))
            .bearer_auth(token(dev))
            .body(wire::encode(&req))
            .send()
            .await
            .unwrap();
        let resp: SyncResponse = wire::decode(&r.bytes().await.unwrap()).unwrap();
        for m in resp.messages.iter().filter(|m| m.job == job) {
            doc.sync().receive_sync_message(&mut st, Message::decode(&m.message).unwrap()).unwrap();
        }
        let notes_after = w.dispatcher.job(job).await["field"]["notes"].as_array().unwrap().len();
        if told && notes_after > notes_before {
            stored_after_notice += 1;
        }
        told |= resp.revoked.contains(&job);
        refused.extend(resp.refused.iter().map(|r| r.code));
    }
    assert!(told, "the phone was told the job left it");
    (stored_after_notice, refused)
}

#[tokio::test]
async fn a_closed_job_past_retention_takes_a_bounded_amount_of_late_work() {
    // No retention: a finished job leaves phones at once.
    let w = World::with_limits(&onsite_server::Limits { finished_job_retention_days: 0, ..Default::default() }).await;
    let (li, li_dev) = w.technician("李明").await;
    let job = w.assigned_jobs(li, 1).await[0];
    li_dev.client.sync_now().await.unwrap();
    // The office cancels it; it still names Li as its assignee, and every write of it names him,
    // which must not reset the count.
    let (s, b) = w.dispatcher.act(job, "cancel", serde_json::json!({ "reason": "客户取消 customer cancelled" })).await;
    assert_eq!(s, 200, "{b}");
    let (stored, refused) = keep_writing(&w, &li_dev, job).await;
    assert!((1..=4).contains(&stored), "late work is stored for a few rounds, then not: {stored}");
    assert!(!refused.is_empty() && refused.iter().all(|c| *c == RefusalCode::NotAssigned), "{refused:?}");
}

#[tokio::test]
async fn a_former_assignee_that_keeps_writing_is_cut_off_after_it_was_told() {
    let w = World::new().await;
    let (li, li_dev) = w.technician("李明").await;
    let (zhang, _zhang_dev) = w.technician("张伟").await;
    let job = w.assigned_jobs(li, 1).await[0];
    li_dev.client.sync_now().await.unwrap();
    w.dispatcher.assign(job, zhang).await;
    let (stored_after_notice, refused) = keep_writing(&w, &li_dev, job).await;
    assert!(
        (1..=4).contains(&stored_after_notice),
        "work after the notice is stored for a few rounds (to finish what was done before), then not: {stored_after_notice}"
    );
    assert!(!refused.is_empty() && refused.iter().all(|c| *c == RefusalCode::NotAssigned), "{refused:?}");
    // Job ids a phone makes up are told "not yours" and leave no trace on the server.
    let junk: Vec<wire::JobDigest> = (0..50).map(|_| wire::JobDigest { job: JobId::new(), digest: [7; 8] }).collect();
    let r = reqwest::Client::new()
        .post(format!("{}{}", w.server.url(), wire::http::SYNC_PATH))
        .bearer_auth(token(&li_dev))
        .body(wire::encode(&SyncRequest { jobs: junk, ..SyncRequest::default() }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let notices = onsite_tests::backends::sql(&w.server.data, "SELECT count(*) FROM former_notices").await.unwrap();
    assert_eq!(notices, 1, "only the job that really left Li is noted");
    // The app itself, once told, keeps the work it could not deliver and takes no new work.
    li_dev.client.sync_now().await.unwrap();
    assert_eq!(li_dev.with(|s| s.list_all().unwrap()).len(), 1, "undelivered work stays on the phone");
    let late = li_dev.with(|s| s.apply_edit(job, FieldEdit::AddNote { text: "李明 later".into() }));
    assert!(matches!(late, Err(onsite_app::store::StoreError::JobLeft(_))), "{late:?}");
    healthy(&w).await;
}
