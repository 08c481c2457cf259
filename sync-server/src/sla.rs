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
/// A filled deadline never comes before the one it follows nor after a later one the
/// dispatcher gave (given deadlines are in order: `shared::edit::check_dispatch_fields`).
pub fn fill(given: Sla, priority: Priority, created_at: Timestamp, appointment: Option<Window>) -> Sla {
    let d = deadlines(priority);
    let given = [given.respond_by, given.arrive_by, given.resolve_by];
    let mut out: [Timestamp; 3] = [Timestamp(0); 3];
    for i in 0..3 {
        if let Some(g) = given[i] {
            out[i] = g;
            continue;
        }
        let wanted = match i {
            0 => created_at.plus_minutes(d.respond_min),
            1 => appointment.map_or_else(|| created_at.plus_minutes(d.arrive_min), |w| w.end),
            _ => created_at.plus_minutes(d.resolve_min).max(out[1].plus_minutes(d.resolve_min - d.arrive_min)),
        };
        let mut upper = given[i + 1..].iter().flatten().min().copied();
        // A call-back is due before the agreed visit (when that is still ahead).
        if i == 0
            && given[1].is_none()
            && let Some(w) = appointment.filter(|w| w.end > created_at)
        {
            upper = Some(upper.map_or(w.end, |u| u.min(w.end)));
        }
        let capped = upper.map_or(wanted, |u| wanted.min(u));
        out[i] = if i > 0 { capped.max(out[i - 1]) } else { capped };
    }
    Sla { respond_by: Some(out[0]), arrive_by: Some(out[1]), resolve_by: Some(out[2]) }
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
    fn a_given_early_fix_pulls_the_filled_deadlines_before_it() {
        let given = Sla { respond_by: None, arrive_by: None, resolve_by: Some(NOW.plus_minutes(60)) };
        let s = fill(given, Priority::Urgent, NOW, None);
        assert_eq!((s.respond_by, s.arrive_by, s.resolve_by), (Some(NOW.plus_minutes(30)), Some(NOW.plus_minutes(60)), given.resolve_by));
    }

    #[test]
    fn an_appointment_sooner_than_the_call_back_keeps_its_end_as_the_arrival() {
        let w = Window { start: NOW.plus_minutes(30), end: NOW.plus_minutes(90) };
        let s = fill(Sla::default(), Priority::Normal, NOW, Some(w));
        assert_eq!((s.respond_by, s.arrive_by), (Some(w.end), Some(w.end)));
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
        fn filled_deadlines_are_in_order_and_keep_what_was_given(
            p in 0i64..4, start in -10_000i64..10_000, len in 1i64..1_000,
            mut given_at in proptest::collection::vec(proptest::option::of(-10_000i64..10_000), 3),
            appt in any::<bool>(), created in -1_000_000i64..1_000_000,
        ) {
            let created = Timestamp(NOW.0 + created * 60_000);
            let w = appt.then(|| Window { start: created.plus_minutes(start), end: created.plus_minutes(start + len) });
            // Given deadlines are in order (the check before creation refuses others).
            let mut last = i64::MIN;
            for g in given_at.iter_mut().flatten() {
                *g = (*g).max(last);
                last = *g;
            }
            let at = |i: usize| given_at[i].map(|m| created.plus_minutes(m));
            let given = Sla { respond_by: at(0), arrive_by: at(1), resolve_by: at(2) };
            let s = fill(given, Priority::from_rank(p).unwrap(), created, w);
            let (r, a, f) = (s.respond_by.unwrap(), s.arrive_by.unwrap(), s.resolve_by.unwrap());
            prop_assert!(r <= a && a <= f, "{} {} {}", r, a, f);
            for (i, got) in [r, a, f].into_iter().enumerate() {
                if let Some(g) = at(i) {
                    prop_assert_eq!(got, g);
                }
            }
            let fields = shared::edit::DispatchFields { sla: Some(s), ..Default::default() };
            let checked = shared::edit::check_dispatch_fields(&fields);
            prop_assert!(checked.is_ok(), "{:?}", checked);
        }
    }
}
