//! The root component: reads the store, runs actions, navigates, syncs in the background.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dioxus::prelude::*;
use shared::edit::FieldEdit;
use shared::model::PartScan;
use shared::{BlobHash, ItemId, JobId, Timestamp};

use super::job::{JobScreen, JobScreenData, PhotoView, UiAction};
use super::panels::{KbScreen, SettingsAction, SettingsData, SettingsScreen, StockScreen};
use super::today::TodayScreen;
use super::{Lang, STYLE};
use crate::platform::{Camera, FilePicker, FixedLocator, ImageScanner, Locator, Scanner};
use crate::store::{ScanMatch, Store, StoreError, TodayQuery};
use crate::sync_client::{SyncClient, next_wait, pair};

/// What the app runs on: the store and the sync client, provided as root context.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<Mutex<Store>>,
    pub sync: Arc<SyncClient>,
    pub locator: Arc<dyn Locator>,
    /// Photos and pictures of part labels; the screens get it as context.
    pub camera: Arc<dyn Camera>,
    pub scanner: Arc<dyn Scanner>,
    /// The technician's time zone for display.
    pub utc_offset_min: i32,
}

impl Services {
    pub fn new(store: Store, utc_offset_min: i32) -> Self {
        let store = Arc::new(Mutex::new(store));
        Services {
            sync: Arc::new(SyncClient::new(store.clone())),
            store,
            locator: Arc::new(FixedLocator::from_env()),
            camera: Arc::new(FilePicker),
            scanner: Arc::new(ImageScanner),
            utc_offset_min,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Screen {
    Today,
    Job(JobId),
    Kb,
    Stock,
    Settings,
}

fn jpeg_url(store: &Store, hash: &BlobHash) -> Option<String> {
    use base64::Engine;
    let bytes = store.blob(hash).ok()??;
    Some(format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
}

fn thumbnails(store: &Store, view: &crate::store::JobView) -> Vec<(String, String)> {
    let field = view.field.photos.iter().map(|p| &p.thumbnail);
    let customer = view.dispatch.customer_photos.iter().map(|p| &p.thumbnail);
    field.chain(customer).filter_map(|hash| Some((hash.to_string(), jpeg_url(store, hash)?))).collect()
}

/// The full picture behind a thumbnail the technician tapped, if the phone holds it.
fn full_photo(store: &Store, view: &crate::store::JobView, thumbnail: &str) -> Option<PhotoView> {
    let field = view.field.photos.iter().map(|p| (&p.thumbnail, &p.blob, &p.caption));
    let customer = view.dispatch.customer_photos.iter().map(|p| (&p.thumbnail, &p.blob, &p.caption));
    let (_, blob, caption) = field.chain(customer).find(|(t, _, _)| t.as_str() == thumbnail)?;
    Some(PhotoView { url: jpeg_url(store, blob)?, caption: caption.clone() })
}

/// Runs one job action against the store; the error text is what the technician sees.
/// `here` is recorded with every status event: a check-in proves where it happened.
fn run(
    store: &mut Store,
    job: JobId,
    action: UiAction,
    here: Option<shared::model::GeoPoint>,
    scanner: &dyn Scanner,
    last_scan: &mut Option<ScanMatch>,
) -> Result<(), String> {
    let err = |e: StoreError| e.to_string();
    let view = store.open_job(job).map_err(err)?;
    let result = match action {
        UiAction::Back | UiAction::SearchKb(_) | UiAction::ViewPhoto(_) => return Ok(()),
        UiAction::Failed(msg) => return Err(msg),
        UiAction::Status { action, reason } => store.apply_edit(job, FieldEdit::Status { action, location: here, reason }).map(|_| ()),
        UiAction::AddNote(text) => store.apply_edit(job, FieldEdit::AddNote { text }).map(|_| ()),
        UiAction::AddPhoto { kind, bytes } => {
            let ready = crate::photo::process(&bytes).map_err(|e| e.to_string())?;
            store.add_photo(job, kind, "", ready).map(|_| ())
        }
        UiAction::Scan(bytes) => {
            let scanned = scanner.scan(&bytes).map_err(|e| e.to_string())?;
            let m = store.match_scan(&scanned.text, &view.dispatch.appliance.brand, &view.dispatch.appliance.model).map_err(err)?;
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
            *last_scan = Some(m);
            store.apply_edit(job, FieldEdit::AddPartScan { scan }).map(|_| ())
        }
        UiAction::UsePart { part_no } => {
            *last_scan = None;
            store.use_part(job, &part_no, 1).map(|_| ())
        }
        UiAction::AddPriceLine(code) => store.add_price_item(job, &code).map(|_| ()),
        UiAction::RemoveLine(id) => store.remove_line(job, id).map(|_| ()),
        UiAction::SetQuantity { id, quantity } => store.set_line_quantity(job, id, quantity).map(|_| ()),
        UiAction::Sign { purpose, signer, strokes, shown_hash } => {
            store.apply_edit(job, FieldEdit::Sign { purpose, signer, strokes, shown_hash }).map(|_| ())
        }
        UiAction::SetReport(report) => store.apply_edit(job, FieldEdit::SetReport { report }).map(|_| ()),
        UiAction::Rate { score, comment } => store.apply_edit(job, FieldEdit::Rate { score, comment }).map(|_| ()),
    };
    result.map_err(err)
}

#[component]
pub fn App() -> Element {
    let services = use_context::<Services>();
    use_context_provider(|| services.camera.clone());
    let mut screen = use_signal(|| Screen::Today);
    let mut lang = use_signal(|| Lang::Zh);
    let mut revision = use_signal(|| 0u64);
    let mut message = use_signal(|| None::<String>);
    let mut last_scan = use_signal(|| None::<ScanMatch>);
    let mut kb_query = use_signal(String::new);
    let mut kb_category = use_signal(|| None::<shared::model::Category>);
    // The thumbnail whose full picture is open on the job screen.
    let mut viewing = use_signal(|| None::<String>);
    let mut sync_status = use_signal(|| services.sync.status());

    // Background sync: every 30 s (backing off while the server cannot be reached), and the
    // status refreshed after each attempt.
    let bg = services.clone();
    use_future(move || {
        let bg = bg.clone();
        async move {
            let every = Duration::from_secs(30);
            let mut wait = every;
            loop {
                let result = bg.sync.sync_now().await;
                wait = next_wait(&result, every, wait);
                sync_status.set(bg.sync.status());
                revision += 1;
                tokio::time::sleep(wait).await;
            }
        }
    });

    // A locator that listens to the page (browser, webview) does so while the app is open, and
    // a real move redraws the distances and the check-in check.
    let watcher = services.locator.clone();
    use_future(move || {
        let watcher = watcher.clone();
        async move {
            if let Some(watch) = watcher.watch(Box::new(move || {
                let mut r = revision;
                r += 1;
            })) {
                watch.await;
            }
        }
    });

    let _ = revision();
    let online = sync_status.read().problem != Some(crate::sync_client::SyncProblem::Unreachable);
    let now = Timestamp::now();
    let here = services.locator.current();
    let off = services.utc_offset_min;
    let l = lang();
    let body = {
        let mut store = services.store.lock().unwrap_or_else(|e| e.into_inner());
        match screen() {
            Screen::Today => {
                let jobs = store.list_today(TodayQuery { day_start: now.start_of_local_day(off) }).unwrap_or_default();
                let paired = store.identity().ok().flatten().is_some();
                rsx! { TodayScreen {
                    jobs, now, here, sync: sync_status(), online, lang: l, utc_offset_min: off,
                    on_open: move |id| { message.set(None); last_scan.set(None); screen.set(Screen::Job(id)) },
                    on_pair: (!paired).then_some(EventHandler::new(move |_| screen.set(Screen::Settings))),
                } }
            }
            Screen::Job(id) => match store.open_job(id) {
                Ok(view) => {
                    let photo_view = viewing().and_then(|t| full_photo(&store, &view, &t));
                    let data = JobScreenData {
                        history: store.history_of(id, &view.dispatch.appliance.serial).unwrap_or_default(),
                        prices: store.price_list(Some(view.dispatch.appliance.category)).unwrap_or_default(),
                        thumbnails: thumbnails(&store, &view),
                        fixes: store
                            .fixes_for(
                                view.dispatch.appliance.category,
                                &view.dispatch.appliance.brand,
                                &view.dispatch.appliance.model,
                                &view.dispatch.problem,
                            )
                            .unwrap_or_default(),
                        view,
                        here,
                        now,
                        last_scan: last_scan(),
                        message: message(),
                        utc_offset_min: off,
                        photo_view,
                    };
                    let s = services.clone();
                    rsx! { JobScreen { key: "{id}", data, lang: l, on_action: move |a: UiAction| {
                        match a {
                            UiAction::Back => { viewing.set(None); screen.set(Screen::Today); return; }
                            UiAction::ViewPhoto(thumbnail) => { viewing.set(thumbnail); return; }
                            UiAction::SearchKb(c) => { kb_category.set(Some(c)); kb_query.set(String::new()); screen.set(Screen::Kb); return; }
                            _ => {}
                        }
                        let mut scan = last_scan();
                        // The store lock ends with this statement: the sync status below takes it again.
                        let result = run(&mut s.store.lock().unwrap_or_else(|e| e.into_inner()), id, a, s.locator.current(), s.scanner.as_ref(), &mut scan);
                        match result {
                            Ok(()) => message.set(None),
                            Err(e) => message.set(Some(e)),
                        }
                        last_scan.set(scan);
                        let _ = s.sync.refresh_pending();
                        sync_status.set(s.sync.status());
                        revision += 1;
                    } } }
                }
                Err(e) => rsx! { div { class: "banner error", "{e}" } },
            },
            Screen::Kb => {
                let hits = store.search_kb(&kb_query(), kb_category()).unwrap_or_default();
                rsx! { KbScreen { query: kb_query(), category: kb_category(), hits, lang: l, on_search: move |q| kb_query.set(q), on_category: move |c| kb_category.set(c) } }
            }
            Screen::Stock => rsx! { StockScreen { stock: store.van_stock(now.start_of_local_day(off)).unwrap_or_default(), lang: l } },
            Screen::Settings => {
                let data = SettingsData {
                    server: store.meta("server").ok().flatten(),
                    technician: store.identity().ok().flatten().map(|i| i.name),
                    storage_bytes: store.size_bytes().unwrap_or(0),
                    sync: sync_status(),
                    online,
                    message: message(),
                    utc_offset_min: off,
                };
                let s = services.clone();
                rsx! { SettingsScreen { data, lang: l, on_action: move |a: SettingsAction| {
                    let s = s.clone();
                    match a {
                        SettingsAction::SwitchLanguage => lang.set(lang().other()),
                        SettingsAction::SignOut => { spawn(async move {
                            let text = match s.sync.sign_out().await {
                                Ok(()) => l.t("已退出，本机的工单已清除", "Signed out: this phone's jobs are cleared").to_owned(),
                                Err(crate::sync_client::SyncError::Store(StoreError::UnsyncedWork { jobs, photo_bytes })) => match l {
                                    Lang::Zh => format!("还有未上传的工作（{jobs} 个工单，{} KB 照片），请先同步后再退出", photo_bytes.div_ceil(1024)),
                                    Lang::En => format!("Unsent work is on this phone ({jobs} jobs, {} KB of photos): sync before signing out", photo_bytes.div_ceil(1024)),
                                },
                                Err(e) => e.to_string(),
                            };
                            message.set(Some(text));
                            sync_status.set(s.sync.status());
                            revision += 1;
                        }); }
                        SettingsAction::SyncNow => { spawn(async move { let r = s.sync.sync_now().await; if let Err(e) = r { message.set(Some(e.to_string())); } sync_status.set(s.sync.status()); revision += 1; }); }
                        SettingsAction::Pair { server, code } => { spawn(async move {
                            match pair(&s.store, &server, &code, "onsite-app").await {
                                Ok(_) => { message.set(None); let _ = s.sync.sync_now().await; }
                                Err(e) => message.set(Some(e.to_string())),
                            }
                            sync_status.set(s.sync.status());
                            revision += 1;
                        }); }
                    }
                } } }
            }
        }
    };
    let tab = |s: Screen| if screen() == s || matches!((screen(), s), (Screen::Job(_), Screen::Today)) { "on" } else { "" };
    rsx! {
        style { {STYLE} }
        div { class: "app",
            header { h1 { "OnSite" } span { class: "sync", if sync_status().is_synced() { "●" } else { "○" } } }
            main { {body} }
            nav { class: "tabs",
                button { class: tab(Screen::Today), "data-tab": "today", onclick: move |_| screen.set(Screen::Today), {l.t("今日", "Today")} }
                button { class: tab(Screen::Kb), "data-tab": "kb", onclick: move |_| screen.set(Screen::Kb), {l.t("知识库", "Fixes")} }
                button { class: tab(Screen::Stock), "data-tab": "stock", onclick: move |_| screen.set(Screen::Stock), {l.t("库存", "Van")} }
                button { class: tab(Screen::Settings), "data-tab": "settings", onclick: move |_| { message.set(None); screen.set(Screen::Settings) }, {l.t("设置", "Settings")} }
            }
        }
    }
}
