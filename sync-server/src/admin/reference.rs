//! Reference data publishing: a dispatcher uploads a new version; devices take it on their next
//! sync; every old version stays readable for audit.

use axum::extract::{Path, State};
use serde_json::{Value, json};
use shared::reference::{Catalog, KnowledgeBase, PriceList, StockLine};
use shared::wire::{ReferenceUpdate, ReferenceVersions, VanStock};
use shared::{TechnicianId, Timestamp};

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::routes::AppJson;
use crate::staff::{AdminAuth, ViewerAuth};
use crate::store::ReferenceVersion;

pub const KINDS: [&str; 3] = ["catalog", "price_list", "knowledge_base"];

pub fn van_stock_kind(tech: TechnicianId) -> String {
    format!("van_stock:{tech}")
}

fn check_kind(kind: &str) -> AppResult<()> {
    if KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("no reference kind {kind:?}; kinds are {}", KINDS.join(", "))))
    }
}

/// Validates a body as its kind and re-serialises it with the version it will get.
fn validated(kind: &str, body: Value, version: u32) -> AppResult<String> {
    let bad = |e: serde_json::Error| AppError::BadRequest(format!("{kind}: {e}"));
    let check_currency = |c: &str| shared::money::check_currency(c).map_err(|e| AppError::BadRequest(e.to_string()));
    let json = match kind {
        "catalog" => {
            let mut c: Catalog = serde_json::from_value(body).map_err(bad)?;
            check_currency(&c.currency)?;
            if c.parts.iter().any(|p| p.price_minor < 0 || p.part_no.trim().is_empty()) {
                return Err(AppError::BadRequest("catalog: every part needs a part_no and a price >= 0".into()));
            }
            c.version = version;
            serde_json::to_string(&c)
        }
        "price_list" => {
            let mut p: PriceList = serde_json::from_value(body).map_err(bad)?;
            check_currency(&p.currency)?;
            if p.items.iter().any(|i| i.unit_price_minor < 0) {
                return Err(AppError::BadRequest("price_list: prices must be >= 0".into()));
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

/// `PUT /admin/v1/reference/{kind}`: publish a new version.
pub async fn publish(
    State(state): State<AppState>,
    _who: AdminAuth,
    Path(kind): Path<String>,
    AppJson(body): AppJson<Value>,
) -> AppResult<AppJson<Value>> {
    check_kind(&kind)?;
    let next = state.store.reference_versions(&kind).await?.last().map_or(1, |v| v.version + 1);
    let json = validated(&kind, body, next)?;
    let version = state.store.publish_reference(&kind, json).await?;
    tracing::info!(kind, version, "reference data published");
    Ok(AppJson(json!({ "kind": kind, "version": version })))
}

pub async fn versions(
    State(state): State<AppState>,
    _who: ViewerAuth,
    Path(kind): Path<String>,
) -> AppResult<AppJson<Vec<ReferenceVersion>>> {
    check_kind(&kind)?;
    Ok(AppJson(state.store.reference_versions(&kind).await?))
}

pub async fn version(
    State(state): State<AppState>,
    _who: ViewerAuth,
    Path((kind, version)): Path<(String, u32)>,
) -> AppResult<AppJson<Value>> {
    check_kind(&kind)?;
    let (_, json) =
        state.store.reference(&kind, Some(version)).await?.ok_or_else(|| AppError::NotFound(format!("no {kind} version {version}")))?;
    Ok(AppJson(serde_json::from_str(&json).map_err(|e| AppError::Internal(e.into()))?))
}

/// `PUT /admin/v1/technicians/{id}/van-stock`: what the technician's van holds now.
pub async fn set_van_stock(
    State(state): State<AppState>,
    _who: AdminAuth,
    Path(id): Path<String>,
    AppJson(lines): AppJson<Vec<StockLine>>,
) -> AppResult<AppJson<Value>> {
    let t = super::technician_by_path(&state, &id).await?;
    let version = state.store.publish_reference(&van_stock_kind(t.id), serde_json::to_string(&lines).expect("serializes")).await?;
    Ok(AppJson(json!({ "technician": t.id, "version": version })))
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
