//! The audit log: every change made through the dispatcher endpoint (who, when, from where,
//! which route, with what outcome), written after the response is ready. Handlers may say what
//! they changed with an [`AuditDetail`] (ids and action names, never customers' personal data).

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponseParts, Response, ResponseParts};
use shared::Timestamp;

use crate::AppState;
use crate::accounts::Actor;
use crate::client::ClientAddr;
use crate::store::accounts::NewAuditEntry;

/// What a handler changed, for the audit log (returned as part of its response).
#[derive(Clone, Debug)]
pub struct AuditDetail(pub serde_json::Value);

impl IntoResponseParts for AuditDetail {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        res.extensions_mut().insert(self);
        Ok(res)
    }
}

/// Middleware (inside `staff::authenticate`): records each request that may change something.
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS) {
        return next.run(req).await;
    }
    let actor = req.extensions().get::<Actor>().cloned();
    let remote = req.extensions().get::<ClientAddr>().map(ToString::to_string);
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| req.uri().path().to_owned(), |m| m.as_str().to_owned());
    let (method, path) = (req.method().to_string(), req.uri().path().to_owned());
    let mut resp = next.run(req).await;
    let Some(actor) = actor else { return resp };
    let entry = NewAuditEntry {
        at: Timestamp::now(),
        account_id: Some(actor.account),
        login: actor.login,
        via: actor.via.label(),
        remote,
        method,
        route,
        path,
        status: resp.status().as_u16(),
        detail: resp.extensions_mut().remove::<AuditDetail>().map(|d| d.0),
    };
    // The change stands either way; answering 500 for it would invite a retry that makes it
    // twice. Operators see the failure in the server's log.
    if let Err(e) = state.audit.append_audit(entry).await {
        tracing::error!(error = %e, "audit log write failed for a change that was made");
    }
    resp
}
