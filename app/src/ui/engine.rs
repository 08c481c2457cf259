//! The work behind the screens: the local store, the sync client, photo and label processing.
//!
//! Screens never touch the store; they *ask* ([`Ask`]): "today's plan", "this job", "apply this
//! action", "sync now". Each ask is a small serializable value with a typed answer, so the same
//! screens run wherever the engine lives:
//! - on a PC (desktop window, liveview) the engine is in the same process and an ask runs on the
//!   runtime's threads (store work on the blocking pool), never on the thread that draws;
//! - in a browser the engine lives in a dedicated Web Worker (the only place SQLite can keep its
//!   file in the origin's private file system with full durability), and an ask crosses as
//!   MessagePack bytes ([`Request`], [`answer_bytes`]): self-describing, because the documents'
//!   types use serde features (internally tagged enums) that a schema-less format like postcard
//!   cannot read back; photo bytes stay bytes (`serde_bytes`).
//!
//! One store, one lock: every store call is one transaction, in the order asked; the sync client
//! takes the same lock between its network steps.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shared::edit::FieldEdit;
use shared::model::{Category, GeoPoint, PartScan};
use shared::{ItemId, JobId, Timestamp};

use super::Lang;
use super::components::job::{PhotoView, UiAction};
use super::error::UiError;
use super::state::{Did, Notice};
use super::views::job::{Loaded, full_photo, load};
use crate::platform::{ImageScanner, Scanner};
use crate::store::{JobSummary, KbHit, ScanMatch, Shortfall, StockView, Store, TodayQuery};
use crate::sync_client::{SyncClient, SyncError, SyncProblem, SyncStatus, next_wait};

/// The store and the sync client, wherever they run.
pub struct Engine {
    store: Arc<Mutex<Store>>,
    sync: Arc<SyncClient>,
}

/// An answer on its way. Native engines answer on a multi-threaded runtime (`Send`); the browser
/// has one thread, and its network futures are not `Send`.
#[cfg(not(target_arch = "wasm32"))]
pub type Answering<T> = Pin<Box<dyn Future<Output = Result<T, UiError>> + Send>>;
#[cfg(target_arch = "wasm32")]
pub type Answering<T> = Pin<Box<dyn Future<Output = Result<T, UiError>>>>;

/// Something a screen asks of the engine, with its typed answer.
pub trait Ask: Serialize + DeserializeOwned + Into<Request> + Send + 'static {
    type Answer: Serialize + DeserializeOwned + Send + 'static;
    /// CPU work that needs no store (a photo, a barcode): in a browser it runs in a worker of its
    /// own, so the store keeps answering the screens meanwhile.
    const MEDIA: bool = false;
    fn answer(self, engine: Arc<Engine>) -> Answering<Self::Answer>;
}

impl Engine {
    pub fn new(store: Store) -> Self {
        let store = Arc::new(Mutex::new(store));
        Engine { sync: Arc::new(SyncClient::new(store.clone())), store }
    }

    /// The shared store (tests and the command line use it directly).
    pub fn store(&self) -> &Arc<Mutex<Store>> {
        &self.store
    }

    pub fn sync(&self) -> &Arc<SyncClient> {
        &self.sync
    }

    /// Runs `f` with the store locked: on the blocking pool natively, inline in the worker (whose
    /// thread draws nothing).
    async fn with_store<T: Send + 'static>(&self, f: impl FnOnce(&mut Store) -> Result<T, UiError> + Send + 'static) -> Result<T, UiError> {
        let store = self.store.clone();
        blocking(move || {
            let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut store)
        })
        .await?
    }
}

/// CPU work off the runtime's async threads (natively); inline in the worker.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, UiError> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        match tokio::task::spawn_blocking(f).await {
            Ok(v) => Ok(v),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(UiError::Interrupted),
        }
    }
    #[cfg(target_arch = "wasm32")]
    {
        Ok(f())
    }
}

