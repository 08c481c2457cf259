//! Reference data routes: an admin publishes a new version (checked and stored by
//! `crate::reference`); devices take it on their next sync; every old version stays readable.

use axum::extract::{Path, State};
use serde_json::Value;
use shared::TechnicianId;
use shared::reference::{Catalog, KnowledgeBase, PriceList, StockLine};

use crate::AppState;
use crate::body::AppJson;
use crate::error::{AppError, AppResult};
use crate::reference::{Published, check_kind, publish_kind, van_stock_kind};
use crate::staff::{AdminAuth, ViewerAuth};
use crate::store::ReferenceVersion;

/// The kinds of reference data, by name in the path.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub enum ReferenceKind {
    #[schema(rename = "catalog")]
    Catalog,
    #[schema(rename = "price_list")]
    PriceList,
    #[schema(rename = "knowledge_base")]
    KnowledgeBase,
}

/// A version of reference data, its shape set by its kind.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ReferenceBody {
    Catalog(Catalog),
    PriceList(PriceList),
    KnowledgeBase(KnowledgeBase),
}

/// Publish a new version (devices take it on their next sync; old versions stay readable).
#[utoipa::path(put, path = "/admin/v1/reference/{kind}", tag = "reference",
    params(("kind" = ReferenceKind, Path, description = "catalog, price_list or knowledge_base")),
    request_body = ReferenceBody, responses((status = 200, body = Published)))]
pub async fn publish(
    State(state): State<AppState>,
    _who: AdminAuth,
    Path(kind): Path<String>,
    AppJson(body): AppJson<Value>,
) -> AppResult<AppJson<Published>> {
    Ok(AppJson(publish_kind(&state, kind, body).await?))
}

/// Every published version of a kind, oldest first.
#[utoipa::path(get, path = "/admin/v1/reference/{kind}/versions", tag = "reference",
    params(("kind" = ReferenceKind, Path, description = "catalog, price_list or knowledge_base")),
    responses((status = 200, body = Vec<ReferenceVersion>)))]
pub async fn versions(
    State(state): State<AppState>,
    _who: ViewerAuth,
    Path(kind): Path<String>,
) -> AppResult<AppJson<Vec<ReferenceVersion>>> {
    check_kind(&kind)?;
    Ok(AppJson(state.store.reference_versions(&kind).await?))
}

/// One published version as it was published.
#[utoipa::path(get, path = "/admin/v1/reference/{kind}/{version}", tag = "reference",
    params(("kind" = ReferenceKind, Path, description = "catalog, price_list or knowledge_base"), ("version" = u32, Path, description = "1, 2, ...")),
    responses((status = 200, body = ReferenceBody)))]
pub async fn version(
    State(state): State<AppState>,
    _who: ViewerAuth,
    Path((kind, version)): Path<(String, String)>,
) -> AppResult<AppJson<Value>> {
    let version: u32 = version.parse().map_err(|_| AppError::BadRequest(format!("not a version number: {version:?}")))?;
    check_kind(&kind)?;
    let (_, json) =
        state.store.reference(&kind, Some(version)).await?.ok_or_else(|| AppError::NotFound(format!("no {kind} version {version}")))?;
    Ok(AppJson(serde_json::from_str(&json).map_err(|e| AppError::Internal(e.into()))?))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct VanStockPublished {
    pub technician: TechnicianId,
    pub version: u32,
}

/// What the technician's van holds now (counted stock; the phone takes it on its next sync).
#[utoipa::path(put, path = "/admin/v1/technicians/{id}/van-stock", tag = "reference",
    params(("id" = TechnicianId, Path, description = "the technician")), request_body = Vec<StockLine>,
    responses((status = 200, body = VanStockPublished)))]
pub async fn set_van_stock(
    State(state): State<AppState>,
    _who: AdminAuth,
    Path(id): Path<String>,
    AppJson(lines): AppJson<Vec<StockLine>>,
) -> AppResult<AppJson<VanStockPublished>> {
    let t = super::technician_by_path(&state, &id).await?;
    if lines.len() > 5000
        || lines.iter().any(|l| l.part_no.trim().is_empty() || l.part_no.chars().count() > 100 || l.quantity.max(l.min_quantity) > 100_000)
    {
        return Err(AppError::Unprocessable(
            "van stock: at most 5000 lines, each with a part_no of 1 to 100 characters and quantities up to 100000".into(),
        ));
    }
    let version = state.store.publish_reference(&van_stock_kind(t.id), serde_json::to_string(&lines).expect("serializes"), None).await?;
    Ok(AppJson(VanStockPublished { technician: t.id, version }))
}
