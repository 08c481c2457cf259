//! `onsite-server`: the sync server on its embedded SQLite store, its blobs in the data folder or
//! an S3-compatible bucket.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use onsite_server::accounts::Role;
use onsite_server::settings::Settings;
use onsite_server::{AppState, BlobBackend, Limits, StoreBackend, demo, serve_router};
use serde::Serialize;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "onsite-server",
    about = "OnSite sync server",
    after_help = "Every setting has one name: `s3_bucket` in the settings file, ONSITE_S3_BUCKET in the environment, \
                  --s3-bucket here. A flag beats the environment, which beats the file. Secrets (database_url, \
                  s3_access_key_id, s3_secret_access_key) come from the file or the environment only. \
                  `onsite-server settings` prints what is in effect."
)]
struct Cli {
    /// Settings file (TOML; the keys are the settings' names, e.g. `listen = "0.0.0.0:8787"`).
    #[arg(long, env = onsite_server::settings::CONFIG_ENV, global = true)]
    config: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Serve,
}

/// Settings the commands need too. Absent flags are left out, so the environment and the file
/// decide (see `onsite_server::settings`).
#[derive(Args, Serialize)]
struct Common {
    /// Folder for the embedded database and blobs [default: onsite-data].
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<PathBuf>,
    /// Connections this instance keeps to PostgreSQL at most [default: 16].
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(2..=1000))]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_connections: Option<u16>,
}

