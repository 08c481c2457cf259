//! The blob backends keep one contract: the same scenarios run against blobs in files and blobs
//! in a real S3-compatible server (moto, on loopback). The S3 backend's own recoveries (pieces
//! that do not line up, an object changed in the bucket) follow.

use object_store::ObjectStoreExt;
use onsite_server::blobs::{Appended, BLOB_BYTES_MAX, BlobError, BlobStatus, BlobStore, FsBlobStore};
use onsite_server::{S3BlobStore, S3Settings};
use onsite_tests::s3::{Moto, make_bucket, settings};
use shared::BlobHash;

/// Every scenario, in order, on one store.
async fn contract(s: &dyn BlobStore, backend: &str) {
    one_request_publishes(s).await;
    resumes_where_it_stopped(s).await;
    only_the_upload_that_sent_every_byte_publishes(s).await;
    wrong_bytes_are_refused_and_the_upload_starts_over(s).await;
    a_new_declared_length_starts_over(s).await;
    erasure_deletes_blobs_and_uploads(s).await;
    eprintln!("blob contract held on {backend}");
}

fn bytes(tag: &str, n: usize) -> (Vec<u8>, BlobHash, u64) {
    let b = tag.as_bytes().iter().cycle().take(n).copied().collect::<Vec<u8>>();
    let h = BlobHash::of(&b);
    let len = b.len() as u64;
    (b, h, len)
}

async fn one_request_publishes(s: &dyn BlobStore) {
    let (b, h, total) = bytes("a whole photo ", 300_000);
    assert_eq!(s.status(&h, "job-1").await.unwrap(), BlobStatus::Missing);
    assert_eq!(s.get(&h).await.unwrap(), None);
    let a = s.append(&h, "job-1", 0, total, &b).await.unwrap();
    assert_eq!(a, Appended { status: BlobStatus::Complete { size: total }, published: true });
    assert_eq!(s.get(&h).await.unwrap().as_deref(), Some(&b[..]));
    assert_eq!(s.status(&h, "job-2").await.unwrap(), BlobStatus::Complete { size: total }, "complete for every job");
    // Sending it again proves nothing: already there.
    assert!(!s.append(&h, "job-2", 0, total, &b).await.unwrap().published);
    assert!(matches!(s.append(&h, "job-1", 0, BLOB_BYTES_MAX + 1, &b).await, Err(BlobError::TooLarge(_))));
}

async fn resumes_where_it_stopped(s: &dyn BlobStore) {
    let (b, h, total) = bytes("three pieces ", 250_000);
    let (p1, p2) = (100_000u64, 200_000u64);
    let a = s.append(&h, "job-3", 0, total, &b[..p1 as usize]).await.unwrap();
    assert_eq!(a.status, BlobStatus::Partial { offset: p1, total });
    // The connection dropped: the phone asks where to go on.
    assert_eq!(s.status(&h, "job-3").await.unwrap(), BlobStatus::Partial { offset: p1, total });
    match s.append(&h, "job-3", 0, total, &b[..p1 as usize]).await {
        Err(BlobError::WrongOffset { given: 0, expected }) => assert_eq!(expected, p1),
        other => panic!("a repeated piece is refused with where to resume: {other:?}"),
    }
    assert!(matches!(s.append(&h, "job-3", p1, total, &[0; 200_000]).await, Err(BlobError::PastEnd { .. })));
    assert_eq!(s.status(&h, "job-3").await.unwrap(), BlobStatus::Partial { offset: p1, total }, "refusals change nothing");
    s.append(&h, "job-3", p1, total, &b[p1 as usize..p2 as usize]).await.unwrap();
    assert_eq!(s.get(&h).await.unwrap(), None, "nothing is readable before it is whole");
    let a = s.append(&h, "job-3", p2, total, &b[p2 as usize..]).await.unwrap();
    assert_eq!(a, Appended { status: BlobStatus::Complete { size: total }, published: true });
    assert_eq!(s.get(&h).await.unwrap().unwrap(), b);
}

