//! Randomised fault run (seeded and reproducible; the seed is printed, set ONSITE_FAULT_SEED to
//! replay): devices and a dispatcher edit at random while the network drops, duplicates and
//! reorders requests, the server process (the real binary) is SIGKILLed and restarted mid-sync on
//! the same data (on PostgreSQL: one of two instances sharing the database, phones split between
//! them), its blob disk runs full, and a device is killed mid-upload. At the end every
//! replica converges and every acknowledged edit and blob is there, exactly once.

use std::collections::HashMap;
use std::time::Duration;

use onsite_app::store::ReadyPhoto;
use onsite_tests::harness::{ChildServer, Device, Dispatcher, Server, SmallDisk, jpeg};
use onsite_tests::proxy::Proxy;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use shared::edit::FieldEdit;
use shared::model::PhotoKind;
use shared::{BlobHash, JobId};

const DEVICES: usize = 3;
const JOBS_PER_DEVICE: usize = 3;
const STEPS: usize = 70;
/// Room left on the server's blob disk during the run: about one photo, so the disk is full
/// from the second on, until it is grown for the final sync.
const BLOB_DISK_ROOM_BYTES: u64 = 48 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_faults_converge_without_loss_or_duplicates() {
    let seed: u64 = std::env::var("ONSITE_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261124);
    eprintln!("fault run seed = {seed} (replay with ONSITE_FAULT_SEED={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    // The dispatcher's account goes into the server's store before the binary takes the folder.
    let (token, addr) = {
        let s = Server::start(data.clone(), &Default::default()).await;
        let d = s.dispatcher("调度").await;
        let (_, addr) = s.stop().await;
        (d.token, addr)
    };
    // Blobs in files: their disk runs full. Blobs in a bucket (the S3 pass): the kills land
    // between an upload's pieces instead.
    let disk = onsite_tests::s3::e2e_endpoint().is_none().then(|| {
        let disk = SmallDisk::mount(data.join("blobs"), 16 << 20);
        disk.fill_leaving(BLOB_DISK_ROOM_BYTES);
        disk
    });
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_onsite-server-e2e"));
    // On a shared database (the PostgreSQL pass) two instances serve the same deployment, each
    // phone talks to one of them, and either may be killed: nothing may be lost across them.
    let shared = matches!(onsite_tests::backends::store_for(&data).await, onsite_server::StoreBackend::Postgres { .. });
    let mut addrs = vec![addr];
    if shared {
        addrs.push(std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap());
    }
    let mut servers = Vec::new();
    let mut proxies = Vec::new();
    for (i, &a) in addrs.iter().enumerate() {
        let s = ChildServer::start(exe, data.clone(), a).await;
        proxies.push(Proxy::start(&s.url(), seed ^ 0x9e37 ^ ((i as u64) << 32), 0.0).await);
        servers.push(Some(s));
    }
    let s = servers[0].as_ref().unwrap();
    let dispatcher = Dispatcher { base: s.url(), token, http: reqwest::Client::new() };

    let mut devices = Vec::new();
    let mut jobs: Vec<Vec<JobId>> = Vec::new();
    for d in 0..DEVICES {
        let tech = dispatcher.technician(&format!("tech{d}"), &["washer"]).await;
        let code = dispatcher.pairing_code(tech).await;
        let dev = Device::pair(dir.path(), &format!("tech{d}"), &s.url(), &code).await;
        dev.set_server(&proxies[d % proxies.len()].url());
        let mut mine = Vec::new();
        for j in 0..JOBS_PER_DEVICE {
            let job = dispatcher.create_job(d * 10 + j).await;
            dispatcher.assign(job, tech).await;
            mine.push(job);
        }
        devices.push(dev);
        jobs.push(mine);
    }
    for dev in &devices {
        assert_eq!(dev.client.sync_now().await.unwrap().new_jobs, JOBS_PER_DEVICE);
    }
    for p in &proxies {
        p.set_fault_rate(0.3);
    }
    // Acknowledged edits: the note texts a side was told were saved, and photos kept on phones.
    let mut device_notes: HashMap<JobId, Vec<String>> = HashMap::new();
    let mut dispatch_notes: HashMap<JobId, Vec<String>> = HashMap::new();
    let mut photos: Vec<BlobHash> = Vec::new();
    let mut largest_photo = 0;
    let mut kills = (0, 0);

    for step in 0..STEPS {
        let d = rng.random_range(0..DEVICES);
        let job = jobs[d][rng.random_range(0..JOBS_PER_DEVICE)];
        match rng.random_range(0..100) {
            0..=34 => {
                let text = format!("s{step} device note");
                devices[d].with(|s| s.apply_edit(job, FieldEdit::AddNote { text: text.clone() })).unwrap();
                device_notes.entry(job).or_default().push(text);
            }
            35..=44 => {
                let bytes = jpeg(400 + step as u32, 300, step as u8);
                let photo = ReadyPhoto { thumbnail: jpeg(40, 30, step as u8), jpeg: bytes.clone(), width: 400, height: 300 };
                devices[d].with(|s| s.add_photo(job, PhotoKind::Fault, &format!("s{step}"), photo)).unwrap();
                largest_photo = largest_photo.max(bytes.len() as u64);
                photos.push(BlobHash::of(&bytes));
            }
            45..=69 => {
                let _ = devices[d].client.sync_now().await; // faults make errors expected here
            }
            70..=84 => {
                if let Some(s) = &servers[0] {
                    let text = format!("s{step} dispatcher note");
                    let r = dispatcher
                        .http
                        .post(format!("{}/admin/v1/jobs/{job}/add_note", s.url()))
                        .bearer_auth(&dispatcher.token)
                        .json(&json!({ "text": text }))
                        .send()
                        .await;
                    if r.is_ok_and(|r| r.status() == 200) {
                        dispatch_notes.entry(job).or_default().push(text);
                    }
                }
            }
            85..=92 => {
                // Kill a server while a device is syncing, then bring it back on the same port.
                let i = if servers.len() > 1 { rng.random_range(0..servers.len()) } else { 0 };
                if let Some(s) = servers[i].take() {
                    let sync = {
                        let store = devices[d].store.clone();
                        tokio::spawn(async move {
                            let c = onsite_app::sync_client::SyncClient::new(store);
                            let _ = c.sync_now().await;
                        })
                    };
                    tokio::time::sleep(Duration::from_millis(rng.random_range(0..15))).await;
                    let (data, addr) = s.kill().await;
                    let _ = sync.await;
                    kills.0 += 1;
                    servers[i] = Some(ChildServer::start(exe, data, addr).await);
                }
            }
            _ => {
                // Kill the app mid-upload: abort its sync part-way, reopen its store from disk.
                let store = devices[d].store.clone();
                let task = tokio::spawn(async move {
                    let c = onsite_app::sync_client::SyncClient::new(store);
                    let _ = c.upload_blobs().await;
                });
                tokio::time::sleep(Duration::from_millis(rng.random_range(0..20))).await;
                task.abort();
                let _ = task.await;
                devices[d].restart();
                kills.1 += 1;
            }
        }
    }

    // The network heals and the disk is grown; everyone syncs until quiet.
    for p in &proxies {
        p.set_fault_rate(0.0);
    }
    let stored = walk_files(&data.join("blobs").join("objects"));
    if let Some(disk) = &disk {
        let left = disk.available();
        assert!(left < largest_photo, "seed {seed}: the blob disk should have run full ({left} bytes left)");
        disk.free();
    }
    for dev in &devices {
        for _ in 0..6 {
            let r = dev.client.sync_now().await.unwrap_or_else(|e| panic!("seed {seed}: final sync failed: {e}"));
            assert!(r.refused.is_empty(), "seed {seed}: {:?}", r.refused);
            if !r.more && dev.client.status().is_synced() {
                break;
            }
        }
        let st = dev.client.status();
        assert!(st.is_synced(), "seed {seed}: device not synced at the end: {st:?}");
    }
    eprintln!(
        "faults: {:?} (pass, drop req, drop resp, dup, delay; per instance); server kills {} ({} instances), app kills {}; blob disk full with {} of {} blobs stored (0 with blobs in a bucket)",
        proxies.iter().map(|p| p.counts()).collect::<Vec<_>>(),
        kills.0,
        servers.len(),
        kills.1,
        stored,
        photos.len() * 2
    );

    let s = servers[0].as_ref().unwrap();
    for (d, dev) in devices.iter().enumerate() {
        for &job in &jobs[d] {
            let server_view = dispatcher.job(job).await;
            let local = dev.with(|s| s.open_job(job).unwrap());
            assert_eq!(server_view["dispatch"], serde_json::to_value(&local.dispatch).unwrap(), "seed {seed}: job {job} dispatch differs");
            assert_eq!(server_view["field"], serde_json::to_value(&local.field).unwrap(), "seed {seed}: job {job} field differs");
            let mut notes: Vec<String> = local.field.notes.iter().map(|n| n.text.clone()).collect();
            notes.sort();
            let mut want = device_notes.get(&job).cloned().unwrap_or_default();
            want.sort();
            assert_eq!(notes, want, "seed {seed}: device notes on {job}: every acknowledged one, exactly once");
            let mut dnotes: Vec<String> = local.dispatch.notes.iter().map(|n| n.text.clone()).collect();
            dnotes.sort();
            let mut want = dispatch_notes.get(&job).cloned().unwrap_or_default();
            want.sort();
            assert_eq!(dnotes, want, "seed {seed}: dispatcher notes on {job}");
        }
    }
    for h in &photos {
        let r = dispatcher.http.get(format!("{}/admin/v1/blobs/{h}", s.url())).bearer_auth(&dispatcher.token).send().await.unwrap();
        assert_eq!(r.status(), 200, "seed {seed}: photo {h} missing on the server");
        assert!(h.matches(&r.bytes().await.unwrap()), "seed {seed}: photo {h} corrupt on the server");
    }
}

fn walk_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.flatten().map(|e| if e.path().is_dir() { walk_files(&e.path()) } else { 1 }).sum())
}
