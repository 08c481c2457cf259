//! [`AccountStore`] and [`AuditStore`] on the embedded SQLite database.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use shared::{DispatcherId, Timestamp};

use onsite_store::accounts::{Account, Actor, ApiToken, Role, Via};
use onsite_store::accounts::{
    AccountPatch, AccountStore, AuditEntry, AuditQuery, AuditStore, Idempotency, NewAccount, NewAuditEntry, NewToken, StoredResponse,
};
use onsite_store::{Result, StoreError};

use crate::SqliteStore;
use crate::error::DbResult;

/// A request holding an idempotency key longer than this has died (no admin request runs a minute).
const IN_FLIGHT_MS_MAX: i64 = 60_000;

const ACCOUNT_COLUMNS: &str = "id, login, name, role, password_hash IS NOT NULL, created_at, disabled_at";
const TOKEN_COLUMNS: &str = "id, account_id, name, role, created_at, expires_at, last_used_at, revoked_at";

fn role_of(r: &Row<'_>, i: usize) -> rusqlite::Result<Role> {
    let s: String = r.get(i)?;
    s.parse().map_err(|e: onsite_store::accounts::UnknownRole| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    })
}

fn id_of(r: &Row<'_>, i: usize) -> rusqlite::Result<DispatcherId> {
    let s: String = r.get(i)?;
    s.parse().map_err(|_| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, format!("not an id: {s}").into()))
}

fn account_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: id_of(r, 0)?,
        login: r.get(1)?,
        name: r.get(2)?,
        role: role_of(r, 3)?,
        has_password: r.get(4)?,
        created_at: Timestamp(r.get(5)?),
        disabled_at: r.get::<_, Option<i64>>(6)?.map(Timestamp),
    })
}

fn token_row(r: &Row<'_>) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: r.get(0)?,
        account_id: id_of(r, 1)?,
        name: r.get(2)?,
        role: role_of(r, 3)?,
        created_at: Timestamp(r.get(4)?),
        expires_at: r.get::<_, Option<i64>>(5)?.map(Timestamp),
        last_used_at: r.get::<_, Option<i64>>(6)?.map(Timestamp),
        revoked_at: r.get::<_, Option<i64>>(7)?.map(Timestamp),
    })
}

