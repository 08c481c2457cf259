//! Reference data as a service: checking and publishing a version (for the admin API and the
//! console alike), and what a device should take on its next sync. Every old version stays
//! readable for audit.

use serde_json::Value;
use shared::reference::{Catalog, KnowledgeBase, PriceList};
use shared::wire::{ReferenceUpdate, ReferenceVersions, VanStock};
use shared::{TechnicianId, Timestamp};

use crate::AppState;
use crate::error::{AppError, AppResult};

pub const KINDS: [&str; 3] = ["catalog", "price_list", "knowledge_base"];

/// The largest reference body (the admin API's body limit).
pub const REFERENCE_BYTES_MAX: usize = crate::ADMIN_BODY_BYTES_MAX;

pub fn van_stock_kind(tech: TechnicianId) -> String {
    format!("van_stock:{tech}")
}

pub fn check_kind(kind: &str) -> AppResult<()> {
    if KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("no reference kind {kind:?}; kinds are {}", KINDS.join(", "))))
    }
}

/// Validates a body as its kind and re-serialises it with the version it will get.
fn validated(kind: &str, body: Value, version: u32) -> AppResult<String> {
    // The body is JSON (or it would not get here); one of another kind's shape is refused as
    // content (the description cannot tie a body's shape to the kind in the path).
    let bad = |e: serde_json::Error| AppError::Unprocessable(format!("{kind}: {e}"));
    let check_currency = |c: &str| shared::money::check_currency(c).map_err(|e| AppError::Unprocessable(e.to_string()));
    let json = match kind {
        "catalog" => {
            let mut c: Catalog = serde_json::from_value(body).map_err(bad)?;
            check_currency(&c.currency)?;
            if c.parts.iter().any(|p| p.price_minor < 0 || p.part_no.trim().is_empty()) {
                return Err(AppError::Unprocessable("catalog: every part needs a part_no and a price >= 0".into()));
            }
            c.version = version;
            serde_json::to_string(&c)
        }
        "price_list" => {
            let mut p: PriceList = serde_json::from_value(body).map_err(bad)?;
            check_currency(&p.currency)?;
            if p.items.iter().any(|i| i.unit_price_minor < 0) {
                return Err(AppError::Unprocessable("price_list: prices must be >= 0".into()));
            }
            p.version = version;
            serde_json::to_string(&p)
        }
        _ => {
            let mut k: KnowledgeBase = serde_json::from_value(body).map_err(bad)?;
            k.version = version;
            serde_json::to_string(&k)
        }
    };
    Ok(json.expect("reference types serialize"))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Published {
    pub kind: String,
    pub version: u32,
}

/// Checks a body as its kind and stores it as the next version (a `version` in the body other
/// than 0 must be that next one: two people editing at once do not overwrite each other).
pub async fn publish_kind(state: &AppState, kind: String, body: Value) -> AppResult<Published> {
    check_kind(&kind)?;
    // The API's body limit holds here too, for what arrives another way (the console).
    let size = serde_json::to_vec(&body).map_or(usize::MAX, |b| b.len());
    if size > REFERENCE_BYTES_MAX {
        return Err(AppError::TooLarge(format!("{kind}: {size} bytes; at most {REFERENCE_BYTES_MAX}")));
    }
    let next = state.store.reference_versions(&kind).await?.last().map_or(1, |v| v.version + 1);
    let asked = body.get("version").and_then(Value::as_u64).unwrap_or(0);
    if asked != 0 && asked != u64::from(next) {
        return Err(AppError::Conflict(format!(
            "{kind}: the next version is {next}, not {asked} (someone published meanwhile: reload and publish again, or send 0)"
        )));
    }
    let json = validated(&kind, body, next)?;
    // The body was written with `next`: stored only as that version.
    let version = state.store.publish_reference(&kind, json, Some(next)).await?;
    tracing::info!(kind, version, "reference data published");
    Ok(Published { kind, version })
}

fn parse<T: serde::de::DeserializeOwned>(json: &str) -> AppResult<T> {
    serde_json::from_str(json).map_err(|e| AppError::Internal(anyhow::Error::from(e)))
}

/// What a device should take this sync: each kind newer than the version it reported.
pub async fn update_for(state: &AppState, tech: TechnicianId, have: ReferenceVersions) -> AppResult<ReferenceUpdate> {
    let van = van_stock_kind(tech);
    let kinds = vec!["catalog".to_owned(), "price_list".to_owned(), "knowledge_base".to_owned(), van.clone()];
    let latest = state.store.latest_reference_versions(kinds).await?;
    let newer = |kind: &str, have: u32| latest.get(kind).is_some_and(|v| *v > have);
    let mut up = ReferenceUpdate::default();
    let load = |kind: String| async move {
        let (v, j) = state.store.reference(&kind, None).await?.ok_or_else(|| AppError::NotFound(kind.clone()))?;
        Ok::<_, AppError>((v, j))
    };
    if newer("catalog", have.catalog) {
        up.catalog = Some(parse(&load("catalog".into()).await?.1)?);
    }
    if newer("price_list", have.price_list) {
        up.price_list = Some(parse(&load("price_list".into()).await?.1)?);
    }
    if newer("knowledge_base", have.knowledge_base) {
        up.knowledge_base = Some(parse(&load("knowledge_base".into()).await?.1)?);
    }
    if newer(&van, have.van_stock) {
        let counted = state.store.reference_versions(&van).await?;
        let (v, j) = load(van).await?;
        let counted_at = counted.iter().find(|r| r.version == v).map(|r| r.published_at).unwrap_or_else(Timestamp::now);
        up.van_stock = Some(VanStock { version: v, counted_at, lines: parse(&j)? });
    }
    Ok(up)
}
