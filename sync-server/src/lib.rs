//! OnSite's sync server: reconciles devices' job documents, stores blobs, authenticates every
//! device and dispatcher, and serves the dispatcher API.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod blobs;
pub mod body;
pub mod client;
pub mod console;
pub mod cpu;
pub mod demo;
pub mod erasure;
pub mod error;
pub mod idempotency;
pub mod jobs;
pub mod kpi;
pub mod migrate;
pub mod openapi;
pub mod presence;
pub mod ranking;
pub mod reference;
pub mod routes;
pub mod settings;
pub mod sla;
pub mod staff;
pub mod sync;
pub mod web_app;

/// Storage records and traits (their own crate: the server sees backends only through them).
pub use onsite_store as store;

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::routing::get;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use shared::{DeviceId, JobId};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::blobs::{BLOB_CHUNK_BYTES_MAX, BlobStore, FsBlobStore};
use crate::client::ClientLimits;
use crate::cpu::CpuPool;
use crate::jobs::JobLocks;
use crate::store::{AccountStore, AuditStore, ChangeFeed, Heard, Store};
use anyhow::Context;
use onsite_store_postgres::PgStore;
use onsite_store_sqlite::SqliteStore;

pub use onsite_blobs_s3::{S3BlobStore, S3Settings};
use shared::wire::guard::GuardLimits;

/// The database URL may carry a password: it is never printed.
impl std::fmt::Debug for StoreBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreBackend::Embedded => f.write_str("Embedded"),
            StoreBackend::Postgres { connections, .. } => {
                f.debug_struct("Postgres").field("url", &"(hidden)").field("connections", connections).finish()
            }
        }
    }
}

/// What live screens are told: a job changed (here or on another instance), or they may have
/// missed changes and should reload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobChange {
    Changed(JobId),
    Lagged,
}

/// Where the server keeps blobs (photos, signatures).
#[derive(Clone, Debug, Default)]
pub enum BlobBackend {
    /// Files in the data folder's `blobs/` (one machine).
    #[default]
    Files,
    /// An S3-compatible bucket (what several instances share).
    S3(S3Settings),
}

/// Where the server keeps its records (jobs' documents, accounts, devices, the audit log).
#[derive(Clone, Default)]
pub enum StoreBackend {
    /// The SQLite file in the data folder (one machine).
    #[default]
    Embedded,
    /// A PostgreSQL database (what several instances share): its URL, pool size and the CA
    /// file its certificate is checked against besides the system's.
    Postgres { url: String, connections: usize, ca_file: Option<std::path::PathBuf> },
}

/// Limits a deployment may tune.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Sustained sync/blob requests per second per device (bursts of twice that).
    pub device_requests_per_s: u32,
    /// Pairing attempts per second, server-wide (codes are short; guessing must be slow).
    pub pairings_per_s: u32,
    /// Days a closed or cancelled job stays on its technician's phones (then it leaves them, once
    /// its work is confirmed; the server keeps it).
    pub finished_job_retention_days: u32,
    /// Sustained requests per second from one client address, before authentication (bursts of
    /// twice that). A company's office behind one NAT shares it, so it is generous.
    pub client_requests_per_s: u32,
    /// Logins and failed authentications per minute from one client address.
    pub auth_attempts_per_min: u32,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Only the trusted proxies may connect (plain HTTP off loopback behind a TLS proxy).
    pub proxies_only: bool,
    /// The console map's tile URL template (`https://tile.example/{z}/{x}/{y}.png`); without it
    /// the map draws jobs and technicians on a plain grid.
    pub map_tiles: Option<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            device_requests_per_s: 20,
            pairings_per_s: 5,
            finished_job_retention_days: 30,
            client_requests_per_s: 200,
            auth_attempts_per_min: 20,
            trusted_proxies: Vec::new(),
            proxies_only: false,
            map_tiles: None,
        }
    }
}

