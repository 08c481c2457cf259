//! Office accounts over real HTTP: roles allowed and refused per route, the audit log, API token
//! rotation and revocation, browser sessions and their cross-site guard, idempotency keys, limits
//! on failed authentication per address, and the server's `user` / `token` commands.

use onsite_server::Limits;
use onsite_server::accounts::Role;
use onsite_tests::harness::{ChildServer, Dispatcher, first_answer, new_job_json};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::World;

/// Every route of the dispatcher endpoint with the least role it needs. `{tech}`, `{job}`,
/// `{device}`, `{account}` and `{token}` are filled with real ids.
const ROUTES: &[(&str, &str, Role)] = &[
    ("GET", "/admin/v1/session", Role::Viewer),
    ("GET", "/admin/v1/technicians", Role::Viewer),
    ("GET", "/admin/v1/technicians/{tech}", Role::Viewer),
    ("GET", "/admin/v1/technicians/{tech}/devices", Role::Viewer),
    ("GET", "/admin/v1/jobs", Role::Viewer),
    ("GET", "/admin/v1/jobs/{job}", Role::Viewer),
    ("GET", "/admin/v1/jobs/{job}/suggestions", Role::Viewer),
    ("GET", "/admin/v1/jobs/{job}/self-service", Role::Viewer),
    ("GET", "/admin/v1/jobs/{job}/report.html", Role::Viewer),
    ("GET", "/admin/v1/kpis", Role::Viewer),
    ("GET", "/admin/v1/reference/catalog/versions", Role::Viewer),
    ("GET", "/admin/v1/reference/catalog/1", Role::Viewer),
    ("GET", "/admin/v1/blobs/0000000000000000000000000000000000000000000000000000000000000000", Role::Viewer),
    ("POST", "/admin/v1/jobs", Role::Dispatcher),
    ("POST", "/admin/v1/jobs/{job}/add_note", Role::Dispatcher),
    ("POST", "/admin/v1/jobs/{job}/auto-assign", Role::Dispatcher),
    ("POST", "/admin/v1/jobs/{job}/self-service", Role::Dispatcher),
    ("POST", "/admin/v1/jobs/{job}/customer-photos", Role::Dispatcher),
    ("POST", "/admin/v1/technicians", Role::Admin),
    ("POST", "/admin/v1/technicians/{tech}/pairing-codes", Role::Admin),
    ("PUT", "/admin/v1/technicians/{tech}/working-hours", Role::Admin),
    ("PUT", "/admin/v1/technicians/{tech}/van-stock", Role::Admin),
    ("POST", "/admin/v1/devices/{device}/revoke", Role::Admin),
    ("PUT", "/admin/v1/reference/catalog", Role::Admin),
    ("GET", "/admin/v1/accounts", Role::Admin),
    ("POST", "/admin/v1/accounts", Role::Admin),
    ("PATCH", "/admin/v1/accounts/{account}", Role::Admin),
    ("GET", "/admin/v1/audit", Role::Admin),
    ("POST", "/admin/v1/erasures", Role::Admin),
    ("POST", "/admin/v1/technicians/{tech}/deactivate", Role::Admin),
];

