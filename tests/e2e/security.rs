//! Bad input at every door gets a clear error, stores nothing, and leaves the server healthy.

use automerge::sync::{ChunkList, Message, MessageVersion};
use raw::*;
use serde_json::{Value, json};
use shared::BlobHash;
use shared::docs::{DocKind, device_actor, read_dispatch};
use shared::wire::{self, DocMessage, RefusalCode, SyncRequest, SyncResponse};

use crate::World;

mod raw {
    //! Raw HTTP helpers for requests the real client would never send.
    pub async fn raw_sync(base: &str, token: Option<&str>, body: Vec<u8>) -> (u16, Vec<u8>) {
        let mut req = reqwest::Client::new().post(format!("{base}/v1/sync")).body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    pub fn error_code(body: &[u8]) -> String {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        v["error"]["code"].as_str().unwrap_or("").to_owned()
    }
}

async fn healthy(w: &World) {
    let r = reqwest::get(format!("{}/health", w.server.url())).await.unwrap();
    assert_eq!(r.status(), 200);
}

fn token(d: &onsite_tests::harness::Device) -> String {
    d.with(|s| s.meta("token").unwrap().unwrap())
}

#[tokio::test]
async fn tokens_are_checked_on_every_request() {
    let w = World::new().await;
    let (_tech, dev) = w.technician("李明").await;
    let body = wire::encode(&SyncRequest::default());

    let (s, b) = raw_sync(&w.server.url(), None, body.clone()).await;
    assert_eq!((s, error_code(&b).as_str()), (401, "no_token"));
    let (s, b) = raw_sync(&w.server.url(), Some("osd_not-a-real-token"), body.clone()).await;
    assert_eq!((s, error_code(&b).as_str()), (401, "bad_token"));
    let (s, _) = raw_sync(&w.server.url(), Some(&token(&dev)), body.clone()).await;
    assert_eq!(s, 200);

    // Revoked: refused from then on.
    let (s, _) = w.dispatcher.post(&format!("/admin/v1/devices/{}/revoke", dev.who.device), Value::Null).await;
    assert_eq!(s, 200);
    let (s, b) = raw_sync(&w.server.url(), Some(&token(&dev)), body.clone()).await;
    assert_eq!((s, error_code(&b).as_str()), (401, "bad_token"));
    // The phone's own sync says so in words the technician can act on.
    assert!(dev.client.sync_now().await.is_err());
    assert_eq!(dev.client.status().problem, Some(onsite_app::sync_client::SyncProblem::NotAccepted));
    dev.set_server("http://127.0.0.1:9");
    assert!(dev.client.sync_now().await.is_err());
    assert_eq!(dev.client.status().problem, Some(onsite_app::sync_client::SyncProblem::Unreachable), "no server: offline, not broken");
    dev.set_server(&w.server.url());

    // A device token is not a dispatcher token, and the other way round.
    let r = reqwest::Client::new().get(format!("{}/admin/v1/technicians", w.server.url())).bearer_auth(token(&dev)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let (s, _) = raw_sync(&w.server.url(), Some(&w.dispatcher.token), body).await;
    assert_eq!(s, 401);

    // A pairing code works once.
    let tech = w.dispatcher.technician("张伟", &["fridge"]).await;
    let code = w.dispatcher.pairing_code(tech).await;
    let base = w.server.url();
    let pair = |code: String| {
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/v1/pair"))
                .json(&json!({ "code": code, "device_name": "phone" }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(pair(code.clone()).await, 200);
    assert_eq!(pair(code).await, 403);
    healthy(&w).await;
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_refused_without_harm() {
    let w = World::new().await;
    let (tech, dev) = w.technician("李明").await;
    let jobs = w.assigned_jobs(tech, 1).await;
    let t = token(&dev);
    let before = w.dispatcher.job(jobs[0]).await;

    for (body, code) in [
        (vec![], "bad_request"),
        (vec![9, 1, 2, 3], "bad_request"), // unknown version
        (vec![shared::wire::WIRE_VERSION, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], "bad_request"), // truncated postcard
        (b"{\"jobs\": []}".to_vec(), "bad_request"),
    ] {
        let (s, b) = raw_sync(&w.server.url(), Some(&t), body).await;
        assert_eq!((s, error_code(&b).as_str()), (400, code));
    }
    let (s, b) = raw_sync(&w.server.url(), Some(&t), vec![1; wire::SYNC_BODY_BYTES_MAX + 10]).await;
    assert_eq!((s, error_code(&b).as_str()), (413, "too_large"));

    // A well-formed request carrying a garbage sync message: refused per document.
    let req = SyncRequest {
        messages: vec![DocMessage { job: jobs[0], kind: DocKind::Field, message: b"garbage, not automerge".to_vec() }],
        ..SyncRequest::default()
    };
    let (s, b) = raw_sync(&w.server.url(), Some(&t), wire::encode(&req)).await;
    assert_eq!(s, 200);
    let resp: SyncResponse = wire::decode(&b).unwrap();
    assert_eq!(resp.refused.len(), 1);
    assert_eq!(resp.refused[0].code, RefusalCode::MalformedMessage);

    // Admin: malformed bodies and unknown ids.
    let (s, b) = w.dispatcher.post("/admin/v1/jobs", json!({ "customer": 3 })).await;
    assert_eq!((s, b["error"]["code"].as_str()), (400, Some("bad_request")));
    let (s, b) = w.dispatcher.act(jobs[0], "teleport", json!({})).await;
    assert_eq!((s, b["error"]["code"].as_str()), (404, Some("not_found")), "{b}");
    let (s, _) = w.dispatcher.act(shared::JobId::new(), "cancel", json!({ "reason": "x" })).await;
    assert_eq!(s, 404);
    let (s, b) = w.dispatcher.act(jobs[0], "close", json!({})).await;
    assert_eq!((s, b["error"]["code"].as_str()), (422, Some("unprocessable")), "closing an open job is an invalid transition");

    assert_eq!(w.dispatcher.job(jobs[0]).await, before, "nothing changed");
    healthy(&w).await;
}

#[tokio::test]
async fn technicians_cannot_touch_other_jobs_or_dispatch_documents() {
    let w = World::new().await;
    let (li, mut li_dev) = w.technician("李明").await;
    let (zhang, _zhang_dev) = w.technician("张伟").await;
    let mine = w.assigned_jobs(li, 1).await[0];
    let theirs = w.assigned_jobs(zhang, 1).await[0];
    li_dev.client.sync_now().await.unwrap();
    let t = token(&li_dev);

    // Forge a change to the dispatch document of my own job, and one to someone else's job.
    let mut d = li_dev.with(|s| s.doc_for_sync(mine, DocKind::Dispatch).unwrap());
    d.set_actor(device_actor(li_dev.who.device));
    let mut dispatch = read_dispatch(&d).unwrap();
    dispatch.customer.name = "Mallory".into();
    autosurgeon::reconcile(&mut d, &dispatch).unwrap();
    d.commit();
    let change = d.get_last_local_change().unwrap();
    let forged = |job| DocMessage {
        job,
        kind: DocKind::Dispatch,
        message: Message {
            heads: vec![change.hash()],
            need: vec![],
            have: vec![],
            changes: ChunkList::from(vec![change.raw_bytes().to_vec()]),
            flags: None,
            version: MessageVersion::V1,
        }
        .encode(),
    };
    let before_mine = w.dispatcher.job(mine).await;
    let before_theirs = w.dispatcher.job(theirs).await;
    let req = SyncRequest { messages: vec![forged(mine), forged(theirs)], ..SyncRequest::default() };
    let (s, b) = raw_sync(&w.server.url(), Some(&t), wire::encode(&req)).await;
    assert_eq!(s, 200);
    let resp: SyncResponse = wire::decode(&b).unwrap();
    let mut codes: Vec<_> = resp.refused.iter().map(|r| (r.job, r.code.as_str())).collect();
    codes.sort();
    let mut expected = vec![(mine, "dispatch_read_only"), (theirs, "not_assigned")];
    expected.sort();
    assert_eq!(codes, expected);
    assert_eq!(w.dispatcher.job(mine).await, before_mine);
    assert_eq!(w.dispatcher.job(theirs).await, before_theirs);

    // And my device never receives someone else's job.
    li_dev.restart();
    li_dev.client.sync_now().await.unwrap();
    let held: Vec<_> = li_dev.with(|s| s.list_all().unwrap()).into_iter().map(|j| j.job_id).collect();
    assert_eq!(held, vec![mine]);
    healthy(&w).await;
}

#[tokio::test]
async fn blobs_are_verified_and_access_checked() {
    let w = World::new().await;
    let (li, dev) = w.technician("李明").await;
    let (zhang, other) = w.technician("张伟").await;
    let job = w.assigned_jobs(li, 1).await[0];
    let t = token(&dev);
    let http = reqwest::Client::new();
    let good = onsite_tests::harness::jpeg(64, 48, 1);
    let hash = BlobHash::of(&good);
    let url = format!("{}/v1/blobs/{hash}", w.server.url());
    let patch = |body: Vec<u8>, offset: u64, total: usize, tok: String| {
        http.patch(&url)
            .bearer_auth(tok)
            .header("onsite-job", job.to_string())
            .header("upload-offset", offset.to_string())
            .header("upload-length", total.to_string())
            .body(body)
            .send()
    };

    // Bytes that do not hash to the name are refused and not kept.
    let mut bad = good.clone();
    bad[10] ^= 0xff;
    let r = patch(bad.clone(), 0, bad.len(), t.clone()).await.unwrap();
    assert_eq!(r.status(), 422);
    let r = http.head(&url).bearer_auth(&t).header("onsite-job", job.to_string()).send().await.unwrap();
    assert_eq!(r.headers()["upload-offset"], "0");

    // Resumable: half, a wrong offset (409 with the right one), the rest.
    let half = good.len() / 2;
    assert_eq!(patch(good[..half].to_vec(), 0, good.len(), t.clone()).await.unwrap().status(), 204);
    let r = patch(good[half..].to_vec(), 3, good.len(), t.clone()).await.unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.headers()["upload-offset"], half.to_string().as_str());
    assert_eq!(patch(good[half..].to_vec(), half as u64, good.len(), t.clone()).await.unwrap().status(), 201);
    // Uploaded, but no document names it yet: knowing a hash is not enough to read a photo.
    assert_eq!(http.get(&url).bearer_auth(&t).send().await.unwrap().status(), 404);
    // Once the job's field document names it, the assigned phone reads it.
    dev.client.sync_now().await.unwrap();
    let ready = shared::photo::ReadyPhoto { jpeg: good.clone(), thumbnail: onsite_tests::harness::jpeg(16, 12, 2), width: 64, height: 48 };
    dev.with(|s| s.add_photo(job, shared::model::PhotoKind::Fault, "", ready).unwrap());
    dev.client.sync_now().await.unwrap();
    let got = http.get(&url).bearer_auth(&t).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(got.as_ref(), good.as_slice());

    // Another technician can neither read it nor upload to my job, nor gain access by "finishing"
    // an upload of it under a job of their own.
    let ot = token(&other);
    assert_eq!(http.get(&url).bearer_auth(&ot).send().await.unwrap().status(), 404);
    assert_eq!(patch(good.clone(), 0, good.len(), ot.clone()).await.unwrap().status(), 403);
    let their_job = w.assigned_jobs(zhang, 1).await[0];
    let claim = |job: shared::JobId, proof: Option<&str>| {
        let mut r = http
            .patch(&url)
            .bearer_auth(&ot)
            .header("onsite-job", job.to_string())
            .header("upload-offset", good.len().to_string())
            .header("upload-length", good.len().to_string());
        if let Some(p) = proof {
            r = r.header("onsite-blob-proof", p);
        }
        r.send()
    };
    // Sending (no) bytes to a blob the server holds through another job proves nothing: the
    // server asks for a proof of possession.
    let r = claim(their_job, None).await.unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.headers()["onsite-blob-proof"], "required");
    // Zhang's phone names the hash in his own job's document without ever proving it has the
    // bytes (the photo marked as sent, as a modified app would): the server still refuses it.
    other.client.sync_now().await.unwrap();
    let ready = shared::photo::ReadyPhoto { jpeg: good.clone(), thumbnail: onsite_tests::harness::jpeg(16, 12, 2), width: 64, height: 48 };
    other.with(|s| {
        s.add_photo(their_job, shared::model::PhotoKind::Fault, "", ready).unwrap();
        s.set_blob_uploaded(&hash, good.len() as u64).unwrap();
    });
    other.client.sync_now().await.unwrap();
    assert_eq!(w.dispatcher.job(their_job).await["field"]["photos"][0]["blob"], hash.as_str(), "his document names it");
    assert_eq!(http.get(&url).bearer_auth(&ot).send().await.unwrap().status(), 404, "naming a hash grants no read access");
    let head = http.head(&url).bearer_auth(&ot).header("onsite-job", their_job.to_string()).send().await.unwrap();
    assert_eq!(
        (head.headers()["upload-complete"].to_str().unwrap(), head.headers()["onsite-blob-proof"].to_str().unwrap()),
        ("0", "required")
    );
    // A proof made for another job, or from other bytes, is refused.
    let wrong = [wire::http::blob_proof(job, &good), wire::http::blob_proof(their_job, &bad), "zz".into()];
    for p in &wrong {
        assert_eq!(claim(their_job, Some(p)).await.unwrap().status(), 422, "{p}");
    }
    assert_eq!(http.get(&url).bearer_auth(&ot).send().await.unwrap().status(), 404);
    // The real proof (what his app sends when it holds the photo) opens it for his job.
    let r = claim(their_job, Some(&wire::http::blob_proof(their_job, &good))).await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(http.get(&url).bearer_auth(&ot).send().await.unwrap().status(), 200);
    // An honest phone holding the same bytes (the same picture sent to two customers' jobs) proves
    // it on its own: its app answers the server's request for a proof.
    let (wang, wang_dev) = w.technician("王芳").await;
    let wang_job = w.assigned_jobs(wang, 1).await[0];
    wang_dev.client.sync_now().await.unwrap();
    let ready = shared::photo::ReadyPhoto { jpeg: good.clone(), thumbnail: onsite_tests::harness::jpeg(16, 12, 3), width: 64, height: 48 };
    wang_dev.with(|s| s.add_photo(wang_job, shared::model::PhotoKind::Fault, "", ready).unwrap());
    let report = wang_dev.client.sync_now().await.unwrap();
    assert!(report.blob_failures.is_empty(), "{:?}", report.blob_failures);
    assert!(wang_dev.client.status().is_synced());
    assert_eq!(http.get(&url).bearer_auth(token(&wang_dev)).send().await.unwrap().status(), 200);
    // Oversized declared length and oversized chunk.
    let big = BlobHash::of(b"big");
    let r = http
        .patch(format!("{}/v1/blobs/{big}", w.server.url()))
        .bearer_auth(&t)
        .header("onsite-job", job.to_string())
        .header("upload-offset", "0")
        .header("upload-length", (64u64 << 20).to_string())
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = patch(vec![0u8; 2 << 20], 0, 2 << 20, t.clone()).await.unwrap();
    assert_eq!(r.status(), 413);
    let r = http.get(format!("{}/v1/blobs/not-a-hash", w.server.url())).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), 400);
    healthy(&w).await;
}

/// `onsite serve` hands the technician app only to a browser given this session's key, and its
/// socket only to the app's own page: another web page open in the same browser cannot drive it.
#[tokio::test]
async fn the_served_app_wants_its_key_and_refuses_sockets_from_other_origins() {
    use onsite_app::ui::app::Services;
    use onsite_app::ui::liveview;
    let dir = tempfile::tempdir().unwrap();
    let store = onsite_app::store::Store::open(dir.path().join("phone.sqlite")).unwrap();
    let live = liveview::serve(Services::new(store, 8 * 60));
    let start = live.start_path();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, live.router).into_future());
    let base = format!("http://{addr}");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    assert_eq!(http.get(format!("{base}/today")).send().await.unwrap().status(), 403, "no key, no page");
    assert_eq!(http.get(format!("{base}/today?key=guess")).send().await.unwrap().status(), 403);
    let first = http.get(format!("{base}{start}")).send().await.unwrap();
    assert_eq!(first.status(), 303, "the key goes into a cookie and out of the address");
    assert_eq!(first.headers()["location"], "/today");
    let cookie = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let page = http.get(format!("{base}/today")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("/ws"));

    let socket = |origin: &str, cookie: Option<&str>| {
        let mut req = http
            .get(format!("{base}/ws"))
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("origin", origin);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send()
    };
    assert_eq!(socket(&base, Some(&cookie)).await.unwrap().status(), 101, "the app's own page gets its socket");
    assert_eq!(socket("https://evil.example", Some(&cookie)).await.unwrap().status(), 403, "another origin does not");
    // DNS rebinding: a hostile name pointed at 127.0.0.1 matches its own Host, but has no key.
    assert_eq!(socket(&base, None).await.unwrap().status(), 403, "no key, no socket");
}
