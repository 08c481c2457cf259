//! What an operator sets, gathered in one [`Settings`] from a settings file (TOML), the
//! environment and the command line.
//!
//! Every setting has one name, spelled three ways: `s3_bucket` in the file, `ONSITE_S3_BUCKET`
//! in the environment, `--s3-bucket` on the command line. Each source overrides the one before
//! it: built-in default, file, environment, flag. So a deployment keeps its settings in a file
//! under version control, a container or a systemd unit sets what differs per machine in its
//! environment, and someone at a terminal can still try one change with a flag.
//!
//! Secrets (`database_url` with its password, the S3 keys) are taken from the file and the
//! environment, never from flags (any user of the machine reads a process's command line), and
//! are never printed: [`Settings::redacted`] hides them, and so does `Debug`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

use crate::{BlobBackend, S3Settings, StoreBackend};

/// The environment variable (and the flag, `--config`) naming the settings file.
pub const CONFIG_ENV: &str = "ONSITE_CONFIG";
/// Prefix of every setting's environment variable.
pub const ENV_PREFIX: &str = "ONSITE_";
/// How errors name the environment as a source.
const ENV_SOURCE: &str = "environment variable";
/// What a secret shows as wherever settings are printed.
pub const HIDDEN: &str = "(hidden)";

/// Every setting of the server. Field names are the settings' names (see the module docs).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Folder for the embedded database and the blobs kept as files.
    pub data: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// PostgreSQL instead of the data folder's SQLite file, e.g.
    /// `postgres://onsite:secret@db.internal/onsite`.
    pub database_url: Option<String>,
    /// Connections this instance keeps to PostgreSQL at most (2 to 1000).
    pub database_connections: u16,
    /// A PEM file of the CA that signed the database's certificate, when the system's CAs do
    /// not cover it (managed databases often use the provider's own CA). TLS itself is the
    /// URL's `sslmode` (`require` to insist on it); the certificate is always verified.
    pub database_ca_file: Option<PathBuf>,
    /// Blobs in this S3-compatible bucket instead of the data folder.
    pub s3_bucket: Option<String>,
    /// The S3 service (`https://oss-cn-hangzhou.aliyuncs.com`); AWS when absent.
    pub s3_endpoint: Option<String>,
    /// The S3 signing region (`us-east-1` when absent).
    pub s3_region: Option<String>,
    /// `<bucket>.<endpoint>` addressing (Aliyun OSS, Tencent COS) rather than `<endpoint>/<bucket>`.
    pub s3_virtual_hosted: bool,
    /// Keys start with this, so one bucket can hold several deployments.
    pub s3_prefix: String,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    /// Sync and blob requests per second per device.
    pub device_requests_per_s: u32,
    /// Requests per second from one client address (before authentication).
    pub client_requests_per_s: u32,
    /// Logins, password checks and bad credentials allowed per minute from one client address.
    pub auth_attempts_per_min: u32,
    /// Proxies whose `X-Forwarded-For` names the client (a list, or comma-separated in the
    /// environment and on the command line).
    #[serde(deserialize_with = "addresses")]
    pub trusted_proxies: Vec<IpAddr>,
    /// Days a closed or cancelled job stays on its technician's phones.
    pub finished_job_retention_days: u32,
    /// Erase customers' personal data from jobs finished more than this many months ago (1 to 600).
    pub erase_after_months: Option<u32>,
    /// HTTPS with this certificate chain (PEM) and key.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Plain HTTP on an address other machines reach, without TLS or a declared proxy.
    pub allow_plain_http: bool,
    /// Map tiles for the console, a URL template with `{z}`, `{x}` and `{y}`.
    pub map_tiles: Option<String>,
    /// Folder of the built technician web app, served at `/app/`.
    pub web_app: Option<PathBuf>,
    /// Seed demo data into an empty deployment.
    pub demo: bool,
}

impl Default for Settings {
    fn default() -> Self {
        let limits = crate::Limits::default();
        Self {
            data: PathBuf::from("onsite-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            database_url: None,
            database_connections: 16,
            database_ca_file: None,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: None,
            s3_virtual_hosted: false,
            s3_prefix: String::new(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            device_requests_per_s: limits.device_requests_per_s,
            client_requests_per_s: limits.client_requests_per_s,
            auth_attempts_per_min: limits.auth_attempts_per_min,
            trusted_proxies: Vec::new(),
            finished_job_retention_days: limits.finished_job_retention_days,
            erase_after_months: None,
            tls_cert: None,
            tls_key: None,
            allow_plain_http: false,
            map_tiles: None,
            web_app: None,
            demo: false,
        }
    }
}

/// Settings are logged and end up in error reports: the secrets never do.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.redacted();
        let json = serde_json::to_string(&shown).map_err(|_| std::fmt::Error)?;
        write!(f, "Settings {json}")
    }
}

