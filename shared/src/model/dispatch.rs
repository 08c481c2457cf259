use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use super::{GeoPoint, Note, Window};
use crate::ids::{BlobHash, ItemId, JobId, TechnicianId};
use crate::time::{Timestamp, parse_date};

/// The dispatcher's half of a job: who, where, what is broken, when, by whom it is to be fixed.
/// Written only by dispatchers (through the sync server); the technician's devices read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DispatchDoc {
    pub schema: u32,
    pub job_id: JobId,
    pub created_at: Timestamp,
    pub channel: Channel,
    pub priority: Priority,
    pub customer: Customer,
    pub appliance: Appliance,
    /// The problem as the customer described it.
    pub problem: String,
    pub sla: Sla,
    pub appointment: Option<Window>,
    /// Append-only log of dispatch actions. Assignment and status are derived from it and the
    /// field events ([`crate::status::derive`]); no scalar duplicates them, so two dispatchers'
    /// concurrent assignments resolve by the same rule everywhere.
    pub events: Vec<DispatchEvent>,
    pub notes: Vec<Note>,
    /// Pictures the customer sent with the request (WeChat, web form): the technician sees the
    /// fault, the data plate or the cabinet before driving out, and brings the right part.
    /// Absent in documents written before it existed.
    #[autosurgeon(missing = "Vec::new")]
    #[serde(default)]
    pub customer_photos: Vec<CustomerPhoto>,
}

/// A customer's picture, prepared by the server like a technician's photo (1600 px JPEG and a
/// thumbnail, no EXIF), both stored as content-addressed blobs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerPhoto {
    #[key]
    pub id: ItemId,
    pub at: Timestamp,
    pub blob: BlobHash,
    pub thumbnail: BlobHash,
    pub width: u32,
    pub height: u32,
    pub caption: String,
}

/// How the job reached us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Phone,
    Web,
    App,
    WechatMiniProgram,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Phone, Channel::Web, Channel::App, Channel::WechatMiniProgram];

    /// The stable snake_case name (as in JSON and the server's index).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Phone => "phone",
            Channel::Web => "web",
            Channel::App => "app",
            Channel::WechatMiniProgram => "wechat_mini_program",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent];

    /// 0 (low) to 3 (urgent): the order the server's index sorts by.
    pub fn rank(self) -> i64 {
        self as i64
    }

    pub fn from_rank(rank: i64) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.rank() == rank)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// Limits in the schema are in characters, a quarter of the bytes the server takes, so
    /// any text within them is accepted in any script.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 50, pattern = "\\S", example = "张伟"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 50, example = "13800138000"))]
    pub phone: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 2048, example = "上海市徐汇区漕溪北路 88 号 5 楼"))]
    pub address: String,
    pub location: Option<GeoPoint>,
}

/// What is being repaired.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Appliance {
    pub category: Category,
    #[cfg_attr(feature = "openapi", schema(max_length = 50, example = "Haier"))]
    pub brand: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 50, example = "EG100"))]
    pub model: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 50))]
    pub serial: String,
    /// `YYYY-MM-DD`, as on the receipt; empty when unknown.
    #[cfg_attr(feature = "openapi", schema(pattern = "^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$", example = "2025-06-18"))]
    pub purchase_date: String,
    /// Manufacturer's warranty length from the purchase date.
    #[cfg_attr(feature = "openapi", schema(maximum = 240))]
    pub warranty_months: u32,
}

/// Appliance and furniture categories the company services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Kettle,
    Washer,
    Fridge,
    AirConditioner,
    WaterHeater,
    Furniture,
    Other,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::Kettle,
        Category::Washer,
        Category::Fridge,
        Category::AirConditioner,
        Category::WaterHeater,
        Category::Furniture,
        Category::Other,
    ];

    /// The stable snake_case name used in the wire format, the catalog and the index.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Kettle => "kettle",
            Category::Washer => "washer",
            Category::Fridge => "fridge",
            Category::AirConditioner => "air_conditioner",
            Category::WaterHeater => "water_heater",
            Category::Furniture => "furniture",
            Category::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Whether the appliance is still under the manufacturer's warranty on a given day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum WarrantyState {
    /// Covered; `days_left` until it ends.
    InWarranty {
        days_left: i64,
    },
    Expired {
        days_ago: i64,
    },
    /// No purchase date (or it cannot be read): the technician must ask for the receipt.
    Unknown,
}

impl Appliance {
    /// Warranty on `today` (days since the epoch). Months are counted as calendar months.
    pub fn warranty_on(&self, today_days: i64) -> WarrantyState {
        let Some(bought) = parse_date(&self.purchase_date) else {
            return WarrantyState::Unknown;
        };
        let Some(end) = add_months(bought, self.warranty_months) else {
            return WarrantyState::Unknown;
        };
        if today_days < end {
            WarrantyState::InWarranty { days_left: end - today_days }
        } else {
            WarrantyState::Expired { days_ago: today_days - end }
        }
    }
}

fn add_months(days: i64, months: u32) -> Option<i64> {
    let epoch = time::Date::from_calendar_date(1970, time::Month::January, 1).ok()?;
    let date = epoch.checked_add(time::Duration::days(days))?;
    let total = i64::from(date.year()) * 12 + i64::from(date.month() as u8 - 1) + i64::from(months);
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = time::Month::try_from((total.rem_euclid(12) + 1) as u8).ok()?;
    let day = date.day().min(time::util::days_in_month(month, year));
    let end = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(i64::from(end.to_julian_day() - epoch.to_julian_day()))
}

/// Service-level deadlines promised to the customer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Sla {
    pub respond_by: Option<Timestamp>,
    pub arrive_by: Option<Timestamp>,
    pub resolve_by: Option<Timestamp>,
}

/// One dispatcher action. `by` is the dispatcher's display name, for the timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DispatchEvent {
    #[key]
    pub id: ItemId,
    pub at: Timestamp,
    pub by: String,
    pub action: DispatchAction,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum DispatchAction {
    Created,
    Assigned { technician: TechnicianId },
    Unassigned,
    Rescheduled { window: Window },
    Cancelled { reason: String },
    Closed,
}