#[derive(Subcommand)]
enum Command {
    /// Office accounts: the first admin is made here, the rest by admins in the API.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens for integrations (printed once; the server keeps only a hash).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Prints the API's OpenAPI description (the same the server serves at /openapi.json).
    Openapi,
    /// Prints the settings in effect as a settings file, secrets hidden.
    Settings,
    /// Moves an embedded deployment (the SQLite file and blob files in --from) into the
    /// PostgreSQL database (`database_url`) and blob storage (`s3_bucket`) the settings name.
    /// Stop the server on --from first; the destination database must be empty. Safe to run
    /// again after a failure.
    Migrate {
        /// The embedded deployment's data folder.
        #[arg(long)]
        from: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Adds an account; asks for its password (or reads one line from standard input).
    Add {
        login: String,
        /// The name job timelines show.
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "dispatcher")]
        role: Role,
        /// An account for integrations: API tokens only, no password.
        #[arg(long)]
        no_password: bool,
    },
    /// Lists accounts.
    List,
    /// Sets an account's password (its browser sessions end).
    Passwd {
        login: String,
    },
    /// Disables an account: its sessions end and its tokens stop working.
    Disable {
        login: String,
    },
    Enable {
        login: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issues an API token for an account and prints it once.
    Add {
        login: String,
        /// What the token is for ("ERP import").
        #[arg(long)]
        name: String,
        /// At most the account's role (its role when not given).
        #[arg(long)]
        role: Option<Role>,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
}

/// The serving settings as flags; each is also a key of the settings file and an ONSITE_*
/// variable. Defaults are the settings' own (shown in brackets).
#[derive(Args, Serialize)]
struct Serve {
    /// Address to listen on [default: 127.0.0.1:8787].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    /// Seed demo technicians, jobs and an admin account (only into an empty deployment); their
    /// secrets go to `demo-credentials.json` in the data folder, readable by its owner only.
    #[arg(long)]
    #[serde(skip_serializing_if = "is_false")]
    demo: bool,
    /// Sync and blob requests per second per device [default: 20].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    device_requests_per_s: Option<u32>,
    /// Requests per second from one client address, before authentication [default: 200].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    client_requests_per_s: Option<u32>,
    /// Logins, password checks and bad credentials allowed per minute from one client address [default: 20].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_attempts_per_min: Option<u32>,
    /// Proxies (IP addresses, comma-separated) whose X-Forwarded-For names the client.
    #[arg(long, alias = "trusted-proxy", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    trusted_proxies: Vec<IpAddr>,
    /// Days a closed or cancelled job stays on its technician's phones [default: 30].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_job_retention_days: Option<u32>,
    /// Erase customers' personal data from jobs closed or cancelled more than this many months
    /// ago (checked hourly; the jobs stay, as work done, for the KPIs). Off when not given.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    erase_after_months: Option<u32>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address other machines can reach, without TLS or a declared proxy
    /// (only on a network you trust: customers' data crosses it unencrypted).
    #[arg(long)]
    #[serde(skip_serializing_if = "is_false")]
    allow_plain_http: bool,
    /// Map tiles for the console, as a URL template with {z}, {x} and {y} (e.g. an OpenStreetMap
    /// tile server you may use). Without it the map works on a plain grid.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    map_tiles: Option<String>,
    /// Folder of the built technician web app (`scripts/build-web.sh`), served at /app/.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    web_app: Option<PathBuf>,
    /// Blobs in this S3-compatible bucket instead of the data folder (what several instances share).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    s3_bucket: Option<String>,
    /// The S3 service, e.g. https://oss-cn-hangzhou.aliyuncs.com or http://127.0.0.1:3900; AWS when absent.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    s3_endpoint: Option<String>,
    /// The S3 signing region (us-east-1 when absent).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    s3_region: Option<String>,
    /// Address the bucket as <bucket>.<endpoint> (Aliyun OSS and Tencent COS need it) rather
    /// than <endpoint>/<bucket>.
    #[arg(long)]
    #[serde(skip_serializing_if = "is_false")]
    s3_virtual_hosted: bool,
    /// Keys start with this, so one bucket can hold several deployments.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    s3_prefix: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The flags given, as one table over the settings' names.
#[derive(Serialize)]
struct Flags<'a> {
    #[serde(flatten)]
    common: &'a Common,
    #[serde(flatten)]
    serve: &'a Serve,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        // Logs on standard error: standard output is the commands' answer (a token, a list).
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn")))
        .init();
    let Cli { config, common, command, serve } = Cli::parse();
    if let Some(Command::Openapi) = command {
        println!("{}", onsite_server::openapi().to_pretty_json()?);
        return Ok(());
    }
    let settings = Settings::load(config.as_deref(), Flags { common: &common, serve: &serve }).context("reading the settings")?;
    if let Some(Command::Settings) = command {
        print!("{}", toml::to_string(&settings.redacted())?);
        return Ok(());
    }
    if let Some(Command::Migrate { from }) = &command {
        return migrate(from, &settings).await;
    }
    let data = settings.data.clone();
    let store = settings.store_backend();
    if let Some(command) = command {
        let state = AppState::open(&data, &Limits::default(), &store, &settings.blob_backend())
            .await
            .with_context(|| format!("opening {}", data.display()))?;
        return cli::run(&state, command).await;
    }
    let tls = match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => Some(onsite_server::tls_config(cert, key).await?),
        _ => None,
    };
    if tls.is_none() && !settings.listen.ip().is_loopback() && settings.trusted_proxies.is_empty() && !settings.allow_plain_http {
        anyhow::bail!(
            "refusing plain HTTP on {}: customers' data would cross the network unencrypted. Give --tls-cert and \
             --tls-key, or run behind a TLS proxy and declare it with --trusted-proxies, or (on a network you trust) \
             pass --allow-plain-http",
            settings.listen
        );
    }
    // Plain HTTP off loopback behind a TLS proxy: only the proxy may connect, so nothing reaches
    // the server in clear from anywhere else.
    let proxies_only =
        tls.is_none() && !settings.listen.ip().is_loopback() && !settings.allow_plain_http && !settings.trusted_proxies.is_empty();
    let fresh = match &store {
        StoreBackend::Embedded => !data.join("onsite-server.sqlite").exists(),
        // A database may hold another deployment's data: demo data goes only where no
        // technician is known yet (checked once open, below).
        StoreBackend::Postgres { .. } => true,
    };
    let limits = Limits {
        proxies_only,
        device_requests_per_s: settings.device_requests_per_s,
        finished_job_retention_days: settings.finished_job_retention_days,
        client_requests_per_s: settings.client_requests_per_s,
        auth_attempts_per_min: settings.auth_attempts_per_min,
        trusted_proxies: settings.trusted_proxies.clone(),
        map_tiles: settings.map_tiles.clone(),
        ..Limits::default()
    };
    let blobs = settings.blob_backend();
    let state = AppState::open(&data, &limits, &store, &blobs).await.with_context(|| format!("opening {}", data.display()))?;
    let fresh = fresh && state.store.technicians().await?.is_empty();
    if let StoreBackend::Postgres { connections, .. } = &store {
        tracing::info!(connections, "records in PostgreSQL");
    }
    if let BlobBackend::S3(s3) = &blobs {
        tracing::info!(bucket = %s3.bucket, endpoint = s3.endpoint_label(), prefix = %s3.prefix, "blobs in S3-compatible storage");
    }
    if settings.demo && fresh {
        let token = onsite_server::auth::new_token(onsite_server::staff::TOKEN_PREFIX);
        let creds = demo::seed(&state, &token).await.context("seeding demo data")?;
        let path = data.join("demo-credentials.json");
        write_private(&path, &serde_json::to_vec_pretty(&creds)?).with_context(|| format!("writing {}", path.display()))?;
        tracing::info!(file = %path.display(), "demo data seeded; the admin's token and password and the pairing codes are in the file (mode 0600)");
    }
    if let Some(months) = settings.erase_after_months {
        onsite_server::erasure::spawn_retention(state.clone(), months * 30);
        tracing::info!(months, "customers' data is erased from jobs finished more than {months} months ago");
    }
    let listener = std::net::TcpListener::bind(settings.listen).with_context(|| format!("binding {}", settings.listen))?;
    listener.set_nonblocking(true)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!("listening on {scheme}://{}", listener.local_addr()?);
    let mut app = onsite_server::router(state);
    if let Some(dir) = &settings.web_app {
        anyhow::ensure!(dir.join("index.html").is_file(), "{} holds no built web app (run scripts/build-web.sh)", dir.display());
        app = app.merge(onsite_server::web_app::routes(dir));
        tracing::info!(dir = %dir.display(), "technician web app at {}/", onsite_server::web_app::WEB_APP_PATH);
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing in-flight requests");
    };
    match tls {
        Some(tls) => onsite_server::serve_router_tls(listener, app, tls, shutdown).await?,
        None => serve_router(tokio::net::TcpListener::from_std(listener)?, app, shutdown).await?,
    }
    Ok(())
}

