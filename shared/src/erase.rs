//! Erasing a customer's personal data from a job (PIPL / GDPR erasure, and retention).
//!
//! Automerge keeps every value a document ever held, so blanking fields in place would leave the
//! customer in the history that every newly assigned phone receives. Erasure therefore builds
//! *new* documents from the job's current state without the personal data ([`redact`], then
//! [`rebuild`]): one change each, no history. What the KPIs need stays: status events and their
//! times, who did what, the appliance's category, brand and model, prices and parts, the rating's
//! score and the report's cause.
//!
//! Removed: the customer's name, phone, address and position; the appliance's serial number and
//! purchase date (they identify a household's appliance); the problem description, notes, a
//! cancellation's reason and a status event's reason (free text that may name the customer);
//! check-in positions (the customer's door); all photos (their home); signatures' names and strokes;
//! the report's repair method and the rating's comment.

use automerge::{ActorId, AutoCommit};
use autosurgeon::reconcile;

use crate::docs::{DocError, commit};
use crate::model::{DispatchAction, DispatchDoc, FieldDoc};
use crate::time::Timestamp;

/// What an erased customer's name reads as.
pub const ERASED_NAME: &str = "（已删除）Erased";

/// The job's current state without the customer's personal data.
pub fn redact(dispatch: &DispatchDoc, field: &FieldDoc) -> (DispatchDoc, FieldDoc) {
    let mut d = dispatch.clone();
    d.customer.name = ERASED_NAME.to_owned();
    d.customer.phone.clear();
    d.customer.address.clear();
    d.customer.location = None;
    d.appliance.serial.clear();
    d.appliance.purchase_date.clear();
    d.problem.clear();
    for n in &mut d.notes {
        n.text.clear();
    }
    d.customer_photos.clear();
    for e in &mut d.events {
        if let DispatchAction::Cancelled { reason } = &mut e.action {
            reason.clear();
        }
    }
    let mut f = field.clone();
    for e in &mut f.events {
        e.location = None;
        e.reason.clear();
    }
    for n in &mut f.notes {
        n.text.clear();
    }
    f.photos.clear();
    for s in &mut f.signatures {
        s.signer.clear();
        s.strokes = Vec::new().into();
    }
    f.report.method.clear();
    f.rating.comment.clear();
    (d, f)
}

/// Fresh documents holding exactly `dispatch` and `field`, written by `actor` in one change each:
/// nothing of any earlier value survives in them.
pub fn rebuild(dispatch: &DispatchDoc, field: &FieldDoc, actor: ActorId, now: Timestamp) -> Result<(AutoCommit, AutoCommit), DocError> {
    let mut d = AutoCommit::new().with_actor(actor.clone());
    reconcile(&mut d, dispatch)?;
    commit(&mut d, "erased", now);
    let mut f = AutoCommit::new().with_actor(actor);
    reconcile(&mut f, field)?;
    commit(&mut f, "erased", now);
    Ok((d, f))
}

/// A key that finds one customer's jobs without keeping their phone number in the clear: the
/// number's digits (so "+86 138-0000 1234" and "8613800001234" match), hashed under a fixed
/// context. `None` for a job without a usable number.
pub fn customer_key(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    // Mainland numbers are written with and without the country code.
    let digits = digits.strip_prefix("86").filter(|rest| rest.len() == 11).unwrap_or(&digits).to_owned();
    if digits.len() < 6 {
        return None;
    }
    Some(blake3::Hasher::new_derive_key("OnSite 2026-12 customer key v1").update(digits.as_bytes()).finalize().to_hex().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;
    use crate::docs::{read_dispatch, read_field};

    #[test]
    fn keys_match_however_the_number_is_written() {
        assert_eq!(customer_key("+86 138-0000 1234"), customer_key("13800001234"));
        assert_ne!(customer_key("13800001234"), customer_key("13800001235"));
        assert_eq!(customer_key("n/a"), None);
    }

    #[test]
    fn rebuilt_documents_hold_no_trace_of_the_customer_in_their_history() {
        let jobs: Vec<demo::DemoJob> = serde_json::from_str(demo::assets::JOBS).unwrap();
        let techs: Vec<demo::DemoTechnician> = serde_json::from_str(demo::assets::TECHNICIANS).unwrap();
        let ids = techs.iter().map(|t| (t.key.clone(), crate::TechnicianId::new())).collect();
        let worked = jobs.iter().find(|j| j.assign.is_some() && j.progress.len() > 2).expect("a demo job with progress");
        let docs = demo::build(worked, Timestamp(1_790_000_000_000), &ids, ActorId::random()).unwrap();
        let (d, f) = (docs.dispatch, docs.field);
        let (dispatch, field) = (read_dispatch(&d).unwrap(), read_field(&f).unwrap());
        assert!(field.events.iter().any(|e| e.location.is_some()), "the job has check-in positions");
        let (rd, rf) = redact(&dispatch, &field);
        let (mut nd, mut nf) = rebuild(&rd, &rf, ActorId::random(), Timestamp(1)).unwrap();
        assert_eq!(read_dispatch(&nd).unwrap(), rd);
        assert_eq!(read_field(&nf).unwrap(), rf);
        let (mut d, mut f) = (d, f);
        let old_text = String::from_utf8_lossy(&[d.save_nocompress(), f.save_nocompress()].concat()).into_owned();
        let new_text = String::from_utf8_lossy(&[nd.save_nocompress(), nf.save_nocompress()].concat()).into_owned();
        for secret in [&dispatch.customer.name, &dispatch.customer.phone, &dispatch.customer.address, &dispatch.appliance.serial] {
            assert!(old_text.contains(secret.as_str()), "the old documents hold {secret}");
            assert!(!new_text.contains(secret.as_str()), "{secret} survived erasure");
        }
        assert_eq!(nd.get_changes(&[]).len(), 1, "one change, no history");
        assert!(rf.events.iter().all(|e| e.location.is_none()));
        // What KPIs read stays.
        assert_eq!(rd.events, dispatch.events);
        assert_eq!(rf.events.len(), field.events.len());
        assert_eq!(rf.quote, field.quote);
        assert_eq!(rf.rating.score, field.rating.score);
        assert_eq!(rf.report.cause, field.report.cause);
        assert_eq!((&rd.appliance.brand, &rd.appliance.model), (&dispatch.appliance.brand, &dispatch.appliance.model));
    }
}
