//! Harness for end-to-end runs: a real server on a loopback port, dispatchers over HTTP, devices
//! with real SQLite stores and the real sync client. Used by the e2e suite and the load
//! generator.

pub mod backends;
pub mod harness;
pub mod postgres;
pub mod proxy;
pub mod s3;
