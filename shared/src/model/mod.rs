//! The two documents that make up a job.
//!
//! A job is split by *who writes*: the [`DispatchDoc`] is written by dispatchers only and is
//! read-only to the technician; the [`FieldDoc`] is written by the assigned technician's devices and
//! read by dispatchers. Authorization is therefore per document, and the only cross-writer
//! interaction (a dispatcher cancels while a technician completes) is resolved by
//! [`crate::status::derive`], which keeps both and flags the conflict.
//!
//! Every container (list, map) a document will ever hold is created when the document is born, on
//! one replica. Two replicas that each created the same list concurrently would produce an
//! Automerge conflict in which one list hides the other: birth-time skeletons rule that out.

mod common;
mod dispatch;
mod field;

pub use common::*;
pub use dispatch::*;
pub use field::*;

/// Document schema versions; a replica refuses documents newer than it understands.
pub const DISPATCH_SCHEMA: u32 = 1;
pub const FIELD_SCHEMA: u32 = 1;
