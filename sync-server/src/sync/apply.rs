//! The Automerge work of one job in one round, run on the CPU pool: checking and applying the
//! device's messages, then generating the answers. Pure computation over loaded documents; the
//! round (`super::round`) loads and stores around it.

use automerge::sync::{ChunkList, State as SyncState, SyncDoc};
use automerge::{ActorId, AutoCommit, ChangeHash};
use shared::docs::{DOC_BYTES_MAX, DocKind, read_dispatch, read_field};
use shared::rules::{Author, TimeWindow, check_field_change};
use shared::wire::guard::{self, GuardLimits};
use shared::wire::{DocHeads, DocMessage, DocRefusal, RefusalCode};
use shared::{JobId, Timestamp};

use crate::error::AppResult;
use crate::jobs::write_for;
use crate::store::JobWrite;

/// Everything one job's share of a round needs, moved onto the pool and back.
pub struct JobWork {
    pub job: JobId,
    pub dispatch: AutoCommit,
    pub field: AutoCommit,
    pub dispatch_state: SyncState,
    pub field_state: SyncState,
    pub incoming: Vec<DocMessage>,
    /// The Automerge actors of the authenticated device and of the devices it took over: the
    /// only ones its new changes may carry.
    pub actors: Vec<ActorId>,
    /// Who the device is: new items must name this technician and one of these devices.
    pub author: Author,
    pub received_at: Timestamp,
    /// Currently assigned to the device's technician. A former assignee may still deliver the
    /// work it did before it learned of the unassignment, and receives nothing new.
    pub assigned_now: bool,
    pub limits: GuardLimits,
}

/// What came of it.
pub struct JobOutcome {
    /// What to store, when the device's messages changed the job.
    pub write: Option<AppResult<JobWrite>>,
    pub refused: Vec<DocRefusal>,
    pub outgoing: Vec<DocMessage>,
    pub heads: Vec<DocHeads>,
    pub states: Vec<(JobId, DocKind, Vec<u8>)>,
}

pub fn refusal(job: JobId, kind: DocKind, code: RefusalCode, message: impl Into<String>) -> DocRefusal {
    DocRefusal { job, kind, code, message: message.into() }
}

impl JobWork {
    pub fn run(self) -> JobOutcome {
        let JobWork {
            job,
            mut dispatch,
            mut field,
            mut dispatch_state,
            mut field_state,
            incoming,
            actors,
            author,
            received_at,
            assigned_now,
            limits,
        } = self;
        let before = (dispatch.get_heads(), field.get_heads());
        let check = Check {
            job,
            actors,
            author,
            limits,
            window: read_dispatch(&dispatch).ok().map(|d| TimeWindow { job_created_at: d.created_at, received_at }),
        };
        let mut changed = false;
        let mut refused = Vec::new();
        // The heads each of the device's field messages claimed: what it holds.
        let mut device_field_heads: Option<Vec<ChangeHash>> = None;
        for m in incoming {
            let (doc, st) = match m.kind {
                DocKind::Dispatch => (&mut dispatch, &mut dispatch_state),
                DocKind::Field => (&mut field, &mut field_state),
            };
            match check.apply_incoming(doc, st, m.kind, &m.message) {
                Ok((c, their_heads)) => {
                    changed |= c;
                    if m.kind == DocKind::Field {
                        device_field_heads = Some(their_heads);
                    }
                }
                Err(r) => {
                    tracing::warn!(%job, code = %r.code, reason = %r.message, "sync message refused");
                    refused.push(r);
                }
            }
        }
        let mut outgoing = Vec::new();
        let mut heads = Vec::new();
        let mut states = Vec::new();
        for (kind, doc, st) in [(DocKind::Dispatch, &mut dispatch, &mut dispatch_state), (DocKind::Field, &mut field, &mut field_state)] {
            // A former assignee gets no dispatch content at all.
            if !assigned_now && kind == DocKind::Dispatch {
                continue;
            }
            if let Some(mut msg) = doc.sync().generate_sync_message(st) {
                // Without our capability flags a device never sends a whole document (which the
                // guard refuses); it sends changes, which the guard can bound.
                msg.flags = None;
                if !assigned_now {
                    // Heads and a Bloom filter only: enough for the device to send what the
                    // server lacks, nothing of what others wrote since.
                    msg.changes = ChunkList::empty();
                }
                outgoing.push(DocMessage { job, kind, message: msg.encode() });
            }
            let server_heads = doc.get_heads();
            let reported = if assigned_now {
                server_heads
            } else {
                // To a former assignee: which of its own heads the server holds (its work is
                // confirmed once all are), never the newer heads of the new assignee's work.
                device_field_heads.clone().unwrap_or_default().into_iter().filter(|h| doc.get_change_by_hash(h).is_some()).collect()
            };
            heads.push(DocHeads { job, kind, heads: reported.into_iter().map(|h| h.0).collect() });
            states.push((job, kind, st.encode()));
        }
        let write = changed.then(|| write_for(&mut dispatch, &mut field, (&before.0, &before.1)));
        JobOutcome { write, refused, outgoing, heads, states }
    }
}

