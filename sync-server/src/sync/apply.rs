//! The Automerge work of one job in one round, run on the CPU pool: checking and applying the
//! device's messages, then generating the answers. Pure computation over loaded documents; the
//! round (`super::round`) loads and stores around it.

use automerge::sync::{ChunkList, State as SyncState, SyncDoc};
use automerge::{ActorId, AutoCommit, ChangeHash, ReadDoc};
use shared::docs::{DocKind, read_dispatch, read_field};
use shared::rules::{Author, TimeWindow, check_field_change};
use shared::wire::guard::{self, GuardLimits};
use shared::wire::{DocHeads, DocMessage, DocRefusal, RefusalCode};
use shared::{JobId, Timestamp};

use crate::error::AppResult;
use crate::jobs::write_for;
use crate::store::{EventReceipt, JobWrite, TrustedTimes};

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
    /// When the server last heard from this device before this round: an event dated earlier
    /// than that was not sent when it could have been.
    pub previously_seen: Option<Timestamp>,
    /// Times the server stands behind for this job's events found backdated before.
    pub trusted: TrustedTimes,
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
    /// Operations of the device's changes that reached Automerge (for the request's budget).
    pub ops: u64,
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
            previously_seen,
            mut trusted,
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
            received_at,
            previously_seen,
            former: !assigned_now,
            spent: Default::default(),
        };
        let mut receipts = Vec::new();
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
                Ok((c, their_heads, mut new_receipts)) => {
                    changed |= c;
                    receipts.append(&mut new_receipts);
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
        trusted.extend(receipts.iter().filter(|r| r.backdated).map(|r| (r.event, r.received_at)));
        let write = changed.then(|| write_for(&mut dispatch, &mut field, (&before.0, &before.1), &trusted, receipts));
        JobOutcome { write, refused, outgoing, heads, states, ops: check.spent.get() }
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
    received_at: Timestamp,
    previously_seen: Option<Timestamp>,
    /// The job is no longer assigned to this device's technician.
    former: bool,
    /// Operations of messages that passed the guard.
    spent: std::cell::Cell<u64>,
}

impl Check {
    fn refuse(&self, kind: DocKind, code: RefusalCode, message: impl Into<String>) -> DocRefusal {
        refusal(self.job, kind, code, message)
    }

