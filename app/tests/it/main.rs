//! The app's integration tests: one binary (link time on 2 cores), a module per area.

mod engine;
mod media;
mod screens;
mod store;
