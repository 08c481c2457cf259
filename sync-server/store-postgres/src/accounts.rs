//! [`AccountStore`] and [`AuditStore`] on PostgreSQL.

use async_trait::async_trait;
use onsite_store::accounts::{
    Account, AccountPatch, AccountStore, Actor, ApiToken, AuditEntry, AuditQuery, AuditStore, Idempotency, NewAccount, NewAuditEntry,
    NewToken, Role, StoredResponse, Via,
};
use onsite_store::{Result, StoreError};
use shared::{DispatcherId, Timestamp};
use tokio_postgres::GenericClient;
use tokio_postgres::Row;

use crate::error::{DbResult, parse};
use crate::{PgStore, run, ts};

/// A request holding an idempotency key longer than this has died (no admin request runs a minute).
const IN_FLIGHT_MS_MAX: i64 = 60_000;

/// `pg_advisory_xact_lock` key for account changes: "is this the last admin" is checked by one
/// change at a time, on every instance.
const ACCOUNTS_LOCK: i64 = 0x006f_6e73_6974_6501;

const ACCOUNT_COLUMNS: &str = "id, login, name, role, password_hash IS NOT NULL, created_at, disabled_at";
const TOKEN_COLUMNS: &str = "id, account_id, name, role, created_at, expires_at, last_used_at, revoked_at";

fn role_of(r: &Row, i: usize) -> DbResult<Role> {
    parse("role", &r.try_get::<_, String>(i)?)
}

fn account_row(r: &Row) -> DbResult<Account> {
    Ok(Account {
        id: parse("account id", &r.try_get::<_, String>(0)?)?,
        login: r.try_get(1)?,
        name: r.try_get(2)?,
        role: role_of(r, 3)?,
        has_password: r.try_get(4)?,
        created_at: Timestamp(r.try_get(5)?),
        disabled_at: ts(r, 6)?,
    })
}

fn token_row(r: &Row) -> DbResult<ApiToken> {
    Ok(ApiToken {
        id: r.try_get(0)?,
        account_id: parse("account id", &r.try_get::<_, String>(1)?)?,
        name: r.try_get(2)?,
        role: role_of(r, 3)?,
        created_at: Timestamp(r.try_get(4)?),
        expires_at: ts(r, 5)?,
        last_used_at: ts(r, 6)?,
        revoked_at: ts(r, 7)?,
    })
}