    /// Applies one incoming message to `doc`, checking what it would change first. On refusal the
    /// document and the sync state are left exactly as they were. Returns whether the document
    /// changed, the heads the device said it has, and the receipts of the events it delivered.
    fn apply_incoming(
        &self,
        doc: &mut AutoCommit,
        st: &mut SyncState,
        kind: DocKind,
        bytes: &[u8],
    ) -> Result<(bool, Vec<ChangeHash>, Vec<EventReceipt>), DocRefusal> {
        let (msg, cost) = guard::inspect(bytes, &self.limits).map_err(|e| {
            let code = if e.is_limit() { RefusalCode::TooLarge } else { RefusalCode::MalformedMessage };
            self.refuse(kind, code, e.to_string())
        })?;
        self.check_cost(doc, kind, &cost)?;
        self.spent.set(self.spent.get() + cost.ops);
        let their_heads = msg.heads.clone();
        let mut fork = doc.fork();
        let mut st2 = st.clone();
        fork.sync()
            .receive_sync_message(&mut st2, msg)
            .map_err(|e| self.refuse(kind, RefusalCode::MalformedMessage, format!("not an Automerge sync message: {e}")))?;
        let before = doc.get_heads();
        let new = fork.get_changes(&before);
        let mut receipts = Vec::new();
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
            receipts = self.check_field(doc, &fork)?;
            let (ops, max) = (fork.stats().num_ops, self.limits.document_ops_max);
            if ops > max {
                return Err(self.refuse(
                    kind,
                    RefusalCode::TooLarge,
                    format!("the document would hold {ops} operations, over the {max} limit"),
                ));
            }
            // Every phone refuses a document over the limit: one stored here would fail every
            // phone that holds or receives the job.
            let (size, max) = (fork.save().len(), self.limits.document_bytes_max);
            if size > max {
                return Err(self.refuse(
                    kind,
                    RefusalCode::TooLarge,
                    format!("the document would be {size} bytes, over the {max}-byte limit"),
                ));
            }
        }
        *doc = fork;
        *st = st2;
        Ok((!new.is_empty(), their_heads, receipts))
    }

    /// What can be refused before Automerge applies anything: changes to the dispatch document,
    /// changes by anyone but this device (and the devices it took over), and operation counters
    /// pushed past what the changes themselves account for (a counter jumped towards its 32-bit
    /// limit would make every later edit of the job fail).
    fn check_cost(&self, doc: &mut AutoCommit, kind: DocKind, cost: &guard::MessageCost) -> Result<(), DocRefusal> {
        if cost.changes == 0 {
            return Ok(());
        }
        if kind == DocKind::Dispatch {
            return Err(self.refuse(
                kind,
                RefusalCode::DispatchReadOnly,
                "the dispatch document is written by dispatchers only; nothing was stored",
            ));
        }
        if let Some(a) = cost.actors.iter().find(|a| !self.actors.contains(a)) {
            return Err(self.refuse(kind, RefusalCode::ForeignActor, format!("changes by {a} were not made by this device")));
        }
        // Counters may skip (a transaction rolled back on the phone used its numbers), so allow
        // a gap, but not a jump.
        const COUNTER_GAP_MAX: u64 = 100_000;
        let heads = doc.get_heads();
        let max_before = heads.iter().filter_map(|h| doc.get_change_by_hash(h).map(|c| c.max_op())).max().unwrap_or(0);
        let allowed = max_before.saturating_add(cost.ops).saturating_add(COUNTER_GAP_MAX);
        if cost.max_op > allowed {
            return Err(self.refuse(
                kind,
                RefusalCode::InvalidDocument,
                format!("a change claims operation counter {} where at most {allowed} can follow", cost.max_op),
            ));
        }
        Ok(())
    }

    /// The field document after the device's changes must be one the device's own edits could
    /// have made ([`shared::rules`]). Returns the receipts of its new status events.
    fn check_field(&self, before: &AutoCommit, after: &AutoCommit) -> Result<Vec<EventReceipt>, DocRefusal> {
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
        })?;
        // A former assignee delivers its own notes, photos, scans and events; the quote, the
        // report and the rating are the new assignee's now.
        if self.former && (new.quote != old.quote || new.report != old.report || new.rating != old.rating) {
            return Err(invalid("a former assignee may deliver only its own notes, photos, scans and events".into()));
        }
        // Allowance for an event made while the previous round was in flight.
        const IN_FLIGHT_MS: i64 = 5 * Timestamp::MINUTE;
        let known: std::collections::HashSet<_> = old.events.iter().map(|e| e.id).collect();
        Ok(new
            .events
            .iter()
            .filter(|e| !known.contains(&e.id))
            .map(|e| EventReceipt {
                event: e.id,
                device: e.device,
                claimed_at: e.at,
                received_at: self.received_at,
                backdated: self.previously_seen.is_some_and(|seen| e.at.0 < seen.0.saturating_sub(IN_FLIGHT_MS)),
            })
            .collect())
    }
}

/// A fuzz test of what a device can send: arbitrary bytes, and real sync messages damaged or
/// rebuilt with hostile values. A bounded, seeded run is part of the test suite; for a long run:
/// `ONSITE_FUZZ_CASES=200000 cargo test --release -p sync-server --lib fuzz`.
#[cfg(test)]
mod fuzz {
    use automerge::sync::{BloomFilter, ChunkList, Have, Message, MessageVersion};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    use shared::docs::{NewJob, create_job, device_actor};
    use shared::edit::{DispatchEdit, FieldActor, FieldEdit, apply_dispatch_edit, apply_field_edit};
    use shared::model::{FieldAction, Note};
    use shared::{DeviceId, ItemId, TechnicianId};

