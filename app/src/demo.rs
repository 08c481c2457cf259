//! Demo data for a device with no server: the shipped reference data and a technician's demo
//! jobs, built into the local store. (With a server, the same data arrives by sync.)

use std::collections::HashMap;

use shared::demo::{DemoJob, DemoTechnician, build};
use shared::edit::FieldActor;
use shared::reference::{Catalog, KnowledgeBase, PriceList, StockLine};
use shared::{DeviceId, TechnicianId, Timestamp};

use crate::store::{Result, Store};

pub use shared::demo::assets::{CATALOG, JOBS, KNOWLEDGE_BASE, PRICE_LIST, TECHNICIANS, VAN_STOCK};

/// The demo's time zone (Shanghai, UTC+8), in minutes.
pub const DEMO_UTC_OFFSET_MIN: i32 = 8 * 60;

/// Imports the shipped catalog, price list and knowledge base.
pub fn import_reference(store: &mut Store) -> Result<()> {
    let catalog: Catalog = serde_json::from_str(CATALOG)?;
    let prices: PriceList = serde_json::from_str(PRICE_LIST)?;
    let kb: KnowledgeBase = serde_json::from_str(KNOWLEDGE_BASE)?;
    store.import_reference(&catalog, &prices, &kb)?;
    let stock: Vec<StockLine> = serde_json::from_str(VAN_STOCK)?;
    store.set_van_stock(&stock)
}

/// Seeds `store` as technician `key`'s phone: identity, reference data and that technician's
/// demo jobs. Returns how many jobs were added.
pub fn seed(store: &mut Store, key: &str, now: Timestamp) -> Result<usize> {
    if store.job_count()? > 0 {
        return Ok(0); // already seeded: never duplicate a technician's jobs
    }
    let techs: Vec<DemoTechnician> = serde_json::from_str(TECHNICIANS)?;
    let jobs: Vec<DemoJob> = serde_json::from_str(JOBS)?;
    let ids: HashMap<String, TechnicianId> = techs.iter().map(|t| (t.key.clone(), TechnicianId::new())).collect();
    let me = techs.iter().find(|t| t.key == key).unwrap_or(&techs[0]);
    store.set_identity(&FieldActor { technician: ids[&me.key], device: DeviceId::new(), name: me.name.clone() })?;
    import_reference(store)?;
    let today = now.start_of_local_day(DEMO_UTC_OFFSET_MIN);
    let mut added = 0;
    for demo in jobs.iter().filter(|j| j.assign.as_deref() == Some(me.key.as_str())) {
        let mut docs = build(demo, today, &ids, automerge::ActorId::random())?;
        store.put_job(&mut docs.dispatch, &mut docs.field)?;
        added += 1;
    }
    Ok(added)
}

/// Fills `store` with `n` jobs of one technician at realistic shape for benchmarks: ~20 a day over
/// the past months (finished) and today (accepted). Returns the open jobs.
pub fn fill_for_bench(store: &mut Store, n: usize, now: Timestamp) -> Result<Vec<shared::JobId>> {
    use shared::model::FieldAction;
    let demo: Vec<DemoJob> = serde_json::from_str(JOBS)?;
    let me = TechnicianId::new();
    store.set_identity(&FieldActor { technician: me, device: DeviceId::new(), name: "bench".into() })?;
    let techs: HashMap<String, TechnicianId> = [("me".to_owned(), me)].into();
    let today = now.start_of_local_day(DEMO_UTC_OFFSET_MIN);
    let days = (n / 20) as i64;
    let mut open = Vec::new();
    for i in 0..n {
        let mut d = demo[i % demo.len()].clone();
        d.assign = Some("me".into());
        d.day = (i / 20) as i64 - (days - 1);
        d.start_hour = 8 + (i % 10) as i64;
        d.progress = if d.day < 0 {
            vec![FieldAction::Accept, FieldAction::EnRoute, FieldAction::CheckIn, FieldAction::Start, FieldAction::Complete]
        } else {
            vec![FieldAction::Accept]
        };
        let mut docs = build(&d, today, &techs, automerge::ActorId::random())?;
        let view = store.put_job(&mut docs.dispatch, &mut docs.field)?;
        if d.day >= 0 {
            open.push(view.dispatch.job_id);
        }
    }
    Ok(open)
}