/// `onsite-server migrate`: the move with a progress line at least every second of work.
async fn migrate(from: &std::path::Path, settings: &Settings) -> anyhow::Result<()> {
    use onsite_server::migrate::Step;
    let mut last = std::time::Instant::now();
    let mut last_table = String::new();
    let moved = onsite_server::migrate::embedded_to(from, settings, |step| {
        let table_changed = matches!(&step, Step::Rows { table, .. } if *table != last_table);
        if last.elapsed() < std::time::Duration::from_secs(1) && !table_changed {
            return;
        }
        last = std::time::Instant::now();
        match step {
            Step::Blob { done, of } => eprintln!("blobs: {done} of {of}"),
            Step::Rows { table, rows } => {
                last_table = table.to_owned();
                eprintln!("{table}: {rows} rows");
            }
        }
    })
    .await
    .with_context(|| format!("moving {} into PostgreSQL", from.display()))?;
    println!("blobs: {} copied, {} already there", moved.blobs_copied, moved.blobs_present);
    for (table, rows) in &moved.tables {
        println!("{table}: {rows} rows");
    }
    println!("moved; start the servers with these settings (and keep {} as a backup until you are sure)", from.display());
    Ok(())
}

/// Writes a file only its owner can read (it holds secrets).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    #[cfg(unix)]
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    f.write_all(bytes)?;
    f.sync_all()
}

mod cli {
    //! `onsite-server user ...` and `token ...`: account work on the data folder's database
    //! (safe while the server runs). Each change goes to the audit log as done from the command line.

    use std::io::{BufRead, IsTerminal};

