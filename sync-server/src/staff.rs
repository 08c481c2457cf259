//! The office's side of authentication: every request to the dispatcher endpoint proves an
//! account, by an API token (`Authorization: Bearer osa_...`) or a browser session (the
//! `onsite_session` cookie set at login), and handlers state the role they need by the extractor
//! they take ([`ViewerAuth`], [`DispatcherAuth`], [`AdminAuth`]).
//!
//! Browser sessions are safe from cross-site requests twice over: the cookie is `SameSite=Strict`
//! (browsers do not send it from other sites) and a change made with it must come from a page of
//! this server (`Origin`, or `Sec-Fetch-Site: same-origin`).

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::Timestamp;

use crate::AppState;
use crate::accounts::{Actor, Role};
use crate::auth::hash_secret;
use crate::client::ClientAddr;
use crate::error::AppError;

/// The browser session's cookie. `__Host-`: browsers take it only from this exact host, over
/// HTTPS, for the whole site, so a sibling subdomain cannot plant one.
pub const SESSION_COOKIE: &str = "__Host-onsite_session";
/// How long a browser session lasts after login (a working day and then some).
pub const SESSION_HOURS: i64 = 12;
/// Prefix of office API tokens.
pub const TOKEN_PREFIX: &str = "osa_";

/// The session secret in the request's cookies, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether a request made with a cookie comes from this server's own pages.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site == "same-origin";
    }
    let (Some(origin), Some(host)) = (headers.get(header::ORIGIN), headers.get(header::HOST)) else { return false };
    let (Ok(origin), Ok(host)) = (origin.to_str(), host.to_str()) else { return false };
    origin.split_once("://").is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
}

fn is_change(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware on the dispatcher endpoint's routes: resolves the [`Actor`] or answers 401.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let addr = req.extensions().get::<ClientAddr>().copied();
    let change = is_change(req.method());
    match actor_of(&state, req.headers(), change, addr).await {
        Ok(actor) => {
            req.extensions_mut().insert(actor);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

async fn actor_of(state: &AppState, headers: &HeaderMap, change: bool, addr: Option<ClientAddr>) -> Result<Actor, AppError> {
    let now = Timestamp::now();
    if headers.contains_key(header::AUTHORIZATION) {
        let token = crate::auth::bearer(headers)?;
        return match state.accounts.actor_by_token(&hash_secret(token), now).await? {
            Some(actor) => Ok(actor),
            None => {
                crate::client::auth_attempt(state, addr).await?;
                Err(AppError::BadToken)
            }
        };
    }
    let Some(secret) = session_cookie(headers) else { return Err(AppError::NoToken) };
    let Some(actor) = state.accounts.actor_by_session(&hash_secret(&secret), now).await? else {
        crate::client::auth_attempt(state, addr).await?;
        return Err(AppError::BadToken);
    };
    if change && !same_origin(headers) {
        return Err(AppError::Forbidden("a change made with a browser session must come from this server's own pages".into()));
    }
    Ok(actor)
}

/// The role a handler needs.
pub trait Needs: Send + Sync + 'static {
    const ROLE: Role;
}

/// Reading: jobs, technicians, KPIs, reports.
pub struct ReadOnly;
/// Changing jobs.
pub struct Jobs;
/// Accounts, technicians and their phones, reference data, erasure, the audit log.
pub struct Administration;

impl Needs for ReadOnly {
    const ROLE: Role = Role::Viewer;
}
impl Needs for Jobs {
    const ROLE: Role = Role::Dispatcher;
}
impl Needs for Administration {
    const ROLE: Role = Role::Admin;
}

/// An authenticated office request whose role is at least `R`'s.
pub struct Staff<R: Needs> {
    pub actor: Actor,
    need: PhantomData<R>,
}

pub type ViewerAuth = Staff<ReadOnly>;
pub type DispatcherAuth = Staff<Jobs>;
pub type AdminAuth = Staff<Administration>;

impl<R: Needs> std::ops::Deref for Staff<R> {
    type Target = Actor;

    fn deref(&self) -> &Actor {
        &self.actor
    }
}

impl<R: Needs> std::fmt::Debug for Staff<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staff").field("actor", &self.actor).field("needs", &R::ROLE).finish()
    }
}

impl<R: Needs> FromRequestParts<AppState> for Staff<R> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        // Set by `authenticate`, which runs on every route of the dispatcher endpoint.
        let actor = parts.extensions.get::<Actor>().cloned().ok_or(AppError::NoToken)?;
        if actor.role < R::ROLE {
            return Err(AppError::Forbidden(format!(
                "this needs the {} role; {} acts as {} here (需要 {} 权限)",
                R::ROLE,
                actor.login,
                actor.role,
                R::ROLE
            )));
        }
        Ok(Staff { actor, need: PhantomData })
    }
}