/// Everything a handler can reach.
/// The largest request body the admin API takes (and the console, for what it publishes).
pub const ADMIN_BODY_BYTES_MAX: usize = 256 * 1024;

/// Whole blobs read into memory at once (16 MiB each at most).
pub const BLOB_READS_MAX: usize = 8;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub accounts: Arc<dyn AccountStore>,
    pub audit: Arc<dyn AuditStore>,
    /// Per-address limits, before authentication.
    pub clients: Arc<ClientLimits>,
    pub blobs: Arc<dyn BlobStore>,
    pub job_locks: Arc<JobLocks>,
    pub device_limiter: Arc<DefaultKeyedRateLimiter<DeviceId>>,
    pub pair_limiter: Arc<DefaultDirectRateLimiter>,
    /// The pairing limit, counted across instances when they share a store.
    pub pairings_per_s: u32,
    /// Job changes, for live progress streams.
    pub events: tokio::sync::broadcast::Sender<JobChange>,
    /// Other instances sharing the store (none when it is this process's alone).
    pub changes: Option<Arc<dyn ChangeFeed>>,
    /// Where Automerge work runs (never on the async workers).
    pub cpu: Arc<CpuPool>,
    /// Where Argon2 runs, one at a time: a flood of password guesses never takes the cores that
    /// sync needs.
    pub passwords: Arc<CpuPool>,
    /// Bounds on each sync message a device sends.
    pub guard_limits: GuardLimits,
    pub finished_job_retention_days: u32,
    /// When each device was last heard from.
    pub presence: Arc<presence::Presence>,
    /// Whole-blob reads at once (downloads, possession proofs): each holds up to 16 MiB.
    pub blob_reads: Arc<tokio::sync::Semaphore>,
    /// The console map's tile URL template, when a provider is configured.
    pub map_tiles: Option<Arc<str>>,
}

impl AppState {
    pub fn new<S: Store + AccountStore + AuditStore>(store: Arc<S>, blobs: Arc<dyn BlobStore>, limits: &Limits) -> Self {
        let per_s = |n: u32| NonZeroU32::new(n.max(1)).expect("max(1) is non-zero");
        Self {
            accounts: store.clone(),
            audit: store.clone(),
            store,
            clients: Arc::new(ClientLimits::new(
                limits.client_requests_per_s,
                limits.auth_attempts_per_min,
                limits.trusted_proxies.clone(),
                limits.proxies_only,
            )),
            passwords: Arc::new(CpuPool::new(1)),
            blobs,
            job_locks: Arc::default(),
            device_limiter: Arc::new(RateLimiter::keyed(
                Quota::per_second(per_s(limits.device_requests_per_s)).allow_burst(per_s(limits.device_requests_per_s * 2)),
            )),
            pair_limiter: Arc::new(RateLimiter::direct(
                Quota::per_second(per_s(limits.pairings_per_s)).allow_burst(per_s(limits.pairings_per_s * 2)),
            )),
            pairings_per_s: limits.pairings_per_s,
            events: tokio::sync::broadcast::channel(1024).0,
            changes: None,
            cpu: Arc::new(CpuPool::for_this_machine()),
            guard_limits: GuardLimits::default(),
            finished_job_retention_days: limits.finished_job_retention_days,
            presence: Arc::default(),
            blob_reads: Arc::new(tokio::sync::Semaphore::new(BLOB_READS_MAX)),
            map_tiles: limits.map_tiles.as_deref().map(Arc::from),
        }
    }

    /// The embedded deployment: SQLite file and blobs folder under `data_dir`.
    pub fn embedded(data_dir: &Path, limits: &Limits) -> anyhow::Result<Self> {
        prepare_data_dir(data_dir)?;
        let store = open_sqlite(data_dir)?;
        let blobs = FsBlobStore::open(data_dir.join("blobs"))?;
        Ok(Self::new(Arc::new(store), Arc::new(blobs), limits))
    }

