//! The operator's settings: one file, the environment and flags make one set of settings, a
//! later source beating an earlier one; a mistake is named with where it came from and stops
//! the server before it serves; secrets are never printed.

use std::path::Path;
use std::process::Output;

use onsite_server::settings::{HIDDEN, Settings};

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_onsite-server-e2e"))
}

/// Runs the real binary with `args` and `env`, and none of the settings' variables this test
/// process may carry (the scaled pass sets some).
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = std::process::Command::new(exe());
    for name in Settings::names() {
        c.env_remove(format!("ONSITE_{}", name.to_uppercase()));
    }
    c.env_remove("ONSITE_CONFIG").env("RUST_LOG", "warn").env("RUST_BACKTRACE", "0");
    c.args(args).envs(env.iter().copied()).output().expect("the server binary runs")
}

fn text_of(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn printed(out: &Output) -> toml::Table {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).parse().expect("`settings` prints a settings file")
}

#[tokio::test]
async fn one_file_the_environment_and_flags_make_one_set_of_settings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("onsite.toml");
    std::fs::write(
        &file,
        r#"
# What a deployment keeps under version control.
listen = "127.0.0.1:9"
data = "/var/lib/onsite"
database_url = "postgres://onsite:file-secret@db.invalid/onsite"
database_connections = 5
device_requests_per_s = 7
client_requests_per_s = 150
trusted_proxies = ["10.0.0.1"]
s3_bucket = "photos"
s3_secret_access_key = "key-secret"
"#,
    )
    .unwrap();
    let f = file.to_str().unwrap();

    // The file alone; then the environment over it; then a flag over both.
    let t = printed(&run(&["settings", "--config", f], &[]));
    assert_eq!(t["listen"].as_str(), Some("127.0.0.1:9"));
    assert_eq!(t["data"].as_str(), Some("/var/lib/onsite"));
    assert_eq!(t["database_connections"].as_integer(), Some(5));
    assert_eq!(t["device_requests_per_s"].as_integer(), Some(7));
    assert_eq!(t["auth_attempts_per_min"].as_integer(), Some(20), "a setting no source gives keeps its default");
    let env = [
        ("ONSITE_DEVICE_REQUESTS_PER_S", "8"),
        ("ONSITE_CLIENT_REQUESTS_PER_S", "250"),
        ("ONSITE_TRUSTED_PROXIES", "10.0.0.2, 10.0.0.3"),
        ("ONSITE_S3_BUCKET", "2024"),
        ("ONSITE_S3_VIRTUAL_HOSTED", "true"),
        ("ONSITE_S3_REGION", ""),
    ];
    let out = run(&["--client-requests-per-s", "300", "settings"], &[&env[..], &[("ONSITE_CONFIG", f)]].concat());
    let t = printed(&out);
    assert_eq!(t["device_requests_per_s"].as_integer(), Some(8), "the environment beats the file");
    assert_eq!(t["client_requests_per_s"].as_integer(), Some(300), "a flag beats the environment");
    let proxies: Vec<&str> = t["trusted_proxies"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
    assert_eq!(proxies, ["10.0.0.2", "10.0.0.3"]);
    assert_eq!(t["s3_bucket"].as_str(), Some("2024"), "a name that looks like a number stays a name");
    assert_eq!(t["s3_virtual_hosted"].as_bool(), Some(true));
    assert!(t.get("s3_region").is_none(), "an empty variable is not set");
    // Secrets are in effect but never shown.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("file-secret") && !text.contains("key-secret"), "{text}");
    assert_eq!(t["database_url"].as_str(), Some(format!("postgres://onsite:{HIDDEN}@db.invalid/onsite").as_str()));
    assert_eq!(t["s3_secret_access_key"].as_str(), Some(HIDDEN));

    // Mistakes stop the server with the setting's name and where it came from.
    let refused = |out: Output, says: &[&str]| {
        assert!(!out.status.success(), "refused: {says:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        for s in says {
            assert!(err.contains(s), "the error says {s:?}: {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    };
    // A syntax error is placed by line and column, never quoted: the line may hold a password.
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "listen = \"127.0.0.1:8787\"\ndatabase_url = \"postgres://onsite:p4ss\\word@db/onsite\"\n").unwrap();
    let out = run(&["settings", "--config", broken.to_str().unwrap()], &[]);
    refused(run(&["settings", "--config", broken.to_str().unwrap()], &[]), &["not valid TOML", "line 2"]);
    assert!(!text_of(&out).contains("p4ss"), "{}", text_of(&out));
    // A password in the URL's query is hidden too.
    let t = printed(&run(&["settings"], &[("ONSITE_DATABASE_URL", "postgres://onsite@db/onsite?sslmode=require&password=q5ecret")]));
    let shown = t["database_url"].as_str().unwrap();
    assert!(!shown.contains("q5ecret") && shown.contains("sslmode=require"), "{shown}");
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "lisen = \"127.0.0.1:8787\"\n").unwrap();
    refused(run(&["--config", typo.to_str().unwrap()], &[]), &["lisen", "unknown field", "typo.toml"]);
    refused(run(&["settings"], &[("ONSITE_DEVICE_REQUESTS_PER_S", "lots")]), &["device_requests_per_s", "ONSITE_DEVICE_REQUESTS_PER_S"]);
    refused(run(&["settings", "--config", "/nonexistent/onsite.toml"], &[]), &["/nonexistent/onsite.toml", "not found"]);
    refused(run(&["settings"], &[("ONSITE_ERASE_AFTER_MONTHS", "0")]), &["erase_after_months is 1 to 600"]);
    refused(run(&["settings"], &[("ONSITE_TLS_CERT", "/etc/onsite/cert.pem")]), &["tls_cert and tls_key go together"]);
    refused(run(&["settings"], &[("ONSITE_S3_REGION", "oss-cn-hangzhou")]), &["need s3_bucket"]);
    refused(run(&["--trusted-proxies", "10.0.0.300", "settings"], &[]), &["10.0.0.300"]);
    // Secrets are not flags: a password on the command line is readable by every user.
    refused(run(&["--database-url", "postgres://x:y@db/onsite", "settings"], &[]), &["--database-url"]);

    // A server started from the file alone serves where the file says.
    let data = dir.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let served = dir.path().join("served.toml");
    std::fs::write(&served, format!("listen = \"127.0.0.1:{port}\"\ndata = {:?}\n", data.to_str().unwrap())).unwrap();
    let mut server = tokio::process::Command::new(exe())
        .envs(onsite_tests::backends::server_env(&data).await)
        .args(["--config", served.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let health = onsite_tests::harness::first_answer(&reqwest::Client::new(), &format!("http://127.0.0.1:{port}/health")).await;
    assert_eq!(health.map(|s| s.as_u16()), Some(200), "the server listens where its settings file says");
    assert!(data.is_dir(), "and keeps its data where the file says");
    server.kill().await.unwrap();
}
