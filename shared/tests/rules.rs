//! The job rules against real Automerge documents: lifecycle, conflicts, approvals, and the
//! merge/convergence properties (proptest).

use automerge::{ActorId, AutoCommit};
use proptest::prelude::*;
use shared::approval::{ApprovalCheck, check, content_hash};
use shared::docs::{NewJob, create_job, read_dispatch, read_field};
use shared::edit::{DispatchEdit, EditError, FieldActor, FieldEdit, apply_dispatch_edit, apply_field_edit};
use shared::model::*;
use shared::pricing::{PricingError, totals};
use shared::signature::Strokes;
use shared::status::{Rejection, Status, derive};
use shared::{DeviceId, ItemId, TechnicianId, Timestamp};

const T0: Timestamp = Timestamp(1_795_000_000_000);

fn new_job() -> NewJob {
    NewJob {
        channel: Channel::Phone,
        priority: Priority::Normal,
        customer: Customer {
            name: "王芳 Wang Fang".into(),
            phone: "+86 138 0000 0000".into(),
            address: "上海市徐汇区漕溪北路 88 号".into(),
            location: Some(GeoPoint { lat: 31.19, lon: 121.43 }),
        },
        appliance: Appliance {
            category: Category::Washer,
            brand: "Haier".into(),
            model: "EG100".into(),
            serial: "SN1".into(),
            purchase_date: "2025-06-01".into(),
            warranty_months: 24,
        },
        problem: "不排水 / does not drain".into(),
        sla: Sla::default(),
        appointment: None,
        currency: "CNY".into(),
    }
}

struct Job {
    dispatch: AutoCommit,
    field: AutoCommit,
}

impl Job {
    fn new() -> Self {
        let docs = create_job(new_job(), "dispatcher", T0, ActorId::random()).unwrap();
        Job { dispatch: docs.dispatch, field: docs.field }
    }
    fn d(&self) -> DispatchDoc {
        read_dispatch(&self.dispatch).unwrap()
    }
    fn f(&self) -> FieldDoc {
        read_field(&self.field).unwrap()
    }
    fn dispatch(&mut self, t: i64, e: DispatchEdit) -> Result<DispatchDoc, EditError> {
        let f = self.f();
        apply_dispatch_edit(&mut self.dispatch, &f, "dispatcher", Timestamp(T0.0 + t), e)
    }
    fn field(&mut self, who: &FieldActor, t: i64, e: FieldEdit) -> Result<FieldDoc, EditError> {
        let d = self.d();
        apply_field_edit(&mut self.field, &d, who, Timestamp(T0.0 + t), e)
    }
    fn status(&self) -> Status {
        derive(&self.d(), &self.f()).status
    }
}

fn tech() -> FieldActor {
    FieldActor { technician: TechnicianId::new(), device: DeviceId::new(), name: "李师傅".into() }
}

fn report() -> FieldEdit {
    FieldEdit::SetReport { report: Report { cause: "温控器触点粘连".into(), method: "更换温控器".into(), warranty_days: 90 } }
}

fn st(action: FieldAction) -> FieldEdit {
    // With no position, a check-in says why (the rule this suite checks elsewhere).
    let reason = if action == FieldAction::CheckIn { "定位失败 no GPS fix".into() } else { String::new() };
    FieldEdit::Status { action, location: None, reason }
}

fn line(price: i64) -> LineItem {
    LineItem {
        id: ItemId::new(),
        kind: LineKind::Part,
        code: "WM-PUMP-01".into(),
        description: "排水泵 drain pump".into(),
        quantity: 1,
        unit_price_minor: price,
    }
}

#[test]
fn full_lifecycle_derives_each_status() {
    let mut job = Job::new();
    let li = tech();
    assert_eq!(job.status(), Status::New);
    job.dispatch(10, DispatchEdit::Assign { technician: li.technician }).unwrap();
    assert_eq!(job.status(), Status::Assigned);
    for (t, a, s) in [
        (20, FieldAction::Accept, Status::Accepted),
        (30, FieldAction::EnRoute, Status::EnRoute),
        (40, FieldAction::CheckIn, Status::OnSite),
        (50, FieldAction::Start, Status::InProgress),
        (60, FieldAction::Hold, Status::OnHold),
        (70, FieldAction::Resume, Status::InProgress),
        (80, FieldAction::Complete, Status::Completed),
    ] {
        if a == FieldAction::Complete {
            job.field(&li, t, report()).unwrap();
        }
        job.field(&li, t, st(a)).unwrap();
        assert_eq!(job.status(), s, "after {a:?}");
    }
    job.dispatch(90, DispatchEdit::Close).unwrap();
    assert_eq!(job.status(), Status::Closed);
    let derived = derive(&job.d(), &job.f());
    assert_eq!(derived.timeline.len(), 10);
    assert!(derived.conflicts.is_empty());
    assert_eq!(derived.first_reached(Status::OnSite), Some(Timestamp(T0.0 + 40)));
}