    /// Records where `store` says, blobs where `blobs` says (the database and the bucket are
    /// checked now, so a wrong address or key stops the start with its reason).
    pub async fn open(data_dir: &Path, limits: &Limits, store: &StoreBackend, blobs: &BlobBackend) -> anyhow::Result<Self> {
        prepare_data_dir(data_dir)?;
        let blobs: Arc<dyn BlobStore> = match blobs {
            BlobBackend::Files => Arc::new(FsBlobStore::open(data_dir.join("blobs"))?),
            BlobBackend::S3(s3) => Arc::new(S3BlobStore::connect(s3).await?),
        };
        Ok(match store {
            StoreBackend::Embedded => Self::new(Arc::new(open_sqlite(data_dir)?), blobs, limits),
            StoreBackend::Postgres { url, connections, ca_file } => {
                let pg = Arc::new(PgStore::connect(url, *connections, ca_file.as_deref()).await.context("connecting to PostgreSQL")?);
                match pg.connection_encrypted().await {
                    Ok(true) => tracing::info!("connected to PostgreSQL over TLS"),
                    Ok(false) => tracing::info!("connected to PostgreSQL without TLS (sslmode=require in database_url insists on it)"),
                    Err(e) => tracing::warn!(error = %e, "could not ask PostgreSQL whether the connection is encrypted"),
                }
                let mut state = Self::new(pg.clone(), blobs, limits);
                state.follow(pg);
                state
            }
        })
    }

    /// Tells the live screens here, and the other instances, that `job` changed.
    pub fn notify(&self, job: JobId) {
        let _ = self.events.send(JobChange::Changed(job));
        if let Some(changes) = self.changes.clone() {
            tokio::spawn(async move {
                if let Err(e) = changes.announce(job).await {
                    tracing::warn!(%job, error = %e, "other instances were not told of a job change");
                }
            });
        }
    }

    /// Hears the other instances' job changes and passes them to the live screens here.
    fn follow(&mut self, changes: Arc<dyn ChangeFeed>) {
        let events = self.events.clone();
        changes.listen(Box::new(move |heard| {
            let _ = events.send(match heard {
                Heard::Job(job) => JobChange::Changed(job),
                Heard::Lagged => JobChange::Lagged,
            });
        }));
        self.changes = Some(changes);
    }
}

/// Makes the data folder (readable by the server's user only) if it is missing: whatever the
/// backends, it holds secrets (the demo's credentials) and, embedded, customers' data.
fn prepare_data_dir(data_dir: &Path) -> anyhow::Result<()> {
    if !data_dir.exists() {
        std::fs::create_dir_all(data_dir)?;
        #[cfg(unix)]
        std::fs::set_permissions(data_dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    }
    Ok(())
}

/// The database in `data_dir`.
fn open_sqlite(data_dir: &Path) -> anyhow::Result<SqliteStore> {
    Ok(SqliteStore::open(&data_dir.join("onsite-server.sqlite"))?)
}

pub fn router(state: AppState) -> Router {
    let admin = admin_routes()
        .route_layer(middleware::from_fn_with_state(state.clone(), idempotency::keyed))
        .route_layer(middleware::from_fn_with_state(state.clone(), audit::record))
        .route_layer(middleware::from_fn_with_state(state.clone(), staff::authenticate));
    let (api, spec) = device_routes().merge(admin).split_for_parts();
    let spec = openapi::describe(spec);
    let spec_json = bytes::Bytes::from(spec.to_pretty_json().expect("the description serializes"));
    let docs = openapi::docs_page(&spec);
    api.merge(console::router())
        .route(openapi::SPEC_PATH, get(openapi::spec).with_state(spec_json))
        .route(openapi::DOCS_PATH, get(move || async move { docs }))
        .fallback(routes::no_route)
        .method_not_allowed_fallback(routes::wrong_method)
        .layer(DefaultBodyLimit::max(ADMIN_BODY_BYTES_MAX))
        // Answers carry customers' names, addresses and photos: no cache (browser or proxy) keeps them.
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(middleware::from_fn_with_state(state.clone(), client::identify))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The API's description, as [`router`] serves it at [`openapi::SPEC_PATH`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi::describe(device_routes().merge(admin_routes()).into_openapi())
}

/// Only these routes may take a body larger than the server-wide 256 KB.
fn body_limit(r: UtoipaMethodRouter<AppState>, bytes: usize) -> UtoipaMethodRouter<AppState> {
    r.layer(DefaultBodyLimit::max(bytes))
}

/// What phones call (and the health check, and the login, both open).
fn device_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(routes::health))
        .routes(routes!(routes::pair))
        .routes(body_limit(routes!(routes::sync), shared::wire::SYNC_BODY_BYTES_MAX))
        .routes(routes!(routes::job_history))
        .routes(body_limit(routes!(routes::blob_get, routes::blob_head, routes::blob_patch), BLOB_CHUNK_BYTES_MAX))
        .routes(routes!(admin::accounts::login))
}

