//! Storage of office accounts, their API tokens and browser sessions, the audit log and the
//! idempotency records of admin requests. Secrets are stored only as hashes.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shared::{DispatcherId, Timestamp};

use super::Result;

/// What an account (or one of its tokens) may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Dispatcher,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Dispatcher => "dispatcher",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is none of `viewer`, `dispatcher`, `admin`.
#[derive(Debug, thiserror::Error)]
#[error("no role {0:?} (viewer, dispatcher or admin)")]
pub struct UnknownRole(pub String);

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "dispatcher" => Ok(Role::Dispatcher),
            "admin" => Ok(Role::Admin),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

/// How a request proved who it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Via {
    /// An API token (its id, never its secret).
    Token { token_id: String },
    /// A browser session (after a login with the password).
    Session,
    /// The server's own command line (`onsite-server user ...`).
    Cli,
}

impl Via {
    /// The short form kept in the audit log.
    pub fn label(&self) -> String {
        match self {
            Via::Token { token_id } => format!("token:{token_id}"),
            Via::Session => "session".into(),
            Via::Cli => "cli".into(),
        }
    }
}

/// Who made a request to the dispatcher endpoint, with the role in force for it: the lower of the
/// account's role and its token's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub account: DispatcherId,
    pub login: String,
    pub name: String,
    pub role: Role,
    pub via: Via,
}

/// An account as shown to admins (never its password hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Account {
    pub id: DispatcherId,
    pub login: String,
    pub name: String,
    pub role: Role,
    /// Whether a password is set (accounts for integrations may have tokens only).
    pub has_password: bool,
    pub created_at: shared::Timestamp,
    pub disabled_at: Option<shared::Timestamp>,
}

/// An API token as listed (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub account_id: DispatcherId,
    pub name: String,
    pub role: Role,
    pub created_at: shared::Timestamp,
    pub expires_at: Option<shared::Timestamp>,
    pub last_used_at: Option<shared::Timestamp>,
    pub revoked_at: Option<shared::Timestamp>,
}

#[derive(Clone, Debug)]
pub struct NewAccount {
    pub login: String,
    pub name: String,
    pub role: Role,
    pub password_hash: Option<String>,
}

/// Changes to an account; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct AccountPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub password_hash: Option<String>,
    /// `Some(true)` disables the account (its sessions end, its tokens stop working);
    /// `Some(false)` enables it again.
    pub disabled: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct NewToken {
    pub account: DispatcherId,
    pub name: String,
    pub role: Role,
    pub token_hash: String,
    pub expires_at: Option<Timestamp>,
}

/// One change made through the dispatcher endpoint, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Increasing; page with `before`.
    pub id: i64,
    #[serde(flatten)]
    pub entry: NewAuditEntry,
}

/// One change made through the dispatcher endpoint (before it is stored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewAuditEntry {
    pub at: Timestamp,
    pub account_id: Option<DispatcherId>,
    pub login: String,
    /// `session`, `token:<id>`, `cli` or `server`.
    pub via: String,
    /// The client's address (behind a declared proxy: the address the proxy saw).
    pub remote: Option<String>,
    pub method: String,
    /// The route's pattern (`/admin/v1/jobs/{id}/{action}`).
    pub route: String,
    pub path: String,
    pub status: u16,
    /// What was changed, as ids and action names: never customers' personal data, so the log
    /// outlives erasure without keeping what was erased.
    pub detail: Option<serde_json::Value>,
}

impl NewAuditEntry {
    /// A change made on the server's own side (its command line, the retention sweep): no account
    /// and no client address; `what` stands for the method, route and path.
    pub fn internal(login: impl Into<String>, via: &str, what: &str, detail: serde_json::Value) -> Self {
        NewAuditEntry {
            at: Timestamp::now(),
            account_id: None,
            login: login.into(),
            via: via.into(),
            remote: None,
            method: via.to_uppercase(),
            route: what.into(),
            path: what.into(),
            status: 200,
            detail: Some(detail),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub account: Option<DispatcherId>,
    /// Entries older than this id.
    pub before: Option<i64>,
    pub limit: u32,
}

/// A response kept for an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What a request with an idempotency key finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// First use of the key: go ahead (the key is now taken by this request).
    Proceed,
    /// The same request already finished: answer with its response.
    Replay(StoredResponse),
    /// The same request is still running.
    InFlight,
    /// The key was used for a different request.
    Mismatch,
}

#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Fails with `Conflict` when the login is taken.
    async fn create_account(&self, a: NewAccount) -> Result<Account>;
    async fn accounts(&self) -> Result<Vec<Account>>;
    async fn account(&self, id: DispatcherId) -> Result<Option<Account>>;
    /// The account and its password hash.
    async fn account_by_login(&self, login: &str) -> Result<Option<(Account, Option<String>)>>;
    /// Fails with `NotFound`. Disabling also ends the account's sessions.
    async fn update_account(&self, id: DispatcherId, patch: AccountPatch) -> Result<Account>;

    async fn create_token(&self, t: NewToken) -> Result<ApiToken>;
    async fn tokens_of(&self, account: DispatcherId) -> Result<Vec<ApiToken>>;
    async fn token(&self, id: &str) -> Result<Option<ApiToken>>;
    /// Whether an unrevoked token was revoked.
    async fn revoke_token(&self, id: &str, at: Timestamp) -> Result<bool>;
    /// Who an unrevoked, unexpired token of an enabled account belongs to (and notes its use,
    /// at most once a minute).
    async fn actor_by_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<Actor>>;

    async fn create_session(&self, token_hash: &str, account: DispatcherId, expires_at: Timestamp) -> Result<()>;
    async fn actor_by_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Actor>>;
    async fn end_session(&self, token_hash: &str) -> Result<()>;
}

#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    async fn append_audit(&self, e: NewAuditEntry) -> Result<()>;
    /// Newest first.
    async fn audit(&self, q: AuditQuery) -> Result<Vec<AuditEntry>>;

    /// Takes `key` for `account`'s request with `fingerprint`, or says what holds it. Keys older
    /// than `expire_before` are forgotten first.
    async fn idempotency_begin(
        &self,
        account: DispatcherId,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
        expire_before: Timestamp,
    ) -> Result<Idempotency>;
    /// Keeps the response of the request that took `key`.
    async fn idempotency_finish(&self, account: DispatcherId, key: &str, response: StoredResponse) -> Result<()>;
    /// Frees `key` (the request failed in a way a retry may fix).
    async fn idempotency_release(&self, account: DispatcherId, key: &str) -> Result<()>;
}
