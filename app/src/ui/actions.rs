//! Every action a screen asks for runs here: off the UI thread, with progress while it runs and a
//! notice of what happened (saved on the phone, sent, or why not) when it ends.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex};

use dioxus::core::spawn_forever;
use dioxus::prelude::*;
use shared::edit::FieldEdit;
use shared::model::{GeoPoint, PartScan};
use shared::{ItemId, JobId, Timestamp};

use super::components::job::UiAction;
use super::error::UiError;
use super::services::Services;
use super::state::{AppState, Busy, Did, Notice};
use crate::platform::Scanner;
use crate::store::{ScanMatch, Store};

/// What a finished job action leaves for the screen besides the store's new state.
#[derive(Clone, Debug, PartialEq)]
pub struct Done {
    pub did: Did,
    /// The part a scan matched (shown until it is used or another is scanned).
    pub scan: Option<ScanMatch>,
}

/// One queue per job: a job's actions land in the order the technician made them (a photo being
/// processed is saved before the "complete" tapped after it).
static JOB_QUEUES: LazyLock<Mutex<HashMap<JobId, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);

fn queue_of(job: JobId) -> Arc<tokio::sync::Mutex<()>> {
    JOB_QUEUES.lock().unwrap_or_else(|e| e.into_inner()).entry(job).or_default().clone()
}

/// Runs `f` on the runtime's worker threads, not the one that draws (the sync client's store
/// work is synchronous inside its futures).
async fn off_ui<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> Result<T, UiError> {
    tokio::spawn(f).await.map_err(|e| if e.is_panic() { std::panic::resume_unwind(e.into_panic()) } else { UiError::Interrupted })
}

/// Work that needs the CPU but not the store (decoding a 12 MP photo, reading a barcode): done
/// before the store is locked, so reads and other actions go on meanwhile.
enum Prepared {
    Edit(UiAction),
    Photo { kind: shared::model::PhotoKind, ready: Box<shared::photo::ReadyPhoto> },
    Scan(crate::scan::Scanned),
}

async fn prepare(action: UiAction, scanner: Arc<dyn Scanner>) -> Result<Prepared, UiError> {
    let blocking = |f: Box<dyn FnOnce() -> Result<Prepared, UiError> + Send>| async move {
        tokio::task::spawn_blocking(f).await.map_err(|_| UiError::Interrupted)?
    };
    match action {
        UiAction::AddPhoto { kind, bytes } => {
            blocking(Box::new(move || Ok(Prepared::Photo { kind, ready: Box::new(crate::photo::process(&bytes)?) }))).await
        }
        UiAction::Scan(bytes) => blocking(Box::new(move || Ok(Prepared::Scan(scanner.scan(&bytes)?)))).await,
        other => Ok(Prepared::Edit(other)),
    }
}

/// Applies one prepared action to the store. `here` goes with every status event: a check-in
/// proves where it happened.
fn apply(store: &mut Store, job: JobId, action: Prepared, here: Option<GeoPoint>) -> Result<Done, UiError> {
    let mut done = Done { did: Did::QuoteChanged, scan: None };
    match action {
        Prepared::Photo { kind, ready } => {
            store.add_photo(job, kind, "", *ready)?;
            done.did = Did::PhotoAdded;
        }
        Prepared::Scan(scanned) => {
            let view = store.open_job(job)?;
            let m = store.match_scan(&scanned.text, &view.dispatch.appliance.brand, &view.dispatch.appliance.model)?;
            let scan = PartScan {
                id: ItemId::new(),
                at: Timestamp::now(),
                code: scanned.text,
                symbology: scanned.symbology,
                part_no: m.part.as_ref().map(|p| p.part_no.clone()),
                quantity: 1,
                compatible: m.fits,
                in_van_stock: m.in_van > 0,
            };
            store.apply_edit(job, FieldEdit::AddPartScan { scan })?;
            done.scan = Some(m);
            done.did = Did::PartScanned;
        }
        Prepared::Edit(action) => match action {
            UiAction::Status { action, reason } => {
                store.apply_edit(job, FieldEdit::Status { action, location: here, reason })?;
                done.did = Did::Status(action);
            }
            UiAction::AddNote(text) => {
                store.apply_edit(job, FieldEdit::AddNote { text })?;
                done.did = Did::NoteSaved;
            }
            UiAction::UsePart { part_no } => {
                store.use_part(job, &part_no, 1)?;
                let left = store.van_stock(Timestamp(0))?.into_iter().find(|s| s.part_no == part_no).map_or(0, |s| s.quantity);
                done.did = Did::PartUsed(left);
            }
            UiAction::AddPriceLine(code) => {
                store.add_price_item(job, &code)?;
            }
            UiAction::RemoveLine(id) => {
                store.remove_line(job, id)?;
            }
            UiAction::StepQuantity { id, by } => {
                // Relative to what is stored now: two quick taps on + count two.
                let view = store.open_job(job)?;
                let line = view.field.quote.lines.iter().find(|l| l.id == id).ok_or(shared::edit::EditError::NoSuchLine(id))?;
                let quantity = line.quantity.saturating_add_signed(by).max(1);
                store.set_line_quantity(job, id, quantity)?;
            }
            UiAction::Sign { purpose, signer, strokes, shown_hash } => {
                store.apply_edit(job, FieldEdit::Sign { purpose, signer, strokes, shown_hash })?;
                done.did = Did::Signed;
            }
            UiAction::SetReport(report) => {
                store.apply_edit(job, FieldEdit::SetReport { report })?;
                done.did = Did::ReportSaved;
            }
            UiAction::Rate { score, comment } => {
                store.apply_edit(job, FieldEdit::Rate { score, comment })?;
                done.did = Did::Rated;
            }
            UiAction::AddPhoto { .. } | UiAction::Scan(_) => unreachable!("prepared before"),
            UiAction::Failed(_) | UiAction::SearchKb(_) | UiAction::ViewPhoto(_) | UiAction::Back => {}
        },
    }
    Ok(done)
}