#[test]
fn bad_transition_is_refused_and_writes_nothing() {
    let mut job = Job::new();
    let li = tech();
    job.dispatch(10, DispatchEdit::Assign { technician: li.technician }).unwrap();
    let heads = job.field.get_heads();
    let err = job.field(&li, 20, st(FieldAction::Complete)).unwrap_err();
    assert!(matches!(err, EditError::Transition(Rejection::NotAllowed { from: Status::Assigned, .. })), "{err}");
    assert_eq!(job.field.get_heads(), heads);
    // Someone else's device cannot move the job.
    let other = tech();
    let err = job.field(&other, 20, st(FieldAction::Accept)).unwrap_err();
    assert!(matches!(err, EditError::Transition(Rejection::NotAssignee { .. })));
    assert_eq!(job.field.get_heads(), heads);
    // Dispatch cannot close an open job.
    assert!(job.dispatch(30, DispatchEdit::Close).is_err());
}

#[test]
fn cancel_while_completed_offline_is_a_flagged_conflict_not_a_loss() {
    let mut job = Job::new();
    let li = tech();
    job.dispatch(10, DispatchEdit::Assign { technician: li.technician }).unwrap();
    for (t, a) in [(20, FieldAction::Accept), (30, FieldAction::CheckIn), (40, FieldAction::Start)] {
        job.field(&li, t, st(a)).unwrap();
    }
    // The technician's phone goes offline and completes; the dispatcher cancels meanwhile.
    let mut phone = job.field.fork().with_actor(ActorId::random());
    let d = job.d();
    apply_field_edit(&mut phone, &d, &li, Timestamp(T0.0 + 55), report()).unwrap();
    apply_field_edit(&mut phone, &d, &li, Timestamp(T0.0 + 60), st(FieldAction::Complete)).unwrap();
    job.dispatch(50, DispatchEdit::Cancel { reason: "customer called to cancel".into() }).unwrap();
    job.field.merge(&mut phone).unwrap();

    let derived = derive(&job.d(), &job.f());
    assert_eq!(derived.status, Status::Cancelled);
    assert_eq!(derived.timeline.len(), 7, "both the cancel and the completion are kept");
    assert_eq!(derived.conflicts.len(), 1);
    assert!(matches!(derived.conflicts[0].rejection, Rejection::WorkAfterCancel { .. }));
}

