use autosurgeon::bytes::ByteVec;
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use super::{FIELD_SCHEMA, GeoPoint, Note};
use crate::ids::{BlobHash, DeviceId, ItemId, JobId, TechnicianId};
use crate::time::Timestamp;

/// The technician's half of a job: everything that happens on site.
///
/// Lists here are append-only except the quote's lines; status is never stored, only the events
/// it is derived from, so two devices' concurrent transitions are both kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldDoc {
    pub schema: u32,
    pub job_id: JobId,
    pub events: Vec<StatusEvent>,
    pub notes: Vec<Note>,
    pub photos: Vec<Photo>,
    pub part_scans: Vec<PartScan>,
    pub quote: Quote,
    pub signatures: Vec<Signature>,
    pub report: Report,
    pub rating: Rating,
}

impl FieldDoc {
    /// The birth skeleton of a job's field document: every container exists, nothing is filled.
    pub fn empty(job_id: JobId, currency: &str) -> Self {
        Self {
            schema: FIELD_SCHEMA,
            job_id,
            events: Vec::new(),
            notes: Vec::new(),
            photos: Vec::new(),
            part_scans: Vec::new(),
            quote: Quote { currency: currency.to_owned(), lines: Vec::new(), discount_minor: 0, tax_rate_bp: 0 },
            signatures: Vec::new(),
            report: Report::default(),
            rating: Rating::default(),
        }
    }
}

/// A status transition reported from the field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusEvent {
    #[key]
    pub id: ItemId,
    pub at: Timestamp,
    pub by: TechnicianId,
    pub device: DeviceId,
    pub action: FieldAction,
    /// Where the device was, when it knew.
    pub location: Option<GeoPoint>,
    /// Why: decline / hold / cannot-complete reasons, or a check-in far from the address.
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldAction {
    Accept,
    Decline,
    EnRoute,
    CheckIn,
    Start,
    Hold,
    Resume,
    Complete,
    CannotComplete,
}

impl FieldAction {
    pub const ALL: [FieldAction; 9] = [
        FieldAction::Accept,
        FieldAction::Decline,
        FieldAction::EnRoute,
        FieldAction::CheckIn,
        FieldAction::Start,
        FieldAction::Hold,
        FieldAction::Resume,
        FieldAction::Complete,
        FieldAction::CannotComplete,
    ];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PhotoKind {
    DataPlate,
    Fault,
    Before,
    After,
    Part,
}

impl PhotoKind {
    pub const ALL: [PhotoKind; 5] = [PhotoKind::DataPlate, PhotoKind::Fault, PhotoKind::Before, PhotoKind::After, PhotoKind::Part];

    /// The wire name (as serde writes it), for element ids and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoKind::DataPlate => "data_plate",
            PhotoKind::Fault => "fault",
            PhotoKind::Before => "before",
            PhotoKind::After => "after",
            PhotoKind::Part => "part",
        }
    }
}

/// A photo taken on site. The bytes live in the blob store, named by hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Photo {
    #[key]
    pub id: ItemId,
    pub at: Timestamp,
    pub kind: PhotoKind,
    pub blob: BlobHash,
    pub thumbnail: BlobHash,
    pub width: u32,
    pub height: u32,
    pub caption: String,
}

/// A scanned spare part, with what the device concluded when it scanned it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartScan {
    #[key]
    pub id: ItemId,
    pub at: Timestamp,
    /// The decoded text of the code.
    pub code: String,
    /// `qr_code`, `ean_13`, `code_128`, ...
    pub symbology: String,
    /// Catalog part number, when the code matched one.
    pub part_no: Option<String>,
    pub quantity: u32,
    /// Whether the catalog lists the part as fitting this appliance model.
    pub compatible: bool,
    pub in_van_stock: bool,
}

/// The priced quote the customer approves. One currency per quote.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Quote {
    pub currency: String,
    pub lines: Vec<LineItem>,
    /// A discount on the whole quote, in minor units, before tax.
    pub discount_minor: i64,
    /// Tax rate in basis points (600 = 6 %), applied after the discount.
    pub tax_rate_bp: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Labor,
    Part,
    CallOut,
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineItem {
    #[key]
    pub id: ItemId,
    pub kind: LineKind,
    /// Price-list code or catalog part number this line was priced from.
    pub code: String,
    pub description: String,
    pub quantity: u32,
    pub unit_price_minor: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignaturePurpose {
    /// The customer approves the quote's lines and total before work starts.
    QuoteApproval,
    /// The customer accepts the completed work as described in the service report.
    Completion,
}

/// A customer's signature: their pen strokes plus the hash of exactly what they saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signature {
    #[key]
    pub id: ItemId,
    pub purpose: SignaturePurpose,
    pub signer: String,
    /// Encoded with [`crate::signature::Strokes::encode`]; immutable, so one bytes value.
    #[serde(with = "bytes_hex")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^([0-9a-f]{2})*$"))]
    pub strokes: ByteVec,
    /// BLAKE3 of the canonical content approved (see [`crate::approval`]).
    pub content_hash: String,
    pub at: Timestamp,
    pub device: DeviceId,
    /// The quote total the customer saw when signing, in minor units (for "quote vs final" KPIs
    /// without replaying history). Absent in documents written before it existed.
    #[autosurgeon(missing = "Option::default")]
    #[serde(default)]
    pub total_minor: Option<i64>,
}

/// What was wrong and what was done; the body of the service report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub cause: String,
    pub method: String,
    /// Warranty the company gives on this repair.
    pub warranty_days: u32,
}

/// The customer's rating of the visit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rating {
    /// 1 to 5; `None` until the customer rates.
    pub score: Option<u8>,
    pub comment: String,
    pub at: Option<Timestamp>,
}

mod bytes_hex {
    //! Strokes as hex in JSON views (admin API, reports); they are bytes in the document.
    use autosurgeon::bytes::ByteVec;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &ByteVec, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v.as_slice()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ByteVec, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map(ByteVec::from).map_err(serde::de::Error::custom)
    }
}