    use anyhow::{Context, bail};
    use onsite_server::AppState;
    use onsite_server::admin::accounts::{create_account, issue_token};
    use onsite_server::store::accounts::{AccountPatch, NewAuditEntry};

    use super::{Command, TokenCommand, UserCommand};

    pub async fn run(state: &AppState, command: Command) -> anyhow::Result<()> {
        match command {
            Command::Openapi | Command::Settings | Command::Migrate { .. } => unreachable!("answered before opening the data folder"),
            Command::User(UserCommand::Add { login, name, role, no_password }) => {
                let password = if no_password { None } else { Some(read_password(&format!("password for {login}"))?) };
                let a = create_account(state, &login, &name, role, password).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                audit(state, "user add", serde_json::json!({ "account": a.id, "role": a.role })).await?;
                println!("added {} ({}, {})", a.login, a.name, a.role);
            }
            Command::User(UserCommand::List) => {
                for a in state.accounts.accounts().await? {
                    let disabled = if a.disabled_at.is_some() { "  (disabled)" } else { "" };
                    println!("{:<24} {:<10} {}{disabled}", a.login, a.role.as_str(), a.name);
                }
            }
            Command::User(UserCommand::Passwd { login }) => {
                let a = account(state, &login).await?;
                let password = read_password(&format!("new password for {}", a.login))?;
                let hash = state.passwords.run(move || onsite_server::accounts::hash_password(&password)).await??;
                state.accounts.update_account(a.id, AccountPatch { password_hash: Some(hash), ..Default::default() }).await?;
                audit(state, "user passwd", serde_json::json!({ "account": a.id })).await?;
                println!("password of {} set", a.login);
            }
            Command::User(UserCommand::Disable { login }) => set_disabled(state, &login, true).await?,
            Command::User(UserCommand::Enable { login }) => set_disabled(state, &login, false).await?,
            Command::Token(TokenCommand::Add { login, name, role, expires_in_days }) => {
                let a = account(state, &login).await?;
                let issued = issue_token(state, &a, &name, role, expires_in_days, a.role).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                audit(state, "token add", serde_json::json!({ "account": a.id, "token": issued.info.id, "role": issued.info.role }))
                    .await?;
                eprintln!("token {} for {} ({}); shown once, keep it safe:", issued.info.id, a.login, issued.info.role);
                println!("{}", issued.token);
            }
        }
        Ok(())
    }

    async fn account(state: &AppState, login: &str) -> anyhow::Result<onsite_server::accounts::Account> {
        let login = login.trim().to_lowercase();
        state.accounts.account_by_login(&login).await?.map(|(a, _)| a).with_context(|| format!("no account {login}"))
    }

    async fn set_disabled(state: &AppState, login: &str, disabled: bool) -> anyhow::Result<()> {
        let a = account(state, login).await?;
        state.accounts.update_account(a.id, AccountPatch { disabled: Some(disabled), ..Default::default() }).await?;
        audit(state, if disabled { "user disable" } else { "user enable" }, serde_json::json!({ "account": a.id })).await?;
        println!("{} {}", a.login, if disabled { "disabled" } else { "enabled" });
        Ok(())
    }

    async fn audit(state: &AppState, what: &str, detail: serde_json::Value) -> anyhow::Result<()> {
        let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        state.audit.append_audit(NewAuditEntry::internal(format!("cli:{who}"), "cli", what, detail)).await?;
        Ok(())
    }

    /// A password from the terminal (asked twice, not echoed) or one line of standard input
    /// (for scripts: `printf '%s\n' "$PW" | onsite-server user add ...`), never from the command
    /// line, where other users could read it in the process list.
    fn read_password(prompt: &str) -> anyhow::Result<String> {
        if std::io::stdin().is_terminal() {
            let first = rpassword::prompt_password(format!("{prompt}: "))?;
            let again = rpassword::prompt_password("again: ")?;
            if first != again {
                bail!("the two passwords differ");
            }
            return Ok(first);
        }
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        onsite_server::accounts::check_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(password)
    }
}
