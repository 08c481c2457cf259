//! Every action a screen asks for runs here: in the engine (off the UI thread), with progress
//! while it runs and a notice of what happened (saved on the phone, sent, or why not) when it
//! ends.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use dioxus::core::spawn_forever;
use dioxus::prelude::*;
use shared::JobId;

use super::components::job::UiAction;
use super::engine::{Act, Pair, Prepare, SignOut, SyncNow};
use super::error::UiError;
use super::services::Services;
use super::state::{AppState, Busy, Notice};

pub use super::engine::Done;

/// How often the background sync runs while nothing asks for it sooner.
pub const SYNC_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// One queue per job: a job's actions land in the order the technician made them (a photo being
/// processed is saved before the "complete" tapped after it).
static JOB_QUEUES: LazyLock<Mutex<HashMap<JobId, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);

fn queue_of(job: JobId) -> Arc<tokio::sync::Mutex<()>> {
    JOB_QUEUES.lock().unwrap_or_else(|e| e.into_inner()).entry(job).or_default().clone()
}

/// Runs a job action in the background: progress in [`AppState::busy`], the outcome in
/// [`AppState::notice`], then the screens re-read and a sync is asked for. The task belongs to
/// the app, not the screen (`spawn_forever`): leaving the job while a photo is processed loses
/// nothing. `on_done` gets what the screen keeps (a scan's match) when it succeeded.
pub fn run_job_action(
    services: &Services,
    state: AppState,
    job: JobId,
    action: UiAction,
    on_done: impl FnOnce(Result<Done, ()>) + 'static,
) {
    let AppState { mut notice, .. } = state;
    if let UiAction::Failed(detail) = action {
        notice.set(Some(Notice::failed(UiError::Picture(detail))));
        return;
    }
    let services = services.clone();
    let busy = match &action {
        UiAction::AddPhoto { .. } => Busy::ProcessingPhoto,
        UiAction::Scan(_) => Busy::ReadingCode,
        _ => Busy::Saving,
    };
    state.begin(busy);
    let queue = queue_of(job);
    spawn_forever(async move {
        // In order, one at a time per job (this also processes one photo at a time).
        let _turn = queue.lock().await;
        let here = services.locator.current();
        // The CPU work first (in a browser: in its own worker, so the screens keep reading), then
        // the store.
        let result = match services.engine.ask(Prepare(action)).await {
            Ok(work) => services.engine.ask(Act { job, work, here }).await,
            Err(e) => Err(e),
        };
        state.end(busy);
        match result {
            Ok(done) => {
                notice.set(Some(Notice::Saved(done.did)));
                if let Some(status) = done.sync.clone() {
                    let mut s = state.sync;
                    s.set(status);
                }
                on_done(Ok(done));
                state.refresh();
                state.sync_soon();
            }
            Err(e) => {
                notice.set(Some(Notice::failed(e)));
                on_done(Err(()));
            }
        }
    });
}

/// "Sync now": runs a sync and says how it went.
pub fn sync_now(services: &Services, state: AppState) {
    let services = services.clone();
    let AppState { mut notice, mut sync, .. } = state;
    state.begin(Busy::Syncing);
    spawn_forever(async move {
        let result = services.engine.ask(SyncNow { every: SYNC_EVERY, last_wait: SYNC_EVERY }).await;
        state.end(Busy::Syncing);
        match result {
            Ok(synced) => {
                sync.set(synced.status);
                notice.set(Some(synced.notice));
            }
            Err(e) => notice.set(Some(Notice::failed(e))),
        }
        state.refresh();
    });
}

/// Pairs the phone with a dispatcher's one-time code, then fetches its jobs.
pub fn pair(services: &Services, state: AppState, server: String, code: String) {
    let services = services.clone();
    let AppState { mut notice, mut sync, .. } = state;
    state.begin(Busy::Pairing);
    spawn_forever(async move {
        match services.engine.ask(Pair { server, code }).await {
            Ok(status) => {
                sync.set(status);
                notice.set(Some(Notice::Paired));
                state.sync_soon();
            }
            Err(e) => notice.set(Some(Notice::failed(e))),
        }
        state.end(Busy::Pairing);
        state.refresh();
    });
}

/// Signs out (refused while work is unsent).
pub fn sign_out(services: &Services, state: AppState) {
    let services = services.clone();
    let AppState { mut notice, mut sync, .. } = state;
    spawn_forever(async move {
        match services.engine.ask(SignOut).await {
            Ok(status) => {
                sync.set(status);
                notice.set(Some(Notice::SignedOut));
            }
            Err(e) => notice.set(Some(Notice::failed(e))),
        }
        state.refresh();
    });
}
