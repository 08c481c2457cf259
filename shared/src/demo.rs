//! The demo data set (`assets/demo_jobs.json`, `assets/technicians.json`) turned into real job
//! documents, with appointment times relative to "today" so the demo is always current.

use std::collections::HashMap;

use automerge::ActorId;
use serde::{Deserialize, Serialize};

use crate::docs::{NewJob, NewJobDocs, create_job, read_dispatch, read_field};
use crate::edit::{DispatchEdit, EditError, FieldActor, FieldEdit, apply_dispatch_edit, apply_field_edit};
use crate::ids::{DeviceId, TechnicianId};
use crate::model::{FieldAction, Report, Window};
use crate::time::Timestamp;

/// The shipped demo and reference data (`assets/`), compiled in so the app and the server seed the
/// same set without finding files at run time.
pub mod assets {
    pub const CATALOG: &str = include_str!("../../assets/catalog.json");
    pub const PRICE_LIST: &str = include_str!("../../assets/price_list.json");
    pub const KNOWLEDGE_BASE: &str = include_str!("../../assets/knowledge_base.json");
    pub const VAN_STOCK: &str = include_str!("../../assets/van_stock.json");
    pub const TECHNICIANS: &str = include_str!("../../assets/technicians.json");
    pub const JOBS: &str = include_str!("../../assets/demo_jobs.json");
}

/// A demo technician.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemoTechnician {
    /// Short handle the demo jobs refer to.
    pub key: String,
    pub name: String,
    pub phone: String,
    /// Categories (snake_case) the technician is trained for.
    pub skills: Vec<String>,
    pub brands: Vec<String>,
    pub level: u8,
    /// Home base `[lat, lon]`.
    pub home: [f64; 2],
}

/// A demo job: a dispatcher's new job plus when it is and how far it has got.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemoJob {
    #[serde(flatten)]
    pub job: NewJob,
    /// Day relative to today (-1 = yesterday).
    pub day: i64,
    /// Local hour the appointment starts.
    pub start_hour: i64,
    pub hours: i64,
    /// Technician key, if assigned.
    pub assign: Option<String>,
    /// Field actions already taken, in order.
    pub progress: Vec<FieldAction>,
    /// The customer's rating (1-5) once the job is complete, if they gave one.
    #[serde(default)]
    pub rating: Option<u8>,
}

/// Builds a demo job's documents. `today` is the start of the local day; `techs` maps keys to ids.
pub fn build(demo: &DemoJob, today: Timestamp, techs: &HashMap<String, TechnicianId>, actor: ActorId) -> Result<NewJobDocs, EditError> {
    let start = Timestamp(today.0 + demo.day * Timestamp::DAY + demo.start_hour * Timestamp::HOUR);
    let window = Window { start, end: Timestamp(start.0 + demo.hours * Timestamp::HOUR) };
    // Booked the day before, but never later than today: a job created in the future would
    // refuse a technician's notes made now (a note may not predate its job by more than a day).
    let booked = Timestamp(start.0 - 26 * Timestamp::HOUR);
    let created = Timestamp(booked.0.min(today.0));
    let mut job = demo.job.clone();
    job.appointment = Some(window);
    job.sla.respond_by = Some(booked.plus_minutes(60));
    job.sla.arrive_by = Some(window.end);
    job.sla.resolve_by = Some(Timestamp(window.end.0 + 2 * Timestamp::DAY));
    let mut docs = create_job(job, "调度 Dispatch", created, actor)?;
    let Some(tech) = demo.assign.as_ref().and_then(|k| techs.get(k)) else { return Ok(docs) };
    let field = read_field(&docs.field)?;
    apply_dispatch_edit(&mut docs.dispatch, &field, "调度 Dispatch", created.plus_minutes(20), DispatchEdit::Assign { technician: *tech })?;
    let dispatch = read_dispatch(&docs.dispatch)?;
    let who = FieldActor { technician: *tech, device: DeviceId::new(), name: String::new() };
    for (i, action) in demo.progress.iter().enumerate() {
        let at = Timestamp(start.0 + i as i64 * 15 * Timestamp::MINUTE);
        if *action == FieldAction::Complete {
            let report = Report {
                cause: dispatch.problem.clone(),
                method: "现场维修并试机 / Repaired and tested on site".into(),
                warranty_days: 90,
            };
            apply_field_edit(&mut docs.field, &dispatch, &who, at, FieldEdit::SetReport { report })?;
        }
        let edit = FieldEdit::Status { action: *action, location: dispatch.customer.location, reason: String::new() };
        apply_field_edit(&mut docs.field, &dispatch, &who, at, edit)?;
    }
    if let Some(score) = demo.rating {
        let at = Timestamp(start.0 + demo.progress.len() as i64 * 15 * Timestamp::MINUTE);
        let comment = if score <= 2 { "等了很久 / waited a long time" } else { "" };
        apply_field_edit(&mut docs.field, &dispatch, &who, at, FieldEdit::Rate { score, comment: comment.into() })?;
    }
    Ok(docs)
}
