//! Service-level deadlines a new job gets from its priority, when the dispatcher does not set
//! them: how soon someone calls the customer back (respond), arrives (arrive) and fixes it
//! (resolve). An agreed appointment moves the arrival to the appointment's end.
//!
//! One policy for every job for now; service types and customer contracts refine it later.

use shared::Timestamp;
use shared::model::{Priority, Sla, Window};

/// Minutes from creation to each deadline, by priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    pub respond_min: i64,
    pub arrive_min: i64,
    pub resolve_min: i64,
}

/// The default policy (common in the trade: urgent same day, normal next day, within three days).
pub fn deadlines(priority: Priority) -> Deadlines {
    let h = 60;
    match priority {
        Priority::Urgent => Deadlines { respond_min: 30, arrive_min: 4 * h, resolve_min: 24 * h },
        Priority::High => Deadlines { respond_min: h, arrive_min: 8 * h, resolve_min: 48 * h },
        Priority::Normal => Deadlines { respond_min: 2 * h, arrive_min: 24 * h, resolve_min: 72 * h },
        Priority::Low => Deadlines { respond_min: 4 * h, arrive_min: 48 * h, resolve_min: 120 * h },
    }
}

/// `given` with each deadline it leaves out filled from the policy. With an appointment, the
/// arrival is due by its end, and resolution no sooner than the policy's time after arrival.
pub fn fill(given: Sla, priority: Priority, created_at: Timestamp, appointment: Option<Window>) -> Sla {
    let d = deadlines(priority);
    let respond_by = given.respond_by.unwrap_or(created_at.plus_minutes(d.respond_min));
    let arrive_by = given.arrive_by.unwrap_or_else(|| match appointment {
        Some(w) => w.end,
        None => created_at.plus_minutes(d.arrive_min),
    });
    let resolve_by = given.resolve_by.unwrap_or_else(|| {
        let after_arrival = arrive_by.plus_minutes(d.resolve_min - d.arrive_min);
        created_at.plus_minutes(d.resolve_min).max(after_arrival)
    });
    // Deadlines the dispatcher gave stay as given; ones filled in never come before them.
    let respond_by = if given.respond_by.is_none() && given.arrive_by.is_some() { respond_by.min(arrive_by) } else { respond_by };
    let arrive_by = if given.arrive_by.is_none() { arrive_by.max(respond_by) } else { arrive_by };
    let resolve_by = if given.resolve_by.is_none() { resolve_by.max(arrive_by) } else { resolve_by };
    Sla { respond_by: Some(respond_by), arrive_by: Some(arrive_by), resolve_by: Some(resolve_by) }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NOW: Timestamp = Timestamp(1_764_000_000_000);

    #[test]
    fn a_new_job_gets_its_priority_s_deadlines() {
        let s = fill(Sla::default(), Priority::Urgent, NOW, None);
        assert_eq!(s.respond_by, Some(NOW.plus_minutes(30)));
        assert_eq!(s.arrive_by, Some(NOW.plus_minutes(240)));
        assert_eq!(s.resolve_by, Some(NOW.plus_minutes(24 * 60)));
    }

    #[test]
    fn an_appointment_sets_the_arrival_and_pushes_the_fix() {
        let w = Window { start: NOW.plus_minutes(3 * 24 * 60), end: NOW.plus_minutes(3 * 24 * 60 + 120) };
        let s = fill(Sla::default(), Priority::Normal, NOW, Some(w));
        assert_eq!(s.arrive_by, Some(w.end));
        assert_eq!(s.resolve_by, Some(w.end.plus_minutes(48 * 60)), "the policy's 48 h from arrival to fix");
        assert_eq!(s.respond_by, Some(NOW.plus_minutes(120)));
    }

    #[test]
    fn what_the_dispatcher_set_is_kept() {
        let given = Sla { respond_by: None, arrive_by: Some(NOW.plus_minutes(10)), resolve_by: None };
        let s = fill(given, Priority::Low, NOW, None);
        assert_eq!(s.arrive_by, given.arrive_by);
        assert_eq!(s.respond_by, Some(NOW.plus_minutes(10)), "a call-back is due no later than the arrival");
    }

    proptest! {
        #[test]
        fn filled_deadlines_are_in_order(
            p in 0i64..4, start in -10_000i64..10_000, len in 1i64..1_000,
            arrive in proptest::option::of(-10_000i64..10_000),
            appt in any::<bool>(), created in -1_000_000i64..1_000_000,
        ) {
            let created = Timestamp(NOW.0 + created * 60_000);
            let w = appt.then(|| Window { start: created.plus_minutes(start), end: created.plus_minutes(start + len) });
            let given = Sla { respond_by: None, arrive_by: arrive.map(|a| created.plus_minutes(a)), resolve_by: None };
            let s = fill(given, Priority::from_rank(p).unwrap(), created, w);
            let (r, a, f) = (s.respond_by.unwrap(), s.arrive_by.unwrap(), s.resolve_by.unwrap());
            prop_assert!(r <= a && a <= f, "{} {} {}", r, a, f);
            let fields = shared::edit::DispatchFields { sla: Some(s), ..Default::default() };
            let checked = shared::edit::check_dispatch_fields(&fields);
            prop_assert!(checked.is_ok(), "{:?}", checked);
        }
    }
}