/// The plan of one day (today also holds unfinished earlier jobs), with what the van lacks.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DayPlan {
    /// Days from today (0 = today).
    pub offset: i32,
    pub utc_offset_min: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Day {
    pub jobs: Vec<JobSummary>,
    pub readiness: Vec<Shortfall>,
    pub paired: bool,
}

impl Ask for DayPlan {
    type Answer = Day;
    fn answer(self, engine: Arc<Engine>) -> Answering<Day> {
        Box::pin(async move {
            engine
                .with_store(move |s| {
                    let now = Timestamp::now();
                    let day_start = Timestamp(now.start_of_local_day(self.utc_offset_min).0 + i64::from(self.offset) * Timestamp::DAY);
                    let jobs = if self.offset == 0 { s.list_today(TodayQuery { day_start })? } else { s.list_day(day_start)? };
                    let readiness = s.van_readiness(&jobs)?;
                    Ok(Day { jobs, readiness, paired: s.identity()?.is_some() })
                })
                .await
        })
    }
}

/// One job with everything its screen shows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpenJob(pub JobId);

impl Ask for OpenJob {
    type Answer = Loaded;
    fn answer(self, engine: Arc<Engine>) -> Answering<Loaded> {
        Box::pin(async move { engine.with_store(move |s| Ok(load(s, self.0)?)).await })
    }
}

/// The full picture behind a thumbnail, if the phone holds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FullPhoto {
    pub job: JobId,
    pub thumbnail: String,
}

impl Ask for FullPhoto {
    type Answer = Option<PhotoView>;
    fn answer(self, engine: Arc<Engine>) -> Answering<Option<PhotoView>> {
        Box::pin(async move { engine.with_store(move |s| Ok(full_photo(s, self.job, &self.thumbnail)?)).await })
    }
}

/// Full-text search over the knowledge base.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SearchKb {
    pub query: String,
    pub category: Option<Category>,
}

impl Ask for SearchKb {
    type Answer = Vec<KbHit>;
    fn answer(self, engine: Arc<Engine>) -> Answering<Vec<KbHit>> {
        Box::pin(async move { engine.with_store(move |s| Ok(s.search_kb(&self.query, self.category)?)).await })
    }
}

/// The van's stock, with what today's jobs take from it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VanStock {
    pub day_start: Timestamp,
}

impl Ask for VanStock {
    type Answer = Vec<StockView>;
    fn answer(self, engine: Arc<Engine>) -> Answering<Vec<StockView>> {
        Box::pin(async move { engine.with_store(move |s| Ok(s.van_stock(self.day_start)?)).await })
    }
}

/// What Settings shows about the phone's store.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoreInfo;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreFacts {
    pub server: Option<String>,
    pub technician: Option<String>,
    pub size_bytes: u64,
}

impl Ask for StoreInfo {
    type Answer = StoreFacts;
    fn answer(self, engine: Arc<Engine>) -> Answering<StoreFacts> {
        Box::pin(async move {
            engine
                .with_store(|s| {
                    Ok(StoreFacts { server: s.meta("server")?, technician: s.identity()?.map(|i| i.name), size_bytes: s.size_bytes()? })
                })
                .await
        })
    }
}

/// What a finished job action leaves for the screen besides the store's new state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Done {
    pub did: Did,
    /// The part a scan matched (shown until it is used or another is scanned).
    pub scan: Option<ScanMatch>,
    /// The sync state with this change counted.
    pub sync: Option<SyncStatus>,
}

/// The CPU work an action needs before it touches the store: a photo decoded, downscaled and
/// re-encoded; a barcode read. Other actions pass through.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Prepare(pub UiAction);

/// An action ready for the store.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Work {
    Edit(UiAction),
    Photo { kind: shared::model::PhotoKind, ready: Box<shared::photo::ReadyPhoto> },
    Scan(crate::scan::Scanned),
}

