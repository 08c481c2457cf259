//! Demo data for a fresh server: technicians, a dispatcher, today's jobs and pairing codes.

use std::collections::HashMap;

use serde::Serialize;
use shared::demo::{DemoJob, DemoTechnician, build};
use shared::model::GeoPoint;
use shared::{TechnicianId, Timestamp};

use crate::AppState;
use crate::accounts::Role;
use crate::auth::hash_secret;
use crate::store::Technician;
use crate::store::accounts::NewToken;

pub use shared::demo::assets::{CATALOG, JOBS, KNOWLEDGE_BASE, PRICE_LIST, TECHNICIANS, VAN_STOCK};
/// The demo admin's login.
pub const DEMO_LOGIN: &str = "demo";
/// The demo's time zone (Shanghai).
pub const DEMO_UTC_OFFSET_MIN: i32 = 8 * 60;

#[derive(Debug, Serialize)]
pub struct DemoCredentials {
    /// An API token of the demo's admin account.
    pub dispatcher_token: String,
    /// The demo admin's login and password (for the browser).
    pub login: String,
    pub password: String,
    /// Technician key -> (id, one-time pairing code).
    pub technicians: HashMap<String, (TechnicianId, String)>,
}

/// Seeds technicians, a dispatcher with `dispatcher_token`, and the demo jobs.
pub async fn seed(state: &AppState, dispatcher_token: &str) -> anyhow::Result<DemoCredentials> {
    let techs: Vec<DemoTechnician> = serde_json::from_str(TECHNICIANS)?;
    let jobs: Vec<DemoJob> = serde_json::from_str(JOBS)?;
    let password = crate::auth::new_token("").chars().take(20).collect::<String>();
    let account = crate::admin::accounts::create_account(state, DEMO_LOGIN, "调度 Dispatch (demo)", Role::Admin, Some(password.clone()))
        .await
        .map_err(|e| anyhow::anyhow!("creating the demo account: {e}"))?;
    state
        .accounts
        .create_token(NewToken {
            account: account.id,
            name: "demo".into(),
            role: Role::Admin,
            token_hash: hash_secret(dispatcher_token),
            expires_at: None,
        })
        .await?;
    let mut ids = HashMap::new();
    let mut creds =
        DemoCredentials { dispatcher_token: dispatcher_token.to_owned(), login: DEMO_LOGIN.into(), password, technicians: HashMap::new() };
    for t in &techs {
        let tech = Technician {
            id: TechnicianId::new(),
            name: t.name.clone(),
            phone: t.phone.clone(),
            active: true,
            skills: t.skills.clone(),
            brands: t.brands.clone(),
            level: t.level,
            home: Some(GeoPoint { lat: t.home[0], lon: t.home[1] }),
            working_hours: Some(crate::store::WorkingHours { start_min: 8 * 60, end_min: 18 * 60, utc_offset_min: 8 * 60 }),
        };
        state.store.put_technician(&tech).await?;
        let code = crate::admin::pairing_code(state, tech.id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        ids.insert(t.key.clone(), tech.id);
        creds.technicians.insert(t.key.clone(), (tech.id, code.code));
    }
    // Reference data as published version 1, and every van stocked alike.
    for (kind, json) in [("catalog", CATALOG), ("price_list", PRICE_LIST), ("knowledge_base", KNOWLEDGE_BASE)] {
        let value: serde_json::Value = serde_json::from_str(json)?;
        state.store.publish_reference(kind, value.to_string(), None).await?;
    }
    for id in ids.values() {
        let stock: serde_json::Value = serde_json::from_str(VAN_STOCK)?;
        state.store.publish_reference(&crate::reference::van_stock_kind(*id), stock.to_string(), None).await?;
    }
    let today = Timestamp::now().start_of_local_day(DEMO_UTC_OFFSET_MIN);
    for demo in &jobs {
        let docs = build(demo, today, &ids, automerge::ActorId::random())?;
        crate::jobs::store_new(state, docs).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(creds)
}

/// A year of a mid-size company's history, for measuring the console and the views at scale:
/// `techs` technicians and `jobs` jobs built from the demo jobs, about 275 a day going back a
/// year: the past finished (two in three rated), the last three days and the future still being
/// worked, one appliance in 25 seen again within days.
pub async fn seed_history(
    state: &AppState,
    jobs: usize,
    techs: usize,
    today: Timestamp,
    progress: &(dyn Fn(usize) + Sync),
) -> anyhow::Result<Vec<TechnicianId>> {
    let demo: Vec<DemoJob> = serde_json::from_str(JOBS)?;
    let mut ids = Vec::with_capacity(techs);
    for i in 0..techs {
        let id = TechnicianId::new();
        let home = GeoPoint { lat: 31.15 + (i % 10) as f64 * 0.02, lon: 121.35 + (i / 10) as f64 * 0.04 };
        state
            .store
            .put_technician(&Technician {
                id,
                name: format!("技师 {i:02}"),
                phone: String::new(),
                active: true,
                skills: vec!["washer".into(), "fridge".into(), "air_conditioner".into()],
                brands: vec![],
                level: 2,
                home: Some(home),
                working_hours: None,
            })
            .await?;
        ids.push(id);
    }
    let keys: HashMap<String, TechnicianId> = ids.iter().enumerate().map(|(i, t)| (format!("t{i}"), *t)).collect();
    let one = |i: usize| -> anyhow::Result<shared::docs::NewJobDocs> {
        use shared::model::FieldAction::*;
        // Every appliance its own serial, but one job in 25 is a repeat visit to the appliance
        // of the job three days before it.
        let appliance = if i.is_multiple_of(25) { i + 3 } else { i };
        let mut d = demo[appliance % demo.len()].clone();
        d.day = -((i % 365) as i64);
        let prefix: String = d.job.appliance.serial.chars().take(2).collect();
        d.job.appliance.serial = format!("{prefix}{appliance:08}");
        // Addresses spread over ±0.1° around the demo's, so an area is a part of the city.
        if let Some(at) = d.job.customer.location.as_mut() {
            at.lat += ((i * 7919) % 201) as f64 * 0.001 - 0.1;
            at.lon += ((i * 104_729) % 201) as f64 * 0.001 - 0.1;
        }
        // The past is finished; the last three days and the future are still being worked.
        let recent = d.day >= -3;
        d.assign = (!recent || !i.is_multiple_of(10)).then(|| format!("t{}", i % techs.max(1)));
        d.progress = match (d.day < 0, recent, i % 4) {
            (true, false, _) | (true, true, 0..=2) => vec![Accept, EnRoute, CheckIn, Start, Complete],
            (_, true, _) => vec![Accept],
            _ => vec![],
        };
        if d.assign.is_none() {
            d.progress.clear();
        }
        // Two in three customers of a finished job rate it, mostly well.
        let finished = d.progress.last() == Some(&Complete);
        d.rating = (finished && !i.is_multiple_of(3)).then(|| [5, 5, 4, 5, 3, 2, 5, 4, 1, 5][i / 3 % 10]);
        Ok(build(&d, today, &keys, automerge::ActorId::random())?)
    };
    // Built on every core, stored a thousand to a transaction (one commit each).
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut done = 0;
    while done < jobs {
        let batch: Vec<usize> = (done..jobs.min(done + 1000)).collect();
        let per = batch.len().div_ceil(threads);
        let built: Vec<shared::docs::NewJobDocs> = std::thread::scope(|s| {
            let parts: Vec<_> =
                batch.chunks(per).map(|part| s.spawn(|| part.iter().map(|&i| one(i)).collect::<anyhow::Result<Vec<_>>>())).collect();
            parts
                .into_iter()
                .map(|p| p.join().map_err(|_| anyhow::anyhow!("a builder thread panicked"))?)
                .collect::<anyhow::Result<Vec<Vec<_>>>>()
        })?
        .into_iter()
        .flatten()
        .collect();
        crate::jobs::store_new_batch(state, built).await.map_err(|e| anyhow::anyhow!("storing jobs {done}..: {e}"))?;
        let before = done;
        done += batch.len();
        if done / 10_000 > before / 10_000 {
            progress(done / 10_000 * 10_000);
        }
    }
    Ok(ids)
}
