//! The screens and their pieces. Each takes data and callbacks, never the store or a handle, so
//! every screen renders in tests from fixed data (dioxus-ssr).

pub mod job;
pub mod panels;
pub mod sign;
pub mod today;
