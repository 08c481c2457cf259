//! KPIs over a date range, from the facts each job's events leave in the index.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::store::KpiRow;

/// A rating at or below this is a complaint.
pub const LOW_RATING_MAX: i64 = 2;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Kpis {
    pub jobs: u64,
    pub completed: u64,
    pub cancelled: u64,
    pub self_service: u64,
    /// Mean minutes from creation to first assignment.
    pub avg_minutes_to_assign: Option<f64>,
    /// Mean minutes of arrival (first on site) relative to the SLA's arrive-by (negative = early).
    pub avg_minutes_arrival_vs_sla: Option<f64>,
    /// Share of arrivals with an SLA that were on time.
    pub on_time_rate: Option<f64>,
    /// Share of completed jobs fixed on the first visit.
    pub first_time_fix_rate: Option<f64>,
    /// Jobs on an appliance serviced in the 30 days before.
    pub repeat_visits: u64,
    pub avg_quote_minor: Option<f64>,
    pub avg_final_minor: Option<f64>,
    pub avg_rating: Option<f64>,
    pub low_ratings: u64,
    pub low_ratings_by_cause: BTreeMap<String, u64>,
    pub complaints_by_brand_model: BTreeMap<String, u64>,
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = xs.fold((0.0, 0u64), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| (sum / n as f64 * 100.0).round() / 100.0)
}

fn rate(hits: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| (hits as f64 / of as f64 * 10_000.0).round() / 10_000.0)
}

pub fn compute<'a>(rows: impl IntoIterator<Item = &'a KpiRow>) -> Kpis {
    let all: Vec<&KpiRow> = rows.into_iter().collect();
    let mut k = Kpis { jobs: all.len() as u64, ..Kpis::default() };
    k.completed = all.iter().filter(|r| r.index.facts.completed_at.is_some()).count() as u64;
    k.cancelled = all.iter().filter(|r| r.index.status == "cancelled").count() as u64;
    k.self_service = all.iter().filter(|r| r.index.facts.self_service).count() as u64;
    k.avg_minutes_to_assign = mean(
        all.iter().filter_map(|r| r.index.facts.first_assigned_at.map(|a| (a.0 - r.index.created_at.0) as f64 / 60_000.0)),
    );
    let arrivals: Vec<i64> =
        all.iter().filter_map(|r| r.index.facts.first_on_site_at.zip(r.index.arrive_by).map(|(on, by)| on.0 - by.0)).collect();
    k.avg_minutes_arrival_vs_sla = mean(arrivals.iter().map(|d| *d as f64 / 60_000.0));
    k.on_time_rate = rate(arrivals.iter().filter(|d| **d <= 0).count(), arrivals.len());
    let fixes: Vec<bool> = all.iter().filter_map(|r| r.index.facts.first_time_fix).collect();
    k.first_time_fix_rate = rate(fixes.iter().filter(|x| **x).count(), fixes.len());
    k.repeat_visits = all.iter().filter(|r| r.repeat).count() as u64;
    k.avg_quote_minor = mean(all.iter().filter_map(|r| r.index.facts.quote_total.map(|x| x as f64)));
    k.avg_final_minor = mean(all.iter().filter_map(|r| r.index.facts.final_total.map(|x| x as f64)));
    k.avg_rating = mean(all.iter().filter_map(|r| r.index.facts.rating.map(|x| x as f64)));
    for r in all.iter().filter(|r| r.index.facts.rating.is_some_and(|x| x <= LOW_RATING_MAX)) {
        k.low_ratings += 1;
        let cause = if r.index.facts.cause.trim().is_empty() { "(no cause recorded)".to_owned() } else { r.index.facts.cause.clone() };
        *k.low_ratings_by_cause.entry(cause).or_default() += 1;
        *k.complaints_by_brand_model.entry(format!("{} {}", r.index.brand, r.index.model)).or_default() += 1;
    }
    k
}

/// KPIs grouped by `key` (technician, category, brand+model).
pub fn grouped(rows: &[KpiRow], key: impl Fn(&KpiRow) -> String) -> BTreeMap<String, Kpis> {
    let mut groups: BTreeMap<String, Vec<&KpiRow>> = BTreeMap::new();
    for r in rows {
        groups.entry(key(r)).or_default().push(r);
    }
    groups.into_iter().map(|(k, v)| (k, compute(v.iter().copied()))).collect()
}
