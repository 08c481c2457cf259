//! The rules every new state of a field document must meet, whoever produced it: the phone checks
//! its own edits with them before writing, and the server checks a device's merged changes with
//! them before storing. One rule set, so a modified phone cannot do what the app would not.
//!
//! The rules are about the *shape* of a change: lists only grow (except the quote's lines), new
//! items carry the authenticated technician and device, texts and lists stay within their limits,
//! times stay near when the change was made. Rules that depend on the job's status (no quote
//! changes after completion, say) are not here: a phone acts on the status it saw, and two
//! replicas' concurrent work is merged and flagged by [`crate::status`], never refused.

use std::collections::HashMap;

use crate::edit::{FieldActor, ITEMS_MAX, TEXT_BYTES_MAX};
use crate::ids::{DeviceId, ItemId, TechnicianId};
use crate::model::{FIELD_SCHEMA, FieldAction, FieldDoc};
use crate::pricing::{check_line, totals};
use crate::signature::Strokes;
use crate::time::Timestamp;

/// How far ahead of the time a change is received its items may be dated (phones' clocks drift;
/// a date much later than that is a wrong or forged clock, and would pin "the latest" forever).
pub const CLOCK_AHEAD_MAX_MS: i64 = Timestamp::DAY;
/// How far from the job's address a check-in may be before the technician must say why.
pub const CHECK_IN_RADIUS_M: f64 = 300.0;
/// How far before the job existed an item may be dated (the phone's clock may lag the server's).
pub const CLOCK_BEFORE_JOB_MAX_MS: i64 = Timestamp::DAY;

