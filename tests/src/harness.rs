use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use onsite_app::store::Store;
use onsite_app::sync_client::{SyncClient, pair};
use onsite_server::accounts::Role;
use onsite_server::admin::accounts::{create_account, issue_token};
use onsite_server::{AppState, Limits};
use serde_json::{Value, json};
use shared::edit::FieldActor;
use shared::{JobId, TechnicianId};

/// A sync server on `127.0.0.1`, on its embedded SQLite store in a temporary folder, its blobs
/// in that folder or (the test command's S3 pass) a bucket: `crate::s3::backend_for`.
pub struct Server {
    pub addr: SocketAddr,
    pub data: PathBuf,
    pub state: AppState,
    task: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    pub async fn start(data: PathBuf, limits: &Limits) -> Self {
        Self::start_on(data, "127.0.0.1:0".parse().unwrap(), limits).await
    }

    pub async fn start_on(data: PathBuf, addr: SocketAddr, limits: &Limits) -> Self {
        Self::start_serving(data, addr, limits, None).await
    }

    /// A server that also serves the built technician web app from `web_app` at `/app/`.
    pub async fn start_with_web_app(data: PathBuf, web_app: &std::path::Path) -> Self {
        Self::start_serving(data, "127.0.0.1:0".parse().unwrap(), &Limits::default(), Some(web_app)).await
    }

    /// A server on the given backends (instances of one deployment share them).
    pub async fn start_with(data: PathBuf, store: &onsite_server::StoreBackend, blobs: &onsite_server::BlobBackend) -> Self {
        let state = AppState::open(&data, &Limits::default(), store, blobs).await.unwrap();
        Self::serve(state, data, "127.0.0.1:0".parse().unwrap(), None).await
    }

    async fn start_serving(data: PathBuf, addr: SocketAddr, limits: &Limits, web_app: Option<&std::path::Path>) -> Self {
        let blobs = crate::s3::backend_for(&data);
        if let onsite_server::BlobBackend::S3(s3) = &blobs {
            crate::s3::make_bucket(s3.endpoint.as_deref().unwrap_or_default(), &s3.bucket).await;
        }
        let store = crate::backends::store_for(&data).await;
        let state = AppState::open(&data, limits, &store, &blobs).await.unwrap();
        Self::serve(state, data, addr, web_app).await
    }

    async fn serve(state: AppState, data: PathBuf, addr: SocketAddr, web_app: Option<&std::path::Path>) -> Self {
        let mut router = onsite_server::router(state.clone());
        if let Some(dir) = web_app {
            router = router.merge(onsite_server::web_app::routes(dir));
        }
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            onsite_server::serve_router(listener, router, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Server { addr, data, state, task, stop: Some(stop) }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills the server where it stands: in-flight requests are cut off mid-way.
    pub async fn kill(mut self) -> (PathBuf, SocketAddr) {
        self.task.abort();
        let _ = (&mut self.task).await;
        self.stop.take();
        (self.data.clone(), self.addr)
    }

    /// Stops gracefully (in-flight requests finish).
    pub async fn stop(mut self) -> (PathBuf, SocketAddr) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.task).await;
        (self.data.clone(), self.addr)
    }

    /// An admin account with a fresh API token.
    pub async fn dispatcher(&self, name: &str) -> Dispatcher {
        self.staff(name, Role::Admin).await
    }

    /// An account with `role` (and a random login) and a fresh API token for it.
    pub async fn staff(&self, name: &str, role: Role) -> Dispatcher {
        let login = format!("staff-{}", &onsite_server::auth::new_token("")[..12]);
        let account = create_account(&self.state, &login, name, role, None).await.unwrap();
        let issued = issue_token(&self.state, &account, "tests", None, None, role).await.unwrap();
        Dispatcher { base: self.url(), token: issued.token, http: reqwest::Client::new() }
    }
}

