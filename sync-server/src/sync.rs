//! One sync round for one device: cheap digest comparison for every job it holds, Automerge sync
//! messages for the documents that differ, whole documents for jobs it does not have yet.

use std::collections::{BTreeMap, HashMap};

use automerge::sync::{Message, State as SyncState, SyncDoc};
use automerge::{ActorId, AutoCommit};
use shared::docs::{DocKind, device_actor, read_field};
use shared::wire::{DocHeads, DocMessage, DocRefusal, NewJob, SyncRequest, SyncResponse};
use shared::{DeviceId, JobId};

use crate::AppState;
use crate::auth::DeviceAuth;
use crate::error::AppResult;
use crate::jobs::save_changes;

/// Bytes of documents and messages one response carries before it says `more`.
pub const RESPONSE_BYTES_BUDGET: usize = 4 * 1024 * 1024;
/// The sync state for one device and document, as persisted: shared heads only.
///
/// Automerge's sync protocol assumes a reliable, ordered channel; an HTTP response can be lost
/// after the server acted. So every request starts from the persisted state (what both sides
/// are known to share), never from in-memory "already sent" bookkeeping: a lost response then
/// costs a resend, never a stall.
async fn load_state(state: &AppState, key: (DeviceId, JobId, DocKind)) -> AppResult<SyncState> {
    let stored = state.store.sync_state(key.0, key.1, key.2).await?;
    Ok(stored.and_then(|b| SyncState::decode(&b).ok()).unwrap_or_default())
}

fn refusal(job: JobId, kind: DocKind, code: &str, message: impl Into<String>) -> DocRefusal {
    DocRefusal { job, kind, code: code.to_owned(), message: message.into() }
}

/// Applies one incoming message to `doc`, checking what it would change first. On refusal the
/// document and the sync state are left exactly as they were.
fn apply_incoming(
    doc: &mut AutoCommit,
    st: &mut SyncState,
    job: JobId,
    kind: DocKind,
    bytes: &[u8],
    actor: &ActorId,
) -> Result<bool, DocRefusal> {
    let malformed = |e: &dyn std::fmt::Display| refusal(job, kind, "malformed_message", format!("not an Automerge sync message: {e}"));
    let msg = Message::decode(bytes).map_err(|e| malformed(&e))?;
    let mut fork = doc.fork();
    let mut st2 = st.clone();
    fork.sync().receive_sync_message(&mut st2, msg).map_err(|e| malformed(&e))?;
    let before = doc.get_heads();
    let new = fork.get_changes(&before);
    if !new.is_empty() {
        if kind == DocKind::Dispatch {
            return Err(refusal(
                job,
                kind,
                "dispatch_read_only",
                "the dispatch document is written by dispatchers only; the change was not stored",
            ));
        }
        if let Some(c) = new.iter().find(|c| c.actor_id() != actor) {
            return Err(refusal(job, kind, "foreign_actor", format!("change {} was not made by this device", c.hash())));
        }
        match read_field(&fork) {
            Ok(f) if f.job_id == job => {}
            Ok(f) => return Err(refusal(job, kind, "invalid_document", format!("document belongs to job {}", f.job_id))),
            Err(e) => return Err(refusal(job, kind, "invalid_document", e.to_string())),
        }
    }
    *doc = fork;
    *st = st2;
    Ok(!new.is_empty())
}

fn heads_of(job: JobId, kind: DocKind, doc: &mut AutoCommit) -> DocHeads {
    DocHeads { job, kind, heads: doc.get_heads().into_iter().map(|h| h.0).collect() }
}

