//! KPIs as charts over a chosen period: response, on-time arrival, first-time fix, repeat
//! visits, satisfaction and complaints by brand and model, per technician; exported as CSV.

use std::collections::HashMap;

use dioxus::prelude::*;
use shared::Timestamp;
use shared::i18n::Lang;

use super::Console;
use super::charts::{Bar, BarChart};
use super::job_panel::OFFICE_OFFSET_MIN;
use crate::kpi::{self, Kpis};
use crate::store::KpiKey;

/// A `date` input's value (an office calendar day) as the instant it starts.
fn day_start(s: &str) -> Option<Timestamp> {
    Timestamp::parse_rfc3339(&format!("{}T00:00:00+08:00", s.trim()))
}

/// The office calendar day of an instant, as a `date` input shows it.
fn day_of(t: Timestamp) -> String {
    t.in_zone(OFFICE_OFFSET_MIN).chars().take(10).collect()
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// Everything the page draws for one period.
#[derive(Clone, PartialEq)]
struct Report {
    overall: Kpis,
    by_day: Vec<(String, Kpis)>,
    by_tech: Vec<(String, Kpis)>,
}

async fn report(ctx: &Console, from: Timestamp, to: Timestamp) -> Result<Report, String> {
    let store = ctx.state.store.as_ref();
    let names: HashMap<String, String> =
        store.technicians().await.map_err(|e| e.to_string())?.into_iter().map(|t| (t.id.to_string(), t.name)).collect();
    let (overall, by_day) =
        kpi::report(store, from, to, KpiKey::Day { offset_minutes: OFFICE_OFFSET_MIN }).await.map_err(|e| e.to_string())?;
    let (_, by_tech) = kpi::report(store, from, to, KpiKey::Technician).await.map_err(|e| e.to_string())?;
    let mut by_tech: Vec<(String, Kpis)> =
        by_tech.into_iter().filter(|(id, _)| !id.is_empty()).map(|(id, k)| (names.get(&id).cloned().unwrap_or(id), k)).collect();
    by_tech.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Report { overall, by_day: by_day.into_iter().collect(), by_tech })
}

fn bars(list: &[(String, Kpis)], value: impl Fn(&Kpis) -> Option<f64>, text: impl Fn(f64) -> String) -> Vec<Bar> {
    list.iter().filter_map(|(k, v)| value(v).map(|x| Bar::new(k.clone(), x, text(x)))).collect()
}

