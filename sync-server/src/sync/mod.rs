//! One sync round for one device: cheap digest comparison for every job it holds, Automerge sync
//! messages for the documents that differ, whole documents for jobs it does not have yet.

mod apply;

use std::collections::{BTreeMap, HashMap};

use automerge::sync::State as SyncState;
use shared::docs::{DocKind, device_actor};
use shared::rules::Author;
use shared::wire::{DocMessage, NewJob, RefusalCode, SyncRequest, SyncResponse};
use shared::{DeviceId, JobId, Timestamp};

use crate::AppState;
use crate::auth::DeviceAuth;
use crate::error::{AppError, AppResult};
use crate::jobs::commit_write;
use apply::{JobWork, refusal};

/// Bytes of documents and messages one response carries before it says `more`.
pub const RESPONSE_BYTES_BUDGET: usize = 4 * 1024 * 1024;
/// Operations of device changes one request may have applied; jobs past it wait for the next
/// round (the request's messages are each bounded by the guard, this bounds their sum).
pub const REQUEST_OPS_BUDGET: u64 = 200_000;
/// Rounds in which a device may still deliver work on a job after the server told it the job
/// left its technician: enough for an honest phone to finish sending what it did before it knew
/// (Automerge converges in one or two), and a bound on what a dishonest one can add afterwards.
pub const FORMER_ROUNDS_MAX: u32 = 4;
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