fn account_by_id(c: &Connection, id: &str) -> DbResult<Option<Account>> {
    Ok(c.query_row(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1"), [id], account_row).optional()?)
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_account(&self, a: NewAccount) -> Result<Account> {
        self.call(move |c| {
            let id = DispatcherId::new();
            let inserted = c.execute(
                "INSERT INTO accounts (id, login, name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (login) DO NOTHING",
                params![id.to_string(), a.login, a.name, a.role.as_str(), a.password_hash, Timestamp::now().0],
            )?;
            if inserted == 0 {
                return Err(StoreError::Conflict(format!("the login {} is taken", a.login)).into());
            }
            Ok(account_by_id(c, &id.to_string())?.ok_or_else(|| StoreError::NotFound("the new account".into()))?)
        })
        .await
    }

    async fn accounts(&self) -> Result<Vec<Account>> {
        self.call(|c| {
            let mut stmt = c.prepare(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY login"))?;
            let rows = stmt.query_map([], account_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn account(&self, id: DispatcherId) -> Result<Option<Account>> {
        self.call(move |c| account_by_id(c, &id.to_string())).await
    }

    async fn account_by_login(&self, login: &str) -> Result<Option<(Account, Option<String>)>> {
        let login = login.to_owned();
        self.call(move |c| {
            Ok(c.query_row(&format!("SELECT {ACCOUNT_COLUMNS}, password_hash FROM accounts WHERE login = ?1"), [login], |r| {
                Ok((account_row(r)?, r.get(7)?))
            })
            .optional()?)
        })
        .await
    }

    async fn update_account(&self, id: DispatcherId, patch: AccountPatch) -> Result<Account> {
        self.call(move |c| {
            let tx = c.transaction()?;
            let id = id.to_string();
            if account_by_id(&tx, &id)?.is_none() {
                return Err(StoreError::NotFound(format!("no account {id}")).into());
            }
            if let Some(name) = &patch.name {
                tx.execute("UPDATE accounts SET name = ?2 WHERE id = ?1", params![id, name])?;
            }
            if let Some(role) = patch.role {
                tx.execute("UPDATE accounts SET role = ?2 WHERE id = ?1", params![id, role.as_str()])?;
            }
            if let Some(hash) = &patch.password_hash {
                tx.execute("UPDATE accounts SET password_hash = ?2 WHERE id = ?1", params![id, hash])?;
                // A new password ends the sessions opened with the old one.
                tx.execute("DELETE FROM sessions WHERE account_id = ?1", [&id])?;
            }
            match patch.disabled {
                Some(true) => {
                    tx.execute(
                        "UPDATE accounts SET disabled_at = coalesce(disabled_at, ?2) WHERE id = ?1",
                        params![id, Timestamp::now().0],
                    )?;
                    tx.execute("DELETE FROM sessions WHERE account_id = ?1", [&id])?;
                }
                Some(false) => {
                    tx.execute("UPDATE accounts SET disabled_at = NULL WHERE id = ?1", [&id])?;
                }
                None => {}
            }
            // Checked in the same transaction as the change, so two changes at once cannot both
            // take away "the other" admin.
            let admins: i64 =
                tx.query_row("SELECT count(*) FROM accounts WHERE role = 'admin' AND disabled_at IS NULL", [], |r| r.get(0))?;
            if admins == 0 && (patch.role.is_some() || patch.disabled == Some(true)) {
                return Err(StoreError::Conflict("this is the last admin: make another admin first (这是最后一个管理员)".into()).into());
            }
            let account = account_by_id(&tx, &id)?.ok_or_else(|| StoreError::NotFound(format!("no account {id}")))?;
            tx.commit()?;
            Ok(account)
        })
        .await
    }

    async fn create_token(&self, t: NewToken) -> Result<ApiToken> {
        self.call(move |c| {
            let id = uuid::Uuid::now_v7().to_string();
            c.execute(
                "INSERT INTO api_tokens (id, account_id, name, role, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, t.account.to_string(), t.name, t.role.as_str(), t.token_hash, Timestamp::now().0, t.expires_at.map(|e| e.0)],
            )?;
            Ok(c.query_row(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?1"), [id], token_row)?)
        })
        .await
    }

    async fn tokens_of(&self, account: DispatcherId) -> Result<Vec<ApiToken>> {
        self.call(move |c| {
            let mut stmt = c.prepare(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE account_id = ?1 ORDER BY created_at, id"))?;
            let rows = stmt.query_map([account.to_string()], token_row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn token(&self, id: &str) -> Result<Option<ApiToken>> {
        let id = id.to_owned();
        self.call(move |c| Ok(c.query_row(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?1"), [id], token_row).optional()?))
            .await
    }

    async fn revoke_token(&self, id: &str, at: Timestamp) -> Result<bool> {
        let id = id.to_owned();
        self.call(move |c| {
            Ok(c.execute("UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL", params![id, at.0])? == 1)
        })
        .await
    }

    async fn actor_by_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<Actor>> {
        let h = token_hash.to_owned();
        self.call(move |c| {
            let row = c
                .query_row(
                    "SELECT a.id, a.login, a.name, a.role, t.role, t.id, t.last_used_at FROM api_tokens t JOIN accounts a ON a.id = t.account_id
                     WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?2)
                       AND a.disabled_at IS NULL",
                    params![h, now.0],
                    |r| Ok((id_of(r, 0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, role_of(r, 3)?, role_of(r, 4)?, r.get::<_, String>(5)?, r.get::<_, Option<i64>>(6)?)),
                )
                .optional()?;
            let Some((account, login, name, account_role, token_role, token_id, last_used)) = row else { return Ok(None) };
            if last_used.is_none_or(|t| now.0 - t >= 60_000) {
                c.execute("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1", params![token_id, now.0])?;
            }
            Ok(Some(Actor { account, login, name, role: account_role.min(token_role), via: Via::Token { token_id } }))
        })
        .await
    }

    async fn create_session(&self, token_hash: &str, account: DispatcherId, expires_at: Timestamp) -> Result<()> {
        let h = token_hash.to_owned();
        self.call(move |c| {
            let now = Timestamp::now().0;
            c.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
            c.execute(
                "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![h, account.to_string(), now, expires_at.0],
            )?;
            Ok(())
        })
        .await
    }

    async fn actor_by_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Actor>> {
        let h = token_hash.to_owned();
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT a.id, a.login, a.name, a.role FROM sessions s JOIN accounts a ON a.id = s.account_id
                 WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND a.disabled_at IS NULL",
                params![h, now.0],
                |r| Ok(Actor { account: id_of(r, 0)?, login: r.get(1)?, name: r.get(2)?, role: role_of(r, 3)?, via: Via::Session }),
            )
            .optional()?)
        })
        .await
    }

    async fn end_session(&self, token_hash: &str) -> Result<()> {
        let h = token_hash.to_owned();
        self.call(move |c| {
            c.execute("DELETE FROM sessions WHERE token_hash = ?1", [h])?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, e: NewAuditEntry) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO audit_log (at, account_id, login, via, remote, method, route, path, status, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    e.at.0,
                    e.account_id.map(|a| a.to_string()),
                    e.login,
                    e.via,
                    e.remote,
                    e.method,
                    e.route,
                    e.path,
                    e.status,
                    e.detail.map(|d| d.to_string())
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn audit(&self, q: AuditQuery) -> Result<Vec<AuditEntry>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, at, account_id, login, via, remote, method, route, path, status, detail FROM audit_log
                 WHERE (?1 IS NULL OR account_id = ?1) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![q.account.map(|a| a.to_string()), q.before, q.limit], |r| {
                let account: Option<String> = r.get(2)?;
                let detail: Option<String> = r.get(10)?;
                Ok(AuditEntry {
                    id: r.get(0)?,
                    entry: NewAuditEntry {
                        at: Timestamp(r.get(1)?),
                        account_id: account.and_then(|a| a.parse().ok()),
                        login: r.get(3)?,
                        via: r.get(4)?,
                        remote: r.get(5)?,
                        method: r.get(6)?,
                        route: r.get(7)?,
                        path: r.get(8)?,
                        status: r.get(9)?,
                        detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
                    },
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn idempotency_begin(
        &self,
        account: DispatcherId,
        key: &str,
        fingerprint: &str,
        now: Timestamp,
        expire_before: Timestamp,
    ) -> Result<Idempotency> {
        let (key, fingerprint) = (key.to_owned(), fingerprint.to_owned());
        self.call(move |c| {
            let tx = c.transaction()?;
            tx.execute("DELETE FROM idempotency_keys WHERE created_at < ?1", [expire_before.0])?;
            let account = account.to_string();
            let found: Option<(String, Option<u16>, Option<String>, Option<Vec<u8>>, i64)> = tx
                .query_row(
                    "SELECT fingerprint, status, content_type, body, created_at FROM idempotency_keys WHERE account_id = ?1 AND key = ?2",
                    params![account, key],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            let answer = match found {
                None => {
                    tx.execute(
                        "INSERT INTO idempotency_keys (account_id, key, fingerprint, created_at) VALUES (?1, ?2, ?3, ?4)",
                        params![account, key, fingerprint, now.0],
                    )?;
                    Idempotency::Proceed
                }
                Some((f, ..)) if f != fingerprint => Idempotency::Mismatch,
                Some((_, Some(status), content_type, body, _)) => {
                    Idempotency::Replay(StoredResponse { status, content_type, body: body.unwrap_or_default() })
                }
                // Unfinished for long: its request died with its connection; this one takes over.
                Some((.., started)) if now.0 - started > IN_FLIGHT_MS_MAX => {
                    tx.execute(
                        "UPDATE idempotency_keys SET created_at = ?3 WHERE account_id = ?1 AND key = ?2",
                        params![account, key, now.0],
                    )?;
                    Idempotency::Proceed
                }
                Some(_) => Idempotency::InFlight,
            };
            tx.commit()?;
            Ok(answer)
        })
        .await
    }

    async fn idempotency_finish(&self, account: DispatcherId, key: &str, response: StoredResponse) -> Result<()> {
        let key = key.to_owned();
        self.call(move |c| {
            c.execute(
                "UPDATE idempotency_keys SET status = ?3, content_type = ?4, body = ?5 WHERE account_id = ?1 AND key = ?2",
                params![account.to_string(), key, response.status, response.content_type, response.body],
            )?;
            Ok(())
        })
        .await
    }

    async fn idempotency_release(&self, account: DispatcherId, key: &str) -> Result<()> {
        let key = key.to_owned();
        self.call(move |c| {
            c.execute("DELETE FROM idempotency_keys WHERE account_id = ?1 AND key = ?2", params![account.to_string(), key])?;
            Ok(())
        })
        .await
    }
}