/// A dispatcher speaking the admin API over HTTP.
#[derive(Clone)]
pub struct Dispatcher {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Dispatcher {
    /// POSTs JSON; returns (status, body).
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self.http.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(&body).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// POSTs raw bytes (an upload); returns (status, body).
    pub async fn post_bytes(&self, path: &str, content_type: &str, bytes: Vec<u8>) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self.http.put(format!("{}{path}", self.base)).bearer_auth(&self.token).json(&body).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn technician(&self, name: &str, skills: &[&str]) -> TechnicianId {
        let (s, b) =
            self.post("/admin/v1/technicians", json!({ "name": name, "skills": skills, "home": { "lat": 31.23, "lon": 121.47 } })).await;
        assert_eq!(s, 200, "{b}");
        b["id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn pairing_code(&self, tech: TechnicianId) -> String {
        let (s, b) = self.post(&format!("/admin/v1/technicians/{tech}/pairing-codes"), Value::Null).await;
        assert_eq!(s, 200, "{b}");
        b["code"].as_str().unwrap().to_owned()
    }

    pub async fn create_job(&self, n: usize) -> JobId {
        let (s, b) = self.post("/admin/v1/jobs", new_job_json(n)).await;
        assert_eq!(s, 200, "{b}");
        b["job_id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn act(&self, job: JobId, action: &str, body: Value) -> (u16, Value) {
        self.post(&format!("/admin/v1/jobs/{job}/{action}"), body).await
    }

    pub async fn assign(&self, job: JobId, tech: TechnicianId) {
        let (s, b) = self.act(job, "assign", json!({ "technician": tech })).await;
        assert_eq!(s, 200, "{b}");
    }

    pub async fn job(&self, job: JobId) -> Value {
        let (s, b) = self.get(&format!("/admin/v1/jobs/{job}")).await;
        assert_eq!(s, 200, "{b}");
        b
    }
}

/// A realistic new job, varied by `n`.
pub fn new_job_json(n: usize) -> Value {
    let now = shared::Timestamp::now();
    let channel = ["phone", "web", "app", "wechat_mini_program"][n % 4];
    json!({
        "channel": channel,
        "priority": "normal",
        "customer": {
            "name": format!("客户 Customer {n}"),
            "phone": format!("+86 138 0000 {:04}", n % 10_000),
            "address": format!("上海市徐汇区漕溪北路 {n} 号"),
            "location": { "lat": 31.19 + (n % 50) as f64 * 0.001, "lon": 121.43 }
        },
        "appliance": {
            "category": "washer", "brand": "Haier", "model": "EG100", "serial": format!("HA{n:08}"),
            "purchase_date": "2025-03-01", "warranty_months": 24
        },
        "problem": "不排水 / does not drain",
        "sla": {},
        "appointment": { "start": now.plus_minutes(60).to_iso8601(), "end": now.plus_minutes(120).to_iso8601() },
        "currency": "CNY"
    })
}

/// A technician's phone: a real SQLite store and the real sync client.
pub struct Device {
    pub path: PathBuf,
    pub store: Arc<Mutex<Store>>,
    pub client: SyncClient,
    pub who: FieldActor,
}

impl Device {
    pub async fn pair(dir: &std::path::Path, name: &str, server: &str, code: &str) -> Device {
        let path = dir.join(format!("{name}.sqlite"));
        let store = Arc::new(Mutex::new(Store::open(&path).unwrap()));
        let who = pair(&store, server, code, name).await.unwrap();
        let client = SyncClient::new(store.clone());
        Device { path, store, client, who }
    }

    /// The app restarted: the store reopened from its file, a new sync client.
    pub fn restart(&mut self) {
        let store = Arc::new(Mutex::new(Store::open(&self.path).unwrap()));
        self.client = SyncClient::new(store.clone());
        self.store = store;
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut self.store.lock().unwrap())
    }

    /// Points the device at another address (e.g. a fault-injecting proxy).
    pub fn set_server(&self, url: &str) {
        self.with(|s| s.set_meta("server", url).unwrap());
    }
}

/// A real JPEG (gradient with a label-like block), `w` x `h`.
pub fn jpeg(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8 ^ seed, (y % 256) as u8, ((x + y) % 256) as u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// The first answer `url` gives once a server started in another process listens (`None` if it
/// never answers within 10 s): one bounded poll for every test that starts the binary itself.
pub async fn first_answer(client: &reqwest::Client, url: &str) -> Option<reqwest::StatusCode> {
    for _ in 0..400 {
        if let Ok(r) = client.get(url).send().await {
            return Some(r.status());
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    None
}

/// The real `onsite-server` binary as a child process: what a SIGKILL really does to it (no
/// destructors, no graceful shutdown, the OS reclaims the process) is what the fault run tests.
pub struct ChildServer {
    pub addr: SocketAddr,
    pub data: PathBuf,
    child: tokio::process::Child,
}

impl ChildServer {
    /// Starts the server binary at `exe` on `addr` over the data folder, and waits until it
    /// answers `/health`.
    pub async fn start(exe: &std::path::Path, data: PathBuf, addr: SocketAddr) -> ChildServer {
        Self::start_on_cpu(exe, data, addr, None).await
    }

    /// [`ChildServer::start`], pinned to one CPU core when `cpu` says which (`taskset`).
    pub async fn start_on_cpu(exe: &std::path::Path, data: PathBuf, addr: SocketAddr, cpu: Option<usize>) -> ChildServer {
        let mut command = match cpu {
            Some(cpu) => {
                let mut c = tokio::process::Command::new("taskset");
                c.args(["-c", &cpu.to_string()]).arg(exe);
                c
            }
            None => tokio::process::Command::new(exe),
        };
        command.envs(crate::backends::server_env(&data).await);
        let child = command
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--data")
            .arg(&data)
            .args(["--device-requests-per-s", "10000", "--client-requests-per-s", "100000"])
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .expect("the server binary starts");
        let url = format!("http://{addr}/health");
        for _ in 0..200 {
            if reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
                return ChildServer { addr, data, child };
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the server at {addr} did not come up");
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// CPU seconds the process has used so far (user + system, from `/proc`).
    pub fn cpu_seconds(&self) -> f64 {
        let Some(pid) = self.child.id() else { return 0.0 };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name (which may hold spaces) start after the last ')'.
        let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // utime and stime are fields 14 and 15 of the line (indexes 11 and 12 after the name), in
        // clock ticks of 1/100 s (Linux's USER_HZ).
        (ticks(11) + ticks(12)) / 100.0
    }

    /// SIGKILL: the process dies where it stands.
    pub async fn kill(mut self) -> (PathBuf, SocketAddr) {
        self.child.kill().await.expect("the server process is killed");
        (self.data.clone(), self.addr)
    }
}

/// A size-limited folder (a tmpfs mount) that the test can fill and grow: a full disk, for real.
/// Needs root (CI and the test script run as root); unmounted on drop.
pub struct SmallDisk {
    pub path: PathBuf,
}

impl SmallDisk {
    pub fn mount(path: PathBuf, bytes: u64) -> SmallDisk {
        std::fs::create_dir_all(&path).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("mount runs");
        assert!(status.success(), "mounting a {bytes}-byte tmpfs at {} failed: the full-disk fault needs root", path.display());
        SmallDisk { path }
    }

    /// Bytes still free.
    pub fn available(&self) -> u64 {
        let out = std::process::Command::new("df").args(["--output=avail", "-B1"]).arg(&self.path).output().expect("df runs");
        String::from_utf8_lossy(&out.stdout).lines().nth(1).and_then(|l| l.trim().parse().ok()).unwrap_or(u64::MAX)
    }

    /// Takes all but `room` bytes with a file of its own.
    pub fn fill_leaving(&self, room: u64) {
        let take = self.available().saturating_sub(room);
        std::fs::write(self.path.join(".filler"), vec![0u8; take as usize]).unwrap();
    }

    /// An operator frees the space again.
    pub fn free(&self) {
        std::fs::remove_file(self.path.join(".filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.path).status();
    }
}