#[test]
fn changing_an_approved_quote_voids_the_signature() {
    let mut job = Job::new();
    let li = tech();
    job.dispatch(10, DispatchEdit::Assign { technician: li.technician }).unwrap();
    let pump = line(180_00);
    job.field(&li, 20, FieldEdit::UpsertLine { line: pump.clone() }).unwrap();
    let (d, f) = (job.d(), job.f());
    assert_eq!(check(SignaturePurpose::QuoteApproval, &d, &f), ApprovalCheck::Unsigned);
    let shown = content_hash(SignaturePurpose::QuoteApproval, &d, &f).unwrap();
    let strokes = Strokes(vec![vec![(0, 0), (40, 12), (80, 3)]]);

    // Signing something other than what is current is refused.
    let err = job
        .field(
            &li,
            25,
            FieldEdit::Sign {
                purpose: SignaturePurpose::QuoteApproval,
                signer: "王芳".into(),
                strokes: strokes.clone(),
                shown_hash: "stale".into(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, EditError::ContentChanged));

    job.field(&li, 30, FieldEdit::Sign { purpose: SignaturePurpose::QuoteApproval, signer: "王芳".into(), strokes, shown_hash: shown })
        .unwrap();
    assert!(check(SignaturePurpose::QuoteApproval, &job.d(), &job.f()).is_valid());

    job.field(&li, 40, FieldEdit::UpsertLine { line: LineItem { unit_price_minor: 210_00, ..pump } }).unwrap();
    assert!(matches!(check(SignaturePurpose::QuoteApproval, &job.d(), &job.f()), ApprovalCheck::Voided { .. }));
}

#[test]
fn rating_needs_completion_and_range() {
    let mut job = Job::new();
    let li = tech();
    job.dispatch(10, DispatchEdit::Assign { technician: li.technician }).unwrap();
    assert!(matches!(job.field(&li, 20, FieldEdit::Rate { score: 5, comment: String::new() }), Err(EditError::RatingBeforeCompletion)));
    for (t, a) in [(20, FieldAction::Accept), (30, FieldAction::CheckIn), (40, FieldAction::Start)] {
        job.field(&li, t, st(a)).unwrap();
    }
    // Completing needs the report the customer will sign, and a refusal writes nothing.
    let heads = job.field.get_heads();
    assert!(matches!(job.field(&li, 50, st(FieldAction::Complete)), Err(EditError::ReportMissing)));
    assert_eq!(job.field.get_heads(), heads);
    job.field(&li, 50, report()).unwrap();
    job.field(&li, 50, st(FieldAction::Complete)).unwrap();
    assert!(matches!(job.field(&li, 60, FieldEdit::Rate { score: 6, comment: String::new() }), Err(EditError::BadRating(6))));
    job.field(&li, 60, FieldEdit::Rate { score: 4, comment: "准时".into() }).unwrap();
    assert_eq!(job.f().rating.score, Some(4));
}

// ---- properties ----

/// Field edits a strategy can generate without knowing the document.
#[derive(Clone, Debug)]
enum Op {
    Note(String),
    Scan(String),
    Line(i64),
    RemoveFirstLine,
    Report(String),
    Status(FieldAction),
    /// Replica `i` pulls everything replica `j` has.
    Merge(usize, usize),
}

fn op() -> impl Strategy<Value = (usize, Op)> {
    let o = prop_oneof![
        "[a-z]{1,8}".prop_map(Op::Note),
        "[0-9]{4,8}".prop_map(Op::Scan),
        (1i64..100_000).prop_map(Op::Line),
        Just(Op::RemoveFirstLine),
        "[a-z]{1,8}".prop_map(Op::Report),
        proptest::sample::select(FieldAction::ALL.to_vec()).prop_map(Op::Status),
        (0usize..3, 0usize..3).prop_map(|(a, b)| Op::Merge(a, b)),
    ];
    (0usize..3, o)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any interleaving of edits on three forks (one device each, with merges in between) merges
    /// to the same document on every replica, and no note or scan that was written is lost.
    #[test]
    fn forks_converge_and_lose_nothing(ops in proptest::collection::vec(op(), 1..40)) {
        let mut job = Job::new();
        let li = tech();
        job.dispatch(1, DispatchEdit::Assign { technician: li.technician }).unwrap();
        let d = job.d();
        let mut replicas: Vec<AutoCommit> = (0..3).map(|_| job.field.fork().with_actor(ActorId::random())).collect();
        let (mut notes, mut scans) = (Vec::new(), Vec::new());
        for (t, (r, op)) in ops.into_iter().enumerate() {
            let now = Timestamp(T0.0 + 10 + t as i64);
            let edit = match op {
                Op::Merge(i, j) => {
                    if i != j {
                        let mut other = replicas[j].clone();
                        replicas[i].merge(&mut other).unwrap();
                    }
                    continue;
                }
                Op::Note(s) => { notes.push(s.clone()); FieldEdit::AddNote { text: s } }
                Op::Scan(code) => {
                    scans.push(code.clone());
                    FieldEdit::AddPartScan { scan: PartScan { id: ItemId::new(), at: now, code, symbology: "ean_13".into(), part_no: None, quantity: 1, compatible: true, in_van_stock: true } }
                }
                Op::Line(p) => FieldEdit::UpsertLine { line: line(p) },
                Op::RemoveFirstLine => match read_field(&replicas[r]).unwrap().quote.lines.first() {
                    Some(l) => FieldEdit::RemoveLine { id: l.id },
                    None => continue,
                },
                Op::Report(s) => FieldEdit::SetReport { report: Report { cause: s, method: "m".into(), warranty_days: 90 } },
                Op::Status(a) => st(a),
            };
            let before = replicas[r].get_heads();
            match apply_field_edit(&mut replicas[r], &d, &li, now, edit) {
                Ok(_) => {}
                // A refused status change or edit writes nothing.
                Err(_) => prop_assert_eq!(replicas[r].get_heads(), before),
            }
        }
        // Everyone exchanges everything.
        for i in 0..3 {
            for j in 0..3 {
                if i != j {
                    let mut other = replicas[j].clone();
                    replicas[i].merge(&mut other).unwrap();
                }
            }
        }
        let first = read_field(&replicas[0]).unwrap();
        for r in &mut replicas[1..] {
            prop_assert_eq!(&read_field(r).unwrap(), &first);
        }
        let mut got_notes: Vec<_> = first.notes.iter().map(|n| n.text.clone()).collect();
        let mut got_scans: Vec<_> = first.part_scans.iter().map(|s| s.code.clone()).collect();
        got_notes.sort(); notes.sort(); got_scans.sort(); scans.sort();
        prop_assert_eq!(got_notes, notes);
        prop_assert_eq!(got_scans, scans);
        // Totals of whatever lines survived still compute.
        prop_assert!(totals(&first.quote).is_ok());
    }

    /// Derivation is a pure function of the events: any order of the same events gives the same
    /// result, and every event appears in the timeline exactly once.
    #[test]
    fn derivation_is_deterministic_and_keeps_every_event(
        raw in proptest::collection::vec((0i64..50, 0usize..FieldAction::ALL.len(), 0usize..2, proptest::bool::ANY), 0..30),
        dispatch_raw in proptest::collection::vec((0i64..50, 0usize..4), 0..8),
        seed in any::<u64>(),
    ) {
        let job = Job::new();
        let mut d = job.d();
        let mut f = job.f();
        let techs = [TechnicianId::new(), TechnicianId::new()];
        for (t, k) in dispatch_raw {
            let action = match k {
                0 => DispatchAction::Assigned { technician: techs[0] },
                1 => DispatchAction::Assigned { technician: techs[1] },
                2 => DispatchAction::Cancelled { reason: "x".into() },
                _ => DispatchAction::Unassigned,
            };
            d.events.push(DispatchEvent { id: ItemId::new(), at: Timestamp(T0.0 + t), by: "d".into(), action });
        }
        for (t, a, who, _) in raw {
            f.events.push(StatusEvent { id: ItemId::new(), at: Timestamp(T0.0 + t), by: techs[who], device: DeviceId::new(), action: FieldAction::ALL[a], location: None, reason: String::new() });
        }
        let expected = derive(&d, &f);
        prop_assert_eq!(expected.timeline.len(), d.events.len() + f.events.len());
        let mut ids: Vec<_> = expected.timeline.iter().map(|e| e.id).collect();
        ids.sort();
        ids.dedup();
        prop_assert_eq!(ids.len(), expected.timeline.len());
        prop_assert_eq!(expected.conflicts.len(), expected.timeline.iter().filter(|e| e.conflict.is_some()).count());

        // Shuffle both event lists (as different replicas might hold them) and derive again.
        let mut rng = seed;
        let mut shuffle = |n: usize| { rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (rng >> 33) as usize % n.max(1) };
        for i in (1..d.events.len()).rev() { let j = shuffle(i + 1); d.events.swap(i, j); }
        for i in (1..f.events.len()).rev() { let j = shuffle(i + 1); f.events.swap(i, j); }
        prop_assert_eq!(derive(&d, &f), expected);
    }

    /// Totals are exact or an error; never a wrapped number.
    #[test]
    fn money_never_overflows_silently(
        lines in proptest::collection::vec((1u32..=10_000, 0i64..=i64::MAX), 1..6),
        tax in 0u32..=10_000,
    ) {
        let quote = Quote {
            currency: "CNY".into(),
            lines: lines.iter().map(|&(q, p)| LineItem { quantity: q, unit_price_minor: p, ..line(0) }).collect(),
            discount_minor: 0,
            tax_rate_bp: tax,
        };
        let exact: i128 = lines.iter().map(|&(q, p)| i128::from(q) * i128::from(p)).sum();
        let exact_total = exact + (exact * i128::from(tax) + 5_000) / 10_000;
        match totals(&quote) {
            Ok(t) => {
                prop_assert_eq!(i128::from(t.subtotal_minor), exact);
                prop_assert_eq!(i128::from(t.total_minor), exact_total);
            }
            Err(PricingError::Money(_)) => prop_assert!(exact_total > i128::from(i64::MAX)),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}