    use super::*;

    struct Fixture {
        dispatch: AutoCommit,
        field: AutoCommit,
        actor: FieldActor,
        /// An honest message from the device: its changes since the server's copy.
        honest: Vec<u8>,
    }

    fn fixture() -> Fixture {
        let now = Timestamp::now();
        let new: NewJob = serde_json::from_value(serde_json::json!({
            "channel": "phone", "priority": "normal",
            "customer": { "name": "客户", "phone": "1", "address": "上海", "location": { "lat": 31.2, "lon": 121.4 } },
            "appliance": { "category": "washer", "brand": "Haier", "model": "EG100", "serial": "S", "purchase_date": "2025-03-01", "warranty_months": 24 },
            "problem": "不排水", "sla": {}, "appointment": null, "currency": "CNY"
        }))
        .unwrap();
        let mut docs = create_job(new, "调度", now, ActorId::random()).unwrap();
        let actor = FieldActor { technician: TechnicianId::new(), device: DeviceId::new(), name: "李明".into() };
        let field = read_field(&docs.field).unwrap();
        apply_dispatch_edit(&mut docs.dispatch, &field, "调度", now, DispatchEdit::Assign { technician: actor.technician }).unwrap();
        let dispatch = read_dispatch(&docs.dispatch).unwrap();
        let mut phone = docs.field.fork().with_actor(device_actor(actor.device));
        let base = phone.get_heads();
        let accept = FieldEdit::Status { action: FieldAction::Accept, location: None, reason: String::new() };
        apply_field_edit(&mut phone, &dispatch, &actor, now, accept).unwrap();
        apply_field_edit(&mut phone, &dispatch, &actor, now, FieldEdit::AddNote { text: "门口有狗".into() }).unwrap();
        let changes: Vec<Vec<u8>> = phone.get_changes(&base).iter().map(|c| c.raw_bytes().to_vec()).collect();
        let honest = Message {
            heads: phone.get_heads(),
            need: vec![],
            have: vec![],
            changes: ChunkList::from(changes),
            flags: None,
            version: MessageVersion::V1,
        }
        .encode();
        Fixture { dispatch: docs.dispatch, field: docs.field, actor, honest }
    }

    /// Runs one device message through the whole of a job's round, as the server would.
    fn run(fx: &Fixture, message: Vec<u8>) -> JobOutcome {
        run_with(fx, message, GuardLimits::default(), true)
    }

    fn run_with(fx: &Fixture, message: Vec<u8>, limits: GuardLimits, assigned_now: bool) -> JobOutcome {
        let job = read_field(&fx.field).unwrap().job_id;
        JobWork {
            job,
            dispatch: fx.dispatch.clone(),
            field: fx.field.clone(),
            dispatch_state: SyncState::new(),
            field_state: SyncState::new(),
            incoming: vec![DocMessage { job, kind: DocKind::Field, message }],
            actors: vec![device_actor(fx.actor.device)],
            author: (&fx.actor).into(),
            received_at: Timestamp::now(),
            previously_seen: None,
            trusted: Default::default(),
            assigned_now,
            limits,
        }
        .run()
    }

    fn uleb(v: u64) -> Vec<u8> {
        let mut b = Vec::new();
        leb128::write::unsigned(&mut b, v).unwrap();
        b
    }

    /// Values that break parsers: zero, one, the edges of every integer width.
    fn edge() -> impl Strategy<Value = u64> {
        prop_oneof![Just(0), Just(1), Just(u32::MAX as u64), Just(u64::MAX), Just(1 << 40), any::<u64>(), 0..64u64]
    }

    #[derive(Debug, Clone)]
    enum Damage {
        Flip(usize, u8),
        Cut(usize),
        Insert(usize, u64),
        Bloom(u64, u64, u64, Vec<u8>),
        Chunk(u8, Vec<u8>),
        Bytes(Vec<u8>),
    }