#[component]
pub fn KpiPage(lang: Signal<Lang>) -> Element {
    let ctx = use_context::<Console>();
    let today = Timestamp::now().start_of_local_day(OFFICE_OFFSET_MIN);
    let mut from = use_signal(|| day_of(today.plus_minutes(-29 * 24 * 60)));
    let mut to = use_signal(|| day_of(today));
    let l = lang();
    let period = match (day_start(&from.read()), day_start(&to.read())) {
        (Some(f), Some(t)) if f <= t => Ok((f, t.plus_minutes(24 * 60))),
        (Some(_), Some(_)) => Err(l.t("开始日期须不晚于结束日期", "The first day must not be after the last")),
        _ => Err(l.t("请选择日期", "Pick both days")),
    };
    let load_ctx = ctx.clone();
    let data = use_resource(move || {
        let ctx = load_ctx.clone();
        let (f, t) = (from(), to());
        async move {
            match (day_start(&f), day_start(&t)) {
                (Some(f), Some(t)) if f <= t => Some(report(&ctx, f, t.plus_minutes(24 * 60)).await),
                _ => None,
            }
        }
    });
    let csv = period.map(|(f, t)| format!("/admin/v1/kpis.csv?from={}&to={}&group_by=technician", f.to_rfc3339(), t.to_rfc3339()));
    let none = l.t("该期间没有数据", "No data in this period").to_owned();
    rsx! {
        section { class: "kpis", "data-testid": "kpis",
            form { class: "filters", onsubmit: move |e| e.prevent_default(),
                label { {l.t("从", "From")} input { r#type: "date", "data-testid": "kpi-from", value: "{from}", oninput: move |e| from.set(e.value()) } }
                label { {l.t("到", "To")} input { r#type: "date", "data-testid": "kpi-to", value: "{to}", oninput: move |e| to.set(e.value()) } }
                match &csv {
                    Ok(href) => rsx! { a { class: "button", href: "{href}", download: "", "data-testid": "kpi-csv", {l.t("导出 CSV", "Export CSV")} } },
                    Err(e) => rsx! { span { class: "error", "{e}" } },
                }
            }
            match &*data.read() {
                None | Some(None) => rsx! { p { {l.t("载入中…", "Loading…")} } },
                Some(Some(Err(e))) => rsx! { p { class: "error", "{e}" } },
                Some(Some(Ok(r))) => rsx! {
                    div { class: "tiles", "data-testid": "kpi-tiles",
                        Tile { label: l.t("工单", "Jobs"), value: r.overall.jobs.to_string() }
                        Tile { label: l.t("完工", "Completed"), value: r.overall.completed.to_string() }
                        Tile { label: l.t("平均派单用时", "Mean time to assign"), value: r.overall.avg_minutes_to_assign.map(|m| format!("{m:.0} min")).unwrap_or("—".into()) }
                        Tile { label: l.t("准时到场", "On time"), value: r.overall.on_time_rate.map(pct).unwrap_or("—".into()) }
                        Tile { label: l.t("一次修复", "First-time fix"), value: r.overall.first_time_fix_rate.map(pct).unwrap_or("—".into()) }
                        Tile { label: l.t("返修", "Repeat visits"), value: r.overall.repeat_visits.to_string() }
                        Tile { label: l.t("平均评分", "Mean rating"), value: r.overall.avg_rating.map(|x| format!("{x:.1} / 5")).unwrap_or("—".into()) }
                        Tile { label: l.t("差评", "Complaints"), value: r.overall.low_ratings.to_string() }
                    }
                    div { class: "charts",
                        BarChart { title: l.t("响应：每天平均派单用时（分钟）", "Response: mean minutes to assign, by day").to_owned(), test_id: "response",
                            bars: bars(&r.by_day, |k| k.avg_minutes_to_assign, |x| format!("{x:.0}")), max: None, empty: none.clone() }
                        BarChart { title: l.t("准时到场率（按技师）", "On-time arrival, by technician").to_owned(), test_id: "on-time",
                            bars: bars(&r.by_tech, |k| k.on_time_rate, pct), max: Some(1.0), empty: none.clone() }
                        BarChart { title: l.t("一次修复率（按技师）", "First-time fix, by technician").to_owned(), test_id: "first-time-fix",
                            bars: bars(&r.by_tech, |k| k.first_time_fix_rate, pct), max: Some(1.0), empty: none.clone() }
                        BarChart { title: l.t("返修次数（按技师）", "Repeat visits, by technician").to_owned(), test_id: "repeat-visits",
                            bars: bars(&r.by_tech, |k| Some(k.repeat_visits as f64), |x| format!("{x:.0}")), max: None, empty: none.clone() }
                        BarChart { title: l.t("客户满意度（按技师，平均评分）", "Satisfaction: mean rating, by technician").to_owned(), test_id: "satisfaction",
                            bars: bars(&r.by_tech, |k| k.avg_rating, |x| format!("{x:.1}")), max: Some(5.0), empty: none.clone() }
                        BarChart { title: l.t("投诉（差评）按品牌型号", "Complaints (low ratings) by brand and model").to_owned(), test_id: "complaints",
                            bars: r.overall.complaints_by_brand_model.iter().map(|(k, n)| Bar::new(k.clone(), *n as f64, n.to_string())).collect::<Vec<_>>(),
                            max: None, empty: none.clone() }
                        BarChart { title: l.t("工单数（按技师）", "Jobs, by technician").to_owned(), test_id: "jobs",
                            bars: bars(&r.by_tech, |k| Some(k.jobs as f64), |x| format!("{x:.0}")), max: None, empty: none.clone() }
                    }
                },
            }
        }
    }
}

#[component]
fn Tile(label: &'static str, value: String) -> Element {
    rsx! {
        div { class: "tile", span { "{label}" } strong { "{value}" } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_an_office_day() {
        let d = day_start("2026-12-04").unwrap();
        assert_eq!(d, Timestamp::parse_rfc3339("2026-12-03T16:00:00Z").unwrap());
        assert_eq!(day_of(d), "2026-12-04");
        assert_eq!(day_start("yesterday"), None);
    }
}
