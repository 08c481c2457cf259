//! Edits: the only way documents change. Each edit is validated against the job as this replica
//! sees it, then written as one Automerge change; a refused edit writes nothing.

use automerge::AutoCommit;
use autosurgeon::reconcile;
use serde::{Deserialize, Serialize};

use crate::approval::content_hash;
use crate::docs::{DocError, commit, read_dispatch, read_field};
use crate::ids::{DeviceId, ItemId, TechnicianId};
use crate::model::{
    Appliance, Customer, CustomerPhoto, DispatchAction, DispatchDoc, DispatchEvent, FieldAction, FieldDoc, GeoPoint, LineItem, LineKind,
    Note, PartScan, Photo, Priority, Rating, Report, Signature, SignaturePurpose, Sla, StatusEvent, Window,
};
use crate::pricing::{PricingError, check_line, totals};
use crate::rules::{CHECK_IN_RADIUS_M, RuleViolation, TimeWindow, check_field_change};
use crate::signature::{Strokes, StrokesError};
use crate::status::{Action, Rejection, Status, derive};
use crate::time::Timestamp;

/// Longest free text (notes, reasons, report fields) accepted, in bytes.
pub const TEXT_BYTES_MAX: usize = 8 * 1024;
/// Items of one kind a job may hold (photos, scans, notes, signatures, events).
pub const ITEMS_MAX: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("status change refused: {0}")]
    Transition(#[from] Rejection),
    #[error("the job is {0:?}; it can no longer be changed from the field")]
    JobFinished(Status),
    #[error("this device's technician is not assigned to the job")]
    NotAssigned,
    #[error(transparent)]
    Pricing(#[from] PricingError),
    #[error(transparent)]
    Strokes(#[from] StrokesError),
    #[error("the content changed after it was shown to the customer; show it again and re-sign")]
    ContentChanged,
    #[error("nothing to sign: {0}")]
    NothingToSign(&'static str),
    #[error("save the service report (cause and method) before completing")]
    ReportMissing,
    #[error("rating must be 1 to 5, got {0}")]
    BadRating(u8),
    #[error("the customer rates after the job is completed")]
    RatingBeforeCompletion,
    #[error("{field} is too long ({len} bytes, at most {TEXT_BYTES_MAX})")]
    TextTooLong { field: &'static str, len: usize },
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("a job holds at most {ITEMS_MAX} {0}")]
    TooMany(&'static str),
    #[error("{0} is already on the quote: count it one more instead")]
    DuplicateLine(String),
    #[error("no line {0} on the quote")]
    NoSuchLine(ItemId),
    #[error("location is not a valid position")]
    BadLocation,
    #[error("appointment window must end after it starts")]
    BadWindow,
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
    #[error(transparent)]
    Rule(#[from] crate::rules::RuleViolation),
    /// Boxed: a document error is rare and large; it should not size every `Result`.
    #[error(transparent)]
    Doc(#[from] Box<DocError>),
}

impl From<DocError> for EditError {
    fn from(e: DocError) -> Self {
        EditError::Doc(Box::new(e))
    }
}

/// Who is editing from the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldActor {
    pub technician: TechnicianId,
    pub device: DeviceId,
    pub name: String,
}

/// Everything a technician's device can do to a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "edit")]
pub enum FieldEdit {
    Status {
        action: FieldAction,
        location: Option<GeoPoint>,
        reason: String,
    },
    AddNote {
        text: String,
    },
    AddPhoto {
        photo: Photo,
    },
    AddPartScan {
        scan: PartScan,
    },
    /// Adds the line, or replaces the line with the same id.
    UpsertLine {
        line: LineItem,
    },
    RemoveLine {
        id: ItemId,
    },
    SetDiscount {
        discount_minor: i64,
    },
    SetTaxRate {
        tax_rate_bp: u32,
    },
    /// `shown_hash` is the hash of the content the customer was shown when they signed.
    Sign {
        purpose: SignaturePurpose,
        signer: String,
        strokes: Strokes,
        shown_hash: String,
    },
    SetReport {
        report: Report,
    },
    Rate {
        score: u8,
        comment: String,
    },
}

impl FieldEdit {
    /// A short name for logs and commit messages.
    pub fn name(&self) -> &'static str {
        match self {
            FieldEdit::Status { .. } => "status",
            FieldEdit::AddNote { .. } => "add note",
            FieldEdit::AddPhoto { .. } => "add photo",
            FieldEdit::AddPartScan { .. } => "add part scan",
            FieldEdit::UpsertLine { .. } => "upsert line",
            FieldEdit::RemoveLine { .. } => "remove line",
            FieldEdit::SetDiscount { .. } => "set discount",
            FieldEdit::SetTaxRate { .. } => "set tax rate",
            FieldEdit::Sign { .. } => "sign",
            FieldEdit::SetReport { .. } => "set report",
            FieldEdit::Rate { .. } => "rate",
        }
    }
}

fn text(field: &'static str, s: &str) -> Result<(), EditError> {
    if s.len() > TEXT_BYTES_MAX {
        return Err(EditError::TextTooLong { field, len: s.len() });
    }
    Ok(())
}

/// Longest short field a dispatcher writes (a name, a phone number, a brand, a model, a
/// serial), in characters: what the API's description states, so a limit means the same in
/// every script.
pub const SHORT_TEXT_CHARS_MAX: usize = 50;
/// Longest free text a dispatcher writes (an address, the problem, a note, a reason), in
/// characters (at most 4 bytes each: within [`TEXT_BYTES_MAX`]).
pub const LONG_TEXT_CHARS_MAX: usize = 2048;
/// Longest warranty a manufacturer gives, in months.
pub const WARRANTY_MONTHS_MAX: u32 = 240;

/// At most `max` characters.
pub fn check_chars(field: &'static str, s: &str, max: usize) -> Result<(), EditError> {
    let n = s.chars().count();
    if n > max {
        return Err(EditError::Invalid { field, why: format!("{n} characters, at most {max}") });
    }
    Ok(())
}

fn short(field: &'static str, s: &str) -> Result<(), EditError> {
    check_chars(field, s, SHORT_TEXT_CHARS_MAX)
}

fn long(field: &'static str, s: &str) -> Result<(), EditError> {
    check_chars(field, s, LONG_TEXT_CHARS_MAX)
}

/// The one check of what a dispatcher writes into a job's fields, on create and on update
/// alike: a field is either absent (left as it is) or valid.
pub fn check_dispatch_fields(f: &DispatchFields) -> Result<(), EditError> {
    if let Some(c) = &f.customer {
        if c.name.trim().is_empty() {
            return Err(EditError::Empty("customer.name"));
        }
        short("customer.name", &c.name)?;
        short("customer.phone", &c.phone)?;
        long("customer.address", &c.address)?;
        if c.location.is_some_and(|l| !l.is_valid()) {
            return Err(EditError::BadLocation);
        }
    }
    if let Some(a) = &f.appliance {
        short("appliance.brand", &a.brand)?;
        short("appliance.model", &a.model)?;
        short("appliance.serial", &a.serial)?;
        if !a.purchase_date.is_empty() && crate::time::parse_date(&a.purchase_date).is_none() {
            return Err(EditError::Invalid { field: "appliance.purchase_date", why: "a date YYYY-MM-DD, or empty when unknown".into() });
        }
        if a.warranty_months > WARRANTY_MONTHS_MAX {
            return Err(EditError::Invalid { field: "appliance.warranty_months", why: format!("at most {WARRANTY_MONTHS_MAX}") });
        }
    }
    if let Some(p) = &f.problem {
        long("problem", p)?;
    }
    if let Some(s) = &f.sla {
        let times = [("sla.respond_by", s.respond_by), ("sla.arrive_by", s.arrive_by), ("sla.resolve_by", s.resolve_by)];
        let set: Vec<_> = times.iter().filter_map(|(n, t)| t.map(|t| (*n, t))).collect();
        if let Some(w) = set.windows(2).find(|w| w[1].1 < w[0].1) {
            return Err(EditError::Invalid { field: w[1].0, why: format!("must not come before {}", w[0].0) });
        }
    }
    Ok(())
}

fn room(name: &'static str, len: usize) -> Result<(), EditError> {
    if len >= ITEMS_MAX { Err(EditError::TooMany(name)) } else { Ok(()) }
}

/// Applies one field edit to `field_doc` as one Automerge change. On error nothing is written.
pub fn apply_field_edit(
    field_doc: &mut AutoCommit,
    dispatch: &DispatchDoc,
    actor: &FieldActor,
    now: Timestamp,
    edit: FieldEdit,
) -> Result<FieldDoc, EditError> {
    let mut field = read_field(field_doc)?;
    let before = field.clone();
    let derived = derive(dispatch, &field);
    let name = edit.name();
    match edit {
        FieldEdit::Status { action, location, reason } => {
            text("reason", &reason)?;
            if location.is_some_and(|l| !l.is_valid()) {
                return Err(EditError::BadLocation);
            }
            // A check-in away from the address (or where either position is unknown) proves
            // nothing about arrival: the technician says why. Checked here, against this phone's
            // copy of the address; the server does not re-check it, since the office may move
            // the address's pin after an honest check-in.
            if action == FieldAction::CheckIn && reason.trim().is_empty() && far_from_site(location, dispatch) {
                return Err(RuleViolation::ReasonRequired(action).into());
            }
            room("status events", field.events.len())?;
            derived.state().apply(&Action::Field { action, by: actor.technician })?;
            // A completed job without a report could never be signed off by the customer.
            if action == FieldAction::Complete && (field.report.cause.trim().is_empty() || field.report.method.trim().is_empty()) {
                return Err(EditError::ReportMissing);
            }
            // Keep the replay order equal to the order the device acted in, even if its clock
            // stepped back: an event never sorts before the last one it saw.
            let at = derived.timeline.last().map_or(now, |e| now.max(Timestamp(e.at.0.saturating_add(1))));
            field.events.push(StatusEvent { id: ItemId::new(), at, by: actor.technician, device: actor.device, action, location, reason });
        }
        other => {
            if !derived.status.is_open() && !matches!(other, FieldEdit::Rate { .. } | FieldEdit::Sign { .. }) {
                return Err(EditError::JobFinished(derived.status));
            }
            if derived.dispatch_assignee() != Some(actor.technician) {
                return Err(EditError::NotAssigned);
            }
            edit_content(&mut field, dispatch, derived.status, actor, now, other)?;
        }
    }
    // The same rules the server applies to what this device sends: an edit that would be refused
    // there is refused here, before it is written.
    check_field_change(&before, &field, &actor.into(), TimeWindow { job_created_at: dispatch.created_at, received_at: now })?;
    if let Err(e) = reconcile(field_doc, &field) {
        field_doc.rollback();
        return Err(Box::new(DocError::from(e)).into());
    }
    commit(field_doc, name, now);
    Ok(field)
}

/// Whether a check-in at `here` is away from the job's address (or cannot be placed).
pub fn far_from_site(here: Option<GeoPoint>, dispatch: &DispatchDoc) -> bool {
    match (here, dispatch.customer.location) {
        (Some(a), Some(b)) => a.distance_m(&b) > CHECK_IN_RADIUS_M,
        _ => true,
    }
}

fn edit_content(
    field: &mut FieldDoc,
    dispatch: &DispatchDoc,
    status: Status,
    actor: &FieldActor,
    now: Timestamp,
    edit: FieldEdit,
) -> Result<(), EditError> {
    match edit {
        FieldEdit::Status { .. } => unreachable!("handled by apply_field_edit"),
        FieldEdit::AddNote { text: t } => {
            text("note", &t)?;
            if t.trim().is_empty() {
                return Err(EditError::Empty("note"));
            }
            room("notes", field.notes.len())?;
            field.notes.push(Note { id: ItemId::new(), at: now, author: actor.name.clone(), text: t });
        }
        FieldEdit::AddPhoto { photo } => {
            text("caption", &photo.caption)?;
            room("photos", field.photos.len())?;
            field.photos.push(photo);
        }
        FieldEdit::AddPartScan { scan } => {
            text("code", &scan.code)?;
            if scan.code.is_empty() {
                return Err(EditError::Empty("code"));
            }
            room("part scans", field.part_scans.len())?;
            field.part_scans.push(scan);
        }
        FieldEdit::UpsertLine { line } => {
            text("description", &line.description)?;
            check_line(field.quote.lines.len(), &line)?;
            // The same price item twice is one line counted one more (the customer reads one
            // line per item); parts each keep their own line, tied to what left the van.
            let is_new = !field.quote.lines.iter().any(|l| l.id == line.id);
            if is_new && line.kind != LineKind::Part && field.quote.lines.iter().any(|l| l.kind == line.kind && l.code == line.code) {
                return Err(EditError::DuplicateLine(line.code));
            }
            match field.quote.lines.iter_mut().find(|l| l.id == line.id) {
                Some(existing) => *existing = line,
                None => field.quote.lines.push(line),
            }
            totals(&field.quote)?;
        }
        FieldEdit::RemoveLine { id } => {
            let before = field.quote.lines.len();
            field.quote.lines.retain(|l| l.id != id);
            if field.quote.lines.len() == before {
                return Err(EditError::NoSuchLine(id));
            }
            totals(&field.quote)?;
        }
        FieldEdit::SetDiscount { discount_minor } => {
            field.quote.discount_minor = discount_minor;
            totals(&field.quote)?;
        }
        FieldEdit::SetTaxRate { tax_rate_bp } => {
            field.quote.tax_rate_bp = tax_rate_bp;
            totals(&field.quote)?;
        }
        FieldEdit::Sign { purpose, signer, strokes, shown_hash } => {
            text("signer", &signer)?;
            if signer.trim().is_empty() {
                return Err(EditError::Empty("signer name"));
            }
            match purpose {
                SignaturePurpose::QuoteApproval if field.quote.lines.is_empty() => {
                    return Err(EditError::NothingToSign("the quote has no lines"));
                }
                SignaturePurpose::Completion if field.report.cause.trim().is_empty() => {
                    return Err(EditError::NothingToSign("the report has no cause"));
                }
                _ => {}
            }
            let current = content_hash(purpose, dispatch, field)?;
            if current != shown_hash {
                return Err(EditError::ContentChanged);
            }
            room("signatures", field.signatures.len())?;
            let total_minor = Some(totals(&field.quote)?.total_minor);
            field.signatures.push(Signature {
                total_minor,
                id: ItemId::new(),
                purpose,
                signer,
                strokes: strokes.encode()?.into(),
                content_hash: current,
                at: now,
                device: actor.device,
            });
        }
        FieldEdit::SetReport { report } => {
            text("cause", &report.cause)?;
            text("method", &report.method)?;
            field.report = report;
        }
        FieldEdit::Rate { score, comment } => {
            text("comment", &comment)?;
            if !(1..=5).contains(&score) {
                return Err(EditError::BadRating(score));
            }
            if !matches!(status, Status::Completed | Status::Closed) {
                return Err(EditError::RatingBeforeCompletion);
            }
            field.rating = Rating { score: Some(score), comment, at: Some(now) };
        }
    }
    Ok(())
}

/// Everything a dispatcher can do to a job's dispatch document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "edit")]
pub enum DispatchEdit {
    Assign {
        technician: TechnicianId,
    },
    Unassign,
    Reschedule {
        window: Window,
    },
    Cancel {
        reason: String,
    },
    Close,
    AddNote {
        text: String,
    },
    /// Boxed: far larger than the other edits, and rare.
    Update {
        fields: Box<DispatchFields>,
    },
    /// Only through the server's upload route, which stores the blobs first: a photo never
    /// points at bytes nobody has.
    AddCustomerPhoto {
        photo: CustomerPhoto,
    },
}

/// Dispatch fields a dispatcher may correct after creation; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DispatchFields {
    pub priority: Option<Priority>,
    pub customer: Option<Customer>,
    pub appliance: Option<Appliance>,
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub problem: Option<String>,
    pub sla: Option<Sla>,
}

impl DispatchEdit {
    pub fn name(&self) -> &'static str {
        match self {
            DispatchEdit::Assign { .. } => "assign",
            DispatchEdit::Unassign => "unassign",
            DispatchEdit::Reschedule { .. } => "reschedule",
            DispatchEdit::Cancel { .. } => "cancel",
            DispatchEdit::Close => "close",
            DispatchEdit::AddNote { .. } => "add note",
            DispatchEdit::Update { .. } => "update",
            DispatchEdit::AddCustomerPhoto { .. } => "add customer photo",
        }
    }
}

/// Applies one dispatcher edit as one Automerge change. On error nothing is written.
pub fn apply_dispatch_edit(
    dispatch_doc: &mut AutoCommit,
    field: &FieldDoc,
    by: &str,
    now: Timestamp,
    edit: DispatchEdit,
) -> Result<DispatchDoc, EditError> {
    let mut dispatch = read_dispatch(dispatch_doc)?;
    let derived = derive(&dispatch, field);
    let name = edit.name();
    let action = match edit {
        DispatchEdit::Assign { technician } => Some(DispatchAction::Assigned { technician }),
        DispatchEdit::Unassign => Some(DispatchAction::Unassigned),
        DispatchEdit::Reschedule { window } => {
            if !window.is_valid() {
                return Err(EditError::BadWindow);
            }
            dispatch.appointment = Some(window);
            Some(DispatchAction::Rescheduled { window })
        }
        DispatchEdit::Cancel { reason } => {
            text("reason", &reason)?;
            Some(DispatchAction::Cancelled { reason })
        }
        DispatchEdit::Close => Some(DispatchAction::Closed),
        DispatchEdit::AddNote { text: t } => {
            text("note", &t)?;
            if t.trim().is_empty() {
                return Err(EditError::Empty("note"));
            }
            room("notes", dispatch.notes.len())?;
            dispatch.notes.push(Note { id: ItemId::new(), at: now, author: by.to_owned(), text: t });
            None
        }
        DispatchEdit::AddCustomerPhoto { photo } => {
            text("caption", &photo.caption)?;
            room("customer photos", dispatch.customer_photos.len())?;
            dispatch.customer_photos.push(photo);
            None
        }
        DispatchEdit::Update { fields } => {
            check_dispatch_fields(&fields)?;
            if let Some(p) = fields.priority {
                dispatch.priority = p;
            }
            if let Some(c) = fields.customer {
                dispatch.customer = c;
            }
            if let Some(a) = fields.appliance {
                dispatch.appliance = a;
            }
            if let Some(p) = fields.problem {
                dispatch.problem = p;
            }
            if let Some(s) = fields.sla {
                dispatch.sla = s;
            }
            None
        }
    };
    if let Some(action) = action {
        derived.state().apply(&Action::Dispatch(action.clone()))?;
        room("dispatch events", dispatch.events.len())?;
        let at = derived.timeline.last().map_or(now, |e| now.max(Timestamp(e.at.0.saturating_add(1))));
        dispatch.events.push(DispatchEvent { id: ItemId::new(), at, by: by.to_owned(), action });
    }
    if let Err(e) = reconcile(dispatch_doc, &dispatch) {
        dispatch_doc.rollback();
        return Err(Box::new(DocError::from(e)).into());
    }
    commit(dispatch_doc, name, now);
    Ok(dispatch)
}
