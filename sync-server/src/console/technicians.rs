//! Technicians: who they are, what they are trained for, where they start the day and when they
//! work; deactivate and reactivate; their devices; a pairing code shown as a QR code the phone's
//! camera opens straight into the app.

use dioxus::prelude::*;
use shared::i18n::{Lang, category_label};
use shared::model::{Category, GeoPoint};
use shared::{DeviceId, TechnicianId, Timestamp};

use super::Console;
use super::job_panel::OFFICE_OFFSET_MIN;
use crate::accounts::Role;
use crate::admin::{NewTechnician, PairingCode};
use crate::store::{DeviceRecord, Technician, WorkingHours};

fn hhmm(min: u16) -> String {
    format!("{:02}:{:02}", min / 60, min % 60)
}

fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60).then(|| h * 60 + m).filter(|t| *t <= 24 * 60)
}

/// The editor's fields as typed.
#[derive(Clone, Debug, Default, PartialEq)]
struct Draft {
    name: String,
    phone: String,
    skills: Vec<Category>,
    brands: String,
    level: u8,
    home: String,
    start: String,
    end: String,
    /// The zone the hours are in (kept as stored; new hours are the office's).
    utc_offset_min: i32,
}

impl Draft {
    fn of(t: &Technician) -> Self {
        Draft {
            name: t.name.clone(),
            phone: t.phone.clone(),
            skills: t.skills.iter().filter_map(|s| Category::parse(s)).collect(),
            brands: t.brands.join(", "),
            level: t.level,
            home: t.home.map(|h| format!("{}, {}", h.lat, h.lon)).unwrap_or_default(),
            start: t.working_hours.map(|w| hhmm(w.start_min)).unwrap_or_default(),
            end: t.working_hours.map(|w| hhmm(w.end_min)).unwrap_or_default(),
            utc_offset_min: t.working_hours.map_or(OFFICE_OFFSET_MIN, |w| w.utc_offset_min),
        }
    }

    fn new() -> Self {
        Draft { level: 1, start: "08:00".into(), end: "18:00".into(), utc_offset_min: OFFICE_OFFSET_MIN, ..Draft::default() }
    }

    /// The request the API would take, and the working hours, or what is wrong.
    fn build(&self) -> Result<(NewTechnician, Option<WorkingHours>), String> {
        let home = match self.home.trim() {
            "" => None,
            s => {
                let (lat, lon) = s.split_once(',').ok_or("home: lat, lon")?;
                Some(GeoPoint {
                    lat: lat.trim().parse().map_err(|_| "home: lat, lon")?,
                    lon: lon.trim().parse().map_err(|_| "home: lat, lon")?,
                })
            }
        };
        let hours = match (self.start.trim(), self.end.trim()) {
            ("", "") => None,
            (s, e) => Some(WorkingHours {
                start_min: parse_hhmm(s).ok_or("working hours: HH:MM")?,
                end_min: parse_hhmm(e).ok_or("working hours: HH:MM")?,
                utc_offset_min: self.utc_offset_min,
            }),
        };
        let t = NewTechnician {
            name: self.name.clone(),
            phone: self.phone.clone(),
            skills: self.skills.iter().map(|c| c.as_str().to_owned()).collect(),
            brands: self.brands.split([',', '，']).map(str::trim).filter(|b| !b.is_empty()).map(str::to_owned).collect(),
            level: Some(self.level),
            home,
        };
        crate::admin::check_technician(&t).map_err(|e| e.to_string())?;
        if let Some(h) = &hours {
            crate::admin::check_hours(h).map_err(|e| e.to_string())?;
        }
        Ok((t, hours))
    }
}

/// Saves a draft through the same checks as the API: new when `id` is `None`.
async fn save(ctx: &Console, id: Option<TechnicianId>, draft: Draft) -> Result<Technician, String> {
    ctx.require(Role::Admin).await?;
    let (t, hours) = draft.build()?;
    let mut saved = crate::admin::save_technician(&ctx.state, id, t).await.map_err(|e| e.to_string())?;
    if saved.working_hours != hours {
        saved = crate::admin::save_hours(&ctx.state, saved.id, hours).await.map_err(|e| e.to_string())?;
    }
    ctx.audit("save technician", serde_json::json!({ "technician": saved.id })).await;
    Ok(saved)
}

