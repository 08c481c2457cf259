//! Assignment suggestions: who should take a job, with the numbers behind it.
//!
//! A qualified technician (trained for the category, certified to the level the appliance
//! needs, active) always ranks above an unqualified one; an overloaded one (too many open jobs
//! that day, or already booked in the appointment window) drops below every qualified one that
//! is free. Among the rest the score weighs distance, workload, SLA slack and brand experience.

use serde::Serialize;
use shared::model::{Category, GeoPoint, Window};
use shared::{TechnicianId, Timestamp};

use crate::store::{JobIndex, Technician};

/// Open jobs in a day past which a technician counts as overloaded.
pub const OPEN_JOBS_PER_DAY_MAX: usize = 6;
/// Average urban travel speed for ETAs.
pub const TRAVEL_KM_PER_H: f64 = 30.0;
/// A check-in older than this no longer tells where the technician is.
pub const LOCATION_FRESH_HOURS: i64 = 12;

/// Certification level an appliance category needs (gas, refrigerant and sealed systems need more).
pub fn required_level(category: Category) -> u8 {
    match category {
        Category::AirConditioner | Category::WaterHeater | Category::Fridge => 2,
        _ => 1,
    }
}

/// What the job needs.
#[derive(Clone, Debug)]
pub struct JobNeeds {
    pub category: Category,
    pub brand: String,
    pub location: Option<GeoPoint>,
    pub window: Option<Window>,
    pub arrive_by: Option<Timestamp>,
}

/// A technician with what dispatch knows of them now.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub technician: Technician,
    pub last_check_in: Option<(GeoPoint, Timestamp)>,
    /// Open jobs assigned to them.
    pub open_jobs: Vec<JobIndex>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub technician: TechnicianId,
    pub name: String,
    pub qualified: bool,
    pub overloaded: bool,
    pub score: f64,
    pub distance_km: Option<f64>,
    /// `last_check_in`, `home_base` or `unknown`.
    pub distance_from: &'static str,
    pub open_jobs_that_day: usize,
    pub booked_in_window: usize,
    /// Minutes between the estimated arrival and the SLA's arrive-by (negative = late).
    pub sla_slack_min: Option<i64>,
    pub reasons: Vec<String>,
}

pub fn rank(job: &JobNeeds, candidates: &[Candidate], now: Timestamp) -> Vec<Suggestion> {
    let mut out: Vec<Suggestion> = candidates.iter().map(|c| suggest(job, c, now)).collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.name.cmp(&b.name)));
    out
}