pub async fn round(state: &AppState, who: &DeviceAuth, req: SyncRequest) -> AppResult<SyncResponse> {
    req.check_limits()?;
    let assigned: HashMap<JobId, shared::wire::Digest> = state.store.assigned_digests(who.technician).await?.into_iter().collect();
    let held: HashMap<JobId, shared::wire::Digest> = req.jobs.iter().map(|j| (j.job, j.digest)).collect();
    let actor = device_actor(who.device);
    let mut resp = SyncResponse::default();
    let mut budget = RESPONSE_BYTES_BUDGET;
    let mut states = Vec::new();

    let mut incoming: BTreeMap<JobId, Vec<DocMessage>> = BTreeMap::new();
    for m in req.messages {
        incoming.entry(m.job).or_default().push(m);
    }
    // Jobs whose documents the server answers for this round: those the device wrote about, and
    // assigned ones whose digest differs.
    let mut to_answer: Vec<JobId> = Vec::new();
    for (&job, msgs) in &incoming {
        if !assigned.contains_key(&job) && !state.store.ever_assigned(who.technician, job).await? {
            for m in msgs {
                resp.refused.push(refusal(job, m.kind, "not_assigned", "this job is not assigned to you; nothing was stored"));
            }
            continue;
        }
        to_answer.push(job);
    }
    for (&job, digest) in &assigned {
        if held.get(&job).is_some_and(|d| d != digest) && !incoming.contains_key(&job) {
            to_answer.push(job);
        }
    }

    for job in to_answer {
        if budget == 0 {
            resp.more = true;
            break;
        }
        let _g = state.job_locks.lock(job).await;
        let Some((mut d, mut f)) = state.store.load_job(job).await? else {
            for m in incoming.get(&job).into_iter().flatten() {
                resp.refused.push(refusal(job, m.kind, "not_found", "no such job"));
            }
            continue;
        };
        let before = (d.get_heads(), f.get_heads());
        let mut st_d = load_state(state, (who.device, job, DocKind::Dispatch)).await?;
        let mut st_f = load_state(state, (who.device, job, DocKind::Field)).await?;
        let mut changed = false;
        for m in incoming.remove(&job).unwrap_or_default() {
            let (doc, st) = match m.kind {
                DocKind::Dispatch => (&mut d, &mut st_d),
                DocKind::Field => (&mut f, &mut st_f),
            };
            match apply_incoming(doc, st, job, m.kind, &m.message, &actor) {
                Ok(c) => changed |= c,
                Err(r) => {
                    tracing::warn!(%job, device = %who.device, code = %r.code, "sync message refused");
                    resp.refused.push(r);
                }
            }
        }
        if changed {
            save_changes(state, &mut d, &mut f, (&before.0, &before.1)).await?;
        }
        // A former assignee still syncs the field document (its own work must be confirmed before
        // the job leaves its phone) but gets no further dispatch content.
        let assigned_now = assigned.contains_key(&job);
        for (kind, doc, st) in [(DocKind::Dispatch, &mut d, &mut st_d), (DocKind::Field, &mut f, &mut st_f)] {
            if (assigned_now || kind == DocKind::Field)
                && let Some(msg) = doc.sync().generate_sync_message(st)
            {
                let bytes = msg.encode();
                budget = budget.saturating_sub(bytes.len());
                resp.messages.push(DocMessage { job, kind, message: bytes });
            }
            resp.heads.push(heads_of(job, kind, doc));
            states.push((job, kind, st.encode()));
        }
    }

    for &job in assigned.keys().filter(|j| !held.contains_key(j)) {
        if budget == 0 {
            resp.more = true;
            break;
        }
        let Some((mut d, mut f)) = state.store.load_job(job).await? else { continue };
        let (dispatch, field) = (d.save(), f.save());
        budget = budget.saturating_sub(dispatch.len() + field.len());
        resp.new_jobs.push(NewJob { job, dispatch, field });
    }
    resp.revoked = held.keys().filter(|j| !assigned.contains_key(j)).copied().collect();
    resp.reference = crate::admin::reference::update_for(state, who.technician, req.reference).await?;
    state.store.put_sync_states(who.device, states).await?;
    Ok(resp)
}
