//! Office accounts over the API: logging in and out (browser sessions), accounts (admins), API
//! tokens (shown once; an admin manages anyone's, others their own), and the audit log.
//!
//! The same operations back the server's command line (`onsite-server user ...`), which is how
//! the first admin is made.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shared::{DispatcherId, Timestamp};

use crate::AppState;
use crate::accounts::{Account, AccountError, ApiToken, Role, check_login, check_name, decoy_hash, hash_password, verify_password};
use crate::audit::AuditDetail;
use crate::auth::{hash_secret, new_token};
use crate::body::AppJson;
use crate::client::ClientAddr;
use crate::error::{AppError, AppResult};
use crate::idempotency::SecretAnswer;
use crate::staff::{AdminAuth, SESSION_COOKIE, SESSION_HOURS, TOKEN_PREFIX, ViewerAuth, session_cookie};
use crate::store::accounts::{AccountPatch, AuditEntry, AuditQuery, NewAccount, NewAuditEntry, NewToken};

impl From<AccountError> for AppError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(m) => AppError::Unprocessable(m),
            AccountError::Hash(m) => AppError::Internal(anyhow::anyhow!(m)),
        }
    }
}

/// Hashes on the CPU pool: Argon2 is deliberately slow and must not hold an async worker.
async fn hashed(state: &AppState, password: String) -> AppResult<String> {
    Ok(state.passwords.run(move || hash_password(&password)).await.map_err(|e| anyhow::anyhow!(e))??)
}

/// Makes an account (the command line and `POST /admin/v1/accounts`).
pub async fn create_account(state: &AppState, login: &str, name: &str, role: Role, password: Option<String>) -> AppResult<Account> {
    let login = check_login(login)?;
    let name = check_name(name)?;
    let password_hash = match password {
        Some(p) => Some(hashed(state, p).await?),
        None => None,
    };
    Ok(state.accounts.create_account(NewAccount { login, name, role, password_hash }).await?)
}

/// A new API token: the secret is in the answer and nowhere else.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    /// Shown once; the server keeps only its hash.
    pub token: String,
    #[serde(flatten)]
    pub info: ApiToken,
}

/// Issues a token for `account` with at most its role, and at most `cap` (the role in force for
/// whoever asks: a viewer-scoped token of an admin account mints viewer tokens, not admin ones).
pub async fn issue_token(
    state: &AppState,
    account: &Account,
    name: &str,
    role: Option<Role>,
    expires_in_days: Option<u32>,
    cap: Role,
) -> AppResult<IssuedToken> {
    let name = check_name(name)?;
    let most = account.role.min(cap);
    let role = role.unwrap_or(most);
    if role > most {
        return Err(AppError::Forbidden(format!(
            "a token cannot do more than its account ({} is {}) or than the one asking for it ({cap})",
            account.login, account.role
        )));
    }
    if expires_in_days == Some(0) || expires_in_days.is_some_and(|d| d > 3650) {
        return Err(AppError::Unprocessable("expires_in_days is 1 to 3650 (or absent: no expiry)".into()));
    }
    let token = new_token(TOKEN_PREFIX);
    let expires_at = expires_in_days.map(|d| Timestamp::now().plus_minutes(i64::from(d) * 24 * 60));
    let info =
        state.accounts.create_token(NewToken { account: account.id, name, role, token_hash: hash_secret(&token), expires_at }).await?;
    Ok(IssuedToken { token, info })
}

// --- sessions ---

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub login: String,
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub account_id: DispatcherId,
    pub login: String,
    pub name: String,
    pub role: Role,
}

fn session_set_cookie(secret: &str, max_age_s: i64) -> HeaderValue {
    let c = cookie::Cookie::build((SESSION_COOKIE, secret.to_owned()))
        .path("/")
        .http_only(true)
        .secure(true)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(max_age_s))
        .build();
    HeaderValue::from_str(&c.to_string()).expect("cookie text is a header value")
}

/// Log in with a password; the session lives in an HttpOnly cookie (12 hours).
#[utoipa::path(post, path = "/admin/v1/session", tag = "session", request_body = Login,
    responses((status = 200, description = "logged in; the session cookie is set", body = Me)))]
