//! The device's sync client: pairs with a server, then reconciles every local document and
//! uploads pending blobs whenever the network is there, with backoff.
//!
//! Honest state: `pending_changes` counts jobs with field work the server has not confirmed,
//! `pending_blob_bytes` what is still to upload; "synced" means both are zero after a round that
//! succeeded, never less.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::ChangeHash;
use automerge::sync::{State as SyncState, SyncDoc};
use serde::{Deserialize, Serialize};
use shared::docs::DocKind;
use shared::edit::FieldActor;
use shared::wire::http::{
    ErrorEnvelope, JOB_HEADER, PAIR_PATH, PROOF_HEADER, PROOF_REQUIRED, SYNC_CONTENT_TYPE, SYNC_PATH, UPLOAD_COMPLETE_HEADER,
    UPLOAD_LENGTH_HEADER, UPLOAD_OFFSET_HEADER, blob_path, blob_proof,
};
use shared::wire::{self, DocMessage, PairRequest, PairResponse, SyncRequest, SyncResponse};
use shared::{JobId, Timestamp};

use crate::store::{PendingBlob, Store, StoreError};

/// Round trips in one sync before it stops and reports `more`.
pub const ROUNDS_MAX: usize = 12;
/// Bytes of sync messages in one request: the body limit less room for the job digests.
pub const REQUEST_MESSAGE_BYTES_BUDGET: usize = wire::SYNC_BODY_BYTES_MAX - wire::SYNC_JOBS_MAX * 32;
/// Bytes per blob upload request.
pub const BLOB_CHUNK_BYTES: usize = 256 * 1024;
/// Longest wait between attempts when the server is unreachable.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("this device is not paired with a server")]
    NotPaired,
    #[error("server unreachable: {0}")]
    Network(#[from] reqwest::Error),
    #[error("server refused ({status}): {message}")]
    Server { status: u16, code: String, message: String },
    #[error("server sent a malformed response: {0}")]
    Wire(#[from] wire::WireError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Not an address the app will send a technician's work to.
    #[error("{0}")]
    BadServer(String),
}

/// The server address a technician typed, checked: `https://`, or `http://` only to this very
/// machine (loopback: a test server, or a phone forwarding a port to a PC with `adb reverse`).
/// Anything else would send customers' data and the phone's token across the network in clear.
pub fn server_address(input: &str) -> Result<String, SyncError> {
    let bad = |why: &str| SyncError::BadServer(format!("{input:?} is not a server address the app can use: {why}"));
    let url = reqwest::Url::parse(input.trim()).map_err(|e| bad(&e.to_string()))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(bad("it names no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(bad("plain http is only for this machine (127.0.0.1 or localhost); use https")),
        other => return Err(bad(&format!("{other}: is not a web address"))),
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it carries a user name, a query or a fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

impl SyncError {
    /// Worth retrying later (network, overload), as opposed to needing a person (revoked token).
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Network(_) => true,
            SyncError::Server { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// How long to wait before the next background sync after `result`: `every` normally, at once
/// while the server holds more back, doubling up to [`BACKOFF_MAX`] while it cannot be reached,
/// and the longest wait when a person must act (a revoked phone).
pub fn next_wait(result: &Result<SyncReport, SyncError>, every: Duration, last: Duration) -> Duration {
    match result {
        Ok(r) if r.more => Duration::from_millis(200),
        Ok(_) | Err(SyncError::NotPaired) => every,
        Err(e) if e.is_transient() => (last.max(every) * 2).min(BACKOFF_MAX),
        Err(e) => {
            tracing::warn!(error = %e, "background sync waits: needs attention");
            BACKOFF_MAX
        }
    }
}

/// What the sync indicator shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncStatus {
    pub pending_changes: u64,
    pub pending_blob_bytes: u64,
    pub last_success: Option<Timestamp>,
    /// The last attempt's error, as the software said it (shown as detail).
    pub last_error: Option<String>,
    /// What that error means for the technician, for the screens to say in their language.
    pub problem: Option<SyncProblem>,
    pub running: bool,
}

/// Why the last sync did not fully succeed, in the terms a technician acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncProblem {
    /// No network or no server: keep working, it syncs later.
    Unreachable,
    /// The server no longer accepts this phone's token: pair again.
    NotAccepted,
    /// The server is overloaded or failing: it retries by itself.
    ServerBusy,
    /// Some changes were refused (see the detail); the rest synced.
    Refused,
    Other,
}

impl SyncError {
    pub fn problem(&self) -> SyncProblem {
        match self {
            SyncError::Network(_) => SyncProblem::Unreachable,
            SyncError::Server { status: 401 | 403, .. } => SyncProblem::NotAccepted,
            SyncError::Server { status, .. } if *status == 429 || *status >= 500 => SyncProblem::ServerBusy,
            _ => SyncProblem::Other,
        }
    }
}

impl SyncStatus {
    pub fn is_synced(&self) -> bool {
        self.pending_changes == 0 && self.pending_blob_bytes == 0 && self.last_success.is_some()
    }
}

/// What one sync did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncReport {
    pub rounds: usize,
    pub bytes_sent: usize,
    pub bytes_received: usize,
    pub new_jobs: usize,
    pub dropped_jobs: usize,
    pub refused: Vec<shared::wire::DocRefusal>,
    pub blobs_uploaded: usize,
    /// Photos that could not be uploaded this time (each tried again next sync).
    pub blob_failures: Vec<BlobFailure>,
    /// Jobs whose documents from the server this phone could not take.
    pub job_failures: Vec<JobFailure>,
    /// Blobs fetched for this device (the customer's photos).
    pub blobs_downloaded: usize,
    /// Work remains (round limit reached or the server held some back).
    pub more: bool,
    /// Jobs the server took away that stay until their work (documents, photos) is confirmed.
    pub kept_revoked: Vec<JobId>,
}

/// How long one request may take, answer included (a photo chunk on a slow network).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Sends a request, waiting out `429 Too Many Requests` (as the server's `Retry-After` says) a
/// few times before giving up.
async fn send(req: reqwest::RequestBuilder) -> Result<reqwest::Response, SyncError> {
    const TRIES_MAX: u32 = 6;
    let mut tries = 0;
    loop {
        // Per request, not per client: the browser's fetch has no client-wide timeout.
        let attempt = req.try_clone().expect("request bodies here are in memory").timeout(REQUEST_TIMEOUT);
        let resp = attempt.send().await?;
        tries += 1;
        if resp.status() != reqwest::StatusCode::TOO_MANY_REQUESTS || tries >= TRIES_MAX {
            return Ok(resp);
        }
        let wait = header_u64(&resp, "retry-after").unwrap_or(1).clamp(1, 30);
        crate::platform::sleep(Duration::from_secs(wait)).await;
    }
}

async fn check(resp: reqwest::Response) -> Result<reqwest::Response, SyncError> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let (code, message) = match serde_json::from_str::<ErrorEnvelope>(&text) {
        Ok(b) => (b.error.code.as_str().to_owned(), b.error.message),
        Err(_) => ("http".into(), text),
    };
    Err(SyncError::Server { status, code, message })
}

/// Pairs this device with `server` using a dispatcher's one-time code; stores the server, the
/// token and the identity the server assigned.
///
/// A phone paired before (its token revoked, or the technician deactivated and back) keeps its
/// unsent work: the new identity takes it over on the server, which then accepts it as the
/// earlier identity's. With nothing unsent, the phone starts clean (the code may be another
/// technician's).
pub async fn pair(store: &Arc<Mutex<Store>>, server: &str, code: &str, device_name: &str) -> Result<FieldActor, SyncError> {
    let server = server_address(server)?;
    let (had_identity, previous_device) = {
        let mut s = store.lock().unwrap_or_else(|e| e.into_inner());
        match s.identity()? {
            Some(who) if s.pending_count()? > 0 || s.pending_blob_bytes()? > 0 => (true, Some(who.device)),
            Some(_) => (true, None),
            None => (false, None),
        }
    };
    let resp = http_client()
        .post(format!("{server}{PAIR_PATH}"))
        .json(&PairRequest { code: code.to_owned(), device_name: device_name.to_owned(), previous_device })
        .timeout(Duration::from_secs(20))
        .send()
        .await?;
    let p: PairResponse = check(resp).await?.json().await?;
    let who = FieldActor { technician: p.technician_id, device: p.device_id, name: p.technician_name };
    let mut s = store.lock().unwrap_or_else(|e| e.into_inner());
    if had_identity && previous_device.is_none() {
        s.sign_out()?;
    }
    s.set_meta("server", &server)?;
    s.set_meta("token", &p.token)?;
    s.set_identity(&who)?;
    Ok(who)
}

/// The client every request to the server goes through. Natively it follows no redirects: one
/// could send the token and the work to another (or a plain http) address. In the browser the
/// app only talks to its own origin.
fn http_client() -> reqwest::Client {
    #[cfg(not(target_arch = "wasm32"))]
    return reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a default HTTP client builds");
    #[cfg(target_arch = "wasm32")]
    return reqwest::Client::new();
}

/// Readies a document's sync state for the next request.
///
/// Automerge's protocol assumes both peers remember a session: what each already sent
/// (`sent_hashes`) is never sent again, and no new message goes while one is "in flight". Our
/// server remembers nothing of a round but the heads both sides share (see the server's
/// `sync` module). A change this phone sent that the server did not store (a job it held back
/// for the next round, a change it could not apply yet because a Bloom filter's false positive
/// kept back one it depends on) would then never be sent again in this sync: the phone would go
/// on saying "I have sent that", the server "I lack it", until the round limit. So every
/// request is a fresh exchange: the answer to the last request was the acknowledgement, and
/// whatever the server's latest `have` and `need` say it lacks is sent again.
fn ready_for_request(st: &mut SyncState) {
    st.sent_hashes.clear();
    st.in_flight = false;
}

/// Syncs one device's store with its server.
pub struct SyncClient {
    http: reqwest::Client,
    store: Arc<Mutex<Store>>,
    status: Arc<Mutex<SyncStatus>>,
    /// Held for a whole sync and by sign-out: rounds never overlap, and a sign-out never lands
    /// between a request and the store writes its answer causes (which would put the previous
    /// technician's jobs back on the phone).
    session: tokio::sync::Mutex<()>,
}

impl SyncClient {
    pub fn new(store: Arc<Mutex<Store>>) -> Self {
        Self { http: http_client(), store, status: Arc::default(), session: tokio::sync::Mutex::new(()) }
    }

    pub fn status(&self) -> SyncStatus {
        self.status.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn endpoint(&self) -> Result<(String, String), SyncError> {
        let s = self.store();
        match (s.meta("server")?, s.meta("token")?) {
            // Checked at every sync, not only at pairing: a phone paired with a plain-http
            // address before this rule sends nothing until it is paired again over https.
            (Some(server), Some(token)) => Ok((server_address(&server)?, token)),
            _ => Err(SyncError::NotPaired),
        }
    }

    /// Recomputes the pending counts from the store (cheap; called after every change too).
    pub fn refresh_pending(&self) -> Result<SyncStatus, SyncError> {
        let (changes, bytes) = {
            let s = self.store();
            (s.pending_count()?, s.pending_blob_bytes()?)
        };
        let mut st = self.status.lock().unwrap_or_else(|e| e.into_inner());
        st.pending_changes = changes;
        st.pending_blob_bytes = bytes;
        Ok(st.clone())
    }

    /// One full sync: documents first, then blobs. Updates the status either way.
    pub async fn sync_now(&self) -> Result<SyncReport, SyncError> {
        let _session = self.session.lock().await;
        // Not being paired is a state the screens show, not a failed sync.
        self.endpoint()?;
        self.status.lock().unwrap_or_else(|e| e.into_inner()).running = true;
        let result = async {
            let mut report = self.sync_documents().await?;
            let uploads = self.upload_blobs().await?;
            report.blobs_uploaded = uploads.uploaded;
            report.blob_failures = uploads.failed;
            report.blobs_downloaded = self.download_blobs().await?;
            // What could not be done is shown on each job until a sync does it.
            let mut problems: Vec<(JobId, crate::store::JobProblem)> = Vec::new();
            for r in &report.refused {
                problems.push((r.job, crate::store::JobProblem::Refused { code: r.code, message: r.message.clone() }));
            }
            for f in &report.blob_failures {
                problems.push((f.job, crate::store::JobProblem::PhotoNotSent { error: f.error.clone() }));
            }
            for f in &report.job_failures {
                problems.push((f.job, crate::store::JobProblem::CannotTake { error: f.error.clone() }));
            }
            self.store().set_job_problems(&problems)?;
            // Photos were the last thing keeping a reassigned job on this phone.
            for job in std::mem::take(&mut report.kept_revoked) {
                if self.store().drop_job_if_synced(job)? {
                    report.dropped_jobs += 1;
                } else {
                    report.kept_revoked.push(job);
                }
            }
            Ok::<_, SyncError>(report)
        }
        .await;
        let _ = self.refresh_pending();
        let mut st = self.status.lock().unwrap_or_else(|e| e.into_inner());
        st.running = false;
        match &result {
            Ok(r) if r.refused.is_empty() && r.blob_failures.is_empty() && r.job_failures.is_empty() => {
                st.last_success = Some(Timestamp::now());
                st.last_error = None;
                st.problem = None;
            }
            Ok(r) => {
                st.last_success = Some(Timestamp::now());
                let refused = r.refused.first().map(|f| format!("{}: {}", f.code, f.message));
                st.last_error = refused
                    .or_else(|| r.blob_failures.first().map(|f| format!("photo {}: {}", f.hash, f.error)))
                    .or_else(|| r.job_failures.first().map(|f| format!("job {}: {}", f.job, f.error)));
                st.problem = Some(SyncProblem::Refused);
            }
            Err(e) => {
                st.last_error = Some(e.to_string());
                st.problem = Some(e.problem());
            }
        }
        result
    }

    /// Earlier jobs on the appliance of `job` (one of this phone's), from the server: history that
    /// has left the phone after its retention period. Needs the network.
    pub async fn history(&self, job: JobId) -> Result<Vec<wire::http::PastJob>, SyncError> {
        let (server, token) = self.endpoint()?;
        let resp = send(self.http.get(format!("{server}{}", wire::http::history_path(job))).bearer_auth(token)).await?;
        Ok(check(resp).await?.json().await?)
    }

    /// Signs the technician out once no sync is in flight; refused, changing nothing, while
    /// work is unsent (see [`Store::sign_out`]).
    pub async fn sign_out(&self) -> Result<(), SyncError> {
        let _session = self.session.lock().await;
        self.store().sign_out()?;
        *self.status.lock().unwrap_or_else(|e| e.into_inner()) = SyncStatus::default();
        Ok(())
    }

    async fn post_sync(&self, req: &SyncRequest) -> Result<(SyncResponse, usize, usize), SyncError> {
        let (server, token) = self.endpoint()?;
        let body = wire::encode(req);
        let sent = body.len();
        let resp =
            send(self.http.post(format!("{server}{SYNC_PATH}")).bearer_auth(token).header("content-type", SYNC_CONTENT_TYPE).body(body))
                .await?;
        let bytes = check(resp).await?.bytes().await?;
        Ok((wire::decode(&bytes)?, sent, bytes.len()))
    }

    /// Reconciles every local document with the server.
    pub async fn sync_documents(&self) -> Result<SyncReport, SyncError> {
        let mut report = SyncReport::default();
        let mut states: HashMap<(JobId, DocKind), SyncState> = HashMap::new();
        // Documents to talk about this round: field documents with unsent work, then whatever
        // the server last wrote to us about.
        let mut active: HashSet<(JobId, DocKind)> = self.store().pending_jobs()?.into_iter().map(|j| (j, DocKind::Field)).collect();
        let mut dropped = HashSet::new();
        for round in 0..ROUNDS_MAX {
            let req = self.build_request(&active, &mut states)?;
            let (resp, sent, received) = self.post_sync(&req).await?;
            report.rounds = round + 1;
            report.bytes_sent += sent;
            report.bytes_received += received;
            active = self.apply_response(&req, &resp, &mut states, &mut report, &mut dropped)?;
            let quiet = req.messages.is_empty() && resp.messages.is_empty() && resp.new_jobs.is_empty() && !resp.more;
            if quiet || (active.is_empty() && !resp.more) {
                report.more = false;
                break;
            }
            report.more = true;
        }
        self.store().put_sync_states(&states)?;
        Ok(report)
    }

    fn build_request(
        &self,
        active: &HashSet<(JobId, DocKind)>,
        states: &mut HashMap<(JobId, DocKind), SyncState>,
    ) -> Result<SyncRequest, SyncError> {
        let store = self.store();
        let jobs = store.sync_summaries()?;
        let mut messages = Vec::new();
        let mut keys: Vec<_> = active.iter().copied().collect();
        keys.sort();
        // Within the wire's limits whatever is pending: what does not fit waits for the next
        // round (its sync state untouched, so nothing is taken as sent).
        let mut budget = REQUEST_MESSAGE_BYTES_BUDGET;
        for (job, kind) in keys {
            if messages.len() == wire::SYNC_MESSAGES_MAX {
                break;
            }
            let mut doc = match store.doc_for_sync(job, kind) {
                Ok(d) => d,
                Err(StoreError::NoSuchJob(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            let st = match states.entry((job, kind)) {
                std::collections::hash_map::Entry::Occupied(slot) => slot.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => slot.insert(store.sync_state(job, kind)?),
            };
            let mut next = st.clone();
            ready_for_request(&mut next);
            let Some(msg) = doc.sync().generate_sync_message(&mut next) else { continue };
            let bytes = msg.encode();
            if bytes.len() > budget.min(wire::SYNC_MESSAGE_BYTES_MAX) {
                if bytes.len() > wire::SYNC_MESSAGE_BYTES_MAX {
                    // Alone over the limit: it can never be sent as it is; say so on the job.
                    tracing::warn!(%job, bytes = bytes.len(), "a sync message is over the request limit");
                }
                continue;
            }
            budget -= bytes.len();
            *st = next;
            messages.push(DocMessage { job, kind, message: bytes });
        }
        let pending = wire::PendingWork { jobs: store.pending_count()? as u32, blob_bytes: store.pending_blob_bytes()? };
        Ok(SyncRequest { jobs, messages, reference: store.reference_versions()?, pending })
    }

    fn apply_response(
        &self,
        req: &SyncRequest,
        resp: &SyncResponse,
        states: &mut HashMap<(JobId, DocKind), SyncState>,
        report: &mut SyncReport,
        dropped: &mut HashSet<JobId>,
    ) -> Result<HashSet<(JobId, DocKind)>, SyncError> {
        let mut store = self.store();
        store.apply_reference_update(&resp.reference)?;
        // A job this phone cannot take (a document over the limits, unreadable) is reported on
        // that job; the others still sync.
        for nj in &resp.new_jobs {
            match store.receive_new_job(nj.job, &nj.dispatch, &nj.field) {
                Ok(_) => report.new_jobs += 1,
                Err(e @ StoreError::BadDocument { .. }) => report.job_failures.push(JobFailure { job: nj.job, error: e.to_string() }),
                Err(e) => return Err(e.into()),
            }
        }
        let mut next = HashSet::new();
        let mut by_job: HashMap<JobId, Vec<(DocKind, Vec<u8>)>> = HashMap::new();
        for m in &resp.messages {
            by_job.entry(m.job).or_default().push((m.kind, m.message.clone()));
        }
        for (job, msgs) in by_job {
            for (kind, _) in &msgs {
                next.insert((job, *kind));
            }
            match store.receive_messages(job, msgs, states) {
                Ok(_) => {}
                Err(e @ StoreError::BadDocument { .. }) => {
                    tracing::warn!(%job, error = %e, "a job's sync messages could not be applied; the others go on");
                    report.job_failures.push(JobFailure { job, error: e.to_string() });
                    next.retain(|(j, _)| *j != job);
                }
                Err(e) => return Err(e.into()),
            }
        }
        // Our own messages get an answer next round even if the server had nothing to say.
        for m in &req.messages {
            next.insert((m.job, m.kind));
        }
        let mut mentioned = HashSet::new();
        for h in &resp.heads {
            mentioned.insert(h.job);
            if h.kind == DocKind::Field {
                let heads: Vec<ChangeHash> = h.heads.iter().map(|b| ChangeHash(*b)).collect();
                if store.confirm_field_heads(h.job, &heads)? {
                    next.remove(&(h.job, DocKind::Field));
                }
            }
        }
        for &job in &resp.erased {
            if !dropped.contains(&job) && store.drop_erased_job(job)? {
                tracing::info!(%job, "the customer's data was erased on the server; the job left this phone");
                dropped.insert(job);
                report.dropped_jobs += 1;
            }
            next.retain(|(j, _)| *j != job);
        }
        let revoked: HashSet<JobId> = resp.revoked.iter().copied().collect();
        for j in &req.jobs {
            if !mentioned.contains(&j.job) && !revoked.contains(&j.job) && !resp.more {
                store.confirm_digest(j.job, j.digest)?;
            }
        }
        for &job in &revoked {
            if !dropped.contains(&job) && store.drop_job_if_synced(job)? {
                dropped.insert(job);
                report.dropped_jobs += 1;
                next.retain(|(j, _)| *j != job);
            } else if !dropped.contains(&job) {
                // Unsent work on a job that left us: keep pushing it.
                next.insert((job, DocKind::Field));
                if !report.kept_revoked.contains(&job) {
                    report.kept_revoked.push(job);
                }
            }
        }
        let kept: Vec<JobId> = revoked.iter().filter(|j| !dropped.contains(j)).copied().collect();
        store.set_left_jobs(&kept)?;
        report.refused.extend(resp.refused.iter().cloned());
        for r in &resp.refused {
            next.remove(&(r.job, r.kind));
        }
        Ok(next)
    }

    /// Uploads every pending blob, resuming each from the offset the server holds.
    /// Fetches the blobs this device's documents name but it does not hold, each verified
    /// against its hash before it is kept. A blob the server no longer lets us read (the job
    /// moved on) is skipped; the next sync asks again while the job is here.
    pub async fn download_blobs(&self) -> Result<usize, SyncError> {
        let (server, token) = self.endpoint()?;
        let wanted = self.store().wanted_blobs()?;
        let mut done = 0;
        for (job, hash) in wanted {
            let resp = send(self.http.get(format!("{server}{}", blob_path(&hash))).bearer_auth(&token)).await?;
            if matches!(resp.status().as_u16(), 403 | 404) {
                tracing::debug!(%job, blob = %hash, "blob not readable here; skipped");
                continue;
            }
            let bytes = check(resp).await?.bytes().await?;
            match self.store().put_remote_blob(job, &hash, "image/jpeg", &bytes) {
                Ok(()) => done += 1,
                // Damaged in transit or by the server: not kept, asked for again next time.
                Err(StoreError::BlobMismatch) => tracing::warn!(%job, blob = %hash, "downloaded blob does not match its hash"),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(done)
    }

    /// Uploads every pending blob. One blob that cannot be uploaded (the server refuses it, or
    /// its bytes here are damaged) is reported and skipped; it never holds back the others. Only
    /// a server that cannot be reached stops the pass.
    pub async fn upload_blobs(&self) -> Result<BlobUploads, SyncError> {
        let (server, token) = self.endpoint()?;
        let pending = self.store().pending_blobs()?;
        let mut out = BlobUploads::default();
        for b in pending {
            match self.upload_blob(&server, &token, &b).await {
                Ok(()) => out.uploaded += 1,
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    tracing::warn!(blob = %b.hash, job = %b.job_id, error = %e, "photo upload failed; the others go on");
                    out.failed.push(BlobFailure { job: b.job_id, hash: b.hash.clone(), error: e.to_string() });
                }
            }
        }
        Ok(out)
    }

    /// Uploads one blob, resuming from the offset the server holds.
    async fn upload_blob(&self, server: &str, token: &str, b: &PendingBlob) -> Result<(), SyncError> {
        let url = format!("{server}{}", blob_path(&b.hash));
        // A blob we began before may be further along (or done) on the server: ask. A fresh
        // one starts at 0; a 409 would tell us otherwise.
        let mut offset = 0;
        if b.uploaded > 0 {
            let head = send(self.http.head(&url).bearer_auth(token).header(JOB_HEADER, b.job_id.to_string())).await?;
            let head = check(head).await?;
            if proof_required(&head) {
                return self.prove_blob(&url, token, b).await;
            }
            offset = header_u64(&head, UPLOAD_OFFSET_HEADER).unwrap_or(0);
            if header_u64(&head, UPLOAD_COMPLETE_HEADER) == Some(1) {
                self.store().set_blob_uploaded(&b.hash, b.size)?;
                return Ok(());
            }
        }
        let Some(bytes) = self.store().blob(&b.hash)? else { return Ok(()) };
        // Until the server says complete (it verified the hash), the blob stays pending.
        let mut complete = false;
        let mut attempts = 0;
        while !complete {
            attempts += 1;
            if attempts > bytes.len() / BLOB_CHUNK_BYTES + 8 {
                return Err(SyncError::Server {
                    status: 409,
                    code: "upload_stuck".into(),
                    message: format!("blob {} made no progress", b.hash),
                });
            }
            let start = (offset as usize).min(bytes.len());
            let end = (start + BLOB_CHUNK_BYTES).min(bytes.len());
            let resp = send(
                self.http
                    .patch(&url)
                    .bearer_auth(token)
                    .header(JOB_HEADER, b.job_id.to_string())
                    .header(UPLOAD_OFFSET_HEADER, offset.to_string())
                    .header(UPLOAD_LENGTH_HEADER, b.size.to_string())
                    .body(bytes[start..end].to_vec()),
            )
            .await?;
            if resp.status() == reqwest::StatusCode::CONFLICT && proof_required(&resp) {
                return self.prove_blob(&url, token, b).await;
            }
            if resp.status() == reqwest::StatusCode::CONFLICT {
                // An earlier, interrupted attempt got further (or the server restarted the
                // upload): resume from where it says. A conflict that does not move the offset
                // is a real disagreement: report it.
                match header_u64(&resp, UPLOAD_OFFSET_HEADER) {
                    Some(o) if o != offset => {
                        offset = o;
                        continue;
                    }
                    _ => return Err(check(resp).await.expect_err("409 is an error")),
                }
            }
            let resp = check(resp).await?;
            complete = header_u64(&resp, UPLOAD_COMPLETE_HEADER) == Some(1);
            offset = header_u64(&resp, UPLOAD_OFFSET_HEADER).unwrap_or(end as u64);
            let progress = if complete { b.size } else { offset.min(b.size.saturating_sub(1)) };
            self.store().set_blob_uploaded(&b.hash, progress)?;
        }
        Ok(())
    }

    /// The server holds the blob through another job: prove we hold its bytes instead of
    /// sending them again.
    async fn prove_blob(&self, url: &str, token: &str, b: &PendingBlob) -> Result<(), SyncError> {
        let Some(bytes) = self.store().blob(&b.hash)? else { return Ok(()) };
        let proof = blob_proof(b.job_id, &bytes);
        let resp = send(
            self.http
                .patch(url)
                .bearer_auth(token)
                .header(JOB_HEADER, b.job_id.to_string())
                .header(PROOF_HEADER, proof)
                .header(UPLOAD_OFFSET_HEADER, "0")
                .header(UPLOAD_LENGTH_HEADER, b.size.to_string()),
        )
        .await?;
        check(resp).await?;
        self.store().set_blob_uploaded(&b.hash, b.size)?;
        Ok(())
    }
}

/// Whether the server asks for a possession proof instead of the bytes.
fn proof_required(resp: &reqwest::Response) -> bool {
    resp.headers().get(PROOF_HEADER).is_some_and(|v| v.as_bytes() == PROOF_REQUIRED.as_bytes())
}

/// What one pass of photo uploads did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BlobUploads {
    pub uploaded: usize,
    /// Blobs that could not be uploaded this time (they stay pending and are tried again).
    pub failed: Vec<BlobFailure>,
}

/// A job the phone could not take from the server, and why (as the software said it).
#[derive(Clone, Debug, PartialEq)]
pub struct JobFailure {
    pub job: JobId,
    pub error: String,
}

/// A blob that could not be uploaded, and why (as the software said it).
#[derive(Clone, Debug, PartialEq)]
pub struct BlobFailure {
    pub job: JobId,
    pub hash: shared::BlobHash,
    pub error: String,
}

fn header_u64(resp: &reqwest::Response, name: &str) -> Option<u64> {
    resp.headers().get(name)?.to_str().ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::{AutoCommit, ReadDoc, transaction::Transactable};

    /// One request to a server that keeps only the document and the shared heads between
    /// requests, as ours does; `skip` drops the phone's message unread (a job held back).
    fn server_round(
        saved: &mut Vec<u8>,
        persisted: &mut Vec<u8>,
        msg: Option<automerge::sync::Message>,
        skip: bool,
    ) -> automerge::sync::Message {
        let mut doc = AutoCommit::load(saved).unwrap();
        let mut st = SyncState::decode(persisted).unwrap();
        if let (Some(m), false) = (msg, skip) {
            doc.sync().receive_sync_message(&mut st, m).unwrap();
        }
        let reply = doc.sync().generate_sync_message(&mut st).expect("a fresh state always answers");
        *saved = doc.save();
        *persisted = st.encode();
        reply
    }

    /// Runs rounds like `sync_documents` until the phone has nothing to say; returns whether
    /// both documents ended equal.
    fn converges(ready: bool) -> bool {
        let mut server = AutoCommit::new();
        server.put(automerge::ROOT, "job", "washer").unwrap();
        let mut phone = server.fork();
        for i in 0..15 {
            phone.put(automerge::ROOT, format!("event{i}"), i).unwrap();
            phone.commit();
        }
        let (mut saved, mut persisted) = (server.save(), SyncState::new().encode());
        let mut st = SyncState::new();
        for round in 0..ROUNDS_MAX {
            let mut next = st.clone();
            if ready {
                ready_for_request(&mut next);
            }
            let msg = phone.sync().generate_sync_message(&mut next);
            st = next;
            // The second request carries the phone's changes: the server holds the job back.
            let skip = round == 1;
            // With nothing from the phone the server still answers while the digests differ.
            if msg.is_none() && AutoCommit::load(&saved).unwrap().get_heads() == phone.get_heads() {
                break;
            }
            let reply = server_round(&mut saved, &mut persisted, msg, skip);
            phone.sync().receive_sync_message(&mut st, reply).unwrap();
        }
        let mut stored = AutoCommit::load(&saved).unwrap();
        stored.get_heads() == phone.get_heads() && stored.length(automerge::ROOT) == 16
    }

    #[test]
    fn a_change_the_server_did_not_keep_is_sent_again_in_the_same_sync() {
        assert!(converges(true), "the phone's changes reach the server within one sync");
    }

    #[test]
    fn background_sync_backs_off_only_while_it_cannot_help() {
        let every = Duration::from_secs(30);
        let ok: Result<SyncReport, SyncError> = Ok(SyncReport::default());
        assert_eq!(next_wait(&ok, every, BACKOFF_MAX), every);
        let more = Ok(SyncReport { more: true, ..SyncReport::default() });
        assert_eq!(next_wait(&more, every, every), Duration::from_millis(200));
        let busy = Err(SyncError::Server { status: 503, code: "overloaded".into(), message: String::new() });
        assert_eq!(next_wait(&busy, every, every), Duration::from_secs(60));
        assert_eq!(next_wait(&busy, every, Duration::from_secs(240)), BACKOFF_MAX);
        let revoked = Err(SyncError::Server { status: 401, code: "bad_token".into(), message: String::new() });
        assert_eq!(next_wait(&revoked, every, every), BACKOFF_MAX);
        assert_eq!(next_wait(&Err(SyncError::NotPaired), every, BACKOFF_MAX), every, "pairing syncs at once anyway");
    }
}
