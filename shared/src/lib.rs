//! OnSite's shared core: the job documents and their rules, used by the app and the sync server.
//!
//! Architecture invariant: nothing in this crate does I/O. It turns bytes and values into
//! values; storage, network and UI live in `app` and `sync-server`.
#![forbid(unsafe_code)]

pub mod approval;
pub mod demo;
pub mod docs;
pub mod edit;
pub mod erase;
pub mod i18n;
pub mod ids;
pub mod model;
pub mod money;
pub mod photo;
pub mod pricing;
pub mod reference;
pub mod rules;
pub mod signature;
pub mod status;
pub mod time;
pub mod wire;

pub use ids::{BlobHash, DeviceId, DispatcherId, ItemId, JobId, TechnicianId};
pub use time::Timestamp;

#[cfg(feature = "openapi")]
mod openapi {
    //! Schemas written by hand for the few types whose JSON form is not their Rust shape.
    use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
    use utoipa::openapi::{KnownFormat, RefOr};

    pub(crate) fn string_schema(format: KnownFormat, description: &str) -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(format))).description(Some(description)).into()
    }

    pub(crate) fn pattern_schema(pattern: &str, description: &str) -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern)).description(Some(description)).into()
    }
}