pub async fn login(
    State(state): State<AppState>,
    addr: Option<axum::Extension<ClientAddr>>,
    AppJson(body): AppJson<Login>,
) -> AppResult<Response> {
    let addr = addr.map(|a| a.0);
    // Every attempt counts, right or wrong: passwords are guessable, tokens are not.
    crate::client::auth_attempt(&state, addr).await?;
    let login = body.login.trim().to_lowercase();
    let found = if login.len() <= 64 { state.accounts.account_by_login(&login).await? } else { None };
    let (account, hash) = match found {
        Some((a, Some(h))) if a.disabled_at.is_none() => (Some(a), h),
        _ => (None, decoy_hash().to_owned()),
    };
    let password = body.password;
    let matches = state.passwords.run(move || verify_password(&password, &hash)).await.map_err(|e| anyhow::anyhow!(e))?;
    let audit = |account: Option<&Account>, status: u16| NewAuditEntry {
        at: Timestamp::now(),
        account_id: account.map(|a| a.id),
        // An unknown login is not written down: people sometimes type their password there.
        login: account.map_or_else(|| "(unknown login)".to_owned(), |a| a.login.clone()),
        via: "session".into(),
        remote: addr.map(|a| a.to_string()),
        method: "POST".into(),
        route: "/admin/v1/session".into(),
        path: "/admin/v1/session".into(),
        status,
        detail: None,
    };
    let known = account.clone();
    let Some(account) = account.filter(|_| matches) else {
        state.audit.append_audit(audit(known.as_ref(), 401)).await?;
        return Err(AppError::BadLogin);
    };
    let secret = new_token("oss_");
    let expires_at = Timestamp::now().plus_minutes(SESSION_HOURS * 60);
    state.accounts.create_session(&hash_secret(&secret), account.id, expires_at).await?;
    state.audit.append_audit(audit(Some(&account), 200)).await?;
    let me = Me { account_id: account.id, login: account.login, name: account.name, role: account.role };
    let mut resp = AppJson(me).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, session_set_cookie(&secret, SESSION_HOURS * 3600));
    Ok(resp)
}

/// Who is logged in (or whose token this is), and with which role.
#[utoipa::path(get, path = "/admin/v1/session", tag = "session", responses((status = 200, body = Me)))]
pub async fn me(who: ViewerAuth) -> AppJson<Me> {
    AppJson(Me { account_id: who.account, login: who.login.clone(), name: who.name.clone(), role: who.role })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoggedOut {
    pub logged_out: bool,
}

/// Log out (the session ends on the server, the cookie is cleared).
#[utoipa::path(delete, path = "/admin/v1/session", tag = "session", responses((status = 200, body = LoggedOut)))]
pub async fn logout(State(state): State<AppState>, _who: ViewerAuth, headers: HeaderMap) -> AppResult<Response> {
    if let Some(secret) = session_cookie(&headers) {
        state.accounts.end_session(&hash_secret(&secret)).await?;
    }
    let mut resp = AppJson(LoggedOut { logged_out: true }).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, session_set_cookie("", 0));
    Ok(resp)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PasswordChanged {
    pub changed: bool,
}

/// Change one's own password (one's other sessions end).
#[utoipa::path(put, path = "/admin/v1/session/password", tag = "session", request_body = PasswordChange,
    responses((status = 200, body = PasswordChanged)))]
pub async fn change_own_password(
    State(state): State<AppState>,
    who: ViewerAuth,
    addr: Option<axum::Extension<ClientAddr>>,
    AppJson(body): AppJson<PasswordChange>,
) -> AppResult<AppJson<PasswordChanged>> {
    // Guesses at the current password count like login attempts.
    crate::client::auth_attempt(&state, addr.map(|a| a.0)).await?;
    let (_, hash) = state.accounts.account_by_login(&who.login).await?.ok_or_else(|| AppError::NotFound("no such account".into()))?;
    let hash = hash.unwrap_or_else(|| decoy_hash().to_owned());
    let current = body.current;
    if !state.passwords.run(move || verify_password(&current, &hash)).await.map_err(|e| anyhow::anyhow!(e))? {
        return Err(AppError::Forbidden("the current password is wrong (当前密码错误)".into()));
    }
    let password_hash = Some(hashed(&state, body.new).await?);
    state.accounts.update_account(who.account, AccountPatch { password_hash, ..AccountPatch::default() }).await?;
    Ok(AppJson(PasswordChanged { changed: true }))
}

// --- accounts (admins) ---

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountBody {
    pub login: String,
    pub name: String,
    pub role: Role,
    /// Absent: an account for an integration, with tokens only.
    pub password: Option<String>,
}

/// Every office account.
#[utoipa::path(get, path = "/admin/v1/accounts", tag = "accounts", responses((status = 200, body = Vec<Account>)))]
pub async fn list_accounts(State(state): State<AppState>, _who: AdminAuth) -> AppResult<AppJson<Vec<Account>>> {
    Ok(AppJson(state.accounts.accounts().await?))
}