/// Which rule a new state breaks. Nothing of a state that breaks one is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    #[error("the document's identity changed ({0})")]
    Identity(&'static str),
    #[error("{list} item {id} was removed; that list only grows")]
    Removed { list: &'static str, id: ItemId },
    #[error("{list} item {id} was changed after it was written")]
    Altered { list: &'static str, id: ItemId },
    #[error("new {list} item {id} names someone else as its author")]
    WrongAuthor { list: &'static str, id: ItemId },
    #[error("{field} is too long ({len} bytes, at most {TEXT_BYTES_MAX})")]
    TextTooLong { field: &'static str, len: usize },
    #[error("a job holds at most {ITEMS_MAX} {0}")]
    TooMany(&'static str),
    #[error("{0}")]
    BadValue(String),
    #[error("{0:?} needs a reason")]
    ReasonRequired(FieldAction),
    #[error("{what} is dated {at}, outside {from} .. {to} (check the phone's clock)")]
    Clock { what: &'static str, at: Timestamp, from: Timestamp, to: Timestamp },
}

impl RuleViolation {
    /// A size limit rather than a forgery or a wrong value.
    pub fn is_limit(&self) -> bool {
        matches!(self, RuleViolation::TextTooLong { .. } | RuleViolation::TooMany(_))
    }

    pub fn is_clock(&self) -> bool {
        matches!(self, RuleViolation::Clock { .. })
    }
}

/// Whose change is checked: new items must name this technician and one of these devices (a
/// phone that paired again delivers the work of its earlier identity).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    pub technician: TechnicianId,
    pub devices: Vec<DeviceId>,
    /// The technician's name, which their notes carry.
    pub name: String,
}

impl From<&FieldActor> for Author {
    fn from(a: &FieldActor) -> Self {
        Author { technician: a.technician, devices: vec![a.device], name: a.name.clone() }
    }
}

/// When the change was made, as far as the checking side can tell, and when the job began.
#[derive(Clone, Copy, Debug)]
pub struct TimeWindow {
    pub job_created_at: Timestamp,
    pub received_at: Timestamp,
}

impl TimeWindow {
    fn check(&self, what: &'static str, at: Timestamp) -> Result<(), RuleViolation> {
        let from = Timestamp(self.job_created_at.0.saturating_sub(CLOCK_BEFORE_JOB_MAX_MS));
        let to = Timestamp(self.received_at.0.saturating_add(CLOCK_AHEAD_MAX_MS));
        if at < from || at > to { Err(RuleViolation::Clock { what, at, from, to }) } else { Ok(()) }
    }
}

fn text(field: &'static str, s: &str) -> Result<(), RuleViolation> {
    if s.len() > TEXT_BYTES_MAX { Err(RuleViolation::TextTooLong { field, len: s.len() }) } else { Ok(()) }
}

/// Checks that `after` could have come from `before` through edits by `author` (see the module
/// documentation for what that means).
pub fn check_field_change(before: &FieldDoc, after: &FieldDoc, author: &Author, window: TimeWindow) -> Result<(), RuleViolation> {
    if after.job_id != before.job_id {
        return Err(RuleViolation::Identity("job id"));
    }
    if after.schema != before.schema || after.schema > FIELD_SCHEMA {
        return Err(RuleViolation::Identity("schema"));
    }
    if after.quote.currency != before.quote.currency {
        return Err(RuleViolation::Identity("quote currency"));
    }

    for e in grown("status events", &before.events, &after.events, |e| e.id)? {
        if e.by != author.technician || !author.devices.contains(&e.device) {
            return Err(RuleViolation::WrongAuthor { list: "status events", id: e.id });
        }
        text("reason", &e.reason)?;
        // Declining a job or giving up on it leaves the office with nothing to act on unless
        // the technician says why.
        if matches!(e.action, FieldAction::Decline | FieldAction::CannotComplete) && e.reason.trim().is_empty() {
            return Err(RuleViolation::ReasonRequired(e.action));
        }
        if e.location.is_some_and(|l| !l.is_valid()) {
            return Err(RuleViolation::BadValue("a status event's location is not a position on Earth".into()));
        }
        window.check("a status event", e.at)?;
    }
    for n in grown("notes", &before.notes, &after.notes, |n| n.id)? {
        if n.author != author.name {
            return Err(RuleViolation::WrongAuthor { list: "notes", id: n.id });
        }
        text("note", &n.text)?;
        if n.text.trim().is_empty() {
            return Err(RuleViolation::BadValue("a note is empty".into()));
        }
        window.check("a note", n.at)?;
    }
    for p in grown("photos", &before.photos, &after.photos, |p| p.id)? {
        text("caption", &p.caption)?;
        window.check("a photo", p.at)?;
    }
    for s in grown("part scans", &before.part_scans, &after.part_scans, |s| s.id)? {
        text("code", &s.code)?;
        text("symbology", &s.symbology)?;
        text("part number", s.part_no.as_deref().unwrap_or(""))?;
        if s.code.is_empty() {
            return Err(RuleViolation::BadValue("a part scan has no code".into()));
        }
        window.check("a part scan", s.at)?;
    }
    for s in grown("signatures", &before.signatures, &after.signatures, |s| s.id)? {
        if !author.devices.contains(&s.device) {
            return Err(RuleViolation::WrongAuthor { list: "signatures", id: s.id });
        }
        text("signer", &s.signer)?;
        text("content hash", &s.content_hash)?;
        if s.signer.trim().is_empty() {
            return Err(RuleViolation::BadValue("a signature has no signer name".into()));
        }
        Strokes::decode(s.strokes.as_slice()).map_err(|e| RuleViolation::BadValue(format!("signature strokes: {e}")))?;
        window.check("a signature", s.at)?;
    }

    // The quote's lines may change and go; each must still be a line the app could price.
    for (i, line) in after.quote.lines.iter().enumerate() {
        text("line description", &line.description)?;
        text("line code", &line.code)?;
        check_line(i, line).map_err(|e| RuleViolation::BadValue(e.to_string()))?;
    }
    totals(&after.quote).map_err(|e| RuleViolation::BadValue(e.to_string()))?;

    text("cause", &after.report.cause)?;
    text("method", &after.report.method)?;
    text("rating comment", &after.rating.comment)?;
    if after.rating.score.is_some_and(|s| !(1..=5).contains(&s)) {
        return Err(RuleViolation::BadValue("a rating is 1 to 5".into()));
    }
    if after.rating != before.rating
        && let Some(at) = after.rating.at
    {
        window.check("the rating", at)?;
    }
    Ok(())
}

/// The items `after` adds to an append-only list, once every item of `before` is found in it
/// unchanged and the list is within its limit.
fn grown<'a, T: PartialEq>(
    list: &'static str,
    before: &[T],
    after: &'a [T],
    id: impl Fn(&T) -> ItemId,
) -> Result<Vec<&'a T>, RuleViolation> {
    if after.len() > ITEMS_MAX {
        return Err(RuleViolation::TooMany(list));
    }
    let mut now: HashMap<ItemId, &'a T> = HashMap::with_capacity(after.len());
    for item in after {
        // Two items with one id: one of them was written over the other.
        if now.insert(id(item), item).is_some() {
            return Err(RuleViolation::Altered { list, id: id(item) });
        }
    }
    for old in before {
        match now.remove(&id(old)) {
            None => return Err(RuleViolation::Removed { list, id: id(old) }),
            Some(new) if new != old => return Err(RuleViolation::Altered { list, id: id(old) }),
            Some(_) => {}
        }
    }
    Ok(after.iter().filter(|i| now.contains_key(&id(i))).collect())
}
