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