/// Add an office account (without a password: an account for an integration, with tokens only).
#[utoipa::path(post, path = "/admin/v1/accounts", tag = "accounts", request_body = NewAccountBody,
    responses((status = 200, body = Account)))]
pub async fn post_account(
    State(state): State<AppState>,
    _who: AdminAuth,
    AppJson(body): AppJson<NewAccountBody>,
) -> AppResult<(AuditDetail, AppJson<Account>)> {
    let account = create_account(&state, &body.login, &body.name, body.role, body.password).await?;
    Ok((AuditDetail(serde_json::json!({ "account": account.id, "role": account.role })), AppJson(account)))
}

fn account_id(id: &str) -> AppResult<DispatcherId> {
    id.parse().map_err(|_| AppError::BadRequest(format!("not an account id: {id}")))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountChange {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub password: Option<String>,
    pub disabled: Option<bool>,
}

/// Change an account's name, role, password or whether it is disabled. The last enabled admin
/// cannot be demoted or disabled (nobody could manage accounts any more).
#[utoipa::path(patch, path = "/admin/v1/accounts/{id}", tag = "accounts", params(("id" = DispatcherId, Path, description = "the account")),
    request_body = AccountChange, responses((status = 200, body = Account)))]
pub async fn patch_account(
    State(state): State<AppState>,
    _who: AdminAuth,
    Path(id): Path<String>,
    AppJson(body): AppJson<AccountChange>,
) -> AppResult<(AuditDetail, AppJson<Account>)> {
    let id = account_id(&id)?;
    let current = state.accounts.account(id).await?.ok_or_else(|| AppError::NotFound(format!("no account {id}")))?;
    let loses_admin = current.role == Role::Admin
        && current.disabled_at.is_none()
        && (body.role.is_some_and(|r| r != Role::Admin) || body.disabled == Some(true));
    if loses_admin {
        let admins = state.accounts.accounts().await?.iter().filter(|a| a.role == Role::Admin && a.disabled_at.is_none()).count();
        if admins <= 1 {
            return Err(AppError::Conflict("this is the last admin: make another admin first (这是最后一个管理员)".into()));
        }
    }
    let patch = AccountPatch {
        name: body.name.as_deref().map(check_name).transpose()?,
        role: body.role,
        password_hash: match body.password {
            Some(p) => Some(hashed(&state, p).await?),
            None => None,
        },
        disabled: body.disabled,
    };
    let changed: Vec<&str> = [
        body.name.is_some().then_some("name"),
        body.role.is_some().then_some("role"),
        patch.password_hash.is_some().then_some("password"),
        body.disabled.is_some().then_some("disabled"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let detail = serde_json::json!({ "account": id, "changed": changed, "role": body.role, "disabled": body.disabled });
    let account = state.accounts.update_account(id, patch).await?;
    Ok((AuditDetail(detail), AppJson(account)))
}

// --- tokens ---

/// The account `id` if `who` may manage its tokens: admins any, others their own.
async fn token_owner(state: &AppState, who: &ViewerAuth, id: DispatcherId) -> AppResult<Account> {
    if who.role < Role::Admin && who.account != id {
        return Err(AppError::Forbidden("only admins manage other accounts' tokens".into()));
    }
    state.accounts.account(id).await?.ok_or_else(|| AppError::NotFound(format!("no account {id}")))
}

/// An account's API tokens (never their secrets). Admins see anyone's, others their own.
#[utoipa::path(get, path = "/admin/v1/accounts/{id}/tokens", tag = "accounts", params(("id" = DispatcherId, Path, description = "the account")),
    responses((status = 200, body = Vec<ApiToken>)))]