#[component]
pub fn TechnicianPage(lang: Signal<Lang>) -> Element {
    let ctx = use_context::<Console>();
    let mut version = use_signal(|| 0u32);
    let mut selected = use_signal(|| None::<Option<TechnicianId>>);
    let list_ctx = ctx.clone();
    let list = use_resource(move || {
        let ctx = list_ctx.clone();
        let _ = version();
        async move {
            let mut out = Vec::new();
            for t in ctx.state.store.technicians().await.unwrap_or_default() {
                let seen = ctx.state.store.location(t.id).await.ok().flatten();
                out.push((t, seen));
            }
            out.sort_by(|a, b| (!a.0.active, &a.0.name).cmp(&(!b.0.active, &b.0.name)));
            out
        }
    });
    let l = lang();
    let admin = ctx.can_admin();
    rsx! {
        div { class: "board",
            section { class: "lists", "data-testid": "technicians",
                if admin {
                    button { "data-testid": "new-technician", onclick: move |_| selected.set(Some(None)), {l.t("新增技师", "Add technician")} }
                }
                table {
                    thead { tr {
                        th { {l.t("姓名", "Name")} } th { {l.t("电话", "Phone")} } th { {l.t("等级", "Level")} }
                        th { {l.t("技能", "Skills")} } th { {l.t("品牌", "Brands")} } th { {l.t("工作时间", "Hours")} }
                        th { {l.t("最后定位", "Last check-in")} } th { {l.t("状态", "State")} }
                    } }
                    tbody {
                        for (t, seen) in list.read().iter().flatten() {
                            TechRow { key: "{t.id}", lang, t: t.clone(), seen: *seen, on_open: move |id| selected.set(Some(Some(id))) }
                        }
                    }
                }
            }
            if let Some(which) = selected() {
                TechnicianPanel { key: "{which:?}-{version}", lang, id: which, on_saved: move |id| { selected.set(Some(Some(id))); version += 1; } }
            }
        }
    }
}

#[component]
fn TechRow(lang: Signal<Lang>, t: Technician, seen: Option<(GeoPoint, Timestamp)>, on_open: EventHandler<TechnicianId>) -> Element {
    let l = lang();
    let skills: Vec<&str> = t.skills.iter().filter_map(|s| Category::parse(s)).map(|c| category_label(l, c)).collect();
    let hours = t.working_hours.map(|w| format!("{}–{}", hhmm(w.start_min), hhmm(w.end_min))).unwrap_or_default();
    let seen = seen.map(|(p, at)| format!("{} ({:.3}, {:.3})", at.in_zone(OFFICE_OFFSET_MIN), p.lat, p.lon)).unwrap_or_else(|| "—".into());
    let id = t.id;
    rsx! {
        tr { "data-testid": "technician-row", "data-active": "{t.active}", class: if t.active { "" } else { "inactive" }, onclick: move |_| on_open.call(id),
            td { "{t.name}" } td { "{t.phone}" } td { "{t.level}" } td { {skills.join("、")} } td { {t.brands.join(", ")} }
            td { "{hours}" } td { "{seen}" }
            td { if t.active { {l.t("在岗", "Active")} } else { {l.t("已停用", "Deactivated")} } }
        }
    }
}