/// The login route (the only one of the dispatcher endpoint open without credentials).
pub const ADMIN_SESSION_PATH: &str = "/admin/v1/session";

/// The dispatcher endpoint: every route authenticated (`staff::authenticate`), every change
/// audited, every POST idempotent with a key (layers added by [`router`]).
fn admin_routes() -> OpenApiRouter<AppState> {
    use admin::{accounts as acc, erasure, photos, reference as refdata, views};
    OpenApiRouter::new()
        .routes(routes!(acc::me, acc::logout))
        .routes(routes!(acc::change_own_password))
        .routes(routes!(acc::list_accounts, acc::post_account))
        .routes(routes!(acc::patch_account))
        .routes(routes!(acc::list_tokens, acc::post_token))
        .routes(routes!(acc::revoke_token))
        .routes(routes!(acc::rotate_token))
        .routes(routes!(acc::audit_log))
        .routes(routes!(erasure::post_erasure))
        .routes(routes!(admin::list_technicians, admin::create_technician))
        .routes(routes!(admin::get_technician, admin::edit_technician))
        .routes(routes!(admin::create_pairing_code))
        .routes(routes!(admin::deactivate_technician))
        .routes(routes!(admin::reactivate_technician))
        .routes(routes!(admin::set_working_hours))
        .routes(routes!(refdata::set_van_stock))
        .routes(routes!(admin::list_devices))
        .routes(routes!(admin::revoke_device))
        .routes(routes!(admin::create_job, views::list_jobs))
        .routes(routes!(admin::get_job))
        .routes(routes!(views::suggestions))
        .routes(routes!(views::auto_assign))
        .routes(routes!(views::self_service_candidates, views::answer_self_service))
        .routes(routes!(views::report))
        .routes(body_limit(routes!(photos::add_customer_photo), shared::photo::INPUT_BYTES_MAX))
        .routes(routes!(admin::assign))
        .routes(routes!(admin::unassign))
        .routes(routes!(admin::reschedule))
        .routes(routes!(admin::cancel))
        .routes(routes!(admin::close))
        .routes(routes!(admin::add_note))
        .routes(routes!(admin::update))
        .routes(routes!(views::kpis))
        .routes(routes!(views::kpis_csv))
        .routes(routes!(views::events))
        .routes(routes!(refdata::publish))
        .routes(routes!(refdata::versions))
        .routes(routes!(refdata::version))
        .routes(routes!(routes::admin_blob_get))
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, router(state), shutdown).await
}

/// HTTPS from PEM certificate and key files (rustls).
pub async fn tls_config(cert: &Path, key: &Path) -> anyhow::Result<axum_server::tls_rustls::RustlsConfig> {
    use anyhow::Context;
    axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .with_context(|| format!("reading the TLS certificate {} and key {}", cert.display(), key.display()))
}

