//! Status is derived, never stored.
//!
//! The current status of a job is a pure function of its two documents: every dispatch event and
//! every field event is replayed in one deterministic order (time, then id) through the lifecycle
//! state machine. An event that the machine does not allow at its point in the replay is not
//! dropped: it stays in the timeline and is reported as a [`Conflict`] for a dispatcher to settle.
//! That is how "cancelled by dispatch while completed in the field" surfaces instead of one side
//! silently winning.

use serde::{Deserialize, Serialize};

use crate::ids::{ItemId, TechnicianId};
use crate::model::{DispatchAction, DispatchDoc, FieldAction, FieldDoc};
use crate::time::Timestamp;

/// The job lifecycle (aligned with Salesforce / Dynamics 365 / OCA fieldservice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Assigned,
    Accepted,
    EnRoute,
    OnSite,
    InProgress,
    OnHold,
    Completed,
    CannotComplete,
    Closed,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 11] = [
        Status::New,
        Status::Assigned,
        Status::Accepted,
        Status::EnRoute,
        Status::OnSite,
        Status::InProgress,
        Status::OnHold,
        Status::Completed,
        Status::CannotComplete,
        Status::Closed,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Assigned => "assigned",
            Status::Accepted => "accepted",
            Status::EnRoute => "en_route",
            Status::OnSite => "on_site",
            Status::InProgress => "in_progress",
            Status::OnHold => "on_hold",
            Status::Completed => "completed",
            Status::CannotComplete => "cannot_complete",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Open jobs still need someone to act; they can be cancelled.
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Completed | Status::Closed | Status::Cancelled)
    }

    /// The technician is working the job: a reassignment now would pull someone off site.
    pub fn is_on_site(self) -> bool {
        matches!(self, Status::OnSite | Status::InProgress)
    }
}

/// Who did an event and what it was, in one type for both documents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "source")]
pub enum Action {
    Dispatch(DispatchAction),
    Field { action: FieldAction, by: TechnicianId },
}

/// Why an event could not be applied where it falls in the replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Rejection {
    #[error("{action} is not allowed while the job is {from:?}")]
    NotAllowed { action: String, from: Status },
    #[error("{action} by a technician the job is not assigned to")]
    NotAssignee { action: String },
    #[error("{action} recorded in the field after the job was cancelled")]
    WorkAfterCancel { action: String },
    #[error("cancelled after the work was completed in the field")]
    CancelAfterCompletion,
}

/// An event that stays in the record but did not move the status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conflict {
    pub event: ItemId,
    pub at: Timestamp,
    pub rejection: Rejection,
}

/// One event of the merged timeline with what it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    pub id: ItemId,
    pub at: Timestamp,
    pub action: Action,
    /// Status after this event (unchanged for a conflict).
    pub status: Status,
    pub conflict: Option<Rejection>,
}

/// The job as the state machine sees it now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Derived {
    pub status: Status,
    pub assignee: Option<TechnicianId>,
    pub timeline: Vec<TimelineEntry>,
    pub conflicts: Vec<Conflict>,
}

/// The machine's state between events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct State {
    pub status: Status,
    pub assignee: Option<TechnicianId>,
}

impl State {
    pub const INITIAL: State = State { status: Status::New, assignee: None };