/// Runs a job action in the background: progress in [`AppState::busy`], the outcome in
/// [`AppState::notice`], then the screens re-read and a sync is asked for. The task belongs to
/// the app, not the screen (`spawn_forever`): leaving the job while a photo is processed loses
/// nothing. `on_done` gets what
/// the screen keeps (a scan's match) when it succeeded.
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
        let result = match prepare(action, services.scanner.clone()).await {
            Ok(prepared) => services.store.run(move |s| apply(s, job, prepared, here)).await,
            Err(e) => Err(e),
        };
        state.end(busy);
        match result {
            Ok(done) => {
                notice.set(Some(Notice::Saved(done.did)));
                on_done(Ok(done));
                let sync = services.sync.clone();
                if let Ok(Ok(status)) = tokio::task::spawn_blocking(move || sync.refresh_pending()).await {
                    let mut s = state.sync;
                    s.set(status);
                }
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
        let client = services.sync.clone();
        let result = off_ui(async move { client.sync_now().await }).await;
        state.end(Busy::Syncing);
        let status = services.sync.status();
        sync.set(status.clone());
        notice.set(Some(match result {
            Ok(Ok(_)) if status.is_synced() => Notice::Sent,
            Ok(Ok(_)) if status.problem == Some(crate::sync_client::SyncProblem::Refused) => {
                Notice::failed(UiError::Sync(crate::sync_client::SyncError::Server {
                    status: 422,
                    code: "refused".into(),
                    message: status.last_error.clone().unwrap_or_default(),
                }))
            }
            Ok(Ok(_)) => Notice::SavedOffline,
            Ok(Err(e)) if e.is_transient() => Notice::SavedOffline,
            Ok(Err(e)) => Notice::failed(e.into()),
            Err(e) => Notice::failed(e),
        }));
        state.refresh();
    });
}

/// Pairs the phone with a dispatcher's one-time code, then fetches its jobs.
pub fn pair(services: &Services, state: AppState, server: String, code: String) {
    let services = services.clone();
    let AppState { mut notice, mut sync, .. } = state;
    state.begin(Busy::Pairing);
    spawn_forever(async move {
        let store = services.store.shared().clone();
        match off_ui(async move { crate::sync_client::pair(&store, &server, &code, "onsite-app").await }).await {
            Ok(Ok(_)) => {
                notice.set(Some(Notice::Paired));
                state.sync_soon();
            }
            Ok(Err(e)) => notice.set(Some(Notice::failed(e.into()))),
            Err(e) => notice.set(Some(Notice::failed(e))),
        }
        state.end(Busy::Pairing);
        sync.set(services.sync.status());
        state.refresh();
    });
}

/// Signs out (refused while work is unsent).
pub fn sign_out(services: &Services, state: AppState) {
    let services = services.clone();
    let AppState { mut notice, mut sync, .. } = state;
    spawn_forever(async move {
        let client = services.sync.clone();
        notice.set(Some(match off_ui(async move { client.sign_out().await }).await {
            Ok(Ok(())) => Notice::SignedOut,
            Ok(Err(e)) => Notice::failed(e.into()),
            Err(e) => Notice::failed(e),
        }));
        sync.set(services.sync.status());
        state.refresh();
    });
}
