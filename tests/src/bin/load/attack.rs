//! The attack phase: honest devices make real edits (Automerge changes the server checks and
//! stores) while one paired device sends hostile sync messages as fast as the server answers it.
//! Measured twice, without and with the attacker: honest rounds per second and latency, and the
//! process's memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use automerge::AutoCommit;
use automerge::sync::{BloomFilter, ChunkList, Have, Message, MessageVersion};
use shared::docs::{DocKind, device_actor, read_dispatch, read_field};
use shared::edit::{FieldActor, FieldEdit, apply_field_edit};
use shared::wire::{self, DocMessage, JobDigest, SyncRequest};
use shared::{JobId, Timestamp};
use tokio::sync::Mutex;

use super::{percentile, rss_mib};

/// A simulated phone that holds its jobs' documents and writes real field edits.
pub struct HonestDevice {
    pub token: String,
    pub actor: FieldActor,
    pub jobs: Vec<(JobId, AutoCommit, AutoCommit)>,
}

impl HonestDevice {
    /// One round: a note on one job, sent as the Automerge change it is, every job's digest
    /// alongside (as the app sends them).
    fn edit_round(&mut self, i: usize) -> SyncRequest {
        let k = i % self.jobs.len();
        let (job, dispatch, field) = &mut self.jobs[k];
        let d = read_dispatch(dispatch).expect("dispatch document reads");
        let base = field.get_heads();
        let note = FieldEdit::AddNote { text: format!("负载测试 load note {i}") };
        apply_field_edit(field, &d, &self.actor, Timestamp::now(), note).expect("an honest edit applies");
        let changes: Vec<Vec<u8>> = field.get_changes(&base).iter().map(|c| c.raw_bytes().to_vec()).collect();
        let msg = Message {
            heads: field.get_heads(),
            need: vec![],
            have: vec![],
            changes: ChunkList::from(changes),
            flags: None,
            version: MessageVersion::V1,
        };
        let job = *job;
        let jobs =
            self.jobs.iter_mut().map(|(j, d, f)| JobDigest { job: *j, digest: wire::digest(&d.get_heads(), &f.get_heads()) }).collect();
        SyncRequest { jobs, messages: vec![DocMessage { job, kind: DocKind::Field, message: msg.encode() }], ..SyncRequest::default() }
    }
}

/// The attacker's messages, in turn: each of the known ways to exhaust a server, and a forged
/// change that is valid Automerge (so it costs a full apply before the rules refuse it).
pub fn hostile_messages(job: JobId, actor: &FieldActor, field: &mut AutoCommit) -> Vec<SyncRequest> {
    let uleb = |v: u64| {
        let mut b = Vec::new();
        leb128::write::unsigned(&mut b, v).unwrap();
        b
    };
    let message = |have: Vec<Have>, changes: Vec<Vec<u8>>| {
        Message { heads: vec![], need: vec![], have, changes: ChunkList::from(changes), flags: None, version: MessageVersion::V1 }.encode()
    };
    let chunk = |kind: u8, body: &[u8]| {
        let mut c = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, kind];
        c.extend(uleb(body.len() as u64));
        c.extend(body);
        c
    };
    let bloom = [uleb(3), uleb(10), uleb(u32::MAX as u64), vec![0xff; 4]].concat();
    let probes = message(vec![Have { last_sync: vec![], bloom: BloomFilter::try_from(bloom.as_slice()).unwrap() }], vec![]);
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut enc, &vec![0u8; 64 << 20]).unwrap();
    let inflates = message(vec![], vec![chunk(2, &enc.finish().unwrap())]);
    let mut body = [uleb(0), uleb(16), device_actor(actor.device).to_bytes().to_vec(), uleb(1), uleb(1)].concat();
    leb128::write::signed(&mut body, 0).unwrap();
    body.extend([uleb(0), uleb(0), uleb(1), uleb((4 << 4) | 2)].concat());
    let mut col = Vec::new();
    leb128::write::signed(&mut col, 1 << 40).unwrap();
    col.extend(uleb(1));
    body.extend(uleb(col.len() as u64));
    body.extend(col);
    let runs = message(vec![], vec![chunk(1, &body)]);
    // 400 notes signed as the dispatcher: valid Automerge, refused by the rules after a full apply.
    let mut forged = field.fork().with_actor(device_actor(actor.device));
    let base = forged.get_heads();
    let mut f = read_field(&forged).unwrap();
    for i in 0..400 {
        f.notes.push(shared::model::Note {
            id: shared::ItemId::new(),
            at: Timestamp::now(),
            author: "调度".into(),
            text: format!("forged {i}"),
        });
    }
    autosurgeon::reconcile(&mut forged, &f).unwrap();
    forged.commit();
    let changes: Vec<Vec<u8>> = forged.get_changes(&base).iter().map(|c| c.raw_bytes().to_vec()).collect();
    let forged = Message {
        heads: forged.get_heads(),
        need: vec![],
        have: vec![],
        changes: ChunkList::from(changes),
        flags: None,
        version: MessageVersion::V1,
    }
    .encode();
    [probes, inflates, runs, forged, b"not automerge at all".to_vec()]
        .into_iter()
        .map(|m| SyncRequest { messages: vec![DocMessage { job, kind: DocKind::Field, message: m }], ..SyncRequest::default() })
        .collect()
}

