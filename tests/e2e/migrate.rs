//! An embedded deployment outgrows its machine: `onsite-server migrate` moves the demo's data,
//! a phone's synced work and photos from the SQLite file and blob folder into PostgreSQL and an
//! S3 bucket; a server started there shows the same jobs, technicians and photos, accepts the
//! same tokens, and the phone syncs on as if nothing happened.

use std::path::Path;
use std::process::Output;

use onsite_app::store::ReadyPhoto;
use onsite_server::settings::Settings;
use onsite_tests::harness::{Device, Dispatcher, first_answer, jpeg};
use onsite_tests::postgres::PgCluster;
use onsite_tests::s3::{Moto, make_bucket};
use serde_json::Value;
use shared::BlobHash;
use shared::edit::FieldEdit;
use shared::model::PhotoKind;

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_onsite-server-e2e"))
}

/// A command on the real binary with only `env` for settings (none of this process's).
fn command(env: &[(String, String)]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(exe());
    for name in Settings::names() {
        c.env_remove(format!("ONSITE_{}", name.to_uppercase()));
    }
    c.env_remove("ONSITE_CONFIG").env("RUST_LOG", "warn").env("RUST_BACKTRACE", "0").envs(env.iter().cloned()).kill_on_drop(true);
    c
}

async fn serve(data: &Path, env: &[(String, String)]) -> (tokio::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = command(env)
        .args(["--demo", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .args(["--device-requests-per-s", "1000"])
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    assert!(first_answer(&reqwest::Client::new(), &format!("{url}/health")).await.is_some(), "the server starts");
    (child, url)
}

/// What a dispatcher sees: every job (list and each one), the technicians, a photo's bytes.
async fn seen(d: &Dispatcher, photo: &str) -> (Value, Vec<Value>, Value, Vec<u8>) {
    let (s, list) = d.get("/admin/v1/jobs?limit=500").await;
    assert_eq!(s, 200, "{list}");
    let mut jobs = Vec::new();
    for j in list["jobs"].as_array().expect("a list of jobs") {
        jobs.push(d.job(j["job"].as_str().unwrap().parse().unwrap()).await);
    }
    let (s, techs) = d.get("/admin/v1/technicians").await;
    assert_eq!(s, 200, "{techs}");
    let r = d.http.get(format!("{}/admin/v1/blobs/{photo}", d.base)).bearer_auth(&d.token).send().await.unwrap();
    assert_eq!(r.status(), 200, "the photo is readable");
    (list, jobs, techs, r.bytes().await.unwrap().to_vec())
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_deployment_moves_into_postgres_and_s3_and_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("embedded");

    // A small company's server: the demo, a paired phone that did some work with a photo.
    let (mut server, url) = serve(&old, &[]).await;
    let creds: Value = serde_json::from_slice(&std::fs::read(old.join("demo-credentials.json")).unwrap()).unwrap();
    let d = Dispatcher { base: url.clone(), token: creds["dispatcher_token"].as_str().unwrap().into(), http: reqwest::Client::new() };
    let (_, code) = creds["technicians"].as_object().unwrap().values().next().map(|t| (t[0].clone(), t[1].clone())).unwrap();
    let dev = Device::pair(dir.path(), "phone", &url, code.as_str().unwrap()).await;
    let first = dev.client.sync_now().await.unwrap();
    assert!(first.new_jobs > 0, "the demo technician has jobs");
    let job = dev.with(|s| s.list_all().unwrap()[0].job_id);
    let p = ReadyPhoto { jpeg: jpeg(320, 240, 7), thumbnail: jpeg(64, 48, 7), width: 320, height: 240 };
    let photo = BlobHash::of(&p.jpeg);
    dev.with(|s| {
        s.apply_edit(job, FieldEdit::AddNote { text: "客户不在家 customer out".into() }).unwrap();
        s.add_photo(job, PhotoKind::Fault, "漏水 leak", p).unwrap();
    });
    let synced = dev.client.sync_now().await.unwrap();
    assert!(synced.refused.is_empty() && synced.blobs_uploaded >= 1, "{synced:?}");
    let before = seen(&d, photo.as_str()).await;
    server.kill().await.unwrap();

    // The move, into a fresh database and bucket.
    let cluster = PgCluster::start();
    let db = cluster.database("moved").await;
    let moto = Moto::start().await;
    make_bucket(&moto.endpoint, "moved").await;
    let shared: Vec<(String, String)> = [
        ("ONSITE_DATABASE_URL", db.as_str()),
        ("ONSITE_DATABASE_CONNECTIONS", "4"),
        ("ONSITE_S3_BUCKET", "moved"),
        ("ONSITE_S3_ENDPOINT", moto.endpoint.as_str()),
        ("ONSITE_S3_ACCESS_KEY_ID", "test"),
        ("ONSITE_S3_SECRET_ACCESS_KEY", "test"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    // A source that cannot be read to the end (a row that is not UTF-8, here in the jobs, read
    // after technicians, devices and documents) leaves the database empty.
    let db_file = old.join("onsite-server.sqlite");
    let name: String = {
        let c = rusqlite::Connection::open(&db_file).unwrap();
        let name = c.query_row("SELECT customer_name FROM jobs ORDER BY job_id LIMIT 1", [], |r| r.get(0)).unwrap();
        c.execute("UPDATE jobs SET customer_name = CAST(X'FF' AS TEXT) WHERE job_id = (SELECT min(job_id) FROM jobs)", []).unwrap();
        name
    };
    let failed = command(&shared).arg("migrate").arg("--from").arg(&old).output().await.unwrap();
    assert!(!failed.status.success() && text(&failed).contains("not UTF-8"), "{}", text(&failed));
    let (pg, connection) = tokio_postgres::connect(&db, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    for table in ["technicians", "devices", "docs", "jobs"] {
        let n: i64 = pg.query_one(&format!("SELECT count(*) FROM {table}"), &[]).await.unwrap().get(0);
        assert_eq!(n, 0, "a move that failed keeps nothing in {table}");
    }
    rusqlite::Connection::open(&db_file)
        .unwrap()
        .execute("UPDATE jobs SET customer_name = ?1 WHERE job_id = (SELECT min(job_id) FROM jobs)", [&name])
        .unwrap();

    let moved = command(&shared).arg("migrate").arg("--from").arg(&old).output().await.unwrap();
    assert!(moved.status.success(), "{}", text(&moved));
    let said = text(&moved);
    assert!(said.contains("jobs: ") && said.contains("blobs: ") && said.contains("moved;"), "{said}");
    assert!(!said.contains("test@") && !said.contains(":test"), "no secret in the output: {said}");

    // Run again: the blobs are there already, and the database is refused, changing nothing.
    let again = command(&shared).arg("migrate").arg("--from").arg(&old).output().await.unwrap();
    assert!(!again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("already holds a deployment"), "{}", text(&again));
    // Nowhere to go: said so.
    let nowhere = command(&[]).arg("migrate").arg("--from").arg(&old).output().await.unwrap();
    assert!(!nowhere.status.success() && text(&nowhere).contains("database_url"), "{}", text(&nowhere));

    // A server on PostgreSQL + S3 (its own, empty data folder) shows the same, to the same token.
    let (mut server, url) = serve(&dir.path().join("instance"), &shared).await;
    let d = Dispatcher { base: url.clone(), ..d };
    let after = seen(&d, photo.as_str()).await;
    assert_eq!(before.0, after.0, "the job list");
    assert_eq!(before.1, after.1, "every job");
    assert_eq!(before.2, after.2, "the technicians");
    assert_eq!(before.3, after.3, "the photo's bytes");
    assert!(!dir.path().join("instance").join("onsite-server.sqlite").exists(), "records are in PostgreSQL");

    // The phone, pointed at the new server, syncs with its old token: nothing new, nothing refused.
    dev.with(|s| s.set_meta("server", &url).unwrap());
    dev.with(|s| s.apply_edit(job, FieldEdit::AddNote { text: "搬家后 after the move".into() }).unwrap());
    let on = dev.client.sync_now().await.unwrap();
    assert!(on.refused.is_empty() && on.new_jobs == 0 && on.dropped_jobs == 0, "{on:?}");
    assert!(dev.client.status().is_synced(), "{:?}", dev.client.status());
    let notes = d.job(job).await["field"]["notes"].as_array().unwrap().len();
    assert_eq!(notes, 2, "the phone's new note reached the new server");
    server.kill().await.unwrap();
}