    /// The state after `action`, or why it cannot happen now. Used both for replay and to refuse a
    /// bad transition before it is written.
    pub fn apply(self, action: &Action) -> Result<State, Rejection> {
        use Status::*;
        let from = self.status;
        match action {
            Action::Dispatch(d) => {
                let not_allowed = || Rejection::NotAllowed { action: dispatch_name(d).to_owned(), from };
                match d {
                    DispatchAction::Created | DispatchAction::Rescheduled { .. } if from.is_open() => Ok(self),
                    DispatchAction::Assigned { technician } if from.is_open() && !from.is_on_site() => {
                        Ok(State { status: Assigned, assignee: Some(*technician) })
                    }
                    DispatchAction::Unassigned if from.is_open() && !from.is_on_site() => Ok(State { status: New, assignee: None }),
                    DispatchAction::Cancelled { .. } if from.is_open() => Ok(State { status: Cancelled, ..self }),
                    DispatchAction::Cancelled { .. } if from == Completed => Err(Rejection::CancelAfterCompletion),
                    DispatchAction::Closed if matches!(from, Completed | CannotComplete) => Ok(State { status: Closed, ..self }),
                    _ => Err(not_allowed()),
                }
            }
            Action::Field { action, by } => {
                let name = field_name(*action).to_owned();
                if from == Cancelled {
                    return Err(Rejection::WorkAfterCancel { action: name });
                }
                if self.assignee != Some(*by) {
                    return Err(Rejection::NotAssignee { action: name });
                }
                let to = match (action, from) {
                    (FieldAction::Accept, Assigned) => Accepted,
                    (FieldAction::Decline, Assigned | Accepted) => {
                        return Ok(State { status: New, assignee: None });
                    }
                    (FieldAction::EnRoute, Accepted | OnHold) => EnRoute,
                    (FieldAction::CheckIn, Accepted | EnRoute) => OnSite,
                    (FieldAction::Start, OnSite) => InProgress,
                    (FieldAction::Hold, OnSite | InProgress) => OnHold,
                    (FieldAction::Resume, OnHold) => InProgress,
                    (FieldAction::Complete, InProgress) => Completed,
                    (FieldAction::CannotComplete, OnSite | InProgress | OnHold) => CannotComplete,
                    _ => return Err(Rejection::NotAllowed { action: name, from }),
                };
                Ok(State { status: to, ..self })
            }
        }
    }
}

pub fn dispatch_name(a: &DispatchAction) -> &'static str {
    match a {
        DispatchAction::Created => "create",
        DispatchAction::Assigned { .. } => "assign",
        DispatchAction::Unassigned => "unassign",
        DispatchAction::Rescheduled { .. } => "reschedule",
        DispatchAction::Cancelled { .. } => "cancel",
        DispatchAction::Closed => "close",
    }
}

pub fn field_name(a: FieldAction) -> &'static str {
    match a {
        FieldAction::Accept => "accept",
        FieldAction::Decline => "decline",
        FieldAction::EnRoute => "en_route",
        FieldAction::CheckIn => "check_in",
        FieldAction::Start => "start",
        FieldAction::Hold => "hold",
        FieldAction::Resume => "resume",
        FieldAction::Complete => "complete",
        FieldAction::CannotComplete => "cannot_complete",
    }
}

/// Replays both documents' events into the current status, the timeline and the conflicts.
///
/// Deterministic: the order is (time, id), a total order over distinct events, so every replica
/// that holds the same documents derives the same result. Every event appears in the timeline
/// exactly once.
pub fn derive(dispatch: &DispatchDoc, field: &FieldDoc) -> Derived {
    let mut events: Vec<(Timestamp, ItemId, Action)> = dispatch
        .events
        .iter()
        .map(|e| (e.at, e.id, Action::Dispatch(e.action.clone())))
        .chain(field.events.iter().map(|e| (e.at, e.id, Action::Field { action: e.action, by: e.by })))
        .collect();
    events.sort_by_key(|(at, id, _)| (*at, *id));

    let mut state = State::INITIAL;
    let mut timeline = Vec::with_capacity(events.len());
    let mut conflicts = Vec::new();
    for (at, id, action) in events {
        let conflict = match state.apply(&action) {
            Ok(next) => {
                state = next;
                None
            }
            Err(rejection) => {
                conflicts.push(Conflict { event: id, at, rejection: rejection.clone() });
                Some(rejection)
            }
        };
        timeline.push(TimelineEntry { id, at, action, status: state.status, conflict });
    }
    Derived { status: state.status, assignee: state.assignee, timeline, conflicts }
}

impl Derived {
    /// When the job first reached `status`, for KPIs (time to assign, arrival vs SLA).
    pub fn first_reached(&self, status: Status) -> Option<Timestamp> {
        self.timeline.iter().find(|e| e.conflict.is_none() && e.status == status).map(|e| e.at)
    }

    /// The technician the dispatchers last (validly) assigned: who may see and work the job.
    /// A decline does not revoke access, so the technician's unsynced work can still reach the
    /// server; the dispatcher's reassignment does.
    pub fn dispatch_assignee(&self) -> Option<TechnicianId> {
        let mut who = None;
        for e in self.timeline.iter().filter(|e| e.conflict.is_none()) {
            match &e.action {
                Action::Dispatch(DispatchAction::Assigned { technician }) => who = Some(*technician),
                Action::Dispatch(DispatchAction::Unassigned) => who = None,
                _ => {}
            }
        }
        who
    }

    /// The state to check a new action against.
    pub fn state(&self) -> State {
        State { status: self.status, assignee: self.assignee }
    }
}
