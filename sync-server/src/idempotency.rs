//! Idempotency keys on the dispatcher endpoint's POSTs (the `Idempotency-Key` header of the IETF
//! draft): a retried request with the same key gets the first response instead of making the
//! change again (a second job, a second pairing code). Keys belong to the account that sent them
//! and are kept for a day.
//!
//! - Same key, same request, first one finished: its response is replayed (`Idempotent-Replayed: true`).
//! - Same key, first one still running: 409, try again shortly.
//! - Same key, different request (method, path, query or body): 422.
//! - A first attempt that failed on the server's side (5xx) or was rate limited frees the key.
//! - An answer that carries a secret (a new token, a pairing code; the handler says so with
//!   [`SecretAnswer`]) is not kept: a retry learns that the change was made (409) and looks the
//!   result up, so no secret sits in the database.
//!
//! The request's fingerprint includes who sent it and with what role, so another token of the
//! same account never receives an answer meant for a stronger one.

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::Timestamp;

use crate::AppState;
use crate::accounts::Actor;
use crate::error::AppError;
use crate::store::accounts::{Idempotency, StoredResponse};

pub const HEADER: &str = "idempotency-key";
/// How long a key is remembered.
pub const KEEP_HOURS: i64 = 24;
/// Longest key accepted.
pub const KEY_BYTES_MAX: usize = 200;
/// Bodies read to fingerprint a request (routes with bigger bodies take photos).
const BODY_BYTES_MAX: usize = 256 * 1024;
/// Responses bigger than this are not kept (the key is freed instead).
const RESPONSE_BYTES_MAX: usize = 1024 * 1024;

/// Marks an answer that holds a secret: it is never kept for replays.
#[derive(Clone, Copy, Debug)]
pub struct SecretAnswer;

impl axum::response::IntoResponseParts for SecretAnswer {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: axum::response::ResponseParts) -> Result<axum::response::ResponseParts, Self::Error> {
        res.extensions_mut().insert(self);
        Ok(res)
    }
}

/// What is kept in place of an answer that held a secret.
const SECRET_KEPT: &str = "application/x-onsite-secret-not-kept";

fn body_limit(route: &str) -> usize {
    if route.ends_with("/customer-photos") { shared::photo::INPUT_BYTES_MAX } else { BODY_BYTES_MAX }
}

/// Middleware (inside `staff::authenticate`) for POSTs that carry a key.
pub async fn keyed(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match run(&state, req, next).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn run(state: &AppState, req: Request, next: Next) -> Result<Response, AppError> {
    if req.method() != Method::POST || !req.headers().contains_key(HEADER) {
        return Ok(next.run(req).await);
    }
    let key = req.headers().get(HEADER).and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or_default().to_owned();
    if key.is_empty() || key.len() > KEY_BYTES_MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::BadRequest(format!("Idempotency-Key is 1 to {KEY_BYTES_MAX} visible ASCII characters")));
    }
    let Some(actor) = req.extensions().get::<Actor>().cloned() else { return Ok(next.run(req).await) };
    let route = req.extensions().get::<MatchedPath>().map_or("", |m| m.as_str()).to_owned();
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, body_limit(&route))
        .await
        .map_err(|e| AppError::TooLarge(format!("the request body is larger than this route takes: {e}")))?;
    let mut h = blake3::Hasher::new_derive_key("OnSite 2026-12 idempotent request v1");
    h.update(actor.via.label().as_bytes());
    h.update(b"\0");
    h.update(actor.role.as_str().as_bytes());
    h.update(b"\0");
    h.update(parts.method.as_str().as_bytes());
    h.update(b"\0");
    h.update(parts.uri.path_and_query().map_or("", |p| p.as_str()).as_bytes());
    h.update(b"\0");
    h.update(&bytes);
    let fingerprint = h.finalize().to_hex().to_string();
    let now = Timestamp::now();
    let expire_before = now.plus_minutes(-KEEP_HOURS * 60);
    match state.audit.idempotency_begin(actor.account, &key, &fingerprint, now, expire_before).await? {
        Idempotency::Proceed => {}
        Idempotency::Replay(stored) if stored.content_type.as_deref() == Some(SECRET_KEPT) => {
            return Err(AppError::Conflict(
                "this request was already made (same Idempotency-Key); its answer held a secret, which is not kept: look the result up instead".into(),
            ));
        }
        Idempotency::Replay(stored) => return Ok(replay(stored)),
        Idempotency::InFlight => {
            return Err(AppError::Conflict("a request with this Idempotency-Key is still being processed; retry shortly".into()));
        }
        Idempotency::Mismatch => {
            return Err(AppError::Unprocessable("this Idempotency-Key was already used for a different request".into()));
        }
    }
    let resp = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let status = resp.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        state.audit.idempotency_release(actor.account, &key).await?;
        return Ok(resp);
    }
    if resp.extensions().get::<SecretAnswer>().is_some() {
        let kept = StoredResponse { status: status.as_u16(), content_type: Some(SECRET_KEPT.into()), body: Vec::new() };
        state.audit.idempotency_finish(actor.account, &key, kept).await?;
        return Ok(resp);
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, RESPONSE_BYTES_MAX).await else {
        state.audit.idempotency_release(actor.account, &key).await?;
        return Err(AppError::Internal(anyhow::anyhow!("response too large to keep for an idempotency key")));
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    state
        .audit
        .idempotency_finish(actor.account, &key, StoredResponse { status: status.as_u16(), content_type, body: bytes.to_vec() })
        .await?;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut resp = (status, stored.body).into_response();
    if let Some(ct) = stored.content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        resp.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    resp
}
