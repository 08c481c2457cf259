//! KPIs over a date range, from the facts each job's events leave in the index.

use std::collections::BTreeMap;

use serde::Serialize;
use shared::Timestamp;

use crate::store::{KpiKey, KpiSums};

pub use crate::store::kpi::LOW_RATING_MAX;

#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
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

/// Rounded to two decimals, as reports show them.
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn rate(hits: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| (hits as f64 / of as f64 * 10_000.0).round() / 10_000.0)
}

impl From<&KpiSums> for Kpis {
    fn from(s: &KpiSums) -> Self {
        let minutes = |ms: Option<f64>| ms.map(|x| round2(x / Timestamp::MINUTE as f64));
        Kpis {
            jobs: s.jobs,
            completed: s.completed,
            cancelled: s.cancelled,
            self_service: s.self_service,
            avg_minutes_to_assign: minutes(s.to_assign_ms.mean()),
            avg_minutes_arrival_vs_sla: minutes(s.arrival_vs_sla_ms.mean()),
            on_time_rate: rate(s.on_time, s.arrival_vs_sla_ms.count),
            first_time_fix_rate: rate(s.first_time_fix.sum as u64, s.first_time_fix.count),
            repeat_visits: s.repeat_visits,
            avg_quote_minor: s.quote_minor.mean().map(round2),
            avg_final_minor: s.final_minor.mean().map(round2),
            avg_rating: s.rating.mean().map(round2),
            low_ratings: s.low_ratings,
            low_ratings_by_cause: s.low_by_cause.clone(),
            complaints_by_brand_model: s.low_by_brand_model.clone(),
        }
    }
}

/// The KPIs of a period: overall, and per group under `key` (none for [`KpiKey::All`]). The
/// database sums each group; the overall figures are the groups' sums added up.
pub async fn report(
    store: &dyn crate::store::Store,
    from: Timestamp,
    to: Timestamp,
    key: KpiKey,
) -> Result<(Kpis, BTreeMap<String, Kpis>), crate::store::StoreError> {
    let groups = store.kpi_sums(from, to, key).await?;
    let mut all = KpiSums::default();
    for (_, s) in &groups {
        all.merge(s);
    }
    let groups = if key == KpiKey::All { BTreeMap::new() } else { groups.iter().map(|(k, s)| (k.clone(), Kpis::from(s))).collect() };
    Ok((Kpis::from(&all), groups))
}

/// The columns of a KPI spreadsheet, in order.
const CSV_HEADER: [&str; 15] = [
    "group",
    "jobs",
    "completed",
    "cancelled",
    "self_service",
    "avg_minutes_to_assign",
    "avg_minutes_arrival_vs_sla",
    "on_time_rate",
    "first_time_fix_rate",
    "repeat_visits",
    "avg_quote_minor",
    "avg_final_minor",
    "avg_rating",
    "low_ratings",
    "top_complaint",
];

/// A cell a spreadsheet will not run as a formula: brand and model names come from anyone.
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() }
}

fn opt(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// KPIs as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read Chinese names right).
pub fn to_csv<'a>(overall: &'a Kpis, groups: impl IntoIterator<Item = (&'a str, &'a Kpis)>) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER)?;
    for (name, k) in std::iter::once(("(overall)", overall)).chain(groups) {
        let top = k.complaints_by_brand_model.iter().max_by_key(|(_, n)| **n).map(|(m, n)| format!("{m} ({n})")).unwrap_or_default();
        w.write_record([
            cell(name),
            k.jobs.to_string(),
            k.completed.to_string(),
            k.cancelled.to_string(),
            k.self_service.to_string(),
            opt(k.avg_minutes_to_assign),
            opt(k.avg_minutes_arrival_vs_sla),
            opt(k.on_time_rate),
            opt(k.first_time_fix_rate),
            k.repeat_visits.to_string(),
            opt(k.avg_quote_minor),
            opt(k.avg_final_minor),
            opt(k.avg_rating),
            k.low_ratings.to_string(),
            cell(&top),
        ])?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(format!("\u{feff}{}", String::from_utf8_lossy(&bytes)))
}

