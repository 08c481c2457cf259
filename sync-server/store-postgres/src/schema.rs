//! The database's schema as ordered migrations, and the runner that applies them at start.
//!
//! Several instances may start at once: the runner holds a session advisory lock while it reads
//! and raises the version, so exactly one applies each migration and the others wait, then find
//! nothing to do. A database migrated by a newer server is refused: this binary would not know
//! what its tables mean.

use tokio_postgres::Client;

use crate::error::{DbError, DbResult};

/// `pg_advisory_lock` key for migrations ("onsite" in ASCII, so it is recognisable in
/// `pg_locks`).
const MIGRATION_LOCK: i64 = 0x6f6e_7369_7465;

/// Every migration, oldest first. Never edit one that has shipped: add the next.
///
/// Times are milliseconds since the Unix epoch in UTC (`shared::Timestamp`), ids are text
/// (UUIDv7 / ULID strings, as the API writes them), money is integer minor units.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE technicians (id TEXT PRIMARY KEY, json TEXT NOT NULL, active BOOLEAN NOT NULL);
    CREATE TABLE devices (
        id TEXT PRIMARY KEY, technician_id TEXT NOT NULL REFERENCES technicians (id), name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, revoked_at BIGINT,
        replaces TEXT REFERENCES devices (id), last_seen_at BIGINT, pending_jobs BIGINT, pending_blob_bytes BIGINT
    );
    CREATE INDEX devices_by_technician ON devices (technician_id, created_at);
    CREATE TABLE pairing_codes (
        code_hash TEXT PRIMARY KEY, technician_id TEXT NOT NULL REFERENCES technicians (id),
        expires_at BIGINT NOT NULL, used_at BIGINT
    );
    CREATE TABLE docs (
        job_id TEXT NOT NULL, kind TEXT NOT NULL, snapshot BYTEA NOT NULL,
        chunk_count BIGINT NOT NULL DEFAULT 0, next_seq BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (job_id, kind)
    );
    CREATE TABLE doc_chunks (
        job_id TEXT NOT NULL, kind TEXT NOT NULL, seq BIGINT NOT NULL, bytes BYTEA NOT NULL,
        PRIMARY KEY (job_id, kind, seq)
    );
    CREATE TABLE jobs (
        job_id TEXT PRIMARY KEY, status TEXT NOT NULL, assignee TEXT, digest BYTEA NOT NULL,
        created_at BIGINT NOT NULL, channel TEXT NOT NULL, appt_start BIGINT, appt_end BIGINT,
        priority BIGINT NOT NULL, category TEXT NOT NULL, brand TEXT NOT NULL, model TEXT NOT NULL,
        serial TEXT NOT NULL, customer_name TEXT NOT NULL, lat DOUBLE PRECISION, lon DOUBLE PRECISION,
        arrive_by BIGINT, resolve_by BIGINT, conflicts BIGINT NOT NULL,
        first_assigned_at BIGINT, first_on_site_at BIGINT, completed_at BIGINT, check_ins BIGINT NOT NULL,
        first_time_fix BOOLEAN, quote_total BIGINT, final_total BIGINT, rating BIGINT,
        cause TEXT NOT NULL, self_service BOOLEAN NOT NULL, finished_at BIGINT,
        updated_at BIGINT NOT NULL, customer_key TEXT
    );
    CREATE INDEX jobs_by_assignee ON jobs (assignee, job_id);
    CREATE INDEX jobs_by_appointment ON jobs (appt_start, job_id);
    CREATE INDEX jobs_by_status ON jobs (status, appt_start);
    CREATE INDEX jobs_by_created ON jobs (created_at);
    CREATE INDEX jobs_by_serial ON jobs (serial, created_at);
    CREATE INDEX jobs_by_resolve_by ON jobs (resolve_by) WHERE resolve_by IS NOT NULL;
    CREATE INDEX jobs_by_customer ON jobs (customer_key);
    CREATE TABLE job_assignees (job_id TEXT NOT NULL, technician_id TEXT NOT NULL, PRIMARY KEY (job_id, technician_id));
    CREATE TABLE sync_states (
        device_id TEXT NOT NULL, job_id TEXT NOT NULL, kind TEXT NOT NULL, state BYTEA NOT NULL,
        PRIMARY KEY (device_id, job_id, kind)
    );
    CREATE INDEX sync_states_by_job ON sync_states (job_id);
    CREATE TABLE blob_refs (hash TEXT NOT NULL, job_id TEXT NOT NULL, PRIMARY KEY (hash, job_id));
    CREATE INDEX blob_refs_by_job ON blob_refs (job_id);
    CREATE TABLE blob_holders (hash TEXT NOT NULL, job_id TEXT NOT NULL, PRIMARY KEY (hash, job_id));
    CREATE TABLE technician_locations (
        technician_id TEXT PRIMARY KEY, lat DOUBLE PRECISION NOT NULL, lon DOUBLE PRECISION NOT NULL, at BIGINT NOT NULL
    );
    CREATE TABLE reference_data (
        kind TEXT NOT NULL, version BIGINT NOT NULL, json TEXT NOT NULL, published_at BIGINT NOT NULL,
        PRIMARY KEY (kind, version)
    );
    CREATE TABLE event_receipts (
        job_id TEXT NOT NULL, event_id TEXT NOT NULL, device_id TEXT NOT NULL,
        claimed_at BIGINT NOT NULL, received_at BIGINT NOT NULL, backdated BOOLEAN NOT NULL,
        PRIMARY KEY (job_id, event_id)
    );
    CREATE TABLE former_notices (
        device_id TEXT NOT NULL, job_id TEXT NOT NULL, noticed_at BIGINT NOT NULL, rounds BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (job_id, device_id)
    );
    CREATE TABLE erased_jobs (job_id TEXT PRIMARY KEY, erased_at BIGINT NOT NULL);
    CREATE TABLE accounts (
        id TEXT PRIMARY KEY, login TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'dispatcher', 'admin')),
        password_hash TEXT, created_at BIGINT NOT NULL, disabled_at BIGINT
    );
    CREATE TABLE api_tokens (
        id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts (id), name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'dispatcher', 'admin')),
        token_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, expires_at BIGINT,
        last_used_at BIGINT, revoked_at BIGINT
    );
    CREATE INDEX api_tokens_by_account ON api_tokens (account_id);
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts (id),
        created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL
    );
    CREATE TABLE audit_log (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at BIGINT NOT NULL, account_id TEXT, login TEXT NOT NULL,
        via TEXT NOT NULL, remote TEXT, method TEXT NOT NULL, route TEXT NOT NULL, path TEXT NOT NULL,
        status INTEGER NOT NULL, detail TEXT
    );
    CREATE INDEX audit_by_account ON audit_log (account_id, id);
    CREATE TABLE idempotency_keys (
        account_id TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, created_at BIGINT NOT NULL,
        status INTEGER, content_type TEXT, body BYTEA,
        PRIMARY KEY (account_id, key)
    );
    CREATE INDEX idempotency_by_age ON idempotency_keys (created_at);