fn suggest(job: &JobNeeds, c: &Candidate, now: Timestamp) -> Suggestion {
    let t = &c.technician;
    let mut reasons = Vec::new();
    let cat = job.category.as_str();
    let skilled = t.skills.iter().any(|s| s == cat);
    let need = required_level(job.category);
    let level_ok = t.level >= need;
    reasons.push(if skilled { format!("trained for {cat}") } else { format!("not trained for {cat}") });
    if !level_ok {
        reasons.push(format!("level {} below the {} this appliance needs", t.level, need));
    }
    if !t.active {
        reasons.push("deactivated".into());
    }
    let qualified = skilled && level_ok && t.active;
    let brand = t.brands.iter().any(|b| b.eq_ignore_ascii_case(&job.brand));
    if brand {
        reasons.push(format!("knows {}", job.brand));
    }

    let fresh = c.last_check_in.filter(|(_, at)| now.0.saturating_sub(at.0) <= LOCATION_FRESH_HOURS * Timestamp::HOUR);
    let (from, pos) = match (fresh, t.home) {
        (Some((p, _)), _) => ("last_check_in", Some(p)),
        (None, Some(h)) => ("home_base", Some(h)),
        (None, None) => ("unknown", None),
    };
    let distance_km = pos.zip(job.location).map(|(a, b)| a.distance_m(&b) / 1000.0);
    if let Some(km) = distance_km {
        reasons.push(format!("{km:.1} km from {}", from.replace('_', " ")));
    }

    let day = job.window.map(|w| Window {
        start: Timestamp(w.start.0.saturating_sub(12 * Timestamp::HOUR)),
        end: Timestamp(w.start.0.saturating_add(12 * Timestamp::HOUR)),
    });
    let open_jobs_that_day = c
        .open_jobs
        .iter()
        .filter(|j| match (day, j.appt_start) {
            (Some(d), Some(s)) => s >= d.start && s < d.end,
            _ => true,
        })
        .count();
    let booked_in_window = match job.window {
        Some(w) => c
            .open_jobs
            .iter()
            .filter(|j| j.appt_start.zip(j.appt_end).is_some_and(|(s, e)| (Window { start: s, end: e }).overlaps(&w)))
            .count(),
        None => 0,
    };
    reasons.push(format!("{open_jobs_that_day} open jobs that day"));
    if booked_in_window > 0 {
        reasons.push(format!("already booked in the window ({booked_in_window})"));
    }
    let overloaded = open_jobs_that_day >= OPEN_JOBS_PER_DAY_MAX || booked_in_window > 0;

    let travel_min = distance_km.map(|km| (km / TRAVEL_KM_PER_H * 60.0).ceil() as i64);
    let sla_slack_min = job.arrive_by.zip(travel_min).map(|(by, travel)| {
        let start = job.window.map_or(now, |w| w.start.max(now));
        let eta = start.max(Timestamp(now.0.saturating_add(travel.saturating_mul(Timestamp::MINUTE))));
        by.minutes_since(eta)
    });
    if let Some(s) = sla_slack_min {
        reasons.push(if s >= 0 { format!("arrives {s} min before the SLA") } else { format!("would be {} min late for the SLA", -s) });
    }

    let distance_score = distance_km.map_or(0.3, |km| 1.0 / (1.0 + km / 10.0));
    let workload_score = 1.0 - (open_jobs_that_day.min(OPEN_JOBS_PER_DAY_MAX) as f64 / OPEN_JOBS_PER_DAY_MAX as f64);
    let sla_score = sla_slack_min.map_or(0.5, |s| (s as f64 / 60.0).clamp(0.0, 1.0));
    let brand_score = if brand { 1.0 } else { 0.0 };
    let mut score = 0.35 * distance_score + 0.25 * workload_score + 0.25 * sla_score + 0.15 * brand_score;
    if overloaded {
        score -= 1.0;
    }
    if !qualified {
        score -= 2.0;
    }
    Suggestion {
        technician: t.id,
        name: t.name.clone(),
        qualified,
        overloaded,
        score: (score * 1000.0).round() / 1000.0,
        distance_km: distance_km.map(|k| (k * 10.0).round() / 10.0),
        distance_from: from,
        open_jobs_that_day,
        booked_in_window,
        sla_slack_min,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{JobFacts, Technician};
    use shared::JobId;

    const NOW: Timestamp = Timestamp(1_795_000_000_000);

    fn tech(name: &str, skills: &[&str], level: u8, home: (f64, f64)) -> Technician {
        Technician {
            id: TechnicianId::new(),
            name: name.into(),
            phone: String::new(),
            active: true,
            skills: skills.iter().map(|s| s.to_string()).collect(),
            brands: vec![],
            level,
            home: Some(GeoPoint { lat: home.0, lon: home.1 }),
            working_hours: None,
        }
    }

    fn booked(start: Timestamp, hours: i64) -> JobIndex {
        JobIndex {
            job: JobId::new(),
            status: shared::status::Status::Assigned,
            assignee: None,
            digest: [0; 8],
            created_at: NOW,
            channel: shared::model::Channel::Phone,
            appt_start: Some(start),
            appt_end: Some(Timestamp(start.0 + hours * Timestamp::HOUR)),
            priority: shared::model::Priority::Normal,
            category: shared::model::Category::Washer,
            brand: String::new(),
            model: String::new(),
            serial: String::new(),
            customer_name: String::new(),
            location: None,
            arrive_by: None,
            resolve_by: None,
            conflicts: 0,
            facts: JobFacts::default(),
            customer_key: None,
        }
    }

    fn cand(t: Technician, open: Vec<JobIndex>) -> Candidate {
        Candidate { technician: t, last_check_in: None, open_jobs: open }
    }

    /// Customer at People's Square, Shanghai; appointment in two hours.
    fn washer_job() -> JobNeeds {
        let start = NOW.plus_minutes(120);
        JobNeeds {
            category: Category::Washer,
            brand: "Haier".into(),
            location: Some(GeoPoint { lat: 31.2304, lon: 121.4737 }),
            window: Some(Window { start, end: start.plus_minutes(120) }),
            arrive_by: Some(start.plus_minutes(120)),
        }
    }

    #[test]
    fn nearest_qualified_technician_wins() {
        // ~1.1 km, ~11 km and ~25 km away, all trained for washers, no other work.
        let near = tech("near", &["washer"], 1, (31.2404, 121.4737));
        let mid = tech("mid", &["washer"], 1, (31.3304, 121.4737));
        let far = tech("far", &["washer"], 1, (31.4550, 121.4737));
        let ranked = rank(&washer_job(), &[cand(far, vec![]), cand(mid, vec![]), cand(near, vec![])], NOW);
        let names: Vec<_> = ranked.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["near", "mid", "far"]);
        assert_eq!(ranked[0].distance_km, Some(1.1));
        assert_eq!(ranked[0].distance_from, "home_base");
        assert!(ranked.iter().all(|s| s.qualified && !s.overloaded));
    }

    #[test]
    fn an_unqualified_technician_never_ranks_above_a_qualified_one() {
        // The unqualified one is at the door; the qualified one is 40 km away and busy-ish.
        let door = tech("door", &["furniture"], 5, (31.2304, 121.4737));
        let junior = tech("junior", &["air_conditioner"], 1, (31.2304, 121.4737));
        let far = tech("far", &["washer"], 1, (31.59, 121.4737));
        let start = washer_job().window.unwrap().start;
        let busy = vec![booked(Timestamp(start.0 - 5 * Timestamp::HOUR), 1), booked(Timestamp(start.0 + 4 * Timestamp::HOUR), 1)];
        let ranked = rank(&washer_job(), &[cand(door, vec![]), cand(far, busy), cand(junior, vec![])], NOW);
        assert_eq!(ranked[0].name, "far");
        assert!(ranked[0].qualified);
        assert!(ranked[1..].iter().all(|s| !s.qualified));

        // Level: an air conditioner needs level 2; a level-1 AC technician is not qualified.
        let mut ac = washer_job();
        ac.category = Category::AirConditioner;
        let l1 = tech("l1", &["air_conditioner"], 1, (31.2304, 121.4737));
        let l2 = tech("l2", &["air_conditioner"], 2, (31.35, 121.4737));
        let ranked = rank(&ac, &[cand(l1, vec![]), cand(l2, vec![])], NOW);
        assert_eq!(ranked.iter().map(|s| (s.name.as_str(), s.qualified)).collect::<Vec<_>>(), [("l2", true), ("l1", false)]);
    }

    #[test]
    fn an_overloaded_technician_drops() {
        let job = washer_job();
        let start = job.window.unwrap().start;
        // Nearest, but already booked inside the appointment window.
        let booked_tech = tech("booked", &["washer"], 1, (31.2310, 121.4737));
        // Near too, but six open jobs that day.
        let full = tech("full", &["washer"], 1, (31.2320, 121.4737));
        let six: Vec<_> = (0..6).map(|i| booked(Timestamp(start.0 - 10 * Timestamp::HOUR + i * 1_000), 1)).collect();
        // Farther but free.
        let free = tech("free", &["washer"], 1, (31.30, 121.4737));
        let ranked = rank(&job, &[cand(booked_tech, vec![booked(start.plus_minutes(30), 1)]), cand(full, six), cand(free, vec![])], NOW);
        assert_eq!(ranked[0].name, "free");
        assert!(ranked[1].overloaded && ranked[2].overloaded);
        let booked_row = ranked.iter().find(|s| s.name == "booked").unwrap();
        assert_eq!(booked_row.booked_in_window, 1);
        let full_row = ranked.iter().find(|s| s.name == "full").unwrap();
        assert_eq!(full_row.open_jobs_that_day, 6);
    }

    #[test]
    fn sla_slack_and_fresh_check_in_are_used() {
        let job = washer_job();
        let mut t = tech("t", &["washer"], 1, (31.60, 121.4737)); // home far away
        t.brands = vec!["haier".into()];
        let mut c = cand(t, vec![]);
        c.last_check_in = Some((GeoPoint { lat: 31.2304, lon: 121.4737 }, NOW.plus_minutes(-30)));
        let s = &rank(&job, &[c.clone()], NOW)[0];
        assert_eq!(s.distance_from, "last_check_in");
        assert_eq!(s.distance_km, Some(0.0));
        // Arrives at the window start (travel 0); arrive-by is two hours later.
        assert_eq!(s.sla_slack_min, Some(120));
        assert!(s.reasons.iter().any(|r| r == "knows Haier"));
        // A stale check-in (yesterday) falls back to home base.
        c.last_check_in = Some((GeoPoint { lat: 31.2304, lon: 121.4737 }, NOW.plus_minutes(-24 * 60)));
        assert_eq!(rank(&job, &[c], NOW)[0].distance_from, "home_base");
    }
}
