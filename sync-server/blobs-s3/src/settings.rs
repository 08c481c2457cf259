//! Which bucket, where, and how to address it.

use object_store::aws::{AmazonS3, AmazonS3Builder};

/// Where the blobs go. Credentials left out are read the AWS way (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, instance metadata), so a secret need not sit in
/// a settings file or on a command line.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// The service's address, e.g. `https://oss-cn-hangzhou.aliyuncs.com`,
    /// `https://cos.ap-guangzhou.myqcloud.com`, `http://127.0.0.1:3900` (Garage); AWS when absent.
    pub endpoint: Option<String>,
    /// The region the service signs with (`us-east-1` when absent; most S3-compatible services
    /// accept any, Garage wants its own `garage`).
    pub region: Option<String>,
    /// `https://<bucket>.<endpoint>/key` rather than `https://<endpoint>/<bucket>/key`. Aliyun OSS
    /// and Tencent COS require it; MinIO, Garage, SeaweedFS and Ceph usually want path style.
    pub virtual_hosted: bool,
    /// Keys start with this (`onsite/`), so one bucket can hold several deployments.
    pub prefix: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

/// Settings get logged and put in error reports: the secret never is.
impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("virtual_hosted", &self.virtual_hosted)
            .field("prefix", &self.prefix)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "(hidden)"))
            .finish()
    }
}

impl S3Settings {
    /// A client for the bucket (the store itself, and tests that reach past it).
    pub fn build(&self) -> object_store::Result<AmazonS3> {
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&self.bucket)
            .with_region(self.region.as_deref().unwrap_or("us-east-1"))
            .with_virtual_hosted_style_request(self.virtual_hosted);
        if let Some(endpoint) = &self.endpoint {
            // Plain HTTP only when the operator wrote it (a local Garage or MinIO).
            b = b.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(k) = &self.access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(k) = &self.secret_access_key {
            b = b.with_secret_access_key(k);
        }
        b.build()
    }

    /// The endpoint as errors name it.
    pub fn endpoint_label(&self) -> &str {
        self.endpoint.as_deref().unwrap_or("AWS S3")
    }
}