"#,
    // Rate limits that matter for security (login and pairing attempts), counted across every
    // instance: hits per key per fixed window.
    r#"
    CREATE TABLE rate_hits (key TEXT NOT NULL, window_start BIGINT NOT NULL, hits BIGINT NOT NULL, PRIMARY KEY (key, window_start));
    CREATE INDEX rate_hits_by_window ON rate_hits (window_start);
"#,
    // KPIs are summed in the database: whether a job is a repeat visit (the same serial
    // serviced in the 30 days before) is kept on its row instead of probed per row at read.
    // Overdue lists read open jobs only: finished jobs, nearly all of them past their
    // deadline, are left out of the deadline index.
    r#"
    ALTER TABLE jobs ADD COLUMN repeat_visit BOOLEAN NOT NULL DEFAULT false;
    UPDATE jobs SET repeat_visit = EXISTS (
        SELECT 1 FROM jobs p WHERE p.serial = jobs.serial AND p.created_at < jobs.created_at
            AND p.created_at >= jobs.created_at - 2592000000
    ) WHERE serial != '';
    DROP INDEX jobs_by_resolve_by;
    CREATE INDEX jobs_open_by_resolve_by ON jobs (resolve_by) WHERE status NOT IN ('completed', 'closed', 'cancelled');
"#,
    // Lists come in appointment order (jobs without one last, as PostgreSQL sorts them by
    // default) with the id in byte order: an index in exactly that order lets a page stop after
    // its rows. Today's completed jobs are found by status and time, a technician's open jobs
    // by technician and status.
    r#"
    DROP INDEX jobs_by_appointment;
    CREATE INDEX jobs_by_appointment ON jobs (appt_start, job_id COLLATE "C");
    CREATE INDEX jobs_by_completion ON jobs (status, completed_at);
    DROP INDEX jobs_by_assignee;
    CREATE INDEX jobs_by_assignee ON jobs (assignee, status, appt_start);
"#,
    // The overdue list walks the open jobs in the list's order and stops after a page: with the
    // open jobs indexed by deadline instead, the planner walked all jobs in appointment order
    // hoping to meet 50 overdue ones early, and met them at the end (750 ms over a million).
    r#"
    DROP INDEX jobs_open_by_resolve_by;
    CREATE INDEX jobs_open_in_list_order ON jobs (appt_start, job_id COLLATE "C")
        WHERE status NOT IN ('completed', 'closed', 'cancelled');
"#,
];

/// Brings the database to this build's schema (see the module's documentation).
pub(crate) async fn migrate(client: &mut Client) -> DbResult<()> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await?;
    let done = apply(client).await;
    // Released on every path (the session would release it too, but the pool keeps sessions).
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await;
    done?;
    unlocked?;
    Ok(())
}

async fn apply(client: &mut Client) -> DbResult<()> {
    // Asked first rather than `IF NOT EXISTS`, whose notice every start would log.
    let exists: bool = client.query_one("SELECT to_regclass('onsite_schema') IS NOT NULL", &[]).await?.try_get(0)?;
    if !exists {
        client
            .batch_execute("CREATE TABLE onsite_schema (version BIGINT NOT NULL); INSERT INTO onsite_schema (version) VALUES (0);")
            .await?;
    }
    let version: i64 = client.query_one("SELECT version FROM onsite_schema", &[]).await?.try_get(0)?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(DbError::Value(format!(
            "the database's schema is version {version}, newer than this server knows ({known}): run the newer server \
             (数据库结构比本程序新，请使用新版服务器)"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute("UPDATE onsite_schema SET version = $1", &[&(i as i64 + 1)]).await?;
        tx.commit().await?;
        tracing::info!(version = i + 1, "database schema migrated");
    }
    Ok(())
}