async fn send(d: &Dispatcher, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let req = d.http.request(method.parse().unwrap(), format!("{}{path}", d.base)).bearer_auth(&d.token);
    let req = if method == "GET" { req } else { req.json(&body) };
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn each_role_is_allowed_and_refused_per_route() {
    let w = World::new().await;
    let admin = &w.dispatcher;
    let (tech, device) = w.technician("李师傅 Li").await;
    let job = admin.create_job(1).await;
    let viewer = w.server.staff("只读 Vera", Role::Viewer).await;
    let dispatcher = w.server.staff("调度 Dan", Role::Dispatcher).await;
    let (_, me) = send(&viewer, "GET", "/admin/v1/session", Value::Null).await;
    let fill = |p: &str| {
        p.replace("{tech}", &tech.to_string())
            .replace("{job}", &job.to_string())
            .replace("{device}", &device.who.device.to_string())
            .replace("{account}", me["account_id"].as_str().unwrap())
    };
    let mut checked = 0;
    for (method, path, needs) in ROUTES {
        let path = fill(path);
        for (who, role) in [(&viewer, Role::Viewer), (&dispatcher, Role::Dispatcher), (admin, Role::Admin)] {
            // Bodies are empty objects: a permitted call may fail validation (400/404/409/422),
            // but only a refused one answers 403.
            if *method == "POST" && path.ends_with("/deactivate") && role >= *needs {
                continue; // would end the technician the other rows use; allowed-ness shown below
            }
            let (status, body) = send(who, method, &path, json!({})).await;
            if role >= *needs {
                assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                    "{role} should be allowed {method} {path}: {status} {body}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} should be refused {method} {path}: {body}");
                assert_eq!(body["error"]["code"], "forbidden");
            }
            checked += 1;
        }
    }
    let (status, _) = send(admin, "POST", &format!("/admin/v1/technicians/{tech}/deactivate"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(checked >= ROUTES.len() * 3 - 2);
    // A refused change changes nothing: a valid job from the viewer is not created.
    let count = || async { send(admin, "GET", "/admin/v1/jobs", Value::Null).await.1["jobs"].as_array().unwrap().len() };
    let before = count().await;
    assert_eq!(send(&viewer, "POST", "/admin/v1/jobs", new_job_json(3)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(count().await, before);
    assert_eq!(send(&dispatcher, "POST", "/admin/v1/jobs", new_job_json(3)).await.0, StatusCode::OK);
    assert_eq!(count().await, before + 1);
}

#[tokio::test]
async fn every_change_is_audited_with_who_and_where_and_timelines_name_the_dispatcher() {
    let w = World::new().await;
    let dan = w.server.staff("调度 Dan", Role::Dispatcher).await;
    let (tech, _device) = w.technician("李师傅 Li").await;
    let job = dan.create_job(7).await;
    dan.assign(job, tech).await;
    let (s, b) = dan.act(job, "add_note", json!({ "text": "call before arriving" })).await;
    assert_eq!(s, 200, "{b}");
    // A refused change is recorded too.
    let viewer = w.server.staff("只读 Vera", Role::Viewer).await;
    let (s, _) = send(&viewer, "POST", "/admin/v1/jobs", new_job_json(8)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (s, log) = send(&w.dispatcher, "GET", "/admin/v1/audit?limit=50", Value::Null).await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let log = log.as_array().unwrap();
    let by_dan: Vec<&Value> = log.iter().filter(|e| e["route"].as_str().is_some_and(|r| r.starts_with("/admin/v1/jobs"))).collect();
    let routes: Vec<(&str, u64)> = by_dan.iter().map(|e| (e["path"].as_str().unwrap(), e["status"].as_u64().unwrap())).collect();
    assert!(routes.contains(&("/admin/v1/jobs", 200)), "{routes:?}");
    assert!(routes.contains(&(&*format!("/admin/v1/jobs/{job}/assign"), 200)), "{routes:?}");
    assert!(routes.contains(&(&*format!("/admin/v1/jobs/{job}/add_note"), 200)), "{routes:?}");
    assert!(routes.contains(&("/admin/v1/jobs", 403)), "the refused create is logged: {routes:?}");
    let create = by_dan.iter().find(|e| e["path"] == "/admin/v1/jobs" && e["status"] == 200).unwrap();
    assert_eq!(create["detail"]["job"], job.to_string(), "the created job is named: {create}");
    assert_eq!(create["remote"], "127.0.0.1");
    assert!(create["via"].as_str().unwrap().starts_with("token:"));
    assert!(create["login"].as_str().unwrap().starts_with("staff-"));
    // Nothing personal in the log: the customer's name and phone are not in it.
    let text = serde_json::to_string(log).unwrap();
    assert!(!text.contains("Customer 7") && !text.contains("138 0000"), "{text}");
    // Reads are not audited, and the audit log is for admins only.
    assert!(log.iter().all(|e| e["method"] != "GET"));
    let (s, _) = send(&dan, "GET", "/admin/v1/audit", Value::Null).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The job's timeline names the real dispatcher.
    let detail = w.dispatcher.job(job).await;
    let events = detail["dispatch"]["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["by"] == "调度 Dan"), "{events:?}");
}

#[tokio::test]
async fn tokens_rotate_and_revoke_and_never_exceed_their_account() {
    let w = World::new().await;
    let dan = w.server.staff("调度 Dan", Role::Dispatcher).await;
    let (_, me) = send(&dan, "GET", "/admin/v1/session", Value::Null).await;
    let account = me["account_id"].as_str().unwrap().to_owned();
    // Dan issues himself a read-only token for a report script.
    let (s, issued) =
        send(&dan, "POST", &format!("/admin/v1/accounts/{account}/tokens"), json!({ "name": "reports", "role": "viewer" })).await;
    assert_eq!(s, StatusCode::OK, "{issued}");
    let secret = issued["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("osa_"));
    let reports = Dispatcher { token: secret.clone(), ..dan.clone() };
    assert_eq!(send(&reports, "GET", "/admin/v1/jobs", Value::Null).await.0, StatusCode::OK);
    assert_eq!(send(&reports, "POST", "/admin/v1/jobs", new_job_json(1)).await.0, StatusCode::FORBIDDEN);
    // The secret is shown once: listings never carry it.
    let (_, list) = send(&dan, "GET", &format!("/admin/v1/accounts/{account}/tokens"), Value::Null).await;
    assert!(!list.to_string().contains(&secret[4..]), "{list}");
    // More than the account may do is refused.
    let (s, _) = send(&dan, "POST", &format!("/admin/v1/accounts/{account}/tokens"), json!({ "name": "x", "role": "admin" })).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Rotation: the new secret works, the old one stops at once.
    let token_id = issued["id"].as_str().unwrap();
    let (s, rotated) = send(&dan, "POST", &format!("/admin/v1/tokens/{token_id}/rotate"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{rotated}");
    let new = Dispatcher { token: rotated["token"].as_str().unwrap().to_owned(), ..dan.clone() };
    assert_eq!(send(&new, "GET", "/admin/v1/jobs", Value::Null).await.0, StatusCode::OK);
    let (s, b) = send(&reports, "GET", "/admin/v1/jobs", Value::Null).await;
    assert_eq!((s, b["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("bad_token")));
    // Revocation.
    let new_id = rotated["id"].as_str().unwrap();
    assert_eq!(send(&dan, "POST", &format!("/admin/v1/tokens/{new_id}/revoke"), json!({})).await.0, StatusCode::OK);
    assert_eq!(send(&new, "GET", "/admin/v1/jobs", Value::Null).await.0, StatusCode::UNAUTHORIZED);
    // Another account's tokens are not Dan's to touch; an admin's are.
    let vera = w.server.staff("只读 Vera", Role::Viewer).await;
    assert_eq!(send(&vera, "POST", &format!("/admin/v1/accounts/{account}/tokens"), json!({ "name": "x" })).await.0, StatusCode::FORBIDDEN);
    // Demoting Dan takes effect on his existing token; disabling him stops it.
    let (s, _) = send(&w.dispatcher, "PATCH", &format!("/admin/v1/accounts/{account}"), json!({ "role": "viewer" })).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(send(&dan, "POST", "/admin/v1/jobs", new_job_json(2)).await.0, StatusCode::FORBIDDEN);
    let (s, _) = send(&w.dispatcher, "PATCH", &format!("/admin/v1/accounts/{account}"), json!({ "disabled": true })).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(send(&dan, "GET", "/admin/v1/jobs", Value::Null).await.0, StatusCode::UNAUTHORIZED);
    // A token scoped below its account cannot mint or take over a stronger one.
    let (_, admin_me) = send(&w.dispatcher, "GET", "/admin/v1/session", Value::Null).await;
    let admin_account = admin_me["account_id"].as_str().unwrap().to_owned();
    let (s, scoped) =
        send(&w.dispatcher, "POST", &format!("/admin/v1/accounts/{admin_account}/tokens"), json!({ "name": "erp", "role": "viewer" }))
            .await;
    assert_eq!(s, StatusCode::OK, "{scoped}");
    let erp = Dispatcher { token: scoped["token"].as_str().unwrap().to_owned(), ..dan.clone() };
    let (s, b) = send(&erp, "POST", &format!("/admin/v1/accounts/{admin_account}/tokens"), json!({ "name": "up" })).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["role"], "viewer", "a viewer token mints viewer tokens: {b}");
    let (s, _) = send(&erp, "POST", &format!("/admin/v1/accounts/{admin_account}/tokens"), json!({ "name": "up", "role": "admin" })).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, tokens) = send(&w.dispatcher, "GET", &format!("/admin/v1/accounts/{admin_account}/tokens"), Value::Null).await;
    let admin_token = tokens.as_array().unwrap().iter().find(|t| t["role"] == "admin").unwrap()["id"].as_str().unwrap().to_owned();
    for action in ["rotate", "revoke"] {
        let (s, _) = send(&erp, "POST", &format!("/admin/v1/tokens/{admin_token}/{action}"), json!({})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "a viewer token cannot {action} the admin's");
    }
    assert_eq!(send(&w.dispatcher, "GET", "/admin/v1/accounts", Value::Null).await.0, StatusCode::OK, "the admin token still works");
    // The last admin cannot remove itself.
    let admin_id = admin_account.as_str();
    let (s, b) = send(&w.dispatcher, "PATCH", &format!("/admin/v1/accounts/{admin_id}"), json!({ "role": "dispatcher" })).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
}

#[tokio::test]
async fn browser_sessions_use_a_strict_cookie_and_refuse_cross_site_changes() {
    let w = World::new().await;
    let (s, b) = send(
        &w.dispatcher,
        "POST",
        "/admin/v1/accounts",
        json!({ "login": "Ann.Li", "name": "调度 Ann", "role": "dispatcher", "password": "a long pass phrase" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["login"], "ann.li");
    assert!(b.get("password_hash").is_none() && !b.to_string().contains("argon2"), "{b}");
    let http = reqwest::Client::new();
    let base = w.server.url();
    let login = |password: &'static str| {
        http.post(format!("{base}/admin/v1/session")).json(&json!({ "login": "ann.li", "password": password })).send()
    };
    let wrong = login("not the pass phrase").await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json::<Value>().await.unwrap()["error"]["code"], "bad_login");
    let ok = login("a long pass phrase").await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} missing from {cookie}");
    }
    let session = cookie.split(';').next().unwrap().to_owned();
    let me = http.get(format!("{base}/admin/v1/session")).header("cookie", &session).send().await.unwrap();
    assert_eq!(me.json::<Value>().await.unwrap()["name"], "调度 Ann");
    // A change with the cookie from another site (or with no origin at all) is refused ...
    for origin in [Some("https://evil.example"), None] {
        let mut req = http.post(format!("{base}/admin/v1/jobs")).header("cookie", &session).json(&new_job_json(1));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "origin {origin:?}");
    }
    // ... and from this server's own page it goes through.
    let r = http
        .post(format!("{base}/admin/v1/jobs"))
        .header("cookie", &session)
        .header("origin", &base)
        .json(&new_job_json(2))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Logging out ends the session on the server.
    let out = http.delete(format!("{base}/admin/v1/session")).header("cookie", &session).header("origin", &base).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    let after = http.get(format!("{base}/admin/v1/session")).header("cookie", &session).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_retried_post_with_the_same_idempotency_key_creates_one_job() {
    let w = World::new().await;
    let d = &w.dispatcher;
    let bodies = [new_job_json(1), new_job_json(2)];
    let post = |key: &'static str, n: usize| {
        d.http.post(format!("{}/admin/v1/jobs", d.base)).bearer_auth(&d.token).header("idempotency-key", key).json(&bodies[n - 1]).send()
    };
    let first = post("create-0001", 1).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    // The response was lost; the client retries with the same key.
    let again = post("create-0001", 1).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["job_id"], again["job_id"]);
    // The same key for a different request is an error, and changes nothing.
    let other = post("create-0001", 2).await.unwrap();
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, jobs) = d.get("/admin/v1/jobs").await;
    let ids: Vec<&Value> = jobs["jobs"].as_array().unwrap().iter().map(|j| &j["job_id"]).collect();
    assert_eq!(ids.len(), 1, "one job, not two: {jobs}");
    // An answer holding a secret (a new token) is not kept: the retry is told it was done.
    let (_, me) = d.get("/admin/v1/session").await;
    let tokens = format!("{}/admin/v1/accounts/{}/tokens", d.base, me["account_id"].as_str().unwrap());
    let mint = || d.http.post(&tokens).bearer_auth(&d.token).header("idempotency-key", "mint-1").json(&json!({ "name": "ci" })).send();
    let minted: Value = mint().await.unwrap().json().await.unwrap();
    let secret = minted["token"].as_str().unwrap().to_owned();
    assert_eq!(mint().await.unwrap().status(), StatusCode::CONFLICT);
    assert_eq!(onsite_tests::backends::places_holding(&w.server.data, &secret).await, Vec::<String>::new(), "the token's secret is stored");
    // Another account's identical key is its own.
    let ann = w.server.staff("调度 Ann", Role::Dispatcher).await;
    let r = ann
        .http
        .post(format!("{}/admin/v1/jobs", ann.base))
        .bearer_auth(&ann.token)
        .header("idempotency-key", "create-0001")
        .json(&bodies[0])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn failed_authentications_are_limited_per_address() {
    let w = World::with_limits(&Limits { auth_attempts_per_min: 5, ..Limits::default() }).await;
    let wrong = Dispatcher { token: "osa_guess".into(), ..w.dispatcher.clone() };
    let mut codes = Vec::new();
    for _ in 0..8 {
        let (s, _) = wrong.get("/admin/v1/jobs").await;
        codes.push(s);
    }
    assert_eq!(&codes[..5], &[401; 5], "{codes:?}");
    assert!(codes[5..].iter().all(|c| *c == 429), "{codes:?}");
    // Password guesses count the same way.
    let r = reqwest::Client::new()
        .post(format!("{}/admin/v1/session", w.server.url()))
        .json(&json!({ "login": "nobody", "password": "whatever it is" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // The rightful token still works (only guesses are throttled).
    assert_eq!(w.dispatcher.get("/admin/v1/jobs").await.0, 200);
}

/// The first admin comes from the server's command line: password on standard input (never an
/// argument), a token printed once, and both work against the running server.
#[tokio::test]
async fn the_first_admin_and_a_token_come_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_onsite-server-e2e"));
    let data = dir.path().join("server");
    let env = onsite_tests::backends::server_env(&data).await;
    let run = |args: &[&str], stdin: &str| {
        let mut child = std::process::Command::new(&exe)
            .envs(env.clone())
            .args(args)
            .arg("--data")
            .arg(&data)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["user", "add", "Boss", "--name", "老板 Boss", "--role", "admin"], "correct horse battery\n");
    let token = run(&["token", "add", "boss", "--name", "ci"], "").trim().to_owned();
    assert!(token.starts_with("osa_"), "{token}");
    assert!(run(&["user", "list"], "").contains("boss"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the data folder is the server's alone");
    }
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let server = ChildServer::start(&exe, data.clone(), addr).await;
    let boss = Dispatcher { base: server.url(), token, http: reqwest::Client::new() };
    let (s, me) = boss.get("/admin/v1/session").await;
    assert_eq!((s, me["role"].as_str()), (200, Some("admin")));
    let r = reqwest::Client::new()
        .post(format!("{}/admin/v1/session", server.url()))
        .json(&json!({ "login": "boss", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, log) = boss.get("/admin/v1/audit").await;
    let text = log.to_string();
    assert!(text.contains("user add") && text.contains("token add") && text.contains("/admin/v1/session"), "{text}");
    server.kill().await;

    // The demo writes its secrets to a file only the server's user can read.
    let demo_data = dir.path().join("demo");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut demo = tokio::process::Command::new(&exe)
        .envs(onsite_tests::backends::server_env(&demo_data).await)
        .args(["--demo", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(&demo_data)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let creds = demo_data.join("demo-credentials.json");
    // The credentials are written before the server listens.
    assert!(first_answer(&reqwest::Client::new(), &format!("http://127.0.0.1:{port}/health")).await.is_some());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&creds).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let saved: Value = serde_json::from_slice(&std::fs::read(&creds).unwrap()).unwrap();
    let r = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/admin/v1/session"))
        .json(&json!({ "login": saved["login"], "password": saved["password"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the demo admin logs in with the password from the file");
    demo.kill().await.unwrap();
}

/// The server speaks HTTPS from certificate files, and will not serve plain HTTP on an address
/// other machines reach unless told that a proxy does TLS or that the network is trusted.
#[tokio::test]
async fn https_from_certificate_files_and_no_plain_http_off_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_onsite-server-e2e"));
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let spawn = |listen: String, extra: &[&str]| {
        tokio::process::Command::new(&exe)
            .arg("--listen")
            .arg(listen)
            .arg("--data")
            .arg(dir.path().join("data"))
            .args(extra)
            .env("RUST_LOG", "warn")
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let mut server =
        spawn(format!("127.0.0.1:{port}"), &["--tls-cert", cert_file.to_str().unwrap(), "--tls-key", key_file.to_str().unwrap()]);
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let answered = first_answer(&trusting, &format!("https://localhost:{port}/health")).await;
    assert_eq!(answered, Some(reqwest::StatusCode::OK), "HTTPS with the test certificate");
    // Plain HTTP to the HTTPS port gets no answer, and a client that does not trust the
    // certificate refuses it.
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/health")).await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != 200), "plain HTTP is not served on the HTTPS port");
    assert!(reqwest::get(format!("https://localhost:{port}/health")).await.is_err(), "an untrusted certificate is refused");
    server.kill().await.unwrap();

    // Plain HTTP on every interface is refused at start, with the way out in the message.
    let out = spawn(format!("0.0.0.0:{port}"), &[]).wait_with_output().await.unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("refusing plain HTTP") && said.contains("--tls-cert"), "{said}");
    // Behind a declared TLS proxy, plain HTTP is served to that proxy only.
    let mut proxied = spawn(format!("0.0.0.0:{port}"), &["--trusted-proxy", "192.0.2.10"]);
    let status = first_answer(&reqwest::Client::new(), &format!("http://127.0.0.1:{port}/health")).await;
    assert_eq!(status, Some(reqwest::StatusCode::FORBIDDEN), "a direct connection is refused");
    proxied.kill().await.unwrap();
    // Declared as a trusted network, it starts.
    let mut open = spawn(format!("0.0.0.0:{port}"), &["--allow-plain-http"]);
    let up = first_answer(&reqwest::Client::new(), &format!("http://127.0.0.1:{port}/health")).await;
    assert_eq!(up, Some(reqwest::StatusCode::OK), "--allow-plain-http serves plain HTTP");
    open.kill().await.unwrap();
}