async fn only_the_upload_that_sent_every_byte_publishes(s: &dyn BlobStore) {
    let (b, h, total) = bytes("someone else's photo ", 5_000);
    // Job a uploads all but the end; job b knows the hash and the length, nothing else.
    s.append(&h, "a", 0, total, &b[..100]).await.unwrap();
    assert_eq!(s.status(&h, "b").await.unwrap(), BlobStatus::Missing, "b sees nothing of a's upload");
    let ab = s.append(&h, "b", 0, total, &[]).await.unwrap();
    assert_eq!(ab, Appended { status: BlobStatus::Partial { offset: 0, total }, published: false });
    assert!(s.append(&h, "a", 100, total, &b[100..]).await.unwrap().published);
    assert_eq!(
        s.append(&h, "b", 0, total, &[]).await.unwrap(),
        Appended { status: BlobStatus::Complete { size: total }, published: false },
        "complete, but not b's doing"
    );
}

async fn wrong_bytes_are_refused_and_the_upload_starts_over(s: &dyn BlobStore) {
    let (b, h, total) = bytes("the real photo ", 20_000);
    let mut forged = b.clone();
    forged[15_000] ^= 1;
    s.append(&h, "job-4", 0, total, &forged[..10_000]).await.unwrap();
    assert!(matches!(s.append(&h, "job-4", 10_000, total, &forged[10_000..]).await, Err(BlobError::HashMismatch(_))));
    assert_eq!(s.get(&h).await.unwrap(), None, "nothing published");
    assert_eq!(s.status(&h, "job-4").await.unwrap(), BlobStatus::Missing, "the upload was discarded");
    assert!(s.append(&h, "job-4", 0, total, &b).await.unwrap().published);
}

async fn a_new_declared_length_starts_over(s: &dyn BlobStore) {
    let (b, h, total) = bytes("length changed ", 9_000);
    s.append(&h, "job-5", 0, total + 5, &b[..7]).await.unwrap();
    assert_eq!(s.status(&h, "job-5").await.unwrap(), BlobStatus::Partial { offset: 7, total: total + 5 });
    let a = s.append(&h, "job-5", 0, total, &b).await.unwrap();
    assert_eq!(a, Appended { status: BlobStatus::Complete { size: total }, published: true });
}

async fn erasure_deletes_blobs_and_uploads(s: &dyn BlobStore) {
    let (b, h, total) = bytes("erase me ", 4_000);
    s.append(&h, "job-6", 0, total, &b).await.unwrap();
    assert!(s.delete(&h).await.unwrap());
    assert!(!s.delete(&h).await.unwrap(), "a second delete finds nothing");
    assert_eq!(s.get(&h).await.unwrap(), None);
    // Unfinished uploads of the erased job go; another job's stay.
    let (c, hc, tc) = bytes("half sent ", 4_000);
    s.append(&hc, "job-6", 0, tc, &c[..1_000]).await.unwrap();
    s.append(&hc, "job-7", 0, tc, &c[..2_000]).await.unwrap();
    s.append(&hc, "job-60", 0, tc, &c[..3_000]).await.unwrap();
    assert!(s.discard_uploads_of("job-6").await.unwrap() >= 1);
    assert_eq!(s.status(&hc, "job-6").await.unwrap(), BlobStatus::Missing);
    assert_eq!(s.status(&hc, "job-7").await.unwrap(), BlobStatus::Partial { offset: 2_000, total: tc });
    assert_eq!(s.status(&hc, "job-60").await.unwrap(), BlobStatus::Partial { offset: 3_000, total: tc }, "a key that starts alike");
}

