//! End-to-end: a real server on loopback, real SQLite stores, several devices, real documents.

mod accounts;
mod blob_backends;
mod browser;
mod console;
mod dispatch;
mod erasure;
mod faults;
mod hostile;
mod longevity;
mod migrate;
mod offline_day;
mod openapi;
mod postgres;
mod security;
mod settings;
mod web_app;

use onsite_tests::harness::{Device, Dispatcher, Server};
use shared::{JobId, TechnicianId};

/// A server, a dispatcher, and one paired technician device.
pub struct World {
    pub dir: tempfile::TempDir,
    pub server: Server,
    pub dispatcher: Dispatcher,
}

impl World {
    pub async fn new() -> Self {
        Self::with_limits(&Default::default()).await
    }

    pub async fn with_limits(limits: &onsite_server::Limits) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(dir.path().join("server"), limits).await;
        let dispatcher = server.dispatcher("调度 Ann").await;
        World { dir, server, dispatcher }
    }

    pub async fn technician(&self, name: &str) -> (TechnicianId, Device) {
        let tech = self.dispatcher.technician(name, &["washer"]).await;
        let code = self.dispatcher.pairing_code(tech).await;
        let device = Device::pair(self.dir.path(), name, &self.server.url(), &code).await;
        (tech, device)
    }

    pub async fn assigned_jobs(&self, tech: TechnicianId, n: usize) -> Vec<JobId> {
        let mut jobs = Vec::new();
        for i in 0..n {
            let job = self.dispatcher.create_job(i).await;
            self.dispatcher.assign(job, tech).await;
            jobs.push(job);
        }
        jobs
    }
}
