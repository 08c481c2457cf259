//! One error type for every handler: a status, a stable machine-readable code and a message a
//! person can act on, as JSON `{"error": {"code": ..., "message": ...}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::wire::http::{ErrorCode, ErrorEnvelope};

use crate::blobs::BlobError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("missing or malformed Authorization header (expected `Bearer <token>`)")]
    NoToken,
    #[error("token is not valid (unknown, revoked or deactivated)")]
    BadToken,
    #[error("login or password is wrong, or the account is disabled (登录名或密码错误)")]
    BadLogin,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("request body is too large: {0}")]
    TooLarge(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("too many requests; slow down")]
    RateLimited,
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::NoToken => ErrorCode::NoToken,
            AppError::BadToken => ErrorCode::BadToken,
            AppError::BadLogin => ErrorCode::BadLogin,
            AppError::Forbidden(_) => ErrorCode::Forbidden,
            AppError::NotFound(_) => ErrorCode::NotFound,
            AppError::BadRequest(_) => ErrorCode::BadRequest,
            AppError::Conflict(_) => ErrorCode::Conflict,
            AppError::TooLarge(_) => ErrorCode::TooLarge,
            AppError::Unprocessable(_) => ErrorCode::Unprocessable,
            AppError::RateLimited => ErrorCode::RateLimited,
            AppError::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NoToken | AppError::BadToken | AppError::BadLogin => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(e) = &self {
            tracing::error!(error = format!("{e:#}"), "internal error");
        }
        let body = ErrorEnvelope::new(self.code(), self.to_string());
        let mut resp = (self.status(), Json(body)).into_response();
        if let AppError::RateLimited = self {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
        }
        resp
    }
}

impl From<shared::edit::EditError> for AppError {
    fn from(e: shared::edit::EditError) -> Self {
        AppError::Unprocessable(e.to_string())
    }
}

impl From<shared::docs::DocError> for AppError {
    fn from(e: shared::docs::DocError) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<shared::wire::WireError> for AppError {
    fn from(e: shared::wire::WireError) -> Self {
        match e {
            shared::wire::WireError::TooLarge(_) | shared::wire::WireError::TooMany { .. } => AppError::TooLarge(e.to_string()),
            _ => AppError::BadRequest(e.to_string()),
        }
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::NoSuchJob(j) => AppError::NotFound(format!("no job {j}")),
            crate::store::StoreError::NotFound(what) => AppError::NotFound(what),
            crate::store::StoreError::Conflict(what) => AppError::Conflict(what),
            other => AppError::Internal(other.into()),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// A blob store's refusal as the API answers it.
pub(crate) fn blob_error(e: BlobError) -> AppError {
    match e {
        BlobError::WrongOffset { .. } => AppError::Conflict(e.to_string()),
        BlobError::TooLarge(_) | BlobError::PastEnd { .. } => AppError::TooLarge(e.to_string()),
        BlobError::HashMismatch(_) => AppError::Unprocessable(e.to_string()),
        BlobError::Io(_) | BlobError::Backend(_) => AppError::Internal(e.into()),
    }
}
