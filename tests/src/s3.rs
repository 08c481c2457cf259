//! An S3-compatible server for the tests (moto's, on loopback), and which blob backend the
//! harness's servers use: the data folder, or — with `ONSITE_TEST_S3_ENDPOINT` set, as the test
//! command's second pass does — a bucket on that endpoint, so the same end-to-end tests run
//! against both.

use std::path::Path;

use onsite_server::{BlobBackend, S3Settings};

/// The bucket the end-to-end pass on S3 uses; each server keeps its keys under its own prefix.
pub const E2E_BUCKET: &str = "onsite-e2e";

/// A moto S3 server on a loopback port, stopped when dropped.
pub struct Moto {
    pub endpoint: String,
    _child: tokio::process::Child,
}

impl Moto {
    /// Starts `moto_server` (`$MOTO_SERVER`, else from `PATH`; `scripts/prereqs.sh`'s
    /// `ensure_moto` installs it) and waits until it answers.
    pub async fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let exe = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let child = tokio::process::Command::new(&exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{exe} does not start ({e}): run scripts/test.sh, which installs it (ensure_moto)"));
        let endpoint = format!("http://127.0.0.1:{port}");
        for _ in 0..400 {
            if reqwest::get(format!("{endpoint}/moto-api/")).await.is_ok() {
                return Moto { endpoint, _child: child };
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("moto_server on port {port} did not come up in 10 s");
    }
}

/// Makes `bucket` on `endpoint` (moto takes unsigned requests; an existing bucket is kept).
pub async fn make_bucket(endpoint: &str, bucket: &str) {
    let r = reqwest::Client::new().put(format!("{endpoint}/{bucket}")).send().await.expect("the S3 server answers");
    assert!(r.status().is_success() || r.status() == 409, "creating bucket {bucket}: {}", r.status());
}

/// Settings for `bucket` on a moto `endpoint` (moto accepts any key).
pub fn settings(endpoint: &str, bucket: &str, prefix: &str) -> S3Settings {
    S3Settings {
        bucket: bucket.into(),
        endpoint: Some(endpoint.into()),
        region: None,
        virtual_hosted: false,
        prefix: prefix.into(),
        access_key_id: Some("test".into()),
        secret_access_key: Some("test".into()),
    }
}

/// The S3 endpoint of this run's S3 pass, if it is one.
pub fn e2e_endpoint() -> Option<String> {
    std::env::var("ONSITE_TEST_S3_ENDPOINT").ok().filter(|e| !e.is_empty())
}

/// Where a test server with its database in `data` keeps blobs: the same prefix for the same
/// folder, so a restarted server finds its blobs again.
pub fn backend_for(data: &Path) -> BlobBackend {
    match e2e_endpoint() {
        Some(endpoint) => BlobBackend::S3(settings(&endpoint, E2E_BUCKET, &crate::backends::name_for(data))),
        None => BlobBackend::Files,
    }
}

/// The keys under this server's prefix whose objects hold `needle`, when its blobs are in a
/// bucket (`None` when they are files: the file scan covers them).
pub async fn blob_keys_holding(data: &Path, needle: &str) -> Option<Vec<String>> {
    use futures_util::TryStreamExt;
    use object_store::{ObjectStore, ObjectStoreExt};
    let BlobBackend::S3(s3) = backend_for(data) else { return None };
    let bucket = s3.build().unwrap();
    let prefix = object_store::path::Path::from(s3.prefix.as_str());
    let metas: Vec<_> = bucket.list(Some(&prefix)).try_collect().await.unwrap();
    let mut out = Vec::new();
    for m in metas {
        let bytes = bucket.get(&m.location).await.unwrap().bytes().await.unwrap();
        if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            out.push(m.location.to_string());
        }
    }
    Some(out)
}