    fn damage() -> impl Strategy<Value = Damage> {
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Damage::Flip(i, b)),
            any::<usize>().prop_map(Damage::Cut),
            (any::<usize>(), edge()).prop_map(|(i, v)| Damage::Insert(i, v)),
            (edge(), edge(), edge(), proptest::collection::vec(any::<u8>(), 0..16)).prop_map(|(a, b, c, d)| Damage::Bloom(a, b, c, d)),
            (0..5u8, proptest::collection::vec(any::<u8>(), 0..256)).prop_map(|(k, b)| Damage::Chunk(k, b)),
            proptest::collection::vec(any::<u8>(), 0..512).prop_map(Damage::Bytes),
        ]
    }

    fn apply_damage(honest: &[u8], d: &Damage) -> Vec<u8> {
        let mut m = honest.to_vec();
        match d {
            Damage::Flip(i, b) => {
                let i = i % m.len();
                m[i] ^= b | 1;
            }
            Damage::Cut(i) => m.truncate(i % m.len()),
            Damage::Insert(i, v) => {
                let i = i % m.len();
                m.splice(i..i, uleb(*v));
            }
            Damage::Bloom(entries, bits, probes, rest) => {
                let mut bloom = [uleb(*entries), uleb(*bits), uleb(*probes)].concat();
                bloom.extend(rest);
                let Ok(bloom) = BloomFilter::try_from(bloom.as_slice()) else { return m };
                let mut msg = Message::decode(honest).unwrap();
                msg.have = vec![Have { last_sync: vec![], bloom }];
                m = msg.encode();
            }
            Damage::Chunk(kind, body) => {
                let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, *kind];
                chunk.extend(uleb(body.len() as u64));
                chunk.extend(body);
                let mut msg = Message::decode(honest).unwrap();
                msg.changes = ChunkList::from(vec![chunk]);
                m = msg.encode();
            }
            Damage::Bytes(b) => m = b.clone(),
        }
        m
    }

    fn cases() -> u32 {
        std::env::var("ONSITE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400)
    }

    #[test]
    fn nothing_a_device_sends_panics_stalls_or_stores_what_breaks_the_rules() {
        let fx = fixture();
        // The honest message goes through: the fuzzing below starts from something real.
        let out = run(&fx, fx.honest.clone());
        assert!(out.refused.is_empty() && out.write.is_some(), "{:?}", out.refused);

        let config = Config { cases: cases(), failure_persistence: None, ..Config::default() };
        let seed: [u8; 32] = *b"onsite fuzz: hostile sync input!";
        let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        runner
            .run(&damage(), |d| {
                let message = apply_damage(&fx.honest, &d);
                let started = std::time::Instant::now();
                let out = run(&fx, message);
                prop_assert!(started.elapsed().as_secs() < 2, "{d:?} took {:?}", started.elapsed());
                if let Some(write) = out.write {
                    // Whatever was accepted must still be a document that meets the rules.
                    prop_assert!(write.is_ok(), "{d:?}");
                    prop_assert!(out.refused.is_empty());
                }
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn a_change_that_would_grow_the_document_past_the_phones_limit_is_refused() {
        let fx = fixture();
        let size = fx.field.clone().save().len();
        // The honest two-edit message fits a limit just above the document it makes...
        let roomy = GuardLimits { document_bytes_max: size + 4096, ..GuardLimits::default() };
        assert!(run_with(&fx, fx.honest.clone(), roomy, true).refused.is_empty());
        // ...and is refused, storing nothing, when the document would pass the limit.
        let tight = GuardLimits { document_bytes_max: size, ..GuardLimits::default() };
        let out = run_with(&fx, fx.honest.clone(), tight, true);
        assert!(out.write.is_none());
        assert_eq!(out.refused.iter().map(|r| r.code).collect::<Vec<_>>(), vec![RefusalCode::TooLarge]);
    }

    fn check_for(fx: &Fixture, former: bool) -> Check {
        Check {
            job: read_field(&fx.field).unwrap().job_id,
            actors: vec![device_actor(fx.actor.device)],
            author: (&fx.actor).into(),
            limits: GuardLimits::default(),
            window: None,
            received_at: Timestamp::now(),
            previously_seen: None,
            former,
            spent: Default::default(),
        }
    }

    #[test]
    fn counters_pushed_ahead_foreign_actors_and_dispatch_changes_are_refused_before_automerge_runs() {
        let mut fx = fixture();
        let check = check_for(&fx, false);
        let cost = |max_op: u64, actor: ActorId| guard::MessageCost { changes: 1, ops: 3, inflated_bytes: 10, actors: vec![actor], max_op };
        let mine = device_actor(fx.actor.device);
        let max_before = fx.field.get_heads().iter().filter_map(|h| fx.field.get_change_by_hash(h).map(|c| c.max_op())).max().unwrap();
        assert!(check.check_cost(&mut fx.field, DocKind::Field, &cost(max_before + 3, mine.clone())).is_ok());
        let jumped = check.check_cost(&mut fx.field, DocKind::Field, &cost(u32::MAX as u64, mine.clone())).unwrap_err();
        assert_eq!(jumped.code, RefusalCode::InvalidDocument);
        let foreign = check.check_cost(&mut fx.field, DocKind::Field, &cost(max_before + 1, ActorId::random())).unwrap_err();
        assert_eq!(foreign.code, RefusalCode::ForeignActor);
        let dispatch = check.check_cost(&mut fx.dispatch, DocKind::Dispatch, &cost(1, mine)).unwrap_err();
        assert_eq!(dispatch.code, RefusalCode::DispatchReadOnly);
    }

    #[test]
    fn a_former_assignee_delivers_its_own_items_but_not_the_quote() {
        let mut fx = fixture();
        let former = |fx: &Fixture, message: Vec<u8>| run_with(fx, message, GuardLimits::default(), false);
        // The accept and the note it made are delivered.
        assert!(former(&fx, fx.honest.clone()).refused.is_empty());
        // A quote line is not.
        let mut phone = fx.field.fork().with_actor(device_actor(fx.actor.device));
        let base = phone.get_heads();
        let mut f = read_field(&phone).unwrap();
        f.quote.lines.push(shared::model::LineItem {
            id: ItemId::new(),
            kind: shared::model::LineKind::Labor,
            code: "L1".into(),
            description: "labour".into(),
            quantity: 1,
            unit_price_minor: 100_00,
        });
        autosurgeon::reconcile(&mut phone, &f).unwrap();
        phone.commit();
        let changes: Vec<Vec<u8>> = phone.get_changes(&base).iter().map(|c| c.raw_bytes().to_vec()).collect();
        let msg = Message {
            heads: phone.get_heads(),
            need: vec![],
            have: vec![],
            changes: ChunkList::from(changes),
            flags: None,
            version: MessageVersion::V1,
        };
        let out = former(&fx, msg.encode());
        assert_eq!(out.refused.iter().map(|r| r.code).collect::<Vec<_>>(), vec![RefusalCode::InvalidDocument]);
    }

    #[test]
    fn forged_items_never_pass() {
        let mut fx = fixture();
        let dispatch = read_dispatch(&fx.dispatch).unwrap();
        let mut phone = fx.field.fork().with_actor(device_actor(fx.actor.device));
        let base = phone.get_heads();
        let mut f = read_field(&phone).unwrap();
        f.notes.push(Note { id: ItemId::new(), at: dispatch.created_at, author: "调度".into(), text: "forged".into() });
        autosurgeon::reconcile(&mut phone, &f).unwrap();
        phone.commit();
        let changes: Vec<Vec<u8>> = phone.get_changes(&base).iter().map(|c| c.raw_bytes().to_vec()).collect();
        let msg = Message {
            heads: phone.get_heads(),
            need: vec![],
            have: vec![],
            changes: ChunkList::from(changes),
            flags: None,
            version: MessageVersion::V1,
        };
        let out = run(&fx, msg.encode());
        assert!(out.write.is_none());
        assert_eq!(out.refused[0].code, RefusalCode::InvalidDocument);
    }
}