/// [`serve_router`] over HTTPS.
pub async fn serve_router_tls(
    listener: std::net::TcpListener,
    router: Router,
    tls: axum_server::tls_rustls::RustlsConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handle = axum_server::Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopping.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
    });
    axum_server::from_tcp_rustls(listener, tls)?
        .handle(handle)
        .serve(router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .await
}

/// [`serve`] for a router with more than the API (the web app's files).
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // With each connection's peer address: per-address limits and the audit log need it.
    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).with_graceful_shutdown(shutdown).await
}

/// The server's modules depend on each other in one direction only: a cycle (as once
/// `admin::reference` → `routes` → `sync` → `admin::reference`) makes every layer part of every
/// other. Checked on the sources, so a new `use crate::…` that closes a loop fails here.
#[cfg(test)]
mod layering {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Top-level module → the top-level modules its files name through `crate::`.
    fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
        let mut files = Vec::new();
        let mut dirs = vec![src.to_path_buf()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    files.push(p);
                }
            }
        }
        let module = |p: &Path| {
            let rel = p.strip_prefix(src).unwrap();
            let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
            first.trim_end_matches(".rs").to_owned()
        };
        let modules: BTreeSet<String> = files.iter().map(|p| module(p)).filter(|m| m != "lib" && m != "main").collect();
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for p in &files {
            let from = module(p);
            if !modules.contains(&from) {
                continue;
            }
            // Code only: comments may name a module without depending on it.
            let text: String =
                std::fs::read_to_string(p).unwrap().lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
            let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
            for (i, _) in text.match_indices("crate::") {
                // `crate::` itself, not `$crate::` or `other_crate::`.
                if text[..i].chars().next_back().is_some_and(|c| ident(c) || c == '$') {
                    continue;
                }
                let rest = &text[i + "crate::".len()..];
                // `crate::{a, b::c}` names each module in the group.
                let names: Vec<String> = match rest.strip_prefix('{') {
                    Some(group) => group[..group.find('}').unwrap_or(group.len())]
                        .split(',')
                        .map(|p| p.trim().chars().take_while(|&c| ident(c)).collect())
                        .collect(),
                    None => vec![rest.chars().take_while(|&c| ident(c)).collect()],
                };
                for name in names {
                    if name != from && modules.contains(&name) {
                        g.entry(from.clone()).or_default().insert(name);
                    }
                }
            }
        }
        g
    }

    /// A cycle in `g`, as the modules along it, if there is one.
    fn cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
        fn visit(
            n: &str,
            g: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(at) = path.iter().position(|p| p == n) {
                let mut c = path[at..].to_vec();
                c.push(n.to_owned());
                return Some(c);
            }
            if done.contains(n) {
                return None;
            }
            path.push(n.to_owned());
            for m in g.get(n).into_iter().flatten() {
                if let Some(c) = visit(m, g, path, done) {
                    return Some(c);
                }
            }
            path.pop();
            done.insert(n.to_owned());
            None
        }
        let mut done = BTreeSet::new();
        g.keys().find_map(|n| visit(n, g, &mut Vec::new(), &mut done))
    }

    #[test]
    fn modules_depend_in_one_direction() {
        let g = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
        assert!(g.len() > 10, "the sources were read: {g:?}");
        if let Some(c) = cycle(&g) {
            panic!("modules import each other in a loop: {}", c.join(" → "));
        }
    }

    #[test]
    fn a_loop_is_found() {
        let g: BTreeMap<String, BTreeSet<String>> =
            [("a", "b"), ("b", "c"), ("c", "a")].into_iter().map(|(f, t)| (f.to_owned(), BTreeSet::from([t.to_owned()]))).collect();
        assert_eq!(cycle(&g).unwrap(), ["a", "b", "c", "a"]);
    }
}