/// What a device's messages for one job are checked against.
struct Check {
    job: JobId,
    actors: Vec<ActorId>,
    author: Author,
    limits: GuardLimits,
    /// `None` when the stored dispatch document is unreadable: then no field change is accepted.
    window: Option<TimeWindow>,
}

impl Check {
    fn refuse(&self, kind: DocKind, code: RefusalCode, message: impl Into<String>) -> DocRefusal {
        refusal(self.job, kind, code, message)
    }

    /// Applies one incoming message to `doc`, checking what it would change first. On refusal the
    /// document and the sync state are left exactly as they were. Returns whether the document
    /// changed and the heads the device said it has.
    fn apply_incoming(
        &self,
        doc: &mut AutoCommit,
        st: &mut SyncState,
        kind: DocKind,
        bytes: &[u8],
    ) -> Result<(bool, Vec<ChangeHash>), DocRefusal> {
        let (msg, _cost) = guard::inspect(bytes, &self.limits).map_err(|e| {
            let code = if e.is_limit() { RefusalCode::TooLarge } else { RefusalCode::MalformedMessage };
            self.refuse(kind, code, e.to_string())
        })?;
        let their_heads = msg.heads.clone();
        let mut fork = doc.fork();
        let mut st2 = st.clone();
        fork.sync()
            .receive_sync_message(&mut st2, msg)
            .map_err(|e| self.refuse(kind, RefusalCode::MalformedMessage, format!("not an Automerge sync message: {e}")))?;
        let before = doc.get_heads();
        let new = fork.get_changes(&before);
        if !new.is_empty() {
            if kind == DocKind::Dispatch {
                return Err(self.refuse(
                    kind,
                    RefusalCode::DispatchReadOnly,
                    "the dispatch document is written by dispatchers only; the change was not stored",
                ));
            }
            if let Some(c) = new.iter().find(|c| !self.actors.contains(c.actor_id())) {
                return Err(self.refuse(kind, RefusalCode::ForeignActor, format!("change {} was not made by this device", c.hash())));
            }
            self.check_field(doc, &fork)?;
            // Every phone refuses a document over the limit: one stored here would fail every
            // phone that holds or receives the job.
            let size = fork.save().len();
            if size > DOC_BYTES_MAX {
                return Err(self.refuse(
                    kind,
                    RefusalCode::TooLarge,
                    format!("the document would be {size} bytes, over the {DOC_BYTES_MAX}-byte limit"),
                ));
            }
        }
        *doc = fork;
        *st = st2;
        Ok((!new.is_empty(), their_heads))
    }

    /// The field document after the device's changes must be one the device's own edits could
    /// have made ([`shared::rules`]).
    fn check_field(&self, before: &AutoCommit, after: &AutoCommit) -> Result<(), DocRefusal> {
        let invalid = |m: String| self.refuse(DocKind::Field, RefusalCode::InvalidDocument, m);
        let old = read_field(before).map_err(|e| invalid(format!("stored document unreadable: {e}")))?;
        let new = read_field(after).map_err(|e| invalid(e.to_string()))?;
        if new.job_id != self.job {
            return Err(invalid(format!("document belongs to job {}", new.job_id)));
        }
        let window = self.window.ok_or_else(|| invalid("the job's dispatch document is unreadable".into()))?;
        check_field_change(&old, &new, &self.author, window).map_err(|v| {
            let code = if v.is_limit() {
                RefusalCode::TooLarge
            } else if v.is_clock() {
                RefusalCode::ClockSkew
            } else {
                RefusalCode::InvalidDocument
            };
            self.refuse(DocKind::Field, code, v.to_string())
        })
    }
}