impl Prepare {
    /// Does the work here (natively on the blocking pool).
    pub async fn run(self) -> Result<Work, UiError> {
        match self.0 {
            UiAction::AddPhoto { kind, bytes } => {
                let ready = blocking(move || crate::photo::process(&bytes)).await??;
                Ok(Work::Photo { kind, ready: Box::new(ready) })
            }
            UiAction::Scan(bytes) if bytes.len() > crate::photo::INPUT_BYTES_MAX => {
                Err(crate::photo::PhotoError::TooLarge(bytes.len()).into())
            }
            UiAction::Scan(bytes) => Ok(Work::Scan(blocking(move || ImageScanner.scan(&bytes)).await??)),
            other => Ok(Work::Edit(other)),
        }
    }
}

impl Ask for Prepare {
    type Answer = Work;
    const MEDIA: bool = true;
    fn answer(self, _engine: Arc<Engine>) -> Answering<Work> {
        Box::pin(self.run())
    }
}

/// One prepared action on a job. `here` goes with every status event: a check-in proves where it
/// happened.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Act {
    pub job: JobId,
    pub work: Work,
    pub here: Option<GeoPoint>,
}

impl Ask for Act {
    type Answer = Done;
    fn answer(self, engine: Arc<Engine>) -> Answering<Done> {
        Box::pin(async move {
            let Act { job, work, here } = self;
            let mut done = engine.with_store(move |s| apply(s, job, work, here)).await?;
            let sync = engine.sync.clone();
            done.sync = blocking(move || sync.refresh_pending()).await?.ok();
            Ok(done)
        })
    }
}