async fn account_by_id(c: &impl GenericClient, id: &str) -> DbResult<Option<Account>> {
    c.query_opt(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"), &[&id]).await?.as_ref().map(account_row).transpose()
}

#[async_trait]
impl AccountStore for PgStore {
    async fn create_account(&self, a: NewAccount) -> Result<Account> {
        run(async {
            let c = self.client().await?;
            let id = DispatcherId::new().to_string();
            let inserted = c
                .execute(
                    "INSERT INTO accounts (id, login, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (login) DO NOTHING",
                    &[&id, &a.login, &a.name, &a.role.as_str(), &a.password_hash, &Timestamp::now().0],
                )
                .await?;
            if inserted == 0 {
                return Err(StoreError::Conflict(format!("the login {} is taken", a.login)).into());
            }
            Ok(account_by_id(&**c, &id).await?.ok_or_else(|| StoreError::NotFound("the new account".into()))?)
        })
        .await
    }

    async fn accounts(&self) -> Result<Vec<Account>> {
        run(async {
            let rows =
                self.client().await?.query(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY login COLLATE \"C\""), &[]).await?;
            rows.iter().map(account_row).collect()
        })
        .await
    }

    async fn account(&self, id: DispatcherId) -> Result<Option<Account>> {
        run(async { account_by_id(&**self.client().await?, &id.to_string()).await }).await
    }

    async fn account_by_login(&self, login: &str) -> Result<Option<(Account, Option<String>)>> {
        run(async {
            let row = self
                .client()
                .await?
                .query_opt(&format!("SELECT {ACCOUNT_COLUMNS}, password_hash FROM accounts WHERE login = $1"), &[&login])
                .await?;
            row.map(|r| Ok((account_row(&r)?, r.try_get(7)?))).transpose()
        })
        .await
    }

    async fn update_account(&self, id: DispatcherId, patch: AccountPatch) -> Result<Account> {
        run(async {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ACCOUNTS_LOCK]).await?;
            let id = id.to_string();
            if account_by_id(&*tx, &id).await?.is_none() {
                return Err(StoreError::NotFound(format!("no account {id}")).into());
            }
            if let Some(name) = &patch.name {
                tx.execute("UPDATE accounts SET name = $2 WHERE id = $1", &[&id, name]).await?;
            }
            if let Some(role) = patch.role {
                tx.execute("UPDATE accounts SET role = $2 WHERE id = $1", &[&id, &role.as_str()]).await?;
            }
            if let Some(hash) = &patch.password_hash {
                tx.execute("UPDATE accounts SET password_hash = $2 WHERE id = $1", &[&id, hash]).await?;
                // A new password ends the sessions opened with the old one.
                tx.execute("DELETE FROM sessions WHERE account_id = $1", &[&id]).await?;
            }
            match patch.disabled {
                Some(true) => {
                    tx.execute("UPDATE accounts SET disabled_at = coalesce(disabled_at, $2) WHERE id = $1", &[&id, &Timestamp::now().0])
                        .await?;
                    tx.execute("DELETE FROM sessions WHERE account_id = $1", &[&id]).await?;
                }
                Some(false) => {
                    tx.execute("UPDATE accounts SET disabled_at = NULL WHERE id = $1", &[&id]).await?;
                }
                None => {}
            }
            // Checked under the accounts lock, so two changes at once (on any instances) cannot
            // both take away "the other" admin.
            let admins: i64 =
                tx.query_one("SELECT count(*) FROM accounts WHERE role = 'admin' AND disabled_at IS NULL", &[]).await?.try_get(0)?;
            if admins == 0 && (patch.role.is_some() || patch.disabled == Some(true)) {
                return Err(StoreError::Conflict("this is the last admin: make another admin first (这是最后一个管理员)".into()).into());
            }
            let account = account_by_id(&*tx, &id).await?.ok_or_else(|| StoreError::NotFound(format!("no account {id}")))?;
            tx.commit().await?;
            Ok(account)
        })
        .await
    }

    async fn create_token(&self, t: NewToken) -> Result<ApiToken> {
        run(async {
            let c = self.client().await?;
            let id = uuid::Uuid::now_v7().to_string();
            c.execute(
                "INSERT INTO api_tokens (id, account_id, name, role, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&id, &t.account.to_string(), &t.name, &t.role.as_str(), &t.token_hash, &Timestamp::now().0, &t.expires_at.map(|e| e.0)],
            )
            .await?;
            token_row(&c.query_one(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1"), &[&id]).await?)
        })
        .await
    }

    async fn tokens_of(&self, account: DispatcherId) -> Result<Vec<ApiToken>> {
        run(async {
            let rows = self
                .client()
                .await?
                .query(
                    &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE account_id = $1 ORDER BY created_at, id"),
                    &[&account.to_string()],
                )
                .await?;
            rows.iter().map(token_row).collect()
        })
        .await
    }

    async fn token(&self, id: &str) -> Result<Option<ApiToken>> {
        run(async {
            let row = self.client().await?.query_opt(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1"), &[&id]).await?;
            row.as_ref().map(token_row).transpose()
        })
        .await
    }

    async fn revoke_token(&self, id: &str, at: Timestamp) -> Result<bool> {
        run(async {
            Ok(self
                .client()
                .await?
                .execute("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", &[&id, &at.0])
                .await?
                == 1)
        })
        .await
    }

    async fn actor_by_token(&self, token_hash: &str, now: Timestamp) -> Result<Option<Actor>> {
        run(async {
            let c = self.client().await?;
            let Some(r) = c
                .query_opt(
                    "SELECT a.id, a.login, a.name, a.role, t.role, t.id, t.last_used_at FROM api_tokens t JOIN accounts a ON a.id = t.account_id
                     WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)
                       AND a.disabled_at IS NULL",
                    &[&token_hash, &now.0],
                )
                .await?
            else {
                return Ok(None);
            };
            let token_id: String = r.try_get(5)?;
            let last_used: Option<i64> = r.try_get(6)?;
            if last_used.is_none_or(|t| now.0 - t >= 60_000) {
                c.execute("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", &[&token_id, &now.0]).await?;
            }
            Ok(Some(Actor {
                account: parse("account id", &r.try_get::<_, String>(0)?)?,
                login: r.try_get(1)?,
                name: r.try_get(2)?,
                role: role_of(&r, 3)?.min(role_of(&r, 4)?),
                via: Via::Token { token_id },
            }))
        })
        .await
    }

    async fn create_session(&self, token_hash: &str, account: DispatcherId, expires_at: Timestamp) -> Result<()> {
        run(async {
            let c = self.client().await?;
            let now = Timestamp::now().0;
            c.execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now]).await?;
            c.execute(
                "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[&token_hash, &account.to_string(), &now, &expires_at.0],
            )
            .await?;
            Ok(())
        })
        .await
    }

    async fn actor_by_session(&self, token_hash: &str, now: Timestamp) -> Result<Option<Actor>> {
        run(async {
            let row = self
                .client()
                .await?
                .query_opt(
                    "SELECT a.id, a.login, a.name, a.role FROM sessions s JOIN accounts a ON a.id = s.account_id
                     WHERE s.token_hash = $1 AND s.expires_at > $2 AND a.disabled_at IS NULL",
                    &[&token_hash, &now.0],
                )
                .await?;
            row.map(|r| {
                Ok(Actor {
                    account: parse("account id", &r.try_get::<_, String>(0)?)?,
                    login: r.try_get(1)?,
                    name: r.try_get(2)?,
                    role: role_of(&r, 3)?,
                    via: Via::Session,
                })
            })
            .transpose()
        })
        .await
    }

    async fn end_session(&self, token_hash: &str) -> Result<()> {
        run(async {
            self.client().await?.execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash]).await?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl AuditStore for PgStore {
    async fn append_audit(&self, e: NewAuditEntry) -> Result<()> {
        run(async {
            self.client()
                .await?
                .execute(
                    "INSERT INTO audit_log (at, account_id, login, via, remote, method, route, path, status, detail)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    &[
                        &e.at.0,
                        &e.account_id.map(|a| a.to_string()),
                        &e.login,
                        &e.via,
                        &e.remote,
                        &e.method,
                        &e.route,
                        &e.path,
                        &i32::from(e.status),
                        &e.detail.as_ref().map(|d| d.to_string()),
                    ],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn audit(&self, q: AuditQuery) -> Result<Vec<AuditEntry>> {
        run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT id, at, account_id, login, via, remote, method, route, path, status, detail FROM audit_log
                     WHERE ($1::text IS NULL OR account_id = $1) AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
                    &[&q.account.map(|a| a.to_string()), &q.before, &i64::from(q.limit)],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    let account: Option<String> = r.try_get(2)?;
                    let detail: Option<String> = r.try_get(10)?;
                    Ok(AuditEntry {
                        id: r.try_get(0)?,
                        entry: NewAuditEntry {
                            at: Timestamp(r.try_get(1)?),
                            account_id: account.and_then(|a| a.parse().ok()),
                            login: r.try_get(3)?,
                            via: r.try_get(4)?,
                            remote: r.try_get(5)?,
                            method: r.try_get(6)?,
                            route: r.try_get(7)?,
                            path: r.try_get(8)?,
                            status: r.try_get::<_, i32>(9)?.clamp(0, u16::MAX as i32) as u16,
                            detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
                        },
                    })
                })
                .collect()
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
        run(async {
            let mut c = self.client().await?;
            let tx = c.transaction().await?;
            tx.execute("DELETE FROM idempotency_keys WHERE created_at < $1", &[&expire_before.0]).await?;
            let account = account.to_string();
            let found = tx
                .query_opt(
                    "SELECT fingerprint, status, content_type, body, created_at FROM idempotency_keys
                     WHERE account_id = $1 AND key = $2 FOR UPDATE",
                    &[&account, &key],
                )
                .await?;
            let answer = match found {
                None => {
                    // Another instance may claim the key between the read and this insert: only
                    // one insert lands, and the other request waits its turn as in flight.
                    let claimed = tx
                        .execute(
                            "INSERT INTO idempotency_keys (account_id, key, fingerprint, created_at) VALUES ($1, $2, $3, $4)
                             ON CONFLICT DO NOTHING",
                            &[&account, &key, &fingerprint, &now.0],
                        )
                        .await?;
                    if claimed == 1 { Idempotency::Proceed } else { Idempotency::InFlight }
                }
                Some(r) => {
                    let stored_fingerprint: String = r.try_get(0)?;
                    let status: Option<i32> = r.try_get(1)?;
                    let started: i64 = r.try_get(4)?;
                    if stored_fingerprint != fingerprint {
                        Idempotency::Mismatch
                    } else if let Some(status) = status {
                        Idempotency::Replay(StoredResponse {
                            status: status.clamp(0, u16::MAX as i32) as u16,
                            content_type: r.try_get(2)?,
                            body: r.try_get::<_, Option<Vec<u8>>>(3)?.unwrap_or_default(),
                        })
                    } else if now.0 - started > IN_FLIGHT_MS_MAX {
                        // Unfinished for long: its request died with its connection; this one takes over.
                        tx.execute(
                            "UPDATE idempotency_keys SET created_at = $3 WHERE account_id = $1 AND key = $2",
                            &[&account, &key, &now.0],
                        )
                        .await?;
                        Idempotency::Proceed
                    } else {
                        Idempotency::InFlight
                    }
                }
            };
            tx.commit().await?;
            Ok(answer)
        })
        .await
    }

    async fn idempotency_finish(&self, account: DispatcherId, key: &str, response: StoredResponse) -> Result<()> {
        run(async {
            self.client()
                .await?
                .execute(
                    "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5 WHERE account_id = $1 AND key = $2",
                    &[&account.to_string(), &key, &i32::from(response.status), &response.content_type, &response.body],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn idempotency_release(&self, account: DispatcherId, key: &str) -> Result<()> {
        run(async {
            self.client()
                .await?
                .execute("DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2", &[&account.to_string(), &key])
                .await?;
            Ok(())
        })
        .await
    }
}