pub async fn round(state: &AppState, who: &DeviceAuth, req: SyncRequest) -> AppResult<SyncResponse> {
    req.check_limits()?;
    let kept_since = Timestamp(Timestamp::now().0 - i64::from(state.finished_job_retention_days) * Timestamp::DAY);
    let assigned: HashMap<JobId, shared::wire::Digest> =
        state.store.assigned_digests(who.technician, kept_since).await?.into_iter().collect();
    let held: HashMap<JobId, shared::wire::Digest> = req.jobs.iter().map(|j| (j.job, j.digest)).collect();
    // A phone that paired again delivers the work of the identities it took over, as theirs.
    let lineage = state.presence.lineage(state.store.as_ref(), who.device).await?;
    let actors: Vec<_> = lineage.iter().map(|d| device_actor(*d)).collect();
    let previously_seen = state.presence.record(state.store.as_ref(), who.device, Timestamp::now(), req.pending).await?;
    let mut resp = SyncResponse::default();
    let mut budget = RESPONSE_BYTES_BUDGET;
    let mut states = Vec::new();

    // Jobs whose customer was erased: the device drops them, and nothing it still says about
    // them is taken (its copy holds what was erased).
    let mentioned: Vec<JobId> = held.keys().copied().chain(req.messages.iter().map(|m| m.job)).collect();
    let erased: std::collections::BTreeSet<JobId> = state.store.erased_among(mentioned).await?.into_iter().collect();
    let mut incoming: BTreeMap<JobId, Vec<DocMessage>> = BTreeMap::new();
    for m in req.messages {
        if erased.contains(&m.job) {
            continue;
        }
        let msgs = incoming.entry(m.job).or_default();
        // One message per document per round is all Automerge's protocol needs; more would only
        // multiply one request's cost.
        if msgs.iter().any(|x| x.kind == m.kind) {
            resp.refused.push(refusal(m.job, m.kind, RefusalCode::MalformedMessage, "one message per document per request"));
            continue;
        }
        msgs.push(m);
    }
    // Jobs whose documents the server answers for this round: those the device wrote about, and
    // assigned ones whose digest differs.
    let mut to_answer: Vec<JobId> = Vec::new();
    for (&job, msgs) in &incoming {
        // A former assignee delivers the work it did while it still holds the job (it drops the
        // job once that work is confirmed); after that, nothing more.
        let former = held.contains_key(&job) && state.store.ever_assigned(who.technician, job).await?;
        if !assigned.contains_key(&job) && !former {
            for m in msgs {
                resp.refused.push(refusal(job, m.kind, RefusalCode::NotAssigned, "this job is not assigned to you; nothing was stored"));
            }
            continue;
        }
        if !assigned.contains_key(&job) && state.store.former_rounds(who.device, job).await?.is_some_and(|n| n >= FORMER_ROUNDS_MAX) {
            for m in msgs {
                resp.refused.push(refusal(
                    job,
                    m.kind,
                    RefusalCode::NotAssigned,
                    "this job left you and your earlier work on it was delivered; nothing more is stored",
                ));
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

    let mut ops_budget = REQUEST_OPS_BUDGET;
    // Jobs no longer assigned on which this round stored the device's work.
    let mut delivered_former = Vec::new();
    for job in to_answer {
        if budget == 0 {
            resp.more = true;
            break;
        }
        if ops_budget == 0 && incoming.contains_key(&job) {
            // Not refused: the phone sends it again next round, when the others are confirmed.
            resp.more = true;
            continue;
        }
        let _g = crate::jobs::lock(state, job).await?;
        // Erased while this round waited for the job: nothing of the phone's copy is taken.
        if !state.store.erased_among(vec![job]).await?.is_empty() {
            resp.erased.push(job);
            continue;
        }
        let Some((dispatch, field)) = state.store.load_job(job).await? else {
            for m in incoming.get(&job).into_iter().flatten() {
                resp.refused.push(refusal(job, m.kind, RefusalCode::NotFound, "no such job"));
            }
            continue;
        };
        let incoming = incoming.remove(&job).unwrap_or_default();
        let kinds: Vec<DocKind> = incoming.iter().map(|m| m.kind).collect();
        let work = JobWork {
            job,
            dispatch,
            field,
            dispatch_state: load_state(state, (who.device, job, DocKind::Dispatch)).await?,
            field_state: load_state(state, (who.device, job, DocKind::Field)).await?,
            incoming,
            actors: actors.clone(),
            author: Author { technician: who.technician, devices: lineage.clone(), name: who.technician_name.clone() },
            received_at: Timestamp::now(),
            previously_seen,
            trusted: crate::jobs::trusted_times(state, job).await?,
            assigned_now: assigned.contains_key(&job),
            limits: state.guard_limits,
        };
        let mut out = match state.cpu.run(move || work.run()).await {
            Ok(out) => out,
            Err(e) => {
                // Nothing of it was stored: the documents are only written below.
                tracing::error!(%job, device = %who.device, error = %e, "sync work for a job failed");
                for kind in kinds {
                    resp.refused.push(refusal(job, kind, RefusalCode::MalformedMessage, "the server could not process this message"));
                }
                continue;
            }
        };
        if let Some(write) = out.write {
            commit_write(state, write?).await?;
            if !assigned.contains_key(&job) {
                delivered_former.push(job);
            }
        }
        // What was received is stored; the answer waits for the next round if it would take the
        // response past its budget (the phone's limit on what it reads).
        ops_budget = ops_budget.saturating_sub(out.ops);
        let answer: usize = out.outgoing.iter().map(|m| m.message.len()).sum();
        if answer > budget && !resp.messages.is_empty() {
            out.outgoing.clear();
            resp.more = true;
        }
        budget = budget.saturating_sub(answer);
        resp.refused.append(&mut out.refused);
        resp.messages.append(&mut out.outgoing);
        resp.heads.append(&mut out.heads);
        states.append(&mut out.states);
    }

    for &job in assigned.keys().filter(|j| !held.contains_key(j)) {
        if budget == 0 {
            resp.more = true;
            break;
        }
        let Some((mut d, mut f)) = state.store.load_job(job).await? else { continue };
        let (dispatch, field) = state.cpu.run(move || (d.save(), f.save())).await.map_err(|e| AppError::Internal(e.into()))?;
        if dispatch.len() + field.len() > budget && !(resp.new_jobs.is_empty() && resp.messages.is_empty()) {
            resp.more = true;
            break;
        }
        budget = budget.saturating_sub(dispatch.len() + field.len());
        resp.new_jobs.push(NewJob { job, dispatch, field });
    }
    resp.revoked = held.keys().filter(|j| !assigned.contains_key(j) && !erased.contains(j)).copied().collect();
    resp.erased.extend(erased);
    resp.erased.sort();
    resp.erased.dedup();
    // Told from now on; a round counts once the device was told (its earlier work is not
    // counted: it did it before it knew).
    state.store.note_former(who.device, who.technician, resp.revoked.clone(), delivered_former, Timestamp::now()).await?;
    resp.reference = crate::reference::update_for(state, who.technician, req.reference).await?;
    state.store.put_sync_states(who.device, states).await?;
    Ok(resp)
}