/// Applies one prepared action to the store: one transaction.
fn apply(store: &mut Store, job: JobId, action: Work, here: Option<GeoPoint>) -> Result<Done, UiError> {
    let mut done = Done { did: Did::QuoteChanged, scan: None, sync: None };
    match action {
        Work::Photo { kind, ready } => {
            store.add_photo(job, kind, "", *ready)?;
            done.did = Did::PhotoAdded;
        }
        Work::Scan(scanned) => {
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
        Work::Edit(action) => match action {
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

/// The sync state as the phone knows it now (nothing sent).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Status;

impl Ask for Status {
    type Answer = SyncStatus;
    fn answer(self, engine: Arc<Engine>) -> Answering<SyncStatus> {
        Box::pin(async move { Ok(engine.sync.status()) })
    }
}

/// One sync: send what waits, fetch what is new. `last_wait` is the background loop's current
/// pause (it backs off while the server cannot be reached).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SyncNow {
    pub every: Duration,
    pub last_wait: Duration,
}

/// How a sync went, in the terms the screens use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Synced {
    pub status: SyncStatus,
    /// It brought or sent something: the screens read again.
    pub changed: bool,
    /// What "sync now" says about it.
    pub notice: Notice,
    /// When the background loop should try next.
    pub next_wait: Duration,
}

impl Ask for SyncNow {
    type Answer = Synced;
    fn answer(self, engine: Arc<Engine>) -> Answering<Synced> {
        Box::pin(async move {
            let result = engine.sync.sync_now().await;
            let next_wait = next_wait(&result, self.every, self.last_wait);
            let changed = result.as_ref().is_ok_and(|r| {
                r.rounds > 1 || r.new_jobs + r.dropped_jobs + r.blobs_downloaded + r.blobs_uploaded > 0 || !r.refused.is_empty()
            });
            let status = engine.sync.status();
            let notice = match result {
                Ok(_) if status.is_synced() => Notice::Sent,
                Ok(_) if status.problem == Some(SyncProblem::Refused) => Notice::failed(UiError::Sync(SyncError::Server {
                    status: 422,
                    code: "refused".into(),
                    message: status.last_error.clone().unwrap_or_default(),
                })),
                Ok(_) => Notice::SavedOffline,
                Err(e) if e.is_transient() => Notice::SavedOffline,
                Err(e) => Notice::failed(e.into()),
            };
            Ok(Synced { status, changed, notice, next_wait })
        })
    }
}

/// Pairs the phone with a dispatcher's one-time code.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pair {
    pub server: String,
    pub code: String,
}

impl Ask for Pair {
    type Answer = SyncStatus;
    fn answer(self, engine: Arc<Engine>) -> Answering<SyncStatus> {
        Box::pin(async move {
            crate::sync_client::pair(&engine.store, &self.server, &self.code, "onsite-app").await?;
            Ok(engine.sync.status())
        })
    }
}

/// Signs out (refused while work is unsent).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignOut;

impl Ask for SignOut {
    type Answer = SyncStatus;
    fn answer(self, engine: Arc<Engine>) -> Answering<SyncStatus> {
        Box::pin(async move {
            engine.sync.sign_out().await?;
            Ok(engine.sync.status())
        })
    }
}

/// The language the technician chose (kept on the phone, so the app opens in it).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChosenLanguage;

impl Ask for ChosenLanguage {
    type Answer = Option<Lang>;
    fn answer(self, engine: Arc<Engine>) -> Answering<Option<Lang>> {
        Box::pin(async move { engine.with_store(|s| Ok(s.meta(LANG_KEY)?.as_deref().and_then(Lang::from_code))).await })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChooseLanguage(pub Lang);

impl Ask for ChooseLanguage {
    type Answer = ();
    fn answer(self, engine: Arc<Engine>) -> Answering<()> {
        Box::pin(async move { engine.with_store(move |s| Ok(s.set_meta(LANG_KEY, self.0.code())?)).await })
    }
}

const LANG_KEY: &str = "lang";

macro_rules! requests {
    ($($ask:ident),* $(,)?) => {
        /// Every ask, as it crosses to an engine in another context (the browser's worker).
        #[derive(Clone, Debug, Serialize, Deserialize)]
        pub enum Request { $($ask($ask)),* }

        $(impl From<$ask> for Request {
            fn from(a: $ask) -> Self { Request::$ask(a) }
        })*

        /// Answers an encoded media ask ([`Ask::MEDIA`]) without a store (the browser's media
        /// worker); any other ask is refused.
        pub async fn answer_media_bytes(request: &[u8]) -> Vec<u8> {
            match rmp_serde::from_slice::<Request>(request) {
                Ok(Request::Prepare(a)) => encode(&a.run().await),
                Ok(_) => encode::<()>(&Err(UiError::Engine("the media worker holds no store".into()))),
                Err(e) => encode::<()>(&Err(UiError::Engine(format!("unreadable request: {e}")))),
            }
        }

        /// Answers an encoded [`Request`] with the encoded `Result<Answer, UiError>`.
        pub async fn answer_bytes(engine: Arc<Engine>, request: &[u8]) -> Vec<u8> {
            match rmp_serde::from_slice::<Request>(request) {
                $(Ok(Request::$ask(a)) => encode(&a.answer(engine).await),)*
                Err(e) => encode::<()>(&Err(UiError::Engine(format!("unreadable request: {e}")))),
            }
        }
    };
}

requests!(
    DayPlan,
    OpenJob,
    Prepare,
    FullPhoto,
    SearchKb,
    VanStock,
    StoreInfo,
    Act,
    Status,
    SyncNow,
    Pair,
    SignOut,
    ChosenLanguage,
    ChooseLanguage
);

/// Encodes an answer for the page.
pub fn encode<T: Serialize>(answer: &Result<T, UiError>) -> Vec<u8> {
    // Answers are plain data: encoding cannot fail short of running out of memory.
    rmp_serde::to_vec_named(answer)
        .unwrap_or_else(|e| rmp_serde::to_vec_named(&Err::<(), _>(UiError::Engine(format!("unsendable answer: {e}")))).unwrap_or_default())
}

/// Encodes an ask for the engine.
pub fn encode_request(request: &Request) -> Result<Vec<u8>, UiError> {
    rmp_serde::to_vec_named(request).map_err(|e| UiError::Engine(format!("unsendable ask: {e}")))
}

/// Reads an answer encoded by [`answer_bytes`].
pub fn decode<A: Ask>(bytes: &[u8]) -> Result<A::Answer, UiError> {
    rmp_serde::from_slice::<Result<A::Answer, UiError>>(bytes).map_err(|e| UiError::Engine(format!("unreadable answer: {e}")))?
}
