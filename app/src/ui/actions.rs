//! Every action a screen asks for runs here: off the UI thread, with progress while it runs and a
//! notice of what happened (saved on the phone, sent, or why not) when it ends.

use std::sync::Arc;

use dioxus::core::spawn_forever;
use dioxus::prelude::*;
use shared::edit::FieldEdit;
use shared::model::{GeoPoint, PartScan};
use shared::{ItemId, JobId, Timestamp};

use super::components::job::UiAction;
use super::error::UiError;
use super::services::Services;
use super::state::{AppState, Busy, Notice};
use crate::platform::Scanner;
use crate::store::{ScanMatch, Store};

/// What a finished job action leaves for the screen besides the store's new state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Done {
    /// The part a scan matched (shown until it is used or another is scanned).
    pub scan: Option<ScanMatch>,
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
    let mut done = Done::default();
    match action {
        Prepared::Photo { kind, ready } => {
            store.add_photo(job, kind, "", *ready)?;
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
        }
        Prepared::Edit(action) => match action {
            UiAction::Status { action, reason } => {
                store.apply_edit(job, FieldEdit::Status { action, location: here, reason })?;
            }
            UiAction::AddNote(text) => {
                store.apply_edit(job, FieldEdit::AddNote { text })?;
            }
            UiAction::UsePart { part_no } => {
                store.use_part(job, &part_no, 1)?;
            }
            UiAction::AddPriceLine(code) => {
                store.add_price_item(job, &code)?;
            }
            UiAction::RemoveLine(id) => {
                store.remove_line(job, id)?;
            }
            UiAction::SetQuantity { id, quantity } => {
                store.set_line_quantity(job, id, quantity)?;
            }
            UiAction::Sign { purpose, signer, strokes, shown_hash } => {
                store.apply_edit(job, FieldEdit::Sign { purpose, signer, strokes, shown_hash })?;
            }
            UiAction::SetReport(report) => {
                store.apply_edit(job, FieldEdit::SetReport { report })?;
            }
            UiAction::Rate { score, comment } => {
                store.apply_edit(job, FieldEdit::Rate { score, comment })?;
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
pub fn run_job_action(services: &Services, state: AppState, job: JobId, action: UiAction, on_done: impl FnOnce(Done) + 'static) {
    let AppState { mut busy, mut notice, .. } = state;
    if let UiAction::Failed(detail) = action {
        notice.set(Some(Notice::failed(UiError::Picture(detail))));
        return;
    }
    let services = services.clone();
    busy.set(Some(match &action {
        UiAction::AddPhoto { .. } => Busy::ProcessingPhoto,
        UiAction::Scan(_) => Busy::ReadingCode,
        _ => Busy::Saving,
    }));
    spawn_forever(async move {
        let here = services.locator.current();
        let result = match prepare(action, services.scanner.clone()).await {
            Ok(prepared) => services.store.run(move |s| apply(s, job, prepared, here)).await,
            Err(e) => Err(e),
        };
        busy.set(None);
        match result {
            Ok(done) => {
                notice.set(Some(Notice::Saved));
                on_done(done);
                let _ = services.sync.refresh_pending();
                let mut sync = state.sync;
                sync.set(services.sync.status());
                state.refresh();
                state.sync_soon();
            }
            Err(e) => notice.set(Some(Notice::failed(e))),
        }
    });
}

/// "Sync now": runs a sync and says how it went.
pub fn sync_now(services: &Services, state: AppState) {
    let services = services.clone();
    let AppState { mut busy, mut notice, mut sync, .. } = state;
    busy.set(Some(Busy::Syncing));
    spawn_forever(async move {
        let result = services.sync.sync_now().await;
        busy.set(None);
        sync.set(services.sync.status());
        notice.set(Some(match result {
            Ok(_) if services.sync.status().is_synced() => Notice::Sent,
            Ok(_) => Notice::Saved,
            Err(e) if e.is_transient() => Notice::SavedOffline,
            Err(e) => Notice::failed(e.into()),
        }));
        state.refresh();
    });
}

/// Pairs the phone with a dispatcher's one-time code, then fetches its jobs.
pub fn pair(services: &Services, state: AppState, server: String, code: String) {
    let services = services.clone();
    let AppState { mut busy, mut notice, mut sync, .. } = state;
    busy.set(Some(Busy::Pairing));
    spawn_forever(async move {
        match crate::sync_client::pair(services.store.shared(), &server, &code, "onsite-app").await {
            Ok(_) => {
                notice.set(Some(Notice::Paired));
                busy.set(Some(Busy::Syncing));
                let _ = services.sync.sync_now().await;
            }
            Err(e) => notice.set(Some(Notice::failed(e.into()))),
        }
        busy.set(None);
        sync.set(services.sync.status());
        state.refresh();
    });
}

/// Signs out (refused while work is unsent).
pub fn sign_out(services: &Services, state: AppState) {
    let services = services.clone();
    let AppState { mut notice, mut sync, .. } = state;
    spawn_forever(async move {
        notice.set(Some(match services.sync.sign_out().await {
            Ok(()) => Notice::SignedOut,
            Err(e) => Notice::failed(e.into()),
        }));
        sync.set(services.sync.status());
        state.refresh();
    });
}