/// One technician's editor, devices and pairing code (`id` is `None` for a new one).
#[component]
fn TechnicianPanel(lang: Signal<Lang>, id: Option<TechnicianId>, on_saved: EventHandler<TechnicianId>) -> Element {
    let ctx = use_context::<Console>();
    let admin = ctx.can_admin();
    let mut draft = use_signal(Draft::new);
    let mut existing = use_signal(|| None::<Technician>);
    let mut devices = use_signal(Vec::<DeviceRecord>::new);
    let mut message = use_signal(|| None::<String>);
    let mut code = use_signal(|| None::<PairingCode>);
    let load_ctx = ctx.clone();
    use_future(move || {
        let ctx = load_ctx.clone();
        async move {
            let Some(id) = id else { return };
            if let Ok(Some(t)) = ctx.state.store.technician(id).await {
                draft.set(Draft::of(&t));
                existing.set(Some(t));
            }
            devices.set(ctx.state.store.devices_of(id).await.unwrap_or_default());
        }
    });
    let l = lang();
    let live_error = if id.is_none() && draft.read().name.is_empty() { None } else { draft.read().build().err() };
    let save_ctx = ctx.clone();
    let on_save = move |e: FormEvent| {
        e.prevent_default();
        let ctx = save_ctx.clone();
        let d = draft();
        spawn(async move {
            match save(&ctx, id, d).await {
                Ok(t) => on_saved.call(t.id),
                Err(e) => message.set(Some(e)),
            }
        });
    };
    let toggle_ctx = ctx.clone();
    let toggle = move |_| {
        let ctx = toggle_ctx.clone();
        let Some(t) = existing() else { return };
        spawn(async move {
            if let Err(e) = ctx.require(Role::Admin).await {
                return message.set(Some(e));
            }
            let active = !t.active;
            match crate::admin::set_active(&ctx.state, t.id, active).await {
                Ok(t) => {
                    ctx.audit(
                        if active { "reactivate technician" } else { "deactivate technician" },
                        serde_json::json!({ "technician": t.id }),
                    )
                    .await;
                    on_saved.call(t.id);
                }
                Err(e) => message.set(Some(e.to_string())),
            }
        });
    };
    let pair_ctx = ctx.clone();
    let pair = move |_| {
        let ctx = pair_ctx.clone();
        let Some(id) = id else { return };
        spawn(async move {
            if let Err(e) = ctx.require(Role::Admin).await {
                return message.set(Some(e));
            }
            match crate::admin::pairing_code(&ctx.state, id).await {
                Ok(c) => {
                    ctx.audit("pairing code", serde_json::json!({ "technician": id })).await;
                    code.set(Some(c));
                }
                Err(e) => message.set(Some(e.to_string())),
            }
        });
    };
    let revoke_ctx = ctx.clone();
    let revoke = use_callback(move |device: DeviceId| {
        let ctx = revoke_ctx.clone();
        spawn(async move {
            if let Err(e) = ctx.require(Role::Admin).await {
                return message.set(Some(e));
            }
            match ctx.state.store.revoke_device(device).await {
                Ok(false) => message.set(Some(format!("no active device {device}"))),
                Ok(true) => {
                    ctx.audit("revoke device", serde_json::json!({ "device": device })).await;
                    if let Some(id) = id {
                        devices.set(ctx.state.store.devices_of(id).await.unwrap_or_default());
                    }
                }
                Err(e) => message.set(Some(e.to_string())),
            }
        });
    });
    let link = code.read().as_ref().map(|c| format!("{}/app/#pair={}", ctx.origin, c.code));
    let active = existing.read().as_ref().map(|t| t.active);
    rsx! {
        aside { class: "panel", "data-testid": "technician-panel",
            h2 { if id.is_some() { {l.t("技师", "Technician")} } else { {l.t("新增技师", "Add technician")} } }
            form { class: "new-job", onsubmit: on_save,
                label { {l.t("姓名", "Name")} input { "data-testid": "tech-name", disabled: !admin, value: "{draft.read().name}", oninput: move |e| draft.write().name = e.value() } }
                label { {l.t("电话", "Phone")} input { "data-testid": "tech-phone", disabled: !admin, value: "{draft.read().phone}", oninput: move |e| draft.write().phone = e.value() } }
                fieldset { legend { {l.t("技能", "Skills")} }
                    for c in Category::ALL {
                        label { class: "check",
                            input { r#type: "checkbox", "data-testid": "skill-{c.as_str()}", disabled: !admin, checked: draft.read().skills.contains(&c),
                                onchange: move |e| { let mut d = draft.write(); d.skills.retain(|x| *x != c); if e.checked() { d.skills.push(c); } } }
                            {category_label(l, c)}
                        }
                    }
                }
                label { {l.t("品牌（逗号分隔）", "Brands (comma-separated)")} input { "data-testid": "tech-brands", disabled: !admin, value: "{draft.read().brands}", oninput: move |e| draft.write().brands = e.value() } }
                label { {l.t("等级", "Level")}
                    select { "data-testid": "tech-level", disabled: !admin, value: "{draft.read().level}", onchange: move |e| draft.write().level = e.value().parse().unwrap_or(1),
                        for n in 1..=5u8 { option { value: "{n}", "{n}" } }
                    }
                }
                label { {l.t("出发地（纬度, 经度）", "Home base (lat, lon)")} input { "data-testid": "tech-home", disabled: !admin, value: "{draft.read().home}", oninput: move |e| draft.write().home = e.value() } }
                div { class: "row",
                    label { {l.t("上班", "Starts")} input { r#type: "time", "data-testid": "tech-start", disabled: !admin, value: "{draft.read().start}", oninput: move |e| draft.write().start = e.value() } }
                    label { {l.t("下班（北京时间）", "Ends (Beijing time)")} input { r#type: "time", "data-testid": "tech-end", disabled: !admin, value: "{draft.read().end}", oninput: move |e| draft.write().end = e.value() } }
                }
                if let Some(e) = live_error.or(message()) {
                    p { class: "error", "data-testid": "tech-error", "{e}" }
                }
                if admin {
                    button { r#type: "submit", "data-testid": "tech-save", {l.t("保存", "Save")} }
                }
            }
            if let (Some(active), true) = (active, admin) {
                button { class: if active { "danger" } else { "" }, "data-testid": "tech-toggle", onclick: toggle,
                    if active { {l.t("停用（其设备立即停止同步）", "Deactivate (their devices stop syncing at once)")} } else { {l.t("重新启用", "Reactivate")} }
                }
            }
            if id.is_some() {
                h3 { {l.t("设备", "Devices")} }
                if devices.read().is_empty() { p { {l.t("尚未配对设备", "No device paired yet")} } }
                ul { "data-testid": "devices",
                    for d in devices.read().iter().cloned() {
                        li { "data-testid": "device",
                            "{d.name} · " {l.t("配对于 ", "paired ")} "{d.paired_at.in_zone(OFFICE_OFFSET_MIN)}"
                            if let Some(s) = d.last_seen_at { " · " {l.t("最近同步 ", "last sync ")} "{s.in_zone(OFFICE_OFFSET_MIN)}" }
                            if let Some(n) = d.pending_jobs.filter(|n| *n > 0) { " · " {l.t("待上传工单 ", "jobs to send ")} "{n}" }
                            if d.revoked_at.is_some() { " · " strong { {l.t("已吊销", "revoked")} } }
                            else if admin { button { class: "danger", onclick: move |_| revoke.call(d.id), {l.t("吊销", "Revoke")} } }
                        }
                    }
                }
                if admin && active == Some(true) {
                    h3 { {l.t("配对新手机", "Pair a phone")} }
                    button { "data-testid": "pairing-code", onclick: pair, {l.t("生成配对码", "New pairing code")} }
                }
                if let (Some(c), Some(link)) = (code.read().as_ref(), link) {
                    div { class: "pairing", "data-testid": "pairing",
                        p { {l.t("用手机相机扫描，或在应用的设置里输入：", "Scan with the phone's camera, or type it in the app's settings:")} }
                        p { class: "code", "data-testid": "pairing-code-text", "{c.code}" }
                        p { class: "muted", {l.t("有效期至 ", "Valid until ")} "{c.expires_at.in_zone(OFFICE_OFFSET_MIN)}" }
                        if let Some((d, side)) = super::qr::path(&link) {
                            svg { "data-testid": "pairing-qr", "data-link": "{link}", width: "220", height: "220", view_box: "0 0 {side} {side}", "shape-rendering": "crispEdges",
                                rect { width: "{side}", height: "{side}", fill: "#fff" }
                                path { d: "{d}", fill: "#000" }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_is_checked_as_the_api_checks() {
        let mut d = Draft::new();
        assert!(d.build().is_err(), "a name is required");
        d.name = "李明".into();
        d.skills = vec![Category::Washer];
        d.brands = "Haier，Midea, ".into();
        d.home = "31.2, 121.5".into();
        let (t, hours) = d.build().unwrap();
        assert_eq!(t.brands, ["Haier", "Midea"]);
        assert_eq!(t.skills, ["washer"]);
        assert_eq!(hours.unwrap().start_min, 8 * 60);
        d.end = "07:00".into();
        assert!(d.build().is_err(), "the day ends after it starts");
        d.end = "18:00".into();
        d.home = "north".into();
        assert!(d.build().is_err());
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        assert_eq!(parse_hhmm("24:30"), None);
    }
}
