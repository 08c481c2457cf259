//! What KPIs are computed from: counts and totals per group of jobs, summed by the database.
//!
//! A KPI report over a year of a national network covers a million jobs. Reading those rows
//! into the server would cost seconds and hundreds of megabytes per request; the database
//! scans its own pages far faster and sends back one row per group. Every figure here adds up
//! across groups (means travel as total + count), so the overall figures are the groups' sum.

use std::collections::BTreeMap;

use shared::Timestamp;
use shared::status::Status;

use crate::JobIndex;

/// A rating at or below this is a complaint.
pub const LOW_RATING_MAX: i64 = 2;

/// A job on an appliance (same serial) serviced less than this long before it is a repeat visit.
pub const REPEAT_WINDOW_MS: i64 = 30 * Timestamp::DAY;

/// What the low-rating breakdown calls a job whose report names no cause.
pub const NO_CAUSE: &str = "(no cause recorded)";

/// How the sums are grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KpiKey {
    /// One group, named "".
    All,
    /// By assignee id ("" for jobs nobody holds).
    Technician,
    Category,
    /// By "brand model".
    BrandModel,
    /// By calendar day of creation at this offset from UTC, named `YYYY-MM-DD`.
    Day {
        offset_minutes: i32,
    },
}

impl KpiKey {
    /// The offset in milliseconds a day key shifts creation times by (0 for other keys).
    pub fn day_offset_ms(self) -> i64 {
        match self {
            KpiKey::Day { offset_minutes } => i64::from(offset_minutes) * Timestamp::MINUTE,
            _ => 0,
        }
    }

    /// The group's name for a day number (days since 1970-01-01 at the key's offset).
    pub fn day_name(day: i64) -> String {
        Timestamp(day.saturating_mul(Timestamp::DAY)).in_zone(0).chars().take(10).collect()
    }
}

/// A total and how many values went into it: the two halves of a mean.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Total {
    pub sum: f64,
    pub count: u64,
}

impl Total {
    fn add(&mut self, x: Option<f64>) {
        if let Some(x) = x {
            self.sum += x;
            self.count += 1;
        }
    }

    fn merge(&mut self, o: &Total) {
        self.sum += o.sum;
        self.count += o.count;
    }

    /// The mean, when there was anything to average.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// The counts and totals of one group of jobs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KpiSums {
    pub jobs: u64,
    pub completed: u64,
    pub cancelled: u64,
    pub self_service: u64,
    /// Milliseconds from creation to the first assignment.
    pub to_assign_ms: Total,
    /// Milliseconds of the first arrival after the arrive-by deadline (negative = early).
    pub arrival_vs_sla_ms: Total,
    /// Arrivals with a deadline that were on time.
    pub on_time: u64,
    /// Jobs fixed on the first visit (`sum`) among those where it is known (`count`).
    pub first_time_fix: Total,
    pub repeat_visits: u64,
    pub quote_minor: Total,
    pub final_minor: Total,
    pub rating: Total,
    pub low_ratings: u64,
    pub low_by_cause: BTreeMap<String, u64>,
    pub low_by_brand_model: BTreeMap<String, u64>,
}

impl KpiSums {
    /// Adds one job: the definition of every figure, row by row. The stores compute the same
    /// in SQL; their tests hold them to this.
    pub fn add_job(&mut self, i: &JobIndex, repeat: bool) {
        let f = &i.facts;
        let ms = |t: Timestamp| t.0 as f64;
        self.jobs += 1;
        self.completed += u64::from(f.completed_at.is_some());
        self.cancelled += u64::from(i.status == Status::Cancelled);
        self.self_service += u64::from(f.self_service);
        self.to_assign_ms.add(f.first_assigned_at.map(|a| ms(a) - ms(i.created_at)));
        let arrival = f.first_on_site_at.zip(i.arrive_by).map(|(on, by)| ms(on) - ms(by));
        self.arrival_vs_sla_ms.add(arrival);
        self.on_time += u64::from(arrival.is_some_and(|d| d <= 0.0));
        self.first_time_fix.add(f.first_time_fix.map(|x| if x { 1.0 } else { 0.0 }));
        self.repeat_visits += u64::from(repeat);
        self.quote_minor.add(f.quote_total.map(|x| x as f64));
        self.final_minor.add(f.final_total.map(|x| x as f64));
        self.rating.add(f.rating.map(|x| x as f64));
        if f.rating.is_some_and(|x| x <= LOW_RATING_MAX) {
            self.add_low_ratings(&f.cause, &format!("{} {}", i.brand, i.model), 1);
        }
    }

    /// Counts `n` low ratings of jobs with this cause and appliance.
    pub fn add_low_ratings(&mut self, cause: &str, brand_model: &str, n: u64) {
        self.low_ratings += n;
        let cause = if cause.trim().is_empty() { NO_CAUSE } else { cause };
        *self.low_by_cause.entry(cause.to_owned()).or_default() += n;
        *self.low_by_brand_model.entry(brand_model.to_owned()).or_default() += n;
    }

    /// Adds another group's sums to these.
    pub fn merge(&mut self, o: &KpiSums) {
        self.jobs += o.jobs;
        self.completed += o.completed;
        self.cancelled += o.cancelled;
        self.self_service += o.self_service;
        self.to_assign_ms.merge(&o.to_assign_ms);
        self.arrival_vs_sla_ms.merge(&o.arrival_vs_sla_ms);
        self.on_time += o.on_time;
        self.first_time_fix.merge(&o.first_time_fix);
        self.repeat_visits += o.repeat_visits;
        self.quote_minor.merge(&o.quote_minor);
        self.final_minor.merge(&o.final_minor);
        self.rating.merge(&o.rating);
        self.low_ratings += o.low_ratings;
        for (k, n) in &o.low_by_cause {
            *self.low_by_cause.entry(k.clone()).or_default() += n;
        }
        for (k, n) in &o.low_by_brand_model {
            *self.low_by_brand_model.entry(k.clone()).or_default() += n;
        }
    }
}

/// The group a job falls in under `key`: what the stores' SQL groups by.
pub fn group_of(key: KpiKey, i: &JobIndex) -> String {
    match key {
        KpiKey::All => String::new(),
        KpiKey::Technician => i.assignee.map(|t| t.to_string()).unwrap_or_default(),
        KpiKey::Category => i.category.as_str().to_owned(),
        KpiKey::BrandModel => format!("{} {}", i.brand, i.model),
        KpiKey::Day { .. } => KpiKey::day_name((i.created_at.0 + key.day_offset_ms()).div_euclid(Timestamp::DAY)),
    }
}

/// Sums over rows the caller already holds, grouped by `key`, each row with its repeat flag:
/// the reference the stores' SQL is tested against.
pub fn sums_of<'a>(rows: impl IntoIterator<Item = (&'a JobIndex, bool)>, key: KpiKey) -> BTreeMap<String, KpiSums> {
    let mut out: BTreeMap<String, KpiSums> = BTreeMap::new();
    for (i, repeat) in rows {
        out.entry(group_of(key, i)).or_default().add_job(i, repeat);
    }
    out
}
