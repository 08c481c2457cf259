//! A bounded pool for CPU-heavy work (Automerge documents): off the async workers, so one heavy
//! round never stalls `/health` or other devices, and never more of it at once than the machine has
//! cores, so a flood of heavy requests queues instead of multiplying threads.

use std::sync::Arc;

use tokio::sync::Semaphore;

pub struct CpuPool {
    permits: Arc<Semaphore>,
}

#[derive(Debug, thiserror::Error)]
pub enum CpuError {
    /// The work panicked: a bug, or input that a library did not expect. Nothing it did is kept.
    #[error("the work panicked: {0}")]
    Panicked(String),
}

impl CpuPool {
    pub fn new(workers: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(workers.max(1))) }
    }

    /// One worker per core.
    pub fn for_this_machine() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// Runs `f` on a blocking thread once a worker is free.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, CpuError> {
        let permit = self.permits.clone().acquire_owned().await.expect("the pool's semaphore is never closed");
        // The permit lives as long as the work, not the caller: a request dropped mid-way (its
        // client gone) does not let more work run than there are workers.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        })
        .await
        .map_err(|e| {
            let detail = match e.try_into_panic() {
                Ok(p) => {
                    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default()
                }
                Err(e) => e.to_string(),
            };
            CpuError::Panicked(detail)
        })
    }
}
