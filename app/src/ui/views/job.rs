//! One job: read from the store (documents, history, price list, known fixes, thumbnails) off the
//! UI thread; its actions run through `actions`.

use dioxus::prelude::*;
use shared::{BlobHash, JobId, Timestamp};

use super::{Loading, read_failed};
use crate::store::{JobView, Store, StoreError};
use crate::ui::actions;
use crate::ui::components::job::{JobScreen, JobScreenData, PhotoView, UiAction};
use crate::ui::engine::{FullPhoto, OpenJob};
use crate::ui::hooks::use_ask;
use crate::ui::route::Route;
use crate::ui::services::Services;
use crate::ui::state::use_app_state;

#[component]
pub fn Job(id: JobId) -> Element {
    // Keyed: another job is a fresh screen (its own drafts, scan result and scroll position).
    rsx! { JobPage { key: "{id}", id } }
}

/// What the job screen reads from the store in one go (in the engine).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Loaded {
    pub view: JobView,
    pub history: Vec<crate::store::JobSummary>,
    pub prices: Vec<shared::reference::PriceItem>,
    pub fixes: Vec<crate::store::KbHit>,
    pub thumbnails: Vec<(String, String)>,
    pub problems: Vec<crate::store::JobProblem>,
}

impl Loaded {
    /// The screen's data at `now`, where the phone is `here`.
    pub fn screen(self, here: Option<shared::model::GeoPoint>, now: Timestamp, utc_offset_min: i32) -> JobScreenData {
        JobScreenData {
            view: self.view,
            here,
            now,
            prices: self.prices,
            history: self.history,
            thumbnails: self.thumbnails,
            last_scan: None,
            fixes: self.fixes,
            utc_offset_min,
            photo_view: None,
            problems: self.problems,
        }
    }
}

fn data_url(store: &Store, hash: &BlobHash) -> Result<Option<String>, StoreError> {
    use base64::Engine;
    Ok(store.blob(hash)?.map(|bytes| format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))))
}

pub fn load(store: &mut Store, id: JobId) -> Result<Loaded, StoreError> {
    let view = store.open_job(id)?;
    let a = &view.dispatch.appliance;
    let mut thumbnails = Vec::new();
    let field = view.field.photos.iter().map(|p| &p.thumbnail);
    for hash in field.chain(view.dispatch.customer_photos.iter().map(|p| &p.thumbnail)) {
        if let Some(url) = data_url(store, hash)? {
            thumbnails.push((hash.to_string(), url));
        }
    }
    Ok(Loaded {
        history: store.history_of(id, &a.serial)?,
        prices: store.price_list(Some(a.category))?,
        fixes: store.fixes_for(a.category, &a.brand, &a.model, &view.dispatch.problem)?,
        thumbnails,
        problems: store.job_problems(id)?,
        view,
    })
}

/// The full picture behind a thumbnail, if the phone holds it.
pub(crate) fn full_photo(store: &mut Store, id: JobId, thumbnail: &str) -> Result<Option<PhotoView>, StoreError> {
    let view = store.open_job(id)?;
    let field = view.field.photos.iter().map(|p| (&p.thumbnail, &p.blob, &p.caption));
    let customer = view.dispatch.customer_photos.iter().map(|p| (&p.thumbnail, &p.blob, &p.caption));
    let Some((_, blob, caption)) = field.chain(customer).find(|(t, _, _)| t.as_str() == thumbnail) else { return Ok(None) };
    Ok(data_url(store, blob)?.map(|url| PhotoView { url, caption: caption.clone() }))
}

#[component]
fn JobPage(id: JobId) -> Element {
    let services = use_context::<Services>();
    let state = use_app_state();
    let lang = (state.lang)();
    let nav = navigator();
    let loaded = use_ask(move || OpenJob(id));
    let mut last_scan = use_signal(|| None::<crate::store::ScanMatch>);
    let mut viewing = use_signal(|| None::<String>);
    let photo_services = services.clone();
    let photo = use_resource(move || {
        let (t, engine) = (viewing(), photo_services.engine.clone());
        async move {
            match t {
                Some(thumbnail) => engine.ask(FullPhoto { job: id, thumbnail }).await.ok().flatten(),
                None => None,
            }
        }
    });
    // A job opens at its top: customer, status and the next step, whatever the list's scroll was.
    use_hook(|| {
        let _ = document::eval("window.scrollTo(0, 0)");
    });

    let read = loaded.read();
    let l = match &*read {
        None => return rsx! { Loading { lang } },
        Some(Err(e)) => return read_failed(e, lang),
        Some(Ok(l)) => l.clone(),
    };
    let data = JobScreenData {
        last_scan: last_scan(),
        photo_view: photo.read().clone().flatten(),
        ..l.screen((state.here)(), Timestamp::now(), services.utc_offset_min)
    };
    let drafts = state.drafts_of(id);
    rsx! {
        JobScreen { data, lang, drafts, on_action: move |a: UiAction| match a {
            UiAction::Back => { nav.push(Route::Today {}); }
            UiAction::ViewPhoto(thumbnail) => viewing.set(thumbnail),
            UiAction::SearchKb(c) => { nav.push(Route::KbFor { category: c.as_str().to_owned() }); }
            other => {
                let kind = (matches!(other, UiAction::UsePart { .. }), matches!(other, UiAction::AddNote(_)), matches!(other, UiAction::SetReport(_)));
                actions::run_job_action(&services, state, id, other, move |result| {
                    let Ok(done) = result else { return };
                    let (used_part, note, report) = kind;
                    // The screen may have closed meanwhile (the work is saved regardless).
                    if (done.scan.is_some() || used_part)
                        && let Ok(mut w) = last_scan.try_write()
                    {
                        *w = done.scan;
                    }
                    // Saved drafts are done with; a refused one stays for the technician to fix.
                    if note {
                        let mut n = drafts.note;
                        n.set(String::new());
                    }
                    if report {
                        let mut r = drafts.report;
                        r.set(None);
                    }
                });
            }
        } }
    }
}
