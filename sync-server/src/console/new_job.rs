//! The new-job form: customer and appliance, priority (the SLA follows from policy) and an
//! appointment window, checked as you type by the same function the API runs.

use dioxus::prelude::*;
use shared::JobId;
use shared::i18n::{Lang, category_label, priority_label};
use shared::model::{Appliance, Category, Channel, Customer, Priority, Window};

use super::Console;
use super::job_panel::parse_local;

#[component]
pub fn NewJobForm(lang: Signal<Lang>, on_created: EventHandler<JobId>) -> Element {
    let ctx = use_context::<Console>();
    let mut name = use_signal(String::new);
    let mut phone = use_signal(String::new);
    let mut address = use_signal(String::new);
    let mut location = use_signal(String::new);
    let mut category = use_signal(|| "washer".to_owned());
    let mut brand = use_signal(String::new);
    let mut model = use_signal(String::new);
    let mut problem = use_signal(String::new);
    let mut priority = use_signal(|| Priority::Normal.rank().to_string());
    let mut hours = use_signal(|| "2".to_owned());
    let mut appointment = use_signal(String::new);
    let mut error = use_signal(|| None::<String>);
    let l = lang();

    let build = move || -> Result<shared::docs::NewJob, String> {
        let appointment = match appointment.read().trim() {
            "" => None,
            s => {
                // `datetime-local` gives local wall time; the office is in UTC+8 for now.
                let start = parse_local(s).ok_or("appointment: not a date and time")?;
                let h = hours.read().trim().parse::<i64>().ok().filter(|h| (1..=12).contains(h)).ok_or("appointment: 1 to 12 hours")?;
                Some(Window { start, end: start.plus_minutes(h * 60) })
            }
        };
        let job = shared::docs::NewJob {
            channel: Channel::Phone,
            priority: priority.read().parse().ok().and_then(Priority::from_rank).unwrap_or(Priority::Normal),
            customer: Customer {
                name: name.read().trim().to_owned(),
                phone: phone.read().trim().to_owned(),
                address: address.read().trim().to_owned(),
                location: match location.read().trim() {
                    "" => None,
                    s => {
                        let (lat, lon) = s.split_once(',').ok_or("location: lat, lon")?;
                        let p = shared::model::GeoPoint {
                            lat: lat.trim().parse().map_err(|_| "location: lat, lon")?,
                            lon: lon.trim().parse().map_err(|_| "location: lat, lon")?,
                        };
                        Some(p)
                    }
                },
            },
            appliance: Appliance {
                category: Category::parse(&category.read()).unwrap_or(Category::Other),
                brand: brand.read().trim().to_owned(),
                model: model.read().trim().to_owned(),
                serial: String::new(),
                purchase_date: String::new(),
                warranty_months: 0,
            },
            problem: problem.read().trim().to_owned(),
            sla: Default::default(),
            appointment,
            currency: "CNY".into(),
        };
        job.check().map_err(|e| e.to_string())?;
        Ok(job)
    };
    // Validation as you type: the same check the API runs.
    let live_error = if name.read().is_empty() && problem.read().is_empty() { None } else { build().err() };
    let submit = move |e: FormEvent| {
        e.prevent_default();
        let ctx = ctx.clone();
        let job = build();
        spawn(async move {
            let actor = match ctx.require(crate::accounts::Role::Dispatcher).await {
                Ok(a) => a,
                Err(e) => return error.set(Some(e)),
            };
            match job {
                Err(e) => error.set(Some(e)),
                Ok(job) => match crate::jobs::create(&ctx.state, job, &actor.name).await {
                    Ok(id) => {
                        ctx.audit("create job", serde_json::json!({ "job": id })).await;
                        on_created.call(id);
                    }
                    Err(e) => error.set(Some(e.to_string())),
                },
            }
        });
    };
    rsx! {
        form { class: "new-job", "data-testid": "new-job", onsubmit: submit,
            h2 { {l.t("新建工单", "New job")} }
            label { {l.t("客户姓名", "Customer name")} input { "data-testid": "customer-name", value: "{name}", oninput: move |e| name.set(e.value()) } }
            label { {l.t("电话", "Phone")} input { "data-testid": "customer-phone", value: "{phone}", oninput: move |e| phone.set(e.value()) } }
            label { {l.t("地址", "Address")} input { "data-testid": "customer-address", value: "{address}", oninput: move |e| address.set(e.value()) } }
            label { {l.t("位置（纬度, 经度，可选：用于推荐与地图）", "Location (lat, lon; optional: for suggestions and the map)")} input { "data-testid": "customer-location", placeholder: "31.23, 121.47", value: "{location}", oninput: move |e| location.set(e.value()) } }
            label { {l.t("品类", "Category")}
                select { "data-testid": "category", value: "{category}", onchange: move |e| category.set(e.value()),
                    for c in Category::ALL { option { value: "{c.as_str()}", {category_label(l, c)} } }
                }
            }
            label { {l.t("品牌", "Brand")} input { "data-testid": "brand", value: "{brand}", oninput: move |e| brand.set(e.value()) } }
            label { {l.t("型号", "Model")} input { "data-testid": "model", value: "{model}", oninput: move |e| model.set(e.value()) } }
            label { {l.t("故障描述", "Problem")} textarea { "data-testid": "problem", value: "{problem}", oninput: move |e| problem.set(e.value()) } }
            label { {l.t("优先级", "Priority")}
                select { "data-testid": "priority", value: "{priority}", onchange: move |e| priority.set(e.value()),
                    for p in Priority::ALL { option { value: "{p.rank()}", {priority_label(l, p)} } }
                }
            }
            label { {l.t("预约时间（北京时间）", "Appointment (Beijing time)")} input { r#type: "datetime-local", "data-testid": "appointment", value: "{appointment}", oninput: move |e| appointment.set(e.value()) } }
            label { {l.t("预约时长（小时）", "Appointment window (hours)")} input { r#type: "number", min: "1", max: "12", "data-testid": "appointment-hours", value: "{hours}", oninput: move |e| hours.set(e.value()) } }
            if let Some(e) = live_error.or(error()) {
                p { class: "error", "data-testid": "form-error", "{e}" }
            }
            button { r#type: "submit", "data-testid": "create", {l.t("创建", "Create")} }
        }
    }
}
