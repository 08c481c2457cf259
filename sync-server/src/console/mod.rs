//! The dispatcher console at `/console`: Dioxus liveview, rendered on this server.
//!
//! Why liveview rather than a second web (wasm) build: the console is used in an office with a
//! network, so nothing needs to run offline; the screens call the same services as the API
//! (`jobs`, `views`, the stores) without a second client; a change anywhere reaches every open
//! board through the server's event channel without polling; and the browser downloads a few KB
//! of glue instead of megabytes of wasm. The page asks for the account's browser session (the
//! same login as `POST /admin/v1/session`); its socket checks the session and the page's origin.

pub mod board;
mod charts;
mod job_panel;
mod kpis;
mod map;
mod new_job;
mod qr;
mod reference;
mod shell;
mod technicians;

use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use dioxus::prelude::*;
use dioxus_liveview::{LiveViewPool, axum_socket, interpreter_glue};

use crate::AppState;
use crate::accounts::Actor;

pub const CONSOLE_PATH: &str = "/console";
const WS_PATH: &str = "/console/ws";
/// The largest message a console tab may send (a pasted reference file is the largest input).
const SOCKET_MESSAGE_MAX: usize = 2 << 20;

/// What every screen of one browser tab works with.
#[derive(Clone)]
pub struct Console {
    pub state: AppState,
    pub actor: Actor,
    /// The hash of the browser's session, checked again while the tab stays open.
    pub session: String,
    /// The page's origin (`https://host:port`), which phones reach this server at: pairing
    /// links name it.
    pub origin: String,
}

impl Console {
    /// Whether the session that opened this tab still holds (not logged out, expired, or its
    /// account disabled).
    /// (A changed role ends the tab too: it drew its screens for the old one.)
    pub async fn still_valid(&self) -> bool {
        self.current().await.is_some_and(|a| a.role == self.actor.role)
    }

    /// The account as it stands now (`None` once the session ended).
    async fn current(&self) -> Option<Actor> {
        self.state.accounts.actor_by_session(&self.session, shared::Timestamp::now()).await.ok().flatten()
    }

    /// Checked inside every action, against the account as it stands now: a role taken away or
    /// a session ended counts at once, not only when the tab next checks.
    pub async fn require(&self, role: crate::accounts::Role) -> Result<Actor, String> {
        match self.current().await {
            Some(a) if a.role >= role => Ok(a),
            Some(_) => Err(format!(
                "需要{}权限 / this needs the {role} role",
                if role >= crate::accounts::Role::Admin { "管理员" } else { "调度员" }
            )),
            None => Err("会话已结束，请重新登录 / your session ended: log in again".into()),
        }
    }

    /// Whether this account may change jobs (every action checks, not only the drawing of its button).
    pub fn can_dispatch(&self) -> bool {
        self.actor.role >= crate::accounts::Role::Dispatcher
    }

    /// Whether this account may manage technicians and reference data.
    pub fn can_admin(&self) -> bool {
        self.actor.role >= crate::accounts::Role::Admin
    }

    /// Records a change made from the console in the same audit log as the API's.
    pub async fn audit(&self, action: &str, detail: serde_json::Value) {
        let entry = crate::store::accounts::NewAuditEntry::internal(self.actor.login.clone(), "console", action, detail);
        let (audit, action) = (self.state.audit.clone(), action.to_owned());
        // On a task of its own: the screen that asked may close (and its task be dropped) right
        // after the change it records, which must not take the entry with it.
        let written = tokio::spawn(async move {
            if let Err(e) = audit.append_audit(entry).await {
                tracing::error!(error = %e, action, "a console change was made but its audit entry was not written");
            }
        });
        let _ = written.await;
    }
}

pub fn router() -> Router<AppState> {
    let pool = std::sync::Arc::new(LiveViewPool::new());
    Router::new().route(CONSOLE_PATH, get(page)).route(
        WS_PATH,
        get(move |State(state): State<AppState>, headers: HeaderMap, upgrade: WebSocketUpgrade| {
            let pool = pool.clone();
            async move {
                let Some((actor, session)) = session_actor(&state, &headers).await else {
                    return (StatusCode::UNAUTHORIZED, "log in first").into_response();
                };
                if !same_origin(&headers) {
                    tracing::warn!(origin = ?headers.get(header::ORIGIN), "refused a console socket from another origin");
                    return (StatusCode::FORBIDDEN, "this socket belongs to the console's own page").into_response();
                }
                let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()).unwrap_or_default().to_owned();
                // A screen's events are small; nothing a browser sends needs more.
                upgrade.max_message_size(SOCKET_MESSAGE_MAX).on_upgrade(move |socket| async move {
                    let make = move || VirtualDom::new(shell::ConsoleApp).with_root_context(Console { state, actor, session, origin });
                    if let Err(e) = pool.launch_virtualdom(axum_socket(socket), make).await {
                        tracing::debug!(error = ?e, "a console tab closed");
                    }
                })
            }
        }),
    )
}

/// The account the browser's session cookie names, and the session's hash.
async fn session_actor(state: &AppState, headers: &HeaderMap) -> Option<(Actor, String)> {
    let hash = crate::auth::hash_secret(&crate::staff::session_cookie(headers)?);
    let actor = state.accounts.actor_by_session(&hash, shared::Timestamp::now()).await.ok().flatten()?;
    Some((actor, hash))
}

fn same_origin(headers: &HeaderMap) -> bool {
    let (Some(origin), Some(host)) = (headers.get(header::ORIGIN), headers.get(header::HOST)) else { return false };
    let (Ok(origin), Ok(host)) = (origin.to_str(), host.to_str()) else { return false };
    origin.split_once("://").is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
}

/// The console, or the login form when the browser has no session.
async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if session_actor(&state, &headers).await.is_none() {
        return Html(LOGIN_PAGE).into_response();
    }
    Html(format!(
        r#"<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>OnSite 调度台 · Console</title>
<style>{STYLE}</style></head><body><div id="main"></div>{glue}</body></html>"#,
        glue = interpreter_glue(WS_PATH)
    ))
    .into_response()
}

const STYLE: &str = include_str!("console.css");

/// Logs in through the API's session route, then reloads into the console.
const LOGIN_PAGE: &str = r#"<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>OnSite 调度台 · Console</title>
<style>body{font:15px system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;background:#f4f6f8}
form{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002;display:grid;gap:.8rem;min-width:18rem}
input,button{font:inherit;padding:.5rem}button{background:#0b63c5;color:#fff;border:0;border-radius:4px}
#err{color:#b00020;min-height:1.2em}</style></head><body>
<form id="login"><h1>OnSite 调度台 · Console</h1>
<label>登录名 Login <input name="login" autocomplete="username" required data-testid="login"></label>
<label>密码 Password <input name="password" type="password" autocomplete="current-password" required data-testid="password"></label>
<button data-testid="log-in">登录 Log in</button><div id="err" role="alert"></div></form>
<script>
document.getElementById('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const r = await fetch('/admin/v1/session', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ login: f.get('login'), password: f.get('password') }) });
  if (r.ok) { location.reload(); return; }
  const body = await r.json().catch(() => ({}));
  document.getElementById('err').textContent = (body.error && body.error.message) || ('HTTP ' + r.status);
});
</script></body></html>"#;