pub struct PhaseResult {
    pub honest_rounds_per_s: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub hostile_requests: u64,
    pub rss_mib: f64,
}

/// Honest devices edit for `seconds` (each device one round at a time); with `attacker`, one
/// device sends hostile requests `attack_in_flight` at a time for the same period.
pub async fn phase(
    http: &reqwest::Client,
    url: &str,
    honest: &[Arc<Mutex<HonestDevice>>],
    attacker: Option<(String, Vec<SyncRequest>, usize)>,
    seconds: u64,
) -> PhaseResult {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let hostile_count = Arc::new(AtomicU64::new(0));
    let peak = Arc::new(AtomicU64::new(0));
    let mut attack_tasks = Vec::new();
    if let Some((token, requests, in_flight)) = attacker {
        let bodies: Arc<Vec<Vec<u8>>> = Arc::new(requests.iter().map(wire::encode).collect());
        for w in 0..in_flight {
            let (http, url, token, bodies, count) = (http.clone(), url.to_owned(), token.clone(), bodies.clone(), hostile_count.clone());
            attack_tasks.push(tokio::spawn(async move {
                let mut i = w;
                while Instant::now() < deadline {
                    let body = bodies[i % bodies.len()].clone();
                    let r = http.post(&url).bearer_auth(&token).body(body).send().await;
                    if let Ok(r) = r {
                        let _ = r.bytes().await;
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    i += 1;
                }
            }));
        }
    }
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            while Instant::now() < deadline {
                peak.fetch_max(rss_mib() as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let mut tasks = Vec::new();
    for (n, dev) in honest.iter().enumerate() {
        let (http, url, dev) = (http.clone(), url.to_owned(), dev.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = n;
            while Instant::now() < deadline {
                let (req, token) = {
                    let mut d = dev.lock().await;
                    (d.edit_round(i), d.token.clone())
                };
                let t = Instant::now();
                let r = http.post(&url).bearer_auth(&token).body(wire::encode(&req)).send().await.expect("server reachable");
                assert!(r.status().is_success(), "an honest round failed: {}", r.status());
                let resp: wire::SyncResponse = wire::decode(&r.bytes().await.unwrap()).unwrap();
                lat.push(t.elapsed());
                assert!(resp.refused.is_empty(), "an honest edit was refused: {:?}", resp.refused);
                i += 1;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    for t in attack_tasks {
        t.await.unwrap();
    }
    sampler.await.unwrap();
    all.sort();
    PhaseResult {
        honest_rounds_per_s: all.len() as f64 / seconds as f64,
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        hostile_requests: hostile_count.load(Ordering::Relaxed),
        rss_mib: peak.load(Ordering::Relaxed) as f64,
    }
}
