//! The HTTP side of the protocol: paths, headers, the content type and the error envelope, named
//! once for the client and the server (so neither can drift from the other).

use serde::{Deserialize, Serialize};

/// `POST`: trade a one-time code for a device token (JSON).
pub const PAIR_PATH: &str = "/v1/pair";
/// `POST`: one sync round (a [`super::SyncRequest`] body, [`SYNC_CONTENT_TYPE`]).
pub const SYNC_PATH: &str = "/v1/sync";
/// `HEAD` / `PATCH` / `GET` one blob; the route template, with `{hash}` in it.
pub const BLOB_ROUTE: &str = "/v1/blobs/{hash}";

/// `GET`: earlier jobs on the same appliance as an assigned job (JSON list of [`PastJob`]): what a
/// technician looks up online once old jobs have left the phone.
pub const HISTORY_ROUTE: &str = "/v1/jobs/{id}/history";

pub fn history_path(job: crate::JobId) -> String {
    format!("/v1/jobs/{job}/history")
}

/// An earlier job on an appliance, as the server's index keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PastJob {
    pub job: crate::JobId,
    /// Milliseconds: phones already installed read this answer's times as integers.
    #[serde(with = "crate::time::millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub created_at: crate::Timestamp,
    pub status: String,
    pub brand: String,
    pub model: String,
    pub serial: String,
    /// The cause the service report gave.
    pub cause: String,
    #[serde(with = "crate::time::millis::option", default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub completed_at: Option<crate::Timestamp>,
}

/// The path of one blob.
pub fn blob_path(hash: &crate::BlobHash) -> String {
    format!("/v1/blobs/{hash}")
}

/// The sync body's media type.
pub const SYNC_CONTENT_TYPE: &str = "application/x-onsite-sync";

/// The job a blob belongs to (its uploader must be allowed to write that job).
pub const JOB_HEADER: &str = "onsite-job";
/// Bytes of the blob the server holds / where this upload's bytes start.
pub const UPLOAD_OFFSET_HEADER: &str = "upload-offset";
/// The blob's whole length, declared with every upload request.
pub const UPLOAD_LENGTH_HEADER: &str = "upload-length";
/// `1` once the blob is complete, verified and durable; `0` before.
pub const UPLOAD_COMPLETE_HEADER: &str = "upload-complete";

/// A proof that the uploader holds a blob's bytes, for a blob the server already holds through
/// another job: a job may read only the blobs it uploaded (or proved), so knowing a photo's hash
/// is never enough to read it. On `HEAD`, `required` asks for one; on `PATCH` (empty body) it
/// carries [`blob_proof`].
pub const PROOF_HEADER: &str = "onsite-blob-proof";
/// The value of [`PROOF_HEADER`] on a `HEAD` answer that asks for a proof.
pub const PROOF_REQUIRED: &str = "required";

/// What proves possession of `bytes` for `job`: bound to the job, so a proof seen once cannot
/// open the blob through another job.
pub fn blob_proof(job: crate::JobId, bytes: &[u8]) -> String {
    let mut h = blake3::Hasher::new_derive_key("OnSite 2026-12 blob possession proof v1");
    h.update(job.to_string().as_bytes());
    h.update(bytes);
    h.finalize().to_hex().to_string()
}

/// Every error response: `{"error": {"code": ..., "message": ...}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub code: ErrorCode,
    /// For people; software reads the code.
    pub message: String,
}

impl ErrorEnvelope {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { error: ErrorBody { code, message: message.into() } }
    }
}

/// The machine-readable reason of an error response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No `Authorization: Bearer` header.
    NoToken,
    /// The token is unknown, revoked or deactivated: pair again.
    BadToken,
    /// Wrong login or password (or a disabled account).
    BadLogin,
    Forbidden,
    NotFound,
    BadRequest,
    Conflict,
    TooLarge,
    Unprocessable,
    /// The route exists but not with this method (`Allow` lists those it takes).
    MethodNotAllowed,
    /// Slow down; `Retry-After` says for how long.
    RateLimited,
    Internal,
    /// A code this build does not know (a newer server): read the status and the message.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NoToken => "no_token",
            ErrorCode::BadToken => "bad_token",
            ErrorCode::BadLogin => "bad_login",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Unprocessable => "unprocessable",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_they_are_written_and_unknown_ones_still_parse() {
        for code in [ErrorCode::NoToken, ErrorCode::BadToken, ErrorCode::RateLimited, ErrorCode::TooLarge] {
            let json = serde_json::to_string(&ErrorEnvelope::new(code, "x")).unwrap();
            assert!(json.contains(&format!("\"{code}\"")), "{json}");
            assert_eq!(serde_json::from_str::<ErrorEnvelope>(&json).unwrap().error.code, code);
        }
        let newer: ErrorEnvelope = serde_json::from_str(r#"{"error":{"code":"quota_exceeded","message":"m"}}"#).unwrap();
        assert_eq!(newer.error.code, ErrorCode::Unknown);
    }
}
