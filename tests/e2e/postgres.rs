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
    let (a, b) = tokio::join!(PgStore::connect(&url, 4), PgStore::connect(&url, 4));
    let (a, b) = (a.unwrap(), b.unwrap());
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let version: i64 = client.query_one("SELECT version FROM onsite_schema", &[]).await.unwrap().get(0);
    assert_eq!(version, 1);

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
    let refused = PgStore::connect(&url, 2).await.err().expect("a newer schema is refused").to_string();
    assert!(refused.contains("99") && refused.contains("newer"), "{refused}");
}
