//! OnSite's sync server: reconciles devices' job documents, stores blobs, authenticates every
//! device and dispatcher, and serves the dispatcher API.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod blobs;
pub mod client;
pub mod cpu;
pub mod demo;
pub mod erasure;
pub mod error;
pub mod idempotency;
pub mod jobs;
pub mod kpi;
pub mod presence;
pub mod ranking;
pub mod routes;
pub mod staff;
pub mod store;
pub mod sync;
pub mod web_app;

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::routing::{get, post, put};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use shared::wire::http as wire;
use shared::{DeviceId, JobId};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::blobs::{BLOB_CHUNK_BYTES_MAX, BlobStore, FsBlobStore};
use crate::client::ClientLimits;
use crate::cpu::CpuPool;
use crate::jobs::JobLocks;
use crate::store::{AccountStore, AuditStore, SqliteStore, Store};
use shared::wire::guard::GuardLimits;

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
        }
    }
}

/// Everything a handler can reach.
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
    /// Job changes, for live progress streams.
    pub events: tokio::sync::broadcast::Sender<JobId>,
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
            events: tokio::sync::broadcast::channel(1024).0,
            cpu: Arc::new(CpuPool::for_this_machine()),
            guard_limits: GuardLimits::default(),
            finished_job_retention_days: limits.finished_job_retention_days,
            presence: Arc::default(),
            blob_reads: Arc::new(tokio::sync::Semaphore::new(BLOB_READS_MAX)),
        }
    }

    /// The embedded deployment: SQLite file and blobs folder under `data_dir`.
    pub fn embedded(data_dir: &Path, limits: &Limits) -> anyhow::Result<Self> {
        if !data_dir.exists() {
            std::fs::create_dir_all(data_dir)?;
            // Customers' data lives here: only the server's own user may read it.
            #[cfg(unix)]
            std::fs::set_permissions(data_dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        }
        let store = SqliteStore::open(&data_dir.join("onsite-server.sqlite"))?;
        let blobs = FsBlobStore::open(data_dir.join("blobs"))?;
        Ok(Self::new(Arc::new(store), Arc::new(blobs), limits))
    }

    pub fn notify(&self, job: JobId) {
        let _ = self.events.send(job);
    }
}

pub fn router(state: AppState) -> Router {
    let sync_limit = DefaultBodyLimit::max(shared::wire::SYNC_BODY_BYTES_MAX);
    Router::new()
        .route("/health", get(routes::health))
        .route(wire::PAIR_PATH, post(routes::pair))
        .route(wire::SYNC_PATH, post(routes::sync).layer(sync_limit))
        .route(wire::HISTORY_ROUTE, get(routes::job_history))
        .route(
            wire::BLOB_ROUTE,
            get(routes::blob_get).head(routes::blob_head).patch(routes::blob_patch).layer(DefaultBodyLimit::max(BLOB_CHUNK_BYTES_MAX)),
        )
        .route(ADMIN_SESSION_PATH, post(admin::accounts::login))
        .merge(admin_router(&state))
        .layer(DefaultBodyLimit::max(256 * 1024))
        // Answers carry customers' names, addresses and photos: no cache (browser or proxy) keeps them.
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(middleware::from_fn_with_state(state.clone(), client::identify))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The login route (the only one of the dispatcher endpoint open without credentials).
pub const ADMIN_SESSION_PATH: &str = "/admin/v1/session";

/// The dispatcher endpoint: every route authenticated (`staff::authenticate`), every change
/// audited, every POST idempotent with a key. Layers run outside-in in the reverse of the order
/// they are added.
fn admin_router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(ADMIN_SESSION_PATH, get(admin::accounts::me).delete(admin::accounts::logout))
        .route("/admin/v1/session/password", put(admin::accounts::change_own_password))
        .route("/admin/v1/accounts", get(admin::accounts::list_accounts).post(admin::accounts::post_account))
        .route("/admin/v1/accounts/{id}", axum::routing::patch(admin::accounts::patch_account))
        .route("/admin/v1/accounts/{id}/tokens", get(admin::accounts::list_tokens).post(admin::accounts::post_token))
        .route("/admin/v1/tokens/{id}/revoke", post(admin::accounts::revoke_token))
        .route("/admin/v1/tokens/{id}/rotate", post(admin::accounts::rotate_token))
        .route("/admin/v1/audit", get(admin::accounts::audit_log))
        .route("/admin/v1/erasures", post(admin::erasure::post_erasure))
        .route("/admin/v1/technicians", get(admin::list_technicians).post(admin::create_technician))
        .route("/admin/v1/technicians/{id}", get(admin::get_technician))
        .route("/admin/v1/technicians/{id}/pairing-codes", post(admin::create_pairing_code))
        .route("/admin/v1/technicians/{id}/deactivate", post(admin::deactivate_technician))
        .route("/admin/v1/technicians/{id}/working-hours", put(admin::set_working_hours))
        .route("/admin/v1/technicians/{id}/van-stock", put(admin::reference::set_van_stock))
        .route("/admin/v1/technicians/{id}/devices", get(admin::list_devices))
        .route("/admin/v1/devices/{id}/revoke", post(admin::revoke_device))
        .route("/admin/v1/jobs", post(admin::create_job).get(admin::views::list_jobs))
        .route("/admin/v1/jobs/{id}", get(admin::get_job))
        .route("/admin/v1/jobs/{id}/suggestions", get(admin::views::suggestions))
        .route("/admin/v1/jobs/{id}/auto-assign", post(admin::views::auto_assign))
        .route("/admin/v1/jobs/{id}/self-service", get(admin::views::self_service_candidates).post(admin::views::answer_self_service))
        .route("/admin/v1/jobs/{id}/report.html", get(admin::views::report))
        .route(
            "/admin/v1/jobs/{id}/customer-photos",
            post(admin::photos::add_customer_photo).layer(DefaultBodyLimit::max(shared::photo::INPUT_BYTES_MAX)),
        )
        .route("/admin/v1/jobs/{id}/{action}", post(admin::job_action))
        .route("/admin/v1/kpis", get(admin::views::kpis))
        .route("/admin/v1/events", get(admin::views::events))
        .route("/admin/v1/reference/{kind}", put(admin::reference::publish))
        .route("/admin/v1/reference/{kind}/versions", get(admin::reference::versions))
        .route("/admin/v1/reference/{kind}/{version}", get(admin::reference::version))
        .route("/admin/v1/blobs/{hash}", get(routes::admin_blob_get))
        .route_layer(middleware::from_fn_with_state(state.clone(), idempotency::keyed))
        .route_layer(middleware::from_fn_with_state(state.clone(), audit::record))
        .route_layer(middleware::from_fn_with_state(state.clone(), staff::authenticate))
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