pub async fn list_tokens(State(state): State<AppState>, who: ViewerAuth, Path(id): Path<String>) -> AppResult<AppJson<Vec<ApiToken>>> {
    let account = token_owner(&state, &who, account_id(&id)?).await?;
    Ok(AppJson(state.accounts.tokens_of(account.id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    pub name: String,
    /// At most the account's role (its role when absent).
    pub role: Option<Role>,
    /// 1 to 3650; never expires when absent.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

/// Issue an API token; its secret is in this answer only.
#[utoipa::path(post, path = "/admin/v1/accounts/{id}/tokens", tag = "accounts", params(("id" = DispatcherId, Path, description = "the account")),
    request_body = NewTokenBody, responses((status = 200, body = IssuedToken)))]
pub async fn post_token(
    State(state): State<AppState>,
    who: ViewerAuth,
    Path(id): Path<String>,
    AppJson(body): AppJson<NewTokenBody>,
) -> AppResult<(SecretAnswer, AuditDetail, AppJson<IssuedToken>)> {
    let account = token_owner(&state, &who, account_id(&id)?).await?;
    let issued = issue_token(&state, &account, &body.name, body.role, body.expires_in_days, who.role).await?;
    Ok((
        SecretAnswer,
        AuditDetail(serde_json::json!({ "account": account.id, "token": issued.info.id, "role": issued.info.role })),
        AppJson(issued),
    ))
}

/// A token `who` may revoke or rotate: their own account's (or, for admins, anyone's), and no
/// stronger than the role `who` acts with.
async fn owned_token(state: &AppState, who: &ViewerAuth, id: &str) -> AppResult<(Account, ApiToken)> {
    let token = state.accounts.token(id).await?.ok_or_else(|| AppError::NotFound(format!("no token {id}")))?;
    let account = token_owner(state, who, token.account_id).await?;
    if token.role > who.role {
        return Err(AppError::Forbidden(format!("token {id} can do more ({}) than you act with here ({})", token.role, who.role)));
    }
    Ok((account, token))
}

/// Revoke a token (it stops working at once).
#[utoipa::path(post, path = "/admin/v1/tokens/{id}/revoke", tag = "accounts", params(("id" = String, Path, description = "the token's id")),
    responses((status = 200, body = ApiToken)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    who: ViewerAuth,
    Path(id): Path<String>,
) -> AppResult<(AuditDetail, AppJson<ApiToken>)> {
    let (_, token) = owned_token(&state, &who, &id).await?;
    if !state.accounts.revoke_token(&token.id, Timestamp::now()).await? {
        return Err(AppError::Conflict(format!("token {id} is already revoked")));
    }
    let token = state.accounts.token(&id).await?.ok_or_else(|| AppError::NotFound(format!("no token {id}")))?;
    Ok((AuditDetail(serde_json::json!({ "token": token.id })), AppJson(token)))
}

/// A new secret with the same name, role and lifetime; the old one stops working at once.
#[utoipa::path(post, path = "/admin/v1/tokens/{id}/rotate", tag = "accounts", params(("id" = String, Path, description = "the token's id")),
    responses((status = 200, body = IssuedToken)))]
pub async fn rotate_token(
    State(state): State<AppState>,
    who: ViewerAuth,
    Path(id): Path<String>,
) -> AppResult<(SecretAnswer, AuditDetail, AppJson<IssuedToken>)> {
    let (account, old) = owned_token(&state, &who, &id).await?;
    if old.revoked_at.is_some() {
        return Err(AppError::Conflict(format!("token {id} is revoked; issue a new one")));
    }
    let days = old.expires_at.map(|e| (e.0 - old.created_at.0).div_euclid(Timestamp::DAY).clamp(1, 3650) as u32);
    // Revoked first: of two rotations at once, one wins and the other is refused, never two
    // successors alive.
    if !state.accounts.revoke_token(&old.id, Timestamp::now()).await? {
        return Err(AppError::Conflict(format!("token {id} was revoked meanwhile")));
    }
    let issued = issue_token(&state, &account, &old.name, Some(old.role.min(account.role)), days, who.role).await?;
    Ok((SecretAnswer, AuditDetail(serde_json::json!({ "token": old.id, "replaced_by": issued.info.id })), AppJson(issued)))
}

// --- audit ---

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Only this account's entries.
    pub account: Option<DispatcherId>,
    /// Entries older than this entry id (the next page).
    pub before: Option<i64>,
    /// 1 to 500 (100 when absent).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// The audit log, newest first; page with `before=<id>`.
#[utoipa::path(get, path = "/admin/v1/audit", tag = "accounts", params(AuditParams), responses((status = 200, body = Vec<AuditEntry>)))]
pub async fn audit_log(
    State(state): State<AppState>,
    _who: AdminAuth,
    q: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> AppResult<AppJson<Vec<AuditEntry>>> {
    let Query(q) = q.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let account = q.account;
    let limit = q.limit.unwrap_or(100);
    if !(1..=super::PAGE_MAX as u32).contains(&limit) {
        return Err(AppError::BadRequest(format!("limit must be 1..={}", super::PAGE_MAX)));
    }
    Ok(AppJson(state.audit.audit(AuditQuery { account, before: q.before, limit }).await?))
}
