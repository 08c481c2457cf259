//! Reference data the server publishes and devices cache: the parts catalog, the price list and
//! the knowledge base. Versioned, read-mostly, not CRDT: a device replaces its copy wholesale
//! when a newer version is published.

use serde::{Deserialize, Serialize};

use crate::model::{Category, LineKind};

/// A spare part as the catalog lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Part {
    pub part_no: String,
    pub name_en: String,
    pub name_zh: String,
    pub category: Category,
    /// Brands the part fits; empty for universal parts.
    #[serde(default)]
    pub brands: Vec<String>,
    /// Models the part fits; empty for universal parts.
    #[serde(default)]
    pub models: Vec<String>,
    /// The code printed on the part's label (EAN-13, Code 128 or a QR payload).
    pub barcode: String,
    pub price_minor: i64,
}

impl Part {
    /// Whether the catalog says this part fits a brand and model (universal parts fit all).
    pub fn fits(&self, brand: &str, model: &str) -> bool {
        let brand_ok = self.brands.is_empty() || self.brands.iter().any(|b| b.eq_ignore_ascii_case(brand));
        let model_ok = self.models.is_empty() || self.models.iter().any(|m| m.eq_ignore_ascii_case(model));
        brand_ok && model_ok
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Catalog {
    /// The version this is. On publishing: 0 (or absent) takes the next; any other number
    /// must be the next, so two people publishing at once cannot overwrite each other.
    #[serde(default)]
    pub version: u32,
    pub currency: String,
    pub parts: Vec<Part>,
}

/// A priced service (labor, call-out fee) from the price list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceItem {
    pub code: String,
    pub kind: LineKind,
    pub name_en: String,
    pub name_zh: String,
    /// The category it applies to; `None` for any.
    pub category: Option<Category>,
    pub unit_price_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceList {
    /// The version this is. On publishing: 0 (or absent) takes the next; any other number
    /// must be the next, so two people publishing at once cannot overwrite each other.
    #[serde(default)]
    pub version: u32,
    pub currency: String,
    pub items: Vec<PriceItem>,
}

/// A known fault and its fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KbArticle {
    pub id: String,
    pub category: Category,
    #[serde(default)]
    pub brands: Vec<String>,
    pub title_en: String,
    pub title_zh: String,
    pub symptom_en: String,
    pub symptom_zh: String,
    pub cause_en: String,
    pub cause_zh: String,
    pub fix_en: String,
    pub fix_zh: String,
    /// Catalog part numbers the fix usually needs.
    #[serde(default)]
    pub parts: Vec<String>,
    /// The customer can fix it alone with this article (no visit needed).
    #[serde(default)]
    pub self_service: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnowledgeBase {
    /// The version this is. On publishing: 0 (or absent) takes the next; any other number
    /// must be the next, so two people publishing at once cannot overwrite each other.
    #[serde(default)]
    pub version: u32,
    pub articles: Vec<KbArticle>,
}

/// A line of the van's stock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockLine {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100, pattern = "\\S"))]
    pub part_no: String,
    #[cfg_attr(feature = "openapi", schema(maximum = 100_000))]
    pub quantity: u32,
    /// At or below this the part shows as low.
    #[cfg_attr(feature = "openapi", schema(maximum = 100_000))]
    pub min_quantity: u32,
}