#[cfg(test)]
mod tests {
    use automerge::ActorId;
    use shared::docs::{NewJob, create_job, read_dispatch, read_field};
    use shared::edit::{DispatchEdit, FieldActor, FieldEdit, apply_dispatch_edit, apply_field_edit};
    use shared::model::*;
    use shared::signature::Strokes;
    use shared::status::derive;
    use shared::{DeviceId, ItemId, TechnicianId, Timestamp};

    use super::*;
    use crate::jobs::index_of;
    use crate::store::JobIndex;

    const T0: Timestamp = Timestamp(1_795_000_000_000);
    const MIN: i64 = Timestamp::MINUTE;

    fn new_job(serial: &str, brand: &str) -> NewJob {
        NewJob {
            channel: Channel::Phone,
            priority: Priority::Normal,
            customer: Customer {
                name: "c".into(),
                phone: String::new(),
                address: String::new(),
                location: Some(shared::model::GeoPoint { lat: 31.2, lon: 121.4 }),
            },
            appliance: Appliance {
                category: Category::Washer,
                brand: brand.into(),
                model: "M1".into(),
                serial: serial.into(),
                purchase_date: String::new(),
                warranty_months: 12,
            },
            problem: "p".into(),
            sla: Sla { respond_by: None, arrive_by: Some(Timestamp(T0.0 + 120 * MIN)), resolve_by: None },
            appointment: None,
            currency: "CNY".into(),
        }
    }