/// Why the settings could not be read: which setting, from which source, and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("settings file {0} not found")]
    NoFile(PathBuf),
    #[error("{0}")]
    Invalid(String),
}

impl Settings {
    /// The names of all settings (the file's keys).
    pub fn names() -> Vec<String> {
        match serde_json::to_value(Settings::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Reads the settings: defaults, then the file at `file` (when given), then the process
    /// environment, then `flags` (a serialized table of the flags given; absent ones left out).
    pub fn load(file: Option<&Path>, flags: impl Serialize) -> Result<Settings, SettingsError> {
        Self::load_with(file, std::env::vars(), flags)
    }

    /// [`Settings::load`] with the environment given.
    pub fn load_with(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: impl Serialize,
    ) -> Result<Settings, SettingsError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(SettingsError::NoFile(path.to_owned()));
            }
            check_syntax(path)?;
            warn_if_secrets_readable_by_others(path);
            figment = figment.merge(Toml::file_exact(path));
        }
        // Only the settings' own names: other ONSITE_* variables (the config file's, tests')
        // are not settings, and an unknown one must not stop the server.
        let names = Self::names();
        let env: Vec<(String, String)> = env
            .into_iter()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix(ENV_PREFIX)?.to_ascii_lowercase();
                names.contains(&name).then_some((name, v))
            })
            .collect();
        figment = figment.merge(EnvValues(env)).merge(Serialized::globals(flags));
        // Lossy: the environment's values are all text ("8", "true"), taken as the number or
        // switch the setting is; a bucket named "2024" stays text.
        let settings: Settings = figment.extract_lossy().map_err(|e| SettingsError::Invalid(describe(e)))?;
        settings.check()?;
        Ok(settings)
    }

    /// What no type can say: ranges, and settings that need each other.
    fn check(&self) -> Result<(), SettingsError> {
        let bad = |m: String| Err(SettingsError::Invalid(m));
        if !(2..=1000).contains(&self.database_connections) {
            return bad(format!("database_connections is 2 to 1000, not {}", self.database_connections));
        }
        if let Some(m) = self.erase_after_months
            && !(1..=600).contains(&m)
        {
            return bad(format!("erase_after_months is 1 to 600, not {m}"));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return bad("tls_cert and tls_key go together: give both or neither".into());
        }
        if self.s3_bucket.is_none()
            && (self.s3_endpoint.is_some() || self.s3_region.is_some() || self.s3_virtual_hosted || !self.s3_prefix.is_empty())
        {
            return bad("s3_endpoint, s3_region, s3_virtual_hosted and s3_prefix need s3_bucket".into());
        }
        if let Some(t) = &self.map_tiles
            && !((t.starts_with("https://") || t.starts_with("http://")) && ["{z}", "{x}", "{y}"].iter().all(|p| t.contains(p)))
        {
            // The value is not repeated: a tile URL may carry a key.
            return bad("map_tiles is an http(s) URL template with {z}, {x} and {y}, e.g. https://tile.example.org/{z}/{x}/{y}.png".into());
        }
        Ok(())
    }

    /// The same settings with every secret replaced by [`HIDDEN`]: what may be printed.
    pub fn redacted(&self) -> Settings {
        let hide = |s: &Option<String>| s.as_ref().map(|_| HIDDEN.to_owned());
        Settings {
            database_url: self.database_url.as_deref().map(redact_url),
            s3_access_key_id: hide(&self.s3_access_key_id),
            s3_secret_access_key: hide(&self.s3_secret_access_key),
            ..self.clone()
        }
    }

    /// The records' backend these settings choose.
    pub fn store_backend(&self) -> StoreBackend {
        match &self.database_url {
            Some(url) => StoreBackend::Postgres {
                url: url.clone(),
                connections: self.database_connections.into(),
                ca_file: self.database_ca_file.clone(),
            },
            None => StoreBackend::Embedded,
        }
    }

    /// The blobs' backend these settings choose. Keys absent here fall back to the AWS_*
    /// variables the S3 client reads itself.
    pub fn blob_backend(&self) -> BlobBackend {
        let Some(bucket) = &self.s3_bucket else { return BlobBackend::Files };
        BlobBackend::S3(S3Settings {
            bucket: bucket.clone(),
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            virtual_hosted: self.s3_virtual_hosted,
            prefix: self.s3_prefix.clone(),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: self.s3_secret_access_key.clone(),
        })
    }
}