#[tokio::test]
async fn files_and_s3_keep_the_same_blob_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract(&FsBlobStore::open(dir.path()).unwrap(), "files").await;

    let moto = Moto::start().await;
    make_bucket(&moto.endpoint, "contract").await;
    // Path style, under a prefix (several deployments in one bucket) and at the bucket's root.
    for prefix in ["onsite/a", ""] {
        let s3 = S3BlobStore::connect(&settings(&moto.endpoint, "contract", prefix)).await.unwrap();
        contract(&s3, &format!("S3 (prefix {prefix:?})")).await;
    }
    // Settings are logged; their secret is not.
    let secret = S3Settings { secret_access_key: Some("do-not-log-me".into()), ..settings(&moto.endpoint, "contract", "") };
    assert!(!format!("{secret:?} {:?}", onsite_server::BlobBackend::S3(secret.clone())).contains("do-not-log-me"));
    // A wrong bucket or endpoint stops the start with its reason, not at the first photo.
    let err = S3BlobStore::connect(&settings(&moto.endpoint, "no-such-bucket", "")).await.err().expect("refused").to_string();
    assert!(err.contains("no-such-bucket"), "{err}");
    let closed = format!("http://127.0.0.1:{}", std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port());
    let unreachable = S3Settings { endpoint: Some(closed), ..settings(&moto.endpoint, "contract", "") };
    assert!(S3BlobStore::connect(&unreachable).await.is_err());
}

#[tokio::test]
async fn s3_uploads_recover_from_stray_pieces_and_a_changed_object_is_never_served() {
    let moto = Moto::start().await;
    make_bucket(&moto.endpoint, "recover").await;
    let s3 = S3BlobStore::connect(&settings(&moto.endpoint, "recover", "p")).await.unwrap();
    // Written past the store, signed like any client with the bucket's keys.
    let bucket = settings(&moto.endpoint, "recover", "p").build().unwrap();
    let put = |key: String, body: Vec<u8>| {
        let bucket = &bucket;
        async move { bucket.put(&object_store::path::Path::from(format!("p/{key}")), body.into()).await.unwrap() }
    };
    let (b, h, total) = bytes("pieces ", 10_000);
    s3.append(&h, "job-1", 0, total, &b[..4_000]).await.unwrap();
    // Another instance (or a crash between writes) left a piece that overlaps the first, and a
    // key that is no piece at all: the upload starts over instead of failing forever.
    put(format!("partial/job-1/{h}/{total}/0000002000"), b[2_000..3_000].to_vec()).await;
    assert_eq!(s3.status(&h, "job-1").await.unwrap(), BlobStatus::Missing);
    put(format!("partial/job-1/{h}/not-a-length/x"), b"?".to_vec()).await;
    assert_eq!(s3.status(&h, "job-1").await.unwrap(), BlobStatus::Missing);
    assert!(s3.append(&h, "job-1", 0, total, &b).await.unwrap().published);
    // A device that sends a blob a few bytes at a time is stopped at PIECES_MAX pieces (what a
    // status lists and a publish reads stays bounded): the upload starts over, as a client that
    // is told to resume from zero does.
    let (c, hc, tc) = bytes("drip ", 1_000);
    for i in 0..onsite_blobs_s3::PIECES_MAX {
        s3.append(&hc, "job-2", i as u64, tc, &c[i..i + 1]).await.unwrap();
    }
    let n = onsite_blobs_s3::PIECES_MAX as u64;
    match s3.append(&hc, "job-2", n, tc, &c[n as usize..n as usize + 1]).await {
        Err(BlobError::WrongOffset { expected: 0, .. }) => {}
        other => panic!("the 65th piece restarts the upload: {other:?}"),
    }
    assert_eq!(s3.status(&hc, "job-2").await.unwrap(), BlobStatus::Missing);
    assert!(s3.append(&hc, "job-2", 0, tc, &c).await.unwrap().published);
    // Someone with the bucket's keys replaces the object: it is never served as the blob.
    put(format!("objects/{}/{h}", &h.as_str()[..2]), b"not the photo".to_vec()).await;
    assert!(matches!(s3.get(&h).await, Err(BlobError::HashMismatch(_))));
}