    /// One job through a scripted life; times in minutes after T0.
    struct Script<'a> {
        serial: &'a str,
        brand: &'a str,
        created: i64,
        assigned: Option<i64>,
        /// (minute, action)
        field: &'a [(i64, FieldAction)],
        quote: Option<i64>,
        rating: Option<u8>,
        cause: &'a str,
    }

    fn run(s: &Script) -> JobIndex {
        let tech = FieldActor { technician: TechnicianId::new(), device: DeviceId::new(), name: "t".into() };
        let at = |m: i64| Timestamp(T0.0 + m * MIN);
        let mut docs = create_job(new_job(s.serial, s.brand), "d", at(s.created), ActorId::random()).unwrap();
        if let Some(m) = s.assigned {
            let f = read_field(&docs.field).unwrap();
            apply_dispatch_edit(&mut docs.dispatch, &f, "d", at(m), DispatchEdit::Assign { technician: tech.technician }).unwrap();
        }
        let d = read_dispatch(&docs.dispatch).unwrap();
        let edit = |docs: &mut shared::docs::NewJobDocs, m: i64, e: FieldEdit| {
            apply_field_edit(&mut docs.field, &d, &tech, at(m), e).unwrap();
        };
        for &(m, action) in s.field {
            if action == FieldAction::Complete {
                if let Some(price) = s.quote {
                    let line = LineItem {
                        id: ItemId::new(),
                        kind: LineKind::Labor,
                        code: "L".into(),
                        description: "l".into(),
                        quantity: 1,
                        unit_price_minor: price,
                    };
                    edit(&mut docs, m, FieldEdit::UpsertLine { line });
                    let f = read_field(&docs.field).unwrap();
                    let shown = shared::approval::content_hash(SignaturePurpose::QuoteApproval, &d, &f).unwrap();
                    let strokes = Strokes(vec![vec![(0, 0), (5, 5)]]);
                    edit(
                        &mut docs,
                        m,
                        FieldEdit::Sign { purpose: SignaturePurpose::QuoteApproval, signer: "c".into(), strokes, shown_hash: shown },
                    );
                }
                edit(
                    &mut docs,
                    m,
                    FieldEdit::SetReport { report: Report { cause: s.cause.into(), method: "m".into(), warranty_days: 30 } },
                );
            }
            edit(&mut docs, m, FieldEdit::Status { action, location: d.customer.location, reason: String::new() });
        }
        if let Some(score) = s.rating {
            edit(&mut docs, 500, FieldEdit::Rate { score, comment: String::new() });
        }
        let index = index_of(&mut docs.dispatch, &mut docs.field, &Default::default()).unwrap();
        let _ = derive(&d, &read_field(&docs.field).unwrap());
        index
    }

    fn compute(rows: &[JobIndex]) -> Kpis {
        Kpis::from(&crate::store::kpi::sums_of(rows.iter().map(|i| (i, false)), KpiKey::All)[""])
    }

    use FieldAction::*;

    #[test]
    fn kpis_match_hand_computed_values() {
        let rows = vec![
            // A: assigned after 10 min, on site at 100 (20 early), fixed first visit, 300.00, rated 5.
            run(&Script {
                serial: "A",
                brand: "Haier",
                created: 0,
                assigned: Some(10),
                field: &[(20, Accept), (100, CheckIn), (110, Start), (150, Complete)],
                quote: Some(300_00),
                rating: Some(5),
                cause: "pump",
            }),
            // B: assigned after 30 min, on site at 150 (30 late), on hold, back, completed: not a first-time fix; 500.00, rated 2.
            run(&Script {
                serial: "B",
                brand: "Midea",
                created: 0,
                assigned: Some(30),
                field: &[
                    (40, Accept),
                    (150, CheckIn),
                    (160, Start),
                    (170, Hold),
                    (200, EnRoute),
                    (230, CheckIn),
                    (240, Start),
                    (260, Complete),
                ],
                quote: Some(500_00),
                rating: Some(2),
                cause: "door lock",
            }),
            // C: never assigned.
            run(&Script { serial: "C", brand: "Haier", created: 5, assigned: None, field: &[], quote: None, rating: None, cause: "" }),
        ];
        let k = compute(&rows);
        assert_eq!((k.jobs, k.completed, k.cancelled), (3, 2, 0));
        // (10 + 30) / 2 minutes to assign (C has none).
        assert_eq!(k.avg_minutes_to_assign, Some(20.0));
        // Arrival vs arrive-by (120): A -20, B +30 -> mean 5; one of two on time.
        assert_eq!(k.avg_minutes_arrival_vs_sla, Some(5.0));
        assert_eq!(k.on_time_rate, Some(0.5));
        assert_eq!(k.first_time_fix_rate, Some(0.5));
        assert_eq!(k.avg_quote_minor, Some(400_00.0));
        assert_eq!(k.avg_final_minor, Some(400_00.0));
        assert_eq!(k.avg_rating, Some(3.5));
        assert_eq!(k.low_ratings, 1);
        assert_eq!(k.low_ratings_by_cause.get("door lock"), Some(&1));
        assert_eq!(k.complaints_by_brand_model.get("Midea M1"), Some(&1));

        let by_model = crate::store::kpi::sums_of(rows.iter().map(|i| (i, false)), KpiKey::BrandModel);
        assert_eq!(by_model["Haier M1"].jobs, 2);
        assert_eq!(Kpis::from(&by_model["Haier M1"]).first_time_fix_rate, Some(1.0));
        assert_eq!(Kpis::from(&by_model["Midea M1"]).avg_rating, Some(2.0));
    }

    #[test]
    fn a_spreadsheet_never_runs_a_cell() {
        let mut k = Kpis { jobs: 2, on_time_rate: Some(0.5), ..Kpis::default() };
        k.complaints_by_brand_model.insert("=HYPERLINK(\"x\") M1".into(), 3);
        let csv = to_csv(&k, [("李明", &k), ("-1+1", &k)]).unwrap();
        let mut lines = csv.trim_start_matches('\u{feff}').lines();
        assert_eq!(lines.next().unwrap().split(',').count(), CSV_HEADER.len());
        assert!(lines.next().unwrap().starts_with("(overall),2,0,0,0,,,0.5,"));
        assert!(lines.next().unwrap().starts_with("李明,2,"));
        let third = lines.next().unwrap();
        assert!(third.starts_with("'-1+1,"), "{third}");
        assert!(third.contains("'=HYPERLINK"), "{third}");
        assert!(csv.starts_with('\u{feff}'), "Excel reads UTF-8 only with the mark");
    }
}