/// `postgres://user:secret@host/db?password=secret` → `postgres://user:(hidden)@host/db?password=(hidden)`;
/// a value that is not such a URL (a `host=… password=…` string) is hidden whole.
fn redact_url(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else { return HIDDEN.to_owned() };
    if u.password().is_some() && u.set_password(Some("HIDDEN-PASSWORD")).is_err() {
        return HIDDEN.to_owned();
    }
    if u.query_pairs().any(|(k, _)| k.eq_ignore_ascii_case("password")) {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("password") { "HIDDEN-PASSWORD".to_owned() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string().replace("HIDDEN-PASSWORD", HIDDEN)
}

/// Whether a database URL carries a password (in its user part or its query).
fn has_password(url: &str) -> bool {
    match url::Url::parse(url) {
        Ok(u) => u.password().is_some() || u.query_pairs().any(|(k, _)| k.eq_ignore_ascii_case("password")),
        Err(_) => url.contains("password"),
    }
}

/// Reads the file as TOML first, to report a syntax error by line and column only: the
/// parser's own message quotes the line, which may hold a password.
fn check_syntax(path: &Path) -> Result<(), SettingsError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| SettingsError::Invalid(format!("reading settings file {}: {e}", path.display())))?;
    match text.parse::<toml::Table>() {
        Ok(_) => Ok(()),
        Err(e) => {
            let at = e.span().map(|r| {
                let before = &text[..r.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!(" at line {line}, column {column}")
            });
            Err(SettingsError::Invalid(format!(
                "settings file {} is not valid TOML{}: {}",
                path.display(),
                at.unwrap_or_default(),
                e.message()
            )))
        }
    }
}

/// A file holding a database password or S3 keys should be readable by its owner only; a
/// warning rather than a refusal, since some platforms mount secrets readable by a group.
fn warn_if_secrets_readable_by_others(path: &Path) {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        let secret = |t: &toml::Table| {
            t.get("database_url").and_then(|v| v.as_str()).is_some_and(has_password)
                || t.contains_key("s3_access_key_id")
                || t.contains_key("s3_secret_access_key")
        };
        let holds_secrets = std::fs::read_to_string(path).ok().and_then(|t| t.parse::<toml::Table>().ok()).is_some_and(|t| secret(&t));
        if holds_secrets && meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(file = %path.display(), "the settings file holds secrets and other users can read it: chmod 600 it");
        }
    }
}

/// Figment's error names the key and where its value came from; one line per problem.
fn describe(e: figment::Error) -> String {
    e.into_iter()
        .map(|e| {
            let key = if e.path.is_empty() { String::new() } else { format!("{}: ", e.path.join(".")) };
            let from = e.metadata.as_ref().map(|m| match &m.source {
                Some(src) => format!(" (from {} {src})", m.name),
                None if m.name == ENV_SOURCE => format!(" (from {})", m.interpolate(&figment::Profile::Default, &e.path)),
                None => format!(" (from {})", m.name),
            });
            format!("{key}{}{}", e.kind, from.unwrap_or_default())
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The environment's settings as text (figment's own `Env` reads the process environment; this
/// reads a given list). An empty variable counts as not set, as it does for most programs.
struct EnvValues(Vec<(String, String)>);

impl figment::Provider for EnvValues {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named(ENV_SOURCE).interpolater(|_, keys| format!("{ENV_PREFIX}{}", keys.join("_").to_uppercase()))
    }

    fn data(&self) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        let mut dict = figment::value::Dict::new();
        for (k, v) in self.0.iter().filter(|(_, v)| !v.is_empty()) {
            dict.insert(k.clone(), v.clone().into());
        }
        Ok(figment::Profile::Default.collect(dict))
    }
}

/// A list of addresses, or one comma-separated string of them (environment, flags).
fn addresses<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpAddr>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<IpAddr>),
        Text(String),
    }
    match Either::deserialize(d)? {
        Either::List(v) => Ok(v),
        Either::Text(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(|_| serde::de::Error::custom(format!("{s:?} is not an IP address"))))
            .collect(),
    }
}
