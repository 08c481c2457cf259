//! PostgreSQL as several instances share it: two stores (two pools, as two server instances
//! hold) on one database of a throwaway cluster. Migrations run once whoever starts first; a
//! schema from a newer server is refused; a pairing code is used once and a reference version
//! published once, however the requests are spread.

use onsite_server::store::{NewDevice, Redeemed, Store, StoreError, Technician};
use onsite_store_postgres::PgStore;
use onsite_tests::postgres::PgCluster;
use shared::{DeviceId, TechnicianId, Timestamp};

fn technician() -> Technician {
    Technician {
        id: TechnicianId::new(),
        name: "李明 Li".into(),
        phone: "138 0000 0001".into(),
        active: true,
        skills: vec!["washer".into()],
        brands: vec![],
        level: 2,
        home: None,
        working_hours: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_one_database_without_colliding() {
    let cluster = PgCluster::start();
    let url = cluster.database("shared_db").await;

    // Two instances start at once on an empty database: one migrates, the other waits for it.
    let (a, b) = tokio::join!(PgStore::connect(&url, 4, None), PgStore::connect(&url, 4, None));
    let (a, b) = (a.unwrap(), b.unwrap());
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let version: i64 = client.query_one("SELECT version FROM onsite_schema", &[]).await.unwrap().get(0);
    assert_eq!(version, onsite_store_postgres::SCHEMA_VERSION);

    // A code redeemed through both instances at the same moment pairs one phone.
    let tech = technician();
    a.put_technician(&tech).await.unwrap();
    let expires = Timestamp(Timestamp::now().0 + Timestamp::HOUR);
    for round in 0..20 {
        let code = format!("code-{round}");
        a.create_pairing_code(tech.id, &code, expires).await.unwrap();
        let device = |n: &str| NewDevice { id: DeviceId::new(), name: n.into(), token_hash: format!("{code}-{n}"), previous: None };
        let now = Timestamp::now();
        let (ra, rb) = tokio::join!(a.redeem_pairing_code(&code, now, device("a")), b.redeem_pairing_code(&code, now, device("b")));
        let paired = [ra.unwrap(), rb.unwrap()].into_iter().filter(|r| matches!(r, Redeemed::Paired(_))).count();
        assert_eq!(paired, 1, "round {round}: a code pairs one phone");
    }
    assert_eq!(b.devices_of(tech.id).await.unwrap().len(), 20);

    // Two dispatchers publish the next catalog through different instances: one wins, the other
    // is told someone published meanwhile; nothing is overwritten.
    for round in 1..=10u32 {
        let (pa, pb) = tokio::join!(
            a.publish_reference("catalog", format!("{{\"from\":\"a\",\"round\":{round}}}"), Some(round)),
            b.publish_reference("catalog", format!("{{\"from\":\"b\",\"round\":{round}}}"), Some(round)),
        );
        let won: Vec<_> = [pa, pb]
            .into_iter()
            .filter_map(|r| match r {
                Ok(v) => Some(v),
                Err(StoreError::Conflict(_)) => None,
                Err(e) => panic!("round {round}: {e}"),
            })
            .collect();
        assert_eq!(won, vec![round], "round {round}: one publication per version");
    }
    assert_eq!(a.reference_versions("catalog").await.unwrap().len(), 10);

    // A database migrated by a newer server is not touched by this one.
    drop((a, b));
    client.execute("UPDATE onsite_schema SET version = 99", &[]).await.unwrap();
    let refused = PgStore::connect(&url, 2, None).await.err().expect("a newer schema is refused").to_string();
    assert!(refused.contains("99") && refused.contains("newer"), "{refused}");
}

/// Two server instances on one PostgreSQL database and one bucket: a phone syncs through
/// instance A while a dispatcher edits the same job through instance B, at the same moments.
/// Every note each of them wrote ends up on the server and on the phone, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_on_one_instance_and_a_dispatcher_on_another_lose_nothing() {
    use onsite_server::{BlobBackend, StoreBackend};
    use onsite_tests::harness::{Device, Server};
    use shared::edit::FieldEdit;

    let cluster = PgCluster::start();
    let moto = onsite_tests::s3::Moto::start().await;
    onsite_tests::s3::make_bucket(&moto.endpoint, "two").await;
    let store = StoreBackend::Postgres { url: cluster.database("two_instances").await, connections: 6, ca_file: None };
    let blobs = BlobBackend::S3(onsite_tests::s3::settings(&moto.endpoint, "two", "deployment"));
    let dir = tempfile::tempdir().unwrap();
    let a = Server::start_with(dir.path().join("a"), &store, &blobs).await;
    let b = Server::start_with(dir.path().join("b"), &store, &blobs).await;

    // Set up through B; the phone pairs through A with B's code.
    let dispatcher = b.dispatcher("调度 Ann").await;
    let tech = dispatcher.technician("李明", &["washer"]).await;
    let code = dispatcher.pairing_code(tech).await;
    let phone = Device::pair(dir.path(), "li", &a.url(), &code).await;
    let job = dispatcher.create_job(1).await;
    dispatcher.assign(job, tech).await;
    phone.client.sync_now().await.unwrap();
    assert!(phone.with(|s| s.open_job(job)).is_ok(), "the job assigned through B reached the phone through A");

    // Guesses at a token spread over both instances are counted together: one instance's
    // allowance (20 a minute from one address), not two. Started clear of a minute's end, so
    // the count is not cut by a new window.
    let second = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() % 60;
    if second > 50 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - second)).await;
    }
    let mut answers = Vec::new();
    for i in 0..30 {
        let via = if i % 2 == 0 { &a } else { &b };
        let guess = onsite_tests::harness::Dispatcher { base: via.url(), token: format!("osa_guess{i}"), ..dispatcher.clone() };
        answers.push(guess.get("/admin/v1/jobs").await.0);
    }
    assert_eq!(&answers[..20], &[401; 20], "{answers:?}");
    assert!(answers[20..].iter().all(|&s| s == 429), "the 21st guess is refused whichever instance takes it: {answers:?}");
    assert_eq!(dispatcher.get("/admin/v1/jobs").await.0, 200, "the rightful token still works");

    // A dispatcher watching instance B sees the phone's work synced through instance A.
    let mut on_b = b.state.events.subscribe();
    async fn heard_on_b(rx: &mut tokio::sync::broadcast::Receiver<onsite_server::JobChange>, want: onsite_server::JobChange) {
        let waited = tokio::time::timeout(std::time::Duration::from_secs(10), async { while rx.recv().await.unwrap() != want {} });
        waited.await.unwrap_or_else(|_| panic!("instance B never heard {want:?}"));
    }
    phone.with(|s| s.apply_edit(job, FieldEdit::AddNote { text: "heard on B".into() }).unwrap());
    phone.client.sync_now().await.unwrap();
    heard_on_b(&mut on_b, onsite_server::JobChange::Changed(job)).await;
    // The feed's connection is cut (a database restart, a network blip): B says it may have
    // missed changes, reconnects, and hears the next one.
    let (admin, connection) =
        tokio_postgres::connect(&format!("{} dbname=postgres", cluster.conninfo), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let cut: i64 = admin
        .query_one("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = 'LISTEN onsite_jobs'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(cut >= 2, "both instances listen ({cut} listeners)");
    heard_on_b(&mut on_b, onsite_server::JobChange::Lagged).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    phone.with(|s| s.apply_edit(job, FieldEdit::AddNote { text: "heard again".into() }).unwrap());
    phone.client.sync_now().await.unwrap();
    heard_on_b(&mut on_b, onsite_server::JobChange::Changed(job)).await;

    const ROUNDS: usize = 30;
    for round in 0..ROUNDS {
        phone.with(|s| s.apply_edit(job, FieldEdit::AddNote { text: format!("phone {round}") }).unwrap());
        let office = async {
            let (s, body) = dispatcher.act(job, "add_note", serde_json::json!({ "text": format!("office {round}") })).await;
            assert_eq!(s, 200, "{body}");
        };
        let (synced, ()) = tokio::join!(phone.client.sync_now(), office);
        let report = synced.unwrap();
        assert!(report.refused.is_empty(), "round {round}: {:?}", report.refused);
        // Whichever instance wrote last wrote from documents holding the other's change: the
        // index row both list from matches the documents after every round.
        let row = b.state.store.job_row(job).await.unwrap().unwrap();
        let (mut d, mut f) = a.state.store.load_job(job).await.unwrap().unwrap();
        let fresh = onsite_server::jobs::index_of(&mut d, &mut f, &Default::default()).unwrap();
        assert_eq!(row.digest, fresh.digest, "round {round}: the index row was written from stale documents");
    }
    for _ in 0..4 {
        if !phone.client.sync_now().await.unwrap().more {
            break;
        }
    }

    let texts = |notes: &[shared::model::Note]| {
        let mut t: Vec<String> = notes.iter().map(|n| n.text.clone()).collect();
        t.sort();
        t
    };
    let want = |who: &str| {
        let mut t: Vec<String> = (0..ROUNDS).map(|r| format!("{who} {r}")).collect();
        t.sort();
        t
    };
    // The server, read through either instance's store, holds both sides' notes once each.
    for server in [&a, &b] {
        let (d, f) = server.state.store.load_job(job).await.unwrap().unwrap();
        let phone_notes: Vec<_> =
            shared::docs::read_field(&f).unwrap().notes.into_iter().filter(|n| n.text.starts_with("phone ")).collect();
        assert_eq!(texts(&phone_notes), want("phone"));
        assert_eq!(texts(&shared::docs::read_dispatch(&d).unwrap().notes), want("office"));
    }
    let local = phone.with(|s| s.open_job(job)).unwrap();
    assert_eq!(texts(&local.dispatch.notes), want("office"), "every office note reached the phone");
    // The index row both instances list from agrees with the documents.
    let row = b.state.store.job_row(job).await.unwrap().unwrap();
    let (mut d, mut f) = a.state.store.load_job(job).await.unwrap().unwrap();
    let fresh = onsite_server::jobs::index_of(&mut d, &mut f, &Default::default()).unwrap();
    assert_eq!(row.digest, fresh.digest, "the index row was written from the latest documents");
}

/// TLS to the database: with `sslmode=require` and the database's CA the store connects over TLS
/// (the database itself says so); without that CA, with a file that is no CA, or with a libpq
/// mode this client does not speak, it refuses with an error that says what to fix.
#[tokio::test]
async fn the_database_connection_is_encrypted_and_its_certificate_checked() {
    let (cluster, ca_file) = PgCluster::start_with_tls();
    let url = format!("{} sslmode=require", cluster.database("tls").await);

    let store = PgStore::connect(&url, 2, Some(&ca_file)).await.unwrap();
    assert!(store.connection_encrypted().await.unwrap(), "the pool's connections are TLS");
    assert_eq!(store.reference_versions("catalog").await.unwrap().len(), 0);

    let untrusted = PgStore::connect(&url, 2, None).await.err().expect("a certificate no trusted CA signed is refused").to_string();
    assert!(untrusted.to_lowercase().contains("certificate"), "{untrusted}");
    let not_pem = cluster_file(&ca_file, "not-a-ca.pem", b"hello");
    let refused = PgStore::connect(&url, 2, Some(&not_pem)).await.err().expect("a CA file without certificates").to_string();
    assert!(refused.contains("database_ca_file") && refused.contains("no usable certificate"), "{refused}");
    let verify_full = url.replace("sslmode=require", "sslmode=verify-full");
    let refused = PgStore::connect(&verify_full, 2, Some(&ca_file)).await.err().expect("libpq's verify-full").to_string();
    assert!(refused.contains("sslmode takes disable, prefer or require"), "{refused}");
}

fn cluster_file(beside: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = beside.with_file_name(name);
    std::fs::write(&path, bytes).unwrap();
    path
}
